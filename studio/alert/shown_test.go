package alert

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestWebhookURLShownAsSet: the API's JSON shows a webhook's URL and
// secret as "[set]"; saving the rule back as shown keeps both, position
// by position; a "[set]" URL where the rule had no webhook is refused.
func TestWebhookURLShownAsSet(t *testing.T) {
	ctx := context.Background()
	e, _ := newEngine(t, SenderOptions{})
	const slack, other = "https://hooks.slack.com/services/T000/B000/XXXXSECRETPATH", "https://example.com/hook"
	rule := Rule{ID: "lag", Name: "lagging", Kind: KindLagMessages, Threshold: 10,
		Webhooks: []Webhook{{URL: slack, Format: "slack"}, {URL: other, Secret: "s3cret-value"}}}
	if err := e.Save(ctx, rule); err != nil {
		t.Fatal(err)
	}
	shown, err := json.Marshal(rule)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(shown), "hooks.slack.com") || strings.Contains(string(shown), "example.com") || strings.Contains(string(shown), "s3cret") {
		t.Fatalf("the API shows %s", shown)
	}
	var back Rule
	if err := json.Unmarshal(shown, &back); err != nil {
		t.Fatal(err)
	}
	back.Threshold = 20 // an edit in the UI, URLs untouched
	if err := e.Save(ctx, back); err != nil {
		t.Fatal(err)
	}
	got, _ := e.Rule("lag")
	if got.Threshold != 20 || got.Webhooks[0].URL != slack || got.Webhooks[1].URL != other || got.Webhooks[1].Secret != "s3cret-value" {
		t.Fatalf("saved back: %+v", got)
	}
	back.Webhooks = append(back.Webhooks, Webhook{URL: secretShown})
	if err := e.Save(ctx, back); err == nil {
		t.Fatal("a [set] URL with no webhook to keep must be refused")
	}
	if err := e.Save(ctx, Rule{ID: "new", Name: "n", Kind: KindLagMessages, Threshold: 1, Webhooks: []Webhook{{URL: secretShown}}}); err == nil {
		t.Fatal("a new rule with a [set] URL must be refused")
	}
}
