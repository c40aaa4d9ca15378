// Package integration holds the outgoing OAuth 2.0 integrations: Gatehouse
// as the client of another provider (Google, Microsoft Entra, or any
// standards-based one), so that other parts (the mail-server tests) and other
// services (the token API) can use a current access token.
//
// It owns the provider presets and the redirect URL they imply
// (provider.go), the three-legged authorization with state and PKCE S256
// (authorize.go, RFC 6749 §4.1, RFC 7636, RFC 9207), the vault of sealed
// tokens and their refresh (vault.go, refresh.go), the background refresher
// (refresher.go), the status and its metrics (status.go, metrics.go), and
// the connection test (connection.go).
//
// Invariants:
//   - Tokens and the client secret are stored only sealed with the secret
//     key (AES-256-GCM, bound to the integration's ID); they are never
//     logged, audited or shown, except the client secret to a system
//     administrator who re-entered their password.
//   - One refresh of an integration at a time across a cluster: a refresh
//     runs only under the integration's lease (store.ClaimIntegrationRefresh),
//     whose time-to-live exceeds the provider request's timeout, so a
//     provider that rotates refresh tokens never sees one presented twice.
//     Within a node, callers of the same integration share one refresh.
//   - A refresh answer that carries a new refresh token replaces the old;
//     one that carries none keeps the old.
//   - invalid_grant means the grant is gone: the integration needs
//     re-authorization and the refresher stops trying. Any other failure is
//     retried with jittered exponential backoff, and the old access token is
//     handed out while it is still valid.
//   - Only system administrators manage integrations; every change, every
//     authorization, every view of the secret and every token handed out by
//     the token API is audited (without the secret or token).
//   - Problems with a provider are refusals with a message key
//     (internal/validation), so pages word them in the reader's language; no
//     provider answer body is ever copied into them, since it may hold a token.
package integration
