package desktop

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

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

// notificationService is a fake org.freedesktop.Notifications.
type notificationService struct{ got chan [2]string }

func (s notificationService) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.got <- [2]string{summary, body}
	return 1, nil
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
	if err := n.Notify("Causeway alert: x", "no service yet"); err == nil {
		t.Fatal("Notify without a notification service: no error")
	}

	srv, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	svc := notificationService{got: make(chan [2]string, 1)}
	if err := srv.Export(svc, "/org/freedesktop/Notifications", "org.freedesktop.Notifications"); err != nil {
		t.Fatal(err)
	}
	if reply, err := srv.RequestName("org.freedesktop.Notifications", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v %v", reply, err)
	}
	// A service that appears later is used, for every alert after it.
	for i := range 3 {
		if err := n.Notify("Causeway alert: payments behind", "lag 120 > 50"); err != nil {
			t.Fatalf("notification %d: %v", i, err)
		}
		select {
		case got := <-svc.got:
			if got != [2]string{"Causeway alert: payments behind", "lag 120 > 50"} {
				t.Errorf("notification %q", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("notification %d: the notification service got nothing", i)
		}
	}
}

func TestDBusNotifierWithoutABus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	n := newDBusNotifier(quiet)
	for range 2 {
		if err := n.Notify("t", "b"); err == nil {
			t.Fatal("no error without a bus")
		}
	}
}
