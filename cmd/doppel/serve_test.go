package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") && !strings.HasPrefix(base, "https://127.0.0.1:") || !strings.HasSuffix(base, "/fhir") {
		stop()
		t.Fatalf("serve printed %q, want doppel: listening on http(s)://127.0.0.1:PORT/fhir", sc.Text())
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
	tok := adminToken(t, dir)
	id := exerciseServe(t, base, tok)
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d, stderr:\n%s", code, stderr)
	} else if !strings.Contains(stderr, `route="POST /fhir/{type}" status=201`) || strings.Contains(stderr, "Servetest") {
		t.Errorf("request log: want the route and no patient data:\n%s", stderr)
	}

	base, stop = startServe(t, dir)
	defer stop()
	if code, _, body := send(t, "GET", base+"/Patient/"+id, "", "Authorization", "Bearer "+tok); code != http.StatusOK || !strings.Contains(string(body), "Servetest") {
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
	dir := t.TempDir()
	base, stop := startServe(t, dir, "--store", "postgres", "--dsn", durSchema(t, dsn))
	exerciseServe(t, base, adminToken(t, dir))
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d, stderr:\n%s", code, stderr)
	}
}

// exerciseServe creates a patient, reads it, finds it, exports it, and
// returns its id; its requests carry the bearer token tok.
func exerciseServe(t *testing.T, base, tok string) string {
	t.Helper()
	bearer := []string{"Authorization", "Bearer " + tok}
	code, loc, body := send(t, "POST", base+"/Patient", `{"resourceType":"Patient","name":[{"family":"Servetest"}]}`, bearer...)
	if code != http.StatusCreated || !strings.HasPrefix(loc, base+"/Patient/") || !strings.HasSuffix(loc, "/_history/1") {
		t.Fatalf("create: status %d Location %q: %s", code, loc, body)
	}
	var p struct{ ID string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if code, _, body := send(t, "GET", base+"/Patient/"+p.ID, "", bearer...); code != http.StatusOK || !strings.Contains(string(body), "Servetest") {
		t.Errorf("read: status %d: %s", code, body)
	}
	code, _, body = send(t, "GET", base+"/Patient?family=servetest", "", bearer...)
	var b struct {
		Total int
		Entry []struct{ FullURL string }
	}
	if err := json.Unmarshal(body, &b); err != nil || code != http.StatusOK || b.Total != 1 || len(b.Entry) != 1 || b.Entry[0].FullURL != base+"/Patient/"+p.ID {
		t.Errorf("search: status %d: %s", code, body)
	}
	code, status, body := send(t, "GET", base+"/Patient/$export", "", append([]string{"Prefer", "respond-async"}, bearer...)...)
	if code != http.StatusAccepted || !strings.HasPrefix(status, base+"/") {
		t.Fatalf("export kick-off: status %d Content-Location %q: %s", code, status, body)
	}
	deadline := time.Now().Add(time.Minute)
	for code == http.StatusAccepted && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		code, _, body = send(t, "GET", status, "", bearer...)
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
	if code, _, body := send(t, "GET", m.Output[0].URL, "", bearer...); code != http.StatusOK || !strings.Contains(string(body), `"id":"`+p.ID+`"`) {
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
		{[]string{"serve", "--data", dir, "--addr", "0.0.0.0:0"}, "without TLS doppel serve listens on loopback only"},
		{[]string{"serve", "--data", dir, "--addr", ":0"}, "--tls-cert and --tls-key to serve HTTPS on every interface"},
		{[]string{"serve", "--data", dir, "--addr", "192.0.2.1:8080"}, "--insecure-http"},
		{[]string{"serve", "--data", dir, "--tls-cert", "cert.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"serve", "--data", dir, "--tls-cert", "nope.pem", "--tls-key", "nope.pem"}, "no such file"},
		{[]string{"serve", "--data", dir, "--rate-limit", "-1"}, "--rate-limit -1"},
	} {
		code, _, stderr := doppel(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("doppel %s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, exitUsage, tc.want)
		}
	}
}

// TestListenPolicy (SEC-18): plain HTTP on loopback only, unless TLS or
// --insecure-http.
func TestListenPolicy(t *testing.T) {
	for _, tc := range []struct {
		addr          string
		tls, insecure bool
		ok            bool
	}{
		{"127.0.0.1:8080", false, false, true},
		{"127.0.0.2:8080", false, false, true},
		{"[::1]:8080", false, false, true},
		{"localhost:8080", false, false, true},
		{"0.0.0.0:8080", false, false, false},
		{":8080", false, false, false},
		{"[::]:8080", false, false, false},
		{"10.0.0.5:8080", false, false, false},
		{"example.org:8080", false, false, false},
		{"0.0.0.0:8080", true, false, true},
		{"0.0.0.0:8080", false, true, true},
		{"nonsense", true, true, false},
	} {
		err := listenPolicy(tc.addr, tc.tls, tc.insecure)
		if (err == nil) != tc.ok {
			t.Errorf("listenPolicy(%q, tls %v, insecure %v) = %v, want ok %v", tc.addr, tc.tls, tc.insecure, err, tc.ok)
		}
	}
}

// selfSigned writes a self-signed ECDSA certificate for 127.0.0.1 and its
// key as PEM files in dir, and returns their paths and the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "doppel test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestServeTLS (SEC-18, SEC-19): with a certificate serve speaks HTTPS,
// sends HSTS, refuses TLS 1.1 and plain HTTP.
func TestServeTLS(t *testing.T) {
	certFile, keyFile, cert := selfSigned(t, t.TempDir())
	base, stop := startServe(t, t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile)
	defer stop()
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("base %q, want https", base)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := func(maxVersion uint16) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}}}
	}
	resp, err := client(0).Get(base + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("status %d, TLS %+v", resp.StatusCode, resp.TLS)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
		t.Errorf("Strict-Transport-Security %q", h)
	}
	if resp, err := client(tls.VersionTLS11).Get(base + "/metadata"); err == nil {
		resp.Body.Close()
		t.Errorf("TLS 1.1 accepted")
	}
	if resp, err := http.Get("http://" + strings.TrimPrefix(base, "https://") + "/metadata"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("plain HTTP on the TLS port: status %d", resp.StatusCode)
		}
	}
}

// TestServeEncrypted (SEC-24, SEC-25): with --encryption-key-file the
// requests of TestServe work, and no file under the data directory
// (database, WAL, export files) holds the patient's name; the store is then refused without the key and with another.
func TestServeEncrypted(t *testing.T) {
	dir, keys := t.TempDir(), t.TempDir()
	key := filepath.Join(keys, "key")
	if err := os.WriteFile(key, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, dir, "--encryption-key-file", key)
	exerciseServe(t, base, adminToken(t, dir))
	if code, stderr := stop(); code != exitOK {
		t.Fatalf("serve exit %d, stderr:\n%s", code, stderr)
	}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if bytes.Contains(bytes.ToLower(b), []byte("servetest")) {
			t.Errorf("%s holds the patient's name", path)
		}
		return err
	})
	if err != nil || files < 2 {
		t.Fatalf("%d files under the data directory: %v", files, err)
	}
	other := filepath.Join(keys, "other")
	if err := os.WriteFile(other, bytes.Repeat([]byte{7}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "the store is encrypted: give --encryption-key-file"},
		{[]string{"--encryption-key-file", other}, "not the one this store was written with"},
	} {
		code, _, stderr := doppel(t, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, tc.args...)...)
		if code == exitOK || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %q: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestServeKeyFilePolicy: a key inside the data directory, or readable by
// others, is refused.
func TestServeKeyFilePolicy(t *testing.T) {
	dir := t.TempDir()
	inside := filepath.Join(dir, "key")
	loose := filepath.Join(t.TempDir(), "key")
	for path, mode := range map[string]os.FileMode{inside: 0o600, loose: 0o644} {
		if err := os.WriteFile(path, bytes.Repeat([]byte{7}, 32), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ key, want string }{
		{inside, "is inside the data directory"},
		{loose, "others can read it"},
		{filepath.Join(dir, "..", filepath.Base(dir), "key"), "is inside the data directory"},
	} {
		code, _, stderr := doppel(t, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--encryption-key-file", tc.key)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("key %s: exit %d, stderr %q; want %d and %q", tc.key, code, stderr, exitUsage, tc.want)
		}
	}
}

// TestServeHeaders (SEC-39): the documents served beside the API (health
// check, SMART configuration) carry the security headers too.
func TestServeHeaders(t *testing.T) {
	base, stop := startServe(t, t.TempDir())
	defer stop()
	root := strings.TrimSuffix(base, "/fhir")
	for _, target := range []string{root + "/healthz", root + "/.well-known/smart-configuration", base + "/metadata", base + "/Patient"} {
		resp, err := http.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, k := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
			if resp.Header.Get(k) == "" {
				t.Errorf("%s (status %d): no %s", target, resp.StatusCode, k)
			}
		}
	}
}
