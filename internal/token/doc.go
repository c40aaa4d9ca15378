// Package token mints and checks Gatehouse's opaque credentials: access and
// refresh tokens, authorization codes and client secrets.
//
// A credential is prefix + 43 characters of base64url randomness (256 bits) +
// 8 characters of keyed tag, for example "gat_…". The prefix makes a leaked
// token easy to find with a secret scanner; the tag lets Parse refuse garbage
// and forgeries before any database read. Only Keys.Hash of the whole string is
// ever stored.
package token
