package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for a fresh schema
)

// The durability test (issue 4, item 6) kills a real `doppel serve`
// process with SIGKILL in the middle of a sustained ingest of transaction
// Bundles, restarts it on the same store and checks that every
// acknowledged write is there and that no transaction is half applied.

const (
	durIdentSystem = "urn:doppel:test:durability" // identifier of every resource the test writes
	durWriters     = 4                            // concurrent clients
	durObs         = 5                            // Observations per Bundle, besides its Patient
	durMinAcks     = 25                           // acknowledged Bundles before the kill
	durMinRun      = time.Second                  // ingest time before the kill
)

// durServer is a `doppel serve` child process.
type durServer struct {
	cmd    *exec.Cmd
	base   string        // http://127.0.0.1:PORT/fhir
	token  string        // an admin bearer token of the instance key
	stderr *bytes.Buffer // read only after kill
	once   sync.Once
	done   chan struct{} // closed when the process has been reaped
}

// startDurServer starts `doppel serve` with args (store flags) as a child
// process (the test binary re-executed, see reexec_test.go), without a rate
// limit since all the test's requests come from one address, and waits
// for the URL it prints.
func startDurServer(t *testing.T, args ...string) *durServer {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", "0"}, args...)...)
	cmd.Env = append(os.Environ(), reexecEnv+"=1")
	s := &durServer{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stderr = s.stderr // one line per request
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	line := make(chan string, 1)
	go func() {
		// The first line, then the rest drained so that the server never
		// blocks on stdout, then the process reaped.
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(s.done)
	}()
	select {
	case l := <-line:
		base, ok := strings.CutPrefix(l, "doppel: listening on ")
		if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
			s.kill()
			t.Fatalf("serve printed %q; stderr:\n%s", l, s.stderr)
		}
		s.base = base
		for i, a := range args {
			if a == "--data" && i+1 < len(args) {
				s.token = adminToken(t, args[i+1]) // serve_auth_test.go
			}
		}
	case <-time.After(15 * time.Second):
		s.kill()
		t.Fatalf("serve printed no URL in 15 s; stderr:\n%s", s.stderr)
	}
	return s
}

// kill sends SIGKILL and waits until the process is reaped. Later calls
// do nothing.
func (s *durServer) kill() {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
}

// durUUID is a random (version 4) UUID as a urn:uuid fullUrl.
func durUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// durBundle is one transaction Bundle the test sends: a Patient and
// durObs Observations of it, found again by the identifier
// durIdentSystem|b-K that all of them carry.
func durBundle(k int) []byte {
	tag := fmt.Sprintf("b-%d", k)
	ident := []any{map[string]any{"system": durIdentSystem, "value": tag}}
	pat := durUUID()
	entries := []any{map[string]any{
		"fullUrl":  pat,
		"resource": map[string]any{"resourceType": "Patient", "identifier": ident, "gender": "female", "birthDate": "1970-01-01"},
		"request":  map[string]any{"method": "POST", "url": "Patient"},
	}}
	for i := range durObs {
		entries = append(entries, map[string]any{
			"fullUrl": durUUID(),
			"resource": map[string]any{
				"resourceType": "Observation",
				"identifier":   ident,
				"status":       "final",
				"code":         map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
				"subject":      map[string]any{"reference": pat},
				"valueQuantity": map[string]any{
					"value": 60 + i, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min",
				},
			},
			"request": map[string]any{"method": "POST", "url": "Observation"},
		})
	}
	b, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return b
}

// durAck is an acknowledged Bundle: the "Type/id/_history/v" of each of its
// resources, in Bundle order, from the transaction-response.
type durAck struct {
	k         int
	locations []string
}

// durIngest sends durBundle(0), durBundle(1), ... from durWriters
// goroutines until ctx is done or the server stops answering. It returns
// how many Bundles were sent (K < sent: the request was at least started)
// and the acknowledged ones. acked receives one value per acknowledgement.
func durIngest(ctx context.Context, t *testing.T, base, tok string, acked chan<- struct{}) (sent int, acks []durAck) {
	client := &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: durWriters, DisableCompression: true},
	}
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	for range durWriters {
		wg.Go(func() {
			for ctx.Err() == nil {
				mu.Lock()
				k := next
				next++
				mu.Unlock()
				ack, answered, err := durSend(ctx, client, base, tok, k)
				if answered && err != nil {
					t.Errorf("bundle %d: %v", k, err) // a killed server answers nothing
				}
				if err != nil {
					return
				}
				mu.Lock()
				acks = append(acks, ack)
				mu.Unlock()
				select {
				case acked <- struct{}{}:
				default:
				}
			}
		})
	}
	wg.Wait()
	return next, acks
}

// durSend posts Bundle k and returns its acknowledgement; any answer but a
// 200 transaction-response with one location per entry is an error.
// answered is whether the server sent a complete response.
func durSend(ctx context.Context, client *http.Client, base, tok string, k int) (ack durAck, answered bool, err error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base, bytes.NewReader(durBundle(k)))
	if err != nil {
		return durAck{}, false, err
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		return durAck{}, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return durAck{}, false, err // the acknowledgement is the complete response
	}
	if resp.StatusCode != http.StatusOK {
		return durAck{}, true, fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
	}
	var rb struct {
		Type  string
		Entry []struct {
			Response struct{ Status, Location string }
		}
	}
	if err := json.Unmarshal(body, &rb); err != nil {
		return durAck{}, true, err
	}
	if rb.Type != "transaction-response" || len(rb.Entry) != 1+durObs {
		return durAck{}, true, fmt.Errorf("response Bundle type %q with %d entries, want transaction-response with %d", rb.Type, len(rb.Entry), 1+durObs)
	}
	ack = durAck{k: k}
	for i, e := range rb.Entry {
		loc := strings.TrimPrefix(e.Response.Location, base+"/")
		want := "Observation/"
		if i == 0 {
			want = "Patient/"
		}
		if !strings.HasPrefix(e.Response.Status, "201") || !strings.HasPrefix(loc, want) || !strings.Contains(loc, "/_history/") {
			return durAck{}, true, fmt.Errorf("entry %d: response status %q location %q, want 201 and %s{id}/_history/{v}", i, e.Response.Status, e.Response.Location, want)
		}
		ack.locations = append(ack.locations, loc)
	}
	return ack, true, nil
}

// durGet reads base/path and decodes the JSON body into v; it fails the
// test on a transport error or a status other than want.
func durGet(t *testing.T, base, tok, path string, want int, v any) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != want {
		t.Errorf("GET %s: status %d, want %d: %.300s", path, resp.StatusCode, want, body)
		return
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Errorf("GET %s: %v", path, err)
		}
	}
}

// durCount is the total of a search with _summary=count.
func durCount(t *testing.T, base, tok, typ string, q url.Values) int {
	t.Helper()
	q.Set("_summary", "count")
	var b struct{ Total *int }
	durGet(t, base, tok, typ+"?"+q.Encode(), http.StatusOK, &b)
	if b.Total == nil {
		t.Errorf("%s?%s: no total", typ, q.Encode())
		return -1
	}
	return *b.Total
}

// durCheck checks the store behind base after the crash: every
// acknowledged resource reads back with its version, and each of the sent
// Bundles is there completely (Patient and all its Observations, which
// refer to it) or not at all.
func durCheck(t *testing.T, base, tok string, sent int, acks []durAck) {
	acked := make(map[int]bool)
	for _, a := range acks {
		acked[a.k] = true
		for _, loc := range a.locations {
			typ, rest, _ := strings.Cut(loc, "/")
			id, v, _ := strings.Cut(rest, "/_history/")
			var r struct {
				ResourceType string
				ID           string
				Meta         struct{ VersionID string }
			}
			durGet(t, base, tok, typ+"/"+id, http.StatusOK, &r)
			if r.ResourceType != typ || r.ID != id || r.Meta.VersionID != v {
				t.Errorf("bundle %d: read %s/%s gave %s/%s version %q, want version %s", a.k, typ, id, r.ResourceType, r.ID, r.Meta.VersionID, v)
			}
			durGet(t, base, tok, loc, http.StatusOK, nil)
		}
	}
	var complete int
	for k := range sent {
		ident := url.Values{"identifier": {durIdentSystem + "|" + fmt.Sprintf("b-%d", k)}}
		var pats struct {
			Entry []struct{ Resource struct{ ID string } }
		}
		durGet(t, base, tok, "Patient?"+ident.Encode(), http.StatusOK, &pats)
		obs := durCount(t, base, tok, "Observation", ident)
		switch {
		case len(pats.Entry) == 0 && obs == 0:
			if acked[k] {
				t.Errorf("bundle %d was acknowledged but is not stored", k)
			}
		case len(pats.Entry) == 1 && obs == durObs:
			complete++
			subj := durCount(t, base, tok, "Observation", url.Values{"subject": {"Patient/" + pats.Entry[0].Resource.ID}})
			if subj != durObs {
				t.Errorf("bundle %d: %d Observations refer to its Patient, want %d", k, subj, durObs)
			}
		default:
			t.Errorf("bundle %d half applied: %d Patients and %d Observations stored, want 1 and %d or none", k, len(pats.Entry), obs, durObs)
		}
	}
	t.Logf("%d Bundles sent, %d acknowledged, %d stored complete, %d not stored", sent, len(acks), complete, sent-complete)
}

// durRun ingests, kills the server started with args, restarts it and
// checks the store.
func durRun(t *testing.T, args ...string) {
	srv := startDurServer(t, args...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ackc := make(chan struct{}, 1)
	type result struct {
		sent int
		acks []durAck
	}
	res := make(chan result, 1)
	go func() {
		sent, acks := durIngest(ctx, t, srv.base, srv.token, ackc)
		res <- result{sent, acks}
	}()

	start := time.Now()
	deadline := time.After(10 * time.Second)
	n := 0
	for n < durMinAcks || time.Since(start) < durMinRun {
		select {
		case <-ackc:
			n++ // a lower bound: acknowledgements arriving together count once
		case <-time.After(durMinRun):
		case <-deadline:
			srv.kill()
			cancel()
			t.Fatalf("only %d acknowledgements in 10 s; stderr:\n%s", n, srv.stderr)
		}
	}
	srv.kill() // SIGKILL while the writers are sending
	r := <-res // the writers stop on their first failed request
	cancel()
	if len(r.acks) == 0 {
		t.Fatal("no Bundle acknowledged")
	}

	srv = startDurServer(t, args...)
	durCheck(t, srv.base, srv.token, r.sent, r.acks)
	srv.kill()
}

func TestDurabilitySQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	durRun(t, "--data", t.TempDir())
}

func TestDurabilityPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	dsn := os.Getenv("DOPPEL_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("DOPPEL_TEST_POSTGRES is not set")
	}
	durRun(t, "--data", t.TempDir(), "--store", "postgres", "--dsn", durSchema(t, dsn))
}

// durSchema creates a fresh schema, dropped when the test ends, in the
// database of dsn, and returns dsn with search_path set to it.
func durSchema(t testing.TB, dsn string) string {
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := "doppel_durability_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
