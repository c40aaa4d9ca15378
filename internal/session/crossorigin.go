package session

import (
	"net/http"
	"net/url"
)

// CrossOrigin wraps a handler in net/http's cross-origin check for the
// requests a session authenticates (the pages' forms, the admin API), with
// one addition: a browser that sends no Sec-Fetch-Site is also believed when
// its Origin is the base URL's. The check otherwise compares Origin with the
// request's Host, and a reverse proxy may pass on a Host of its own (nginx's
// proxy_pass sends its upstream's address); the base URL's origin is the
// site's own whatever Host says. Unlike a trusted origin of net/http's, it
// does not overrule a Sec-Fetch-Site that says another site sent the request.
func CrossOrigin(baseURL string, deny, h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(deny)
	checked := cop.Handler(h)
	var origin string
	if base, err := url.Parse(baseURL); err == nil && base.Scheme != "" && base.Host != "" {
		origin = base.Scheme + "://" + base.Host
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin != "" && r.Header.Get("Sec-Fetch-Site") == "" && r.Header.Get("Origin") == origin {
			h.ServeHTTP(w, r)
			return
		}
		checked.ServeHTTP(w, r)
	})
}
