package brokerconn

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/nats-io/nats.go"
)

// NATS is how a client authenticates to a NATS server and encrypts the
// connection. At most one way of authenticating is given: a credentials
// file (JWT and nkey seed, as nsc writes it), an nkey seed file, a user
// and password, or a token. Credentials written in the server URL
// (nats://user:pass@host) still work, but they are easily logged: prefer
// these settings.
type NATS struct {
	// CredsFile is a .creds file (user JWT and nkey seed).
	CredsFile string `yaml:"creds_file"`
	// NkeyFile holds an nkey user seed (SU…).
	NkeyFile string `yaml:"nkey_file"`
	// User and Password authenticate with a user name and password.
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	// PasswordFile holds the password (one line) instead of Password.
	PasswordFile string `yaml:"password_file"`
	// Token authenticates with a token.
	Token string `yaml:"token"`
	// TokenFile holds the token (one line) instead of Token.
	TokenFile string `yaml:"token_file"`
	// TLS encrypts the connection and verifies the server's certificate
	// (also implied by a tls:// URL or any of the files below).
	TLS bool `yaml:"tls"`
	// CAFile holds the PEM certificates that sign the server's certificate
	// (default: the system's roots).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key, for
	// servers that verify clients (mutual TLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Validate reports the first inconsistent setting, without reading files.
func (n NATS) Validate() error {
	ways := 0
	for _, set := range []bool{n.CredsFile != "", n.NkeyFile != "", n.User != "", n.Token != "" || n.TokenFile != ""} {
		if set {
			ways++
		}
	}
	switch {
	case ways > 1:
		return fmt.Errorf("%w: give one NATS authentication: creds_file, nkey_file, user and password, or token", ErrConfig)
	case n.User == "" && (n.Password != "" || n.PasswordFile != ""):
		return fmt.Errorf("%w: a NATS password needs a user", ErrConfig)
	case n.User != "" && (n.Password == "") == (n.PasswordFile == ""):
		return fmt.Errorf("%w: NATS user %q needs exactly one of password and password_file", ErrConfig, n.User)
	case n.Token != "" && n.TokenFile != "":
		return fmt.Errorf("%w: give the NATS token or token_file, not both", ErrConfig)
	case (n.CertFile == "") != (n.KeyFile == ""):
		return fmt.Errorf("%w: a NATS client certificate needs both cert_file and key_file", ErrConfig)
	}
	return nil
}

// Options returns the nats.go options that connect this way. It reads the
// secret and certificate files now, so a missing file is reported before
// any connection is tried.
func (n NATS) Options() ([]nats.Option, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	var opts []nats.Option
	switch {
	case n.CredsFile != "":
		if _, err := readSecret(n.CredsFile); err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserCredentials(n.CredsFile))
	case n.NkeyFile != "":
		o, err := nats.NkeyOptionFromSeed(n.NkeyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: nkey seed file %s: %w", ErrConfig, n.NkeyFile, err)
		}
		opts = append(opts, o)
	case n.User != "":
		pass := n.Password
		if n.PasswordFile != "" {
			var err error
			if pass, err = readSecret(n.PasswordFile); err != nil {
				return nil, err
			}
		}
		opts = append(opts, nats.UserInfo(n.User, pass))
	case n.Token != "" || n.TokenFile != "":
		tok := n.Token
		if n.TokenFile != "" {
			var err error
			if tok, err = readSecret(n.TokenFile); err != nil {
				return nil, err
			}
		}
		opts = append(opts, nats.Token(tok))
	}
	if n.TLS || n.CAFile != "" || n.CertFile != "" {
		cfg, err := ClientTLS(n.CAFile, n.CertFile, n.KeyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(cfg))
	}
	return opts, nil
}

// String describes the connection for logs, never a secret.
func (n NATS) String() string {
	var parts []string
	switch {
	case n.CredsFile != "":
		parts = append(parts, "creds="+n.CredsFile)
	case n.NkeyFile != "":
		parts = append(parts, "nkey="+n.NkeyFile)
	case n.User != "":
		parts = append(parts, "user="+n.User, "password=[set]")
	case n.Token != "" || n.TokenFile != "":
		parts = append(parts, "token=[set]")
	}
	if n.TLS || n.CAFile != "" || n.CertFile != "" {
		parts = append(parts, "tls")
		if n.CertFile != "" {
			parts = append(parts, "client-cert")
		}
	}
	if len(parts) == 0 {
		return "no credentials"
	}
	return strings.Join(parts, " ")
}

// RedactURL returns a server URL, or a comma-separated list of them, fit
// for a log line: a password becomes ***, and a user part without a
// password (a token, nats://s3cr3t@host) becomes *** as a whole. Text that
// does not parse as a URL is replaced whole, since it may hold anything.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !strings.Contains(p, "@") {
			parts[i] = p
			continue
		}
		if !strings.Contains(p, "://") {
			p = "nats://" + p // nats.go reads a bare host:port, userinfo and all
		}
		u, err := url.Parse(p)
		if err != nil || u.User == nil {
			parts[i] = "[unparsable URL]"
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		} else {
			u.User = url.User("***")
		}
		parts[i] = strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
	}
	return strings.Join(parts, ",")
}
