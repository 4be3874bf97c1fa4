package fhirops

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/fhir"
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
	// MaxIncludes caps the resources _include and _revinclude add to one
	// search page (SEC-36: one Patient can be referenced by millions of
	// Observations); past it the page ends with an OperationOutcome
	// warning that the includes were truncated. Default 1000.
	MaxIncludes int
	// Series, when set, holds the device time series: Observation searches
	// and reads answer from it too (series_search.go). Default none.
	Series SampleReader
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
	if opts.MaxIncludes <= 0 {
		opts.MaxIncludes = 1000
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

// Create stores body as a new resource of type typ with a server-assigned
// id. ifNoneExist is the If-None-Exist header (a search query string such
// as "identifier=http://x|1"): with one match the match is returned (200),
// with more the error has status 412.
func (s *Service) Create(ctx context.Context, typ string, body []byte, ifNoneExist string) (Outcome, error) {
	if err := permit(ctx, "create", typ); err != nil {
		return Outcome{}, err
	}
	r, err := s.parse(body, typ, "")
	if err != nil {
		return Outcome{}, err
	}
	var out Outcome
	if ifNoneExist == "" {
		// Stamped (indexed, encoded) before the write: the single writer
		// only stores.
		v, err := s.stamp(r, s.opts.NewID(), 1)
		if err != nil {
			return Outcome{}, err
		}
		err = s.st.Write(ctx, func(w store.Writer) error {
			out, err = s.putNew(ctx, w, v)
			return err
		})
		return out, err
	}
	err = s.st.Write(ctx, func(w store.Writer) error {
		v, n, err := s.matchOne(ctx, w, typ, ifNoneExist, "If-None-Exist")
		if err != nil || n == 1 {
			out = Outcome{Status: http.StatusOK, Version: v, Location: location(v)}
			return err
		}
		out, err = s.create(ctx, w, r, s.opts.NewID())
		return err
	})
	return out, err
}

// Read returns the current version of typ/id. Errors: 404 if it never
// existed, 410 if it was deleted.
func (s *Service) Read(ctx context.Context, typ, id string) (store.Version, error) {
	if err := s.checkType(typ); err != nil {
		return store.Version{}, err
	}
	if err := permit(ctx, "read", typ); err != nil {
		return store.Version{}, err
	}
	v, err := s.st.Read(ctx, typ, id)
	if errors.Is(err, store.ErrNotFound) && typ == "Observation" && s.opts.Series != nil {
		return s.readSample(ctx, id) // series.go: an Observation made from samples
	}
	return v, s.readable(ctx, s.st, v, storeError(err, typ+"/"+id), typ+"/"+id)
}

// VRead returns version vid of typ/id (404 if there is none; 410 for a
// version that is a delete marker).
func (s *Service) VRead(ctx context.Context, typ, id, vid string) (store.Version, error) {
	if err := s.checkType(typ); err != nil {
		return store.Version{}, err
	}
	if err := permit(ctx, "vread", typ); err != nil {
		return store.Version{}, err
	}
	n, err := strconv.ParseInt(vid, 10, 64)
	if err != nil || n < 1 {
		return store.Version{}, fail(http.StatusNotFound, "not-found", "no version "+strconv.Quote(vid)+" of "+typ+"/"+id)
	}
	v, err := s.st.VRead(ctx, typ, id, n)
	if err = s.readable(ctx, s.st, v, storeError(err, typ+"/"+id+"/_history/"+vid), typ+"/"+id+"/_history/"+vid); err != nil {
		return v, err
	}
	if v.Deleted {
		return v, fail(http.StatusGone, "deleted", typ+"/"+id+"/_history/"+vid+" is a deletion")
	}
	return v, nil
}

// Update stores body as the next version of typ/id, or creates typ/id
// (update as create, 201). ifMatch, if not empty, is the If-Match header
// (W/"3"); it must name the current version, else 412.
func (s *Service) Update(ctx context.Context, typ, id string, body []byte, ifMatch string) (Outcome, error) {
	if err := permit(ctx, "update", typ); err != nil {
		return Outcome{}, err
	}
	r, err := s.parse(body, typ, id)
	if err != nil {
		return Outcome{}, err
	}
	var out Outcome
	err = s.st.Write(ctx, func(w store.Writer) error {
		out, err = s.put(ctx, w, r, id, ifMatch)
		return err
	})
	return out, err
}

// ConditionalUpdate updates the one resource of type typ that query
// matches (PUT Type?identifier=...): no match creates it (with the body's
// id if it has one, else a new one), more than one is a 412.
func (s *Service) ConditionalUpdate(ctx context.Context, typ string, query url.Values, body []byte) (Outcome, error) {
	if err := permit(ctx, "update", typ); err != nil {
		return Outcome{}, err
	}
	r, err := s.parse(body, typ, "")
	if err != nil {
		return Outcome{}, err
	}
	var out Outcome
	err = s.st.Write(ctx, func(w store.Writer) error {
		out, err = s.conditionalPut(ctx, w, r, query.Encode())
		return err
	})
	return out, err
}

// conditionalPut stores r as the update of the one resource that query
// matches, or creates it.
func (s *Service) conditionalPut(ctx context.Context, w store.Writer, r *fhir.Resource, query string) (Outcome, error) {
	v, n, err := s.matchOne(ctx, w, r.Type, query, "search")
	if err != nil {
		return Outcome{}, err
	}
	id := r.ID
	switch {
	case n == 1 && id != "" && id != v.ID:
		return Outcome{}, fail(http.StatusBadRequest, "invalid", "the resource id "+strconv.Quote(id)+" is not the id of the matching resource", r.Type+".id")
	case n == 1:
		id = v.ID
	case id == "":
		return s.create(ctx, w, r, s.opts.NewID())
	}
	return s.put(ctx, w, r, id, "")
}

// Patch applies a JSON Patch (RFC 6902) to the current version of typ/id
// and stores the result as the next version; ifMatch as for Update.
func (s *Service) Patch(ctx context.Context, typ, id string, patch []byte, ifMatch string) (Outcome, error) {
	if err := s.checkType(typ); err != nil {
		return Outcome{}, err
	}
	if err := permit(ctx, "patch", typ); err != nil {
		return Outcome{}, err
	}
	var out Outcome
	err := s.st.Write(ctx, func(w store.Writer) error {
		var err error
		out, err = s.patch(ctx, w, typ, id, patch, ifMatch)
		return err
	})
	return out, err
}

func (s *Service) patch(ctx context.Context, w store.Writer, typ, id string, patch []byte, ifMatch string) (Outcome, error) {
	cur, err := w.Read(ctx, typ, id)
	if err = s.readable(ctx, w, cur, storeError(err, typ+"/"+id), typ+"/"+id); err != nil {
		return Outcome{}, err
	}
	body, err := fhir.ApplyJSONPatch(cur.Body, patch)
	if err != nil {
		return Outcome{}, asFHIRError(err, http.StatusUnprocessableEntity)
	}
	r, err := s.parse(body, typ, id)
	if err != nil {
		return Outcome{}, err
	}
	return s.put(ctx, w, r, id, ifMatch)
}

// Delete deletes typ/id. Deleting a resource that is already deleted or
// never existed succeeds too (204, Version zero).
func (s *Service) Delete(ctx context.Context, typ, id string) (Outcome, error) {
	if err := s.checkType(typ); err != nil {
		return Outcome{}, err
	}
	if err := permit(ctx, "delete", typ); err != nil {
		return Outcome{}, err
	}
	var out Outcome
	err := s.st.Write(ctx, func(w store.Writer) error {
		var err error
		out, err = s.delete(ctx, w, typ, id)
		return err
	})
	return out, err
}

func (s *Service) delete(ctx context.Context, w store.Writer, typ, id string) (Outcome, error) {
	if pid, err := confinedTo(ctx); pid != "" || err != nil {
		cur, rerr := w.Read(ctx, typ, id)
		if err == nil && rerr == nil {
			err = s.writable(ctx, w, cur, store.Version{})
		}
		if err != nil {
			return Outcome{}, err
		}
	}
	v, err := w.Delete(ctx, typ, id, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{Status: http.StatusNoContent}, nil
	}
	if err != nil {
		return Outcome{}, storeError(err, typ+"/"+id)
	}
	return Outcome{Status: http.StatusNoContent, Version: v}, nil
}

// Load stores resources with the ids they carry (update as create), all in
// one store write: all are stored or none. It is the bulk path of
// `doppel import` for NDJSON files and collection Bundles. An error's
// expressions start with the index of the failing resource ("[3].subject").
func (s *Service) Load(ctx context.Context, resources [][]byte) ([]store.Version, error) {
	rs := make([]*fhir.Resource, len(resources))
	for i, b := range resources {
		r, err := s.parse(b, "", "")
		if err == nil && r.ID == "" {
			err = fail(http.StatusBadRequest, "required", "a loaded resource must have an id", r.Type+".id")
		}
		if err != nil {
			return nil, relocate(err, "["+strconv.Itoa(i)+"]")
		}
		rs[i] = r
	}
	out := make([]store.Version, len(rs))
	err := s.st.Write(ctx, func(w store.Writer) error {
		for i, r := range rs {
			o, err := s.put(ctx, w, r, r.ID, "")
			if err != nil {
				return relocate(err, "["+strconv.Itoa(i)+"]")
			}
			out[i] = o.Version
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parse decodes and validates a resource body for a write on typ (any
// type if empty) and id (any id if empty).
func (s *Service) parse(body []byte, typ, id string) (*fhir.Resource, error) {
	if typ != "" {
		if err := s.checkType(typ); err != nil {
			return nil, err
		}
	}
	r, err := fhir.Parse(body)
	if err != nil {
		return nil, asFHIRError(err, http.StatusBadRequest)
	}
	return r, s.check(r, typ, id)
}

// check validates r for a write on typ and id (either may be empty).
func (s *Service) check(r *fhir.Resource, typ, id string) error {
	if typ != "" && r.Type != typ {
		return fail(http.StatusBadRequest, "invalid", "resourceType "+strconv.Quote(r.Type)+" does not match the URL's type "+typ, r.Type+".resourceType")
	}
	if id != "" && r.ID != id {
		if r.ID == "" {
			return fail(http.StatusBadRequest, "required", "the resource must have the id of the URL", r.Type+".id")
		}
		return fail(http.StatusBadRequest, "invalid", "the resource id does not match the URL's id", r.Type+".id")
	}
	if err := fhir.Validate(r); err != nil {
		return asFHIRError(err, http.StatusBadRequest)
	}
	return nil
}

// checkType answers 404 for a URL whose type is not a resource type.
func (s *Service) checkType(typ string) error {
	if !fhir.IsResourceType(typ) {
		return fail(http.StatusNotFound, "not-supported", "unknown resource type "+strconv.Quote(clip(typ)))
	}
	return nil
}

// put writes r as the next version of r.Type/id: version 1 when it does not
// exist (or the one after its delete marker), when ifMatch (if set) names
// the current version. It sets id and meta in r's tree.
func (s *Service) put(ctx context.Context, w store.Writer, r *fhir.Resource, id, ifMatch string) (Outcome, error) {
	cur, err := w.Read(ctx, r.Type, id)
	exists := err == nil
	switch {
	case err == nil, errors.Is(err, store.ErrDeleted):
	case errors.Is(err, store.ErrNotFound):
		cur = store.Version{}
	default:
		return Outcome{}, storeError(err, r.Type+"/"+id)
	}
	if ifMatch != "" {
		want, ok := parseETag(ifMatch)
		if !ok {
			return Outcome{}, fail(http.StatusBadRequest, "invalid", "If-Match must be a version ETag such as W/\"3\"")
		}
		if !exists || want != cur.VersionID {
			return Outcome{}, fail(http.StatusPreconditionFailed, "conflict", fmt.Sprintf("If-Match names version %d but the current version of %s/%s is %d", want, r.Type, id, cur.VersionID))
		}
	}
	v, err := s.stamp(r, id, cur.VersionID+1)
	if err != nil {
		return Outcome{}, err
	}
	if v, err = s.owned(ctx, cur, v); err != nil {
		return Outcome{}, err
	}
	if err := s.writable(ctx, w, cur, v); err != nil {
		return Outcome{}, err
	}
	v, err = w.Put(ctx, v)
	if err != nil {
		return Outcome{}, storeError(err, r.Type+"/"+id)
	}
	out := Outcome{Status: http.StatusOK, Version: v, Location: location(v)}
	if !exists {
		out.Status, out.Created = http.StatusCreated, true
	}
	return out, nil
}

// create writes r as version 1 of a new resource with a server-assigned
// id (from NewID). Such ids are unique, so there is no need to read first;
// a clash is reported by the store as a conflict.
func (s *Service) create(ctx context.Context, w store.Writer, r *fhir.Resource, id string) (Outcome, error) {
	v, err := s.stamp(r, id, 1)
	if err != nil {
		return Outcome{}, err
	}
	return s.putNew(ctx, w, v)
}

// putNew stores v, version 1 of a new resource stamped by stamp.
func (s *Service) putNew(ctx context.Context, w store.Writer, v store.Version) (Outcome, error) {
	v, err := s.owned(ctx, store.Version{}, v)
	if err != nil {
		return Outcome{}, err
	}
	if err := s.writable(ctx, w, store.Version{}, v); err != nil {
		return Outcome{}, err
	}
	v, err = w.Put(ctx, v)
	if err != nil {
		return Outcome{}, storeError(err, v.Type+"/"+v.ID)
	}
	return Outcome{Status: http.StatusCreated, Created: true, Version: v, Location: location(v)}, nil
}

// stamp sets id, meta.versionId and meta.lastUpdated in r and returns the
// version to store, with its JSON and index entries.
func (s *Service) stamp(r *fhir.Resource, id string, vid int64) (store.Version, error) {
	now := s.now()
	r.SetID(id)
	meta, _ := r.Tree["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		r.Tree["meta"] = meta
	}
	meta["versionId"] = strconv.FormatInt(vid, 10)
	meta["lastUpdated"] = now.Format(instantLayout)
	body, err := r.MarshalJSON()
	if err != nil {
		return store.Version{}, err
	}
	index, err := s.reg.Extract(r.Type, r.Tree)
	if err != nil {
		// A value that Validate lets through but search cannot read, such
		// as a malformed date.
		return store.Version{}, fail(http.StatusBadRequest, "value", err.Error(), r.Type)
	}
	return store.Version{Type: r.Type, ID: id, VersionID: vid, LastUpdated: now, Body: body, Index: index}, nil
}

// instantLayout writes a FHIR instant in UTC with milliseconds.
const instantLayout = "2006-01-02T15:04:05.000Z07:00"

// now is the clock in UTC, truncated to the milliseconds meta.lastUpdated
// keeps.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }

// matchOne runs the search query (a URL query string) on typ in w and
// returns the number of matches, 0, 1 or 2 (meaning "more than one"), and
// the match when there is one. More than one match is a 412 error; what
// names the query's origin in messages.
func (s *Service) matchOne(ctx context.Context, r store.Reader, typ, query, what string) (store.Version, int, error) {
	vals, err := url.ParseQuery(strings.TrimPrefix(query, "?"))
	if err != nil || len(vals) == 0 {
		return store.Version{}, 0, fail(http.StatusBadRequest, "invalid", what+": not a search query string")
	}
	q, _, err := s.parseQuery(typ, vals, true)
	if err != nil {
		return store.Version{}, 0, err
	}
	if pid, err := confinedTo(ctx); pid != "" || err != nil {
		none := false
		if err == nil {
			none, err = s.confine(ctx, r, q, pid)
		}
		if none || err != nil {
			return store.Version{}, 0, err
		}
	}
	q.Count, q.Offset = 2, 0
	page, err := r.Search(ctx, q, 0)
	if err != nil {
		return store.Version{}, 0, storeError(err, typ)
	}
	switch len(page.Matches) {
	case 0:
		return store.Version{}, 0, nil
	case 1:
		return page.Matches[0], 1, nil
	}
	return store.Version{}, 2, fail(http.StatusPreconditionFailed, "multiple-matches", what+" "+typ+"?"+vals.Encode()+" matches more than one resource")
}

// location is "Type/id/_history/n".
func location(v store.Version) string {
	return v.Type + "/" + v.ID + "/_history/" + strconv.FormatInt(v.VersionID, 10)
}

// parseETag reads a version from W/"3" or "3".
func parseETag(s string) (int64, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	s, ok := strings.CutPrefix(s, `"`)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, `"`)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}

// fail returns an *fhir.Error with one error issue.
func fail(status int, code, diagnostics string, expression ...string) *fhir.Error {
	return &fhir.Error{Status: status, Issues: []fhir.Issue{{Severity: "error", Code: code, Diagnostics: diagnostics, Expression: expression}}}
}

// asFHIRError returns err if it is an *fhir.Error, else an *fhir.Error with
// status and err's message (errors of the parsers this package calls say
// what was wrong with the client's input).
func asFHIRError(err error, status int) error {
	if fe, ok := errors.AsType[*fhir.Error](err); ok {
		return fe
	}
	return fail(status, "invalid", err.Error())
}

// storeError turns the store's sentinel errors into FHIR errors about
// what; other errors (the store failed) are returned unchanged.
func storeError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fail(http.StatusNotFound, "not-found", what+" not found")
	case errors.Is(err, store.ErrDeleted):
		return fail(http.StatusGone, "deleted", what+" was deleted")
	case errors.Is(err, store.ErrConflict):
		return fail(http.StatusConflict, "conflict", what+" was changed by another request; retry")
	}
	return err
}

// relocate returns err with prefix put before each issue's expressions (a
// resource's path "Patient.name" becomes prefix+".name"); an error that is
// not an *fhir.Error is wrapped so that the message names prefix.
func relocate(err error, prefix string) error {
	fe, ok := errors.AsType[*fhir.Error](err)
	if !ok {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	out := &fhir.Error{Status: fe.Status, Issues: make([]fhir.Issue, len(fe.Issues))}
	for i, is := range fe.Issues {
		is.Expression = nil
		for _, e := range fe.Issues[i].Expression {
			rest := ""
			if j := strings.IndexAny(e, ".["); j >= 0 {
				rest = e[j:]
			}
			is.Expression = append(is.Expression, prefix+rest)
		}
		if len(is.Expression) == 0 {
			is.Expression = []string{prefix}
		}
		out.Issues[i] = is
	}
	return out
}

// clip shortens client text quoted in messages.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
