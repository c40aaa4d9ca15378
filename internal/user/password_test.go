package user

import (
	"context"
	"strings"
	"testing"
)

// fastArgon2 keeps tests quick; the format and the code path are the same.
var fastArgon2 = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fastArgon2, 2)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("unexpected PHC string %q", phc)
	}
	if ok, err := h.Verify(ctx, phc, "correct horse"); !ok || err != nil {
		t.Fatalf("Verify(right) = %v, %v", ok, err)
	}
	if ok, _ := h.Verify(ctx, phc, "wrong horse"); ok {
		t.Fatal("Verify accepted a wrong password")
	}
	again, _ := h.Hash(ctx, "correct horse")
	if again == phc {
		t.Fatal("same salt twice")
	}
}

func TestVerifyRefusesMalformedHashes(t *testing.T) {
	h := NewHasher(fastArgon2, 1)
	for _, phc := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!!$a2V5a2V5a2V5a2V5a2V5",
	} {
		if ok, err := h.Verify(context.Background(), phc, "x"); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false, error", phc, ok, err)
		}
	}
}

func TestOverlongPasswordIsRefusedCheaply(t *testing.T) {
	h := NewHasher(fastArgon2, 1)
	long := strings.Repeat("a", MaxPasswordBytes+1)
	if _, err := h.Hash(context.Background(), long); err == nil {
		t.Fatal("hashed an overlong password")
	}
	phc, _ := h.Hash(context.Background(), "short")
	if ok, _ := h.Verify(context.Background(), phc, long); ok {
		t.Fatal("verified an overlong password")
	}
}

func TestHashingWaitsForASlot(t *testing.T) {
	h := NewHasher(fastArgon2, 1)
	h.slots <- struct{}{} // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "password"); err == nil {
		t.Fatal("hashed without a free slot")
	}
}

// The minimum counts characters, as every other length rule does: two emoji
// (eight bytes) are two characters, and eight accented letters are eight.
func TestPasswordMinimumCountsCharacters(t *testing.T) {
	for pw, ok := range map[string]bool{"😀😀": false, "éééé": false, "ééééééé": false, "éééééééé": true, "abcdefgh": true, "😀😀😀😀😀😀😀😀": true} {
		if err := checkPassword(pw); (err == nil) != ok {
			t.Errorf("checkPassword(%q) = %v, want ok %v", pw, err, ok)
		}
	}
}
