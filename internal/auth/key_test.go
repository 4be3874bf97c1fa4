package auth

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestLoadKeyCreatesPrivateFile(t *testing.T) {
	dir := t.TempDir()
	k, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	again, err := LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID() != k.ID() || !again.priv.Equal(k.priv) {
		t.Error("second LoadKey made a new key instead of reading the first")
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want 1 (no temporary file left)", len(entries))
	}
}

// TestLoadKeyRefusesOpenPermissions: a key others can read lets them mint
// any token (SEC-11: no secret readable beyond its owner).
func TestLoadKeyRefusesOpenPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644, 0o610} {
		dir := t.TempDir()
		if _, err := LoadKey(dir); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, KeyFile)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(dir); err == nil {
			t.Errorf("mode %04o: key accepted", mode)
		}
	}
}

func TestLoadKeyRejectsBadFiles(t *testing.T) {
	for name, content := range map[string]string{
		"not PEM":    "hello",
		"wrong type": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
		"bad PKCS8":  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, KeyFile)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(dir); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestKeyID checks the key id against the RFC 7638 thumbprint of the
// Ed25519 key of RFC 8037 Appendix A.1-A.3.
func TestKeyID(t *testing.T) {
	seed, err := base64.RawURLEncoding.DecodeString("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
	if err != nil {
		t.Fatal(err)
	}
	k, err := newKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; k.ID() != want {
		t.Errorf("kid %q, want %q (RFC 8037 A.3)", k.ID(), want)
	}
}
