package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Query errors every backend wraps, so that callers (the API) tell a
// client's mistake from a bound that stopped a query and from a failure,
// with errors.Is and never by an error's text.
var (
	// ErrInvalidQuery marks a query the caller must fix: a limit out of
	// range, a cursor that does not decode, too many ids, a graph asked
	// for by more than one id.
	ErrInvalidQuery = errors.New("invalid query")
	// ErrQueryTimeout marks a query stopped because its context's
	// deadline passed (or, on ClickHouse, the server's
	// max_execution_time, which the store derives from that deadline).
	ErrQueryTimeout = errors.New("query timed out")
	// ErrQueryLimit marks a query the backend stopped because it needed
	// more than a configured resource bound (ClickHouse max_memory_usage,
	// max_result_rows): a narrower window or more filters may pass.
	ErrQueryLimit = errors.New("query exceeded a resource limit")
)

// Invalid returns an error wrapping ErrInvalidQuery with the message
// format makes, for backends to report a query the caller must fix.
func Invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, args...))
}

// MarkTimeout wraps *err with ErrQueryTimeout when it is not nil and
// ctx's deadline has passed: whatever error the driver returned for the
// interrupted query (a canceled read, SQLite's "interrupted"), the cause
// was the deadline. Backends defer it in every read method:
//
//	func (s *Store) Events(ctx context.Context, q EventQuery) (_ EventPage, err error) {
//		defer store.MarkTimeout(ctx, &err)
func MarkTimeout(ctx context.Context, err *error) {
	if *err == nil || errors.Is(*err, ErrQueryTimeout) {
		return
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(*err, context.DeadlineExceeded) || deadlinePassed(ctx) {
		*err = fmt.Errorf("%w: %w", ErrQueryTimeout, *err)
	}
}

// deadlinePassed reports whether ctx's deadline is behind the clock. A
// driver that sets its connection's read deadline from ctx's can fail
// with an i/o timeout a moment before ctx's own timer marks it done.
func deadlinePassed(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}
