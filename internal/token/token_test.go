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
	}
}

func TestParseRefuses(t *testing.T) {
	m := testMinter(t, 1)
	v, _, _ := m.New(Access)
	flipped := []byte(v)
	flipped[10] ^= 0x01
	other, _, _ := testMinter(t, 2).New(Access)
	cases := map[string]string{
		"empty":        "",
		"short":        v[:20],
		"long":         v + "x",
		"other kind":   strings.Replace(v, string(Access), string(Refresh), 1),
		"altered body": string(flipped),
		"altered tag":  v[:Length-1] + string(rune('A'+(v[Length-1]-'A'+1)%26)),
		"other key":    other,
		"not base64":   v[:prefixLen] + strings.Repeat("!", bodyLen+tagLen),
		"binary":       string(Access) + strings.Repeat("\x00", bodyLen+tagLen),
		"unicode tail": v[:Length-2] + "é",
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if _, ok := m.Parse(Access, s); ok {
				t.Fatalf("Parse accepted %q", s)
			}
		})
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
