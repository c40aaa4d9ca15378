//go:build unix

package proccpu

import (
	"crypto/sha256"
	"testing"
	"time"
)

// Time counts this process's work: a busy loop makes it grow (within a
// bound that only a clock standing still would reach).
func TestTimeCountsThisProcesssWork(t *testing.T) {
	before, ok := Time()
	if !ok {
		t.Fatal("the CPU time cannot be read")
	}
	sum := sha256.Sum256(nil)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		for range 10000 {
			sum = sha256.Sum256(sum[:])
		}
		if now, _ := Time(); now-before >= 20*time.Millisecond {
			return
		}
	}
	t.Errorf("20 s of busy loop: Time moved from %v by less than 20 ms", before)
}
