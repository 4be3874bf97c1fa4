package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Store is what the log needs from the resource store.
type Store interface {
	store.Reader
	Write(ctx context.Context, fn func(w store.Writer) error) error
}

// Indexer computes the search index entries of a resource
// (*search.Registry).
type Indexer interface {
	Extract(resourceType string, tree map[string]any) ([]search.Entry, error)
}

// Options configure a Log. The zero value is valid.
type Options struct {
	Observer string           // AuditEvent.source.observer.display; default "doppel"
	HeadFile string           // where the last seq and hash are kept outside the store ("" = none)
	Now      func() time.Time // clock for meta.lastUpdated; default time.Now
}

// Log appends AuditEvents to the store as a hash chain and verifies the
// chain. It is safe for concurrent use.
type Log struct {
	st   Store
	idx  Indexer
	opts Options

	plainObserver bool // whether opts.Observer lets records take the fast path

	mu     sync.Mutex
	loaded bool   // whether seq and hash were read from the store
	seq    int64  // last committed sequence number known
	hash   string // its hash, hex ("" before the first)
}

// New returns a log writing to st, indexing with idx.
func New(st Store, idx Indexer, opts Options) *Log {
	if opts.Observer == "" {
		opts.Observer = "doppel"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Log{st: st, idx: idx, opts: opts, plainObserver: plain(opts.Observer)}
}

// resourceType is the FHIR type audit records are stored as.
const resourceType = "AuditEvent"

// ID returns the resource id of sequence number seq.
func ID(seq int64) string { return "audit-" + strconv.FormatInt(seq, 10) }

// genesis is the "previous hash" of the first record: 32 zero bytes.
var genesis = strings.Repeat("0", 64)

// link computes a record's hash from the previous one and its canonical bytes.
func link(prev string, canonical []byte) (string, error) {
	p, err := hex.DecodeString(prev)
	if err != nil || len(p) != sha256.Size {
		return "", errors.New("audit: previous hash is not 64 hex digits")
	}
	h := sha256.New()
	h.Write(p)
	h.Write(canonical)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// canonical returns the bytes a record's hash covers: its JSON without
// meta and without the chain's "hash" sub-extension. It does not modify
// tree.
func canonical(tree map[string]any) []byte {
	c := make(map[string]any, len(tree))
	for k, v := range tree {
		if k != "meta" && k != "extension" {
			c[k] = v
		}
	}
	if exts, ok := tree["extension"].([]any); ok {
		var kept []any
		for _, e := range exts {
			m, _ := e.(map[string]any)
			if m == nil || m["url"] != ChainURL {
				kept = append(kept, e)
				continue
			}
			mc := map[string]any{}
			for k, v := range m {
				mc[k] = v
			}
			var subs []any
			if ss, ok := m["extension"].([]any); ok {
				for _, s := range ss {
					if sm, _ := s.(map[string]any); sm == nil || sm["url"] != "hash" {
						subs = append(subs, s)
					}
				}
			}
			mc["extension"] = subs
			kept = append(kept, mc)
		}
		c["extension"] = kept
	}
	b, _ := (&fhir.Resource{Type: resourceType, Tree: c}).MarshalJSON()
	return b
}

// chain reads the chain extension of an AuditEvent: its seq, prev and hash.
func chain(tree map[string]any) (seq int64, prev, hash string, ok bool) {
	exts, _ := tree["extension"].([]any)
	for _, e := range exts {
		m, _ := e.(map[string]any)
		if m == nil || m["url"] != ChainURL {
			continue
		}
		subs, _ := m["extension"].([]any)
		var seqs string
		for _, s := range subs {
			sm, _ := s.(map[string]any)
			v, _ := sm["valueString"].(string)
			switch sm["url"] {
			case "seq":
				seqs = v
			case "prev":
				prev = v
			case "hash":
				hash = v
			}
		}
		n, err := strconv.ParseInt(seqs, 10, 64)
		return n, prev, hash, err == nil && n > 0
	}
	return 0, "", "", false
}

// Append writes recs as the next records of the chain, in order, in one
// store transaction of their own, and returns once they are durable.
//
// The records' AuditEvents are built (encoded, hashed, indexed) before the
// transaction, on the head of the chain the log knows, so that the store's
// single writer only stores them; if the head has moved meanwhile (a
// write committed its own record), the transaction builds them again on
// the real head.
func (l *Log) Append(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		pre := l.prebuild(recs)
		var seq int64
		var hash string
		err := l.st.Write(ctx, func(w store.Writer) error {
			var err error
			seq, hash, err = l.stage(ctx, w, recs, pre)
			return err
		})
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // another process took these numbers: stage finds the new head
		}
		if err != nil {
			return fmt.Errorf("audit: append: %w", err)
		}
		return l.committed(seq, hash)
	}
}

// built is a run of records' stored versions, built to follow the record
// after (seq) with hash prev ("" before the first record); seq and hash
// are the last one's.
type built struct {
	after int64
	prev  string
	vs    []store.Version
	seq   int64
	hash  string
}

// prebuild builds recs on the head the log knows; nil when it knows none
// yet or a record cannot be built (stage then reports why).
func (l *Log) prebuild(recs []Record) *built {
	l.mu.Lock()
	seq, prev, loaded := l.seq, l.hash, l.loaded
	l.mu.Unlock()
	if !loaded {
		return nil
	}
	b, err := l.build(recs, seq, prev)
	if err != nil {
		return nil
	}
	return b
}

// build makes the stored versions of recs as the records after seq, whose
// hash is prev ("" before the first record).
func (l *Log) build(recs []Record, seq int64, prev string) (*built, error) {
	b := &built{after: seq, prev: prev, vs: make([]store.Version, 0, len(recs))}
	if prev == "" {
		prev = genesis
	}
	now := l.opts.Now().UTC().Truncate(time.Millisecond)
	for _, r := range recs {
		seq++
		if r.Time.IsZero() {
			r.Time = now
		}
		v, h, err := l.version(r, seq, prev, now)
		if err != nil {
			return nil, err
		}
		b.vs = append(b.vs, v)
		prev = h
	}
	b.seq, b.hash = seq, prev
	return b, nil
}

// stage puts recs after the head of the chain as w sees it (committed
// records and those staged earlier in the same store transaction) and
// returns the new head: the versions in pre if they were built on that
// head, else versions built now. The head the log remembers is only where
// the search for the real head starts: it is advanced after a commit.
func (l *Log) stage(ctx context.Context, w store.Writer, recs []Record, pre *built) (int64, string, error) {
	l.mu.Lock()
	seq, prev, loaded := l.seq, l.hash, l.loaded
	l.mu.Unlock()
	var err error
	if !loaded {
		if seq, prev, err = newest(ctx, w); err != nil {
			return 0, "", err
		}
	}
	if seq, prev, err = forward(ctx, w, seq, prev); err != nil {
		return 0, "", err
	}
	b := pre
	if b == nil || b.after != seq || b.prev != prev {
		if b, err = l.build(recs, seq, prev); err != nil {
			return 0, "", err
		}
	}
	for _, v := range b.vs {
		if _, err := w.Put(ctx, v); err != nil {
			return 0, "", err
		}
	}
	return b.seq, b.hash, nil
}

// version returns the stored AuditEvent of r as record seq after prev,
// and its hash. A record that can take the fast path (encode.go);
// any other is built as a tree, marshalled and indexed by the Indexer,
// keeping the entries of the parameters the trail indexes (Indexed).
func (l *Log) version(r Record, seq int64, prev string, now time.Time) (store.Version, string, error) {
	id := ID(seq)
	v := store.Version{Type: resourceType, ID: id, VersionID: 1, LastUpdated: now}
	if l.plainObserver && r.fast() && fourDigitYear(r.Time) && fourDigitYear(now) {
		ents := r.entities()
		body, h, err := r.encode(id, l.opts.Observer, seq, prev, ents, now)
		if err != nil {
			return store.Version{}, "", err
		}
		v.Body, v.Index = body, r.index(id, ents, now)
		return v, h, nil
	}
	t := r.tree(id, l.opts.Observer, seq, prev)
	h, err := link(prev, canonical(t))
	if err != nil {
		return store.Version{}, "", err
	}
	ext := t["extension"].([]any)[0].(map[string]any)
	ext["extension"] = append(ext["extension"].([]any), str("hash", h))
	t["meta"] = map[string]any{"versionId": "1", "lastUpdated": timeText(now)}
	if v.Index, err = l.idx.Extract(resourceType, t); err != nil {
		return store.Version{}, "", fmt.Errorf("audit: index: %w", err)
	}
	v.Index = slices.DeleteFunc(v.Index, func(e search.Entry) bool { return !Indexed(e.Param) })
	v.Body, _ = (&fhir.Resource{Type: resourceType, ID: id, Tree: t}).MarshalJSON()
	return v, h, nil
}

// fourDigitYear reports whether t's year, in UTC, is written with four
// digits.
func fourDigitYear(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// committed advances the remembered head after a commit (never back: two
// commits may report out of order) and writes the head file.
func (l *Log) committed(seq int64, hash string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq <= l.seq && l.loaded {
		return nil
	}
	l.seq, l.hash, l.loaded = seq, hash, true
	return l.saveHead()
}

// newest returns the seq and hash of the newest AuditEvent in r (0, "" if
// there is none).
func newest(ctx context.Context, r store.Reader) (int64, string, error) {
	page, err := r.History(ctx, store.HistoryQuery{Type: resourceType, Count: 1})
	if err != nil {
		return 0, "", fmt.Errorf("audit: head: %w", err)
	}
	if len(page.Matches) == 0 || page.Matches[0].Deleted {
		return 0, "", nil
	}
	return head(page.Matches[0])
}

// forward moves from seq to the last record that follows it in r.
func forward(ctx context.Context, r store.Reader, seq int64, hash string) (int64, string, error) {
	for {
		v, err := r.Read(ctx, resourceType, ID(seq+1))
		if errors.Is(err, store.ErrNotFound) {
			return seq, hash, nil
		}
		if err != nil {
			return 0, "", fmt.Errorf("audit: head: %w", err)
		}
		if seq, hash, err = head(v); err != nil {
			return 0, "", err
		}
	}
}

// head reads the seq and hash of a stored AuditEvent.
func head(v store.Version) (int64, string, error) {
	r, err := fhir.Parse(v.Body)
	if err != nil {
		return 0, "", fmt.Errorf("audit: head: %w", err)
	}
	seq, _, hash, ok := chain(r.Tree)
	if !ok || hash == "" {
		return 0, "", fmt.Errorf("audit: head: %s has no chain extension", v.ID)
	}
	return seq, hash, nil
}

// saveHead writes the head file (atomically: a temporary file renamed).
func (l *Log) saveHead() error {
	if l.opts.HeadFile == "" {
		return nil
	}
	tmp := l.opts.HeadFile + ".tmp"
	data := fmt.Appendf(nil, "%d %s\n", l.seq, l.hash)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("audit: head file: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, l.opts.HeadFile)
	}
	if err != nil {
		return fmt.Errorf("audit: head file: %w", err)
	}
	return nil
}

// readHead reads a head file; ok is false when there is none.
func readHead(path string) (seq int64, hash string, ok bool, err error) {
	if path == "" {
		return 0, "", false, nil
	}
	data, err := os.ReadFile(filepath.Clean(path))
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("audit: head file: %w", err)
	}
	f := strings.Fields(string(data))
	if len(f) == 2 {
		if seq, err = strconv.ParseInt(f[0], 10, 64); err == nil {
			return seq, f[1], true, nil
		}
	}
	return 0, "", false, errors.New("audit: head file is malformed")
}
