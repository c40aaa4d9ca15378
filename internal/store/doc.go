// Package store defines Gatehouse's persistent records and the one narrow
// storage interface every backend implements.
//
// The interface speaks the domain: each method is one transaction that keeps an
// invariant (a code is redeemed once, a refresh token rotates once, the refresh
// cap and the application limit hold) so the guarantee survives concurrent
// callers and several cluster nodes. Backends live in sub-packages; storetest
// is the conformance suite every backend must pass.
//
// An administrative change carries its audit event to the write that makes
// it (WithEvent): the event is stored in that write's transaction, so the
// two commit together or not at all.
//
// Times are stored with millisecond precision. A zero time.Time means "never"
// (no expiry, not revoked, not rotated).
package store
