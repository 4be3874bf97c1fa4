package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/fhir"
)

// TestCapabilityStatement checks the statement's shape and then that every
// interaction and operation it advertises answers with something other
// than 404, 405 or 501, for every resource type.
func TestCapabilityStatement(t *testing.T) {
	e := newEnv(t, Options{ExportDir: t.TempDir()})
	w := e.do("GET", "/fhir/metadata", "")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var cs capabilityStatement
	if err := json.Unmarshal(w.Body.Bytes(), &cs); err != nil {
		t.Fatal(err)
	}
	if cs.ResourceType != "CapabilityStatement" || cs.FHIRVersion != "4.0.1" || cs.Kind != "instance" || len(cs.Rest) != 1 {
		t.Fatalf("statement: %.300s", w.Body)
	}
	rest := cs.Rest[0]
	var types []string
	for _, r := range rest.Resource {
		types = append(types, r.Type)
	}
	if !slices.Equal(types, fhir.ResourceTypes()) {
		t.Errorf("resource types: %d, want the %d R4 types", len(types), len(fhir.ResourceTypes()))
	}
	// The R4 definitions: Patient's family is a string parameter,
	// Observation's code a token one (search-parameters.json).
	wantParams := map[string]capSearchParam{
		"Patient/family":   {Name: "family", Definition: "http://hl7.org/fhir/SearchParameter/individual-family", Type: "string"},
		"Observation/code": {Name: "code", Definition: "http://hl7.org/fhir/SearchParameter/clinical-code", Type: "token"},
	}

	answered := func(what string, code int) {
		t.Helper()
		if code == http.StatusNotFound || code == http.StatusMethodNotAllowed || code == http.StatusNotImplemented {
			t.Errorf("%s: status %d", what, code)
		}
	}
	instanceChecked := 0
	for _, r := range rest.Resource {
		for k, want := range wantParams {
			if typ, code, _ := strings.Cut(k, "/"); typ == r.Type {
				i := slices.IndexFunc(r.SearchParam, func(p capSearchParam) bool { return p.Name == code })
				if i < 0 || r.SearchParam[i] != want {
					t.Errorf("%s: searchParam %s missing or not %+v", r.Type, code, want)
				}
			}
		}
		var id string
		codes := map[string]bool{}
		for _, in := range r.Interaction {
			codes[in.Code] = true
		}
		base := "/fhir/" + r.Type
		minimal := `{"resourceType":"` + r.Type + `"}`
		if codes["create"] {
			w := e.do("POST", base, minimal)
			answered(r.Type+" create", w.Code)
			if w.Code == http.StatusCreated {
				var c struct{ ID string }
				_ = json.Unmarshal(w.Body.Bytes(), &c)
				id = c.ID
			}
		}
		for _, k := range []string{"search-type", "history-type"} {
			if !codes[k] {
				t.Errorf("%s: %s not advertised", r.Type, k)
			}
		}
		w := e.do("GET", base+"?_count=1", "")
		answered(r.Type+" search-type", w.Code)
		w = e.do("GET", base+"/_history", "")
		answered(r.Type+" history-type", w.Code)
		if id == "" {
			continue // no valid minimal resource: required elements
		}
		instanceChecked++
		inst := base + "/" + id
		for _, op := range r.Operation {
			target := inst + "/$" + op.Name
			if op.Name == "export" && r.Type == "Patient" {
				target = base + "/$export"
			}
			w := e.do("GET", target, "", "Prefer", "respond-async")
			answered(r.Type+" $"+op.Name, w.Code)
		}
		for _, c := range []struct{ code, method, target, body, ct string }{
			{"read", "GET", inst, "", ""},
			{"vread", "GET", inst + "/_history/1", "", ""},
			{"history-instance", "GET", inst + "/_history", "", ""},
			{"update", "PUT", inst, `{"resourceType":"` + r.Type + `","id":"` + id + `"}`, "application/fhir+json"},
			{"patch", "PATCH", inst, `[{"op":"add","path":"/language","value":"en"}]`, jsonPatchType},
			{"delete", "DELETE", inst, "", ""},
		} {
			if !codes[c.code] {
				t.Errorf("%s: %s not advertised", r.Type, c.code)
				continue
			}
			w := e.do(c.method, c.target, c.body, "Content-Type", c.ct)
			answered(r.Type+" "+c.code, w.Code)
		}
	}
	// Only the types with no required element (33 of the R4 types,
	// Patient among them) accept {"resourceType": T}.
	if instanceChecked < 30 {
		t.Errorf("instance interactions checked on %d types only", instanceChecked)
	}
	for _, in := range rest.Interaction {
		var code int
		switch in.Code {
		case "transaction", "batch":
			code = e.do("POST", "/fhir", `{"resourceType":"Bundle","type":"`+in.Code+`","entry":[]}`).Code
		case "history-system":
			code = e.do("GET", "/fhir/_history", "").Code
		case "search-system":
			code = e.do("GET", "/fhir?_count=1", "").Code
		default:
			t.Errorf("system interaction %s: no check", in.Code)
			continue
		}
		answered("system "+in.Code, code)
	}
	for _, op := range rest.Operation {
		w := e.do("GET", "/fhir/$"+op.Name, "", "Prefer", "respond-async")
		answered("system $"+op.Name, w.Code)
	}
	wantOps := []capOperation{{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}}
	if !slices.Equal(rest.Operation, wantOps) {
		t.Errorf("system operations %v, want %v", rest.Operation, wantOps)
	}
}

// TestCapabilityWithoutExport: with no ExportDir, $export is neither
// advertised nor served.
func TestCapabilityWithoutExport(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.do("GET", "/fhir/metadata", "")
	if strings.Contains(w.Body.String(), "export") {
		t.Errorf("statement mentions export")
	}
	if w := e.do("GET", "/fhir/$export", "", "Prefer", "respond-async"); w.Code != http.StatusNotFound {
		t.Errorf("$export without ExportDir: status %d, want 404", w.Code)
	}
}

// TestCapabilitySecurity checks rest[0].security against the R4
// CapabilityStatement definition: cors false (no CORS headers are sent);
// behind the Scopes Authorizer the service coded SMART-on-FHIR from the
// restful-security-service code system, and no SMART oauth-uris extension,
// since the server has no authorize or token endpoint; without it no
// service.
func TestCapabilitySecurity(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   Options
		want   string // rest[0].security without description
		inDesc string
	}{
		{"open", Options{}, `{"cors":false}`, "not authenticated"},
		{"smart", Options{Authorizer: Scopes{}}, `{"cors":false,"service":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/restful-security-service",
			"code":"SMART-on-FHIR","display":"SMART-on-FHIR"}],"text":"SMART App Launch v2 scopes"}]}`, "no oauth-uris extension"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newEnv(t, tc.opts).do("GET", "/fhir/metadata", "")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var cs struct {
				Rest []struct{ Security map[string]any }
			}
			if err := json.Unmarshal(w.Body.Bytes(), &cs); err != nil || len(cs.Rest) != 1 {
				t.Fatalf("statement: %v: %.300s", err, w.Body)
			}
			got := cs.Rest[0].Security
			desc, _ := got["description"].(string)
			delete(got, "description")
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("security (-want +got):\n%s", diff)
			}
			if !strings.Contains(desc, tc.inDesc) {
				t.Errorf("description %q lacks %q", desc, tc.inDesc)
			}
			if strings.Contains(w.Body.String(), "fhir-registry.smarthealthit.org") {
				t.Errorf("a SMART extension is given: %.300s", w.Body)
			}
		})
	}
}
