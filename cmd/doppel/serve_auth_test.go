package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doppelhealth/doppel/internal/auth"
)

// adminToken mints an admin token (user/*.cruds) with the instance key of
// the data directory dir, as doppel token --role admin does. Call it after
// serve has started on dir: serve creates the key.
func adminToken(t *testing.T, dir string) string {
	t.Helper()
	return mintToken(t, dir, auth.Grant{Role: "admin"})
}

// mintToken mints a token for g with the instance key in dir.
func mintToken(t *testing.T, dir string, g auth.Grant) string {
	t.Helper()
	key, err := auth.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(key, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Subject == "" {
		g.Subject = "serve-test"
	}
	if g.TTL == 0 {
		g.TTL = 10 * time.Minute
	}
	tok, err := a.Mint(g)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestServeAuth: doppel serve is secure by default. Its first start
// creates the instance key and says how to get a token; /fhir/metadata,
// /.well-known/ and /healthz are open; everything else needs a token
// (401 with WWW-Authenticate) whose scopes allow it; a token from doppel
// token works; a patient token reaches only its compartment (SEC-01,
// SEC-02, SEC-03).
func TestServeAuth(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServe(t, dir)
	root := strings.TrimSuffix(base, "/fhir")
	code, out, stderr := doppel(t, "token", "--data", dir, "--role", "admin")
	if code != exitOK {
		t.Fatalf("doppel token: exit %d: %s", code, stderr)
	}
	admin := []string{"Authorization", "Bearer " + strings.TrimSpace(out)}
	patient := []string{"Authorization", "Bearer " + mintToken(t, dir, auth.Grant{Role: "patient", Patient: "p1"})}

	for _, r := range []struct{ path, body string }{
		{"/Patient/p1", `{"resourceType":"Patient","id":"p1"}`},
		{"/Patient/p2", `{"resourceType":"Patient","id":"p2"}`},
		{"/Observation/o2", `{"resourceType":"Observation","id":"o2","status":"final","code":{"text":"hr"},"subject":{"reference":"Patient/p2"}}`},
	} {
		if code, _, body := send(t, "PUT", base+r.path, r.body, admin...); code != http.StatusCreated {
			t.Fatalf("PUT %s as admin: %d: %s", r.path, code, body)
		}
	}
	for _, tc := range []struct {
		name, url string
		hdr       []string
		want      int
	}{
		{"metadata open", base + "/metadata", nil, 200},
		{"smart-configuration open", root + "/.well-known/smart-configuration", nil, 200},
		{"JWK Set open", root + "/.well-known/jwks.json", nil, 200},
		{"health check open", root + "/healthz", nil, 200},
		{"read without token", base + "/Patient/p1", nil, 401},
		{"search without token", base + "/Observation", nil, 401},
		{"bad token", base + "/Patient/p1", []string{"Authorization", "Bearer x.y.z"}, 401},
		{"admin reads", base + "/Observation/o2", admin, 200},
		{"patient reads its own Patient", base + "/Patient/p1", patient, 200},
		{"patient reads another patient's Observation", base + "/Observation/o2", patient, 404},
		{"patient asks another patient's $everything", base + "/Patient/p2/$everything", patient, 403},
	} {
		req, err := http.NewRequest("GET", tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(tc.hdr); i += 2 {
			req.Header.Set(tc.hdr[i], tc.hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if ch := resp.Header.Get("WWW-Authenticate"); (tc.want == 401 && !strings.HasPrefix(ch, "Bearer ")) || (tc.want == 200 && ch != "") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, ch)
		}
	}
	code, _, body := send(t, "GET", base+"/Observation?subject=Patient/p2", "", patient...)
	var b struct{ Entry []json.RawMessage }
	if err := json.Unmarshal(body, &b); code != http.StatusOK || err != nil || len(b.Entry) != 0 {
		t.Errorf("patient p1 searches p2's Observations: status %d: %s", code, body)
	}

	code, stderr = stop()
	if code != exitOK {
		t.Fatalf("serve exit %d: %s", code, stderr)
	}
	hint := "doppel token --data " + dir + " --role admin"
	if !strings.Contains(stderr, hint) {
		t.Errorf("first start: stderr does not say %q:\n%s", hint, stderr)
	}
	// The second start finds the key and says nothing of it.
	_, stop = startServe(t, dir)
	if _, stderr := stop(); strings.Contains(stderr, hint) {
		t.Errorf("second start repeats the hint:\n%s", stderr)
	}
}

// TestServeOIDCFlags: external issuer flags are checked before serving.
func TestServeOIDCFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--oidc-audience", "doppel"}, "need --oidc-issuer"},
		{[]string{"--oidc-issuer", "https://idp.example.org/realms/a"}, "need one --oidc-audience"},
		{[]string{"--oidc-issuer", "https://a.example.org", "--oidc-issuer", "https://b.example.org", "--oidc-audience", "x", "--oidc-audience", "y", "--oidc-audience", "z"}, "got 3"},
		{[]string{"--oidc-issuer", "https://a.example.org", "--oidc-audience", "x", "--oidc-jwks", "https://a/1", "--oidc-jwks", "https://a/2"}, "--oidc-jwks each"},
		{[]string{"--oidc-issuer", "http://idp.example.org", "--oidc-audience", "x"}, "not an https URL"},
	} {
		code, _, stderr := doppel(t, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %q: exit %d, stderr %q; want usage error with %q", tc.args, code, stderr, tc.want)
		}
	}
}
