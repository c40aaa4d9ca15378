package store

import (
	"context"
	"time"
)

// BulkBatch is the most rows one transaction of a bulk change touches:
// deleting an application's tokens, revoking a disabled user's. Such a
// change first makes every one of those rows unusable in one short
// transaction (the application marked for deletion and disabled, the user
// disabled), then works through the rows in transactions of at most this
// many, each committed on its own, so that the one writer (SQLite's file
// lock) is never held for long: other writes go between them.
const BulkBatch = 1000

type batchObserverKey struct{}

// WithBatchObserver returns ctx whose bulk changes call observe after each
// of their batches commits, outside any transaction, with the rows it
// changed. It is for tests and progress: observe may call the store.
func WithBatchObserver(ctx context.Context, observe func(rows int64)) context.Context {
	return context.WithValue(ctx, batchObserverKey{}, observe)
}

// BatchObserverFor returns the observer WithBatchObserver put in ctx, or a
// function that does nothing.
func BatchObserverFor(ctx context.Context) func(rows int64) {
	if observe, ok := ctx.Value(batchObserverKey{}).(func(rows int64)); ok && observe != nil {
		return observe
	}
	return func(int64) {}
}

// BulkTimeout bounds a bulk change run by WithoutHangUp.
const BulkTimeout = 10 * time.Minute

// WithoutHangUp is ctx for a change that may turn into a bulk one (deleting
// an application, disabling a user): it keeps ctx's values but not its end,
// so a caller that hangs up, or a request's deadline, does not cut the
// batches short — which would leave an application to delete again, or
// (beside a node of an earlier release that enables without revoking) rows
// that could be used again — bounded by BulkTimeout instead.
func WithoutHangUp(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), BulkTimeout)
}
