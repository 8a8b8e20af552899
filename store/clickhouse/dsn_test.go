package clickhouse

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/causeway-dev/causeway/agent/brokerconn/certtest"
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
