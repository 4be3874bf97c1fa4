package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// startServe runs doppel serve in-process on a free port with --data dir
// and the other args, and returns the base URL it prints and a stop
// function that returns the exit code and stderr.
func startServe(t *testing.T, dir string, args ...string) (base string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, args...), pw, &errb)
		pw.Close()
	}()
	stop = func() (int, string) {
		cancel()
		code := <-done
		return code, errb.String()
	}
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		code, stderr := stop()
		t.Fatalf("serve printed nothing; exit %d, stderr:\n%s", code, stderr)
	}
	go io.Copy(io.Discard, pr)
	base, ok := strings.CutPrefix(sc.Text(), "doppel: listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/fhir") {
		stop()
		t.Fatalf("serve printed %q, want doppel: listening on http://127.0.0.1:PORT/fhir", sc.Text())
	}
	return base, stop
}

// send makes one request and returns the status, the Location (or
// Content-Location) header and the body.
func send(t *testing.T, method, url, body string, hdr ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		loc = resp.Header.Get("Content-Location")
	}
	return resp.StatusCode, loc, b
}

// TestServe creates, reads, searches and exports over real HTTP, stops the
// server as SIGINT would (context cancelled), and reads the patient back
// from a second server on the same data directory.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServe(t, dir)
	id := exerciseServe(t, base)
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d, stderr:\n%s", code, stderr)
	} else if !strings.Contains(stderr, `route="POST /fhir/{type}" status=201`) || strings.Contains(stderr, "Servetest") {
		t.Errorf("request log: want the route and no patient data:\n%s", stderr)
	}

	base, stop = startServe(t, dir)
	defer stop()
	if code, _, body := send(t, "GET", base+"/Patient/"+id, ""); code != http.StatusOK || !strings.Contains(string(body), "Servetest") {
		t.Errorf("read after restart: status %d: %s", code, body)
	}
}

// TestServePostgres runs the same requests on PostgreSQL, in a fresh
// schema of the DOPPEL_TEST_POSTGRES database.
func TestServePostgres(t *testing.T) {
	dsn := os.Getenv("DOPPEL_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("DOPPEL_TEST_POSTGRES is not set")
	}
	base, stop := startServe(t, t.TempDir(), "--store", "postgres", "--dsn", durSchema(t, dsn))
	exerciseServe(t, base)
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d, stderr:\n%s", code, stderr)
	}
}

// exerciseServe creates a patient, reads it, finds it, exports it, and
// returns its id.
func exerciseServe(t *testing.T, base string) string {
	t.Helper()
	code, loc, body := send(t, "POST", base+"/Patient", `{"resourceType":"Patient","name":[{"family":"Servetest"}]}`)
	if code != http.StatusCreated || !strings.HasPrefix(loc, base+"/Patient/") || !strings.HasSuffix(loc, "/_history/1") {
		t.Fatalf("create: status %d Location %q: %s", code, loc, body)
	}
	var p struct{ ID string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if code, _, body := send(t, "GET", base+"/Patient/"+p.ID, ""); code != http.StatusOK || !strings.Contains(string(body), "Servetest") {
		t.Errorf("read: status %d: %s", code, body)
	}
	code, _, body = send(t, "GET", base+"/Patient?family=servetest", "")
	var b struct {
		Total int
		Entry []struct{ FullURL string }
	}
	if err := json.Unmarshal(body, &b); err != nil || code != http.StatusOK || b.Total != 1 || len(b.Entry) != 1 || b.Entry[0].FullURL != base+"/Patient/"+p.ID {
		t.Errorf("search: status %d: %s", code, body)
	}
	code, status, body := send(t, "GET", base+"/Patient/$export", "", "Prefer", "respond-async")
	if code != http.StatusAccepted || !strings.HasPrefix(status, base+"/") {
		t.Fatalf("export kick-off: status %d Content-Location %q: %s", code, status, body)
	}
	deadline := time.Now().Add(time.Minute)
	for code == http.StatusAccepted && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		code, _, body = send(t, "GET", status, "")
	}
	var m struct {
		Output []struct {
			Type, URL string
			Count     int
		}
	}
	if err := json.Unmarshal(body, &m); err != nil || code != http.StatusOK || len(m.Output) != 1 || m.Output[0].Type != "Patient" || m.Output[0].Count != 1 {
		t.Fatalf("export status %d: %s", code, body)
	}
	if code, _, body := send(t, "GET", m.Output[0].URL, ""); code != http.StatusOK || !strings.Contains(string(body), `"id":"`+p.ID+`"`) {
		t.Errorf("export file: status %d: %s", code, body)
	}
	return p.ID
}

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--data", dir, "--store", "mysql"}, `--store "mysql"`},
		{[]string{"serve", "--data", dir, "--store", "postgres"}, "needs --dsn"},
		{[]string{"serve", "--data", dir, "--addr", "nonsense"}, "--addr"},
		{[]string{"serve", "extra"}, "unknown command"},
	} {
		code, _, stderr := doppel(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("doppel %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, exitUsage, tc.want)
		}
	}
}
