// app.js: the dashboard's pages, routed by the URL fragment (#/,
// #/patient/ID, #/trial, #/audit, #/hospital).
import * as api from "./data.js";
import { h, when, pct, num, modelNote } from "./dom.js";
import * as charts from "./charts.js";
import { planSummary } from "./stats.js";
import { hospitalPage } from "./hospital.js";

const main = document.getElementById("main");
const live = document.getElementById("live");
let me = null;        // the session
let cleanup = [];     // what the current page must stop when left

function leave() {
  for (const f of cleanup) f();
  cleanup = [];
}

// announce shows a notice for 15 s (read out by screen readers: the
// region is aria-live); it can be dismissed earlier.
function announce(text, urgent) {
  const item = h("div", { class: urgent ? "toast urgent" : "toast" }, h("p", {}, text),
    h("button", { type: "button", class: "quiet", onclick: () => item.remove() }, "Dismiss"));
  live.append(item);
  setTimeout(() => item.remove(), 15000);
}

function errorBox(e) {
  const text = e.status === 403 ? `Not allowed: ${e.message}` : e.status === 404 ? `Not found: ${e.message}` : `Error: ${e.message}`;
  return h("p", { class: "error", role: "alert" }, text);
}

// partial notes a part of a page that could not be loaded and lets the
// rest show.
function partial(e) {
  main.append(h("p", { class: "error", role: "alert" }, `Part of this page could not be loaded: ${e.message}`));
  return [];
}

function setNav(name) {
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// ---- patient list ----

// urgency orders patients: predicted hypoglycaemia and NEWS2 >= 7 first,
// then NEWS2 5-6 or a single red parameter, then lost data streams, then
// any NEWS2 above 0; ties by probability or score.
function urgency(st) {
  let u = 0;
  const g = st && st.glucose, n = st && st.news2;
  if (g) {
    const p = (g.forecast && g.forecast.pHypo) || 0;
    if (g.hypoAlert) u = Math.max(u, 3 + p);
    else if (p >= 0.2) u = Math.max(u, 2 + p);
    if (g.streamLost) u = Math.max(u, 1.5);
  }
  if (n) {
    if (n.total >= 7) u = Math.max(u, 3 + n.total / 100);
    else if (n.total >= 5 || n.red) u = Math.max(u, 2 + n.total / 100);
    else if (n.total > 0) u = Math.max(u, 1 + n.total / 100);
  }
  return u;
}

function badges(st) {
  const out = [];
  const g = st && st.glucose, n = st && st.news2;
  if (g && g.hypoAlert) out.push(h("span", { class: "badge alert" }, `⚠ Hypo predicted ${pct(g.forecast && g.forecast.pHypo)}`));
  if (g && g.streamLost) out.push(h("span", { class: "badge warn" }, "Data stream lost"));
  if (n && n.total >= 7) out.push(h("span", { class: "badge alert" }, `⚠ NEWS2 ${n.total}: ${n.response}`));
  else if (n && (n.total >= 5 || n.red)) out.push(h("span", { class: "badge warn" }, `NEWS2 ${n.total}: ${n.response}`));
  if (out.length === 0) out.push(h("span", { class: "badge ok" }, "No alert"));
  return out;
}

async function patientList() {
  setNav("patients");
  const search = h("input", { type: "search", id: "patient-search", placeholder: "Name", autocomplete: "off" });
  const status = h("p", { class: "muted", id: "list-status" }, "Loading…");
  const body = h("tbody");
  const table = h("table", { class: "patients" },
    h("caption", {}, "Patients, most urgent first. Alerts and values refresh every 5 s."),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Patient"), h("th", { scope: "col" }, "Alerts"),
      h("th", { scope: "col" }, "Last CGM (mg/dL)"), h("th", { scope: "col" }, "NEWS2 (points)"), h("th", { scope: "col" }, "Twin"))),
    body);
  main.replaceChildren(h("h1", {}, "Patients"),
    h("form", { class: "search", role: "search", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "patient-search" }, "Search patients by name"), search),
    status, h("div", { class: "table-wrap" }, table));

  let list = [];
  let states = new Map();
  let gen = 0;

  function render() {
    // A refresh keeps the keyboard focus on the patient link it was on.
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("tr[data-patient]");
    const refocus = focused && document.activeElement.classList.contains("patient-link") ? focused.dataset.patient : null;
    const rows = list.map((p) => ({ p, st: states.get(p.id) })).sort((a, b) => urgency(b.st) - urgency(a.st) || a.p.name.localeCompare(b.p.name));
    body.replaceChildren(...rows.map(({ p, st }) => {
      const g = st && st.glucose, n = st && st.news2;
      return h("tr", { "data-patient": p.id },
        h("th", { scope: "row" }, h("a", { href: "#/patient/" + encodeURIComponent(p.id), class: "patient-link" }, p.name), h("div", { class: "muted small" }, p.id)),
        h("td", {}, badges(st)),
        h("td", {}, g ? [h("strong", {}, num(g.reading)), h("div", { class: "muted small" }, when(g.lastReading))] : "–"),
        h("td", {}, n ? [h("strong", {}, String(n.total)), h("div", { class: "muted small" }, `${n.response} · ${when(n.at)}`)] : "–"),
        h("td", {}, st ? (g ? "glucose" : "") + (g && n ? ", " : "") + (n ? "ward vitals" : "") : "no twin"));
    }));
    status.textContent = `${list.length} patient${list.length === 1 ? "" : "s"}`;
    if (refocus) {
      const link = [...body.querySelectorAll("tr[data-patient]")].find((r) => r.dataset.patient === refocus);
      if (link) link.querySelector(".patient-link").focus();
    }
  }

  async function refreshStates() {
    const g = gen;
    const entries = await Promise.all(list.map(async (p) => [p.id, await api.twin(p.id).catch(() => null)]));
    if (g !== gen) return;
    states = new Map(entries);
    render();
  }

  async function load() {
    const g = ++gen;
    try {
      const found = await api.patients(search.value.trim());
      if (g !== gen) return;
      list = found;
      render();
      await refreshStates();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  }

  let debounce = 0;
  search.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(load, 300);
  });
  const timer = setInterval(refreshStates, 5000);
  cleanup.push(() => { clearInterval(timer); clearTimeout(debounce); gen++; });
  await load();
}

// ---- patient twin ----

const HOUR = 3600000;

const VITALS = [
  { key: "hr", label: "Heart rate", short: "HR", unit: "beats/min", colour: charts.OKABE_ITO.vermillion },
  { key: "rr", label: "Respiratory rate", short: "RR", unit: "breaths/min", colour: charts.OKABE_ITO.blue },
  { key: "spo2", label: "SpO₂", short: "SpO₂", unit: "%", colour: charts.OKABE_ITO.sky },
  { key: "sys", label: "Systolic blood pressure", short: "Systolic BP", unit: "mmHg", colour: charts.OKABE_ITO.purple },
  { key: "temp", label: "Temperature", short: "Temp.", unit: "°C", colour: charts.OKABE_ITO.green },
];

function forecastSummary(f) {
  if (!f) return "No forecast yet.";
  const parts = (f.bands || []).map((b) => `${b.Minutes} min: ${num(b.Median)} mg/dL (80 % interval ${num(b.Lo80)}–${num(b.Hi80)}, 95 % ${num(b.Lo95)}–${num(b.Hi95)})`);
  return `Model forecast from the reading of ${when(f.at)} (${num(f.reading)} mg/dL measured, ${num(f.bg)} mg/dL estimated): ${parts.join("; ")}. P(< 70 mg/dL within 30 min) ${pct(f.pHypo)}.`;
}

// patientPage shows a patient; current() turns false when the user has
// gone to another page meanwhile, and then nothing more is drawn.
async function patientPage(id, current) {
  setNav("patients");
  main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  let patient, st;
  try {
    [patient, st] = await Promise.all([api.patient(id), api.twin(id)]);
  } catch (e) {
    if (!current()) return;
    main.replaceChildren(h("h1", {}, "Patient"), errorBox(e), h("p", {}, h("a", { href: "#/" }, "Back to the patient list")));
    return;
  }
  if (!current()) return;
  const header = h("div", { class: "badges", id: "patient-badges" }, badges(st));
  const streamState = h("span", { class: "stream muted small", id: "stream-state" }, "connecting…");
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/" }, "← Patients")),
    h("h1", { id: "patient-name" }, patient.name),
    h("p", { class: "muted" }, `Patient/${patient.id} · live updates: `, streamState),
    header);

  const alerts = [];
  const alertList = h("ul", { class: "alerts", id: "alert-list" });
  function renderAlerts() {
    alertList.replaceChildren(...(alerts.length ? alerts.slice().reverse().map((a) =>
      h("li", {}, h("time", { datetime: new Date(a.t).toISOString() }, when(a.t)), " ", h("span", { class: "badge alert" }, a.kind), " ", a.text)) : [h("li", { class: "muted" }, "No alert in this window.")]));
  }

  const glucose = st && st.glucose;
  const news2 = st && st.news2;
  const anchor = Math.max(glucose ? Date.parse(glucose.lastReading) : 0, news2 ? Date.parse(news2.at) : 0) || Date.now();
  const since = anchor - 6 * HOUR;
  try {
    alerts.push(...await api.alerts(id, since));
  } catch (e) {
    main.append(errorBox(e));
  }

  let g = null;
  if (glucose && current()) g = await glucoseSection(id, glucose, since, () => alerts, current);
  let w = null;
  if (news2 && current()) w = await wardSection(id, news2, st.news2History || [], since, () => alerts, current);
  if (!current()) {
    if (g) g.destroy();
    if (w) w.destroy();
    return;
  }
  if (!glucose && !news2) main.append(h("p", {}, "No twin for this patient yet: it starts with the first device reading."));

  main.append(h("section", { "aria-labelledby": "alerts-h" }, h("h2", { id: "alerts-h" }, "Alerts (last 6 h and live)"), alertList));
  renderAlerts();

  const stop = api.events(id, (kind, ev) => {
    if (kind === "forecast" && g) g.onForecast(ev.forecast);
    if (kind === "news2" && w) w.onNEWS2(ev.news2);
    if (kind === "alert") {
      const a = { t: Date.parse(ev.time), kind: ev.alert.kind, text: ev.alert.message };
      if (!alerts.some((x) => x.t === a.t && x.kind === a.kind)) alerts.push(a);
      renderAlerts();
      if (g) g.redraw();
      if (w) w.redraw();
      announce(`Alert for ${patient.name}: ${ev.alert.message}`, true);
      api.twin(id).then((s) => header.replaceChildren(...badges(s))).catch(() => {});
    }
  }, (state) => { streamState.textContent = state; streamState.dataset.state = state; });
  cleanup.push(stop);
  if (g) cleanup.push(g.destroy);
  if (w) cleanup.push(w.destroy);
}

async function glucoseSection(id, state, since, alertsOf, current) {
  let [cgm, insulin, meals] = await Promise.all([
    api.samples(id, api.CODES.cgm, since).catch(partial),
    api.insulin(id, since).catch(partial),
    api.meals(id, since).catch(partial),
  ]);
  if (!current()) return null;
  let forecast = state.forecast || null;
  const chartEl = h("div", { class: "chart", id: "glucose-chart" });
  const dosesEl = h("div", { class: "chart", id: "doses-chart" });
  const summary = h("p", { class: "summary", id: "forecast-summary" }, forecastSummary(forecast));
  const section = h("section", { "aria-labelledby": "glucose-h" },
    h("h2", { id: "glucose-h" }, "Glucose"),
    modelNote("The dashed line and shaded bands are the twin's model forecast (median, 80 % and 95 % prediction intervals), not measurements. Dots are measured CGM values."),
    h("figure", {}, chartEl, h("figcaption", {}, "CGM glucose (measured) and the twin's model forecast; green: target range 70–180 mg/dL; vertical markers: alerts.")),
    summary,
    h("figure", {}, dosesEl, h("figcaption", { id: "doses-caption" })));
  const dosesCaption = () => {
    const sum = (l) => l.reduce((s, x) => s + x.v, 0);
    section.querySelector("#doses-caption").textContent = `Recorded in the window: ${insulin.length} insulin dose(s), ${num(sum(insulin), 1)} U in all; ${meals.length} meal(s), ${num(sum(meals))} g carbohydrate.`;
  };
  main.append(section);
  const view = () => ({ cgm, forecast, alerts: alertsOf() });
  const gc = charts.glucoseChart(chartEl, view());
  const range = () => {
    const xs = [...cgm.map((s) => s.t), ...charts.forecastPoints(forecast).map((p) => p.t)];
    return xs.length ? [Math.min(...xs) / 1000, Math.max(...xs) / 1000] : [since / 1000, Date.now() / 1000];
  };
  const dc = charts.dosesChart(dosesEl, insulin, meals, range);
  dosesCaption();
  main.append(whatIfPanel(id));
  return {
    onForecast(f) {
      forecast = f;
      const t = Date.parse(f.at);
      if (!cgm.length || cgm[cgm.length - 1].t < t) cgm.push({ t, v: f.reading });
      gc.update(view());
      summary.textContent = forecastSummary(f);
      Promise.all([api.insulin(id, since), api.meals(id, since)]).then(([i, m]) => {
        insulin = i;
        meals = m;
        dc.update(insulin, meals);
        dosesCaption();
      }).catch(() => {});
    },
    redraw() { gc.update(view()); },
    destroy() { gc.destroy(); dc.destroy(); },
  };
}

// wardSection shows the vitals and NEWS2: the twin's scored sets of the
// last 12 h (history), or its last score alone, then those received live.
async function wardSection(id, state, history, since, alertsOf, current) {
  let series = await Promise.all(VITALS.map((v) => api.samples(id, api.CODES[v.key], since).catch(partial)));
  if (!current()) return null;
  const scores = history.length ? history.map((p) => ({ t: Date.parse(p.at), v: p.total }))
    : [{ t: Date.parse(state.at), v: state.total }];
  const now = h("p", { class: "summary", id: "news2-summary" });
  const show = (n) => {
    now.textContent = `Last NEWS2 ${n.total} points (${n.response}) at ${when(n.at)}` +
      (n.escalateHours != null ? `; model trend: escalation expected in ${num(n.escalateHours, 1)} h` : "") +
      `; model P(escalation within 12 h) ${pct(n.pEscalate)}.`;
  };
  show(state);
  const newsEl = h("div", { class: "chart", id: "news2-chart" });
  const grid = h("div", { class: "chart-grid" });
  const section = h("section", { "aria-labelledby": "ward-h" },
    h("h2", { id: "ward-h" }, "Vital signs and NEWS2"), now,
    h("figure", {}, newsEl, h("figcaption", {}, "NEWS2 score of each complete set of measured vitals (the twin's last 12 h, then those received live); dashed lines: RCP response thresholds.")),
    grid);
  main.append(section);
  // Every chart of the section spans the same window: the measured
  // vitals and the scores.
  const range = () => {
    const ts = [...series.flat().map((x) => x.t), ...scores.map((x) => x.t)];
    return ts.length ? [Math.min(...ts) / 1000 - 300, Math.max(...ts) / 1000 + 300] : [since / 1000, Date.now() / 1000];
  };
  const nc = charts.news2Chart(newsEl, scores, alertsOf, range);
  newsEl.dataset.points = String(scores.length);
  const vcs = VITALS.map((v, i) => {
    const el = h("div", { class: "chart", id: "vital-" + v.key });
    grid.append(h("figure", {}, el, h("figcaption", {}, `${v.label} (${v.unit}), measured.`)));
    return charts.seriesChart(el, { ...v, data: series[i], range });
  });
  return {
    onNEWS2(n) {
      scores.push({ t: Date.parse(n.at), v: n.total });
      nc.update(scores);
      newsEl.dataset.points = String(scores.length);
      show(n);
      Promise.all(VITALS.map((v) => api.samples(id, api.CODES[v.key], since).catch(partial)))
        .then((ss) => {
          series = ss;
          ss.forEach((s, i) => vcs[i].update(s));
        });
    },
    redraw() { nc.update(scores); },
    destroy() { nc.destroy(); vcs.forEach((c) => c.destroy()); },
  };
}

// ---- what-if ----

function planRow(k, onRemove) {
  const f = (name, label, attrs) => {
    const input = h("input", { type: "number", name, id: `plan-${k}-${name}`, step: "any", min: "0", inputmode: "decimal", ...attrs });
    return h("div", { class: "field" }, h("label", { for: input.id }, label), input);
  };
  const row = h("fieldset", { class: "plan", "data-plan": k },
    h("legend", {}, `Plan ${k}`),
    f("bolusU", "Bolus now (U)", { max: "25" }),
    f("mealG", "Meal (g carbohydrate)", { max: "250" }),
    f("mealInMin", "Meal in (min)", { max: "240", step: "1" }),
    f("basalUPerH", "New basal rate (U/h)", { max: "10" }),
    h("button", { type: "button", class: "quiet", onclick: () => onRemove(row) }, `Remove plan ${k}`));
  return row;
}

function readPlan(row) {
  const val = (n) => {
    const s = row.querySelector(`[name=${n}]`).value.trim();
    return s === "" ? undefined : Number(s);
  };
  const p = {};
  for (const n of ["bolusU", "mealG", "mealInMin", "basalUPerH"]) {
    const v = val(n);
    if (v !== undefined && Number.isFinite(v)) p[n] = n === "mealInMin" ? Math.round(v) : v;
  }
  return p;
}

function whatIfPanel(id) {
  const plans = h("div", { class: "plans" });
  const result = h("div", { id: "whatif-result" });
  let n = 0;
  const add = () => {
    if (plans.children.length >= 4) return;
    n++;
    plans.append(planRow(n, (row) => row.remove()));
  };
  add();
  let chart = null;
  const run = async (ev) => {
    ev.preventDefault();
    const list = [...plans.children].map(readPlan).filter((p) => Object.keys(p).length > 0);
    if (list.length === 0) {
      result.replaceChildren(h("p", { class: "error", role: "alert" }, "Enter at least one plan: a bolus, a meal or a basal rate."));
      return;
    }
    result.replaceChildren(h("p", { class: "muted" }, "Running the twin forward…"));
    try {
      const res = await api.whatIf(id, list);
      if (chart) chart.destroy();
      const el = h("div", { class: "chart", id: "whatif-chart" });
      const rows = res.branches.map((b, k) => {
        const s = planSummary(b.forecast);
        const last = (b.forecast.bands || []).at(-1);
        return h("tr", {}, h("th", { scope: "row" }, h("span", { class: "swatch", "data-colour": k % charts.PLAN_COLOURS.length }), charts.planName(b.plan, k)),
          h("td", {}, pct(s.tir)), h("td", {}, pct(s.hypo)), h("td", {}, pct(b.forecast.pHypo)), h("td", {}, last ? num(last.Median) : "–"));
      });
      result.replaceChildren(
        modelNote("Each curve is the twin's model forecast for one plan, started from its current estimated state; the live twin is not changed."),
        h("figure", {}, el, h("figcaption", {}, "What-if: model forecast median (line) and 80 % interval (band) per plan; do nothing in black.")),
        h("div", { class: "table-wrap" }, h("table", { class: "whatif", id: "whatif-table" },
          h("caption", {}, "Per plan, from the model forecast at 30, 60 and 120 min: predicted time in range 70–180 mg/dL (mean probability of being in range over those horizons) and hypoglycaemia risk."),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Plan"), h("th", { scope: "col" }, "Predicted time in range"),
            h("th", { scope: "col" }, "Highest P(< 70 mg/dL)"), h("th", { scope: "col" }, "P(< 70 within 30 min)"), h("th", { scope: "col" }, "Median at 120 min (mg/dL)"))),
          h("tbody", {}, rows))));
      chart = charts.whatIfChart(el, res.branches);
    } catch (e) {
      result.replaceChildren(errorBox(e));
    }
  };
  cleanup.push(() => chart && chart.destroy());
  return h("section", { "aria-labelledby": "whatif-h", class: "whatif-panel" },
    h("h2", { id: "whatif-h" }, "What if…"),
    h("p", { class: "muted" }, "Try up to four alternative plans on the twin; each is compared with doing nothing."),
    h("form", { id: "whatif-form", onsubmit: run }, plans,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "quiet", id: "add-plan", onclick: add }, "Add a plan"),
        h("button", { type: "submit", id: "run-whatif" }, "Run what-if"))),
    result);
}

// ---- trial viewer ----

function trialPage() {
  setNav("trial");
  const input = h("input", { type: "file", id: "trial-file", accept: ".json,application/json" });
  const out = h("div", { id: "trial-result" });
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      showTrial(out, JSON.parse(await file.text()));
    } catch (e) {
      out.replaceChildren(h("p", { class: "error", role: "alert" }, `${file.name}: ${e.message}`));
    }
  });
  main.replaceChildren(h("h1", {}, "In-silico trial results"),
    h("p", {}, "Open the JSON that ", h("code", {}, "doppel trial FILE --json"), " prints (or its summary.json). The file is read in this browser only; nothing is sent to the server."),
    h("div", { class: "field" }, h("label", { for: "trial-file" }, "Trial summary (JSON)"), input), out);
}

function showTrial(out, s) {
  if (!s || !Array.isArray(s.arms) || !Array.isArray(s.metrics) || s.arms.length === 0) {
    throw new Error("not the JSON of doppel trial --json (it needs arms and metrics)");
  }
  const charts_ = [];
  const grid = h("div", { class: "chart-grid" });
  out.replaceChildren(
    h("h2", {}, s.trial || "Trial"),
    modelNote("Every value here is simulated: virtual patients of the UVA/Padova model, not people."),
    h("p", {}, `File ${s.file || "–"} · ${s.days} day(s) · seed ${s.seed} · ${(s.patients || []).length} virtual patients · sensor ${s.sensor || "–"}${s.sensor_noise ? " (noisy)" : ""} · pump ${s.pump || "–"}`),
    h("ul", {}, s.arms.map((a) => h("li", {}, h("strong", {}, a.name), `: controller ${a.controller && a.controller.name}` + (a.meals ? `, meals ${a.meals}` : "")))),
    h("p", { class: "muted" }, "Per metric, per arm: box from the first to the third quartile, thick line at the median, whiskers from the minimum to the maximum over the cohort."),
    grid);
  for (const m of s.metrics) {
    const el = h("div", { class: "chart trial-chart", "data-metric": m.name });
    grid.append(h("figure", {}, el, h("figcaption", {}, `${m.label}${m.unit ? ` (${m.unit})` : ""}`)));
    charts_.push(charts.trialChart(el, s.arms, m));
  }
  const head = h("tr", {}, h("th", { scope: "col" }, "Metric"), s.arms.map((a) => h("th", { scope: "col" }, `${a.name}: median [Q1, Q3]`)));
  const rows = s.metrics.map((m) => h("tr", {}, h("th", { scope: "row" }, `${m.label}${m.unit ? ` (${m.unit})` : ""}`),
    s.arms.map((a) => {
      const x = (a.metrics || []).find((v) => v.name === m.name);
      return h("td", {}, x ? `${num(x.median, 2)} [${num(x.q1, 2)}, ${num(x.q3, 2)}]` : "–");
    })));
  out.append(h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, rows))));
  cleanup.push(() => charts_.forEach((c) => c.destroy()));
}

// ---- audit ----

// The codes of AuditEvent.action and .outcome (FHIR R4 value sets).
const ACTIONS = { C: "create", R: "read", U: "update", D: "delete", E: "execute" };
const OUTCOMES = { 4: "minor failure", 8: "serious failure", 12: "major failure" };

function auditPage() {
  setNav("audit");
  const field = (id, label, attrs) => h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, ...attrs }));
  const body = h("tbody");
  const status = h("p", { class: "muted", id: "audit-status" });
  const more = h("button", { type: "button", class: "quiet", hidden: true }, "Next page");
  let next = "";
  const show = async (page) => {
    try {
      const res = await api.auditEvents(page ? { next } : {
        patient: document.getElementById("audit-patient").value.trim(),
        from: document.getElementById("audit-from").value,
        to: document.getElementById("audit-to").value,
      });
      next = res.next;
      more.hidden = !next;
      const rows = res.events.map((e) => {
        const agent = (e.agent || []).find((a) => a.requestor) || (e.agent || [])[0] || {};
        const who = agent.who ? (agent.who.display || (agent.who.identifier || {}).value || agent.who.reference) : "–";
        const what = (e.entity || []).map((x) => (x.what && x.what.reference) || "").filter(Boolean).join(", ");
        const sub = (e.subtype || []).map((c) => c.display || c.code).join(", ");
        const from = agent.network ? agent.network.address : "–";
        return h("tr", {}, h("td", {}, when(e.recorded, "seconds")), h("td", {}, [sub, e.outcomeDesc].filter(Boolean).join(" ") || "–"),
          h("td", {}, ACTIONS[e.action] || e.action || "–"),
          h("td", {}, e.outcome === "0" ? "success" : `failure (${OUTCOMES[e.outcome] || e.outcome})`), h("td", {}, who), h("td", {}, from), h("td", {}, what || "–"));
      });
      if (page) body.append(...rows); else body.replaceChildren(...rows);
      status.textContent = `${res.total ?? body.children.length} event(s)`;
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
  };
  more.addEventListener("click", () => show(true));
  main.replaceChildren(h("h1", {}, "Audit trail"),
    h("form", { class: "audit-form", onsubmit: (e) => { e.preventDefault(); show(false); } },
      field("audit-patient", "Patient id", { type: "text", autocomplete: "off" }),
      field("audit-from", "From (date)", { type: "date" }),
      field("audit-to", "To (date)", { type: "date" }),
      h("button", { type: "submit" }, "Search")),
    status,
    h("div", { class: "table-wrap" }, h("table", { class: "audit" },
      h("caption", {}, "AuditEvents, newest first (times in your time zone)."),
      h("thead", {}, h("tr", {}, ["Recorded", "Interaction", "Action", "Outcome", "Who", "From", "What"].map((c) => h("th", { scope: "col" }, c)))),
      body)),
    more);
  show(false);
}

// ---- routing ----

let visits = 0; // counts the pages opened, so a page knows when it is left

async function route() {
  leave();
  const visit = ++visits;
  const current = () => visit === visits;
  const hash = location.hash.replace(/^#/, "") || "/";
  const m = hash.match(/^\/patient\/([^/]+)$/);
  document.body.dataset.page = m ? "patient" : hash.slice(1) || "patients";
  // The focus moves to the new page's content at once, not when it has
  // loaded, so that it never jumps away from where the user has gone since.
  main.focus({ preventScroll: true });
  if (m) await patientPage(decodeURIComponent(m[1]), current);
  else if (hash === "/trial") trialPage();
  else if (hash === "/audit" && me.audit) auditPage();
  else if (hash === "/hospital" && me.hospital) {
    setNav("hospital");
    hospitalPage(main, { cleanup, errorBox });
  }
  else if (me.patient) location.replace("#/patient/" + encodeURIComponent(me.patient));
  else await patientList();
}

async function start() {
  try {
    me = await api.session();
  } catch (_) {
    location.assign("/signin");
    return;
  }
  document.getElementById("who").textContent = `${me.subject}${me.role ? ` (${me.role})` : ""}${me.patient ? ` · Patient/${me.patient} only` : ""}`;
  document.querySelector("[data-nav=audit]").hidden = !me.audit;
  document.querySelector("[data-nav=hospital]").hidden = !me.hospital;
  document.getElementById("tz").textContent = `Times are shown in your time zone: ${charts.timeZone}.`;
  document.getElementById("signout").addEventListener("click", async () => {
    await api.signOut().catch(() => {});
    location.assign("/signin");
  });
  window.addEventListener("hashchange", route);
  await route();
}

start();
