package clickhouse

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// connFiles are the store URL's parameters that name files, which
// clickhouse-go's DSN does not read: a password kept out of the URL, and
// the CA and client certificate of a TLS connection (secure=true).
type connFiles struct {
	passwordFile string // password_file: the password, one line
	caFile       string // ca_file: PEM CAs that sign the server's certificate
	certFile     string // cert_file and key_file: a client certificate (mutual TLS)
	keyFile      string
}

// takeConnFiles removes the file parameters from q.
func takeConnFiles(q url.Values) connFiles {
	f := connFiles{passwordFile: q.Get("password_file"), caFile: q.Get("ca_file"), certFile: q.Get("cert_file"), keyFile: q.Get("key_file")}
	for _, k := range []string{"password_file", "ca_file", "cert_file", "key_file"} {
		q.Del(k)
	}
	return f
}

// apply reads the files into opts.
func (f connFiles) apply(opts *ch.Options) error {
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return fmt.Errorf("password_file: %w", err)
		}
		opts.Auth.Password = strings.TrimRight(string(b), "\r\n")
	}
	if f.caFile == "" && f.certFile == "" && f.keyFile == "" {
		return nil
	}
	if opts.TLS == nil {
		return fmt.Errorf("ca_file, cert_file and key_file need secure=true")
	}
	if opts.TLS.MinVersion < tls.VersionTLS12 {
		opts.TLS.MinVersion = tls.VersionTLS12
	}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("ca_file %s holds no PEM certificate", f.caFile)
		}
		opts.TLS.RootCAs = pool
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return fmt.Errorf("cert_file and key_file go together")
	}
	if f.certFile != "" {
		cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return fmt.Errorf("client certificate: %w", err)
		}
		opts.TLS.Certificates = []tls.Certificate{cert}
	}
	return nil
}
