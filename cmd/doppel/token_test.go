package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/doppelhealth/doppel/internal/auth"
)

func TestToken(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := doppel(t, "token", "--data", data, "--scope", "user/Observation.read", "--role", "patient", "--patient", "p1", "--sub", "app-1", "--ttl", "1h")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	key, err := auth.LoadKey(data) // the key the command created
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(key, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Validate(context.Background(), strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []auth.Scope{
		{Level: "user", Type: "Observation", Perms: "rs"},
		{Level: "patient", Type: "*", Perms: "rs"},
	}
	if diff := cmp.Diff(want, p.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	if p.Subject != "app-1" || p.Patient != "p1" || p.Role != "patient" {
		t.Errorf("principal %+v", p)
	}

	// A second token comes from the same key.
	if code, _, errOut := doppel(t, "token", "--data", data, "--role", "admin"); code != exitOK {
		t.Errorf("second token: exit %d: %s", code, errOut)
	}
}

func TestTokenErrors(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--role", "patient"}, exitUsage, "patient"},
		{[]string{"--scope", "user/*.rx"}, exitUsage, "user/*.rx"},
		{[]string{"--role", "janitor"}, exitUsage, "janitor"},
		{[]string{}, exitUsage, "no resource scope"},
	} {
		code, out, errOut := doppel(t, append([]string{"token", "--data", data}, c.args...)...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("token %v: exit %d, stdout %q, stderr %q; want exit %d mentioning %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
	// A key file others can read is refused.
	if runtime.GOOS == "windows" {
		return
	}
	if err := os.Chmod(filepath.Join(data, auth.KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := doppel(t, "token", "--data", data, "--role", "admin"); code != exitFailure || out != "" || !strings.Contains(errOut, "chmod 600") {
		t.Errorf("open key file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
