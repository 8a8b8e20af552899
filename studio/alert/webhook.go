package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Webhook is a notification target.
type Webhook struct {
	URL string `json:"url" yaml:"url"`
	// Format is "json" (default: Causeway's JSON, signed when Secret is
	// set) or "slack" (a Slack-compatible {"text": …} message).
	Format string `json:"format,omitempty" yaml:"format"`
	// Secret signs JSON notifications: the SignatureHeader holds
	// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
	Secret string `json:"secret,omitempty" yaml:"secret"`
}

// SignatureHeader carries the HMAC signature of a JSON notification.
const SignatureHeader = "X-Causeway-Signature"

func (w Webhook) validate() error {
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want an http or https URL", w.URL)
	}
	if w.Format != "" && w.Format != "json" && w.Format != "slack" {
		return fmt.Errorf("format %q: want json or slack", w.Format)
	}
	return nil
}

// secretShown stands for a webhook secret, and for its URL, in API answers.
const secretShown = "[set]"

// MarshalJSON leaves the URL and the secret out of API answers (a webhook
// URL is a credential: whoever has a Slack URL can post to the channel);
// both show as "[set]", to every role. Rules are stored as YAML, whole.
func (w Webhook) MarshalJSON() ([]byte, error) {
	type plain Webhook
	p := plain(w)
	if p.Secret != "" {
		p.Secret = secretShown
	}
	if p.URL != "" {
		p.URL = secretShown
	}
	return json.Marshal(p)
}

// hostOf is the host of a webhook URL, what logs show of it.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "(unparsable URL)"
}

// SenderOptions configure webhook delivery.
type SenderOptions struct {
	// AllowLoopback permits targets on loopback addresses and on this
	// host's own addresses (tests, local receivers). AllowPrivate permits
	// RFC 1918 / ULA addresses. Every other special-purpose block
	// (link-local, cloud metadata, CGNAT, NAT64, 6to4, documentation,
	// benchmarking, multicast, reserved: see target.go) is never allowed.
	AllowLoopback, AllowPrivate bool
	// Attempts per notification (default 3), Backoff before the second (default 1 s, doubling).
	Attempts int
	Backoff  time.Duration
	// Timeout per attempt (default 10 s).
	Timeout time.Duration
}

// Sender delivers notifications, refusing addresses it must not reach
// (server-side request forgery): the check runs on the address actually
// dialled, after DNS resolution, so a name cannot smuggle one in.
type Sender struct {
	opts   SenderOptions
	client *http.Client
	now    func() time.Time
	counts sendCounts // by channel kind and result (metrics.go)
}

// NewSender returns a sender.
func NewSender(o SenderOptions) *Sender {
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	s := &Sender{opts: o, now: time.Now}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		return s.allowed(ip)
	}}
	s.client = &http.Client{
		Timeout:   o.Timeout,
		Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConns: 10, IdleConnTimeout: time.Minute},
		// A redirect could point anywhere: do not follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// ErrForbiddenTarget is returned for a webhook address the sender refuses.
var ErrForbiddenTarget = errors.New("webhook target not allowed")

func (s *Sender) allowed(ip netip.Addr) error {
	return targetPolicy{allowLoopback: s.opts.AllowLoopback, allowPrivate: s.opts.AllowPrivate, own: hostAddrs}.check(ip)
}

// Check refuses a URL whose host is a literal address the sender must not
// reach (names are checked again at dial time).
func (s *Sender) Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		return s.allowed(ip)
	}
	if ip, ok := looseIPv4(u.Hostname()); ok {
		return s.allowed(ip)
	}
	return nil
}

// Send delivers one notification, retrying with backoff.
func (s *Sender) Send(ctx context.Context, w Webhook, ev Event) error {
	err := s.send(ctx, w, ev)
	s.counts.add(w.Format, err == nil)
	return err
}

func (s *Sender) send(ctx context.Context, w Webhook, ev Event) error {
	var body []byte
	if w.Format == "slack" {
		body, _ = json.Marshal(slackMessage(ev))
	} else {
		body, _ = json.Marshal(ev)
	}
	backoff := s.opts.Backoff
	var err error
	for attempt := 1; attempt <= s.opts.Attempts; attempt++ {
		if err = s.post(ctx, w, body); err == nil || errors.Is(err, ErrForbiddenTarget) {
			return err
		}
		if attempt == s.opts.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	return fmt.Errorf("after %d attempts: %w", s.opts.Attempts, err)
}

func (s *Sender) post(ctx context.Context, w Webhook, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "causeway-alerts")
	if w.Secret != "" && w.Format != "slack" {
		ts := strconv.FormatInt(s.now().Unix(), 10)
		req.Header.Set(SignatureHeader, "t="+ts+",v1="+Sign(w.Secret, ts, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrForbiddenTarget) {
			return err
		}
		var opErr *net.OpError
		if errors.As(err, &opErr) && errors.Is(opErr.Err, ErrForbiddenTarget) {
			return opErr.Err
		}
		// The client's errors quote the whole URL, a credential that
		// would reach the logs and the alert history: name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s to %s: %w", ue.Op, hostOf(w.URL), ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// Sign is the v1 signature of a notification: hex HMAC-SHA256 over
// "<timestamp>.<body>" with the webhook's secret.
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// slackMessage is a Slack-compatible message: the text line, and blocks
// with sample ids and one button per link (Slack caps an actions block;
// button labels are cut at 75 characters, its limit).
func slackMessage(ev Event) map[string]any {
	icon := map[string]string{"firing": ":rotating_light:", "resolved": ":white_check_mark:", "test": ":wave:"}[ev.Status]
	text := fmt.Sprintf("%s *%s* %s: %s", icon, ev.RuleName, ev.Status, ev.Summary)
	msg := map[string]any{"text": text}
	if len(ev.Links) == 0 && len(ev.Samples) == 0 {
		return msg
	}
	blocks := []any{map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": text}}}
	if len(ev.Samples) > 0 {
		ids := make([]string, len(ev.Samples))
		for i, id := range ev.Samples {
			ids[i] = "`" + strings.ReplaceAll(id, "`", "'") + "`"
		}
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{
			map[string]string{"type": "mrkdwn", "text": "Samples: " + strings.Join(ids, ", ")}}})
	}
	const maxButtons = 5
	var buttons []any
	for _, l := range ev.Links[:min(len(ev.Links), maxButtons)] {
		label := l.Label
		if r := []rune(label); len(r) > 75 {
			label = string(r[:74]) + "…"
		}
		buttons = append(buttons, map[string]any{"type": "button", "text": map[string]string{"type": "plain_text", "text": label}, "url": l.URL})
	}
	if len(buttons) > 0 {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": buttons})
	}
	msg["blocks"] = blocks
	return msg
}
