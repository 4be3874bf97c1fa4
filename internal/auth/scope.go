package auth

import (
	"fmt"
	"strings"

	"github.com/doppelhealth/doppel/internal/fhir"
)

// Scope is one SMART App Launch resource scope, such as
// patient/Observation.rs (SMART App Launch 2.2, "Scopes for requesting
// clinical data").
type Scope struct {
	// Level is "patient", "user" or "system".
	Level string
	// Type is a FHIR resource type, or "*" for every type.
	Type string
	// Perms holds the granted permissions, a subsequence of "cruds":
	// create, read, update, delete, search.
	Perms string
	// Query is a granular restriction ("category=...|vital-signs"), "" if
	// none. Doppel does not enforce granular restrictions yet, so a scope
	// with one grants nothing: see [Principal.Allows].
	Query string
}

// String returns s in the SMART v2 form: level/Type.perms[?query].
func (s Scope) String() string {
	out := s.Level + "/" + s.Type + "." + s.Perms
	if s.Query != "" {
		out += "?" + s.Query
	}
	return out
}

// v1Perms maps a SMART v1 permission word onto v2 letters, as SMART App
// Launch 2.x does for compatibility: read = rs, write = cud, * = cruds.
func v1Perms(word string) (string, bool) {
	switch word {
	case "read":
		return "rs", true
	case "write":
		return "cud", true
	case "*":
		return "cruds", true
	}
	return "", false
}

// isContextScope reports whether w is a SMART scope that asks for launch
// context or identity rather than data: valid, and granting no data access.
func isContextScope(w string) bool {
	switch w {
	case "openid", "fhirUser", "profile", "launch", "launch/patient",
		"launch/encounter", "offline_access", "online_access":
		return true
	}
	return false
}

// ParseScope parses one resource scope: v2 "patient/Observation.rs",
// "user/*.cruds", "system/Patient.r?identifier=x", or v1
// "patient/Observation.read", "user/*.write", "user/*.*", which it maps to
// their v2 permissions.
func ParseScope(s string) (Scope, error) {
	level, rest, ok := strings.Cut(s, "/")
	if !ok || (level != "patient" && level != "user" && level != "system") {
		return Scope{}, fmt.Errorf("auth: scope %q: want patient/, user/ or system/ followed by Type.permissions", clip(s))
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	if hasQuery && query == "" {
		return Scope{}, fmt.Errorf("auth: scope %q: empty restriction after ?", clip(s))
	}
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok {
		return Scope{}, fmt.Errorf("auth: scope %q: missing .permissions (such as .rs or .cruds)", clip(s))
	}
	if typ != "*" && !fhir.IsResourceType(typ) {
		return Scope{}, fmt.Errorf("auth: scope %q: %q is not a FHIR R4 resource type or *", clip(s), clip(typ))
	}
	if v2, ok := v1Perms(perms); ok {
		perms = v2
	} else if !validPerms(perms) {
		return Scope{}, fmt.Errorf("auth: scope %q: permissions must be letters of cruds, in that order, or read, write, *", clip(s))
	}
	return Scope{Level: level, Type: typ, Perms: perms, Query: query}, nil
}

// validPerms reports whether p is a non-empty subsequence of "cruds" (each
// letter once, in order), as SMART v2 requires.
func validPerms(p string) bool {
	if p == "" {
		return false
	}
	rest := "cruds"
	for _, c := range p {
		i := strings.IndexRune(rest, c)
		if i < 0 {
			return false
		}
		rest = rest[i+1:]
	}
	return true
}

// parseScopeList parses a space-separated scope list. Resource scopes are
// returned; context scopes (openid, launch/patient...) are skipped. With
// strict it fails on any other word; without, it skips them too, because
// identity providers add scopes of their own (email, custom ones) that
// grant nothing here.
func parseScopeList(list string, strict bool) ([]Scope, error) {
	var out []Scope
	for _, w := range strings.Fields(list) {
		if isContextScope(w) {
			continue
		}
		sc, err := ParseScope(w)
		if err != nil {
			if strict {
				return nil, err
			}
			continue
		}
		out = append(out, sc)
	}
	return out, nil
}

// RoleScopes returns the scopes a token minted for a person in role
// carries, and false for an unknown role:
//
//	role        scopes         meaning
//	admin       user/*.cruds   everything, deletes included
//	clinician   user/*.crus    read, search and write clinical data; no delete
//	researcher  user/*.rs      read and search only
//	patient     patient/*.rs   read and search their own compartment (needs a patient id)
func RoleScopes(role string) (string, bool) {
	switch role {
	case "admin":
		return "user/*.cruds", true
	case "clinician":
		return "user/*.crus", true
	case "researcher":
		return "user/*.rs", true
	case "patient":
		return "patient/*.rs", true
	}
	return "", false
}

// clip shortens s, which comes from a client, for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
