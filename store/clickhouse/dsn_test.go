package clickhouse

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
	"github.com/causeway-dev/causeway/store/clickhouse/chtest"
)

// TestConnFiles: password_file, ca_file, cert_file and key_file leave the
// DSN before clickhouse-go reads it and end up in its options; the CA and
// client certificate need secure=true.
func TestConnFiles(t *testing.T) {
	pki := certtest.New(t)
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("ch-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(raw string) (*ch.Options, error) {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		files := takeConnFiles(q)
		u.RawQuery = q.Encode()
		opts, err := ch.ParseDSN(u.String())
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		return opts, files.apply(opts)
	}
	opts, err := parse("clickhouse://causeway@127.0.0.1:9440/db?secure=true&password_file=" + url.QueryEscape(pw) +
		"&ca_file=" + url.QueryEscape(pki.CAFile) + "&cert_file=" + url.QueryEscape(pki.ClientCert) + "&key_file=" + url.QueryEscape(pki.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Auth.Username != "causeway" || opts.Auth.Password != "ch-secret" || opts.TLS == nil || opts.TLS.RootCAs == nil ||
		len(opts.TLS.Certificates) != 1 || opts.TLS.InsecureSkipVerify {
		t.Fatalf("options %+v, TLS %+v", opts.Auth, opts.TLS)
	}
	if _, err := parse("clickhouse://127.0.0.1:9000/db?ca_file=" + url.QueryEscape(pki.CAFile)); err == nil {
		t.Fatal("ca_file without secure=true was accepted")
	}
	if _, err := parse("clickhouse://127.0.0.1:9000/db?password_file=/nonexistent"); err == nil {
		t.Fatal("a missing password_file was accepted")
	}
}

// TestOpenOverTLS: a store URL with secure=true and ca_file opens the
// store over ClickHouse's TLS port, verifying the server's certificate
// against the test's CA; without ca_file (the system's roots) it is refused.
func TestOpenOverTLS(t *testing.T) {
	pki := certtest.New(t)
	_, secure := chtest.StartTLS(t, pki.ServerCert, pki.ServerKey)
	dsn := "clickhouse://" + secure + "/" + chtest.UniqueDB(t.Name()) + "?secure=true&ca_file=" + url.QueryEscape(pki.CAFile)
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open over TLS: %v", err)
	}
	s.Close()
	if s, err := Open(context.Background(), "clickhouse://"+secure+"/"+chtest.UniqueDB(t.Name())+"?secure=true&dial_timeout=2s"); err == nil {
		s.Close()
		t.Fatal("a server certificate from an unknown CA was accepted")
	}
}
