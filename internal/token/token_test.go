package token

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/secret"
)

func testMinter(t testing.TB, seed byte) *Minter {
	t.Helper()
	keys, err := secret.New(bytes.Repeat([]byte{seed}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return NewMinter(keys, nil)
}

func TestNewAndParse(t *testing.T) {
	m := testMinter(t, 1)
	for _, k := range []Kind{Access, Refresh, Code, ClientSecret} {
		v, h, err := m.New(k)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) != Length || !strings.HasPrefix(v, string(k)) || KindOf(v) != k {
			t.Fatalf("%s: malformed %q", k, v)
		}
		got, ok := m.Parse(k, v)
		if !ok || !bytes.Equal(got, h) {
			t.Fatalf("%s: Parse refused its own token", k)
		}
		if !m.Tagged(k, v) {
			t.Fatalf("%s: Tagged refused its own token", k)
		}
	}
}

// refusals are strings Parse must refuse beside v, an Access token of m:
// malformed ones, which HashOf refuses too, and forged ones, well shaped but
// with a tag that does not match.
func refusals(t *testing.T, m *Minter, v string) (malformed, forged map[string]string) {
	altered := []byte(v) // another letter of the alphabet: still well formed
	altered[10] = 'A'
	if v[10] == 'A' {
		altered[10] = 'B'
	}
	other, _, _ := testMinter(t, 2).New(Access)
	malformed = map[string]string{
		"empty":        "",
		"short":        v[:20],
		"long":         v + "x",
		"other kind":   strings.Replace(v, string(Access), string(Refresh), 1),
		"not base64":   v[:prefixLen] + strings.Repeat("!", bodyLen+tagLen),
		"binary":       string(Access) + strings.Repeat("\x00", bodyLen+tagLen),
		"unicode tail": v[:Length-2] + "é",
	}
	forged = map[string]string{
		"altered body": string(altered),
		"altered tag":  v[:Length-1] + string(rune('A'+(v[Length-1]-'A'+1)%26)),
		"other key":    other,
	}
	return malformed, forged
}

func TestParseRefuses(t *testing.T) {
	m := testMinter(t, 1)
	v, _, _ := m.New(Access)
	malformed, forged := refusals(t, m, v)
	for _, cases := range []map[string]string{malformed, forged} {
		for name, s := range cases {
			t.Run(name, func(t *testing.T) {
				if _, ok := m.Parse(Access, s); ok {
					t.Fatalf("Parse accepted %q", s)
				}
				if m.Tagged(Access, s) {
					t.Fatalf("Tagged accepted %q", s)
				}
			})
		}
	}
}

// HashOf skips the tag, so a forged credential gets a hash — one that
// matches no stored hash but its own string's.
func TestHashOf(t *testing.T) {
	m := testMinter(t, 1)
	for _, k := range []Kind{Access, Refresh, Code, ClientSecret} {
		v, h, _ := m.New(k)
		if got, ok := m.HashOf(k, v); !ok || !bytes.Equal(got, h) {
			t.Fatalf("%s: HashOf(%q) = %x, %v; want the stored hash %x", k, v, got, ok, h)
		}
	}
	v, h, _ := m.New(Access)
	malformed, forged := refusals(t, m, v)
	for name, s := range malformed {
		if _, ok := m.HashOf(Access, s); ok {
			t.Errorf("%s: HashOf accepted %q", name, s)
		}
	}
	for name, s := range forged {
		got, ok := m.HashOf(Access, s)
		if !ok || bytes.Equal(got, h) {
			t.Errorf("%s: HashOf(%q) = %x, %v; want a well-formed hash other than the token's", name, s, got, ok)
		}
	}
}

// Matches agrees with HashOf: each credential matches its own stored hash
// and nothing else, and a malformed one matches nothing.
func TestMatches(t *testing.T) {
	m := testMinter(t, 1)
	for _, k := range []Kind{Access, Refresh, Code, ClientSecret} {
		v, h, _ := m.New(k)
		other, otherHash, _ := m.New(k)
		if !m.Matches(k, v, h) || !m.Matches(k, other, otherHash) {
			t.Fatalf("%s: a credential does not match its own hash", k)
		}
		if m.Matches(k, v, otherHash) || m.Matches(k, v, h[:len(h)-1]) || m.Matches(k, v, nil) {
			t.Fatalf("%s: %q matches another hash", k, v)
		}
	}
	v, h, _ := m.New(Access)
	malformed, forged := refusals(t, m, v)
	for name, s := range malformed {
		if m.Matches(Access, s, h) {
			t.Errorf("%s: Matches accepted %q", name, s)
		}
	}
	for name, s := range forged {
		if m.Matches(Access, s, h) {
			t.Errorf("%s: %q matches the token's hash", name, s)
		}
	}
	if m.Matches(Refresh, v, h) {
		t.Error("an access token matches as a refresh token")
	}
}

func TestTokensAreUnique(t *testing.T) {
	m := testMinter(t, 1)
	seen := map[string]bool{}
	for range 1000 {
		v, _, _ := m.New(Refresh)
		if seen[v] {
			t.Fatal("duplicate token")
		}
		seen[v] = true
	}
}

func FuzzParse(f *testing.F) {
	m := testMinter(f, 1)
	v, _, _ := m.New(Access)
	f.Add(v)
	f.Add("gat_")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := m.Parse(Access, s)
		if ok && (len(h) == 0 || len(s) != Length) {
			t.Fatalf("accepted malformed %q", s)
		}
	})
}

func BenchmarkNew(b *testing.B) {
	m := testMinter(b, 1)
	for b.Loop() {
		m.New(Access)
	}
}

func BenchmarkParse(b *testing.B) {
	m := testMinter(b, 1)
	v, _, _ := m.New(Access)
	for b.Loop() {
		m.Parse(Access, v)
	}
}

func TestTimedHashesSortByCreation(t *testing.T) {
	m := testMinter(t, 1)
	_, first, _ := m.New(Access)
	time.Sleep(2 * time.Millisecond) // the prefix counts milliseconds
	for _, k := range []Kind{Access, Refresh, Code} {
		_, later, err := m.New(k)
		if err != nil {
			t.Fatal(err)
		}
		if len(later) != 32 {
			t.Fatalf("%s: stored hash is %d bytes, want 32", k, len(later))
		}
		if bytes.Compare(first, later) >= 0 {
			t.Fatalf("%s: a later token's hash must sort after an earlier one's", k)
		}
	}
}

func TestClientSecretHashIsThePlainKeyedHash(t *testing.T) {
	// Secrets stored by earlier versions must keep matching.
	keys, err := secret.New(bytes.Repeat([]byte{1}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	v, h, err := NewMinter(keys, nil).New(ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h, keys.Hash(v)) {
		t.Fatal("a client secret's stored hash must be keys.Hash(secret)")
	}
}
