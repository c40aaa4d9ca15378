// Command resource-server is a small API protected by Gatehouse access
// tokens with package resource: GET /hello needs a token that may read, POST
// /write one that may write (Gatehouse's default atlassian scope catalogue).
// Each answers with the user and application behind the token.
//
// Register it in Gatehouse as an application that may introspect every
// application's tokens, then start it with that application's credentials:
//
//	gatehouse client create --name "Example API" --grant client_credentials --scope READ --introspect-any --json
//	GATEHOUSE_URL=http://127.0.0.1:8080 CLIENT_ID=… CLIENT_SECRET=… go run ./examples/resource-server
//	curl -H "Authorization: Bearer $ACCESS" http://127.0.0.1:8081/hello
//	curl -X POST -H "Authorization: Bearer $ACCESS" http://127.0.0.1:8081/write
//
// ADDR changes the listening address (default 127.0.0.1:8081).
package main

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/resource"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	base, id, secret := os.Getenv("GATEHOUSE_URL"), os.Getenv("CLIENT_ID"), os.Getenv("CLIENT_SECRET")
	if base == "" || id == "" || secret == "" {
		return errors.New("set GATEHOUSE_URL, CLIENT_ID and CLIENT_SECRET")
	}
	mw, err := resource.New(resource.Options{Issuer: base, ClientID: id, ClientSecret: secret})
	if err != nil {
		return err
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8081"
	}
	srv := &http.Server{Addr: addr, Handler: routes(mw), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("listening on http://%s (GET /hello, POST /write)", addr)
	return srv.ListenAndServe()
}

// routes serves the two endpoints behind mw. A token lists the scopes it was
// granted, not those they imply, so each endpoint names every scope that
// suffices (in the atlassian catalogue each scope includes the ones before it).
func routes(mw *resource.Middleware) http.Handler {
	readers := resource.RequireScope("READ", "WRITE", "ADMIN", "SYSTEM_ADMIN")
	writers := resource.RequireScope("WRITE", "ADMIN", "SYSTEM_ADMIN")
	mux := http.NewServeMux()
	mux.Handle("GET /hello", mw.Handler(readers(greet("hello"))))
	mux.Handle("POST /write", mw.Handler(writers(greet("written"))))
	return mux
}

func greet(what string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := resource.FromContext(r.Context())
		who := tok.Username
		if who == "" {
			who = "application " + tok.ClientID // a client_credentials token has no user
		}
		log.Printf("%s %s by %s (client %s, scopes %s)", r.Method, r.URL.Path, who, tok.ClientID, strings.Join(tok.Scopes, " "))
		fmt.Fprintf(w, "%s, %s\n", what, who)
	})
}
