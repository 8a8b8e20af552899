package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/store"
	"github.com/causeway-dev/causeway/store/embedded"
)

// receiver is a real HTTP server recording what it is sent.
type receiver struct {
	mu       sync.Mutex
	bodies   [][]byte
	sigs     []string
	failures int // answer 500 this many times first
	srv      *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.failures > 0 {
			r.failures--
			w.WriteHeader(500)
			return
		}
		r.bodies = append(r.bodies, b)
		r.sigs = append(r.sigs, req.Header.Get(SignatureHeader))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) events(t *testing.T) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, b := range r.bodies {
		var e Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		out = append(out, e)
	}
	return out
}

func newEngine(t *testing.T, o SenderOptions) (*Engine, *embedded.Store) {
	st, err := embedded.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewEngine(st, NewSender(o), slog.New(slog.NewTextHandler(io.Discard, nil))), st
}

func writeLag(t *testing.T, st *embedded.Store, at time.Time, lag int64, status string) {
	err := st.Write(context.Background(), &store.Batch{Lag: []store.LagSample{{TimeNS: uint64(at.UnixNano()), System: "kafka",
		Group: "billing", Topic: "orders.placed", Lag: lag, LagSeconds: float64(lag) / 10, Status: status, GroupStatus: status}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestLagRuleFiresAfterForAndResolves(t *testing.T) {
	rcv := newReceiver(t)
	e, st := newEngine(t, SenderOptions{AllowLoopback: true})
	now := time.Now()
	e.now = func() time.Time { return now }
	err := e.Put(Rule{ID: "lag", Name: "billing is behind", Kind: KindLagMessages, Group: "billing", Threshold: 100,
		For: Duration(30 * time.Second), Webhooks: []Webhook{{URL: rcv.srv.URL, Secret: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	writeLag(t, st, now, 150, "WARN")
	e.Evaluate(ctx)
	if rs := e.Rules(); rs[0].State != StatePending || len(rcv.events(t)) != 0 {
		t.Fatalf("after the first breach: %s, %d notifications", rs[0].State, len(rcv.events(t)))
	}
	now = now.Add(31 * time.Second)
	writeLag(t, st, now, 160, "WARN")
	e.Evaluate(ctx)
	e.Evaluate(ctx) // still firing: no second notification
	evs := rcv.events(t)
	if len(evs) != 1 || evs[0].Status != "firing" || evs[0].Value != 160 || !strings.Contains(evs[0].Summary, "billing") {
		t.Fatalf("notifications %+v", evs)
	}
	// the signature verifies against the exact body
	sig := rcv.sigs[0]
	ts := strings.TrimPrefix(strings.Split(sig, ",")[0], "t=")
	if !strings.HasSuffix(sig, ",v1="+Sign("s3cret", ts, rcv.bodies[0])) {
		t.Fatalf("signature %q does not verify", sig)
	}
	now = now.Add(10 * time.Second)
	writeLag(t, st, now, 0, "OK")
	e.Evaluate(ctx)
	if evs = rcv.events(t); len(evs) != 2 || evs[1].Status != "resolved" {
		t.Fatalf("after recovery: %+v", evs)
	}
	if h := e.History(); len(h) != 2 || h[0].Status != "resolved" || h[0].Delivered != 1 {
		t.Fatalf("history %+v", h)
	}
}

func TestStatusDLQAndErrorRules(t *testing.T) {
	rcv := newReceiver(t)
	e, st := newEngine(t, SenderOptions{AllowLoopback: true})
	now := time.Now()
	e.now = func() time.Time { return now }
	hook := []Webhook{{URL: rcv.srv.URL, Format: "slack"}}
	for _, r := range []Rule{
		{ID: "stall", Name: "stalled", Kind: KindLagStatus, Statuses: []string{"STALL", "STOP"}, Webhooks: hook},
		{ID: "dlq", Name: "dead letters", Kind: KindDLQArrivals, Threshold: 1, Window: Duration(time.Minute), Webhooks: hook},
	} {
		if err := e.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	writeLag(t, st, now, 10, "STALL")
	var dlq []store.DLQEntry
	for i := 0; i < 3; i++ {
		dlq = append(dlq, store.DLQEntry{ID: store.DLQID("kafka", "t.dlq", 0, int64(i), uint64(now.Add(-time.Second).UnixNano())), TimeNS: uint64(now.Add(-time.Second).UnixNano()), Source: "t.dlq", Original: "t", Reason: "card declined"})
	}
	st.Write(context.Background(), &store.Batch{DLQ: dlq})
	e.Evaluate(context.Background())
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.bodies) != 2 {
		t.Fatalf("%d notifications, want 2", len(rcv.bodies))
	}
	// Each Slack message has its text and a button per link: the lag view
	// of the stalled group, the DLQ filtered to the arrivals' reason.
	buttons := map[string]bool{}
	for _, b := range rcv.bodies {
		var m struct {
			Text   string `json:"text"`
			Blocks []struct {
				Type     string `json:"type"`
				Elements []struct {
					Type string `json:"type"`
					URL  string `json:"url"`
				} `json:"elements"`
			} `json:"blocks"`
		}
		if json.Unmarshal(b, &m) != nil || !strings.Contains(m.Text, "firing") {
			t.Errorf("slack body %s", b)
		}
		for _, bl := range m.Blocks {
			for _, el := range bl.Elements {
				if bl.Type == "actions" && el.Type == "button" {
					buttons[el.URL] = true
				}
			}
		}
	}
	if want := map[string]bool{"/lag?group=billing": true, "/dlq?original=t&reason=card+declined": true}; !maps.Equal(buttons, want) {
		t.Errorf("buttons %v, want %v", buttons, want)
	}
}

func TestRetriesAndTest(t *testing.T) {
	rcv := newReceiver(t)
	rcv.failures = 2
	e, _ := newEngine(t, SenderOptions{AllowLoopback: true, Backoff: 10 * time.Millisecond})
	e.Put(Rule{ID: "r", Name: "r", Kind: KindLagMessages, Threshold: 1, Webhooks: []Webhook{{URL: rcv.srv.URL}}})
	ev, err := e.Test(context.Background(), "r")
	if err != nil || ev.Delivered != 1 || len(rcv.events(t)) != 1 || rcv.events(t)[0].Status != "test" {
		t.Fatalf("test after two failures: %+v, %v", ev, err)
	}
	if _, err := e.Test(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown rule: %v", err)
	}
}

func TestSSRF(t *testing.T) {
	rcv := newReceiver(t)
	strict, _ := newEngine(t, SenderOptions{Attempts: 1})
	if err := strict.Put(Rule{ID: "r", Name: "r", Kind: KindLagMessages, Webhooks: []Webhook{{URL: rcv.srv.URL}}}); !errors.Is(err, ErrForbiddenTarget) {
		t.Fatalf("loopback literal without allow_loopback: %v", err)
	}
	// a name that resolves to loopback is refused when dialled
	name := strings.Replace(rcv.srv.URL, "127.0.0.1", "localhost", 1)
	if err := NewSender(SenderOptions{Attempts: 1}).Send(context.Background(), Webhook{URL: name}, Event{}); !errors.Is(err, ErrForbiddenTarget) {
		t.Fatalf("localhost by name: %v", err)
	}
	open := NewSender(SenderOptions{AllowLoopback: true, AllowPrivate: true, Attempts: 1})
	for _, u := range []string{"http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://0.0.0.0/"} {
		if err := open.Check(u); !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("%s: %v, want refused even when loopback and private are allowed", u, err)
		}
	}
	if len(rcv.events(t)) != 0 {
		t.Fatal("a refused target was reached")
	}
	if err := (&Rule{ID: "x", Name: "x", Kind: "nope"}).Validate(); err == nil {
		t.Fatal("unknown kind: want an error")
	}
}

// TestRulesAndHistorySurviveRestart: rules saved through the engine and
// the alert history come back in a new engine over the same store; a
// secret shown as "[set]" keeps the saved one; removed rules stay removed.
func TestRulesAndHistorySurviveRestart(t *testing.T) {
	rcv := newReceiver(t)
	e, st := newEngine(t, SenderOptions{AllowLoopback: true})
	ctx := context.Background()
	rule := Rule{ID: "lag", Name: "lagging", Kind: KindLagMessages, Group: "billing", Threshold: 10, For: Duration(30 * time.Second),
		Webhooks: []Webhook{{URL: rcv.srv.URL, Secret: "s3cret"}}}
	if err := e.Save(ctx, rule); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(ctx, Rule{ID: "gone", Name: "gone", Kind: KindDLQArrivals, Threshold: 1}); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.Remove(ctx, "gone"); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	shown := rule
	shown.Threshold = 20
	shown.Webhooks = []Webhook{{URL: rcv.srv.URL, Secret: "[set]"}} // as a client read it from the API
	if err := e.Save(ctx, shown); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Test(ctx, "lag"); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(ctx, Rule{ID: "new", Name: "n", Kind: KindDLQArrivals, Threshold: 1, Webhooks: []Webhook{{URL: rcv.srv.URL, Secret: "[set]"}}}); err == nil {
		t.Fatal(`"[set]" for a webhook that has no secret must be refused`)
	}

	again := NewEngine(st, NewSender(SenderOptions{AllowLoopback: true}), e.log)
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	got, ok := again.Rule("lag")
	if !ok || got.Threshold != 20 || got.For != rule.For || got.Group != "billing" || got.Webhooks[0].Secret != "s3cret" {
		t.Fatalf("reloaded rule %+v, %v", got, ok)
	}
	if _, ok := again.Rule("gone"); ok || len(again.Rules()) != 1 {
		t.Fatalf("rules after a restart: %+v", again.Rules())
	}
	if h := again.History(); len(h) != 1 || h[0].Status != "test" || h[0].RuleID != "lag" || h[0].Delivered != 1 {
		t.Fatalf("history after a restart: %+v", h)
	}
	// The test notification was signed with the kept secret.
	if evs := rcv.events(t); len(evs) != 1 {
		t.Fatalf("receiver got %d notifications", len(evs))
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	ts, mac, _ := strings.Cut(strings.TrimPrefix(rcv.sigs[0], "t="), ",v1=")
	if mac != Sign("s3cret", ts, rcv.bodies[0]) {
		t.Fatalf("signature %q does not verify with the saved secret", rcv.sigs[0])
	}
}
