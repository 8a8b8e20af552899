package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/causeway-dev/causeway/store"
)

// TestClassify: a read's error is marked by the server's exception code,
// never its text: MEMORY_LIMIT_EXCEEDED and the row limits are
// store.ErrQueryLimit, TIMEOUT_EXCEEDED store.ErrQueryTimeout, and none of
// them store.ErrInvalidQuery, which would answer the client 400 with the
// server's words. Other exceptions, whatever their text, stay unmarked.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{&ch.Exception{Code: codeMemoryLimit, Name: "DB::Exception", Message: "Memory limit (for query) exceeded: would use 4.00 MiB, maximum: 1000.00 B"}, store.ErrQueryLimit},
		{fmt.Errorf("read: %w", &ch.Exception{Code: codeTooManyRows, Message: "Limit for result exceeded, max rows: 10"}), store.ErrQueryLimit},
		{&ch.Exception{Code: codeTooManyRowsOrBytes, Message: "Limit for rows or bytes to read exceeded"}, store.ErrQueryLimit},
		{&ch.Exception{Code: codeTimeoutExceeded, Message: "Timeout exceeded: elapsed 2.1 seconds"}, store.ErrQueryTimeout},
		{&ch.Exception{Code: 62, Message: "Syntax error: limit exceeded near 'LIMIT '"}, nil},
		{errors.New("Memory limit (for query) exceeded"), nil},
	} {
		err := c.err
		classify(context.Background(), &err)
		for _, s := range []error{store.ErrQueryLimit, store.ErrQueryTimeout, store.ErrInvalidQuery} {
			if got := errors.Is(err, s); got != (s == c.want) {
				t.Errorf("%v: errors.Is(%v) = %v", c.err, s, got)
			}
		}
	}
	// Any error once the context's deadline has passed is a timeout.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := error(&ch.Exception{Code: 210, Message: "Network error"})
	if classify(ctx, &err); !errors.Is(err, store.ErrQueryTimeout) {
		t.Errorf("after the deadline: %v, want ErrQueryTimeout", err)
	}
}
