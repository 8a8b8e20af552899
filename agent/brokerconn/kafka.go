package brokerconn

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms Kafka accepts here, as they are written in settings.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// ErrKafkaAuth marks a Kafka connection the brokers refused: wrong user,
// password or mechanism (SASL), or no client certificate they accept.
var ErrKafkaAuth = errors.New("kafka refused the credentials")

// Kafka is how a client connects to a Kafka cluster: SASL and TLS. The
// zero value is a plaintext connection without authentication.
type Kafka struct {
	// SASL is the mechanism: "" (none), plain, scram-sha-256 or scram-sha-512.
	SASL string `yaml:"sasl"`
	// User is the SASL user name.
	User string `yaml:"user"`
	// Password is the SASL password. Prefer PasswordFile or the
	// environment to writing it in a file that others read.
	Password string `yaml:"password"`
	// PasswordFile holds the SASL password (one line).
	PasswordFile string `yaml:"password_file"`
	// TLS encrypts the connection and verifies the brokers' certificates.
	TLS bool `yaml:"tls"`
	// CAFile holds the PEM certificates that sign the brokers'
	// certificates (default: the system's roots).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and key, for
	// brokers that require mutual TLS.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Validate reports the first inconsistent setting, without reading files.
func (k Kafka) Validate() error {
	switch strings.ToLower(k.SASL) {
	case "":
		if k.User != "" || k.Password != "" || k.PasswordFile != "" {
			return fmt.Errorf("%w: kafka user or password given without a SASL mechanism (sasl: plain, scram-sha-256 or scram-sha-512)", ErrConfig)
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if k.User == "" {
			return fmt.Errorf("%w: kafka SASL %s needs a user", ErrConfig, k.SASL)
		}
		if (k.Password == "") == (k.PasswordFile == "") {
			return fmt.Errorf("%w: kafka SASL %s needs exactly one of password and password_file", ErrConfig, k.SASL)
		}
	default:
		return fmt.Errorf("%w: kafka SASL mechanism %q: want plain, scram-sha-256 or scram-sha-512", ErrConfig, k.SASL)
	}
	if !k.TLS && (k.CAFile != "" || k.CertFile != "" || k.KeyFile != "") {
		return fmt.Errorf("%w: kafka ca_file, cert_file and key_file need tls: true", ErrConfig)
	}
	if (k.CertFile == "") != (k.KeyFile == "") {
		return fmt.Errorf("%w: a kafka client certificate needs both cert_file and key_file", ErrConfig)
	}
	return nil
}

// Opts returns the franz-go options that connect this way: a SASL
// mechanism and a TLS dialer. It reads the password and certificate files
// now, so a missing file is reported before any connection is tried.
func (k Kafka) Opts() ([]kgo.Opt, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	if k.SASL != "" {
		pass := k.Password
		if k.PasswordFile != "" {
			var err error
			if pass, err = readSecret(k.PasswordFile); err != nil {
				return nil, err
			}
		}
		var m sasl.Mechanism
		switch strings.ToLower(k.SASL) {
		case SASLPlain:
			m = plain.Auth{User: k.User, Pass: pass}.AsMechanism()
		case SASLScramSHA256:
			m = scram.Auth{User: k.User, Pass: pass}.AsSha256Mechanism()
		case SASLScramSHA512:
			m = scram.Auth{User: k.User, Pass: pass}.AsSha512Mechanism()
		}
		opts = append(opts, kgo.SASL(m), kgo.WithHooks(new(saslWatch)))
	}
	if k.TLS {
		cfg, err := ClientTLS(k.CAFile, k.CertFile, k.KeyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	return opts, nil
}

// String describes the connection for logs: the mechanism, user and files,
// never the password.
func (k Kafka) String() string {
	var parts []string
	if k.SASL != "" {
		parts = append(parts, "sasl="+strings.ToLower(k.SASL), "user="+k.User)
		if k.Password != "" || k.PasswordFile != "" {
			parts = append(parts, "password=[set]")
		}
	}
	if k.TLS {
		parts = append(parts, "tls")
		if k.CertFile != "" {
			parts = append(parts, "client-cert")
		}
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, " ")
}

// PingKafka checks that cl reaches a broker and is let in. A refused login
// wraps ErrKafkaAuth, so a wrong password is told apart from a broker that
// is down: either the broker answers SASL_AUTHENTICATION_FAILED, or it
// closes the connection in the middle of the SASL exchange (what Kafka
// does after a failed handshake, and kfake does at once), which the hook
// that Opts installs sees.
func PingKafka(ctx context.Context, cl *kgo.Client) error {
	err := cl.Ping(ctx)
	if err == nil {
		return nil
	}
	if IsKafkaAuth(err) {
		return fmt.Errorf("%w: %w", ErrKafkaAuth, err)
	}
	if w := watchOf(cl); w != nil {
		if serr := w.failure(); serr != nil {
			return fmt.Errorf("%w: the broker closed the connection during SASL authentication (%w)", ErrKafkaAuth, serr)
		}
	}
	return fmt.Errorf("kafka unreachable: %w", err)
}

// IsKafkaAuth tells whether err is a broker's refusal of the client's
// credentials.
func IsKafkaAuth(err error) bool {
	return errors.Is(err, ErrKafkaAuth) || errors.Is(err, kerr.SaslAuthenticationFailed) ||
		errors.Is(err, kerr.IllegalSaslState) || errors.Is(err, kerr.UnsupportedSaslMechanism) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed)
}

// saslAuthenticate is the SaslAuthenticate request's key.
var saslAuthenticate = kmsg.SASLAuthenticate.Int16()

// saslWatch remembers the last SASL request whose answer never came: the
// broker dropped the connection while the client logged in.
type saslWatch struct {
	mu  sync.Mutex
	err error
}

var _ kgo.HookBrokerE2E = new(saslWatch)

// OnBrokerE2E implements kgo.HookBrokerE2E.
func (w *saslWatch) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e kgo.BrokerE2E) {
	if key != saslAuthenticate {
		return
	}
	err := e.ReadErr
	if err == nil {
		err = e.WriteErr
	}
	w.mu.Lock()
	w.err = err // a later success clears it
	w.mu.Unlock()
}

func (w *saslWatch) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// watchOf finds the saslWatch among cl's hooks (nil without SASL).
func watchOf(cl *kgo.Client) *saslWatch {
	v := reflect.ValueOf(cl.OptValue(kgo.WithHooks))
	if v.Kind() != reflect.Slice {
		return nil
	}
	for i := 0; i < v.Len(); i++ {
		if w, ok := v.Index(i).Interface().(*saslWatch); ok {
			return w
		}
	}
	return nil
}
