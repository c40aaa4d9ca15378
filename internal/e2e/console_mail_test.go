package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdovecot"
)

// TestConsoleMailServers: a system administrator adds a mail server through
// the console's form, tests it against a real Dovecot and reads the message
// count, in English and in Japanese; a refused form and a failed test are
// worded in the page's language; an administrator below system
// administrator neither sees nor reaches the pages; forms need their CSRF
// token.
func TestConsoleMailServers(t *testing.T) {
	d := testdovecot.StartWith(t, testdovecot.Options{Passwords: map[string]string{"carol": carolPassword}, POP3: true, TLS: true})
	d.AddMessages(t, "carol", carolMessages)
	e := newEnv(t)
	e.createUser("root", "root-password", store.LevelSystemAdmin)
	e.createUser("ada", "ada-password", store.LevelAdmin)
	root := e.newBrowser()
	root.signIn("root", "root-password")

	if p := root.get("/admin/apps"); !strings.Contains(p.body, `href="/admin/mail"`) {
		t.Fatal("the console's navigation has no mail servers for a system administrator")
	}
	newForm := root.get("/admin/mail/new")
	if newForm.status != http.StatusOK {
		t.Fatalf("new form: %d", newForm.status)
	}
	fields := formFields(newForm.body)
	fields.Set("name", "Support POP3")
	fields.Set("protocol", "pop3")
	fields.Set("host", "127.0.0.1")
	fields.Set("port", strconv.Itoa(port(d.POP3Addr)))
	fields.Set("tls", "starttls")
	fields.Set("ca_cert", d.CACert)
	fields.Set("username", "carol")
	fields.Set("auth", "password")
	fields.Set("password", carolPassword)

	// A refusal, worded in each language, keeps what was typed but the password.
	bad := url.Values{}
	for k, v := range fields {
		bad[k] = v
	}
	bad.Set("port", "99999")
	for lang, words := range map[string]string{"en": "The port must be a number from 1 to 65535.", "ja": "ポートは 1〜65535 の数字で入力してください。"} {
		root.lang = lang
		p := root.post("/admin/mail/new", bad)
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, words) || !strings.Contains(p.body, "Support POP3") || strings.Contains(p.body, carolPassword) {
			t.Fatalf("%s: a bad port: %d\n%s", lang, p.status, alert(p.body))
		}
	}
	root.lang = ""

	p := root.post("/admin/mail/new", fields)
	if p.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.status, alert(p.body))
	}
	serverPath := p.location().Path
	show := root.get(serverPath)
	if !strings.Contains(show.body, "Support POP3") || !strings.Contains(show.body, "127.0.0.1:"+strconv.Itoa(port(d.POP3Addr))) || strings.Contains(show.body, carolPassword) {
		t.Fatalf("server page:\n%s", show.body)
	}

	test := formFields(show.body) // the page's last form is Test connection
	for lang, words := range map[string]string{
		"en": "Signed in with USER and opened INBOX: 5 messages.",
		"ja": "USER でサインインし、INBOX を開きました。メッセージは 5 件です。",
	} {
		root.lang = lang
		p := root.post(serverPath+"/test", test)
		if p.status != http.StatusOK || !strings.Contains(p.body, words) {
			t.Fatalf("%s: test: %d, want %q in\n%s", lang, p.status, words, p.body)
		}
	}

	// A wrong password: the step and Dovecot's words, in each language.
	edit := formFields(root.get(serverPath + "/edit").body)
	for _, k := range []string{"name", "protocol", "host", "port", "tls", "ca_cert", "username", "auth"} {
		edit.Set(k, fields.Get(k))
	}
	edit.Set("password", "not-the-password")
	if p := root.post(serverPath+"/edit", edit); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, alert(p.body))
	}
	for lang, words := range map[string][]string{
		"en": {"The test failed at this step: signing in.", "The server refused the sign-in of carol", "Authentication failed"},
		"ja": {"テストは次の段階で失敗しました：サインイン。", "サーバーが carol のサインインを拒否しました", "Authentication failed"},
	} {
		root.lang = lang
		p := root.post(serverPath+"/test", test)
		for _, w := range words {
			if p.status != http.StatusOK || !strings.Contains(p.body, w) {
				t.Fatalf("%s: failed test: %d, want %q in\n%s", lang, p.status, w, p.body)
			}
		}
	}
	root.lang = ""

	// Forms need their CSRF token.
	if p := root.post(serverPath+"/test", url.Values{}); p.status != http.StatusForbidden {
		t.Fatalf("a test without the CSRF token: %d", p.status)
	}

	// An administrator (not a system administrator) is refused everywhere.
	ada := e.newBrowser()
	ada.signIn("ada", "ada-password")
	if p := ada.get("/admin/apps"); strings.Contains(p.body, `href="/admin/mail"`) {
		t.Fatal("an administrator's navigation shows mail servers")
	}
	csrf := formFields(ada.get("/admin/apps/new").body).Get("csrf_token")
	for _, c := range []struct {
		method, path string
	}{{"GET", "/admin/mail"}, {"GET", "/admin/mail/new"}, {"GET", serverPath}, {"GET", serverPath + "/edit"}, {"POST", serverPath + "/test"}, {"POST", serverPath + "/delete"}} {
		var p page
		if c.method == "GET" {
			p = ada.get(c.path)
		} else {
			p = ada.post(c.path, url.Values{"csrf_token": {csrf}})
		}
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Only system administrators can manage mail servers.") {
			t.Fatalf("ada %s %s: %d", c.method, c.path, p.status)
		}
	}

	// Delete, after a confirmation page.
	confirm := root.get(serverPath + "/delete")
	if !strings.Contains(confirm.body, "Delete the mail server Support POP3?") {
		t.Fatalf("confirmation:\n%s", confirm.body)
	}
	if p := root.post(serverPath+"/delete", formFields(confirm.body)); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if p := root.get(serverPath); p.status != http.StatusNotFound {
		t.Fatalf("after delete: %d", p.status)
	}
	if p := root.get("/admin/mail"); !strings.Contains(p.body, "No mail servers yet.") {
		t.Fatalf("list after delete:\n%s", p.body)
	}
}
