package adminapi

// Patterns lists the method and path patterns a's mux serves, as
// registered, for the tests that hold them against openapi.yaml.
func Patterns(a *API) []string { return append([]string(nil), a.mux.patterns...) }

// SetGrantsPerRead sets how many grants a list reads at a time, until the
// test ends.
func SetGrantsPerRead(t interface{ Cleanup(func()) }, n int) {
	was := grantsPerRead
	grantsPerRead = n
	t.Cleanup(func() { grantsPerRead = was })
}
