package desktop

import (
	"context"
	"encoding/json"
	"errors"
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

// Notification is one desktop notification.
type Notification struct {
	Title, Body string
	// OnClick, when set, runs when the user clicks the notification.
	OnClick func()
}

// Notifier shows a desktop notification.
type Notifier interface {
	Notify(n Notification) error
}

// watchAlerts follows the studio's live alert channel (as a websocket
// client of its own, so notifications come whichever view the window
// shows, or none) and notifies when a rule fires or resolves; clicking a
// notification calls open with the UI path of the view the alert links to
// (see alertView). It reconnects with backoff until ctx is done.
func watchAlerts(ctx context.Context, studio *url.URL, token string, n Notifier, open func(path string), log *slog.Logger) {
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
		err := followAlerts(ctx, u.String(), h, studio, n, open, log)
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

func followAlerts(ctx context.Context, liveURL string, h http.Header, studio *url.URL, n Notifier, open func(path string), log *slog.Logger) error {
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
			note := Notification{Title: title, Body: body}
			view := alertView(ev, studio)
			if view != "" {
				note.OnClick = func() { open(view) }
			}
			log.Info("alert", "rule", ev.RuleName, "status", ev.Status, "summary", ev.Summary, "view", view)
			if err := n.Notify(note); err != nil {
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

// alertView is the UI path (with its query) of the view that explains ev:
// its first link (studio/alert puts the view that explains the alert
// first), on the studio's public URL, which may differ from the URL the
// app reaches the studio by (a proxy, a local studio's listen address):
// only the path and query are kept, less the studio's own path prefix.
// It is "" when ev has no link the window can open.
func alertView(ev alert.Event, studio *url.URL) string {
	for _, l := range ev.Links {
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
			continue
		}
		p := u.Path
		if prefix := strings.TrimRight(studio.Path, "/"); prefix != "" && strings.HasPrefix(p, prefix+"/") {
			p = strings.TrimPrefix(p, prefix)
		}
		if localPath(p) != p || p == "/" {
			continue
		}
		if u.RawQuery != "" {
			p += "?" + u.RawQuery
		}
		return p
	}
	return ""
}

// dbusNotifier shows notifications through the freedesktop notification
// service on the session bus (what notify-send uses). Where there is no
// session bus or no notification service, it says so once in the log and
// stays quiet: notifications are a convenience, never a failure. Alerts
// are rare, so each notification has a connection of its own: a service
// started later is found, and a bus that does not answer costs one
// notification at most 5 s, never a stuck alert watcher.
//
// A notification with OnClick asks for the "default" action (a click on
// it) and keeps its connection to hear the service's ActionInvoked signal,
// until the notification is closed, a click, Close, or until
// maxClickable newer clickable notifications were shown.
type dbusNotifier struct {
	log *slog.Logger
	// life ends the waits for clicks (Close).
	life  context.Context
	stop  context.CancelFunc
	waits sync.WaitGroup

	mu     sync.Mutex
	warned bool
	// clickable ends the waits for clicks of the notifications shown, oldest first.
	clickable []context.CancelFunc
}

// maxClickable bounds the notifications a dbusNotifier keeps a
// connection for, to hear that one was clicked.
const maxClickable = 8

// The freedesktop notification service.
const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = "/org/freedesktop/Notifications"
	notifyIface = "org.freedesktop.Notifications"
)

func newDBusNotifier(log *slog.Logger) *dbusNotifier {
	life, stop := context.WithCancel(context.Background())
	return &dbusNotifier{log: log, life: life, stop: stop}
}

// Notify shows n. It returns once the service has it; a click is heard
// afterwards, in a goroutine of the notifier's.
func (d *dbusNotifier) Notify(n Notification) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.life.Err() != nil {
		return errNotifierClosed
	}
	// The connection's context closes it when it ends: at once when the
	// bus does not answer within 5 s, else when its notification needs
	// it no more.
	connCtx, end := context.WithCancel(d.life)
	slow := time.AfterFunc(5*time.Second, end)
	ok := false
	defer func() {
		if !ok {
			slow.Stop()
			end()
		}
	}()
	conn, err := dbus.ConnectSessionBus(dbus.WithContext(connCtx))
	if err != nil {
		d.off("no D-Bus session bus", err)
		return err
	}
	var signals chan *dbus.Signal
	actions := []string{}
	if n.OnClick != nil {
		// Listening first: the service may signal as soon as it shows it.
		if err := conn.AddMatchSignalContext(connCtx, dbus.WithMatchObjectPath(notifyPath), dbus.WithMatchInterface(notifyIface)); err != nil {
			conn.Close()
			d.off("the session bus refused a signal match", err)
			return err
		}
		signals = make(chan *dbus.Signal, 16)
		conn.Signal(signals)
		actions = []string{"default", "Open"}
	}
	call := conn.Object(notifyName, notifyPath).CallWithContext(connCtx, notifyIface+".Notify", 0,
		"Causeway", uint32(0), "dialog-warning", n.Title, n.Body, actions,
		map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(1))}, int32(-1))
	var id uint32
	if call.Err == nil {
		call.Err = call.Store(&id)
	}
	if call.Err != nil {
		conn.Close()
		d.off("no notification service on the session bus", call.Err)
		return call.Err
	}
	if !slow.Stop() { // the 5 s were up as the reply came
		conn.Close()
		return context.DeadlineExceeded
	}
	ok = true
	if n.OnClick == nil {
		end()
		conn.Close()
		return nil
	}
	d.clickable = append(d.clickable, end)
	if len(d.clickable) > maxClickable {
		d.clickable[0]()
		d.clickable = d.clickable[1:]
	}
	d.waits.Go(func() {
		defer end()
		defer conn.Close()
		if waitClick(connCtx, signals, id) {
			n.OnClick()
		}
	})
	return nil
}

// waitClick reports whether the notification id was clicked (its
// "default" action invoked) before it was closed or ctx ended.
func waitClick(ctx context.Context, signals <-chan *dbus.Signal, id uint32) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case s, open := <-signals:
			if !open {
				return false
			}
			if len(s.Body) == 0 || s.Body[0] != id {
				continue
			}
			switch s.Name {
			case notifyIface + ".ActionInvoked":
				if len(s.Body) == 2 && s.Body[1] == "default" {
					return true
				}
			case notifyIface + ".NotificationClosed":
				return false
			}
		}
	}
}

// errNotifierClosed is Notify's error after Close.
var errNotifierClosed = errors.New("desktop notifications: the notifier is closed")

// Close stops listening for clicks on the notifications shown.
func (d *dbusNotifier) Close() error {
	d.stop()
	d.waits.Wait()
	return nil
}

func (d *dbusNotifier) off(why string, err error) {
	if !d.warned {
		d.warned = true
		d.log.Info("desktop notifications are off: "+why, "error", err)
	}
}
