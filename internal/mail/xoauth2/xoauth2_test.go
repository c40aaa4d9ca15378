package xoauth2

import (
	"errors"
	"testing"
)

func TestClient(t *testing.T) {
	c := NewClient("alice", "gat_x")
	mech, ir, err := c.Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=alice\x01auth=Bearer gat_x\x01\x01" {
		t.Fatalf("Start = %q, %q, %v", mech, ir, err)
	}
	var refusal *Error
	_, err = c.Next([]byte(`{"status":"401","schemes":"bearer","scope":"mail"}`))
	if !errors.As(err, &refusal) || refusal.Status != "401" || refusal.Scope != "mail" {
		t.Fatalf("Next(refusal) = %v, want an *Error with its fields", err)
	}
	if _, err := c.Next([]byte("not json")); err == nil || errors.As(err, &refusal) {
		t.Fatalf("Next(garbage) = %v, want a plain error", err)
	}
}
