package collector

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// TLSConfig is a server's TLS: its certificate and key and, for mutual
// TLS, the CAs whose client certificates it requires. The zero value
// serves plaintext. Used by both OTLP receivers (collector.tls) and the
// studio (studio.tls).
type TLSConfig struct {
	// CertFile is the server's PEM certificate (chain); with KeyFile it
	// turns TLS on.
	CertFile string `yaml:"cert_file"`
	// KeyFile is the PEM private key of CertFile.
	KeyFile string `yaml:"key_file"`
	// ClientCAFile, when set, holds the PEM CAs that sign client
	// certificates: a client without such a certificate is refused during
	// the handshake (mutual TLS).
	ClientCAFile string `yaml:"client_ca_file"`
}

// ErrTLSConfig marks an incomplete or unreadable TLS setting.
var ErrTLSConfig = errors.New("invalid TLS setting")

// Enabled tells whether TLS is configured.
func (t TLSConfig) Enabled() bool { return t.CertFile != "" }

// Validate checks that the settings go together, without reading files.
func (t TLSConfig) Validate() error {
	switch {
	case (t.CertFile == "") != (t.KeyFile == ""):
		return fmt.Errorf("%w: tls.cert_file and tls.key_file go together", ErrTLSConfig)
	case t.ClientCAFile != "" && t.CertFile == "":
		return fmt.Errorf("%w: tls.client_ca_file (mutual TLS) needs tls.cert_file and tls.key_file", ErrTLSConfig)
	}
	return nil
}

// ServerConfig loads the files into a server configuration offering
// nextProtos by ALPN; TLS 1.2 is the oldest version accepted. It returns
// nil, nil when TLS is not configured.
func (t TLSConfig) ServerConfig(nextProtos ...string) (*tls.Config, error) {
	if err := t.Validate(); err != nil || !t.Enabled() {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %s / key %s: %w", ErrTLSConfig, t.CertFile, t.KeyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: nextProtos}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: client CA file: %w", ErrTLSConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: client CA file %s holds no PEM certificate", ErrTLSConfig, t.ClientCAFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Listener wraps ln in TLS when it is configured; otherwise it returns ln.
func (t TLSConfig) Listener(ln net.Listener, nextProtos ...string) (net.Listener, error) {
	cfg, err := t.ServerConfig(nextProtos...)
	if err != nil || cfg == nil {
		return ln, err
	}
	return tls.NewListener(ln, cfg), nil
}

// serveTLS wraps the receivers' listeners in collector.tls, when set:
// OTLP/HTTP speaks HTTP/1.1 over TLS, OTLP/gRPC HTTP/2 (ALPN "h2", which
// gRPC clients require). On error it closes both listeners.
func (c *Collector) serveTLS() error {
	var err error
	if c.httpLn != nil {
		c.httpLn, err = c.cfg.TLS.Listener(c.httpLn, "http/1.1")
	}
	if err == nil && c.grpcLn != nil {
		c.grpcLn, err = c.cfg.TLS.Listener(c.grpcLn, "h2")
	}
	if err != nil {
		for _, ln := range []net.Listener{c.httpLn, c.grpcLn} {
			if ln != nil {
				ln.Close()
			}
		}
		return fmt.Errorf("collector: %w", err)
	}
	return nil
}

// TLS tells whether the receivers serve TLS (collector.tls is set), so a
// client in the same process knows it cannot dial them in plaintext.
func (c *Collector) TLS() bool { return c.cfg.TLS.Enabled() }
