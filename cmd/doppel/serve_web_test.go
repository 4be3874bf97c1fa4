package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/doppelhealth/doppel/internal/auth"
)

// updateScreenshots copies the dashboard test's screenshots to
// web/testdata/screenshots (the README shows one of them).
var updateScreenshots = flag.Bool("update-screenshots", false, "copy the screenshots of TestDashboard to web/testdata/screenshots")

// browserEnv names a browser binary for TestDashboard; requireBrowserEnv,
// when set, makes a missing browser a failure rather than a skip (CI).
const (
	browserEnv        = "DOPPEL_CHROMIUM"
	requireBrowserEnv = "DOPPEL_REQUIRE_BROWSER"
	screenshotsEnv    = "DOPPEL_SCREENSHOTS" // directory for the screenshots; default a temporary one
)

// findBrowser returns the path of a Chromium (Debian's package chromium),
// or skips the test when there is none and DOPPEL_REQUIRE_BROWSER is unset.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(browserEnv); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(requireBrowserEnv) != "" {
		t.Fatalf("no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell and $%s) and %s is set", browserEnv, requireBrowserEnv)
	}
	t.Skipf("no Chromium found: install it (apt-get install -y chromium) or set $%s; set %s=1 to make this a failure", browserEnv, requireBrowserEnv)
	return ""
}

// dashboardServer runs doppel serve in-process and returns its root URL
// and the one-time sign-in link it prints.
func dashboardServer(t *testing.T, dir string, args ...string) (root, link string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 16)}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--data", dir, "--addr", "127.0.0.1:0"}, args...), out, &errb)
	}()
	exited := false
	t.Cleanup(func() {
		cancel()
		if !exited {
			if code := <-done; code != 0 {
				t.Errorf("serve exit %d, stderr:\n%s", code, errb.String())
			}
		}
	})
	timeout := time.After(30 * time.Second)
	for link == "" {
		select {
		case l := <-out.lines:
			if base, ok := strings.CutPrefix(l, "doppel: listening on "); ok {
				root = strings.TrimSuffix(base, "/fhir")
			}
			if rest, ok := strings.CutPrefix(l, "doppel: dashboard: "); ok {
				link, _, _ = strings.Cut(rest, " ")
			}
		case code := <-done:
			exited = true
			t.Fatalf("serve exit %d before printing the dashboard link, stderr:\n%s", code, errb.String())
		case <-timeout:
			t.Fatal("serve printed no dashboard link in 30 s")
		}
	}
	if root == "" || !strings.HasPrefix(link, root+"/signin?code=") {
		t.Fatalf("dashboard link %q is not under %q", link, root)
	}
	return root, link
}

// lineWriter hands each complete line written to it to lines, dropping
// those no one waits for.
type lineWriter struct {
	mu    sync.Mutex
	part  []byte
	lines chan string
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.part = append(lw.part, p...)
	for {
		i := bytes.IndexByte(lw.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case lw.lines <- string(lw.part[:i]):
		default:
		}
		lw.part = lw.part[i+1:]
	}
}

// trialJSON writes the output of doppel trial --json for an example file.
func trialJSON(t *testing.T, dir string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"trial", filepath.Join("..", "..", "examples", "trial_bb_vs_pid.yaml"), "--json", "--workers", "1"}, &out, &errb); code != 0 {
		t.Fatalf("doppel trial: exit %d: %s", code, errb.String())
	}
	path := filepath.Join(dir, "trial.json")
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// xssName is the name of a Patient that would run a script if a page
// inserted it as HTML.
const xssName = "<script>alert(1)</script>"

// TestDashboard drives the dashboard in headless Chromium against doppel
// serve --demo: sign-in through the one-time link, the patient list (a
// Patient named like a script shown as text), a patient's chart with the
// model's forecast band, an alert arriving live, a what-if with a second
// curve, a ward patient, the trial viewer, the audit view, a tablet
// width, and a patient-level session refused another patient; no
// Content-Security-Policy violation on the way. It saves a screenshot of
// each page (in $DOPPEL_SCREENSHOTS, else a temporary directory;
// -update-screenshots copies them to web/testdata/screenshots).
func TestDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser and a demo server")
	}
	browser := findBrowser(t)
	dir := t.TempDir()
	started := time.Now()
	root, link := dashboardServer(t, dir, "--demo", "--demo-speed", "3", "--mqtt-addr", freeAddr(t), "--rate-limit", "0") // twin_durability_test.go
	admin := adminToken(t, dir)
	xss := fmt.Sprintf(`{"resourceType":"Patient","id":"xss-test","name":[{"text":%q}]}`, xssName)
	if code, _, b := send(t, "PUT", root+"/fhir/Patient/xss-test", xss, "Authorization", "Bearer "+admin); code != 201 {
		t.Fatalf("PUT the script-named patient: %d %s", code, b)
	}
	trialFile := trialJSON(t, dir)
	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(filepath.Join(dir, "chromium")),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true))
	alloc, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer stopAlloc()
	ctx, stopBrowser := chromedp.NewContext(alloc)
	defer stopBrowser()
	b := newBrowserLog(t, ctx)

	// shot saves a full-page PNG; notices of live alerts are dismissed
	// first except in patient-glucose.png, which shows one.
	shot := func(t *testing.T, ctx context.Context, name string) {
		t.Helper()
		if name != "patient-glucose.png" {
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("#live .toast button").forEach((b) => b.click())`)); err != nil {
				t.Fatal(err)
			}
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// wait polls expr until it is true; a poll that fails before the
	// deadline (the page navigated meanwhile, as sign-in does, and took
	// the poll's context with it) is started again.
	wait := func(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(100*time.Millisecond)))
			if err == nil {
				return
			}
			if time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("main") || document.body).innerText.slice(0, 600)`))
			t.Fatalf("%s: %v; page says:\n%s\nconsole:\n%s", what, err, text, b.messages())
		}
	}
	eval := func(t *testing.T, ctx context.Context, expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	do := func(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nconsole:\n%s", what, err, b.messages())
		}
	}

	t.Run("sign in through the one-time link", func(t *testing.T) {
		do(t, ctx, "open the link", chromedp.Navigate(link))
		wait(t, ctx, "patient list", `document.querySelectorAll("tr[data-patient]").length >= 10`, 30*time.Second)
		if got := eval(t, ctx, `location.pathname + location.search`); got != "/" {
			t.Errorf("after the link the browser is at %q, want / (the code gone from the address bar)", got)
		}
	})
	t.Run("patient list", func(t *testing.T) {
		wait(t, ctx, "last values", `document.querySelectorAll("tr[data-patient] strong").length >= 9`, 30*time.Second)
	})
	t.Run("search box", func(t *testing.T) {
		do(t, ctx, "search for ward", chromedp.SendKeys(chromedp.CSS("#patient-search"), "ward"))
		wait(t, ctx, "three ward patients", `document.querySelectorAll("tr[data-patient]").length === 3 && [...document.querySelectorAll("tr[data-patient]")].every(r => r.dataset.patient.startsWith("demo-ward-"))`, 30*time.Second)
		// The most urgent first: the deteriorating patient leads once it has
		// a score above the others'.
		wait(t, ctx, "deteriorating patient first", `document.querySelector("tr[data-patient]").dataset.patient === "demo-ward-3"`, 60*time.Second)
		do(t, ctx, "clear the search", chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.querySelector("#patient-search");
			s.value = "";
			s.dispatchEvent(new Event("input"));
		})()`))
		wait(t, ctx, "all patients again", `document.querySelectorAll("tr[data-patient]").length >= 10`, 30*time.Second)
	})
	t.Run("a script-named patient is text", func(t *testing.T) {
		got := eval(t, ctx, `document.querySelector('tr[data-patient="xss-test"] .patient-link').textContent`)
		if got != xssName {
			t.Errorf("the patient's name shows as %q, want %q", got, xssName)
		}
		if n := eval(t, ctx, `String(document.querySelectorAll("main script").length)`); n != "0" {
			t.Errorf("%s script elements in the page's main", n)
		}
		do(t, ctx, "open the patient", chromedp.Navigate(root+"/#/patient/xss-test"))
		wait(t, ctx, "its page", `document.querySelector("#patient-name") !== null`, 30*time.Second)
		if got := eval(t, ctx, `document.querySelector("#patient-name").textContent + "|" + document.querySelectorAll("main script").length`); got != xssName+"|0" {
			t.Errorf("the patient's page shows %q, want the name as text and no script", got)
		}
		do(t, ctx, "back to the list", chromedp.Navigate(root+"/#/"))
		wait(t, ctx, "patient list", `document.querySelectorAll("tr[data-patient]").length >= 10`, 30*time.Second)
	})
	t.Run("patient twin: chart, forecast band, live alert", func(t *testing.T) {
		// The alert must come after the page opens, to be seen arriving.
		if code, _, body := send(t, "GET", root+"/fhir/RiskAssessment?patient=Patient/demo-t1d-1&_summary=count", "", "Authorization", "Bearer "+admin); code != 200 || !strings.Contains(string(body), `"total":0`) {
			t.Fatalf("the hypoglycaemia alert came before the page opened (%v after the server started; the machine is slow?): %d %s", time.Since(started), code, body)
		}
		start := time.Now()
		do(t, ctx, "open demo-t1d-1", chromedp.Navigate(root+"/#/patient/demo-t1d-1"))
		wait(t, ctx, "glucose chart", `document.querySelector("#glucose-chart canvas") !== null && document.querySelector("#forecast-summary").textContent.startsWith("Model forecast from")`, 60*time.Second)
		t.Logf("patient page with its charts drawn %v after the click", time.Since(start).Round(time.Millisecond))
		legend := eval(t, ctx, `document.querySelector("#glucose-chart .u-legend").textContent`)
		for _, want := range []string{"CGM glucose, measured", "Model forecast: median", "Model forecast: 80 % interval", "Model forecast: 95 % interval"} {
			if !strings.Contains(legend, want) {
				t.Errorf("chart legend lacks %q: %s", want, legend)
			}
		}
		if got := eval(t, ctx, `document.querySelector("#glucose-chart").closest("section").querySelector(".model-note").textContent`); !strings.Contains(got, "Model output") {
			t.Errorf("no model-output label: %q", got)
		}
		wait(t, ctx, "event stream", `document.querySelector("#stream-state").dataset.state === "live"`, 30*time.Second)
		// The overdosed patient's hypoglycaemia is predicted about 3 h into
		// the demo, some 40 s at 3 simulated minutes a second: it arrives
		// over the open event stream, as a notice and in the list.
		wait(t, ctx, "live alert", `[...document.querySelectorAll("#live .toast.urgent")].some(e => e.textContent.includes("glucose"))`, 120*time.Second)
		t.Logf("hypoglycaemia alert arrived live %v after the server started", time.Since(started).Round(time.Second))
		wait(t, ctx, "alert listed", `document.querySelector("#alert-list").textContent.includes("hypoglycaemia-predicted")`, 5*time.Second)
		shot(t, ctx, "patient-glucose.png")
	})
	t.Run("what-if statistics", func(t *testing.T) {
		// A band with quantiles 60, 80, 100, 120, 140 mg/dL at 2.5, 10, 50,
		// 90 and 97.5 %: P(< 70) = 0.025 + 0.075 × 10/20 = 0.0625 by linear
		// interpolation, P(< 180) = 1 (extrapolated past 140 with slope
		// 0.075/20 per mg/dL: 0.975 + 0.15, clamped), so P(70-180) = 0.9375.
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`import("/static/js/stats.js").then((m) => {
			const b = {Minutes: 30, Lo95: 60, Lo80: 80, Median: 100, Hi80: 120, Hi95: 140, PBelow70: 0.05};
			const low = {Minutes: 60, Lo95: 40, Lo80: 50, Median: 60, Hi80: 70, Hi95: 80, PBelow70: 0.9};
			const s = m.planSummary({bands: [b, low]});
			return [m.cdf(b, 70), m.inRange(b), m.cdf(b, 30), m.inRange(low), s.tir, s.hypo];
		})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		// low: P(< 70) = 0.9, P(< 180) = 1, so P(70-180) = 0.1; the mean of
		// the two horizons is (0.9375 + 0.1) / 2; the hypoglycaemia risk the
		// larger PBelow70.
		want := []float64{0.0625, 0.9375, 0, 0.1, (0.9375 + 0.1) / 2, 0.9}
		if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
			t.Errorf("stats.js (-want +got):\n%s", diff)
		}
	})
	t.Run("what-if: a second curve", func(t *testing.T) {
		do(t, ctx, "fill two plans",
			chromedp.SetValue(chromedp.CSS("#plan-1-mealG"), "60"),
			chromedp.SetValue(chromedp.CSS("#plan-1-mealInMin"), "0"),
			chromedp.Click(chromedp.CSS("#add-plan")),
			chromedp.SetValue(chromedp.CSS("#plan-2-mealG"), "40"),
			chromedp.SetValue(chromedp.CSS("#plan-2-mealInMin"), "30"),
			chromedp.Click(chromedp.CSS("#run-whatif")))
		wait(t, ctx, "what-if chart", `document.querySelector("#whatif-chart canvas") !== null && document.querySelectorAll("#whatif-table tbody tr").length === 3`, 60*time.Second)
		if got := eval(t, ctx, `document.querySelector("#whatif-chart").dataset.curves`); got != "3" {
			t.Errorf("what-if chart has %s curves, want 3 (do nothing and two plans)", got)
		}
		rows := eval(t, ctx, `[...document.querySelectorAll("#whatif-table tbody tr")].map(r => r.textContent).join("\n")`)
		if !strings.Contains(rows, "do nothing") || !strings.Contains(rows, "meal 60 g in 0 min") || !strings.Contains(rows, " %") {
			t.Errorf("what-if table:\n%s", rows)
		}
		shot(t, ctx, "patient-whatif.png")
	})
	t.Run("ward patient", func(t *testing.T) {
		do(t, ctx, "open demo-ward-3", chromedp.Navigate(root+"/#/patient/demo-ward-3"))
		wait(t, ctx, "NEWS2 and vitals charts", `document.querySelector("#news2-chart canvas") !== null && document.querySelector("#vital-hr canvas") !== null`, 60*time.Second)
		// The chart starts from the twin's history of scored sets, not
		// from its last score alone (a live score adds one at most).
		if got := eval(t, ctx, `document.querySelector("#news2-chart").dataset.points`); got == "" || got == "1" || got == "2" {
			t.Errorf("NEWS2 chart opened with %q scores, want the twin's history (3 or more)", got)
		}
		shot(t, ctx, "patient-ward.png")
	})
	t.Run("trial viewer", func(t *testing.T) {
		do(t, ctx, "open the trial page", chromedp.Navigate(root+"/#/trial"), chromedp.WaitVisible(chromedp.CSS("#trial-file")),
			chromedp.SetUploadFiles(chromedp.CSS("#trial-file"), []string{trialFile}))
		wait(t, ctx, "per-arm plots", `document.querySelectorAll(".trial-chart canvas").length >= 5`, 30*time.Second)
		if got := eval(t, ctx, `document.querySelector("#trial-result h2").textContent`); got != "Basal-bolus vs hybrid PID" {
			t.Errorf("trial title %q", got)
		}
		shot(t, ctx, "trial.png")
	})
	t.Run("audit view", func(t *testing.T) {
		do(t, ctx, "search the audit trail", chromedp.Navigate(root+"/#/audit"), chromedp.WaitVisible(chromedp.CSS("#audit-patient")),
			chromedp.SetValue(chromedp.CSS("#audit-patient"), "demo-t1d-1"),
			chromedp.Click(chromedp.CSS(".audit-form button")))
		wait(t, ctx, "audit rows", `document.querySelectorAll("table.audit tbody tr").length > 0 && document.querySelector("table.audit tbody").textContent.includes("demo-t1d-1")`, 30*time.Second)
		shot(t, ctx, "audit.png")
	})
	t.Run("hospital forecast", func(t *testing.T) {
		// The demo holds no Locations: the endpoint's refusal is shown.
		do(t, ctx, "run on an empty census", chromedp.Navigate(root+"/#/hospital"), chromedp.WaitVisible(chromedp.CSS("#run-hospital")),
			chromedp.SetValue(chromedp.CSS("#hosp-days"), "5"), chromedp.SetValue(chromedp.CSS("#hosp-reps"), "20"),
			chromedp.Click(chromedp.CSS("#run-hospital")))
		wait(t, ctx, "refusal", `document.querySelector("#hospital-result .error") !== null`, 30*time.Second)
		if got := eval(t, ctx, `String(document.querySelector("[data-nav=hospital]").hidden)`); got != "false" {
			t.Errorf("the admin session does not see the Hospital link (hidden = %s)", got)
		}
		if got := eval(t, ctx, `document.querySelector("#hospital-result .error").textContent`); !strings.Contains(got, "no such Location") {
			t.Errorf("an empty census shows %q, want the endpoint's reason", got)
		}
		// examples/hospital_fhir.yaml's Locations and a census of in-progress
		// Encounters (hospital_fhir_test.go), written through the FHIR API.
		for _, r := range censusResources(time.Now()) {
			var id struct{ ResourceType, ID string }
			if err := json.Unmarshal([]byte(r), &id); err != nil {
				t.Fatal(err)
			}
			if code, _, body := send(t, "PUT", root+"/fhir/"+id.ResourceType+"/"+id.ID, r, "Authorization", "Bearer "+admin); code != 201 && code != 200 {
				t.Fatalf("PUT %s/%s: %d %s", id.ResourceType, id.ID, code, body)
			}
		}
		do(t, ctx, "run with a what-if", chromedp.SetValue(chromedp.CSS("#hosp-whatif-unit"), "icu"),
			chromedp.SetValue(chromedp.CSS("#hosp-whatif-change"), "2"), chromedp.Click(chromedp.CSS("#run-hospital")))
		wait(t, ctx, "a chart per unit", `document.querySelectorAll(".occupancy-chart canvas").length === 3`, 60*time.Second)
		for _, unit := range []string{"ed", "ward", "icu"} {
			// Two curves (as planned, the what-if), each with its band.
			if got := eval(t, ctx, `document.querySelector('.occupancy-chart[data-unit="`+unit+`"]').dataset.bands`); got != "2" {
				t.Errorf("%s chart: %s bands, want 2", unit, got)
			}
		}
		census := eval(t, ctx, `document.querySelector("#hospital-census").textContent`)
		if !strings.Contains(census, "1 in the ED") || !strings.Contains(census, "ward 2") || !strings.Contains(census, "icu 1") {
			t.Errorf("census %q, want 1 in the ED, ward 2, icu 1", census)
		}
		table := eval(t, ctx, `document.querySelector("#hospital-table").textContent`)
		for _, want := range []string{"Emergency department", "Unit icu", "icu +2 beds", " ± ", "Model forecast"} {
			if !strings.Contains(table, want) {
				t.Errorf("results table lacks %q: %s", want, table)
			}
		}
		diff := eval(t, ctx, `document.querySelector(".hospital-diff") ? document.querySelector(".hospital-diff").textContent : ""`)
		if !strings.Contains(diff, "icu +2 beds") || !strings.Contains(diff, "Mean ED boarding (h)") {
			t.Errorf("what-if differences %q", diff)
		}
		if got := eval(t, ctx, `document.querySelector("#hospital-result").textContent`); strings.Contains(got, "[object") || strings.Contains(got, "null") {
			t.Errorf("the results show an object as text: %s", got)
		}
		if got := eval(t, ctx, `document.querySelector("main .model-note").textContent`); !strings.Contains(got, "Model output") {
			t.Errorf("model note %q", got)
		}
		// The model run is kept for the next visit, in this browser.
		if got := eval(t, ctx, `String(localStorage.getItem("doppel.hospital-model") === document.querySelector("#hosp-model").value)`); got != "true" {
			t.Errorf("the model run is not kept in localStorage")
		}
		shot(t, ctx, "hospital.png")
	})
	t.Run("tablet width, another time zone", func(t *testing.T) {
		tz := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/Chicago"})
			return err
		})
		do(t, ctx, "tablet", chromedp.EmulateViewport(768, 1024), tz, chromedp.Navigate(root+"/#/patient/demo-t1d-2"), chromedp.Reload())
		wait(t, ctx, "chart at tablet width", `document.querySelector("#glucose-chart canvas") !== null`, 60*time.Second)
		if w := eval(t, ctx, `String(document.documentElement.scrollWidth)`); w != "768" {
			t.Errorf("page is %s px wide at a 768 px viewport: it scrolls sideways", w)
		}
		if got := eval(t, ctx, `document.querySelector("#tz").textContent`); !strings.Contains(got, "America/Chicago") {
			t.Errorf("time zone note %q, want America/Chicago", got)
		}
		// Times on the page are Chicago's: the last reading's, as the twin
		// gives it in UTC, shows 6 h earlier (CST, UTC-6, in November).
		// (A new reading may come between the two looks, and reach the page
		// a moment after the API: then look again.)
		var summary, want string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
			at := eval(t, ctx, `fetch("/twin/demo-t1d-2").then((r) => r.json()).then((s) => s.glucose.forecast.at)`)
			utc, err := time.Parse(time.RFC3339, at)
			if err != nil {
				t.Fatal(err)
			}
			want = utc.Add(-6 * time.Hour).Format("3:04 PM")
			if summary = eval(t, ctx, `document.querySelector("#forecast-summary").textContent`); strings.Contains(summary, want) {
				break
			}
		}
		if !strings.Contains(summary, want) {
			t.Errorf("forecast summary %q lacks the Chicago time %s", summary, want)
		}
		shot(t, ctx, "patient-tablet.png")
		do(t, ctx, "laptop", chromedp.EmulateViewport(1280, 900))
	})
	t.Run("keyboard", func(t *testing.T) {
		// A page puts the focus on its main content; Tab goes on to the
		// search box.
		do(t, ctx, "tab into the page", chromedp.Navigate(root+"/#/"), chromedp.WaitVisible(chromedp.CSS("tr[data-patient]")), chromedp.KeyEvent("\t"))
		if got := eval(t, ctx, `document.activeElement.id`); got != "patient-search" {
			t.Errorf("Tab from the page's start focuses #%q, want #patient-search", got)
		}
		// A patient link keeps the focus through the list's refreshes (every
		// 5 s) and opens with Enter.
		do(t, ctx, "focus a patient", chromedp.Evaluate[chromedp.Void](`document.querySelector('tr[data-patient="demo-ward-1"] a').focus()`))
		time.Sleep(6 * time.Second)
		if got := eval(t, ctx, `document.activeElement.closest("tr") ? document.activeElement.closest("tr").dataset.patient : ""`); got != "demo-ward-1" {
			t.Errorf("after a refresh the focus is on %q, want demo-ward-1's link", got)
		}
		// By now the demo has raised alerts: the list shows them first
		// (patients.png, with the focus on demo-ward-1's link).
		shot(t, ctx, "patients.png")
		do(t, ctx, "enter on a patient", chromedp.KeyEvent("\r"))
		wait(t, ctx, "opened by keyboard", `location.hash === "#/patient/demo-ward-1"`, 10*time.Second)
	})
	t.Run("a patient-level session sees one patient", func(t *testing.T) {
		pctx, stop := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
		defer stop()
		pb := newBrowserLog(t, pctx)
		tok := mintToken(t, dir, auth.Grant{Subject: "patient-2", Role: "patient", Patient: "demo-t1d-2"})
		do(t, pctx, "sign in with a token", chromedp.Navigate(root+"/"), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SetValue(chromedp.CSS("#token"), tok), chromedp.Click(chromedp.CSS("#signin-form button")))
		wait(t, pctx, "own patient", `location.hash === "#/patient/demo-t1d-2" && document.querySelector("#patient-name") !== null`, 30*time.Second)
		if got := eval(t, pctx, `document.querySelector("#who").textContent`); !strings.Contains(got, "Patient/demo-t1d-2 only") {
			t.Errorf("header says %q", got)
		}
		if got := eval(t, pctx, `String(document.querySelector("[data-nav=hospital]").hidden)`); got != "true" {
			t.Errorf("a patient session sees the Hospital link (hidden = %s)", got)
		}
		do(t, pctx, "open another patient", chromedp.Navigate(root+"/#/patient/demo-t1d-1"))
		wait(t, pctx, "refused", `document.querySelector("main .error") !== null`, 30*time.Second)
		// The API answers 404 for a patient outside the compartment (it does
		// not tell whether one exists), so the page says not found.
		if got := eval(t, pctx, `document.querySelector("main .error").textContent`); !strings.HasPrefix(got, "Not allowed") && !strings.HasPrefix(got, "Not found") {
			t.Errorf("another patient shows %q, want a refusal", got)
		}
		if got := eval(t, pctx, `String(document.querySelectorAll("main canvas").length)`); got != "0" {
			t.Errorf("%s charts drawn for another patient", got)
		}
		if got := eval(t, pctx, `document.querySelector("main").textContent`); strings.Contains(got, "adult#001") {
			t.Errorf("the other patient's name is on the page: %s", got)
		}
		n, err := chromedp.Run(pctx, chromedp.Evaluate[float64](`fetch("/fhir/Patient").then(r => r.json()).then(b => b.total)`, chromedp.EvalAwaitPromise))
		if err != nil || n != 1 {
			t.Errorf("the session's Patient search finds %v (%v), want 1", n, err)
		}
		shot(t, pctx, "patient-scoped-refused.png")
		pb.noViolations(t)
	})
	t.Run("no CSP violation", func(t *testing.T) {
		b.noViolations(t)
		// The check can fail: an inline script added now is refused and seen.
		do(t, ctx, "inline script", chromedp.Evaluate[chromedp.Void](`document.head.append(Object.assign(document.createElement("script"), {textContent: "window.ran = 1"}))`))
		wait(t, ctx, "violation reported", `window.ran === undefined`, 5*time.Second)
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(b.messages(), "CSP violation: script-src") && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if !strings.Contains(b.messages(), "CSP violation: script-src") {
			t.Errorf("an inline script was not reported as a CSP violation; console:\n%s", b.messages())
		}
	})
	if *updateScreenshots {
		copyScreenshots(t, shots, filepath.Join("..", "..", "web", "testdata", "screenshots"))
	}
}

// browserLog collects a tab's console messages, JavaScript dialogs and
// Content-Security-Policy violations (reported to the console by a script
// the browser runs in every document before the page's own).
type browserLog struct {
	mu   sync.Mutex
	msgs []string
}

func newBrowserLog(t *testing.T, ctx context.Context) *browserLog {
	t.Helper()
	bl := &browserLog{}
	report := `document.addEventListener("securitypolicyviolation", (e) => console.error("CSP violation: " + e.effectiveDirective + " " + e.blockedURI));`
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: report})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			bl.add("dialog: " + d.Message)
		}
	}); err != nil {
		t.Fatal(err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.URL != "" && m.Type == chromedp.ConsoleError {
				bl.add(m.String() + " (" + m.URL + ")")
			} else {
				bl.add(m.String())
			}
		}
	}()
	return bl
}

func (bl *browserLog) add(s string) {
	bl.mu.Lock()
	bl.msgs = append(bl.msgs, s)
	bl.mu.Unlock()
}

func (bl *browserLog) messages() string {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	return strings.Join(bl.msgs, "\n")
}

// noViolations fails on a CSP violation, a JavaScript dialog (a script
// that ran from data) or an uncaught exception so far.
func (bl *browserLog) noViolations(t *testing.T) {
	t.Helper()
	for _, m := range strings.Split(bl.messages(), "\n") {
		if strings.Contains(m, "CSP violation") || strings.Contains(m, "Content Security Policy") ||
			strings.HasPrefix(m, "dialog: ") || strings.HasPrefix(m, "exception: ") {
			t.Errorf("browser: %s", m)
		}
	}
}

// copyScreenshots copies the PNG files of src to dst.
func copyScreenshots(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(src, "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPrintSignInLink(t *testing.T) {
	key, err := auth.LoadKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(key, auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080/signin?code="},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 9000}, "http://127.0.0.1:9000/signin?code="},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9001}, "http://127.0.0.1:9001/signin?code="},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9002}, "http://[::1]:9002/signin?code="},
	}
	for _, tc := range tests {
		routes := http.NewServeMux()
		d, err := dashboardRoutes(routes, http.NotFoundHandler(), a)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		printSignInLink(&out, d, "http", tc.addr)
		if got := out.String(); !strings.HasPrefix(got, "doppel: dashboard: "+tc.want) || !strings.HasSuffix(got, "valid 15m0s)\n") {
			t.Errorf("%v: printed %q, want the link %s...", tc.addr, got, tc.want)
		}
	}
}
