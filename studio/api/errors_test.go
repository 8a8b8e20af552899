package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
)

// failingReader is a store whose Events fails with err: the API must
// classify the failure by the sentinels it wraps, never by its text.
type failingReader struct {
	store.Reader
	err error
}

func (f failingReader) Events(context.Context, store.EventQuery) (store.EventPage, error) {
	return store.EventPage{}, f.err
}

// serverText is what a ClickHouse server says when max_memory_usage
// stops a read: "limit " and "exceeded" in it must not make it a client
// error, nor may the server's words reach the client.
const serverText = "code: 241, message: Memory limit (for query) exceeded: would use 4.00 MiB (attempt to allocate chunk of 1048576 bytes), maximum: 1000.00 B"

// TestErrorsMappedBySentinel: a store error answers by the sentinel it
// wraps (ErrQueryLimit 503, ErrQueryTimeout 504, ErrInvalidQuery 400,
// ErrNotFound 404), and an error that wraps none answers 500 whatever
// its text says, without showing that text.
func TestErrorsMappedBySentinel(t *testing.T) {
	for _, c := range []struct {
		name     string
		err      error
		status   int
		code     string
		showText bool
	}{
		{"memory limit", fmt.Errorf("%w: %w", store.ErrQueryLimit, errors.New(serverText)), http.StatusServiceUnavailable, "query_limit", false},
		{"server timeout", fmt.Errorf("%w: code: 159, message: Timeout exceeded", store.ErrQueryTimeout), http.StatusGatewayTimeout, "query_timeout", false},
		{"invalid", store.Invalid("limit 5000 above the maximum 1000"), http.StatusBadRequest, "invalid_argument", true},
		{"not found", fmt.Errorf("event 42: %w", store.ErrNotFound), http.StatusNotFound, "not_found", true},
		// The text of each sentinel, unwrapped: only wrapping counts.
		{"memory limit unwrapped", errors.New(serverText), http.StatusInternalServerError, "internal", false},
		{"invalid text unwrapped", errors.New("invalid query: limit out of range"), http.StatusInternalServerError, "internal", false},
		{"not found text unwrapped", errors.New("table events not found"), http.StatusInternalServerError, "internal", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := boundedServer(t, failingReader{Reader: openEmbedded(t), err: c.err}, QueryConfig{}, time.Time{})
			var e struct {
				Error Error `json:"error"`
			}
			get(t, srv, "/api/v1/events?since=1h", c.status, &e)
			if e.Error.Code != c.code {
				t.Fatalf("code %q, want %q (%+v)", e.Error.Code, c.code, e.Error)
			}
			if shown := strings.Contains(e.Error.Message, c.err.Error()); shown != c.showText {
				t.Fatalf("message %q: the store's text shown %v, want %v", e.Error.Message, shown, c.showText)
			}
		})
	}
}
