package desktop

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/studio/alert"
)

// Notifier shows a desktop notification.
type Notifier interface {
	Notify(title, body string) error
}

// watchAlerts follows the studio's live alert channel (as a websocket
// client of its own, so notifications come whichever view the window
// shows, or none) and notifies when a rule fires or resolves. It
// reconnects with backoff until ctx is done.
func watchAlerts(ctx context.Context, studio *url.URL, token string, n Notifier, log *slog.Logger) {
	u := *studio
	u.Scheme = map[string]string{"https": "wss"}[u.Scheme]
	if u.Scheme == "" {
		u.Scheme = "ws"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/api/v1/live"
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	delay := time.Second
	for ctx.Err() == nil {
		start := time.Now()
		err := followAlerts(ctx, u.String(), h, n, log)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			delay = time.Second
		}
		log.Debug("alert notifications: live channel closed, reconnecting", "error", err, "in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func followAlerts(ctx context.Context, liveURL string, h http.Header, n Notifier, log *slog.Logger) error {
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, liveURL, h)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%s: %s", liveURL, resp.Status)
		}
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.WriteJSON(map[string]string{"op": "subscribe", "channel": "alerts"}); err != nil {
		return err
	}
	for {
		var f struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
			Message string          `json:"message"`
		}
		if err := conn.ReadJSON(&f); err != nil {
			return err
		}
		switch f.Channel {
		case "alerts":
			var ev alert.Event
			if err := json.Unmarshal(f.Data, &ev); err != nil {
				log.Warn("alert notifications: unreadable alert event", "error", err)
				continue
			}
			title, body, ok := alertNotification(ev)
			if !ok {
				continue
			}
			log.Info("alert", "rule", ev.RuleName, "status", ev.Status, "summary", ev.Summary)
			if err := n.Notify(title, body); err != nil {
				log.Debug("desktop notification not shown", "error", err)
			}
		case "error":
			return fmt.Errorf("live channel: %s", f.Message)
		}
	}
}

// alertNotification is what a notification says about ev; ok is false
// for events not worth one.
func alertNotification(ev alert.Event) (title, body string, ok bool) {
	name := ev.RuleName
	if name == "" {
		name = ev.RuleID
	}
	switch ev.Status {
	case "firing":
		return "Causeway alert: " + name, ev.Summary, true
	case "resolved":
		return "Resolved: " + name, ev.Summary, true
	case "test":
		return "Causeway test alert: " + name, ev.Summary, true
	}
	return "", "", false
}

// dbusNotifier shows notifications through the freedesktop notification
// service on the session bus (what notify-send uses). Where there is no
// session bus or no notification service, it says so once in the log and
// stays quiet: notifications are a convenience, never a failure. Alerts
// are rare, so each notification has a connection of its own: a service
// started later is found, and a bus that does not answer costs one
// notification at most 5 s, never a stuck alert watcher.
type dbusNotifier struct {
	log *slog.Logger

	mu     sync.Mutex
	warned bool
}

func newDBusNotifier(log *slog.Logger) *dbusNotifier { return &dbusNotifier{log: log} }

func (d *dbusNotifier) Notify(title, body string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	// The context bounds the connection too: godbus closes it when the
	// context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(ctx))
	if err != nil {
		d.off("no D-Bus session bus", err)
		return err
	}
	defer conn.Close()
	obj := conn.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	call := obj.CallWithContext(ctx, "org.freedesktop.Notifications.Notify", 0,
		"Causeway", uint32(0), "dialog-warning", title, body, []string{},
		map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(1))}, int32(-1))
	if call.Err != nil {
		d.off("no notification service on the session bus", call.Err)
		return call.Err
	}
	return nil
}

func (d *dbusNotifier) off(why string, err error) {
	if !d.warned {
		d.warned = true
		d.log.Info("desktop notifications are off: "+why, "error", err)
	}
}
