// Package sealed encrypts a store.Store at rest: it wraps any store so that
// the database, read raw (files, WAL, backups, a stolen disk), holds no
// patient data (SEC-24). The store underneath needs no change; it stores
// what this package hands it.
//
// # What is sealed
//
// Resource bodies are sealed with AES-256-GCM, a random 96-bit nonce per
// version, and the version's type, id and version number as additional
// data, so a body moved to another row fails to open. The store's content
// hash covers the sealed bytes, so a changed row is still detected on read
// (store.ErrCorrupt), and so is a body that fails to open; Version.Hash as
// returned is the SHA-256 of the plaintext. Job specs and results (export
// requests) are sealed the same way, and so are the chunks of device time
// series (store.Series; each bound to its patient, code, device and day).
//
// Search index values that hold text are replaced by keyed hashes
// (HMAC-SHA-256, 128 bits, keyed per parameter): string values by the
// hash of each prefix of the normalised text up to [MaxPrefix] characters,
// so the default starts-with search and :exact still work by equality;
// token codes and systems, reference texts and URIs by the hash of the
// value. Token display texts are not indexed. Dates, numbers, quantity
// units, resource types and ids (reference targets included) stay clear:
// they are not names, and range searches need them.
//
// # What no longer works
//
// Searches that need the text itself: string :contains, token :text, and
// _sort on string, token and URI parameters, are refused with 400. A
// starts-with search longer than MaxPrefix characters matches on its first
// MaxPrefix characters (it may return more than it would in clear).
//
// # Keys
//
// One 32-byte key (from a file kept outside the data directory: see
// [ReadKeyFile]) gives, by HKDF-SHA-256, the body key and the index key. The
// store remembers a check value of the key (a job record), so a wrong key is
// refused at [New] instead of reading as corruption, a store written in
// clear is not silently mixed with sealed rows, and a server started
// without the key can tell the store is sealed ([IsSealed]).
package sealed

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// KeySize is the size of the key in bytes.
const KeySize = 32

// checkJobID is the id of the job record holding the key's check value.
const checkJobID = "sealed-key-check"

// Errors of New.
var (
	ErrWrongKey = errors.New("sealed: the encryption key is not the one this store was written with")
	ErrClear    = errors.New("sealed: the store holds data written without encryption; encrypt a new store (doppel import into a fresh data directory)")
)

// Store is a store.Store that seals what it writes to the store it wraps.
type Store struct {
	inner store.Store
	body  *Cipher // of bodies and jobs
	mac   []byte  // the index key
	// samples is inner's time series sealed with the series key; nil
	// if inner has none (series.go).
	samples store.Series
}

var _ store.Store = (*Store)(nil)

// New returns a Store that seals inner's data with key (KeySize bytes). It
// refuses a key other than the one inner was sealed with, and a store that
// holds unsealed resources.
func New(ctx context.Context, inner store.Store, key []byte) (*Store, error) {
	body, err := NewCipher(key, "body") // checks the key's size
	if err != nil {
		return nil, err
	}
	s := &Store{inner: inner, body: body, mac: derive(key, "index")}
	if ss, ok := inner.(seriesStore); ok {
		box, err := NewCipher(key, "series")
		if err != nil {
			return nil, err
		}
		s.samples = ss.SeriesWith(box)
	}
	check := s.hash("check", "", "doppel")
	j, err := inner.Job(ctx, checkJobID)
	switch {
	case err == nil:
		if !hmac.Equal(j.Spec, []byte(check)) {
			return nil, ErrWrongKey
		}
		return s, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	p, err := inner.History(ctx, store.HistoryQuery{Count: 1})
	if err != nil {
		return nil, err
	}
	if p.Total > 0 {
		return nil, ErrClear
	}
	if err := inner.SaveJob(ctx, store.Job{ID: checkJobID, Kind: "sealed", State: "key-check", Spec: []byte(check)}); err != nil {
		return nil, err
	}
	return s, nil
}

// derive returns the subkey of key for purpose.
func derive(key []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, key, nil, "doppel store "+purpose, KeySize)
	if err != nil {
		panic(err) // only for lengths over 255*32
	}
	return k
}

// Cipher seals byte strings with AES-256-GCM under a subkey of the key,
// one per purpose ("body", "export"), and a random nonce per message.
type Cipher struct{ aead cipher.AEAD }

// NewCipher returns the Cipher of key (KeySize bytes) for purpose.
func NewCipher(key []byte, purpose string) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealed: the key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(derive(key, purpose))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Cipher{aead: aead}, nil
}

// Seal encrypts plain, bound to the additional data ad: nonce || ciphertext.
func (c *Cipher) Seal(plain []byte, ad string) []byte {
	nonce := make([]byte, c.aead.NonceSize(), c.aead.NonceSize()+len(plain)+c.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return c.aead.Seal(nonce, nonce, plain, []byte(ad))
}

// Open decrypts what Seal made with the same ad; it fails if a byte of
// either changed.
func (c *Cipher) Open(sealed []byte, ad string) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(sealed) < n+c.aead.Overhead() {
		return nil, errors.New("sealed: message too short")
	}
	return c.aead.Open(nil, sealed[:n], sealed[n:], []byte(ad))
}

// IsSealed reports whether st was written by a Store (it holds a key check
// value).
func IsSealed(ctx context.Context, st store.Store) (bool, error) {
	_, err := st.Job(ctx, checkJobID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) seal(plain []byte, ad string) []byte { return s.body.Seal(plain, ad) }

func (s *Store) open(sealed []byte, ad string) ([]byte, error) { return s.body.Open(sealed, ad) }

// versionAD is the additional data of a version's body.
func versionAD(typ, id string, version int64) string {
	return "resource\x00" + typ + "\x00" + id + "\x00" + strconv.FormatInt(version, 10)
}

// sealVersion seals v's body.
func (s *Store) sealVersion(v store.Version) store.Version {
	if !v.Deleted {
		v.Body = s.seal(v.Body, versionAD(v.Type, v.ID, v.VersionID))
	}
	v.Index = s.sealEntries(v.Index)
	return v
}

// openVersion opens v's body; one that does not open is store.ErrCorrupt.
func (s *Store) openVersion(v store.Version) (store.Version, error) {
	if v.Deleted || v.Body == nil {
		return v, nil
	}
	plain, err := s.open(v.Body, versionAD(v.Type, v.ID, v.VersionID))
	if err != nil {
		return store.Version{}, fmt.Errorf("%w: %s/%s version %d does not open with the key", store.ErrCorrupt, v.Type, v.ID, v.VersionID)
	}
	v.Body = plain
	v.Hash = sha256.Sum256(plain)
	v.Index = nil
	return v, nil
}

func (s *Store) openPage(p store.Page, err error) (store.Page, error) {
	if err != nil {
		return p, err
	}
	for i, v := range p.Matches {
		if p.Matches[i], err = s.openVersion(v); err != nil {
			return store.Page{}, err
		}
	}
	return p, nil
}

// openOne opens the version a Read or VRead returned (with ErrDeleted, a
// delete marker).
func (s *Store) openOne(v store.Version, err error) (store.Version, error) {
	if err != nil && !errors.Is(err, store.ErrDeleted) {
		return v, err
	}
	v, oerr := s.openVersion(v)
	if oerr != nil {
		return v, oerr
	}
	return v, err
}

// Read implements store.Reader.
func (s *Store) Read(ctx context.Context, typ, id string) (store.Version, error) {
	return s.openOne(s.inner.Read(ctx, typ, id))
}

// VRead implements store.Reader.
func (s *Store) VRead(ctx context.Context, typ, id string, versionID int64) (store.Version, error) {
	return s.openOne(s.inner.VRead(ctx, typ, id, versionID))
}

// Search implements store.Reader.
func (s *Store) Search(ctx context.Context, q *search.Query, at int64) (store.Page, error) {
	sq, err := s.sealQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	return s.openPage(s.inner.Search(ctx, sq, at))
}

// History implements store.Reader.
func (s *Store) History(ctx context.Context, q store.HistoryQuery) (store.Page, error) {
	return s.openPage(s.inner.History(ctx, q))
}

// Write implements store.Store.
func (s *Store) Write(ctx context.Context, fn func(w store.Writer) error) error {
	return s.inner.Write(ctx, func(w store.Writer) error {
		return fn(&writer{s: s, w: w})
	})
}

// writer is the store.Writer of one sealed write request.
type writer struct {
	s *Store
	w store.Writer
}

func (w *writer) Read(ctx context.Context, typ, id string) (store.Version, error) {
	return w.s.openOne(w.w.Read(ctx, typ, id))
}

func (w *writer) VRead(ctx context.Context, typ, id string, versionID int64) (store.Version, error) {
	return w.s.openOne(w.w.VRead(ctx, typ, id, versionID))
}

func (w *writer) Search(ctx context.Context, q *search.Query, at int64) (store.Page, error) {
	sq, err := w.s.sealQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	return w.s.openPage(w.w.Search(ctx, sq, at))
}

func (w *writer) History(ctx context.Context, q store.HistoryQuery) (store.Page, error) {
	return w.s.openPage(w.w.History(ctx, q))
}

// Put implements store.Writer: the version is stored sealed and returned
// in clear, its Hash that of the plaintext.
func (w *writer) Put(ctx context.Context, v store.Version) (store.Version, error) {
	body := v.Body
	if body == nil {
		body = []byte{}
	}
	out, err := w.w.Put(ctx, w.s.sealVersion(v))
	if err != nil {
		return out, err
	}
	out.Body, out.Hash, out.Index = body, sha256.Sum256(body), v.Index
	return out, nil
}

// Delete implements store.Writer.
func (w *writer) Delete(ctx context.Context, typ, id string, at time.Time) (store.Version, error) {
	return w.w.Delete(ctx, typ, id, at)
}

// jobAD is the additional data of a job's field.
func jobAD(id, field string) string { return "job\x00" + id + "\x00" + field }

// SaveJob implements store.Store: Spec and Result are sealed.
func (s *Store) SaveJob(ctx context.Context, j store.Job) error {
	if j.ID == checkJobID {
		return fmt.Errorf("sealed: job id %q is reserved", j.ID)
	}
	if j.Spec != nil {
		j.Spec = s.seal(j.Spec, jobAD(j.ID, "spec"))
	}
	if j.Result != nil {
		j.Result = s.seal(j.Result, jobAD(j.ID, "result"))
	}
	return s.inner.SaveJob(ctx, j)
}

func (s *Store) openJob(j store.Job) (store.Job, error) {
	var err error
	for _, f := range []struct {
		name string
		b    *[]byte
	}{{"spec", &j.Spec}, {"result", &j.Result}} {
		if len(*f.b) == 0 {
			continue
		}
		if *f.b, err = s.open(*f.b, jobAD(j.ID, f.name)); err != nil {
			return store.Job{}, fmt.Errorf("%w: job %s %s does not open with the key", store.ErrCorrupt, j.ID, f.name)
		}
	}
	return j, nil
}

// Job implements store.Store.
func (s *Store) Job(ctx context.Context, id string) (store.Job, error) {
	if id == checkJobID {
		return store.Job{}, store.ErrNotFound
	}
	j, err := s.inner.Job(ctx, id)
	if err != nil {
		return j, err
	}
	return s.openJob(j)
}

// ListJobs implements store.Store.
func (s *Store) ListJobs(ctx context.Context) ([]store.Job, error) {
	js, err := s.inner.ListJobs(ctx)
	if err != nil {
		return nil, err
	}
	out := js[:0]
	for _, j := range js {
		if j.ID == checkJobID {
			continue
		}
		if j, err = s.openJob(j); err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// DeleteJob implements store.Store.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	if id == checkJobID {
		return store.ErrNotFound
	}
	return s.inner.DeleteJob(ctx, id)
}

// Close closes the store underneath.
func (s *Store) Close() error { return s.inner.Close() }
