package auth

import (
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseJWKS(t *testing.T) {
	body, err := os.ReadFile("testdata/jwks-mixed.json")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for kid, k := range keys {
		kids = append(kids, kid)
		if !k.IsPublic() {
			t.Errorf("%s: not a public key", kid)
		}
	}
	slices.Sort(kids)
	if diff := cmp.Diff([]string{"ec-sig", "ed-sig", "rsa-sig"}, kids); diff != "" {
		t.Errorf("usable keys (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"keys":[]}`, `{}`, `[]`, `{"keys":[{"kty":"oct","kid":"a","k":"AAAA"}]}`, `not json`} {
		if _, err := parseJWKS([]byte(bad)); err == nil {
			t.Errorf("parseJWKS(%s) found keys", bad)
		}
	}
}

// FuzzParseJWKS checks that no JWK Set makes the parser panic or yield a
// key that is not a public signing key with its kid.
func FuzzParseJWKS(f *testing.F) {
	body, err := os.ReadFile("testdata/jwks-mixed.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseJWKS(b)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" || k.KeyID != kid || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
				t.Fatalf("key %q: %+v", kid, k)
			}
		}
	})
}
