package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// startServe runs doppel serve in-process on a free port with --data dir
// and returns the base URL it prints and a stop function that returns the
// exit code and stderr.
func startServe(t *testing.T, dir string) (base string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, pw, &errb)
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

// send makes one request and returns the status, the Location header and
// the body.
func send(t *testing.T, method, url, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
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
	return resp.StatusCode, resp.Header.Get("Location"), b
}

// TestServe creates, reads and searches over real HTTP, stops the server
// as SIGINT would (context cancelled), and reads the patient back from a
// second server on the same data directory.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServe(t, dir)
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
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d, stderr:\n%s", code, stderr)
	} else if !strings.Contains(stderr, `route="POST /fhir/{type}" status=201`) || strings.Contains(stderr, "Servetest") {
		t.Errorf("request log: want the route and no patient data:\n%s", stderr)
	}

	base, stop = startServe(t, dir)
	defer stop()
	if code, _, body := send(t, "GET", base+"/Patient/"+p.ID, ""); code != http.StatusOK || !strings.Contains(string(body), "Servetest") {
		t.Errorf("read after restart: status %d: %s", code, body)
	}
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
