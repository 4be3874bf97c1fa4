package stream

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestEncryptionAtRest checks SEC-24 for the stream store: with an
// EncryptionKey the files under Dir/nats hold neither the patient id (in the
// subject and the payload) nor the device id, the same run without a key
// does (so the test can fail), and a restart with the key reads the message.
func TestEncryptionAtRest(t *testing.T) {
	const patient = "p-needle-4711"
	key := bytes.Repeat([]byte{0x5a}, 32)
	write := func(dir string, key []byte) {
		s, err := Open(ctxT(t), Options{Dir: dir, NoMQTT: true, EncryptionKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublishObservation(ctxT(t), obs(patient, 1, 123)); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	clear, sealed := t.TempDir(), t.TempDir()
	write(clear, nil)
	write(sealed, key)
	if !filesContain(t, filepath.Join(clear, "nats"), patient) {
		t.Fatal("without a key the store should hold the patient id in clear; the check below would prove nothing")
	}
	for _, needle := range []string{patient, "cgm-1"} {
		if filesContain(t, filepath.Join(sealed, "nats"), needle) {
			t.Errorf("encrypted store holds %q in clear", needle)
		}
	}

	s, err := Open(ctxT(t), Options{Dir: sealed, NoMQTT: true, EncryptionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.Consumer(ctxT(t), Observations, "twin", "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := fetchAll(t, c)
	if len(msgs) != 1 {
		t.Fatalf("after a restart with the key: %d messages, want 1", len(msgs))
	}
	if o, err := msgs[0].Observation(); err != nil || o.Patient != patient {
		t.Errorf("message after restart: %+v, %v", o, err)
	}
}

// filesContain reports whether any regular file under dir contains s.
func filesContain(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found = bytes.Contains(b, []byte(s))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
