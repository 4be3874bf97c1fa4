package fhirops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Transaction processes a Bundle of type transaction (atomically) or batch
// (each entry on its own) and returns the transaction-response or
// batch-response Bundle (JSON). A Bundle with more than MaxBundleEntries
// entries is a 413. A failed transaction stores nothing and its error names
// the entry (Bundle.entry[i]...).
//
// With an [Access] in ctx, every entry's interaction must be allowed on its
// type, else the whole Bundle, batch too, is refused (403 naming the
// entry); each entry is then confined to the compartment as the
// interaction on its own is, and one that reaches outside it fails (the
// whole transaction, or that batch entry).
func (s *Service) Transaction(ctx context.Context, body []byte, base string) ([]byte, error) {
	b, err := fhir.Parse(body)
	if err != nil {
		return nil, asFHIRError(err, http.StatusBadRequest)
	}
	if b.Type != "Bundle" {
		return nil, fail(http.StatusBadRequest, "invalid", "a transaction or batch must be a Bundle, not "+b.Type, b.Type+".resourceType")
	}
	kind, _ := b.Tree["type"].(string)
	if kind != "transaction" && kind != "batch" {
		return nil, fail(http.StatusBadRequest, "invalid", "Bundle.type must be transaction or batch, not "+strconv.Quote(clip(kind)), "Bundle.type")
	}
	raw, _ := b.Tree["entry"].([]any)
	if len(raw) > s.opts.MaxBundleEntries {
		return nil, fail(http.StatusRequestEntityTooLarge, "too-costly", "the Bundle has "+strconv.Itoa(len(raw))+" entries; at most "+strconv.Itoa(s.opts.MaxBundleEntries)+" are accepted", "Bundle.entry")
	}
	entries := make([]*txEntry, len(raw))
	var errs []error
	for i, e := range raw {
		entries[i], err = s.parseEntry(i, e)
		if err != nil {
			if kind == "transaction" {
				return nil, err
			}
			errs = append(errs, err)
			entries[i] = &txEntry{i: i, err: err}
		}
	}
	for _, e := range entries {
		if e.err == nil {
			if err := permit(ctx, e.kind(), e.typ); err != nil {
				return nil, relocate(err, e.at(".request"))
			}
		}
	}
	if kind == "transaction" {
		err = s.transaction(ctx, entries, base)
		if errors.Is(err, errStale) {
			// The conditional parts resolved before the write have other
			// answers now: again from the Bundle's text (prepare changed
			// its entries), everything inside the write.
			if entries, err = s.reparse(body); err == nil {
				err = s.st.Write(ctx, func(w store.Writer) error {
					return s.apply(ctx, w, entries, base, nil)
				})
			}
		}
		if err != nil {
			return nil, err
		}
	} else {
		for _, e := range entries {
			if e.err != nil {
				continue
			}
			e.err = s.st.Write(ctx, func(w store.Writer) error {
				return s.apply(ctx, w, []*txEntry{e}, base, nil)
			})
			if e.err != nil && !isFHIRError(e.err) {
				return nil, e.err // the store failed, not the entry
			}
		}
	}
	out := bundle{ResourceType: "Bundle", Type: kind + "-response"}
	for _, e := range entries {
		out.Entry = append(out.Entry, e.response())
	}
	return json.Marshal(out)
}

// errStale is transaction's answer when a search of its prepare before the
// write has another answer in the write.
var errStale = errors.New("fhirops: conditional parts changed before the write")

// transaction writes the entries of a transaction. Ids, references,
// validation and index entries are worked out before the write, so that
// the single writer only stores: with conditional parts (creates, updates,
// references), on the committed data, and the write then repeats their
// searches and reads (see recorder). It returns errStale when one of them
// has another answer there, or when the prepare fails (the error that
// counts is the one inside the write).
func (s *Service) transaction(ctx context.Context, entries []*txEntry, base string) error {
	var rec *recorder
	var r store.Reader
	if needsStore(entries) {
		rec = &recorder{Reader: s.st}
		r = rec
	}
	if err := s.prepare(ctx, r, entries, true); err != nil {
		if rec != nil {
			return errStale
		}
		return err
	}
	return s.st.Write(ctx, func(w store.Writer) error {
		return s.apply(ctx, w, entries, base, &prepared{rec: rec})
	})
}

// reparse parses the entries of a transaction Bundle again.
func (s *Service) reparse(body []byte) ([]*txEntry, error) {
	b, err := fhir.Parse(body)
	if err != nil {
		return nil, asFHIRError(err, http.StatusBadRequest)
	}
	raw, _ := b.Tree["entry"].([]any)
	entries := make([]*txEntry, len(raw))
	for i, e := range raw {
		if entries[i], err = s.parseEntry(i, e); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

// prepared says that prepare ran before the write; rec, when set, holds
// the reads it made of the committed data.
type prepared struct{ rec *recorder }

// recorder is the store.Reader of a prepare before the write: it notes
// the answers of reads and searches, for check to compare with the
// write's.
type recorder struct {
	store.Reader
	searches []*search.Query
	reads    [][2]string // type, id
	answers  []string    // one per search then read, in call order
	other    bool        // a read that check cannot repeat
	memo     map[string]store.Page
}

// key writes the versions of an answer as one string.
func key(vs ...store.Version) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "%s/%s/%d/%t ", v.Type, v.ID, v.VersionID, v.Deleted)
	}
	return b.String()
}

// Search implements store.Reader. A query made again (Synthea's Bundles
// refer to the same few Practitioners and Organizations by conditional
// references, over and over) gets the first answer, unless it failed.
func (r *recorder) Search(ctx context.Context, q *search.Query, at int64) (store.Page, error) {
	k := fmt.Sprintf("%d %+v", at, *q)
	if p, ok := r.memo[k]; ok {
		return p, nil
	}
	p, err := r.Reader.Search(ctx, q, at)
	if at != 0 {
		r.other = true
	}
	if err == nil {
		if r.memo == nil {
			r.memo = map[string]store.Page{}
		}
		r.memo[k] = p
	}
	r.searches = append(r.searches, q)
	r.answers = append(r.answers, fmt.Sprint(len(p.Matches), p.Total, err != nil, key(p.Matches...)))
	return p, err
}

// Read implements store.Reader.
func (r *recorder) Read(ctx context.Context, typ, id string) (store.Version, error) {
	v, err := r.Reader.Read(ctx, typ, id)
	r.reads = append(r.reads, [2]string{typ, id})
	r.answers = append(r.answers, fmt.Sprint(err != nil, errors.Is(err, store.ErrNotFound), key(v)))
	return v, err
}

// VRead implements store.Reader.
func (r *recorder) VRead(ctx context.Context, typ, id string, versionID int64) (store.Version, error) {
	r.other = true
	return r.Reader.VRead(ctx, typ, id, versionID)
}

// History implements store.Reader.
func (r *recorder) History(ctx context.Context, q store.HistoryQuery) (store.Page, error) {
	r.other = true
	return r.Reader.History(ctx, q)
}

// check repeats the recorded searches and reads in w: errStale unless
// every answer is the same.
func (r *recorder) check(ctx context.Context, w store.Reader) error {
	if r.other {
		return errStale
	}
	again := &recorder{Reader: w}
	for _, q := range r.searches {
		again.Search(ctx, q, 0)
	}
	for _, k := range r.reads {
		again.Read(ctx, k[0], k[1])
	}
	// Searches and reads were interleaved: compare as multisets.
	a, b := slices.Clone(r.answers), again.answers
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		return errStale
	}
	return nil
}

// txEntry is one entry of a transaction or batch and its outcome.
type txEntry struct {
	i       int
	method  string // GET, POST, PUT, PATCH, DELETE
	url     string // request.url as given
	typ, id string // from url
	vid     string // version of a GET .../_history/n
	query   string // the query part of a conditional or search url
	fullURL string
	res     *fhir.Resource // POST and PUT
	patch   []byte         // PATCH: the JSON Patch document

	ifMatch, ifNoneExist string
	newID                bool          // id from NewID: create without reading
	stamped              store.Version // a create made ready before the write

	// results
	status int
	v      store.Version
	body   []byte // GET: the resource or searchset Bundle
	err    error  // batch: the entry's failure
}

// kind is the interaction the entry performs, for the access check.
func (e *txEntry) kind() string {
	switch {
	case e.method == http.MethodPost:
		return "create"
	case e.method == http.MethodPut:
		return "update"
	case e.method == http.MethodPatch:
		return "patch"
	case e.method == http.MethodDelete:
		return "delete"
	case e.vid != "":
		return "vread"
	case e.id != "":
		return "read"
	}
	return "search-type"
}

func (e *txEntry) at(elem string) string { return "Bundle.entry[" + strconv.Itoa(e.i) + "]" + elem }

func (e *txEntry) response() entryJSON {
	if e.err != nil {
		fe, ok := errors.AsType[*fhir.Error](e.err)
		if !ok {
			fe = fail(http.StatusInternalServerError, "exception", "internal error")
		}
		return entryJSON{Response: &entryResponse{Status: strconv.Itoa(fe.Status) + " " + http.StatusText(fe.Status), Outcome: fhir.OperationOutcome(fe.Issues...)}}
	}
	out := entryJSON{Response: response(e.status, e.v)}
	if e.method == http.MethodGet && e.body != nil {
		out.Resource = e.body
	}
	if e.method == http.MethodDelete {
		out.Response.Location = ""
	}
	return out
}

func isFHIRError(err error) bool {
	_, ok := errors.AsType[*fhir.Error](err)
	return ok
}

// parseEntry reads entry i of a Bundle tree.
func (s *Service) parseEntry(i int, raw any) (*txEntry, error) {
	e := &txEntry{i: i}
	m, _ := raw.(map[string]any)
	req, _ := m["request"].(map[string]any)
	if req == nil {
		return nil, fail(http.StatusBadRequest, "required", "an entry of a transaction or batch needs a request", e.at(".request"))
	}
	e.method, _ = req["method"].(string)
	e.url, _ = req["url"].(string)
	e.ifMatch, _ = req["ifMatch"].(string)
	e.ifNoneExist, _ = req["ifNoneExist"].(string)
	e.fullURL, _ = m["fullUrl"].(string)
	if e.method == "HEAD" {
		e.method = http.MethodGet
	}
	if !slices.Contains([]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, e.method) {
		return nil, fail(http.StatusBadRequest, "invalid", "request.method must be GET, HEAD, POST, PUT, PATCH or DELETE", e.at(".request.method"))
	}
	p, query, _ := strings.Cut(strings.TrimPrefix(e.url, "/"), "?")
	e.query = query
	parts := strings.Split(p, "/")
	e.typ = parts[0]
	switch {
	case len(parts) == 2 && query == "" && e.method != http.MethodPost:
		e.id = parts[1]
	case len(parts) == 4 && parts[2] == "_history" && e.method == http.MethodGet:
		e.id, e.vid = parts[1], parts[3]
	case len(parts) == 1 && (e.method != http.MethodPatch && (query != "" || e.method == http.MethodPost)):
	default:
		return nil, fail(http.StatusBadRequest, "invalid", "request.url "+strconv.Quote(clip(e.url))+" is not a valid URL for "+e.method, e.at(".request.url"))
	}
	if err := s.checkType(e.typ); err != nil {
		return nil, relocate(err, e.at(".request.url"))
	}
	if e.method == http.MethodDelete && e.id == "" {
		return nil, fail(http.StatusBadRequest, "not-supported", "conditional delete is not supported", e.at(".request.url"))
	}
	rm, _ := m["resource"].(map[string]any)
	switch e.method {
	case http.MethodPost, http.MethodPut:
		if rm == nil {
			return nil, fail(http.StatusBadRequest, "required", e.method+" needs a resource", e.at(".resource"))
		}
		r, err := fhir.FromTree(rm)
		if err != nil {
			return nil, relocate(err, e.at(".resource"))
		}
		if r.Type != e.typ {
			return nil, fail(http.StatusBadRequest, "invalid", "resourceType "+r.Type+" does not match request.url", e.at(".resource.resourceType"))
		}
		if e.id != "" && r.ID != e.id {
			return nil, fail(http.StatusBadRequest, "invalid", "the resource id does not match request.url", e.at(".resource.id"))
		}
		e.res = r
	case http.MethodPatch:
		data, _ := rm["data"].(string)
		ct, _ := rm["contentType"].(string)
		patch, err := base64.StdEncoding.DecodeString(data)
		if rm["resourceType"] != "Binary" || ct != "application/json-patch+json" || err != nil {
			return nil, fail(http.StatusBadRequest, "not-supported", "PATCH needs a Binary resource with contentType application/json-patch+json and base64 data", e.at(".resource"))
		}
		e.patch = patch
	}
	return e, nil
}

// apply runs entries in w in the R4 order (DELETE, POST, PUT/PATCH, GET).
// Unless pre says that prepare ran before the write, it first resolves
// and rewrites the references between them; if it ran on the committed
// data, it checks that its reads have the same answers in w (errStale).
func (s *Service) apply(ctx context.Context, w store.Writer, entries []*txEntry, base string, pre *prepared) error {
	for _, e := range byMethod(entries, http.MethodDelete) {
		o, err := s.delete(ctx, w, e.typ, e.id)
		if err != nil {
			return relocate(err, e.at(".request"))
		}
		e.status, e.v = o.Status, o.Version
	}
	switch {
	case pre == nil:
		if err := s.prepare(ctx, w, entries, false); err != nil {
			return err
		}
	case pre.rec != nil:
		if err := pre.rec.check(ctx, w); err != nil {
			return err
		}
	}
	for _, e := range byMethod(entries, http.MethodPost, http.MethodPut, http.MethodPatch) {
		var o Outcome
		var err error
		switch {
		case e.res == nil && e.method != http.MethodPatch:
			continue // conditional create matched
		case e.method == http.MethodPatch:
			o, err = s.patch(ctx, w, e.typ, e.id, e.patch, e.ifMatch)
		case e.stamped.Body != nil:
			o, err = s.putNew(ctx, w, e.stamped)
		case e.newID:
			o, err = s.create(ctx, w, e.res, e.id)
		default:
			o, err = s.put(ctx, w, e.res, e.id, e.ifMatch)
		}
		if err != nil {
			return relocate(err, e.at(".resource"))
		}
		e.status, e.v = o.Status, o.Version
		if e.method == http.MethodPost {
			e.status = http.StatusCreated
		}
	}
	for _, e := range byMethod(entries, http.MethodGet) {
		if err := s.get(ctx, w, e, base); err != nil {
			return relocate(err, e.at(".request.url"))
		}
	}
	return nil
}

// byMethod returns the entries with one of the methods, in Bundle order.
func byMethod(entries []*txEntry, methods ...string) []*txEntry {
	var out []*txEntry
	for _, e := range entries {
		if slices.Contains(methods, e.method) {
			out = append(out, e)
		}
	}
	return out
}

// needsStore reports whether preparing entries needs to search the store:
// for conditional creates, conditional updates or conditional references.
func needsStore(entries []*txEntry) bool {
	for _, e := range entries {
		if e.ifNoneExist != "" || (e.method == http.MethodPut && e.query != "") {
			return true
		}
		if e.res == nil {
			continue
		}
		found := false
		walkReferences(e.res.Tree, func(m map[string]any, _ string) {
			_, _, ok := conditionalRef(m["reference"].(string))
			found = found || ok
		})
		if found {
			return true
		}
	}
	return false
}

// prepare assigns the ids of the resources that entries write, rewrites
// the references between them and validates them. r is searched for
// conditional creates, updates and references; it may be nil when
// needsStore is false. With stamp (prepare before the write), the creates
// are also stamped so that the writer only stores them.
func (s *Service) prepare(ctx context.Context, r store.Reader, entries []*txEntry, stamp bool) error {
	ids := map[string]string{} // fullUrl -> Type/id
	targets := map[string]bool{}
	for _, e := range byMethod(entries, http.MethodPost, http.MethodPut) {
		switch {
		case e.method == http.MethodPost && e.ifNoneExist != "":
			v, n, err := s.matchOne(ctx, r, e.typ, e.ifNoneExist, "ifNoneExist")
			if err != nil {
				return relocate(err, e.at(".request.ifNoneExist"))
			}
			if n == 1 {
				e.status, e.v, e.res = http.StatusOK, v, nil
				e.id = v.ID
			} else {
				e.id, e.newID = s.opts.NewID(), true
			}
		case e.method == http.MethodPost:
			e.id, e.newID = s.opts.NewID(), true
		case e.query != "":
			vals, _ := url.ParseQuery(e.query)
			v, n, err := s.matchOne(ctx, r, e.typ, e.query, "conditional update")
			switch {
			case err != nil:
				return relocate(err, e.at(".request.url"))
			case n == 1:
				e.id = v.ID
			case e.res.ID != "":
				e.id = e.res.ID
			default:
				e.id, e.newID = s.opts.NewID(), true
			}
			e.query = vals.Encode()
		}
		if e.res != nil {
			k := e.typ + "/" + e.id
			if targets[k] {
				return fail(http.StatusBadRequest, "duplicate", "the Bundle writes "+k+" more than once", e.at(".request.url"))
			}
			targets[k] = true
		}
		if e.fullURL != "" {
			ids[e.fullURL] = e.typ + "/" + e.id
		}
	}
	for _, e := range byMethod(entries, http.MethodPost, http.MethodPut) {
		if e.res == nil {
			continue
		}
		if err := s.rewrite(ctx, r, e, ids, entries); err != nil {
			return err
		}
		if err := s.check(e.res, e.typ, ""); err != nil {
			return relocate(err, e.at(".resource"))
		}
		if stamp && e.newID {
			v, err := s.stamp(e.res, e.id, 1)
			if err != nil {
				return relocate(err, e.at(".resource"))
			}
			e.stamped = v
		}
	}
	return nil
}

// get runs a GET entry: read, vread or search.
func (s *Service) get(ctx context.Context, r store.Reader, e *txEntry, base string) error {
	var v store.Version
	var err error
	switch {
	case e.vid != "":
		n, perr := strconv.ParseInt(e.vid, 10, 64)
		if perr != nil {
			return fail(http.StatusNotFound, "not-found", "no such version")
		}
		v, err = r.VRead(ctx, e.typ, e.id, n)
	case e.id != "":
		v, err = r.Read(ctx, e.typ, e.id)
	default:
		vals, perr := url.ParseQuery(e.query)
		if perr != nil {
			return fail(http.StatusBadRequest, "invalid", "not a search query string")
		}
		e.body, err = s.search(ctx, r, e.typ, vals, true, base)
		e.status = http.StatusOK
		return err
	}
	if err = s.readable(ctx, r, v, storeError(err, e.typ+"/"+e.id), e.typ+"/"+e.id); err != nil {
		return err
	}
	if v.Deleted {
		return fail(http.StatusGone, "deleted", e.typ+"/"+e.id+" was deleted")
	}
	e.status, e.v, e.body = http.StatusOK, v, v.Body
	return nil
}

// rewrite replaces, in e's resource, references to fullUrls of the Bundle
// by the resources' ids and conditional references (Type?query) by the one
// resource they match: in the store, or else by identifier among the
// Bundle's resources. No match or several is an error.
func (s *Service) rewrite(ctx context.Context, r store.Reader, e *txEntry, ids map[string]string, entries []*txEntry) error {
	var err error
	walkReferences(e.res.Tree, func(m map[string]any, path string) {
		if err != nil {
			return
		}
		ref := m["reference"].(string)
		if to, ok := ids[ref]; ok {
			m["reference"] = to
			return
		}
		typ, query, ok := conditionalRef(ref)
		if !ok {
			return
		}
		at := e.at(".resource." + path + ".reference")
		v, n, merr := s.matchOne(ctx, r, typ, query, "conditional reference")
		if merr != nil {
			err = relocate(merr, at)
			return
		}
		inBundle := matchIdentifier(entries, typ, query)
		switch {
		case n+len(inBundle) > 1 && !(n == 1 && len(inBundle) == 1 && inBundle[0] == v.ID):
			err = fail(http.StatusPreconditionFailed, "multiple-matches", "conditional reference "+clip(ref)+" matches more than one resource", at)
		case n == 1:
			m["reference"] = typ + "/" + v.ID
		case len(inBundle) == 1:
			m["reference"] = typ + "/" + inBundle[0]
		default:
			err = fail(http.StatusBadRequest, "not-found", "conditional reference "+clip(ref)+" matches no resource", at)
		}
	})
	return err
}

// conditionalRef splits a conditional reference "Type?query".
func conditionalRef(ref string) (typ, query string, ok bool) {
	typ, query, ok = strings.Cut(ref, "?")
	return typ, query, ok && fhir.IsResourceType(typ)
}

// matchIdentifier returns the ids of the Bundle's resources of type typ
// that a query of the form identifier=[system|]value matches (the form
// Synthea and most senders use for conditional references); nil for
// other queries.
func matchIdentifier(entries []*txEntry, typ, query string) []string {
	vals, err := url.ParseQuery(query)
	if err != nil || len(vals) != 1 || len(vals["identifier"]) != 1 {
		return nil
	}
	sys, val, hasSys := strings.Cut(vals["identifier"][0], "|")
	if !hasSys {
		sys, val = "", sys
	}
	var out []string
	for _, e := range entries {
		if e.res == nil || e.res.Type != typ {
			continue
		}
		list, _ := e.res.Tree["identifier"].([]any)
		for _, x := range list {
			id, _ := x.(map[string]any)
			if id["value"] == val && (!hasSys || id["system"] == sys || (sys == "" && id["system"] == nil)) {
				out = append(out, e.id)
				break
			}
		}
	}
	return out
}
