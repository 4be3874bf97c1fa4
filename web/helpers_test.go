package web

import (
	"encoding/json"
	"net/http"
	"testing"
)

func decodeJSON(t *testing.T, res *http.Response, v any) {
	t.Helper()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
