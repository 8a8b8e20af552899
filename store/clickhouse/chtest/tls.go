package chtest

import (
	"fmt"
	"os"
	"testing"
)

// StartTLS starts a private server that also serves the native protocol
// over TLS with the given PEM certificate and key, stopped when t ends; it
// returns the server and the secure port's host:port. Without
// clickhouse-server the test is skipped, or fails under CI=true.
func StartTLS(t testing.TB, certFile, keyFile string) (*Server, string) {
	t.Helper()
	if os.Getenv("CAUSEWAY_CLICKHOUSE_DSN") != "" {
		t.Skip("this test starts its own ClickHouse server with TLS; it does not run against CAUSEWAY_CLICKHOUSE_DSN")
	}
	bin, err := findBinary()
	if err != nil {
		unavailable(t, err)
	}
	dir, err := os.MkdirTemp("", "causeway-clickhouse-tls-")
	if err != nil {
		t.Fatal(err)
	}
	secure := freePort()
	extra := fmt.Sprintf(`<tcp_port_secure>%s</tcp_port_secure>
    <openSSL><server>
        <certificateFile>%s</certificateFile><privateKeyFile>%s</privateKeyFile>
        <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile>
        <cacheSessions>true</cacheSessions><disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
        <preferServerCiphers>true</preferServerCiphers>
    </server></openSSL>`, secure, certFile, keyFile)
	s, err := startPrivate(bin, dir, freePort(), extra)
	if err != nil {
		t.Fatalf("clickhouse-server with TLS: %v", err)
	}
	t.Cleanup(func() { s.Stop(); s.cleanup() })
	return s, "127.0.0.1:" + secure
}
