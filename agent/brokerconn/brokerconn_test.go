package brokerconn

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                      "nats://127.0.0.1:4222",
		"nats://alice:s3cret@127.0.0.1:4222":         "nats://alice:***@127.0.0.1:4222",
		"nats://t0ken@127.0.0.1:4222":                "nats://***@127.0.0.1:4222",
		"tls://a:p%40ss@h1:4222, nats://tok@h2:4222": "tls://a:***@h1:4222,nats://***@h2:4222",
		"alice:s3cret@127.0.0.1:4222":                "nats://alice:***@127.0.0.1:4222",
		"nats://al ice:s3cret@%zz":                   "[unparsable URL]",
	} {
		got := RedactURL(in)
		if got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
		for _, secret := range []string{"s3cret", "t0ken", "p%40ss", "tok@"} {
			if strings.Contains(got, secret) {
				t.Errorf("RedactURL(%q) = %q still holds %q", in, got, secret)
			}
		}
	}
}

func TestKafkaValidate(t *testing.T) {
	bad := []Kafka{
		{SASL: "gssapi", User: "u", Password: "p"},
		{SASL: SASLPlain, Password: "p"},
		{SASL: SASLScramSHA256, User: "u"},
		{SASL: SASLScramSHA256, User: "u", Password: "p", PasswordFile: "f"},
		{User: "u", Password: "p"},
		{CAFile: "ca.pem"},
		{TLS: true, CertFile: "c.pem"},
	}
	for _, k := range bad {
		if err := k.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: Validate = %v, want ErrConfig", k, err)
		}
	}
	good := []Kafka{{}, {SASL: "SCRAM-SHA-512", User: "u", PasswordFile: "f"}, {TLS: true, CAFile: "ca", CertFile: "c", KeyFile: "k"}}
	for _, k := range good {
		if err := k.Validate(); err != nil {
			t.Errorf("%+v: Validate = %v", k, err)
		}
	}
}

func TestKafkaOptsReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := Kafka{SASL: SASLScramSHA256, User: "bob", PasswordFile: pw}
	opts, err := k.Opts()
	if err != nil || len(opts) != 2 { // SASL and the hook that tells a refused login
		t.Fatalf("Opts = %d options, %v", len(opts), err)
	}
	k.PasswordFile = filepath.Join(dir, "missing")
	if _, err := k.Opts(); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing password file: %v, want ErrConfig", err)
	}
	k.TLS, k.PasswordFile, k.CAFile = true, pw, pw // not a certificate
	if _, err := k.Opts(); !errors.Is(err, ErrConfig) {
		t.Fatalf("CA file without a certificate: %v, want ErrConfig", err)
	}
	if s := (Kafka{SASL: "plain", User: "bob", Password: "hunter2", TLS: true}).String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "password=[set]") {
		t.Fatalf("String = %q", s)
	}
}

func TestNATSValidateAndString(t *testing.T) {
	bad := []NATS{
		{CredsFile: "a", NkeyFile: "b"},
		{User: "u"},
		{Password: "p"},
		{User: "u", Password: "p", Token: "t"},
		{Token: "t", TokenFile: "f"},
		{CertFile: "c"},
	}
	for _, n := range bad {
		if err := n.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: Validate = %v, want ErrConfig", n, err)
		}
	}
	for _, n := range []NATS{{User: "u", Password: "pw-secret"}, {Token: "tok-secret"}} {
		if s := n.String(); strings.Contains(s, "secret") {
			t.Errorf("String = %q shows a secret", s)
		}
	}
	if _, err := (NATS{NkeyFile: filepath.Join(t.TempDir(), "none")}).Options(); !errors.Is(err, ErrConfig) {
		t.Fatalf("missing seed file: %v, want ErrConfig", err)
	}
}
