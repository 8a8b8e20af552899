package collector

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func reasons(h Health) []HealthReason {
	var out []HealthReason
	for _, r := range h.Reasons {
		out = append(out, r.Reason)
	}
	return out
}

// TestHealth: a store that keeps failing makes the collector degraded but
// ready (the spool takes requests); a spool above its fill bound makes it
// unready; both clear by themselves when the store comes back.
func TestHealth(t *testing.T) {
	st := &flakyStore{spans: map[string]int{}}
	cfg := testConfig(t, t.TempDir())
	cfg.MaxDecodedBytes, cfg.MaxBodyBytes, cfg.MaxSpoolBytes = 256<<10, 256<<10, 1<<20
	cfg.Health = HealthConfig{StoreFailingAfter: 300 * time.Millisecond, BacklogMaxAge: time.Hour, BacklogMaxFill: 0.01}
	c := start(t, cfg, st)
	defer shutdown(t, c, 5*time.Second)
	if h := c.Health(); h.Status != HealthOK || !h.Ready || len(h.Reasons) != 0 {
		t.Fatalf("fresh collector: %+v", h)
	}

	st.set(true)
	for i := 0; i < 3; i++ {
		if code := send(t, c, 100); code != 200 { // spooled while the store is down
			t.Fatalf("request with the store down: %d", code)
		}
	}
	if b := c.Stats().SpoolBytes; b < 11<<10 {
		t.Fatalf("spool holds %d bytes: want over 1%% of 1 MiB", b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		h := c.Health()
		rs := reasons(h)
		if len(rs) == 2 && rs[0] == ReasonBacklogFull && rs[1] == ReasonStore && !h.Ready && h.Status == HealthDegraded {
			if !strings.Contains(h.Reasons[1].Message, "store unavailable") || h.Reasons[1].Since.IsZero() {
				t.Fatalf("store reason: %+v", h.Reasons[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health with the store down for 10 s and the spool over 1%%: %+v", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Liveness stays 200 with the state in the body; readiness is 503.
	for _, c := range []struct {
		h    http.Handler
		code int
	}{{c.HealthHandler(), 200}, {c.ReadyHandler(), 503}} {
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		var got Health
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != c.code || got.Status != HealthDegraded {
			t.Fatalf("answer %d %s (%v), want %d degraded", rec.Code, rec.Body, err, c.code)
		}
	}

	st.set(false)
	st.check(t, 300)
	deadline = time.Now().Add(10 * time.Second)
	for h := c.Health(); h.Status != HealthOK || !h.Ready; h = c.Health() {
		if time.Now().After(deadline) {
			t.Fatalf("health after the store came back and the spool drained: %+v", h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The endpoints are served beside OTLP/HTTP.
	for _, path := range []string{HealthPath, ReadyPath} {
		resp, err := http.Get("http://" + c.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		var got Health
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || got.Status != HealthOK {
			t.Fatalf("%s after recovery: %d %+v %v", path, resp.StatusCode, got, err)
		}
	}
}

func TestClientSettingsValidate(t *testing.T) {
	for _, c := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.PerPeerShare = 1.5 }, "per_peer_share"},
		{func(c *Config) { c.PeerKey = "port" }, "peer_key"},
		{func(c *Config) { c.BodyTimeout = -time.Second }, "body_timeout"},
		{func(c *Config) { c.MinBodyRate = -1 }, "min_body_rate"},
		{func(c *Config) { c.Health.BacklogMaxFill = 2 }, "backlog_max_fill"},
	} {
		cfg := testConfig(t, t.TempDir())
		c.set(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v", c.want, err)
		}
	}
	d := DefaultConfig()
	if d.ReadHeaderTimeout != 10*time.Second || d.PerPeerShare != 0.25 || d.PeerKey != "ip" || d.Health.BacklogMaxFill != 0.8 {
		t.Fatalf("defaults: %+v", d)
	}
	if l := d.receiverLimits(); l.BodyTimeout != 10*time.Second || l.MinBodyRate != 64<<10 || l.GRPCMessageTimeout != 30*time.Second {
		t.Fatalf("receiver limits: %+v", l)
	}
}
