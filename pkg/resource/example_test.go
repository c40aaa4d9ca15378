package resource_test

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/pkg/resource"
)

// An API whose GET /notes needs a token that may read and whose POST /notes
// needs one that may write, in Gatehouse's atlassian scope catalogue.
func Example() {
	mw, err := resource.New(resource.Options{
		Issuer:       "https://gatehouse.example.com",
		ClientID:     os.Getenv("CLIENT_ID"), // an application marked introspect_any
		ClientSecret: os.Getenv("CLIENT_SECRET"),
	})
	if err != nil {
		log.Fatal(err)
	}
	// Tokens list the scopes they were granted, not those implied, so each
	// endpoint names every scope that suffices.
	readers := resource.RequireScope("READ", "WRITE", "ADMIN", "SYSTEM_ADMIN")
	writers := resource.RequireScope("WRITE", "ADMIN", "SYSTEM_ADMIN")

	notes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := resource.FromContext(r.Context())
		fmt.Fprintf(w, "notes of %s, read by application %s with %s\n",
			tok.Username, tok.ClientID, strings.Join(tok.Scopes, " "))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /notes", mw.Handler(readers(notes)))
	mux.Handle("POST /notes", mw.Handler(writers(notes)))

	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
