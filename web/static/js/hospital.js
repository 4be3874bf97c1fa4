// hospital.js: the hospital page (#/hospital). It posts a hospital model
// (a doppel hospital file, as JSON, with the fhir: section that maps the
// store's Locations to the ED and the units) to POST /twin/hospital/forecast,
// which starts the model from the census of Encounters in progress now,
// and shows per unit the forecast occupancy against capacity, P(full) and
// the ED's boarding time, with an optional what-if on one capacity.
import * as api from "./data.js";
import { h, when, num, modelNote } from "./dom.js";
import * as charts from "./charts.js";

// DEFAULT_MODEL is examples/hospital_fhir.yaml's model: a starting point
// to adapt to the hospital (its mapping names its Locations).
const DEFAULT_MODEL = {
  seed: 1,
  arrivals: { rate_per_hour: 4 },
  ed: { cubicles: 20, treatment: { dist: "lognormal", mean: "3h", sd: "2h" } },
  routes: { ward: 0.2, icu: 0.05 },
  units: {
    ward: { beds: 60, los: { dist: "lognormal", mean: "3d", sd: "2d" } },
    icu: { beds: 10, los: { dist: "lognormal", mean: "4d", sd: "3d" } },
  },
  fhir: {
    ed: { types: ["ER"] },
    units: { ward: { locations: ["Location/w1", "Location/w2"] }, icu: { types: ["ICU"], names: ["Intensive care"] } },
  },
};

const MODEL_KEY = "doppel.hospital-model";

// readModel parses the model text; the page's fields then set the
// horizon, the replications and the what-if branch.
function readModel(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new Error(`the hospital model is not JSON: ${e.message}`);
  }
  if (!m || typeof m !== "object" || Array.isArray(m)) throw new Error("the hospital model must be a JSON object");
  return m;
}

// whatIfBranch is a copy of the model's ed or units section with one
// capacity changed by change places (ED cubicles or a unit's beds).
function whatIfBranch(model, target, change) {
  if (target === "ed") {
    const ed = { ...(model.ed || {}) };
    ed.cubicles = (ed.cubicles || 0) + change;
    if (ed.cubicles < 1) throw new Error(`the what-if leaves the ED ${ed.cubicles} cubicles`);
    return { name: `ED ${signed(change)} cubicles`, ed };
  }
  const units = JSON.parse(JSON.stringify(model.units || {}));
  if (!units[target]) throw new Error(`the model has no unit ${target}`);
  units[target].beds = (units[target].beds || 0) + change;
  if (units[target].beds < 1) throw new Error(`the what-if leaves ${target} ${units[target].beds} beds`);
  return { name: `${target} ${signed(change)} beds`, units };
}

const signed = (n) => (n > 0 ? `+${n}` : String(n));

// plusMinus formats an estimate with its 95 % half-width.
const plusMinus = (m, hw, d) => `${num(m, d)} ± ${num(hw, d)}`;
const pctPM = (p, hw) => `${num(p * 100, 1)} % ± ${num(hw * 100, 1)}`;

export function hospitalPage(main, { cleanup, errorBox }) {
  const field = (id, label, input) => h("div", { class: "field" }, h("label", { for: id }, label), input);
  const days = h("input", { id: "hosp-days", type: "number", min: "1", max: "365", step: "1", value: "7", required: true });
  const reps = h("input", { id: "hosp-reps", type: "number", min: "2", max: "200", step: "1", value: "50", required: true });
  const target = h("select", { id: "hosp-whatif-unit" });
  const change = h("input", { id: "hosp-whatif-change", type: "number", min: "-500", max: "500", step: "1", value: "0" });
  const model = h("textarea", { id: "hosp-model", rows: "18", spellcheck: "false" });
  // The model last run in this browser is kept (it holds no patient data).
  model.value = localStorage.getItem(MODEL_KEY) || JSON.stringify(DEFAULT_MODEL, null, 2);
  const targets = () => {
    let units = [];
    try { units = Object.keys(readModel(model.value).units || {}); } catch (_) { /* kept as it was */ }
    const keep = target.value;
    target.replaceChildren(h("option", { value: "ed" }, "ED cubicles"), ...units.map((u) => h("option", { value: u }, `${u} beds`)));
    if ([...target.options].some((o) => o.value === keep)) target.value = keep;
  };
  targets();
  model.addEventListener("change", targets);
  const run = h("button", { type: "submit", id: "run-hospital" }, "Run forecast");
  const out = h("div", { id: "hospital-result" });
  let drawn = [];
  const clear = () => { drawn.forEach((c) => c.destroy()); drawn = []; };
  cleanup.push(clear);

  const submit = async (ev) => {
    ev.preventDefault();
    let cfg;
    try {
      cfg = readModel(model.value);
      cfg.horizon = `${Math.round(Number(days.value))}d`;
      cfg.replications = Math.round(Number(reps.value));
      delete cfg.what_if;
      const n = Math.round(Number(change.value) || 0);
      if (n !== 0) cfg.what_if = [whatIfBranch(cfg, target.value, n)];
    } catch (e) {
      out.replaceChildren(h("p", { class: "error", role: "alert" }, e.message));
      return;
    }
    run.disabled = true;
    out.replaceChildren(h("p", { class: "muted", role: "status" }, "Running the model from the census (up to a minute)…"));
    try {
      const res = await api.hospitalForecast(cfg);
      localStorage.setItem(MODEL_KEY, model.value);
      clear();
      drawn = showForecast(out, res);
    } catch (e) {
      out.replaceChildren(errorBox(e));
    } finally {
      run.disabled = false;
    }
  };

  main.replaceChildren(h("h1", {}, "Hospital occupancy forecast"),
    h("p", {}, "Forecasts the occupancy of the ED and each unit from the patients there now (the Encounters in progress at the mapped Locations of the FHIR store), by the hospital model's Monte Carlo replications."),
    h("form", { id: "hospital-form", class: "hospital-form", onsubmit: submit },
      h("div", { class: "fields" },
        field("hosp-days", "Forecast (days)", days),
        field("hosp-reps", "Replications", reps),
        field("hosp-whatif-unit", "What-if: change the capacity of", target),
        field("hosp-whatif-change", "by (places; 0: no what-if)", change)),
      h("details", {}, h("summary", {}, "Hospital model (JSON, as doppel hospital reads: arrivals, ED, routes, units and the fhir: mapping of Locations)"),
        field("hosp-model", "Hospital model", model),
        h("button", { type: "button", class: "quiet", id: "hosp-reset", onclick: () => {
          model.value = JSON.stringify(DEFAULT_MODEL, null, 2);
          localStorage.removeItem(MODEL_KEY);
          targets();
        } }, "Reset to the example model")),
      h("div", { class: "actions" }, run)),
    out);
}

// showForecast draws the answer of the forecast; it returns its charts.
function showForecast(out, res) {
  const c = res.census || {};
  const t0 = Date.parse(c.at) + (res.warmup_days || 0) * 86400000;
  const branches = [{ name: "as planned", result: res }, ...(res.what_if || []).map((w) => ({ name: w.name, result: w.result }))];
  const inpatients = Object.entries(c.inpatients || {}).map(([u, n]) => `${u} ${n}`).join(", ");
  const census = h("p", { id: "hospital-census" },
    `Census from the FHIR store at ${when(c.at)}: ${c.ed_patients ?? 0} in the ED; inpatients: ${inpatients || "none"}.` +
    (c.unmapped ? ` ${c.unmapped} Encounter(s) in progress at Locations no unit claims were left out.` : ""));
  const grid = h("div", { class: "chart-grid" });
  const made = [];
  const units = [{ key: "ed", label: "Emergency department", place: "cubicles", pick: (r) => r.ed },
    ...(res.units || []).map((u) => ({ key: u.name, label: `Unit ${u.name}`, place: "beds", pick: (r) => (r.units || []).find((x) => x.name === u.name) }))];
  const rows = [];
  for (const u of units) {
    const per = branches.map((b) => ({ name: b.name, r: u.pick(b.result) })).filter((b) => b.r);
    const el = h("div", { class: "chart occupancy-chart", id: "occupancy-" + u.key, "data-unit": u.key });
    grid.append(h("figure", {}, el, h("figcaption", {},
      `${u.label}: model forecast of each day's mean occupancy (${u.place}), median (line) and 90 % prediction band (shaded; darker: 50 %), over ${res.replications} replications; dashed: capacity.`)));
    const start = u.key === "ed" ? c.ed_patients : (c.inpatients || {})[u.key];
    made.push(charts.occupancyChart(el, {
      unit: u.key === "ed" ? "ED" : u.key, place: u.place, t0,
      branches: per.map((b) => ({ name: b.name, daily: b.r.daily || [], capacity: b.r.capacity, start: res.warmup_days ? null : start ?? null })),
    }));
    per.forEach((b, k) => rows.push(h("tr", {},
      h("th", { scope: "row" }, u.label), h("td", {}, h("span", { class: "swatch", "data-occupancy": k }), b.name),
      h("td", {}, String(b.r.capacity)), h("td", {}, plusMinus(b.r.mean_occupancy, b.r.mean_occupancy_hw95, 1)),
      h("td", {}, pctPM(b.r.p_full, b.r.p_full_hw95)),
      h("td", {}, u.key === "ed" ? plusMinus(b.r.mean_boarding_hours, b.r.mean_boarding_hours_hw95, 2) : "–"))));
  }
  const warnings = branches.flatMap((b) => (b.result.warnings || []).map((w) => `${b.name}: ${w}`));
  // (replaceChildren would write a null or an array as text: h drops the
  // one and flattens the other.)
  out.replaceChildren(...h("div", {},
    census,
    modelNote(`Everything below is the hospital model's forecast from this census (${res.replications} replications, seed ${res.seed}), not observed occupancy. Estimates are means ± the half-width of their 95 % confidence interval.`),
    warnings.length ? h("ul", { class: "warnings", id: "hospital-warnings" }, warnings.map((w) => h("li", {}, h("span", { class: "badge warn" }, "Demand ≥ capacity"), " ", w))) : null,
    grid,
    h("div", { class: "table-wrap" }, h("table", { id: "hospital-table" },
      h("caption", {}, `Model forecast over the ${num(res.horizon_days)} days: mean occupancy, P(full) (fraction of the time with every place taken) and, for the ED, the mean boarding time of admitted patients from the end of treatment to a bed.`),
      h("thead", {}, h("tr", {}, ["Unit", "Forecast", "Capacity (places)", "Mean occupancy (places)", "P(full)", "Mean ED boarding (h)"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows))),
    (res.what_if || []).map((w) => differences(w))).childNodes);
  return made;
}

const METRICS = { mean_occupancy: ["Mean occupancy", "places", 1], p_full: ["P(full)", "percentage points", 1], mean_boarding_hours: ["Mean ED boarding", "h", 2] };

// differences lists a what-if's paired differences from the base.
function differences(w) {
  const rows = (w.differences || []).map((d) => {
    const [label, unit, digits] = METRICS[d.metric] || [d.metric, "", 2];
    const scale = d.metric === "p_full" ? 100 : 1;
    return h("tr", {}, h("th", { scope: "row" }, d.name === "ed" ? "ED" : d.name), h("td", {}, `${label} (${unit})`),
      h("td", {}, plusMinus(d.mean * scale, d.hw95 * scale, digits)));
  });
  return h("div", { class: "table-wrap" }, h("table", { class: "hospital-diff" },
    h("caption", {}, `What-if “${w.name}” minus as planned, paired over the same simulated patients (model output, mean ± 95 % half-width).`),
    h("thead", {}, h("tr", {}, ["Unit", "Metric", "Difference"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows)));
}
