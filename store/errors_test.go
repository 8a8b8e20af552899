package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// timerLate is a context whose deadline has passed while its timer has
// not fired yet (Err is still nil), as a driver's read deadline can beat
// it by a moment.
type timerLate struct {
	context.Context
	deadline time.Time
}

func (c timerLate) Deadline() (time.Time, bool) { return c.deadline, true }

// TestMarkTimeout: an error after the deadline is a timeout, whether or
// not ctx already says so; one before it, or without a deadline, is not.
func TestMarkTimeout(t *testing.T) {
	ioTimeout := errors.New("read tcp 127.0.0.1:1: i/o timeout")
	for _, c := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"deadline passed, timer not fired", timerLate{context.Background(), time.Now().Add(-time.Millisecond)}, true},
		{"deadline ahead", timerLate{context.Background(), time.Now().Add(time.Hour)}, false},
		{"no deadline", context.Background(), false},
	} {
		err := ioTimeout
		MarkTimeout(c.ctx, &err)
		if got := errors.Is(err, ErrQueryTimeout); got != c.want || !errors.Is(err, ioTimeout) {
			t.Errorf("%s: %v, timeout %v, want %v", c.name, err, got, c.want)
		}
	}
	var none error
	MarkTimeout(timerLate{context.Background(), time.Now().Add(-time.Second)}, &none)
	if none != nil {
		t.Errorf("no error became %v", none)
	}
}
