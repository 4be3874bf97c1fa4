package fhirops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Search runs a search on type typ (all types if empty) and returns a
// searchset Bundle (JSON). strict is the Prefer handling=strict header: an
// unknown parameter is then a 400, else it is ignored. Paging links carry
// the snapshot and offset (_snapshot, _offset), which Search accepts back.
//
// A request confined to a patient's compartment (see [WithAccess]) finds
// only resources in it, whatever its parameters, and its _include and
// _revinclude add only such resources; a search of all types is refused
// to it (403).
func (s *Service) Search(ctx context.Context, typ string, params url.Values, strict bool, base string) ([]byte, error) {
	kind := "search-type"
	if typ == "" {
		kind = "search-system"
	}
	if err := permit(ctx, kind, typ); err != nil {
		return nil, err
	}
	return s.search(ctx, s.st, typ, params, strict, base)
}

// search is Search on r.
func (s *Service) search(ctx context.Context, r store.Reader, typ string, params url.Values, strict bool, base string) ([]byte, error) {
	if typ != "" {
		if err := s.checkType(typ); err != nil {
			return nil, err
		}
	}
	params, after := s.cutAfter(typ, params) // series_search.go
	q, issues, err := s.parseQuery(typ, params, strict)
	if err != nil {
		return nil, err
	}
	pid, err := confinedTo(ctx)
	if err != nil {
		return nil, err
	}
	if pid != "" && typ == "" {
		return nil, outside("a search of all types is not confined to a compartment: search one type")
	}
	count := q.Count
	if q.Summary == "count" {
		q.Count = 1
	}
	page, sp, err := s.observationPage(ctx, r, q, pid, after) // series_search.go: device samples merged in
	if err != nil {
		return nil, err
	}
	b := bundle{ResourceType: "Bundle", Type: "searchset"}
	if page.Total >= 0 {
		b.Total = &page.Total
	}
	q.Count, q.Snapshot = count, page.T
	b.Link = sp.links(path(base, typ), q, len(page.Matches), page.Total)
	outcome := sp.warn // warnings
	for _, is := range issues {
		outcome = append(outcome, fhir.Issue{Severity: "warning", Code: "not-supported", Diagnostics: is.String()})
	}
	if q.Summary != "count" {
		for _, v := range page.Matches {
			body, err := subset(v.Body, q)
			if err != nil {
				return nil, err
			}
			b.Entry = append(b.Entry, entryJSON{FullURL: fullURL(base, v), Resource: body, Search: &entrySearch{Mode: "match"}})
		}
		inc, truncated, err := s.included(ctx, r, q, page.Matches, page.T)
		if truncated {
			outcome = append(outcome, fhir.Issue{Severity: "warning", Code: "too-costly", Diagnostics: "_include/_revinclude: more than " +
				strconv.Itoa(s.opts.MaxIncludes) + " resources to include in this page; the includes were truncated to the first " +
				strconv.Itoa(s.opts.MaxIncludes) + " (a smaller _count includes fewer per page)"})
		}
		if err == nil {
			inc, err = s.filterVisible(ctx, r, inc)
		}
		if err != nil {
			return nil, err
		}
		for _, v := range inc {
			b.Entry = append(b.Entry, entryJSON{FullURL: fullURL(base, v), Resource: v.Body, Search: &entrySearch{Mode: "include"}})
		}
	}
	if len(outcome) > 0 {
		b.Entry = append(b.Entry, entryJSON{Resource: fhir.OperationOutcome(outcome...), Search: &entrySearch{Mode: "outcome"}})
	}
	return json.Marshal(b)
}

// searchPage runs q on r, confined to patient pid's compartment if pid is
// not "". q's clauses are left as the client gave them, for the links.
func (s *Service) searchPage(ctx context.Context, r store.Reader, q *search.Query, pid string) (store.Page, error) {
	cq := q
	if pid != "" {
		c := *q
		none, err := s.confine(ctx, r, &c, pid)
		if err != nil {
			return store.Page{}, err
		}
		if none {
			return store.Page{T: q.Snapshot}, nil
		}
		cq = &c
	}
	page, err := r.Search(ctx, cq, q.Snapshot)
	if err != nil {
		return store.Page{}, storeError(err, "search")
	}
	return page, nil
}

// parseQuery parses a search with the service's page limits; a bad query
// is a 400.
func (s *Service) parseQuery(typ string, params url.Values, strict bool) (*search.Query, []search.Issue, error) {
	q, issues, err := s.reg.ParseQuery(typ, params, strict, search.Limits{DefaultCount: s.opts.DefaultCount, MaxCount: s.opts.MaxCount})
	if se, ok := errors.AsType[*search.Error](err); ok {
		return nil, nil, fail(http.StatusBadRequest, "invalid", se.Error())
	}
	if err != nil {
		return nil, nil, err
	}
	if issues, err = unindexedAudit(q, issues, strict); err != nil {
		return nil, nil, err
	}
	return q, issues, nil
}

// unindexedAudit removes from q the clauses and sort keys on AuditEvent
// search parameters that the audit trail does not index (audit.Indexed):
// they would match none of its records, or sort none, without a word.
// With strict that is a 400; else each one removed is reported as an
// issue, as an unknown parameter is.
func unindexedAudit(q *search.Query, issues []search.Issue, strict bool) ([]search.Issue, error) {
	var bad []string
	check := func(typ, param string) bool {
		if typ == auditEventType && !audit.Indexed(param) {
			bad = append(bad, param)
			return true
		}
		return false
	}
	q.Clauses = slices.DeleteFunc(q.Clauses, func(c search.Clause) bool {
		return check(q.Type, c.Param) || c.Chain != nil && check(c.Chain.TargetType, c.Chain.Clause.Param)
	})
	q.Sort = slices.DeleteFunc(q.Sort, func(k search.Sort) bool { return check(q.Type, k.Param) })
	for _, p := range bad {
		msg := "the audit trail does not index this AuditEvent search parameter (it indexes _id, _lastUpdated, action, date, entity, outcome, patient, subtype and type)"
		if strict {
			return nil, fail(http.StatusBadRequest, "not-supported", fmt.Sprintf("parameter %q: %s", p, msg))
		}
		issues = append(issues, search.Issue{Param: p, Message: msg})
	}
	return issues, nil
}

// auditEventType is the resource type of the audit trail.
const auditEventType = "AuditEvent"

// searchLinks returns the self, next and previous links of the page of q
// (on snapshot q.Snapshot) that holds n of total matches (-1: not counted).
func searchLinks(path string, q *search.Query, n, total int) []link {
	offset := q.Offset
	u := func(off int) string {
		q.Offset = off
		return path + "?" + q.Encode().Encode()
	}
	links := []link{{"self", u(offset)}}
	if q.Summary != "count" && ((total >= 0 && offset+n < total) || (total < 0 && n == q.Count && n > 0)) {
		links = append(links, link{"next", u(offset + q.Count)})
	}
	if offset > 0 && q.Summary != "count" {
		links = append(links, link{"previous", u(max(0, offset-q.Count))})
	}
	q.Offset = offset
	return links
}

// included returns the resources that q's _include and _revinclude add to
// matches (one level), each once and none that is a match, on snapshot at:
// at most MaxIncludes of them, and whether there were more (truncated).
func (s *Service) included(ctx context.Context, r store.Reader, q *search.Query, matches []store.Version, at int64) (out []store.Version, truncated bool, err error) {
	if len(q.Include) == 0 && len(q.RevInclude) == 0 {
		return nil, false, nil
	}
	seen := map[string]bool{}
	for _, v := range matches {
		seen[v.Type+"/"+v.ID] = true
	}
	add := func(vs []store.Version) {
		for _, v := range vs {
			if k := v.Type + "/" + v.ID; !seen[k] {
				if len(out) == s.opts.MaxIncludes {
					truncated = true
					return
				}
				seen[k] = true
				out = append(out, v)
			}
		}
	}
	// limit is how many matches of one more search are read: enough for
	// the room left, plus those already seen, plus one that tells whether
	// there are more.
	limit := func() int { return s.opts.MaxIncludes - len(out) + len(seen) + 1 }
	for _, inc := range q.Include {
		ids := map[string][]string{} // target type -> ids
		for _, v := range matches {
			if v.Type != inc.SourceType {
				continue
			}
			res, err := fhir.Parse(v.Body)
			if err != nil {
				return nil, false, err
			}
			entries, err := s.reg.Extract(res.Type, res.Tree)
			if err != nil {
				return nil, false, err
			}
			for _, e := range entries {
				if e.Param == inc.Param && e.RefID != "" && (inc.TargetType == "" || e.RefType == inc.TargetType) {
					ids[e.RefType] = append(ids[e.RefType], e.RefID)
				}
			}
		}
		for _, t := range sortedKeys(ids) {
			if truncated {
				return out, true, nil
			}
			vs, err := s.searchAll(ctx, r, t, url.Values{"_id": {strings.Join(ids[t], ",")}}, at, limit())
			if err != nil {
				return nil, false, err
			}
			add(vs)
		}
	}
	for _, inc := range q.RevInclude {
		var refs []string
		for _, v := range matches {
			if inc.TargetType == "" || v.Type == inc.TargetType {
				refs = append(refs, v.Type+"/"+v.ID)
			}
		}
		if len(refs) == 0 || truncated {
			continue
		}
		vs, err := s.searchAll(ctx, r, inc.SourceType, url.Values{inc.Param: {strings.Join(refs, ",")}}, at, limit())
		if err != nil {
			return nil, false, err
		}
		add(vs)
	}
	return out, truncated, nil
}

// searchAll returns the matches of a search on snapshot at, reading pages
// of MaxCount: all of them, or the first limit if limit > 0.
func (s *Service) searchAll(ctx context.Context, r store.Reader, typ string, params url.Values, at int64, limit int) ([]store.Version, error) {
	q, _, err := s.parseQuery(typ, params, true)
	if err != nil {
		return nil, err
	}
	q.Offset = 0
	var out []store.Version
	for {
		q.Count = s.opts.MaxCount
		if limit > 0 {
			q.Count = min(q.Count, limit-len(out))
		}
		page, err := r.Search(ctx, q, at)
		if err != nil {
			return nil, storeError(err, "search")
		}
		out = append(out, page.Matches...)
		if len(page.Matches) < q.Count || limit > 0 && len(out) == limit {
			return out, nil
		}
		q.Offset += len(page.Matches)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// subsettedTag marks a resource that a _elements or _summary left
// incomplete (R4 search.html §3.1.1.5.9).
var subsettedTag = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}

// subset applies q's _elements and _summary (text, data) to a resource.
// _summary=true needs the elements' isSummary flags, which this server
// does not have; it returns the full resource.
func subset(body []byte, q *search.Query) ([]byte, error) {
	var keep func(k string) bool
	switch {
	case len(q.Elements) > 0:
		keep = func(k string) bool { return slices.Contains(q.Elements, k) }
	case q.Summary == "text":
		keep = func(k string) bool { return k == "text" }
	case q.Summary == "data":
		keep = func(k string) bool { return k != "text" }
	default:
		return body, nil
	}
	r, err := fhir.Parse(body)
	if err != nil {
		return nil, err
	}
	for k := range r.Tree {
		if k != "resourceType" && k != "id" && k != "meta" && !keep(k) {
			delete(r.Tree, k)
		}
	}
	meta, _ := r.Tree["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		r.Tree["meta"] = meta
	}
	tags, _ := meta["tag"].([]any)
	meta["tag"] = append(tags, subsettedTag)
	return r.MarshalJSON()
}

// History returns a history Bundle (JSON) of one resource (typ and id), of
// a type (id empty) or of the system (both empty). params: _count, _since,
// and the paging parameters of its own links. base is the service base URL
// ("http://host/fhir") used for fullUrl and links.
//
// A request confined to a patient's compartment sees only the versions in
// it of one resource's history; the history of a type or of the system
// is refused to it (403).
func (s *Service) History(ctx context.Context, typ, id string, params url.Values, base string) ([]byte, error) {
	if typ != "" {
		if err := s.checkType(typ); err != nil {
			return nil, err
		}
	}
	kind := "history-system"
	switch {
	case id != "":
		kind = "history-instance"
	case typ != "":
		kind = "history-type"
	}
	if err := permit(ctx, kind, typ); err != nil {
		return nil, err
	}
	pid, err := confinedTo(ctx)
	if err != nil {
		return nil, err
	}
	if pid != "" && id == "" {
		return nil, outside("the history of a type or of the system is not confined to a compartment: ask for one resource's history")
	}
	if id != "" {
		v, err := s.st.Read(ctx, typ, id)
		if errors.Is(err, store.ErrDeleted) {
			err = nil
		}
		if err = s.readable(ctx, s.st, v, storeError(err, typ+"/"+id), typ+"/"+id); err != nil {
			return nil, err
		}
	}
	pg, rest, err := cutPaging(params)
	if err != nil {
		return nil, err
	}
	hq := store.HistoryQuery{Type: typ, ID: id, At: pg.at, Offset: pg.offset, Count: s.opts.DefaultCount}
	for k, vs := range rest {
		val := vs[len(vs)-1]
		switch k {
		case "_count":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return nil, fail(http.StatusBadRequest, "invalid", "_count must be a positive integer")
			}
			hq.Count = min(n, s.opts.MaxCount)
		case "_since":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return nil, fail(http.StatusBadRequest, "invalid", "_since must be an instant such as 2024-01-02T03:04:05Z")
			}
			hq.Since = t
		default:
			return nil, fail(http.StatusBadRequest, "not-supported", "unknown _history parameter "+strconv.Quote(clip(k)))
		}
	}
	page, err := s.st.History(ctx, hq)
	if err != nil {
		return nil, storeError(err, "history")
	}
	if pid != "" {
		// One resource's versions: those of another compartment (it was
		// moved) are left out.
		if page.Matches, err = s.filterVisible(ctx, s.st, page.Matches); err != nil {
			return nil, err
		}
	}
	b := bundle{ResourceType: "Bundle", Type: "history", Total: &page.Total}
	if page.Total < 0 || pid != "" {
		b.Total = nil
	}
	b.Link = pageLinks(path(base, typ, id, "_history"), rest, page.T, pg.offset, hq.Count, len(page.Matches), page.Total)
	for _, v := range page.Matches {
		e := entryJSON{FullURL: fullURL(base, v)}
		switch {
		case v.Deleted:
			e.Request = &entryRequest{http.MethodDelete, v.Type + "/" + v.ID}
			e.Response = response(http.StatusNoContent, v)
		case v.VersionID == 1:
			e.Resource = v.Body
			e.Request = &entryRequest{http.MethodPost, v.Type}
			e.Response = response(http.StatusCreated, v)
		default:
			e.Resource = v.Body
			e.Request = &entryRequest{http.MethodPut, v.Type + "/" + v.ID}
			e.Response = response(http.StatusOK, v)
		}
		b.Entry = append(b.Entry, e)
	}
	return json.Marshal(b)
}

// Everything returns a searchset Bundle with patient id and every resource
// in its compartment, plus the Practitioner, Organization and Location
// resources they refer to, paged like Search (_count, and the links'
// _snapshot and _offset).
//
// A request confined to a patient's compartment may ask only for its own
// patient's (403 for another); it needs read and search on every type,
// which the caller's authorisation checks.
func (s *Service) Everything(ctx context.Context, id string, params url.Values, base string) ([]byte, error) {
	pid, err := confinedTo(ctx)
	if err != nil {
		return nil, err
	}
	if pid != "" && pid != id {
		return nil, outside("$everything of Patient/" + clip(id) + ": the token is confined to Patient/" + pid)
	}
	pg, rest, err := cutPaging(params)
	if err != nil {
		return nil, err
	}
	count := s.opts.DefaultCount
	for k, vs := range rest {
		if k != "_count" {
			return nil, fail(http.StatusBadRequest, "not-supported", "unknown $everything parameter "+strconv.Quote(clip(k)))
		}
		n, err := strconv.Atoi(vs[len(vs)-1])
		if err != nil || n < 1 {
			return nil, fail(http.StatusBadRequest, "invalid", "_count must be a positive integer")
		}
		count = min(n, s.opts.MaxCount)
	}
	q, _, err := s.parseQuery("Patient", url.Values{"_id": {id}}, true)
	if err != nil {
		return nil, err
	}
	page, err := s.st.Search(ctx, q, pg.at)
	if err != nil {
		return nil, storeError(err, "Patient/"+id)
	}
	if len(page.Matches) == 0 {
		return nil, fail(http.StatusNotFound, "not-found", "Patient/"+id+" not found")
	}
	at := page.T
	all := page.Matches[:1]
	seen := map[string]bool{"Patient/" + id: true}
	add := func(vs []store.Version) {
		for _, v := range vs {
			if k := v.Type + "/" + v.ID; !seen[k] {
				seen[k] = true
				all = append(all, v)
			}
		}
	}
	for _, t := range fhir.ResourceTypes() {
		if t == "Patient" {
			continue // other patients linked to this one are not its data
		}
		for _, p := range s.reg.CompartmentParams(t) {
			vs, err := s.searchAll(ctx, s.st, t, url.Values{p: {"Patient/" + id}}, at, 0)
			if err != nil {
				return nil, err
			}
			add(vs)
		}
	}
	refs := map[string][]string{}
	for _, v := range all {
		var tree any
		if err := json.Unmarshal(v.Body, &tree); err != nil {
			return nil, err
		}
		walkReferences(tree, func(m map[string]any, _ string) {
			ref, _ := m["reference"].(string)
			t, rid, ok := strings.Cut(ref, "/")
			if ok && (t == "Practitioner" || t == "Organization" || t == "Location") && !seen[ref] && !strings.Contains(rid, "/") {
				refs[t] = append(refs[t], rid)
			}
		})
	}
	for _, t := range sortedKeys(refs) {
		vs, err := s.searchAll(ctx, s.st, t, url.Values{"_id": {strings.Join(refs[t], ",")}}, at, 0)
		if err != nil {
			return nil, err
		}
		add(vs)
	}
	all = slices.DeleteFunc(all, func(v store.Version) bool { return permit(ctx, "read", v.Type) != nil })
	total := len(all)
	b := bundle{ResourceType: "Bundle", Type: "searchset", Total: &total}
	lo := min(pg.offset, total)
	hi := min(lo+count, total)
	rest.Set("_count", strconv.Itoa(count))
	b.Link = pageLinks(path(base, "Patient", id, "$everything"), rest, at, lo, count, hi-lo, total)
	for _, v := range all[lo:hi] {
		b.Entry = append(b.Entry, entryJSON{FullURL: fullURL(base, v), Resource: v.Body, Search: &entrySearch{Mode: "match"}})
	}
	return json.Marshal(b)
}

// walkReferences calls fn on every JSON object in tree that has a
// "reference" element (a Reference value anywhere in a resource), with the
// object's path from the root ("subject", "participant[0].individual").
func walkReferences(tree any, fn func(m map[string]any, path string)) {
	walkAt(tree, "", fn)
}

func walkAt(tree any, path string, fn func(m map[string]any, path string)) {
	switch v := tree.(type) {
	case map[string]any:
		if _, ok := v["reference"].(string); ok {
			fn(v, path)
		}
		for k, c := range v {
			if path != "" {
				k = path + "." + k
			}
			walkAt(c, k, fn)
		}
	case []any:
		for i, c := range v {
			walkAt(c, path+"["+strconv.Itoa(i)+"]", fn)
		}
	}
}
