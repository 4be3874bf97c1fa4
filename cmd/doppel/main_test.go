package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// doppel runs the command in-process and returns its exit code and output.
func doppel(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// entries lists the names in dir (hidden temporary files included).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"sim", "--help"}, {"validate", "--help"}, {"models", "--help"}, {"help", "sim"}} {
		code, out, errOut := doppel(t, args...)
		if code != exitOK {
			t.Errorf("doppel %s: exit %d, stderr %s", strings.Join(args, " "), code, errOut)
		}
		if !strings.Contains(out, "Examples:") || !strings.Contains(out, "doppel ") {
			t.Errorf("doppel %s: no examples in help:\n%s", strings.Join(args, " "), out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	ex := filepath.Join("..", "..", "examples", "adult001_day.yaml")
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"sim"}, "accepts 1 arg(s), received 0"},
		{[]string{"sim", ex, ex}, "accepts 1 arg(s), received 2"},
		{[]string{"sim", ex, "--bogus"}, "unknown flag: --bogus"},
		{[]string{"sim", ex, "--plot", filepath.Join(dir, "run.pdf")}, `unknown image type ".pdf"`},
		{[]string{"sim", ex, "--out", filepath.Join(dir, "x.png"), "--plot", filepath.Join(dir, "x.png")}, "name the same file"},
		{[]string{"sim", filepath.Join(dir, "missing.yaml")}, "no such file or directory"},
		{[]string{"simulate"}, `unknown command "simulate"`},
		{[]string{"models", "t2d"}, `unknown model "t2d"; valid: t1d`},
		{[]string{"validate", "t2d"}, `unknown model "t2d"; valid: t1d`},
	}
	for _, tt := range tests {
		code, _, errOut := doppel(t, tt.args...)
		if code != exitUsage {
			t.Errorf("doppel %s: exit %d, want %d", strings.Join(tt.args, " "), code, exitUsage)
		}
		if !strings.Contains(errOut, tt.want) {
			t.Errorf("doppel %s: stderr %q, want it to contain %q", strings.Join(tt.args, " "), errOut, tt.want)
		}
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("usage errors left files behind: %q", names)
	}
}

func TestOutputsAtomic(t *testing.T) {
	dir := t.TempDir()
	var o outputs
	w, err := o.create(filepath.Join(dir, "a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	if names := entries(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".a.csv.") {
		t.Errorf("while writing, dir holds %q, want one hidden temporary file", names)
	}
	o.discard()
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("after discard, dir holds %q", names)
	}

	o = outputs{}
	w, err = o.create(filepath.Join(dir, "b.csv"))
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("done"))
	if err := o.commit(); err != nil {
		t.Fatal(err)
	}
	o.discard() // no-op after commit
	b, err := os.ReadFile(filepath.Join(dir, "b.csv"))
	if err != nil || string(b) != "done" {
		t.Errorf("committed file = %q, %v", b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "b.csv")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("committed file mode %v, %v; want 0644", fi.Mode(), err)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("after commit, dir holds %q", names)
	}
	if _, err := o.create(filepath.Join(dir, "no", "such", "dir.csv")); err == nil {
		t.Error("create in a missing directory succeeded")
	}
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "simulating", 1000, "days", 10)
	for i := 0; i <= 1000; i++ {
		p.update(float64(i))
	}
	draws := strings.Count(buf.String(), "\r")
	if draws < 90 || draws > 102 {
		t.Errorf("%d redraws for 1000 updates, want about 100 (one per percent)", draws)
	}
	if !strings.Contains(buf.String(), "100% (100 of 100 days") {
		t.Errorf("last line %q", buf.String()[strings.LastIndex(buf.String(), "\r"):])
	}
	p.finish()
	var nilP *progress
	nilP.update(1) // a nil progress draws nothing and does not panic
	nilP.finish()
}
