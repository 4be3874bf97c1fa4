package web

import (
	"strings"
	"testing"
)

// FuzzDecodeSignIn: any body gives a token or an error, never a panic,
// and a token is never empty or padded.
func FuzzDecodeSignIn(f *testing.F) {
	for _, s := range []string{`{"token":"abc"}`, `{"token":""}`, `{"token":1}`, `{}`, `[]`, `{"token":"a"} {}`, "", `{"token":" x "}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		tok, err := decodeSignIn(strings.NewReader(body))
		if err != nil {
			if tok != "" {
				t.Fatalf("error %v with token %q", err, tok)
			}
			return
		}
		if tok == "" || strings.TrimSpace(tok) != tok {
			t.Fatalf("token %q from %q", tok, body)
		}
	})
}
