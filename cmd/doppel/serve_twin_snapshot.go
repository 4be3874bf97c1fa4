package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// fileSnapshots keeps twin snapshots as files DIR/{patient}.snap (patient
// ids are FHIR ids: letters, digits, "-" and ".").
type fileSnapshots string

func (d fileSnapshots) path(patient string) (string, error) {
	if !clinical.ValidID(patient) || patient == "." || patient == ".." {
		return "", fmt.Errorf("serve: bad patient id for a snapshot")
	}
	return filepath.Join(string(d), patient+".snap"), nil
}

// patients lists the patients with a snapshot.
func (d fileSnapshots) patients() []string {
	names, _ := filepath.Glob(filepath.Join(string(d), "*.snap"))
	ids := make([]string, 0, len(names))
	for _, n := range names {
		ids = append(ids, strings.TrimSuffix(filepath.Base(n), ".snap"))
	}
	return ids
}

func (d fileSnapshots) Save(_ context.Context, patient string, data []byte) error {
	p, err := d.path(patient)
	if err != nil {
		return err
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
	return data, err
}
