package fhirops

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store"
)

// Access is what the caller's authorisation decided about a request: which
// interactions it may perform on which resource types, and the patient
// compartment it is confined to. An *auth.Principal satisfies it; the HTTP
// layer puts it in the context with [WithAccess].
type Access interface {
	// Allows reports whether interaction kind ("read", "vread",
	// "search-type", "history-instance", "create", "update", "patch",
	// "delete") is permitted on resourceType, leaving the compartment
	// aside.
	Allows(kind, resourceType string) bool
	// Compartment is "Patient/ID" when the request is confined to that
	// patient's compartment, "" when it is not confined.
	Compartment() string
}

// accessKey is the context key of a request's Access.
type accessKey struct{}

// WithAccess returns ctx carrying a: the Service's methods called with the
// returned context do only what a allows. A context without an Access is
// not restricted (doppel import, tests, a server without authentication).
func WithAccess(ctx context.Context, a Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// HasAccess reports whether ctx carries an Access, so that a caller that
// relies on the Service to confine a request can check that it will.
func HasAccess(ctx context.Context) bool {
	_, ok := ctx.Value(accessKey{}).(Access)
	return ok
}

// permit checks that the Access of ctx, if any, allows kind on typ: a
// denial is a 403.
func permit(ctx context.Context, kind, typ string) error {
	a, ok := ctx.Value(accessKey{}).(Access)
	if !ok || a.Allows(kind, typ) {
		return nil
	}
	what := typ
	if what == "" {
		what = "the system"
	}
	return fail(http.StatusForbidden, "forbidden", "access: the token's scopes do not allow "+kind+" on "+what)
}

// confinedTo returns the id of the patient whose compartment the Access of
// ctx confines the request to, "" when it is not confined. A compartment
// other than Patient/ID is refused (403): it could not be enforced.
func confinedTo(ctx context.Context) (string, error) {
	a, ok := ctx.Value(accessKey{}).(Access)
	if !ok {
		return "", nil
	}
	c := a.Compartment()
	if c == "" {
		return "", nil
	}
	id, ok := strings.CutPrefix(c, "Patient/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", outside("the request's compartment " + clip(c) + " is not a patient compartment")
	}
	return id, nil
}

// outside is the 403 of a request that reaches beyond its compartment.
func outside(diag string) *fhir.Error {
	return fail(http.StatusForbidden, "forbidden", "access: "+diag)
}

// OwnerSystem is the meta.tag system of the patient who owns a
// Subscription (code "Patient/ID"). R4 puts Subscription in no
// compartment, yet a patient app must be able to ask for its own new
// data: the Service writes this tag on every Subscription a request
// confined to a patient's compartment writes, and a confined request
// sees and changes only the Subscriptions its patient owns. The tag is
// the server's: one a client sends is replaced (by the writer's patient,
// or for an unconfined writer by the current version's owner, if any).
// Writes without an Access (import, the subscription engine's status
// updates) keep the body's tag.
const OwnerSystem = "https://doppel.health/fhir/CodeSystem/subscription-owner"

// subscriptionOwner returns the owner tag's code of a Subscription's
// body, "" when it has none.
func subscriptionOwner(body []byte) (string, error) {
	r, err := fhir.Parse(body)
	if err != nil {
		return "", err
	}
	meta, _ := r.Tree["meta"].(map[string]any)
	tags, _ := meta["tag"].([]any)
	for _, t := range tags {
		if m, ok := t.(map[string]any); ok && m["system"] == OwnerSystem {
			code, _ := m["code"].(string)
			return code, nil
		}
	}
	return "", nil
}

// owned returns v, a Subscription written by a request with an Access
// over the current version cur (zero if none), with the owner tag the
// server decides (see [OwnerSystem]) in place of any the client sent,
// re-indexed. Other versions, and writes without an Access, are returned
// unchanged.
func (s *Service) owned(ctx context.Context, cur, v store.Version) (store.Version, error) {
	if v.Type != "Subscription" || !HasAccess(ctx) {
		return v, nil
	}
	pid, err := confinedTo(ctx)
	if err != nil {
		return v, err
	}
	owner := ""
	switch {
	case pid != "":
		owner = "Patient/" + pid
	case cur.Body != nil && !cur.Deleted:
		if owner, err = subscriptionOwner(cur.Body); err != nil {
			return v, err
		}
	}
	r, err := fhir.Parse(v.Body)
	if err != nil {
		return v, err
	}
	meta, _ := r.Tree["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		r.Tree["meta"] = meta
	}
	tags, _ := meta["tag"].([]any)
	kept := slices.DeleteFunc(slices.Clone(tags), func(t any) bool {
		m, ok := t.(map[string]any)
		return ok && m["system"] == OwnerSystem
	})
	if owner != "" {
		kept = append(kept, map[string]any{"system": OwnerSystem, "code": owner})
	}
	if len(kept) == 0 {
		delete(meta, "tag")
	} else {
		meta["tag"] = kept
	}
	if v.Body, err = r.MarshalJSON(); err != nil {
		return v, err
	}
	if v.Index, err = s.reg.Extract(r.Type, r.Tree); err != nil {
		return v, fail(http.StatusBadRequest, "value", err.Error(), r.Type)
	}
	return v, nil
}

// inCompartment reports whether v is in patient pid's compartment: it is
// Patient/pid, or one of its type's compartment parameters (R4 Patient
// CompartmentDefinition) refers to Patient/pid, or it is a Subscription
// that Patient/pid owns ([OwnerSystem]). The index entries are
// extracted from the body, not taken from v, because stores may return
// them transformed (hashed at rest). A delete marker is in no compartment.
func (s *Service) inCompartment(v store.Version, pid string) (bool, error) {
	if v.Type == "Patient" {
		return v.ID == pid && v.Body != nil, nil
	}
	if v.Type == "Subscription" && v.Body != nil {
		owner, err := subscriptionOwner(v.Body)
		return owner == "Patient/"+pid, err
	}
	params := s.reg.CompartmentParams(v.Type)
	if len(params) == 0 || v.Body == nil {
		return false, nil
	}
	r, err := fhir.Parse(v.Body)
	if err != nil {
		return false, err
	}
	entries, err := s.reg.Extract(r.Type, r.Tree)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.RefType == "Patient" && e.RefID == pid && slices.Contains(params, e.Param) {
			return true, nil
		}
	}
	return false, nil
}

// visible reports whether a confined request may see v: v is in the
// compartment or, for a delete marker, the version it deleted was.
func (s *Service) visible(ctx context.Context, r store.Reader, v store.Version, pid string) (bool, error) {
	if !v.Deleted {
		return s.inCompartment(v, pid)
	}
	if v.VersionID <= 1 {
		return false, nil
	}
	prev, err := r.VRead(ctx, v.Type, v.ID, v.VersionID-1)
	if err != nil {
		return false, storeError(err, v.Type+"/"+v.ID)
	}
	return s.inCompartment(prev, pid)
}

// readable returns err unchanged, or, for a confined request, a 404 for a
// version outside the compartment: to such a request other patients' data
// does not exist.
func (s *Service) readable(ctx context.Context, r store.Reader, v store.Version, err error, what string) error {
	pid, cerr := confinedTo(ctx)
	if cerr != nil {
		return cerr
	}
	if pid == "" || (err != nil && v.Type == "") {
		return err
	}
	ok, verr := s.visible(ctx, r, v, pid)
	if verr != nil {
		return verr
	}
	if !ok {
		return fail(http.StatusNotFound, "not-found", what+" not found")
	}
	return err
}

// writable checks a write of a confined request: the current version cur
// (zero if none) and the new version v (zero for a delete) must both be in
// the compartment; else 403.
func (s *Service) writable(ctx context.Context, r store.Reader, cur, v store.Version) error {
	pid, err := confinedTo(ctx)
	if pid == "" || err != nil {
		return err
	}
	if cur.Type != "" {
		ok, err := s.visible(ctx, r, cur, pid)
		if err != nil {
			return err
		}
		if !ok {
			return outside(cur.Type + "/" + cur.ID + " is not in the compartment of Patient/" + pid)
		}
	}
	if v.Type != "" {
		ok, err := s.inCompartment(v, pid)
		if err != nil {
			return err
		}
		if !ok {
			return outside("the " + v.Type + " written is not in the compartment of Patient/" + pid + ": it must refer to the patient")
		}
	}
	return nil
}

// confine restricts q, a search on one type, to patient pid's compartment
// (R4 search on a compartment: the resource is the patient, or any of its
// type's compartment parameters refers to it). Queries cannot OR clauses
// of different parameters, so for a type with several compartment
// parameters the ids of its compartment resources are found first and
// the query is restricted to them (resources of the patient written in
// between are left out, never others' resources). none
// reports that the compartment holds no resource of the type. A type that
// is never in a patient compartment, and a chained parameter, are refused
// (403).
func (s *Service) confine(ctx context.Context, r store.Reader, q *search.Query, pid string) (none bool, err error) {
	if slices.ContainsFunc(q.Clauses, func(c search.Clause) bool { return c.Chain != nil }) {
		// A chain would test resources outside the compartment (the
		// other patient an Observation's performer names).
		return false, outside("chained search parameters are not available to a token confined to Patient/" + pid)
	}
	var vals url.Values
	params := s.reg.CompartmentParams(q.Type)
	switch {
	case q.Type == "Patient":
		vals = url.Values{"_id": {pid}}
	case q.Type == "Subscription":
		vals = url.Values{"_tag": {OwnerSystem + "|Patient/" + pid}}
	case len(params) == 0:
		return false, outside(q.Type + " resources are in no patient compartment, and the token is confined to Patient/" + pid)
	case len(params) == 1:
		vals = url.Values{params[0]: {"Patient/" + pid}}
	case slices.ContainsFunc(q.Clauses, func(c search.Clause) bool { return pins(c, params, pid) }):
		return false, nil // already confined: Observation?subject=Patient/ID
	default:
		var ids []string
		seen := map[string]bool{}
		at := q.Snapshot
		for _, p := range params {
			cq, _, err := s.parseQuery(q.Type, url.Values{p: {"Patient/" + pid}}, true)
			if err != nil {
				return false, err
			}
			cq.Count = s.opts.MaxCount
			for {
				page, err := r.Search(ctx, cq, at)
				if err != nil {
					return false, storeError(err, "search")
				}
				at = page.T
				for _, v := range page.Matches {
					if !seen[v.ID] {
						seen[v.ID] = true
						ids = append(ids, v.ID)
					}
				}
				if len(page.Matches) < cq.Count {
					break
				}
				cq.Offset += len(page.Matches)
			}
		}
		if len(ids) == 0 {
			return true, nil
		}
		vals = url.Values{"_id": {strings.Join(ids, ",")}}
	}
	cq, _, err := s.parseQuery(q.Type, vals, true)
	if err != nil {
		return false, err
	}
	q.Clauses = append(slices.Clip(q.Clauses), cq.Clauses...)
	return false, nil
}

// pins reports whether clause c restricts a search to resources whose
// compartment parameter refers to Patient/pid: one of params, with the one
// value Patient/pid.
func pins(c search.Clause, params []string, pid string) bool {
	if !slices.Contains(params, c.Param) || c.Chain != nil || len(c.Values) != 1 || (c.Modifier != "" && c.Modifier != "Patient") {
		return false
	}
	v := c.Values[0]
	return v.RefID == pid && (v.RefType == "Patient" || (v.RefType == "" && c.Modifier == "Patient"))
}

// filterVisible keeps the versions a confined request may see (all when
// it is not confined) whose type its Access allows reading.
func (s *Service) filterVisible(ctx context.Context, r store.Reader, vs []store.Version) ([]store.Version, error) {
	pid, err := confinedTo(ctx)
	if err != nil {
		return nil, err
	}
	out := vs[:0:0]
	for _, v := range vs {
		if permit(ctx, "read", v.Type) != nil {
			continue
		}
		if pid != "" {
			ok, err := s.visible(ctx, r, v, pid)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		out = append(out, v)
	}
	return out, nil
}
