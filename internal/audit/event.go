package audit

import (
	"encoding/base64"
	"net"
	"strconv"
	"time"

	"github.com/doppelhealth/doppel/internal/search"
)

// Interactions (the subtype code of a REST AuditEvent, from
// http://hl7.org/fhir/restful-interaction) and the BALP action each takes.
const (
	Read         = "read"
	VRead        = "vread"
	Search       = "search-type"
	SearchSystem = "search-system"
	History      = "history-instance"
	Create       = "create"
	Update       = "update"
	Patch        = "patch"
	Delete       = "delete"
	Batch        = "batch"
	Transaction  = "transaction"
	Operation    = "operation" // $export, $everything and twin queries: Record.Operation names it
	Login        = "login"     // a token checked (DICOM 110114 User Authentication); refused: outcome 4
)

// Outcomes (AuditEvent.outcome).
const (
	Success      = "0"
	MinorFailure = "4" // refused: bad token, missing scope, not found
	SeriousFail  = "8" // the server failed
)

// Record is one audited event, as the HTTP layer knows it. It holds
// identifiers only: Who is the token's subject, Client its client id. A
// request refused for want of a scope is recorded as the interaction it
// attempted with Outcome MinorFailure; a refused token as Login.
type Record struct {
	Time        time.Time // when it happened; recorded in UTC
	Interaction string    // one of the interaction constants
	Operation   string    // "$export", "$everything", "twin": for Interaction Operation
	Outcome     string    // Success, MinorFailure or SeriousFail
	Who         string    // subject of the token ("" when no valid token)
	Client      string    // client id of the token
	Address     string    // network address of the caller
	Patient     string    // "Patient/123" whose data it is, if known
	Resources   []string  // "Observation/7", ... the resources read or written
	Query       string    // the raw query string of a search or export
	System      bool      // Who is this server's own software (a twin), not a person
}

// action returns the BALP action code of an interaction.
func action(interaction string) string {
	switch interaction {
	case Create:
		return "C"
	case Update, Patch:
		return "U"
	case Delete:
		return "D"
	case Read, VRead, History:
		return "R"
	}
	return "E" // search, batch, transaction, operations
}

// agentRole is the type of r's requesting agent: a human user, or this
// server's own software when r.System is set.
func agentRole(r Record) code {
	if r.System {
		return roleSystem
	}
	return roleUser
}

// Code systems used in AuditEvents.
const (
	sysEventType   = "http://terminology.hl7.org/CodeSystem/audit-event-type"
	sysInteraction = "http://hl7.org/fhir/restful-interaction"
	sysDCM         = "http://dicom.nema.org/resources/ontology/DCM"
	sysEntityType  = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	sysObjectRole  = "http://terminology.hl7.org/CodeSystem/object-role"
	sysRoleType    = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
	sysSourceType  = "http://terminology.hl7.org/CodeSystem/security-source-type"
	sysDoppelUser  = "urn:doppel:subject"
	sysDoppelApp   = "urn:doppel:client"
)

// ChainURL is the extension holding a record's place in the hash chain:
// sub-extensions "seq" (valueString, decimal), "prev" and "hash"
// (valueString, lower-case hex SHA-256).
const ChainURL = "https://doppel.health/fhir/StructureDefinition/audit-chain"

// code is a coding; norm is its display folded for search.
type code struct{ system, code, display, norm string }

func newCode(system, c, display string) code { return code{system, c, display, search.Fold(display)} }

var (
	entPerson   = newCode(sysEntityType, "1", "Person")
	entObject   = newCode(sysEntityType, "2", "System Object")
	rolePatient = newCode(sysObjectRole, "1", "Patient")
	roleDomain  = newCode(sysObjectRole, "4", "Domain Resource")
	roleQuery   = newCode(sysObjectRole, "24", "Query")
	typeRest    = newCode(sysEventType, "rest", "Restful Operation")
	typeAuth    = newCode(sysDCM, "110114", "User Authentication")
	subLogin    = newCode(sysDCM, "110122", "Login")
	roleUser    = newCode(sysRoleType, "humanuser", "human user")
	roleApp     = newCode(sysDCM, "110153", "Source Role ID")
	roleSystem  = newCode(sysDCM, "110150", "Application")
	srcWeb      = newCode(sysSourceType, "3", "Web Server")
)

func coding(c code) map[string]any {
	m := map[string]any{"system": c.system, "code": c.code}
	if c.display != "" {
		m["display"] = c.display
	}
	return m
}

func str(url, v string) map[string]any { return map[string]any{"url": url, "valueString": v} }

// tree builds the AuditEvent of r as a generic JSON tree (without meta and
// without the chain's hash). observer names this server.
func (r Record) tree(id, observer string, seq int64, prev string) map[string]any {
	ev := map[string]any{"resourceType": "AuditEvent", "id": id}
	ev["extension"] = []any{map[string]any{"url": ChainURL, "extension": []any{
		str("seq", strconv.FormatInt(seq, 10)), str("prev", prev),
	}}}
	typ, sub := r.types()
	ev["type"] = coding(typ)
	ev["subtype"] = []any{coding(sub)}
	ev["action"] = action(r.Interaction)
	ev["recorded"] = timeText(r.Time)
	outcome := r.Outcome
	if outcome == "" {
		outcome = Success
	}
	ev["outcome"] = outcome
	if r.Operation != "" {
		ev["outcomeDesc"] = r.Operation
	}
	user := map[string]any{
		"type":      map[string]any{"coding": []any{coding(agentRole(r))}},
		"requestor": true,
	}
	if r.Who != "" {
		user["who"] = map[string]any{"identifier": map[string]any{"system": sysDoppelUser, "value": r.Who}}
	}
	if r.Address != "" {
		user["network"] = map[string]any{"address": r.Address, "type": networkType(r.Address)}
	}
	agents := []any{user}
	if r.Client != "" {
		agents = append(agents, map[string]any{
			"type":      map[string]any{"coding": []any{coding(roleApp)}},
			"who":       map[string]any{"identifier": map[string]any{"system": sysDoppelApp, "value": r.Client}},
			"requestor": false,
		})
	}
	ev["agent"] = agents
	ev["source"] = map[string]any{
		"observer": map[string]any{"display": observer},
		"type":     []any{coding(srcWeb)},
	}
	var ents []any
	if r.Patient != "" {
		ents = append(ents, map[string]any{
			"what": map[string]any{"reference": r.Patient},
			"type": coding(entPerson),
			"role": coding(rolePatient),
		})
	}
	for _, ref := range r.Resources {
		if ref == r.Patient {
			continue
		}
		ents = append(ents, map[string]any{
			"what": map[string]any{"reference": ref},
			"type": coding(entObject),
			"role": coding(roleDomain),
		})
	}
	if r.Query != "" {
		ents = append(ents, map[string]any{
			"type":  coding(entObject),
			"role":  coding(roleQuery),
			"query": base64.StdEncoding.EncodeToString([]byte(r.Query)),
		})
	}
	if ents != nil {
		ev["entity"] = ents
	}
	return ev
}

// networkType is AuditEvent.agent.network.type: 2 for an IP address, 1 for
// a machine name.
func networkType(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if net.ParseIP(host) != nil {
		return "2"
	}
	return "1"
}
