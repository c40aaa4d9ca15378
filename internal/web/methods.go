package web

import (
	"net/http"
	"strings"
)

// probedMethods are the methods a 405's Allow header may name.
var probedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods lists the methods mux answers at r's path through a route
// other than its catch-all "/", for a 405's Allow header; "" when none does
// (a 404). ServeMux answers 405 by itself only when no pattern matches at
// all, which a catch-all prevents.
func allowedMethods(mux *http.ServeMux, r *http.Request) string {
	var allow []string
	for _, m := range probedMethods {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}
