package adminapi

// Patterns lists the method and path patterns a's mux serves, as
// registered, for the tests that hold them against openapi.yaml.
func Patterns(a *API) []string { return append([]string(nil), a.mux.patterns...) }
