package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/doppelhealth/doppel/internal/fhir"
	"github.com/doppelhealth/doppel/internal/fhirops"
	"github.com/doppelhealth/doppel/internal/search"
)

func newImportCmd(e *env) *cobra.Command {
	var sf storeFlags
	c := &cobra.Command{
		Use:   "import PATH...",
		Short: "Load FHIR R4 Bundles and NDJSON files into the store",
		Long: `Import loads FHIR R4 resources into the store that doppel serve uses.

Each PATH is a file or a directory (searched recursively for *.json,
*.ndjson and *.jsonl files). A .json file holds a Bundle or one resource:

  transaction   applied as one transaction: server-assigned ids for POST
                entries, urn:uuid and conditional references resolved
  batch         each entry on its own
  collection,   every entry's resource stored with the id it carries
  others        (update as create)
  a resource    stored with its id

An .ndjson/.jsonl file holds one resource per line (Bulk Data export
format), each stored with its id.

Every file is stored completely or not at all. Files whose resources are
all Organization, Location, Practitioner or PractitionerRole go first, so
that patients' Bundles can refer to them (Synthea's hospital and
practitioner files). A file that cannot be stored is reported with its
failing entry (Bundle.entry[i] or line number) and the others still load;
the exit status is then 1. Bad command-line arguments exit with 2.
At the end the store's planner statistics are updated (ANALYZE), so
that searches of the new data are planned well.

A store that doppel serve encrypts at rest is loaded with the same
--encryption-key-file (the resources are then encrypted too); without it,
or with another key, import refuses the store and writes nothing. A key
given for a new data directory makes it an encrypted store.`,
		Example: `  doppel import synthea/fhir/
  doppel import export/Patient.ndjson export/Observation.ndjson --data /srv/doppel
  doppel import bundle.json --store postgres --dsn postgres://postgres@localhost/doppel`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(cmd.Context(), e, sf, args)
		},
	}
	sf.register(c)
	return c
}

// importFile is one file to import, classified. Its content is read
// again when it is imported, so that a large directory is never held in
// memory at once.
type importFile struct {
	path  string
	kind  string         // "transaction", "batch", "load" (collection, resource), "ndjson"
	first bool           // only shared resources (Organization, Practitioner, ...): imported first
	types map[string]int // resources by type
	n     int
}

// sharedTypes are the resource types patients' data refer to.
var sharedTypes = []string{"Organization", "Location", "Practitioner", "PractitionerRole"}

// importSummary is what an import did.
type importSummary struct {
	files, failed int
	types         map[string]int
}

func runImport(ctx context.Context, e *env, sf storeFlags, args []string) error {
	paths, err := importPaths(args)
	if err != nil {
		return usageError(err)
	}
	var files []*importFile
	var bad []error
	for _, p := range paths {
		f, err := readImportFile(p)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		files = append(files, f)
	}
	for _, err := range bad {
		fmt.Fprintln(e.stderr, err)
	}
	st, _, err := openStore(ctx, sf)
	if err != nil {
		return err
	}
	defer st.Close()
	reg, err := search.NewRegistry()
	if err != nil {
		return err
	}
	svc := fhirops.New(st, reg, fhirops.Options{})

	total := 0
	for _, f := range files {
		total += f.n
	}
	var bar *progress
	if e.tty {
		bar = newProgress(e.stderr, "import", float64(total), "resources", 1)
	}
	start := time.Now()
	sum := importSummary{files: len(files) + len(bad), failed: len(bad), types: map[string]int{}}
	done := 0
	var mu sync.Mutex // guards sum, done, bar, fatal and stderr
	var fatal error   // the store failed: stop
	// run imports files on several goroutines: the store's writer commits
	// their transactions together, and parsing and validation overlap.
	// Two per core, so that while some wait for their commit the others
	// keep the cores busy preparing the next files.
	run := func(files []*importFile) {
		ch := make(chan *importFile)
		var wg sync.WaitGroup
		for range min(2*runtime.GOMAXPROCS(0), len(files)) {
			wg.Go(func() {
				for f := range ch {
					err := importOne(ctx, svc, f)
					mu.Lock()
					switch {
					case err == nil:
						for t, n := range f.types {
							sum.types[t] += n
						}
					case ctx.Err() != nil || !isFHIRError(err):
						fatal = cmp.Or(fatal, fmt.Errorf("%s: %w", f.path, err))
					default:
						bar.finish()
						fmt.Fprintf(e.stderr, "%s: %v\n", f.path, err)
						sum.failed++
					}
					done += f.n
					bar.update(float64(done))
					mu.Unlock()
				}
			})
		}
		for _, f := range files {
			mu.Lock()
			stop := fatal != nil
			mu.Unlock()
			if stop {
				break
			}
			ch <- f
		}
		close(ch)
		wg.Wait()
	}
	// Files of shared resources (Organization, Practitioner...) first:
	// patients' Bundles may refer to them by conditional references.
	var first, rest []*importFile
	for _, f := range files {
		if f.first {
			first = append(first, f)
		} else {
			rest = append(rest, f)
		}
	}
	run(first)
	if fatal == nil {
		run(rest)
	}
	bar.finish()
	if fatal != nil {
		return fatal
	}
	// Planner statistics for the new data: PostgreSQL without autovacuum
	// has none and plans searches blind. Part of the import's time.
	if a, ok := st.(interface{ Analyze(context.Context) error }); ok && sum.failed < sum.files {
		if err := a.Analyze(ctx); err != nil {
			return err
		}
	}
	sum.print(e.stdout, time.Since(start))
	if sum.failed > 0 {
		return fmt.Errorf("%d of %d files not imported (see above)", sum.failed, sum.files)
	}
	return nil
}

func isFHIRError(err error) bool {
	_, ok := errors.AsType[*fhir.Error](err)
	return ok
}

func (s importSummary) print(w io.Writer, d time.Duration) {
	n := 0
	for _, c := range s.types {
		n += c
	}
	fmt.Fprintf(w, "imported %d resources from %d of %d files in %s (%.0f resources/s)\n",
		n, s.files-s.failed, s.files, d.Round(time.Millisecond), float64(n)/d.Seconds())
	for _, t := range slices.Sorted(maps.Keys(s.types)) {
		fmt.Fprintf(w, "  %-28s %7d\n", t, s.types[t])
	}
}

// importPaths expands directories into their *.json, *.ndjson and *.jsonl
// files, in lexical order.
func importPaths(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch filepath.Ext(p) {
			case ".json", ".ndjson", ".jsonl":
				if d.Type().IsRegular() {
					out = append(out, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readImportFile reads and classifies one file.
func readImportFile(path string) (*importFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &importFile{path: path, types: map[string]int{}}
	if ext := filepath.Ext(path); ext == ".ndjson" || ext == ".jsonl" {
		f.kind = "ndjson"
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 64<<20)
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var r struct{ ResourceType string }
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return nil, fmt.Errorf("%s:%d: not a JSON resource: %v", path, line, err)
			}
			f.count(r.ResourceType)
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return f, f.classify()
	}
	var b struct {
		ResourceType string
		Type         string
		Entry        []struct {
			Resource struct{ ResourceType string }
			Request  struct{ Method string }
		}
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%s: not a JSON resource: %v", path, err)
	}
	switch {
	case b.ResourceType != "Bundle":
		f.kind = "load"
		f.count(b.ResourceType)
	case b.Type == "transaction" || b.Type == "batch":
		f.kind = b.Type
		for _, en := range b.Entry {
			if en.Request.Method == "POST" || en.Request.Method == "PUT" {
				f.count(en.Resource.ResourceType)
			}
		}
	default:
		f.kind = "load"
		for _, en := range b.Entry {
			f.count(en.Resource.ResourceType)
		}
	}
	return f, f.classify()
}

func (f *importFile) count(typ string) {
	f.types[typ]++
	f.n++
}

// classify sets first and rejects empty files.
func (f *importFile) classify() error {
	if f.n == 0 {
		return fmt.Errorf("%s: no resources to import", f.path)
	}
	f.first = true
	for t := range f.types {
		if !slices.Contains(sharedTypes, t) {
			f.first = false
		}
	}
	return nil
}

// importOne stores one file, completely or not at all (a batch: each entry
// on its own; failed entries are reported in the error).
func importOne(ctx context.Context, svc *fhirops.Service, f *importFile) error {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return err
	}
	switch f.kind {
	case "transaction":
		_, err := svc.Transaction(ctx, data, "")
		return err
	case "batch":
		resp, err := svc.Transaction(ctx, data, "")
		if err != nil {
			return err
		}
		return batchErrors(resp)
	case "ndjson":
		var lines [][]byte
		var lineNo []int
		for i, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				lines = append(lines, l)
				lineNo = append(lineNo, i+1)
			}
		}
		_, err := svc.Load(ctx, lines)
		return loadError(err, func(i int, rest string) string {
			if rest == "" {
				return "line " + strconv.Itoa(lineNo[i])
			}
			return "line " + strconv.Itoa(lineNo[i]) + ": " + strings.TrimPrefix(rest, ".")
		})
	}
	var resources [][]byte
	var b struct {
		ResourceType string
		Entry        []struct{ Resource json.RawMessage }
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	if b.ResourceType != "Bundle" {
		_, err := svc.Load(ctx, [][]byte{data})
		return loadError(err, func(_ int, rest string) string { return b.ResourceType + rest })
	}
	for _, en := range b.Entry {
		resources = append(resources, en.Resource)
	}
	_, err = svc.Load(ctx, resources)
	return loadError(err, func(i int, rest string) string {
		return "Bundle.entry[" + strconv.Itoa(i) + "].resource" + rest
	})
}

// batchErrors returns an error listing the failed entries of a
// batch-response Bundle, or nil.
func batchErrors(resp []byte) error {
	var b struct {
		Entry []struct {
			Response struct {
				Status  string
				Outcome struct {
					Issue []struct {
						Diagnostics string
						Expression  []string
					}
				}
			}
		}
	}
	if err := json.Unmarshal(resp, &b); err != nil {
		return err
	}
	var issues []fhir.Issue
	for i, en := range b.Entry {
		if strings.HasPrefix(en.Response.Status, "2") {
			continue
		}
		at := []string{"Bundle.entry[" + strconv.Itoa(i) + "]"}
		if len(en.Response.Outcome.Issue) == 0 {
			issues = append(issues, fhir.Issue{Severity: "error", Diagnostics: en.Response.Status, Expression: at})
		}
		for _, oi := range en.Response.Outcome.Issue {
			is := fhir.Issue{Severity: "error", Diagnostics: en.Response.Status + ": " + oi.Diagnostics, Expression: oi.Expression}
			if len(is.Expression) == 0 {
				is.Expression = at
			}
			issues = append(issues, is)
		}
	}
	if len(issues) == 0 {
		return nil
	}
	return &fhir.Error{Status: 400, Issues: issues}
}

// loadError rewrites the "[i]..." locations of a Load error with name,
// which is given i and the rest of the location (".subject" or "").
func loadError(err error, name func(i int, rest string) string) error {
	return relocateIssues(err, func(expr string) string {
		if i, rest, ok := cutIndex(expr); ok {
			return name(i, rest)
		}
		return expr
	})
}

// cutIndex splits "[3].subject" into 3 and ".subject".
func cutIndex(expr string) (int, string, bool) {
	inner, rest, ok := strings.Cut(strings.TrimPrefix(expr, "["), "]")
	if !ok || !strings.HasPrefix(expr, "[") {
		return 0, "", false
	}
	i, err := strconv.Atoi(inner)
	return i, rest, err == nil
}

func relocateIssues(err error, f func(string) string) error {
	fe, ok := errors.AsType[*fhir.Error](err)
	if !ok {
		return err
	}
	out := &fhir.Error{Status: fe.Status}
	for _, is := range fe.Issues {
		ex := make([]string, len(is.Expression))
		for j, e := range is.Expression {
			ex[j] = f(e)
		}
		is.Expression = ex
		out.Issues = append(out.Issues, is)
	}
	return out
}
