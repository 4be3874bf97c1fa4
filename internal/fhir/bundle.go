package fhir

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Bundle is the view of a Bundle used to process transactions and batches
// and to build search, history and response bundles. Entry resources are
// *Resource values that share their trees with the parsed bundle.
type Bundle struct {
	ID    string
	Type  string // document, message, transaction, transaction-response, batch, batch-response, history, searchset, collection
	Total *int
	Link  []BundleLink
	Entry []BundleEntry
}

// BundleLink is a link of a Bundle (self, next, previous, ...).
type BundleLink struct {
	Relation string
	URL      string
}

// BundleEntry is one entry of a Bundle; absent parts are nil or "".
type BundleEntry struct {
	FullURL  string
	Resource *Resource
	Search   *BundleSearch
	Request  *BundleRequest
	Response *BundleResponse
}

// BundleSearch holds why an entry is in a search result.
type BundleSearch struct {
	Mode  string      // match, include, outcome
	Score json.Number // "" when absent
}

// BundleRequest is the request of a transaction or batch entry. Method is
// GET, HEAD, POST, PUT, DELETE or PATCH; URL is relative to the server
// base ("Patient", "Patient/1", "Patient?identifier=x").
type BundleRequest struct {
	Method          string
	URL             string
	IfNoneMatch     string
	IfModifiedSince string
	IfMatch         string
	IfNoneExist     string
}

// BundleResponse is the outcome of one entry of a transaction or batch.
type BundleResponse struct {
	Status       string // "201 Created", ...
	Location     string
	Etag         string
	LastModified string
	Outcome      *Resource
}

var bundleTypes = []string{"document", "message", "transaction", "transaction-response", "batch", "batch-response", "history", "searchset", "collection"}

var bundleMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}

// ParseBundle parses a Bundle from JSON; see [BundleOf] for the checks.
func ParseBundle(data []byte) (*Bundle, error) {
	r, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return BundleOf(r)
}

// BundleOf reads the Bundle view of a parsed Bundle resource. It checks
// what processing a bundle needs and reports every problem with its
// location (for example "Bundle.entry[3].request.method"): the bundle
// type; each entry's resource (a known resourceType and a string id);
// in transactions and batches a request with a valid method and a url on
// every entry, a resource on every POST and PUT, and unique fullUrls; in
// transaction and batch responses a response with a status on every
// entry. Errors are *Error with status 400.
func BundleOf(r *Resource) (*Bundle, error) {
	if r.Type != "Bundle" {
		return nil, badRequest("invalid", "expected a Bundle, got a "+r.Type, r.Type)
	}
	p := bundleParser{}
	m := r.Tree
	b := &Bundle{ID: r.ID}
	b.Type = p.str(m, "type", "Bundle", true)
	if b.Type != "" && !slices.Contains(bundleTypes, b.Type) {
		p.add("value", "unknown bundle type (want one of "+strings.Join(bundleTypes, ", ")+")", "Bundle.type")
	}
	if tv, ok := m["total"]; ok {
		n, isNum := tv.(json.Number)
		total, err := strconv.Atoi(string(n))
		if !isNum || err != nil || total < 0 {
			p.add("value", "total must be a non-negative integer", "Bundle.total")
		} else {
			b.Total = &total
		}
	}
	for i, lm := range p.objects(m, "link", "Bundle") {
		at := "Bundle.link[" + strconv.Itoa(i) + "]"
		b.Link = append(b.Link, BundleLink{Relation: p.str(lm, "relation", at, true), URL: p.str(lm, "url", at, true)})
	}
	entries := p.objects(m, "entry", "Bundle")
	b.Entry = make([]BundleEntry, len(entries))
	fullURLs := make(map[string]int)
	for i, em := range entries {
		at := "Bundle.entry[" + strconv.Itoa(i) + "]"
		e := &b.Entry[i]
		e.FullURL = p.str(em, "fullUrl", at, false)
		e.Resource = p.resource(em, "resource", at)
		if sm := p.object(em, "search", at); sm != nil {
			e.Search = &BundleSearch{Mode: p.str(sm, "mode", at+".search", false)}
			if sv, ok := sm["score"]; ok {
				if e.Search.Score, ok = sv.(json.Number); !ok {
					p.add("value", "score must be a number", at+".search.score")
				}
			}
		}
		if rm := p.object(em, "request", at); rm != nil {
			rat := at + ".request"
			e.Request = &BundleRequest{
				Method:          p.str(rm, "method", rat, true),
				URL:             p.str(rm, "url", rat, true),
				IfNoneMatch:     p.str(rm, "ifNoneMatch", rat, false),
				IfModifiedSince: p.str(rm, "ifModifiedSince", rat, false),
				IfMatch:         p.str(rm, "ifMatch", rat, false),
				IfNoneExist:     p.str(rm, "ifNoneExist", rat, false),
			}
			if e.Request.Method != "" && !slices.Contains(bundleMethods, e.Request.Method) {
				p.add("value", "unknown method (want one of "+strings.Join(bundleMethods, ", ")+")", rat+".method")
			}
		}
		if rm := p.object(em, "response", at); rm != nil {
			rat := at + ".response"
			e.Response = &BundleResponse{
				Status:       p.str(rm, "status", rat, true),
				Location:     p.str(rm, "location", rat, false),
				Etag:         p.str(rm, "etag", rat, false),
				LastModified: p.str(rm, "lastModified", rat, false),
				Outcome:      p.resource(rm, "outcome", rat),
			}
		}
		switch b.Type {
		case "transaction", "batch":
			switch {
			case e.Request == nil:
				p.add("required", "every entry of a "+b.Type+" needs a request", at+".request")
			case (e.Request.Method == "POST" || e.Request.Method == "PUT") && e.Resource == nil && em["resource"] == nil:
				p.add("required", e.Request.Method+" entries need a resource", at+".resource")
			}
			if e.FullURL != "" {
				if j, dup := fullURLs[e.FullURL]; dup {
					p.add("invariant", "fullUrl repeats that of entry "+strconv.Itoa(j), at+".fullUrl")
				} else {
					fullURLs[e.FullURL] = i
				}
			}
		case "transaction-response", "batch-response":
			if e.Response == nil {
				p.add("required", "every entry of a "+b.Type+" needs a response", at+".response")
			}
		}
	}
	if err := errStatus(http.StatusBadRequest, p.issues); err != nil {
		return nil, err
	}
	return b, nil
}

// bundleParser reads members of a bundle's tree, collecting issues.
type bundleParser struct {
	issues []Issue
}

func (p *bundleParser) add(code, diag, expr string) {
	p.issues = append(p.issues, Issue{Severity: "error", Code: code, Diagnostics: diag, Expression: []string{expr}})
}

// str returns m[key] as a string ("" when absent or not a string).
func (p *bundleParser) str(m map[string]any, key, at string, required bool) string {
	v, ok := m[key]
	if !ok {
		if required {
			p.add("required", "required element is missing", at+"."+key)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok || s == "" {
		p.add("structure", key+" must be a non-empty string", at+"."+key)
	}
	return s
}

func (p *bundleParser) object(m map[string]any, key, at string) map[string]any {
	v, ok := m[key]
	if !ok {
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		p.add("structure", key+" must be a JSON object", at+"."+key)
	}
	return o
}

func (p *bundleParser) objects(m map[string]any, key, at string) []map[string]any {
	v, ok := m[key]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		p.add("structure", key+" must be a JSON array", at+"."+key)
		return nil
	}
	out := make([]map[string]any, len(arr))
	for i, e := range arr {
		o, ok := e.(map[string]any)
		if !ok {
			p.add("structure", key+" items must be JSON objects", at+"."+key+"["+strconv.Itoa(i)+"]")
			o = map[string]any{}
		}
		out[i] = o
	}
	return out
}

func (p *bundleParser) resource(m map[string]any, key, at string) *Resource {
	o := p.object(m, key, at)
	if o == nil {
		return nil
	}
	r, err := fromTree(o, at+"."+key)
	if err != nil {
		p.issues = append(p.issues, err.(*Error).Issues...)
		return nil
	}
	return r
}

// MarshalJSON writes the bundle as a FHIR Bundle resource. Entry resources
// are written from their trees.
func (b *Bundle) MarshalJSON() ([]byte, error) {
	m := map[string]any{"resourceType": "Bundle", "type": b.Type}
	if b.ID != "" {
		m["id"] = b.ID
	}
	if b.Total != nil {
		m["total"] = *b.Total
	}
	if len(b.Link) > 0 {
		links := make([]any, len(b.Link))
		for i, l := range b.Link {
			links[i] = map[string]any{"relation": l.Relation, "url": l.URL}
		}
		m["link"] = links
	}
	if len(b.Entry) > 0 {
		entries := make([]any, len(b.Entry))
		for i, e := range b.Entry {
			em := map[string]any{}
			setStr(em, "fullUrl", e.FullURL)
			if e.Resource != nil {
				em["resource"] = e.Resource.Tree
			}
			if s := e.Search; s != nil {
				sm := map[string]any{}
				setStr(sm, "mode", s.Mode)
				if s.Score != "" {
					sm["score"] = s.Score
				}
				em["search"] = sm
			}
			if r := e.Request; r != nil {
				rm := map[string]any{"method": r.Method, "url": r.URL}
				setStr(rm, "ifNoneMatch", r.IfNoneMatch)
				setStr(rm, "ifModifiedSince", r.IfModifiedSince)
				setStr(rm, "ifMatch", r.IfMatch)
				setStr(rm, "ifNoneExist", r.IfNoneExist)
				em["request"] = rm
			}
			if r := e.Response; r != nil {
				rm := map[string]any{"status": r.Status}
				setStr(rm, "location", r.Location)
				setStr(rm, "etag", r.Etag)
				setStr(rm, "lastModified", r.LastModified)
				if r.Outcome != nil {
					rm["outcome"] = r.Outcome.Tree
				}
				em["response"] = rm
			}
			entries[i] = em
		}
		m["entry"] = entries
	}
	return appendJSON(make([]byte, 0, 4096), m), nil
}

func setStr(m map[string]any, key, v string) {
	if v != "" {
		m[key] = v
	}
}
