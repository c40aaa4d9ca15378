package token

import (
	"crypto/rand"
	"encoding/base64"
	"io"

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
func (m *Minter) New(k Kind) (value string, hash []byte, err error) {
	var raw [randomBytes]byte
	if _, err := io.ReadFull(m.random, raw[:]); err != nil {
		return "", nil, err
	}
	buf := make([]byte, 0, Length)
	buf = append(buf, k...)
	buf = b64.AppendEncode(buf, raw[:])
	buf = b64.AppendEncode(buf, m.keys.Tag(string(buf))[:tagBytes])
	value = string(buf)
	return value, m.keys.Hash(value), nil
}

// Parse checks that s is a well-formed credential of kind k carrying a valid
// tag, and returns the hash to look up. ok is false for anything else; no
// database read is needed to refuse it.
func (m *Minter) Parse(k Kind, s string) (hash []byte, ok bool) {
	if len(s) != Length || s[:prefixLen] != string(k) {
		return nil, false
	}
	var tag [tagBytes]byte
	if n, err := b64.Decode(tag[:], []byte(s[prefixLen+bodyLen:])); err != nil || n != tagBytes {
		return nil, false
	}
	var raw [randomBytes]byte
	if n, err := b64.Decode(raw[:], []byte(s[prefixLen:prefixLen+bodyLen])); err != nil || n != randomBytes {
		return nil, false
	}
	want := m.keys.Tag(s[:prefixLen+bodyLen])[:tagBytes]
	if !secret.Equal(tag[:], want) {
		return nil, false
	}
	return m.keys.Hash(s), true
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
