package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"io"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
)

// Kind is the sort of credential, shown by its prefix.
type Kind string

// The credential kinds and their prefixes.
const (
	Access       Kind = "gat_"
	Refresh      Kind = "grt_"
	Code         Kind = "gac_"
	ClientSecret Kind = "gcs_"
)

const (
	randomBytes = 32
	timeBytes   = 6 // the leading milliseconds of access and refresh tokens and codes
	tagBytes    = 6
	prefixLen   = 4
	bodyLen     = 43 // base64url of 32 bytes, unpadded
	tagLen      = 8  // base64url of 6 bytes
	// Length is the length of every credential string.
	Length = prefixLen + bodyLen + tagLen
)

var b64 = base64.RawURLEncoding

// Minter makes and checks credentials with one set of keys.
type Minter struct {
	keys   *secret.Keys
	random io.Reader
}

// NewMinter returns a Minter drawing randomness from random (crypto/rand when nil).
func NewMinter(keys *secret.Keys, random io.Reader) *Minter {
	if random == nil {
		random = rand.Reader
	}
	return &Minter{keys: keys, random: random}
}

// New returns a fresh credential of kind k and the hash to store.
//
// Access and refresh tokens and codes begin with the time in milliseconds
// (48 bits; 208 random bits follow), and so does their stored hash. New rows
// then land at the end of the hash index instead of in a random page each:
// a write of a batch of tokens touches a few pages, not one per token. The
// time is no secret: the token's answer already says when it was created.
// Client secrets stay wholly random and keep the plain keyed hash.
func (m *Minter) New(k Kind) (value string, hash []byte, err error) {
	var raw [randomBytes]byte
	random := raw[:]
	if timed(k) {
		putMillis(raw[:timeBytes], time.Now())
		random = raw[timeBytes:]
	}
	if _, err := io.ReadFull(m.random, random); err != nil {
		return "", nil, err
	}
	buf := make([]byte, 0, Length)
	buf = append(buf, k...)
	buf = b64.AppendEncode(buf, raw[:])
	var tag [sha256.Size]byte
	buf = b64.AppendEncode(buf, m.keys.AppendTag(tag[:0], string(buf))[:tagBytes])
	value = string(buf)
	return value, m.hash(k, raw[:], value), nil
}

// timed reports whether credentials of kind k lead with their creation time.
func timed(k Kind) bool { return k != ClientSecret }

// putMillis writes t's Unix milliseconds big-endian into 6 bytes.
func putMillis(dst []byte, t time.Time) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixMilli()))
	copy(dst, b[8-timeBytes:])
}

// hash is the value stored for a credential: its keyed hash, behind the
// credential's time prefix for the timed kinds (still 32 bytes).
func (m *Minter) hash(k Kind, raw []byte, value string) []byte {
	return m.appendHash(make([]byte, 0, sha256.Size), k, raw, value)
}

// appendHash appends hash's result to dst.
func (m *Minter) appendHash(dst []byte, k Kind, raw []byte, value string) []byte {
	if !timed(k) {
		return m.keys.AppendHash(dst, value)
	}
	var h [sha256.Size]byte
	m.keys.AppendHash(h[:0], value)
	dst = append(dst, raw[:timeBytes]...)
	return append(dst, h[:len(h)-timeBytes]...)
}

// Parse checks that s is a well-formed credential of kind k carrying a valid
// tag, and returns the hash to look up. ok is false for anything else; no
// database read is needed to refuse it.
func (m *Minter) Parse(k Kind, s string) (hash []byte, ok bool) {
	raw, tag, ok := decode(k, s)
	if !ok || !m.tagMatches(tag, s) {
		return nil, false
	}
	return m.hash(k, raw[:], s), true
}

// Tagged reports whether s is a well-formed credential of kind k carrying a
// valid tag: Parse without the hash, for a caller that has it already.
func (m *Minter) Tagged(k Kind, s string) bool {
	_, tag, ok := decode(k, s)
	return ok && m.tagMatches(tag, s)
}

// tagMatches reports whether tag is the one of decoded credential s.
func (m *Minter) tagMatches(tag [tagBytes]byte, s string) bool {
	var want [sha256.Size]byte
	return secret.Equal(tag[:], m.keys.AppendTag(want[:0], s[:prefixLen+bodyLen])[:tagBytes])
}

// HashOf returns the hash stored for s when s is shaped as a credential of
// kind k, without checking its tag. It is for a caller that compares the
// result with a hash it already holds (an application's secret, a token kept
// in memory): an equal keyed hash is the credential itself, so the tag's
// keyed MAC would be computed for nothing. Check Tagged before a database
// read.
func (m *Minter) HashOf(k Kind, s string) (hash []byte, ok bool) {
	raw, _, ok := decode(k, s)
	if !ok {
		return nil, false
	}
	return m.hash(k, raw[:], s), true
}

// Matches reports whether s is shaped as a credential of kind k whose
// stored hash is stored: HashOf and a constant-time comparison, with the
// hash kept off the heap (an application's secret is checked so on every
// token and introspection request).
func (m *Minter) Matches(k Kind, s string, stored []byte) bool {
	raw, _, ok := decode(k, s)
	if !ok {
		return false
	}
	var h [sha256.Size]byte
	return secret.Equal(m.appendHash(h[:0], k, raw[:], s), stored)
}

// decode splits a credential of kind k into its random part and its tag.
func decode(k Kind, s string) (raw [randomBytes]byte, tag [tagBytes]byte, ok bool) {
	if len(s) != Length || s[:prefixLen] != string(k) {
		return raw, tag, false
	}
	if n, err := b64.Decode(tag[:], []byte(s[prefixLen+bodyLen:])); err != nil || n != tagBytes {
		return raw, tag, false
	}
	if n, err := b64.Decode(raw[:], []byte(s[prefixLen:prefixLen+bodyLen])); err != nil || n != randomBytes {
		return raw, tag, false
	}
	return raw, tag, true
}

// KindOf returns the kind named by s's prefix, or "" when it has none of ours.
func KindOf(s string) Kind {
	if len(s) < prefixLen {
		return ""
	}
	switch k := Kind(s[:prefixLen]); k {
	case Access, Refresh, Code, ClientSecret:
		return k
	}
	return ""
}
