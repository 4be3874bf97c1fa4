package fhirops

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Store is what a Service needs from a resource store: committed reads and
// the single writer. A store.Store satisfies it.
type Store interface {
	store.Reader
	Write(ctx context.Context, fn func(w store.Writer) error) error
}

// Options configure a Service. The zero value is valid: every field has a
// default, given in its comment.
type Options struct {
	Now              func() time.Time // clock for meta.lastUpdated; default time.Now
	NewID            func() string    // ids of created resources; default a random UUID
	DefaultCount     int              // search page size without _count; default 20
	MaxCount         int              // cap on _count; default 1000
	MaxBundleEntries int              // larger transaction/batch Bundles get 413; default 10000
}

// Service runs FHIR interactions on a store. It holds no mutable state and
// is safe for concurrent use.
type Service struct {
	st   Store
	reg  *search.Registry
	opts Options
}

// New returns a Service on st that indexes and parses searches with reg.
func New(st Store, reg *search.Registry, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = newUUID
	}
	if opts.DefaultCount <= 0 {
		opts.DefaultCount = 20
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = 1000
	}
	if opts.MaxBundleEntries <= 0 {
		opts.MaxBundleEntries = 10000
	}
	return &Service{st: st, reg: reg, opts: opts}
}

// Outcome is the result of a write interaction.
type Outcome struct {
	Status  int  // HTTP status: 200 (updated, or conditional create matched), 201 (created), 204 (deleted)
	Created bool // a new resource was created
	// Version is the version written, or found by a conditional create. Its
	// Body is the resource JSON as stored (nil for a delete marker or a
	// delete of nothing); VersionID and LastUpdated give ETag and
	// Last-Modified.
	Version store.Version
	// Location is "Type/id/_history/n", relative to the service base;
	// empty for a delete.
	Location string
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

var errNotImplemented = errors.New("fhirops: not implemented")

// Create stores body as a new resource of type typ with a server-assigned
// id. ifNoneExist is the If-None-Exist header (a search query string such
// as "identifier=http://x|1"): with one match the match is returned (200),
// with more the error has status 412.
func (s *Service) Create(ctx context.Context, typ string, body []byte, ifNoneExist string) (Outcome, error) {
	return Outcome{}, errNotImplemented
}

// Read returns the current version of typ/id. Errors: 404 if it never
// existed, 410 if it was deleted.
func (s *Service) Read(ctx context.Context, typ, id string) (store.Version, error) {
	return store.Version{}, errNotImplemented
}

// VRead returns version vid of typ/id (404 if there is none; 410 for a
// version that is a delete marker).
func (s *Service) VRead(ctx context.Context, typ, id, vid string) (store.Version, error) {
	return store.Version{}, errNotImplemented
}

// Update stores body as the next version of typ/id, or creates typ/id
// (update as create, 201). ifMatch, if not empty, is the If-Match header
// (W/"3"); it must name the current version, else 412.
func (s *Service) Update(ctx context.Context, typ, id string, body []byte, ifMatch string) (Outcome, error) {
	return Outcome{}, errNotImplemented
}

// ConditionalUpdate updates the one resource of type typ that query
// matches (PUT Type?identifier=...): no match creates it (with the body's
// id if it has one, else a new one), more than one is a 412.
func (s *Service) ConditionalUpdate(ctx context.Context, typ string, query url.Values, body []byte) (Outcome, error) {
	return Outcome{}, errNotImplemented
}

// Patch applies a JSON Patch (RFC 6902) to the current version of typ/id
// and stores the result as the next version; ifMatch as for Update.
func (s *Service) Patch(ctx context.Context, typ, id string, patch []byte, ifMatch string) (Outcome, error) {
	return Outcome{}, errNotImplemented
}

// Delete deletes typ/id. Deleting a resource that is already deleted or
// never existed succeeds too (204, Version zero).
func (s *Service) Delete(ctx context.Context, typ, id string) (Outcome, error) {
	return Outcome{}, errNotImplemented
}

// History returns a history Bundle (JSON) of one resource (typ and id), of
// a type (id empty) or of the system (both empty). params: _count, _since,
// and the paging parameters of its own links. base is the service base URL
// ("http://host/fhir") used for fullUrl and links.
func (s *Service) History(ctx context.Context, typ, id string, params url.Values, base string) ([]byte, error) {
	return nil, errNotImplemented
}

// Search runs a search on type typ (all types if empty) and returns a
// searchset Bundle (JSON). strict is the Prefer handling=strict header: an
// unknown parameter is then a 400, else it is ignored. Paging links carry
// the snapshot and offset (_snapshot, _offset), which Search accepts back.
func (s *Service) Search(ctx context.Context, typ string, params url.Values, strict bool, base string) ([]byte, error) {
	return nil, errNotImplemented
}

// Transaction processes a Bundle of type transaction (atomically) or batch
// (each entry on its own) and returns the transaction-response or
// batch-response Bundle (JSON). A Bundle with more than MaxBundleEntries
// entries is a 413. A failed transaction stores nothing and its error names
// the entry (Bundle.entry[i]...).
func (s *Service) Transaction(ctx context.Context, bundle []byte, base string) ([]byte, error) {
	return nil, errNotImplemented
}

// Everything returns a searchset Bundle with patient id and every resource
// in its compartment, plus the Practitioner, Organization and Location
// resources they refer to, paged like Search (_count, and the links'
// _snapshot and _offset).
func (s *Service) Everything(ctx context.Context, id string, params url.Values, base string) ([]byte, error) {
	return nil, errNotImplemented
}

// Load stores resources with the ids they carry (update as create), all in
// one store write: all are stored or none. It is the bulk path of
// `doppel import` for NDJSON files and collection Bundles. An error names
// the index of the failing resource.
func (s *Service) Load(ctx context.Context, resources [][]byte) ([]store.Version, error) {
	return nil, errNotImplemented
}
