package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/fhir"
)

// The parts of an R4 CapabilityStatement this server fills in.
type (
	capabilityStatement struct {
		ResourceType   string      `json:"resourceType"`
		Status         string      `json:"status"`
		Date           string      `json:"date"`
		Kind           string      `json:"kind"`
		Instantiates   []string    `json:"instantiates,omitempty"`
		Software       capSoftware `json:"software"`
		Implementation capImpl     `json:"implementation"`
		FHIRVersion    string      `json:"fhirVersion"`
		Format         []string    `json:"format"`
		PatchFormat    []string    `json:"patchFormat"`
		Rest           []capRest   `json:"rest"`
	}
	capSoftware struct {
		Name string `json:"name"`
	}
	capImpl struct {
		Description string `json:"description"`
		URL         string `json:"url"`
	}
	capRest struct {
		Mode        string           `json:"mode"`
		Security    capSecurity      `json:"security"`
		Resource    []capResource    `json:"resource"`
		Interaction []capInteraction `json:"interaction"`
		Operation   []capOperation   `json:"operation,omitempty"`
	}
	capSecurity struct {
		CORS        bool         `json:"cors"`
		Service     []capConcept `json:"service,omitempty"`
		Description string       `json:"description"`
	}
	capConcept struct {
		Coding []capCoding `json:"coding"`
		Text   string      `json:"text,omitempty"`
	}
	capCoding struct {
		System  string `json:"system"`
		Code    string `json:"code"`
		Display string `json:"display,omitempty"`
	}
	capResource struct {
		Extension         []capExtension   `json:"extension,omitempty"`
		Type              string           `json:"type"`
		SupportedProfile  []string         `json:"supportedProfile,omitempty"`
		Interaction       []capInteraction `json:"interaction"`
		Versioning        string           `json:"versioning"`
		ReadHistory       bool             `json:"readHistory"`
		ConditionalRead   string           `json:"conditionalRead"`
		UpdateCreate      bool             `json:"updateCreate"`
		ConditionalCreate bool             `json:"conditionalCreate"`
		ConditionalUpdate bool             `json:"conditionalUpdate"`
		ConditionalDelete string           `json:"conditionalDelete"`
		SearchParam       []capSearchParam `json:"searchParam,omitempty"`
		Operation         []capOperation   `json:"operation,omitempty"`
	}
	capInteraction struct {
		Code string `json:"code"`
	}
	capExtension struct {
		URL            string `json:"url"`
		ValueCanonical string `json:"valueCanonical"`
	}
	capSearchParam struct {
		Name       string `json:"name"`
		Definition string `json:"definition,omitempty"`
		Type       string `json:"type"`
	}
	capOperation struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
	}
)

// operationDefinitions are the canonical definitions of the operations
// routes serve, by "Type/$op" ("" type: system level).
var operationDefinitions = map[string]string{
	"Patient/$everything": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
	"/$export":            "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
	"Patient/$export":     "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
	"Group/$export":       "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
}

// typeKinds are the interactions of the type and instance levels, in the
// order of the R4 TypeRestfulInteraction value set.
var typeKinds = []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"}

// restfulSecurityService is the R4 code system of
// CapabilityStatement.rest.security.service.
const restfulSecurityService = "http://terminology.hl7.org/CodeSystem/restful-security-service"

// security describes how requests are authorised. Behind the Scopes
// Authorizer every request but the metadata needs a bearer token with SMART
// scopes: the service is SMART-on-FHIR. Tokens come from doppel token or a
// configured OpenID Connect provider, not from an authorize or token
// endpoint of this server, so the SMART oauth-uris extension
// (http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris),
// which names such endpoints, is left out. CORS headers are not sent.
func (s *Server) security() capSecurity {
	if _, smart := s.opts.Authorizer.(Scopes); !smart {
		return capSecurity{Description: "Requests are not authenticated by this server."}
	}
	return capSecurity{
		Service: []capConcept{{
			Coding: []capCoding{{System: restfulSecurityService, Code: "SMART-on-FHIR", Display: "SMART-on-FHIR"}},
			Text:   "SMART App Launch v2 scopes",
		}},
		Description: "Every request but GET /fhir/metadata needs a bearer token (JWT) whose SMART v2 scopes " +
			"(patient/, user/, system/) allow it; a patient-level token reaches only its patient's compartment. " +
			"This server has no authorize or token endpoint, so no oauth-uris extension is given: tokens are minted " +
			"with `doppel token` or issued by the OpenID Connect provider the server trusts. " +
			"Discovery: /.well-known/smart-configuration. CORS is not supported.",
	}
}

// capabilityStatement describes what the routes serve: the interactions of
// the route table, for every R4 resource type, with the supported search
// parameters of the registry.
func (s *Server) capabilityStatement(base string) capabilityStatement {
	var typeLevel []capInteraction
	var system capRest
	system.Mode = "server"
	system.Security = s.security()
	has := map[string]bool{}
	ops := map[string][]capOperation{} // by type
	for _, rt := range s.routes {
		has[rt.pattern] = true
		if rt.kind == "operation" {
			key := rt.typ + "/" + rt.op
			if def, ok := operationDefinitions[key]; ok {
				ops[rt.typ] = append(ops[rt.typ], capOperation{Name: strings.TrimPrefix(rt.op, "$"), Definition: def})
			}
		}
	}
	for _, k := range typeKinds {
		if slices.ContainsFunc(s.routes, func(rt route) bool { return rt.kind == k && rt.typ == "" }) {
			typeLevel = append(typeLevel, capInteraction{Code: k})
		}
	}
	for _, rt := range s.routes {
		switch rt.kind {
		case "transaction":
			system.Interaction = append(system.Interaction, capInteraction{Code: "transaction"}, capInteraction{Code: "batch"})
		case "history-system", "search-system":
			system.Interaction = append(system.Interaction, capInteraction{Code: rt.kind})
		}
	}
	system.Operation = ops[""]
	for _, t := range fhir.ResourceTypes() {
		res := capResource{
			Type:              t,
			Interaction:       typeLevel,
			Versioning:        "versioned",
			ReadHistory:       has["GET /fhir/{type}/{id}/_history/{vid}"],
			ConditionalRead:   "full-support", // sendVersion
			UpdateCreate:      has["PUT /fhir/{type}/{id}"],
			ConditionalCreate: has["POST /fhir/{type}"],
			ConditionalUpdate: has["PUT /fhir/{type}"],
			ConditionalDelete: "not-supported",
			Operation:         ops[t],
		}
		if t == auditEventType { // written by the server only (audit.go)
			res.Interaction = slices.DeleteFunc(slices.Clone(typeLevel), func(in capInteraction) bool { return isWrite(in.Code) })
			res.UpdateCreate, res.ConditionalCreate, res.ConditionalUpdate = false, false, false
		}
		if t == "Subscription" {
			s.subscriptionCapability(&res) // subscription.go
		}
		for _, p := range s.reg.Params(t) {
			if p.Supported() && (t != auditEventType || audit.Indexed(p.Code)) {
				res.SearchParam = append(res.SearchParam, capSearchParam{Name: p.Code, Definition: p.URL, Type: string(p.Type)})
			}
		}
		system.Resource = append(system.Resource, res)
	}
	cs := capabilityStatement{
		ResourceType:   "CapabilityStatement",
		Status:         "active",
		Date:           s.started,
		Kind:           "instance",
		Software:       capSoftware{Name: "Doppel"},
		Implementation: capImpl{Description: "Doppel FHIR R4 server", URL: base},
		FHIRVersion:    "4.0.1",
		Format:         []string{"application/fhir+json", "json"},
		PatchFormat:    []string{jsonPatchType},
		Rest:           []capRest{system},
	}
	if len(ops[""]) > 0 {
		cs.Instantiates = []string{"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"}
	}
	if s.opts.Subscriptions != nil {
		cs.Instantiates = append(cs.Instantiates, backportServer)
	}
	return cs
}

func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) error {
	b, err := json.Marshal(s.capabilityStatement(s.base(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}
