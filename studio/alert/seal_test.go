package alert

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/store"
)

// TestRulesSealedAtRest: a rule's webhook URL and secret are not in the
// stored row; the same key brings the rule back, another key does not
// (and says so); a rule stored before sealing still loads.
func TestRulesSealedAtRest(t *testing.T) {
	ctx := context.Background()
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "keys", "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	e, st := newEngine(t, SenderOptions{})
	e.SetSealer(sealer)
	const url, secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRETPATH", "hmac-s3cret"
	rule := Rule{ID: "lag", Name: "lagging", Kind: KindLagMessages, Group: "billing", Threshold: 10,
		Webhooks: []Webhook{{URL: url, Secret: secret}}}
	if err := e.Save(ctx, rule); err != nil {
		t.Fatal(err)
	}
	recs, err := st.AlertRules(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("stored rules: %v %v", recs, err)
	}
	if raw := recs[0].Spec; !strings.HasPrefix(raw, sealedPrefix) || strings.Contains(raw, "XXXXSECRETPATH") || strings.Contains(raw, secret) || strings.Contains(raw, "billing") {
		t.Fatalf("stored rule in the clear: %q", raw)
	}

	again := NewEngine(st, NewSender(SenderOptions{}), e.log)
	again.SetSealer(sealer)
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if got, ok := again.Rule("lag"); !ok || got.Webhooks[0].URL != url || got.Webhooks[0].Secret != secret {
		t.Fatalf("reloaded rule %+v %v", got, ok)
	}

	other, _ := NewSealer(make([]byte, KeySize))
	var logs strings.Builder
	wrong := NewEngine(st, NewSender(SenderOptions{}), slog.New(slog.NewTextHandler(&logs, nil)))
	wrong.SetSealer(other)
	if err := wrong.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := wrong.Rule("lag"); ok || !strings.Contains(logs.String(), "secret key") {
		t.Fatalf("a rule opened with another key; logs %s", logs.String())
	}
	// A row written before sealing existed.
	if err := st.PutAlertRule(ctx, store.AlertRuleRecord{ID: "old", Spec: "id: old\nname: old\nkind: dlq_arrivals\nthreshold: 1\n", UpdatedNS: 1}); err != nil {
		t.Fatal(err)
	}
	plain := NewEngine(st, NewSender(SenderOptions{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	plain.SetSealer(sealer)
	if err := plain.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Rule("old"); !ok {
		t.Fatal("an unsealed stored rule was not loaded")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "secret.key")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Fatalf("key directory mode %v", di.Mode())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("the key changed on the second read: %v", err)
	}
	os.WriteFile(path, []byte("not base64 at all"), 0o600)
	if _, err := LoadOrCreateKey(path); !errors.Is(err, ErrBadKey) {
		t.Fatalf("a damaged key file: %v", err)
	}
	if _, err := ParseKey("c2hvcnQ="); !errors.Is(err, ErrBadKey) {
		t.Fatalf("a short key: %v", err)
	}
}
