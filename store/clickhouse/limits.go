package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/causeway-dev/causeway/store"
)

// ReadLimits bound what one read query may cost the server. Every
// setting used here exists on 18.16 as on current releases.
type ReadLimits struct {
	// MaxMemoryUsage is the query setting max_memory_usage in bytes
	// (default DefaultReadMaxMemory): a read needing more stops with
	// store.ErrQueryLimit instead of taking the server's memory.
	// Set with ?read_max_memory_usage=BYTES in the DSN.
	MaxMemoryUsage uint64
	// MaxResultRows is the query setting max_result_rows, overflow mode
	// throw (default DefaultReadMaxResultRows): a
	// safety net above every result the Reader asks for (pages are at most
	// store.MaxLimit rows). Set with ?read_max_result_rows=N.
	MaxResultRows uint64
}

// Read-limit defaults.
const (
	DefaultReadMaxMemory     = 2 << 30
	DefaultReadMaxResultRows = 1_000_000
)

// takeReadLimits removes the read_max_* parameters from q (the driver
// would otherwise send them as settings the server does not know).
func takeReadLimits(q url.Values) (ReadLimits, error) {
	l := ReadLimits{MaxMemoryUsage: DefaultReadMaxMemory, MaxResultRows: DefaultReadMaxResultRows}
	for _, p := range []struct {
		name string
		dst  *uint64
	}{{"read_max_memory_usage", &l.MaxMemoryUsage}, {"read_max_result_rows", &l.MaxResultRows}} {
		v := q.Get(p.name)
		q.Del(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return l, fmt.Errorf("clickhouse store: %s=%q: want a positive integer", p.name, v)
		}
		*p.dst = n
	}
	return l, nil
}

// readContext adds the read settings to ctx: the limits, and
// max_execution_time from ctx's deadline (whole seconds, rounded up), so
// the server stops a query the studio has given up on instead of
// finishing it for nobody. For deadlines more than a second away the
// driver replaces it with the deadline plus 5 s: the client gives up
// first and cancels the query, the server's limit is the backstop.
func (s *Store) readContext(ctx context.Context) context.Context {
	return ch.Context(ctx, ch.WithSettings(s.readSettings(ctx)))
}

// readSettings are the settings readContext adds.
func (s *Store) readSettings(ctx context.Context) ch.Settings {
	// Settings are ints: a server as old as 18.16 takes settings over the
	// native protocol as numbers only, so the overflow modes are left at
	// their default, "throw" (an error rather than a silently cut result).
	set := ch.Settings{
		"max_memory_usage": int(min(s.limits.MaxMemoryUsage, math.MaxInt64)),
		"max_result_rows":  int(min(s.limits.MaxResultRows, math.MaxInt64)),
	}
	if d, ok := ctx.Deadline(); ok {
		set["max_execution_time"] = max(1, int(math.Ceil(time.Until(d).Seconds())))
	}
	return set
}

// Server exception codes that mean a read bound stopped the query.
const (
	codeTooManyRows        = 158 // TOO_MANY_ROWS
	codeTimeoutExceeded    = 159 // TIMEOUT_EXCEEDED
	codeMemoryLimit        = 241 // MEMORY_LIMIT_EXCEEDED
	codeTooManyRowsOrBytes = 396 // TOO_MANY_ROWS_OR_BYTES
)

// classify wraps *err with store.ErrQueryTimeout or store.ErrQueryLimit
// when the server (by its exception code) or ctx's deadline stopped the
// query. Every read method defers it.
func classify(ctx context.Context, err *error) {
	if *err == nil {
		return
	}
	var ex *ch.Exception
	if errors.As(*err, &ex) {
		switch ex.Code {
		case codeTimeoutExceeded:
			*err = fmt.Errorf("%w: %w", store.ErrQueryTimeout, *err)
			return
		case codeMemoryLimit, codeTooManyRows, codeTooManyRowsOrBytes:
			*err = fmt.Errorf("%w: %w", store.ErrQueryLimit, *err)
			return
		}
	}
	store.MarkTimeout(ctx, err)
}
