package collector

import (
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/collector/otlp"
)

// The defaults of the settings that keep slow and stalled clients from
// taking the receivers' budget (Config's read_header_timeout through
// peer_key; see otlp.Limits).
const defaultReadHeaderTimeout = 10 * time.Second

// withClientDefaults fills the zero client settings from otlp.DefaultLimits.
func (c Config) withClientDefaults() Config {
	d := otlp.DefaultLimits
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = defaultReadHeaderTimeout
	}
	if c.BodyTimeout == 0 {
		c.BodyTimeout = d.BodyTimeout
	}
	if c.MinBodyRate == 0 {
		c.MinBodyRate = d.MinBodyRate
	}
	if c.GRPCMessageTimeout == 0 {
		c.GRPCMessageTimeout = d.GRPCMessageTimeout
	}
	if c.GRPCKeepaliveTime == 0 {
		c.GRPCKeepaliveTime = d.GRPCKeepaliveTime
	}
	if c.GRPCKeepaliveTimeout == 0 {
		c.GRPCKeepaliveTimeout = d.GRPCKeepaliveTimeout
	}
	if c.GRPCKeepaliveMinTime == 0 {
		c.GRPCKeepaliveMinTime = d.GRPCKeepaliveMinTime
	}
	if c.PerPeerShare == 0 {
		c.PerPeerShare = d.PerPeerShare
	}
	if c.PeerKey == "" {
		c.PeerKey = string(d.PeerKey)
	}
	c.Health = c.Health.withDefaults()
	return c
}

// validateClients checks the client settings, defaults filled.
func (c Config) validateClients() error {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"read_header_timeout", c.ReadHeaderTimeout}, {"body_timeout", c.BodyTimeout},
		{"grpc_message_timeout", c.GRPCMessageTimeout}, {"grpc_keepalive_time", c.GRPCKeepaliveTime},
		{"grpc_keepalive_timeout", c.GRPCKeepaliveTimeout}, {"grpc_keepalive_min_time", c.GRPCKeepaliveMinTime},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s must be positive", d.key)
		}
	}
	switch {
	case c.MinBodyRate <= 0:
		return fmt.Errorf("min_body_rate must be positive (bytes per second)")
	case c.PerPeerShare <= 0 || c.PerPeerShare > 1:
		return fmt.Errorf("per_peer_share %v must be in (0, 1] (1: no share)", c.PerPeerShare)
	case c.PeerKey != string(otlp.PeerIP) && c.PeerKey != string(otlp.PeerConnection):
		return fmt.Errorf("peer_key %q: want %q or %q", c.PeerKey, otlp.PeerIP, otlp.PeerConnection)
	}
	return c.Health.Validate()
}

// receiverLimits are the otlp.Limits of a configuration, defaults filled.
func (c Config) receiverLimits() otlp.Limits {
	return otlp.Limits{
		MaxBodyBytes:          c.MaxBodyBytes,
		MaxDecodedBytes:       c.MaxDecodedBytes,
		MaxInflightBytes:      c.MaxInflightBytes,
		MaxConcurrentRequests: c.MaxConcurrentRequests,
		PerPeerShare:          c.PerPeerShare,
		PeerKey:               otlp.PeerKey(c.PeerKey),
		BodyTimeout:           c.BodyTimeout,
		MinBodyRate:           c.MinBodyRate,
		GRPCMessageTimeout:    c.GRPCMessageTimeout,
		GRPCKeepaliveTime:     c.GRPCKeepaliveTime,
		GRPCKeepaliveTimeout:  c.GRPCKeepaliveTimeout,
		GRPCKeepaliveMinTime:  c.GRPCKeepaliveMinTime,
	}
}
