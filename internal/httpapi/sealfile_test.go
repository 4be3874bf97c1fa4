package httpapi

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/doppelhealth/doppel/internal/store/sealed"
)

func testCipher(t testing.TB) *sealed.Cipher {
	c, err := sealed.NewCipher(bytes.Repeat([]byte{1}, sealed.KeySize), "export")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sealFile seals plain, written in pieces of step bytes.
func sealFile(t testing.TB, c Sealer, plain []byte, step int, ad string) []byte {
	var b bytes.Buffer
	sw := newSealWriter(&b, c, ad)
	for p := plain; len(p) > 0; {
		k := min(step, len(p))
		if n, err := sw.Write(p[:k]); err != nil || n != k {
			t.Fatalf("Write: %d, %v", n, err)
		}
		p = p[k:]
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSealedFile: a sealed file reads back whole at every size around the
// chunk boundaries, and any change (a flipped byte, a cut, chunks swapped,
// another name) fails to read.
func TestSealedFile(t *testing.T) {
	c := testCipher(t)
	for _, size := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 7} {
		plain := bytes.Repeat([]byte("Chalmers\n"), size/9+1)[:size]
		for _, step := range []int{1 << 20, 1000} {
			f := sealFile(t, c, plain, step, "export/j/Patient.ndjson")
			if bytes.Contains(f, []byte("Chalmers")) {
				t.Errorf("size %d: the sealed file holds the text", size)
			}
			got, err := io.ReadAll(newSealReader(bytes.NewReader(f), c, "export/j/Patient.ndjson"))
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("size %d step %d: read %d bytes, %v; want %d", size, step, len(got), err, size)
			}
		}
	}

	plain := bytes.Repeat([]byte("x"), 2*chunkSize+10)
	f := sealFile(t, c, plain, 1<<20, "a")
	chunk := 5 + len(c.Seal(make([]byte, chunkSize), "")) // a full chunk with its header
	flipped := bytes.Clone(f)
	flipped[len(f)/2] ^= 1
	swapped := append(append(append([]byte{}, f[chunk:2*chunk]...), f[:chunk]...), f[2*chunk:]...)
	for _, tc := range []struct {
		name string
		file []byte
		ad   string
	}{
		{"flipped byte", flipped, "a"},
		{"cut after a chunk", f[:chunk], "a"},
		{"cut inside a chunk", f[:len(f)-3], "a"},
		{"chunks swapped", swapped, "a"},
		{"last chunk dropped", f[:2*chunk], "a"},
		{"other name", f, "b"},
		{"empty", nil, "a"},
	} {
		_, err := io.ReadAll(newSealReader(bytes.NewReader(tc.file), c, tc.ad))
		if !errors.Is(err, errSealedFile) {
			t.Errorf("%s: err %v, want errSealedFile", tc.name, err)
		}
	}
}

// FuzzSealReader: the reader of sealed files never panics, and what it
// returns without error is what was sealed.
func FuzzSealReader(f *testing.F) {
	c := testCipher(f)
	plain := []byte(`{"resourceType":"Patient","id":"1"}` + "\n")
	f.Add(sealFile(f, c, plain, 1<<20, "a"))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := io.ReadAll(newSealReader(bytes.NewReader(b), c, "a"))
		if err == nil && !bytes.Equal(got, plain) && len(got) > 0 {
			t.Errorf("read %q from a file it did not seal", got)
		}
	})
}
