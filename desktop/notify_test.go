package desktop

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/gorilla/websocket"

	"github.com/causeway-dev/causeway/studio/alert"
)

func TestAlertNotification(t *testing.T) {
	for _, c := range []struct {
		ev          alert.Event
		title, body string
		ok          bool
	}{
		{alert.Event{RuleID: "lag", RuleName: "payments behind", Status: "firing", Summary: "lag 120 > 50"}, "Causeway alert: payments behind", "lag 120 > 50", true},
		{alert.Event{RuleID: "lag", Status: "resolved", Summary: "lag 3"}, "Resolved: lag", "lag 3", true},
		{alert.Event{RuleID: "lag", RuleName: "x", Status: "pending"}, "", "", false},
	} {
		title, body, ok := alertNotification(c.ev)
		if title != c.title || body != c.body || ok != c.ok {
			t.Errorf("%+v: %q %q %v", c.ev, title, body, ok)
		}
	}
}

// notificationService is a fake org.freedesktop.Notifications: it keeps
// the notifications, numbered from 1, and hands each to got while there
// is room (a full channel never blocks the caller).
type notificationService struct {
	got   chan shownNote
	mu    sync.Mutex
	notes []shownNote
}

// shownNote is a notification the fake service was asked to show.
type shownNote struct {
	id            uint32
	summary, body string
	actions       []string
}

func (s *notificationService) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	n := shownNote{id: uint32(len(s.notes) + 1), summary: summary, body: body, actions: actions}
	s.notes = append(s.notes, n)
	s.mu.Unlock()
	select {
	case s.got <- n:
	default:
	}
	return n.id, nil
}

// serveNotifications connects to the bus at addr as the notification service.
func serveNotifications(t *testing.T, addr string) (*dbus.Conn, *notificationService) {
	t.Helper()
	srv, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	svc := &notificationService{got: make(chan shownNote, 16)}
	if err := srv.Export(svc, notifyPath, notifyIface); err != nil {
		t.Fatal(err)
	}
	if reply, err := srv.RequestName(notifyName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", reply, err)
	}
	return srv, svc
}

// privateSessionBus starts a dbus-daemon of the test's own and points
// DBUS_SESSION_BUS_ADDRESS at it.
func privateSessionBus(t *testing.T) string {
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dbus-daemon is missing (.ci/setup installs it)")
		}
		t.Skip("dbus-daemon is not installed")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default"><allow send_destination="*"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>`), 0o600)
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	addr := strings.TrimSpace(line)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	return addr
}

func TestDBusNotifier(t *testing.T) {
	addr := privateSessionBus(t)
	n := newDBusNotifier(quiet)
	defer n.Close()
	if err := n.Notify(Notification{Title: "Causeway alert: x", Body: "no service yet"}); err == nil {
		t.Fatal("Notify without a notification service: no error")
	}

	_, svc := serveNotifications(t, addr)
	// A service that appears later is used, for every alert after it.
	for i := range 3 {
		if err := n.Notify(Notification{Title: "Causeway alert: payments behind", Body: "lag 120 > 50"}); err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
		select {
		case got := <-svc.got:
			if got.summary != "Causeway alert: payments behind" || got.body != "lag 120 > 50" || len(got.actions) != 0 {
				t.Errorf("notification %+v", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("notification %d: the notification service got nothing", i)
		}
	}
}

func TestDBusNotifierWithoutABus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	n := newDBusNotifier(quiet)
	defer n.Close()
	for range 2 {
		if err := n.Notify(Notification{Title: "t", Body: "b"}); err == nil {
			t.Fatal("no error without a bus")
		}
	}
}

// TestDBusNotifierClick: a notification with OnClick asks for the
// "default" action and runs OnClick when the service says it was invoked
// for that notification — not for another's, nor after it was closed.
func TestDBusNotifierClick(t *testing.T) {
	addr := privateSessionBus(t)
	srv, svc := serveNotifications(t, addr)
	n := newDBusNotifier(quiet)
	defer n.Close()

	clicked := make(chan string, 4)
	show := func(name string) uint32 {
		t.Helper()
		if err := n.Notify(Notification{Title: name, Body: "b", OnClick: func() { clicked <- name }}); err != nil {
			t.Fatal(err)
		}
		note := <-svc.got
		if note.summary != name || len(note.actions) != 2 || note.actions[0] != "default" {
			t.Fatalf("%+v: want %s with the default action", note, name)
		}
		return note.id
	}
	emit := func(member string, args ...any) {
		t.Helper()
		if err := srv.Emit(notifyPath, notifyIface+"."+member, args...); err != nil {
			t.Fatal(err)
		}
	}
	lag, dlq := show("lag"), show("dlq")
	// Another client's notification, then dlq closed unclicked, then a click on lag.
	emit("ActionInvoked", uint32(99), "default")
	emit("NotificationClosed", dlq, uint32(2))
	emit("ActionInvoked", dlq, "default")
	emit("ActionInvoked", lag, "default")
	select {
	case got := <-clicked:
		if got != "lag" {
			t.Fatalf("clicked %q, want lag", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a click on the notification did not reach OnClick within 5 s")
	}
	select {
	case got := <-clicked:
		t.Fatalf("OnClick of %q ran too", got)
	case <-time.After(300 * time.Millisecond):
	}

	// A notification without OnClick has no actions.
	if err := n.Notify(Notification{Title: "plain", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	if note := <-svc.got; len(note.actions) != 0 {
		t.Errorf("a notification nobody can open has actions %q", note.actions)
	}

	// Close ends the waits for clicks (goleak in TestMain checks) and
	// refuses later notifications.
	show("late")
	n.Close()
	if err := n.Notify(Notification{Title: "x"}); !errors.Is(err, errNotifierClosed) {
		t.Errorf("Notify after Close: %v", err)
	}
}

func TestAlertView(t *testing.T) {
	root, _ := url.Parse("http://127.0.0.1:7070")
	prefixed, _ := url.Parse("https://ops.example.com/causeway")
	links := func(urls ...string) alert.Event {
		ev := alert.Event{RuleID: "r", Status: "firing"}
		for _, u := range urls {
			ev.Links = append(ev.Links, alert.Link{Kind: "k", URL: u})
		}
		return ev
	}
	for _, c := range []struct {
		ev     alert.Event
		studio *url.URL
		want   string
	}{
		// The public URL's host is not the one the app reaches the studio by.
		{links("http://studio.internal:7070/journeys?journey=order&step=payment", "http://x/graph?id=o-1"), root, "/journeys?journey=order&step=payment"},
		{links("/lag?group=payments"), root, "/lag?group=payments"},
		{links("https://ops.example.com/causeway/dlq?reason=fraud+check+down"), prefixed, "/dlq?reason=fraud+check+down"},
		{links("javascript:alert(1)", "http://h//evil.example.com/x", "http://h/", "http://h/lag?group=g"), root, "/lag?group=g"},
		{links(), root, ""},
	} {
		if got := alertView(c.ev, c.studio); got != c.want {
			t.Errorf("%v on %s: %q, want %q", c.ev.Links, c.studio, got, c.want)
		}
	}
}

// TestAlertClickOpensView: an alert from the studio's live channel that
// links to a view becomes a notification whose click opens that view in
// the window, through the gateway, with the window brought to the front.
func TestAlertClickOpensView(t *testing.T) {
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		var sub map[string]string
		if c.ReadJSON(&sub) != nil || sub["channel"] != "alerts" {
			return
		}
		ev := alert.Event{RuleID: "stuck", RuleName: "orders stuck", Status: "firing", Summary: "3 orders stuck at payment",
			Links: []alert.Link{{Kind: "journey", URL: "http://127.0.0.1:1/journeys?journey=order&step=payment"}}}
		c.WriteJSON(map[string]any{"channel": "alerts", "data": ev})
		c.ReadMessage() // until the client goes
	}))
	defer live.Close()

	dir := t.TempDir()
	a, err := newApp(Options{ConfigPath: filepath.Join(dir, "desktop.json")}, "v-test", quiet, &fakeNotifier{got: make(chan [2]string, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	win := &fakeWindow{}
	a.Start(win)

	notes := &clickNotifier{got: make(chan Notification, 1)}
	studio, _ := url.Parse(live.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); watchAlerts(ctx, studio, "", notes, a.openView, quiet) }()
	defer func() { cancel(); <-done }()

	var note Notification
	select {
	case note = <-notes.got:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s")
	}
	if note.Title != "Causeway alert: orders stuck" || note.OnClick == nil {
		t.Fatalf("notification %+v: want a clickable one", note)
	}
	note.OnClick()
	win.mu.Lock()
	defer win.mu.Unlock()
	if want := a.gw.URL() + "/journeys?journey=order&step=payment"; len(win.navigate) != 1 || win.navigate[0] != want || win.shown != 1 {
		t.Errorf("after the click the window went to %q (shown %d times), want %q", win.navigate, win.shown, want)
	}
}

// clickNotifier hands over the notifications themselves, click included.
type clickNotifier struct{ got chan Notification }

func (n *clickNotifier) Notify(note Notification) error {
	select {
	case n.got <- note:
	default:
	}
	return nil
}
