package alert

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestTargetPolicy decides addresses only: no traffic leaves the host.
func TestTargetPolicy(t *testing.T) {
	own := netip.MustParseAddr("203.0.113.77") // stands for this host's public address
	ownPublic := netip.MustParseAddr("8.8.4.200")
	strict := targetPolicy{own: func() []netip.Addr { return []netip.Addr{own, ownPublic} }}
	open := targetPolicy{allowLoopback: true, allowPrivate: true, own: strict.own}

	never := []string{
		"0.0.0.0", "0.1.2.3", "100.64.0.1", "100.127.255.254", "100.100.100.200", "169.254.169.254", "169.254.0.1",
		"192.0.0.8", "192.0.2.1", "192.31.196.1", "192.52.193.1", "192.88.99.1", "192.175.48.1", "198.18.0.1", "198.19.255.255",
		"198.51.100.1", "203.0.113.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
		"::", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "100::1", "2001::1", "2001:2::1", "2001:10::1",
		"2001:db8::1", "2002:7f00:1::1", "2002:a9fe:a9fe::", "3fff::1", "5f00::1", "fd00:ec2::254", "fe80::1", "fe80::1%eth0",
		"fec0::1", "ff02::1", "::ffff:169.254.169.254", "::ffff:100.64.0.1",
	}
	for _, s := range never {
		ip := netip.MustParseAddr(s)
		for name, p := range map[string]targetPolicy{"strict": strict, "open": open} {
			if err := p.check(ip); !errors.Is(err, ErrForbiddenTarget) {
				t.Errorf("%s policy allows %s (%v)", name, s, err)
			}
		}
	}
	bySetting := []string{"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
		"192.168.1.1", "fc00::1", "fd12:3456::1", "::ffff:10.0.0.1", "8.8.4.200"}
	for _, s := range bySetting {
		ip := netip.MustParseAddr(s)
		if err := strict.check(ip); !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("strict policy allows %s", s)
		}
		if err := open.check(ip); err != nil {
			t.Errorf("open policy refuses %s: %v", s, err)
		}
	}
	if err := strict.check(ownPublic); err == nil || !strings.Contains(err.Error(), "own address") {
		t.Errorf("this host's own public address: %v", err)
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "172.32.0.1", "100.128.0.1", "198.20.0.1"} {
		if err := strict.check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("public %s refused: %v", s, err)
		}
	}
}

func TestLooseIPv4(t *testing.T) {
	for in, want := range map[string]string{
		"2130706433": "127.0.0.1", "0x7f000001": "127.0.0.1", "0177.0.0.1": "127.0.0.1", "127.1": "127.0.0.1",
		"0x7f.0.0.1": "127.0.0.1", "0xa9.0xfe.0xa9.0xfe": "169.254.169.254", "169.254.43518": "169.254.169.254",
		"10.0x10203": "10.1.2.3", "0": "0.0.0.0",
	} {
		got, ok := looseIPv4(in)
		if !ok || got.String() != want {
			t.Errorf("looseIPv4(%q) = %v, %v; want %s", in, got, ok, want)
		}
	}
	for _, in := range []string{"example.com", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "0x", "1..2", "4294967296", "1.16777216", ""} {
		if got, ok := looseIPv4(in); ok {
			t.Errorf("looseIPv4(%q) = %v, want not an address", in, got)
		}
	}
}

// TestCheckURLForms: Check refuses every spelling of a forbidden address
// in a URL, before anything is dialled.
func TestCheckURLForms(t *testing.T) {
	s := NewSender(SenderOptions{Attempts: 1})
	for _, u := range []string{
		"http://2130706433/", "http://0x7f000001:8080/x", "http://0177.0.0.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/",
		"http://[::ffff:7f00:1]/", "http://0xa9fea9fe/latest/meta-data", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/",
		"http://100.64.1.1/", "http://198.18.0.1/", "http://[fd00:ec2::254]/",
	} {
		if err := s.Check(u); !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("Check(%s) = %v, want refused", u, err)
		}
	}
	if err := s.Check("https://hooks.slack.com/services/T/B/X"); err != nil {
		t.Errorf("a public name: %v", err)
	}
}

// TestDialRefusesResolvedLoopback: a name that resolves to loopback is
// refused at connect time, and the receiver on 127.0.0.1 sees nothing.
func TestDialRefusesResolvedLoopback(t *testing.T) {
	rcv := newReceiver(t)
	for _, host := range []string{"localhost"} { // from /etc/hosts: no DNS query leaves the host
		u := strings.Replace(rcv.srv.URL, "127.0.0.1", host, 1)
		err := NewSender(SenderOptions{Attempts: 1}).Send(context.Background(), Webhook{URL: u}, Event{})
		if !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("%s: %v, want refused at dial time", u, err)
		}
	}
	if n := len(rcv.events(t)); n != 0 {
		t.Fatalf("the receiver got %d notifications", n)
	}
}
