package alert

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The webhook target guard (server-side request forgery). A notification
// may only reach a public unicast address, unless the configuration lets
// it reach loopback or private networks. The check runs on the address
// the dialer is about to connect to, after DNS resolution (net.Dialer's
// Control), so a name that resolves to a forbidden address, or that
// resolves differently a second time (DNS rebinding), is refused at the
// connection itself; Check refuses literal addresses early, with a clear
// error, when a rule is saved.

// specialPurpose are the address blocks of the IANA special-purpose
// registries (RFC 6890 and its updates) and other non-global ranges that
// a webhook must never reach, whatever allow_loopback and allow_private
// say. Loopback and private blocks are in loopbackNets and privateNets.
var specialPurpose = prefixes(
	// IPv4
	"0.0.0.0/8",       // "this network"
	"100.64.0.0/10",   // shared address space (carrier-grade NAT); holds Alibaba's metadata 100.100.100.200
	"169.254.0.0/16",  // link-local, holds the cloud metadata address 169.254.169.254
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.31.196.0/24", // AS112-v4
	"192.52.193.0/24", // AMT
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.175.48.0/24", // direct delegation AS112
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and the broadcast address
	// IPv6
	"::/96",          // unspecified and IPv4-compatible (deprecated) addresses
	"64:ff9b::/96",   // NAT64 well-known prefix: embeds any IPv4 address
	"64:ff9b:1::/48", // NAT64 local use
	"100::/64",       // discard-only
	"2001::/23",      // IETF protocol assignments (Teredo, benchmarking, ORCHID)
	"2001:db8::/32",  // documentation
	"2002::/16",      // 6to4: embeds any IPv4 address
	"3fff::/20",      // documentation
	"5f00::/16",      // segment routing (SRv6) SIDs
	"fd00:ec2::/32",  // AWS instance metadata over IPv6 (inside fc00::/7)
	"fe80::/10",      // link-local
	"fec0::/10",      // site-local (deprecated)
	"ff00::/8",       // multicast
)

// loopbackNets and privateNets are allowed only by their settings.
var (
	loopbackNets = prefixes("127.0.0.0/8", "::1/128")
	privateNets  = prefixes("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func inAny(ip netip.Addr, nets []netip.Prefix) (netip.Prefix, bool) {
	for _, p := range nets {
		if p.Contains(ip) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// targetPolicy decides which addresses webhooks may reach.
type targetPolicy struct {
	allowLoopback, allowPrivate bool
	// own lists this host's interface addresses: a webhook to one of them
	// reaches this host's services as loopback would.
	own func() []netip.Addr
}

// check refuses an address a webhook must not reach, saying why.
func (p targetPolicy) check(ip netip.Addr) error {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if ip.Zone() != "" {
		ip = ip.WithZone("")
	}
	if _, ok := inAny(ip, loopbackNets); ok { // before ::/96, which holds ::1
		if !p.allowLoopback {
			return fmt.Errorf("%w: %s is loopback (allow it with alerts.allow_loopback)", ErrForbiddenTarget, ip)
		}
		return nil
	}
	if pre, ok := inAny(ip, specialPurpose); ok {
		return fmt.Errorf("%w: %s is in the special-purpose block %s", ErrForbiddenTarget, ip, pre)
	}
	if _, ok := inAny(ip, privateNets); ok && !p.allowPrivate {
		return fmt.Errorf("%w: %s is a private address (allow it with alerts.allow_private)", ErrForbiddenTarget, ip)
	}
	if !p.allowLoopback && p.own != nil {
		for _, a := range p.own() {
			if a == ip {
				return fmt.Errorf("%w: %s is this host's own address (allow it with alerts.allow_loopback)", ErrForbiddenTarget, ip)
			}
		}
	}
	return nil
}

// hostAddrs returns this host's interface addresses, read at most every
// 30 s (an interface may come up later).
var hostAddrs = func() func() []netip.Addr {
	var (
		mu   sync.Mutex
		at   time.Time
		addr []netip.Addr
	)
	return func() []netip.Addr {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(at) < 30*time.Second {
			return addr
		}
		at, addr = time.Now(), nil
		ifs, err := net.InterfaceAddrs()
		if err != nil {
			return nil
		}
		for _, a := range ifs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					addr = append(addr, ip.Unmap())
				}
			}
		}
		return addr
	}
}()

// looseIPv4 reads a host the way the C library's inet_aton does, which
// some resolvers and proxies still use: decimal, hex (0x) and octal (0)
// parts, and fewer than four parts ("127.1", "2130706433"). A URL host in
// such a form names an address, not a DNS name, and is checked as one.
func looseIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, s := range parts {
		base := 10
		switch {
		case s == "":
			return netip.Addr{}, false
		case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
			base, s = 16, s[2:]
		case len(s) > 1 && s[0] == '0':
			base, s = 8, s[1:]
		}
		v, err := strconv.ParseUint(s, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	// The last part fills the bytes the others leave.
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
