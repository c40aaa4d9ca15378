package sqlstore

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writePath are the methods that may touch the writer pool, its prepared
// statements or the group committer: doc.go's one write path, and Close.
var writePath = map[string]bool{"inTxEffects": true, "txOnce": true, "inTxUnflushed": true, "inTxAlone": true, "writeStatementEffects": true, "appendAudit": true, "Close": true}

// TestWritesTakeTheWritePath reads the package's source: a method of Store
// that used s.w or s.commits itself, or ran an INSERT, UPDATE or
// DELETE on the reader pool, would write around the rule doc.go states (on
// SQLite, around the group committer; on PostgreSQL the reader pool is the
// writer pool, so nothing else would notice).
func TestWritesTakeTheWritePath(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !onStore(fn) {
				continue
			}
			checked++
			recv := fn.Recv.List[0].Names[0].Name
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if field := storeField(n, recv); (field == "w" || field == "commits") && !writePath[fn.Name.Name] {
						t.Errorf("%s: %s uses %s.%s: write through inTx, exec or writeStatement", fset.Position(n.Pos()), fn.Name.Name, recv, field)
					}
				case *ast.CallExpr:
					if query, ok := readerWrite(n, recv); ok {
						t.Errorf("%s: %s writes on the reader pool (%.40q): write through inTx, exec or writeStatement", fset.Position(n.Pos()), fn.Name.Name, query)
					}
				}
				return true
			})
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d methods of Store; is the test reading the package?", checked)
	}
}

// onStore reports whether fn is a method of *Store with a named receiver.
func onStore(fn *ast.FuncDecl) bool {
	if fn.Recv == nil || len(fn.Recv.List) != 1 || len(fn.Recv.List[0].Names) != 1 {
		return false
	}
	star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Store"
}

// storeField returns the field name of recv.field, or "".
func storeField(sel *ast.SelectorExpr, recv string) string {
	if id, ok := sel.X.(*ast.Ident); ok && id.Name == recv {
		return sel.Sel.Name
	}
	return ""
}

// readerWrite reports a call recv.r.X(ctx, query…) or recv.rq.X(ctx,
// query…) whose query (a literal) changes rows.
func readerWrite(call *ast.CallExpr, recv string) (string, bool) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) < 2 {
		return "", false
	}
	pool, ok := sel.X.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	if field := storeField(pool, recv); field != "r" && field != "rq" {
		return "", false
	}
	lit, ok := call.Args[1].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	query, err := strconv.Unquote(lit.Value)
	if err != nil {
		return "", false
	}
	verb, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	switch strings.ToUpper(verb) {
	case "INSERT", "UPDATE", "DELETE":
		return query, true
	}
	return "", false
}
