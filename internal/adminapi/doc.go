// Package adminapi is the JSON admin REST API: applications under
// /rest/oauth2/latest/client… and users, groups, grants and the audit log
// under /rest/gatehouse/latest/…. It is a thin layer over internal/admin, the
// same operations the browser console uses, so the two cannot drift apart;
// docs/api.md describes every route; openapi.yaml, embedded and served at
// GET /rest/gatehouse/latest/openapi.yaml, is its OpenAPI 3.1 description,
// which the tests hold the routes and every answer against (contract/).
//
// Each endpoint parses its request into typed values, calls the admin
// service, and writes JSON; handlers return errors, which one writer turns
// into {"error": code, "message": text} with the right status. An internal
// error's text never reaches a response.
//
// Invariants:
//   - every route but the description authenticates first: an
//     administrator's browser session, or an administrator's Bearer token
//     (RFC 6750) that holds an administrator-level scope; a
//     client-credentials token qualifies only at an integration's token route,
//     with INTEGRATION_TOKEN;
//   - a session caller's state-changing request must show where it comes
//     from (Origin or Sec-Fetch-Site) and pass net/http's cross-origin check;
//   - request bodies are application/json (the logo: image/png or image/jpeg),
//     at most 1 MiB, decoded strictly (unknown fields are refused);
//   - viewing an application's secret needs the caller's own password on
//     every call (throttled like a sign-in) and is audited.
package adminapi
