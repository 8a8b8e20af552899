package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
	"github.com/causeway-dev/causeway/studio/auth"
	"github.com/causeway-dev/causeway/studio/replay"
)

// TestPayloadsHidden: below studio.payloads_min_role a DLQ entry comes
// without its payload and with payload_hidden, in the entry, the list and
// a dry run's samples; at the role the payload is there; a viewer's dry
// run is answered, its run is 403.
func TestPayloadsHidden(t *testing.T) {
	ctx := context.Background()
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := store.DLQEntry{ID: "d1", TimeNS: uint64(1e18), System: "kafka", Source: "orders.dlq", SourceOffset: 3, Original: "orders",
		OriginalPartition: -1, OriginalOffset: -1, Payload: []byte("card=4111-SECRET"), PayloadSize: 16, Trusted: true}
	if err := st.Write(ctx, &store.Batch{DLQ: []store.DLQEntry{d}}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := replay.New(ctx, replay.Config{}, st, nil, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	guard, err := auth.New([]auth.Token{{Name: "otto", Role: "operator", Token: "operator-token-0123456789"},
		{Name: "vic", Role: "viewer", Token: "viewer-token-0123456789"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		min    auth.Role
		token  string
		hidden bool
	}{
		{auth.Operator, "viewer-token-0123456789", true},
		{auth.Operator, "operator-token-0123456789", false},
		{auth.Viewer, "viewer-token-0123456789", false},
		{auth.Admin, "operator-token-0123456789", true},
	} {
		a := New(st, log)
		a.SetGuard(guard)
		a.SetPayloadsMinRole(tc.min)
		mux := http.NewServeMux()
		a.Register(mux)
		a.RegisterReplays(mux, eng)
		srv := httptest.NewServer(mux)
		do := func(method, path, body string) (int, string) {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		secret := "card=4111-SECRET"
		code, entry := do("GET", "/api/v1/dlq/d1", "")
		_, list := do("GET", "/api/v1/dlq?since=1000000h", "")
		pcode, preview := do("POST", "/api/v1/replays", `{"dlq_ids":["d1"],"dry_run":true}`)
		var e struct {
			Payload []byte `json:"payload"`
			Hidden  string `json:"payload_hidden"`
		}
		json.Unmarshal([]byte(entry), &e)
		if code != 200 || pcode != 200 {
			t.Fatalf("min %s, %s: entry %d %s, preview %d %s", tc.min, tc.token, code, entry, pcode, preview)
		}
		if tc.hidden {
			want := "payload hidden: needs " + tc.min.String()
			if e.Payload != nil || e.Hidden != want || strings.Contains(list, "payload\"") ||
				strings.Contains(preview, secret) || !strings.Contains(preview, want) {
				t.Fatalf("min %s, %s sees: entry %s\nlist %s\npreview %s", tc.min, tc.token, entry, list, preview)
			}
		} else if string(e.Payload) != secret || e.Hidden != "" || !strings.Contains(preview, secret) {
			t.Fatalf("min %s, %s: entry %s, preview %s", tc.min, tc.token, entry, preview)
		}
		if tc.token == "viewer-token-0123456789" {
			if code, body := do("POST", "/api/v1/replays", `{"dlq_ids":["d1"],"reason":"r"}`); code != 403 || !strings.Contains(body, "operator") {
				t.Fatalf("a viewer's run: %d %s", code, body)
			}
		}
		srv.Close()
	}
}
