package auth

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	jose "github.com/go-jose/go-jose/v4"
)

// KeyFile is where the instance's signing key lives, relative to the data
// directory: an Ed25519 private key, PKCS #8 in PEM, mode 0600.
const KeyFile = "auth/signing-key.pem"

// Key is the instance's own signing key: it signs the tokens [Authenticator.Mint]
// issues, and its public half is published as a JWK Set.
type Key struct {
	priv ed25519.PrivateKey
	pub  jose.JSONWebKey // with kid, alg and use
}

// LoadKey reads the instance key from dataDir/[KeyFile], creating it if
// there is none. It refuses a key file that group or others may read or
// write: whoever reads it can mint any token.
func LoadKey(dataDir string) (*Key, error) {
	path := filepath.Join(dataDir, KeyFile)
	k, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("auth: key directory: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("auth: encode key: %w", err)
	}
	// Written whole to a private temporary file, then linked into place:
	// a crash leaves no half key, and of two processes starting at once
	// the second finds the first one's key.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("auth: write key: %w", err)
	}
	return readKey(path)
}

// readKey reads and checks the key file at path.
func readKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("auth: key file: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("auth: key file %s has mode %04o: group and others must have no access (chmod 600 %s)", path, fi.Mode().Perm(), path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("auth: key file: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("auth: key file %s: not a PEM PRIVATE KEY", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: key file %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: key file %s: not an Ed25519 key", path)
	}
	return newKey(priv)
}

// newKey wraps priv; its key id is the RFC 7638 JWK thumbprint (SHA-256,
// base64url) of the public key.
func newKey(priv ed25519.PrivateKey) (*Key, error) {
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(jose.EdDSA), Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("auth: key thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return &Key{priv: priv, pub: pub}, nil
}

// ID returns the key id ("kid") the key's tokens and JWK carry.
func (k *Key) ID() string { return k.pub.KeyID }

// signer returns a JWS signer that puts the key id and typ JWT in the
// header.
func (k *Key) signer() (jose.Signer, error) {
	return jose.NewSigner(
		jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
}
