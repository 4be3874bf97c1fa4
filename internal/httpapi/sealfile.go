package httpapi

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Sealer encrypts export files at rest (Options.ExportSealer);
// *sealed.Cipher is one. Open must fail when a byte of the sealed data or
// of ad differs from what Seal had.
type Sealer interface {
	Seal(plain []byte, ad string) []byte
	Open(sealed []byte, ad string) ([]byte, error)
}

// A sealed export file is a sequence of chunks, each a 1-byte flag (1 on
// the last chunk, else 0), a 4-byte big-endian length, and that many bytes
// sealed with the additional data "file-ad/index/flag": a chunk moved,
// dropped, or a file cut at a chunk boundary fails to open.

// chunkSize is the plaintext size of a sealed chunk (the last may be
// shorter).
const chunkSize = 64 << 10

// maxSealedChunk bounds a chunk's length when reading, against a corrupt
// header (the Sealer's overhead is well under 1 KiB).
const maxSealedChunk = chunkSize + 1024

func chunkAD(ad string, i uint64, last byte) string {
	return ad + "/" + strconv.FormatUint(i, 10) + "/" + strconv.Itoa(int(last))
}

// sealWriter seals what is written to it, chunk by chunk, to w. Close
// writes the last chunk.
type sealWriter struct {
	w   io.Writer
	s   Sealer
	ad  string
	buf []byte
	i   uint64
}

func newSealWriter(w io.Writer, s Sealer, ad string) *sealWriter {
	return &sealWriter{w: w, s: s, ad: ad, buf: make([]byte, 0, chunkSize)}
}

func (sw *sealWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		k := min(len(p), chunkSize-len(sw.buf))
		sw.buf = append(sw.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(sw.buf) == chunkSize {
			if err := sw.flush(0); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (sw *sealWriter) flush(last byte) error {
	c := sw.s.Seal(sw.buf, chunkAD(sw.ad, sw.i, last))
	var h [5]byte
	h[0] = last
	binary.BigEndian.PutUint32(h[1:], uint32(len(c)))
	sw.i++
	sw.buf = sw.buf[:0]
	if _, err := sw.w.Write(h[:]); err != nil {
		return err
	}
	_, err := sw.w.Write(c)
	return err
}

// Close writes the last chunk; it does not close w.
func (sw *sealWriter) Close() error { return sw.flush(1) }

// sealReader reads the plaintext of a sealed file.
type sealReader struct {
	r    *bufio.Reader
	s    Sealer
	ad   string
	i    uint64
	cur  []byte
	done bool // the last chunk was read
}

func newSealReader(r io.Reader, s Sealer, ad string) *sealReader {
	return &sealReader{r: bufio.NewReader(r), s: s, ad: ad}
}

// errSealedFile is a sealed file that does not open.
var errSealedFile = errors.New("httpapi: sealed export file is damaged or was sealed with another key")

func (sr *sealReader) Read(p []byte) (int, error) {
	for len(sr.cur) == 0 {
		if sr.done {
			return 0, io.EOF
		}
		var h [5]byte
		if _, err := io.ReadFull(sr.r, h[:]); err != nil {
			return 0, fmt.Errorf("%w: chunk %d: %v", errSealedFile, sr.i, err)
		}
		n := binary.BigEndian.Uint32(h[1:])
		if h[0] > 1 || n > maxSealedChunk {
			return 0, fmt.Errorf("%w: chunk %d header", errSealedFile, sr.i)
		}
		c := make([]byte, n)
		if _, err := io.ReadFull(sr.r, c); err != nil {
			return 0, fmt.Errorf("%w: chunk %d: %v", errSealedFile, sr.i, err)
		}
		plain, err := sr.s.Open(c, chunkAD(sr.ad, sr.i, h[0]))
		if err != nil {
			return 0, fmt.Errorf("%w: chunk %d", errSealedFile, sr.i)
		}
		sr.cur, sr.done = plain, h[0] == 1
		sr.i++
	}
	n := copy(p, sr.cur)
	sr.cur = sr.cur[n:]
	return n, nil
}
