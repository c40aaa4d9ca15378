// Package admin holds the administrator's operations — applications, logos,
// credentials, users and groups, grants, the audit log — as plain Go used by
// both the web console and the JSON admin API, so the two cannot drift apart.
// Every change is audited with who did it and from where. A refusal is a
// *validation.Error: English text for the API and logs, a message key for the
// pages.
//
// Invariants: the last enabled system administrator cannot be demoted or
// disabled; a logo is stored only after it decoded as a PNG or JPEG image of
// bounded size and was re-encoded as PNG, so nothing but an image is served.
package admin
