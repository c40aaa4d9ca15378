// Package scope owns Gatehouse's scope catalogues: which scopes exist, what
// each one lets an application do (in words shown on the consent page), which
// scopes include others, and the user permission level each one needs.
//
// It also parses the "scope" request parameter of RFC 6749 §3.3: a list of
// case-sensitive scope-tokens separated by spaces. Parsing is strict about
// characters and lenient only about repeated spaces.
//
// A catalogue is built in ("atlassian", the default, or "bitbucket") or read
// from a YAML file. Every catalogue is validated when built, so a scope can
// never imply one that needs a higher user level than its own: capping the
// requested scopes to the user's level (Catalogue.Cap) is then enough to keep
// a token from doing more than its user may, including everything the kept
// scopes imply.
package scope
