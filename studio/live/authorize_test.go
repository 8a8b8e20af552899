package live

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestAuthorize: a subscription Authorize refuses gets an error frame and
// no subscription; one it allows is registered.
func TestAuthorize(t *testing.T) {
	h, url := newHub(t, Options{Authorize: func(ctx context.Context, channel string) error {
		if channel == ChannelDLQ {
			return errors.New("needs the operator role")
		}
		return nil
	}})
	c := dial(t, url, "")
	c.WriteJSON(request{Op: "subscribe", Channel: ChannelDLQ})
	if f := read(t, c); f.Channel != "error" || !strings.Contains(f.Message, "permission denied for channel dlq: needs the operator role") {
		t.Fatalf("frame %+v", f)
	}
	if n := subscribers(h, ChannelDLQ); n != 0 {
		t.Fatalf("%d subscribers of a refused channel", n)
	}
	subscribe(t, h, c, ChannelEvents, Filter{})
}
