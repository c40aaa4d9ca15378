package store

import "context"

// PendingEvent is the audit event of a change about to be made: a store
// write made with a context from WithEvent stores it in that write's own
// transaction, so that a change and its event commit together or not at
// all (recorded after the change, a full disk or a crash in between kept
// the change and lost the event). The first write to commit takes it; later
// writes with the same context do not store it again.
type PendingEvent struct {
	// Event is stored as it is when the write commits: a change function
	// (UpdateUser's, say) may still fill it in.
	Event  AuditEvent
	stored bool
}

type pendingKey struct{}

// WithEvent returns ctx carrying p for the writes made with it.
func WithEvent(ctx context.Context, p *PendingEvent) context.Context {
	return context.WithValue(ctx, pendingKey{}, p)
}

// WithoutEvent returns ctx whose writes take no pending event: the
// bookkeeping before a change (a sign-in's throttle counts) is not it.
func WithoutEvent(ctx context.Context) context.Context {
	return context.WithValue(ctx, pendingKey{}, (*PendingEvent)(nil))
}

// PendingFor returns the event a write made with ctx must store in its
// transaction, or nil: none is pending, or a write has stored it.
func PendingFor(ctx context.Context) *PendingEvent {
	p, _ := ctx.Value(pendingKey{}).(*PendingEvent)
	if p == nil || p.stored {
		return nil
	}
	return p
}

// MarkStored is for stores: the write that took p has committed.
func (p *PendingEvent) MarkStored() { p.stored = true }

// Stored reports whether a write has committed p's event.
func (p *PendingEvent) Stored() bool { return p.stored }
