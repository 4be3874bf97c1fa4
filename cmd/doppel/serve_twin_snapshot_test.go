package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/clinical"
)

// TestSnapshotFilesSealed: with a store key, a twin snapshot is stored
// sealed (no byte of it in clear on disk) and reads back as written; a
// file read with another key, without the key, renamed to another
// patient, cut short, or written in clear while a key is set, is refused
// with an error that names no patient.
func TestSnapshotFilesSealed(t *testing.T) {
	ctx := context.Background()
	keyA, keyB := bytes.Repeat([]byte{0x11}, 32), bytes.Repeat([]byte{0x22}, 32)
	snap := []byte(`{"version":1,"glucose":{"reading":123.5,"marker":"clear-text-marker"}}`)
	open := func(t *testing.T, dir string, key []byte) fileSnapshots {
		t.Helper()
		s, err := newFileSnapshots(dir, key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("round trip", func(t *testing.T) {
		for _, key := range [][]byte{nil, keyA} {
			dir := t.TempDir()
			if err := open(t, dir, key).Save(ctx, "p-1", snap); err != nil {
				t.Fatal(err)
			}
			got, err := open(t, dir, key).Load(ctx, "p-1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(snap, got); diff != "" {
				t.Errorf("key %v: snapshot read back (-want +got):\n%s", key != nil, diff)
			}
			onDisk, err := os.ReadFile(filepath.Join(dir, "p-1.snap"))
			if err != nil {
				t.Fatal(err)
			}
			sealedFile := bytes.HasPrefix(onDisk, sealedSnapMagic)
			if key != nil && (!sealedFile || bytes.Contains(onDisk, []byte("marker")) || bytes.Contains(onDisk, []byte("version")) ||
				len(onDisk) != len(sealedSnapMagic)+12+len(snap)+16) {
				t.Errorf("sealed snapshot on disk (%d bytes) holds clear text or is not header+nonce+ciphertext+tag: %q", len(onDisk), onDisk)
			}
			if key == nil && !bytes.Equal(onDisk, snap) {
				t.Errorf("clear snapshot on disk is not the snapshot: %q", onDisk)
			}
		}
	})

	for _, tc := range []struct {
		name   string
		write  []byte // key the file is written with
		read   []byte // key it is read with
		mangle func(dir string) error
		want   string
	}{
		{name: "wrong key", write: keyA, read: keyB, want: "does not open with the key"},
		{name: "no key", write: keyA, read: nil, want: "are encrypted"},
		{name: "clear file, key set", write: nil, read: keyA, want: "is not encrypted"},
		{name: "renamed to another patient", write: keyA, read: keyA, want: "does not open", mangle: func(dir string) error {
			return os.Rename(filepath.Join(dir, "p-1.snap"), filepath.Join(dir, "p-2.snap"))
		}},
		{name: "cut short", write: keyA, read: keyA, want: "does not open", mangle: func(dir string) error {
			p := filepath.Join(dir, "p-1.snap")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(sealedSnapMagic)+8], 0o600)
		}},
		{name: "one byte changed", write: keyA, read: keyA, want: "does not open", mangle: func(dir string) error {
			p := filepath.Join(dir, "p-1.snap")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 1
			return os.WriteFile(p, b, 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := open(t, dir, tc.write).Save(ctx, "p-1", snap); err != nil {
				t.Fatal(err)
			}
			patient := "p-1"
			if tc.mangle != nil {
				if err := tc.mangle(dir); err != nil {
					t.Fatal(err)
				}
				patient = open(t, dir, nil).patients()[0]
			}
			got, err := open(t, dir, tc.read).Load(ctx, patient)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load = %q, %v; want an error containing %q", got, err, tc.want)
			}
			if strings.Contains(err.Error(), patient) {
				t.Errorf("error names the patient: %v", err)
			}
		})
	}
}

// TestTwinSnapshotsSealedServe: serve's twins with a store key write
// sealed snapshots (no clear JSON under DIR/twins) and, restarted with the
// same key, resume from them.
func TestTwinSnapshotsSealedServe(t *testing.T) {
	dir := t.TempDir()
	svc, series := twinStore(t, dir)
	ctx := context.Background()
	key := bytes.Repeat([]byte{0x33}, 32)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	flags := twinFlags{on: true, mqttAddr: "127.0.0.1:0"}
	lt, err := startTwins(ctx, logger, svc, dir, flags, key, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	for i := range 4 {
		o := clinical.Observation{Patient: "p1", Device: "cgm-1", Code: clinical.CodeGlucoseCGM,
			Value: &clinical.Quantity{Value: 140, Unit: "mg/dL"}, Effective: at.Add(time.Duration(5*i) * time.Minute)}
		if err := lt.mgr.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	want, _, err := lt.mgr.State(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "twins", "p1.snap"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, sealedSnapMagic) || bytes.Contains(b, []byte(`"glucose"`)) || bytes.Contains(b, []byte(`"version"`)) {
		t.Errorf("snapshot on disk is not sealed: %.80q", b)
	}
	lt, err = startTwins(ctx, logger, svc, dir, flags, key, twinDeps{series: series})
	if err != nil {
		t.Fatal(err)
	}
	defer lt.Close(ctx)
	got, ok, err := lt.mgr.State(ctx, "p1")
	if err != nil || !ok {
		t.Fatalf("twin after restart: %v %v", ok, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("twin restored from a sealed snapshot (-before +after):\n%s", diff)
	}
}

// FuzzSnapshotFile: whatever a snapshot file holds, Load returns it or an
// error, without panicking; with a key, only a sealed file that opens is
// returned.
func FuzzSnapshotFile(f *testing.F) {
	key := bytes.Repeat([]byte{0x44}, 32)
	dir := f.TempDir()
	sealedSnaps, err := newFileSnapshots(dir, key)
	if err != nil {
		f.Fatal(err)
	}
	if err := sealedSnaps.Save(context.Background(), "p1", []byte(`{"version":1}`)); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, "p1.snap"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add(append([]byte(nil), sealedSnapMagic...))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "p1.snap"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, k := range [][]byte{nil, key} {
			s, err := newFileSnapshots(d, k)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(context.Background(), "p1")
			if k != nil && err == nil && !bytes.Equal(data, good) && bytes.Equal(got, data) {
				t.Errorf("with a key, Load returned the file as it is: %q", data)
			}
		}
	})
}
