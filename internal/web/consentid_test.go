package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/secret"
)

func consentIDPages(tb testing.TB) *Pages {
	tb.Helper()
	keys, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return &Pages{keys: keys}
}

// signedConsentID is raw as a consent ID payload, signed as consentID signs.
func signedConsentID(p *Pages, raw []byte) string {
	payload := base64.RawURLEncoding.EncodeToString(raw)
	return payload + "." + base64.RawURLEncoding.EncodeToString(p.keys.Tag("consent page:"+payload))
}

// A consent ID carries its page unchanged, whatever the fields hold.
func TestConsentIDCarriesItsPage(t *testing.T) {
	p := consentIDPages(t)
	pages := []consentPage{
		{Nonce: bytes.Repeat([]byte{0xff}, 16), UserID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Binding: bytes.Repeat([]byte{1}, 32),
			Request: "client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=READ+WRITE&state=%E3%81%82", Expires: 1_800_000_000_000},
		{Nonce: []byte{}, UserID: "", Binding: []byte{}, Request: "", Expires: 0},
		{Nonce: []byte{0}, UserID: strings.Repeat("ü", 300), Binding: make([]byte, 200), Request: "a=b\x00c", Expires: -1},
	}
	for _, want := range pages {
		id := p.consentID(want)
		got, ok := p.openConsentID(id)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("openConsentID(consentID(%+v)) = %+v, %v", want, got, ok)
		}
	}
}

// A consent ID signed by a node of an earlier release (JSON) still opens,
// so a page shown before a rolling upgrade can be decided after it.
func TestConsentIDOfAnEarlierRelease(t *testing.T) {
	p := consentIDPages(t)
	want := consentPage{Nonce: []byte{1, 2, 3}, UserID: "u1", Binding: []byte{4, 5}, Request: "client_id=c1", Expires: 1_800_000_000_000}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := p.openConsentID(signedConsentID(p, raw)); !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("openConsentID(JSON ID) = %+v, %v; want %+v", got, ok, want)
	}
}

// A signed payload that is not a whole consent page is refused, never
// misread and never a panic: every cut of a page's header and fields, a
// length running past the end, an unknown version, bad JSON.
func TestConsentIDRefusesBrokenPayloads(t *testing.T) {
	p := consentIDPages(t)
	whole := consentPage{Nonce: []byte("nonce"), UserID: "u1", Binding: []byte("bind"), Request: "client_id=c1", Expires: 5}.append(nil)
	fieldsEnd := len(whole) - len("client_id=c1")
	var broken [][]byte
	for n := range fieldsEnd {
		broken = append(broken, whole[:n])
	}
	huge := append([]byte{consentPageV1, 0, 0, 0, 0, 0, 0, 0, 5}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
	broken = append(broken,
		huge,
		append([]byte{consentPageV1, 0, 0, 0, 0, 0, 0, 0, 5}, 0x80), // a uvarint that never ends
		append([]byte{2}, whole[1:]...),                             // a version this node does not know
		[]byte(`{"n":`), []byte(`{"e":"soon"}`))
	for _, raw := range broken {
		if c, ok := p.openConsentID(signedConsentID(p, raw)); ok {
			t.Fatalf("payload %x opened as %+v", raw, c)
		}
	}
	if _, ok := p.openConsentID(signedConsentID(p, whole)); !ok {
		t.Fatal("the whole payload does not open")
	}
	// Unsigned or re-signed by another key: refused before decoding.
	for _, id := range []string{"", ".", base64.RawURLEncoding.EncodeToString(whole), base64.RawURLEncoding.EncodeToString(whole) + ".AAAA"} {
		if _, ok := p.openConsentID(id); ok {
			t.Fatalf("unsigned ID %q opened", id)
		}
	}
}

// The consent ID made for a consent page and opened at its decision, as a
// browser flow does once each.
func BenchmarkConsentID(b *testing.B) {
	p := consentIDPages(b)
	c := consentPage{Nonce: bytes.Repeat([]byte{9}, 16), UserID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", Binding: bytes.Repeat([]byte{1}, 32),
		Request: "client_id=0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fbench-callback&response_type=code&scope=READ&state=s0123456789",
		Expires: 1_800_000_000_000}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.openConsentID(p.consentID(c)); !ok {
			b.Fatal("does not open")
		}
	}
}
