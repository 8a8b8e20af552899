package alert

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Rules are stored with their webhooks, whose URLs and secrets are
// credentials (a Slack webhook URL is one). A Sealer encrypts a rule's
// stored form with AES-256-GCM under a key the store never sees, so a
// copy of the database, a backup or a ClickHouse reader learns nothing
// of them. Stored rules start with sealedPrefix; rules stored before
// sealing existed are read as they are and sealed when next saved.

// sealedPrefix marks a sealed rule: version 1, then base64 of nonce and
// ciphertext.
const sealedPrefix = "sealed:v1:"

// KeySize is the length of a sealing key in bytes.
const KeySize = 32

// ErrBadKey is returned for a key that is not KeySize bytes of base64,
// and when a sealed rule does not open with the key given (another
// studio's key, or a changed one).
var ErrBadKey = errors.New("alert secret key")

// Sealer seals and opens stored rules.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a sealer for a KeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrBadKey, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey reads a key written as base64 (as CAUSEWAY_STUDIO_SECRET_KEY
// and the key file hold it).
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("%w: want %d random bytes in base64 (e.g. head -c %d /dev/urandom | base64)", ErrBadKey, KeySize, KeySize)
	}
	return k, nil
}

// LoadOrCreateKey reads the key in path, or creates the file (mode 0600,
// its directory 0700) with a new random key when it does not exist.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, KeySize)
	rand.Read(k)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process created it first
			return LoadOrCreateKey(path)
		}
		return nil, err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("writing the key file %s: %w", path, err)
	}
	return k, nil
}

// seal encrypts a stored rule; the rule's id is bound to it, so a sealed
// rule cannot be moved under another id.
func (s *Sealer) seal(id string, plain []byte) string {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return sealedPrefix + base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(id)))
}

// open decrypts what seal made; unsealed text comes back as it is.
func (s *Sealer) open(id, stored string) ([]byte, error) {
	b64, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return []byte(stored), nil
	}
	if s == nil {
		return nil, fmt.Errorf("%w: the rule is sealed and no key is configured", ErrBadKey)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	n := s.aead.NonceSize()
	if err != nil || len(b) < n {
		return nil, fmt.Errorf("sealed rule %s is damaged", id)
	}
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(id))
	if err != nil {
		return nil, fmt.Errorf("%w: rule %s does not open with this key", ErrBadKey, id)
	}
	return plain, nil
}
