package sealed

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
)

// ReadKeyFile reads a key file: KeySize raw bytes, or their 2*KeySize hex
// digits (with or without a final newline), as `openssl rand -hex 32`
// writes. The file must be readable by its owner only (mode 0600 or
// 0400): a key others can read protects nothing.
func ReadKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sealed: key file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("sealed: key file %s has mode %04o: others can read it; chmod 600 it", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sealed: key file: %w", err)
	}
	return ParseKey(b)
}

// ParseKey decodes a key file's content (see ReadKeyFile).
func ParseKey(b []byte) ([]byte, error) {
	if len(b) == KeySize {
		return b, nil
	}
	h := bytes.TrimSpace(b)
	if len(h) == 2*KeySize {
		k := make([]byte, KeySize)
		if _, err := hex.Decode(k, h); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("sealed: a key file holds %d raw bytes or %d hex digits (openssl rand -hex %d > FILE)", KeySize, 2*KeySize, KeySize)
}
