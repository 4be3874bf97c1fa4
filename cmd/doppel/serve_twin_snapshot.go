package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/doppelhealth/doppel/internal/clinical"
	"github.com/doppelhealth/doppel/internal/store/sealed"
)

// fileSnapshots keeps twin snapshots as files DIR/{patient}.snap (patient
// ids are FHIR ids: letters, digits, "-" and ".").
//
// With a key (serve --encryption-key-file: the store is sealed), each file
// is sealed too: the 5-byte header sealedSnapMagic ("DTWS" and the format
// version 1), then AES-256-GCM of the twin's snapshot under a subkey of the
// store key (HKDF-SHA-256, purpose "twin snapshot", see sealed.NewCipher):
// a random 96-bit nonce, the ciphertext and the 16-byte tag, bound to the
// patient id (additional data), so a file renamed to another patient does
// not open. Without a key, a file is the snapshot itself (JSON, versioned
// inside). Load refuses, with an error naming the directory but no
// patient, a sealed file when there is no key, a clear file when there is
// one, and a sealed file the key does not open (another key or a damaged
// file): a twin never starts from state it cannot trust.
type fileSnapshots struct {
	dir string
	box *sealed.Cipher // nil: files in clear
}

// sealedSnapMagic heads a sealed snapshot file: "DTWS" and format version 1.
var sealedSnapMagic = []byte("DTWS\x01")

// newFileSnapshots creates dir (mode 0700) and returns its snapshots,
// sealed with a subkey of storeKey unless storeKey is nil.
func newFileSnapshots(dir string, storeKey []byte) (fileSnapshots, error) {
	s := fileSnapshots{dir: dir}
	if storeKey != nil {
		box, err := sealed.NewCipher(storeKey, "twin snapshot")
		if err != nil {
			return s, err
		}
		s.box = box
	}
	return s, os.MkdirAll(dir, 0o700)
}

func (d fileSnapshots) path(patient string) (string, error) {
	if !clinical.ValidID(patient) || patient == "." || patient == ".." {
		return "", fmt.Errorf("serve: bad patient id for a snapshot")
	}
	return filepath.Join(d.dir, patient+".snap"), nil
}

// patients lists the patients with a snapshot.
func (d fileSnapshots) patients() []string {
	names, _ := filepath.Glob(filepath.Join(d.dir, "*.snap"))
	ids := make([]string, 0, len(names))
	for _, n := range names {
		ids = append(ids, strings.TrimSuffix(filepath.Base(n), ".snap"))
	}
	return ids
}

func snapshotAD(patient string) string { return "twin snapshot\x00" + patient }

func (d fileSnapshots) Save(_ context.Context, patient string, data []byte) error {
	p, err := d.path(patient)
	if err != nil {
		return err
	}
	if d.box != nil {
		data = append(append([]byte(nil), sealedSnapMagic...), d.box.Seal(data, snapshotAD(patient))...)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (d fileSnapshots) Load(_ context.Context, patient string) ([]byte, error) {
	p, err := d.path(patient)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	body, isSealed := bytes.CutPrefix(data, sealedSnapMagic)
	switch {
	case d.box == nil && isSealed:
		return nil, fmt.Errorf("serve: twin snapshots in %s are encrypted: start serve with the --encryption-key-file they were written with", d.dir)
	case d.box == nil:
		return data, nil
	case !isSealed:
		return nil, fmt.Errorf("serve: a twin snapshot in %s is not encrypted, but --encryption-key-file is set: it was written without the key (move the directory away to start the twins afresh)", d.dir)
	}
	plain, err := d.box.Open(body, snapshotAD(patient))
	if err != nil {
		return nil, fmt.Errorf("serve: a twin snapshot in %s does not open with the key of --encryption-key-file: another key, or a damaged file", d.dir)
	}
	return plain, nil
}
