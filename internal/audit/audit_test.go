package audit_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"

	"github.com/doppelhealth/doppel/internal/audit"
	"github.com/doppelhealth/doppel/internal/search"
	"github.com/doppelhealth/doppel/internal/store/postgres"
	"github.com/doppelhealth/doppel/internal/store/sqlite"
	"github.com/doppelhealth/doppel/internal/store/sqlstore"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// records returns n records, record i (1-based) about patient p<i>, on day i.
func records(n int) []audit.Record {
	var out []audit.Record
	for i := 1; i <= n; i++ {
		p := "Patient/p" + string(rune('0'+i%10))
		out = append(out, audit.Record{
			Time: t0.AddDate(0, 0, i), Interaction: audit.Search, Who: "user-1", Client: "app-1",
			Address: "192.0.2.7:5123", Patient: p, Resources: []string{"Observation/o1"},
			Query: "patient=" + p + "&name=Smith",
		})
	}
	return out
}

// backend is a store the chain is tested on, with a raw connection to its
// tables for tampering. PostgreSQL runs when DOPPEL_TEST_POSTGRES is set.
type backend struct {
	name string
	// open opens the store of test dir (the same one each call) and a raw
	// connection to it; bind rewrites ? placeholders for the driver.
	open func(t *testing.T, dir string) (st *sqlstore.Store, raw *sql.DB)
	bind func(q string) string
}

func backends() []backend {
	bs := []backend{{
		name: "sqlite",
		open: func(t *testing.T, dir string) (*sqlstore.Store, *sql.DB) {
			st, err := sqlite.Open(t.Context(), filepath.Join(dir, "fhir.db"))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("sqlite", filepath.Join(dir, "fhir.db"))
			if err != nil {
				t.Fatal(err)
			}
			return st, raw
		},
		bind: func(q string) string { return q },
	}}
	dsn := os.Getenv("DOPPEL_TEST_POSTGRES")
	if dsn == "" {
		return bs
	}
	schemas := map[string]string{} // test dir -> schema
	return append(bs, backend{
		name: "postgres",
		open: func(t *testing.T, dir string) (*sqlstore.Store, *sql.DB) {
			schema, ok := schemas[dir]
			if !ok {
				schema = "doppel_audit_" + strings.ToLower(rand.Text()[:12])
				schemas[dir] = schema
				admin, err := sql.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					admin.Exec("DROP SCHEMA " + schema + " CASCADE")
					admin.Close()
				})
			}
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			st, err := postgres.Open(t.Context(), u.String())
			if err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("pgx", u.String())
			if err != nil {
				t.Fatal(err)
			}
			return st, raw
		},
		bind: func(q string) string {
			for n := 1; strings.Contains(q, "?"); n++ {
				q = strings.Replace(q, "?", "$"+strconv.Itoa(n), 1)
			}
			return q
		},
	})
}

// open opens the SQLite store in dir and its audit log (head file in dir).
func open(t *testing.T, dir string, reg *search.Registry) (*sqlstore.Store, *audit.Log) {
	t.Helper()
	st, raw := backends()[0].open(t, dir)
	raw.Close()
	t.Cleanup(func() { st.Close() })
	return st, newLog(st, dir, reg)
}

func newLog(st *sqlstore.Store, dir string, reg *search.Registry) *audit.Log {
	return audit.New(st, reg, audit.Options{HeadFile: filepath.Join(dir, "audit.head"), Now: func() time.Time { return t0 }})
}

// TestVerifyTamper appends records, tampers with the store's rows directly
// and expects Verify to name the exact sequence number.
// SEC-14: the audit store is append-only and hash-chained; any edit,
// deletion, insertion or reordering is detected.
func TestVerifyTamper(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, db *rawDB)
		want   []audit.Problem
	}{
		{"intact", func(*testing.T, *rawDB) {}, nil},
		{"edit a byte", func(t *testing.T, db *rawDB) {
			edit(t, db, "audit-4", false, func(b []byte) []byte { return bytes.Replace(b, []byte("user-1"), []byte("user-2"), 1) })
		}, []audit.Problem{{Seq: 4, Kind: audit.Corrupt}}},
		{"edit a byte and fix the store hash", func(t *testing.T, db *rawDB) {
			edit(t, db, "audit-4", true, func(b []byte) []byte { return bytes.Replace(b, []byte("user-1"), []byte("user-2"), 1) })
		}, []audit.Problem{{Seq: 4, Kind: audit.Edited}}},
		{"delete a row", func(t *testing.T, db *rawDB) {
			exec(t, db, "DELETE FROM resources WHERE id = 'audit-5'")
		}, []audit.Problem{{Seq: 5, Kind: audit.Missing}}},
		{"swap two rows", func(t *testing.T, db *rawDB) {
			exec(t, db, "UPDATE resources SET id = 'x' WHERE id = 'audit-3'")
			exec(t, db, "UPDATE resources SET id = 'audit-3' WHERE id = 'audit-6'")
			exec(t, db, "UPDATE resources SET id = 'audit-6' WHERE id = 'x'")
		}, []audit.Problem{{Seq: 3, Kind: audit.Misplaced}, {Seq: 6, Kind: audit.Misplaced}}},
		{"delete the newest row", func(t *testing.T, db *rawDB) {
			exec(t, db, "DELETE FROM resources WHERE id = 'audit-8'")
		}, []audit.Problem{{Seq: 8, Kind: audit.Truncated}}},
		{"insert a forged row", func(t *testing.T, db *rawDB) {
			// Copy record 2 over record 7 with its seq renumbered: the hash it
			// carries no longer matches.
			var body []byte
			if err := db.QueryRow("SELECT body FROM resources WHERE id = 'audit-2'").Scan(&body); err != nil {
				t.Fatal(err)
			}
			edit(t, db, "audit-7", true, func([]byte) []byte {
				b := bytes.Replace(body, []byte(`"valueString":"2"`), []byte(`"valueString":"7"`), 1)
				return bytes.Replace(b, []byte(`"audit-2"`), []byte(`"audit-7"`), 1)
			})
		}, []audit.Problem{{Seq: 7, Kind: audit.Edited}, {Seq: 7, Kind: audit.BrokenLink}, {Seq: 8, Kind: audit.BrokenLink}}},
		{"an AuditEvent outside the chain", func(t *testing.T, db *rawDB) {
			// As a POST /AuditEvent would make: a valid row with another id.
			// The store assigns rids itself (no sequence on PostgreSQL): the next one.
			exec(t, db, "INSERT INTO resources (rid, type, id, version_id, t, last_updated, deleted, body, hash) SELECT (SELECT MAX(rid) + 1 FROM resources), type, 'forged', version_id, t, last_updated, deleted, body, hash FROM resources WHERE id = 'audit-1'")
		}, []audit.Problem{{Seq: 9, Kind: audit.Foreign}}},
	}
	for _, be := range backends() {
		for _, tc := range tests {
			t.Run(be.name+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				st, raw := be.open(t, dir)
				if err := newLog(st, dir, reg).Append(t.Context(), records(8)); err != nil {
					t.Fatal(err)
				}
				st.Close()
				tc.tamper(t, &rawDB{raw, be.bind})
				raw.Close()
				st, raw = be.open(t, dir)
				raw.Close()
				defer st.Close()
				rep, err := newLog(st, dir, reg).Verify(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, rep.Problems); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// rawDB is a raw connection to the store's tables.
type rawDB struct {
	*sql.DB
	bind func(string) string
}

func exec(t *testing.T, db *rawDB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// edit rewrites the body of the current version of id; fixHash also
// rewrites the store's content hash, as an attacker who knows the schema
// would.
func edit(t *testing.T, db *rawDB, id string, fixHash bool, f func([]byte) []byte) {
	t.Helper()
	var body []byte
	if err := db.QueryRow(db.bind("SELECT body FROM resources WHERE id = ?"), id).Scan(&body); err != nil {
		t.Fatal(err)
	}
	nb := f(body)
	if bytes.Equal(nb, body) {
		t.Fatal("tamper changed nothing")
	}
	if fixHash {
		sum := sha256.Sum256(nb)
		_, err := db.Exec(db.bind("UPDATE resources SET body = ?, hash = ? WHERE id = ?"), nb, sum[:], id)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := db.Exec(db.bind("UPDATE resources SET body = ? WHERE id = ?"), nb, id); err != nil {
		t.Fatal(err)
	}
}

// TestSearchByPatientAndTime checks that the accounting of disclosures is a
// normal FHIR search on AuditEvent.
// SEC-12: a search writes a BALP-shaped AuditEvent with user, client, IP,
// action, outcome, resource and patient, and a UTC time.
// SEC-16: audit records are searchable by patient and time range.
func TestSearchByPatientAndTime(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	st, log := open(t, t.TempDir(), reg)
	if err := log.Append(t.Context(), records(9)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"patient=Patient/p3", []string{"audit-3"}},
		{"date=ge2026-03-05&date=lt2026-03-07", []string{"audit-4", "audit-5"}},
		{"agent-name=user-1&patient=Patient/p9", nil}, // names are never stored
		{"entity=Observation/o1&date=ge2026-03-10", []string{"audit-9"}},
		{"action=E&outcome=0&patient=Patient/p1", []string{"audit-1"}},
		{"type=rest&subtype=search-type&date=2026-03-03", []string{"audit-2"}},
	}
	for _, tc := range tests {
		vals, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		q, _, err := reg.ParseQuery("AuditEvent", vals, true, search.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		page, err := st.Search(t.Context(), q, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		var got []string
		for _, m := range page.Matches {
			got = append(got, m.ID)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, diff)
		}
	}
}

// TestEventShape checks the AuditEvent of a refused token against the
// elements IHE BALP and FHIR R4 AuditEvent require.
// SEC-15: failed authentication and authorisation attempts are audited.
func TestEventShape(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	st, log := open(t, t.TempDir(), reg)
	recs := []audit.Record{
		{Time: t0, Interaction: audit.Login, Outcome: audit.MinorFailure, Address: "[2001:db8::1]:443"},
		{Time: t0, Interaction: audit.Read, Outcome: audit.MinorFailure, Who: "u7", Client: "c9", Address: "host.example:80", Patient: "Patient/p1", Resources: []string{"Patient/p1"}},
	}
	if err := log.Append(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	v, err := st.Read(t.Context(), "AuditEvent", "audit-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"type":{"code":"110114","display":"User Authentication","system":"http://dicom.nema.org/resources/ontology/DCM"}`,
		`"action":"E"`, `"outcome":"4"`, `"recorded":"2026-03-01T12:00:00.000Z"`,
		`"network":{"address":"[2001:db8::1]:443","type":"2"}`, `"requestor":true`,
		`"observer":{"display":"doppel"}`,
	} {
		if !bytes.Contains(v.Body, []byte(want)) {
			t.Errorf("audit-1 lacks %s:\n%s", want, v.Body)
		}
	}
	v, err = st.Read(t.Context(), "AuditEvent", "audit-2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"subtype":[{"code":"read","system":"http://hl7.org/fhir/restful-interaction"}]`,
		`"action":"R"`, `"outcome":"4"`,
		`"who":{"identifier":{"system":"urn:doppel:subject","value":"u7"}}`,
		`"who":{"identifier":{"system":"urn:doppel:client","value":"c9"}}`,
		`"network":{"address":"host.example:80","type":"1"}`,
		`{"role":{"code":"1","display":"Patient","system":"http://terminology.hl7.org/CodeSystem/object-role"},"type":{"code":"1","display":"Person","system":"http://terminology.hl7.org/CodeSystem/audit-entity-type"},"what":{"reference":"Patient/p1"}}`,
	} {
		if !bytes.Contains(v.Body, []byte(want)) {
			t.Errorf("audit-2 lacks %s:\n%s", want, v.Body)
		}
	}
}

// TestBufferFlushesOnClose checks that records handed to a Buffer are all
// in the chain, in order, after Close.
func TestBufferFlushesOnClose(t *testing.T) {
	reg, err := search.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	_, log := open(t, t.TempDir(), reg)
	b := audit.NewBuffer(log, audit.BufferOptions{MaxBatch: 4, Interval: time.Hour})
	for _, r := range records(10) {
		b.Record(r)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := log.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Records != 10 || rep.Last != 10 || !rep.OK() {
		t.Errorf("after Close: %d records, last %d, problems %v; want 10, 10, none", rep.Records, rep.Last, rep.Problems)
	}
}

// BenchmarkAppend appends batches of 2,048 records (a Buffer's default) to
// SQLite.
func BenchmarkAppend(b *testing.B) {
	reg, err := search.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	st, err := sqlite.Open(b.Context(), filepath.Join(dir, "fhir.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := newLog(st, dir, reg)
	batch := records(2048)
	for b.Loop() {
		if err := log.Append(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2048*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkVerify verifies a chain of 2,560 records on SQLite.
func BenchmarkVerify(b *testing.B) {
	reg, err := search.NewRegistry()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	st, err := sqlite.Open(b.Context(), filepath.Join(dir, "fhir.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := newLog(st, dir, reg)
	for range 10 {
		if err := log.Append(b.Context(), records(256)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		rep, err := log.Verify(b.Context())
		if err != nil || !rep.OK() || rep.Records != 2560 {
			b.Fatal(err, rep.Problems)
		}
	}
	b.ReportMetric(float64(2560*b.N)/b.Elapsed().Seconds(), "records/s")
}
