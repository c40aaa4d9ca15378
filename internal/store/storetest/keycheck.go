package storetest

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func testKeyCheck(t *testing.T, s store.Store) {
	ctx := t.Context()
	if _, err := s.KeyCheck(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("KeyCheck on an empty store = %v; want ErrNotFound", err)
	}
	// Nodes starting at once each offer their own value; all get the same one.
	const n = 8
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if got[i], err = s.InitKeyCheck(ctx, []byte{byte(i + 1)}); err != nil {
				t.Errorf("InitKeyCheck: %v", err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		if len(got[i]) != 1 || !bytes.Equal(got[i], got[0]) {
			t.Fatalf("InitKeyCheck returned %v to one caller and %v to another", got[0], got[i])
		}
	}
	stored, err := s.KeyCheck(ctx)
	if err != nil || !bytes.Equal(stored, got[0]) {
		t.Fatalf("KeyCheck = %v, %v; want %v", stored, err, got[0])
	}
	if later, err := s.InitKeyCheck(ctx, []byte("another key")); err != nil || !bytes.Equal(later, got[0]) {
		t.Errorf("InitKeyCheck after the first = %v, %v; want the first value %v", later, err, got[0])
	}
}
