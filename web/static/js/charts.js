// charts.js: the dashboard's charts, drawn by uPlot (vendored). Colours are
// the Okabe–Ito palette, safe for the common colour-vision deficiencies;
// every axis names its unit; times are the browser's local time, and the
// time axis says which zone that is. Anything a model computed is labelled
// "Model forecast" in the legend and drawn dashed or as a shaded band, so it
// cannot be taken for a measurement.

import uPlot from "../vendor/uplot/uPlot.esm.js";

export const OKABE_ITO = {
  black: "#000000", orange: "#E69F00", sky: "#56B4E9", green: "#009E73",
  yellow: "#F0E442", blue: "#0072B2", vermillion: "#D55E00", purple: "#CC79A7",
};
// The order plans take in the what-if chart (the baseline first, in black).
export const PLAN_COLOURS = [OKABE_ITO.black, OKABE_ITO.blue, OKABE_ITO.vermillion, OKABE_ITO.green, OKABE_ITO.purple, OKABE_ITO.sky, OKABE_ITO.orange];

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
const timeAxisLabel = `Time (${timeZone})`;

// alpha turns "#RRGGBB" into an rgba() string.
function alpha(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

const fmt = (digits) => (u, v) => (v == null ? "–" : v.toFixed(digits));

// mount makes a uPlot chart in el that follows el's width.
function mount(el, opts, data) {
  el.replaceChildren();
  const width = () => Math.max(260, el.clientWidth || 600);
  const u = new uPlot({ ...opts, width: width() }, data, el);
  const ro = new ResizeObserver(() => {
    const w = width();
    if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height: opts.height });
  });
  ro.observe(el);
  el.dataset.curves = String(opts.series.length - 1);
  return { u, destroy() { ro.disconnect(); u.destroy(); } };
}

function xTimeAxis() {
  return { label: timeAxisLabel, labelSize: 20, stroke: "#222", grid: { stroke: "#e4e4e4" } };
}

function yAxis(label, side) {
  return { label, labelSize: 20, stroke: "#222", grid: { show: side !== 1, stroke: "#e4e4e4" }, side: side || 3, scale: side === 1 ? "y2" : "y", size: 55 };
}

// hline draws a dashed horizontal line at y (in the scale's units) with a label.
function hline(u, y, colour, text, scale = "y") {
  const { ctx, bbox } = u;
  const py = u.valToPos(y, scale, true);
  if (py < bbox.top || py > bbox.top + bbox.height) return;
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.setLineDash([4, 4]);
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(bbox.left, py);
  ctx.lineTo(bbox.left + bbox.width, py);
  ctx.stroke();
  if (text) {
    ctx.fillStyle = colour;
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.fillText(text, bbox.left + 6 * devicePixelRatio, py - 4 * devicePixelRatio);
  }
  ctx.restore();
}

// vline draws a vertical marker at x (seconds) with a label at the top.
function vline(u, x, colour, text, dash, row = 0) {
  const { ctx, bbox } = u;
  const px = u.valToPos(x, "x", true);
  if (px < bbox.left || px > bbox.left + bbox.width) return;
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2 * devicePixelRatio;
  ctx.setLineDash(dash || []);
  ctx.beginPath();
  ctx.moveTo(px, bbox.top);
  ctx.lineTo(px, bbox.top + bbox.height);
  ctx.stroke();
  if (text) {
    ctx.fillStyle = colour;
    ctx.textAlign = "left";
    ctx.textBaseline = "alphabetic";
    ctx.font = `bold ${12 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.fillText(text, px + 3 * devicePixelRatio, bbox.top + (14 + 16 * row) * devicePixelRatio);
  }
  ctx.restore();
}

// targetRange shades glucose 70–180 mg/dL behind the data.
function targetRange(u) {
  const { ctx, bbox } = u;
  const top = Math.max(bbox.top, u.valToPos(180, "y", true));
  const bottom = Math.min(bbox.top + bbox.height, u.valToPos(70, "y", true));
  if (bottom <= top) return;
  ctx.save();
  ctx.fillStyle = alpha(OKABE_ITO.green, 0.08);
  ctx.fillRect(bbox.left, top, bbox.width, bottom - top);
  ctx.restore();
}

const sec = (ms) => Math.round(ms / 1000);

// forecastPoints lists a forecast as [{t (ms), median, lo80, hi80, lo95,
// hi95}], starting at the twin's estimate at the last reading.
export function forecastPoints(f) {
  if (!f) return [];
  const t0 = Date.parse(f.at);
  const out = [{ t: t0, median: f.bg, lo80: f.bg, hi80: f.bg, lo95: f.bg, hi95: f.bg }];
  for (const b of f.bands || []) {
    out.push({ t: t0 + b.Minutes * 60000, median: b.Median, lo80: b.Lo80, hi80: b.Hi80, lo95: b.Lo95, hi95: b.Hi95 });
  }
  return out;
}

// glucoseData merges measured CGM and the forecast onto one time axis.
function glucoseData(view) {
  const fc = forecastPoints(view.forecast);
  const xs = [...new Set([...view.cgm.map((s) => sec(s.t)), ...fc.map((p) => sec(p.t))])].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const col = () => new Array(xs.length).fill(null);
  const cgm = col(), med = col(), lo80 = col(), hi80 = col(), lo95 = col(), hi95 = col();
  for (const s of view.cgm) cgm[at.get(sec(s.t))] = s.v;
  for (const p of fc) {
    const i = at.get(sec(p.t));
    med[i] = p.median; lo80[i] = p.lo80; hi80[i] = p.hi80; lo95[i] = p.lo95; hi95[i] = p.hi95;
  }
  return [xs, cgm, med, lo80, hi80, lo95, hi95];
}

const ALERT_LABEL = { "hypoglycaemia-predicted": "hypo predicted", "news2-response": "NEWS2", "data-stream-lost": "data lost" };

function alertMarkers(u, alerts) {
  for (const a of alerts) vline(u, sec(a.t), OKABE_ITO.vermillion, "⚠ " + (ALERT_LABEL[a.kind] || a.kind), [6, 3], 1);
}

// glucoseChart draws measured CGM (points), the model's forecast median
// (dashed) with its 80 % and 95 % bands, the 70–180 mg/dL target range and
// the alerts. view: {cgm: [{t, v}], forecast, alerts: [{t, kind}]}; the
// returned object's update(view) redraws with new data.
export function glucoseChart(el, view) {
  let current = view;
  const f = OKABE_ITO.orange;
  const opts = {
    height: 320,
    cursor: { sync: { key: "twin" } },
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [Math.min(40, lo ?? 40), Math.max(250, (hi ?? 250) + 10)] } },
    axes: [xTimeAxis(), yAxis("Glucose (mg/dL)")],
    series: [
      {},
      { label: "CGM glucose, measured (mg/dL)", stroke: OKABE_ITO.black, fill: OKABE_ITO.black, width: 0, paths: () => null, points: { show: true, size: 5, fill: OKABE_ITO.black }, value: fmt(0) },
      { label: "Model forecast: median (mg/dL)", stroke: OKABE_ITO.vermillion, width: 2, dash: [8, 4], spanGaps: true, points: { show: true, size: 6 }, value: fmt(0) },
      { label: "Model forecast: 80 % interval, low", stroke: alpha(f, 0.9), width: 1, spanGaps: true, value: fmt(0) },
      { label: "Model forecast: 80 % interval, high", stroke: alpha(f, 0.9), width: 1, spanGaps: true, value: fmt(0) },
      { label: "Model forecast: 95 % interval, low", stroke: alpha(f, 0.5), width: 1, dash: [2, 3], spanGaps: true, value: fmt(0) },
      { label: "Model forecast: 95 % interval, high", stroke: alpha(f, 0.5), width: 1, dash: [2, 3], spanGaps: true, value: fmt(0) },
    ],
    bands: [
      { series: [6, 5], fill: alpha(f, 0.15) },
      { series: [4, 3], fill: alpha(f, 0.35) },
    ],
    hooks: {
      drawClear: [targetRange],
      draw: [(u) => {
        hline(u, 70, OKABE_ITO.vermillion, "70 mg/dL");
        hline(u, 180, OKABE_ITO.blue, "180 mg/dL");
        if (current.forecast) vline(u, sec(Date.parse(current.forecast.at)), "#777", "last reading", [2, 2]);
        alertMarkers(u, current.alerts || []);
      }],
    },
  };
  const c = mount(el, opts, glucoseData(view));
  return {
    destroy: c.destroy,
    update(v) { current = v; c.u.setData(glucoseData(v)); },
  };
}

// unionSeries lays several [{t, v}] lists on one time axis.
function unionSeries(lists) {
  const xs = [...new Set(lists.flatMap((l) => l.map((s) => sec(s.t))))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  return [xs, ...lists.map((l) => {
    const col = new Array(xs.length).fill(null);
    for (const s of l) col[at.get(sec(s.t))] = s.v;
    return col;
  })];
}

// dosesChart draws insulin doses (U) and carbohydrate (g) as bars on the
// glucose chart's time range.
export function dosesChart(el, insulin, meals, range) {
  const bars = uPlot.paths.bars({ size: [0.6, 12, 4] });
  const opts = {
    height: 150,
    padding: [8, 24, 0, 0],
    cursor: { sync: { key: "twin" } },
    scales: { x: { time: true, range: () => range() }, y: { range: (u, lo, hi) => [0, Math.max(5, hi ?? 5)] }, y2: { range: (u, lo, hi) => [0, Math.max(20, hi ?? 20)] } },
    axes: [xTimeAxis(), yAxis("Insulin (U)"), yAxis("Carbs (g)", 1)],
    series: [
      {},
      { label: "Insulin given (U)", stroke: OKABE_ITO.blue, fill: alpha(OKABE_ITO.blue, 0.7), paths: bars, points: { show: false }, value: fmt(1) },
      { label: "Carbohydrate eaten (g)", scale: "y2", stroke: OKABE_ITO.green, fill: alpha(OKABE_ITO.green, 0.6), paths: bars, points: { show: false }, value: fmt(0) },
    ],
  };
  const c = mount(el, opts, unionSeries([insulin, meals]));
  return { destroy: c.destroy, update(i, m) { c.u.setData(unionSeries([i, m])); } };
}

// seriesChart draws one measured vital sign (points joined by a line) on
// the time range range() gives (seconds).
export function seriesChart(el, { label, short, unit, colour, data, range }) {
  const opts = {
    height: 190,
    cursor: { sync: { key: "twin" } },
    scales: { x: { time: true, range: () => range() } },
    axes: [xTimeAxis(), yAxis(`${short} (${unit})`)],
    series: [{}, { label: `${label}, measured (${unit})`, stroke: colour, width: 1.5, points: { show: true, size: 4, fill: colour }, spanGaps: true, value: fmt(1) }],
  };
  const c = mount(el, opts, unionSeries([data]));
  return { destroy: c.destroy, update(d) { c.u.setData(unionSeries([d])); } };
}

// news2Chart draws NEWS2 scores (steps) with the RCP thresholds 5 (urgent
// response) and 7 (emergency response), and alert markers.
export function news2Chart(el, scores, alertsOf, range) {
  const opts = {
    height: 190,
    cursor: { sync: { key: "twin" } },
    scales: { x: { time: true, range: () => range() }, y: { range: (u, lo, hi) => [0, Math.max(12, (hi ?? 0) + 1)] } },
    axes: [xTimeAxis(), yAxis("NEWS2 score (points)")],
    series: [{}, { label: "NEWS2 score from measured vitals (points)", stroke: OKABE_ITO.purple, width: 2, paths: uPlot.paths.stepped({ align: 1 }), points: { show: true, size: 6, fill: OKABE_ITO.purple }, value: fmt(0) }],
    hooks: { draw: [(u) => {
      hline(u, 5, OKABE_ITO.orange, "5: urgent response");
      hline(u, 7, OKABE_ITO.vermillion, "7: emergency response");
      alertMarkers(u, alertsOf());
    }] },
  };
  const c = mount(el, opts, unionSeries([scores]));
  return { destroy: c.destroy, update(s) { c.u.setData(unionSeries([s])); } };
}

// whatIfChart overlays the forecast of each branch (median and 80 %
// band) against minutes from the last reading.
export function whatIfChart(el, branches) {
  const mins = [...new Set([0, ...branches.flatMap((b) => (b.forecast.bands || []).map((x) => x.Minutes))])].sort((a, b) => a - b);
  const data = [mins];
  const series = [{}];
  const bands = [];
  branches.forEach((b, k) => {
    const c = PLAN_COLOURS[k % PLAN_COLOURS.length];
    const byMin = new Map((b.forecast.bands || []).map((x) => [x.Minutes, x]));
    const pick = (m, key) => (m === 0 ? b.forecast.bg : byMin.has(m) ? byMin.get(m)[key] : null);
    const n = series.length;
    data.push(mins.map((m) => pick(m, "Median")), mins.map((m) => pick(m, "Lo80")), mins.map((m) => pick(m, "Hi80")));
    const name = planName(b.plan, k);
    series.push(
      { label: `Model forecast: ${name}, median (mg/dL)`, stroke: c, width: 2.5, dash: k === 0 ? [] : [8, 4], spanGaps: true, points: { show: true, size: 7 }, value: fmt(0) },
      { label: `${name}, 80 % low`, stroke: alpha(c, 0.5), width: 1, spanGaps: true, value: fmt(0) },
      { label: `${name}, 80 % high`, stroke: alpha(c, 0.5), width: 1, spanGaps: true, value: fmt(0) },
    );
    bands.push({ series: [n + 2, n + 1], fill: alpha(c, 0.12) });
  });
  const opts = {
    height: 320,
    scales: { x: { time: false }, y: { range: (u, lo, hi) => [Math.min(40, lo ?? 40), Math.max(250, (hi ?? 250) + 10)] } },
    axes: [{ label: "Minutes after the last reading (min)", labelSize: 20, stroke: "#222", grid: { stroke: "#e4e4e4" } }, yAxis("Glucose (mg/dL)")],
    series, bands,
    hooks: { drawClear: [targetRange], draw: [(u) => { hline(u, 70, OKABE_ITO.vermillion, "70 mg/dL"); hline(u, 180, OKABE_ITO.blue, "180 mg/dL"); }] },
  };
  const c = mount(el, opts, data);
  el.dataset.curves = String(branches.length);
  return c;
}

// planName describes a what-if plan in words.
export function planName(plan, k) {
  if (plan.name) return plan.name;
  const parts = [];
  if (plan.bolusU) parts.push(`bolus ${plan.bolusU} U now`);
  if (plan.mealG) parts.push(`meal ${plan.mealG} g in ${plan.mealInMin || 0} min`);
  if (plan.basalUPerH != null) parts.push(`basal ${plan.basalUPerH} U/h`);
  return parts.join(", ") || (k === 0 ? "do nothing" : `plan ${k}`);
}

// trialChart draws one metric of a trial summary per arm: the median
// (point), the interquartile range (box) and the range (whiskers).
export function trialChart(el, arms, metric) {
  const xs = arms.map((_, i) => i);
  const stat = (k) => arms.map((a) => {
    const m = (a.metrics || []).find((x) => x.name === metric.name);
    return m && m[k] != null ? m[k] : null;
  });
  const [min, q1, med, q3, max] = ["min", "q1", "median", "q3", "max"].map(stat);
  const unit = metric.unit ? ` (${metric.unit})` : "";
  // A long label stays in the caption; the axis keeps the unit.
  const axisLabel = (metric.label + unit).length > 24 && metric.unit ? `Value (${metric.unit})` : metric.label + unit;
  const opts = {
    height: 220,
    legend: { show: false },
    scales: { x: { time: false, range: () => [-0.5, arms.length - 0.5] } },
    axes: [
      { label: "Arm", labelSize: 20, stroke: "#222", splits: () => xs, values: (u, v) => v.map((i) => (arms[i] ? arms[i].name : "")), grid: { show: false } },
      yAxis(axisLabel),
    ],
    series: [{}, { label: "median" + unit, stroke: OKABE_ITO.black, paths: () => null, points: { show: false } }],
    hooks: { draw: [(u) => {
      const { ctx } = u;
      const dpr = devicePixelRatio;
      arms.forEach((a, i) => {
        if (med[i] == null) return;
        const c = PLAN_COLOURS[(i + 1) % PLAN_COLOURS.length];
        const x = u.valToPos(i, "x", true);
        const w = Math.min(60 * dpr, u.bbox.width / arms.length / 3);
        const y = (v) => u.valToPos(v, "y", true);
        ctx.save();
        ctx.strokeStyle = c;
        ctx.lineWidth = 2 * dpr;
        ctx.beginPath();
        ctx.moveTo(x, y(min[i])); ctx.lineTo(x, y(max[i]));
        ctx.moveTo(x - w / 4, y(min[i])); ctx.lineTo(x + w / 4, y(min[i]));
        ctx.moveTo(x - w / 4, y(max[i])); ctx.lineTo(x + w / 4, y(max[i]));
        ctx.stroke();
        ctx.fillStyle = alpha(c, 0.3);
        ctx.fillRect(x - w / 2, y(q3[i]), w, y(q1[i]) - y(q3[i]));
        ctx.strokeRect(x - w / 2, y(q3[i]), w, y(q1[i]) - y(q3[i]));
        ctx.lineWidth = 3 * dpr;
        ctx.beginPath(); ctx.moveTo(x - w / 2, y(med[i])); ctx.lineTo(x + w / 2, y(med[i])); ctx.stroke();
        ctx.restore();
      });
    }] },
  };
  const lo = Math.min(...min.filter((v) => v != null)), hi = Math.max(...max.filter((v) => v != null));
  opts.scales.y = { range: () => (Number.isFinite(lo) ? [lo - 0.05 * (hi - lo + 1), hi + 0.05 * (hi - lo + 1)] : [0, 1]) };
  return mount(el, opts, [xs, med]);
}

// OCCUPANCY_COLOURS: the base forecast, then each what-if branch.
export const OCCUPANCY_COLOURS = [OKABE_ITO.blue, OKABE_ITO.vermillion, OKABE_ITO.green, OKABE_ITO.purple, OKABE_ITO.orange];

// occupancyChart draws one unit's model forecast of daily mean occupancy
// for each branch ([{name, daily: [{day, p5, p25, p50, p75, p95}],
// capacity}], the base first): the median (line) and the 90 % prediction
// band across replications (shaded; the base's 50 % band darker), with
// each branch's capacity as a dashed line. Day d is plotted at the middle
// of the d-th 24 h after t0 (ms), in local time; b.start, the census at
// t0, is the first point (null: none).
export function occupancyChart(el, { unit, place, branches, t0 }) {
  const days = [...new Set(branches.flatMap((b) => b.daily.map((d) => d.day)))].sort((a, b) => a - b);
  const data = [[sec(t0), ...days.map((d) => sec(t0 + (d - 0.5) * 86400000))]];
  const series = [{}];
  const bands = [];
  branches.forEach((b, k) => {
    const c = OCCUPANCY_COLOURS[k % OCCUPANCY_COLOURS.length];
    const byDay = new Map(b.daily.map((d) => [d.day, d]));
    const col = (key) => [b.start ?? null, ...days.map((d) => (byDay.has(d) ? byDay.get(d)[key] : null))];
    const n = series.length;
    const keys = k === 0 ? ["p50", "p5", "p95", "p25", "p75"] : ["p50", "p5", "p95"];
    data.push(...keys.map(col));
    series.push(
      { label: `Model forecast, ${b.name}: median (${place})`, stroke: c, width: 2.5, dash: k === 0 ? [] : [8, 4], spanGaps: true, points: { show: true, size: 6 }, value: fmt(1) },
      { label: `${b.name}: 5th percentile`, stroke: alpha(c, 0.5), width: 1, spanGaps: true, value: fmt(1) },
      { label: `${b.name}: 95th percentile`, stroke: alpha(c, 0.5), width: 1, spanGaps: true, value: fmt(1) },
    );
    bands.push({ series: [n + 2, n + 1], fill: alpha(c, 0.12) });
    if (k === 0) {
      series.push(
        { label: `${b.name}: 25th percentile`, stroke: alpha(c, 0.3), width: 1, spanGaps: true, value: fmt(1) },
        { label: `${b.name}: 75th percentile`, stroke: alpha(c, 0.3), width: 1, spanGaps: true, value: fmt(1) },
      );
      bands.push({ series: [n + 4, n + 3], fill: alpha(c, 0.22) });
    }
  });
  const top = Math.max(...branches.map((b) => b.capacity));
  const opts = {
    height: 260,
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(top, hi ?? 0) * 1.1 + 1] } },
    axes: [xTimeAxis(), yAxis(`${unit} occupancy (${place})`)],
    series, bands,
    hooks: { draw: [(u) => {
      const drawn = new Set();
      branches.forEach((b, k) => {
        if (drawn.has(b.capacity)) return;
        drawn.add(b.capacity);
        hline(u, b.capacity, OCCUPANCY_COLOURS[k % OCCUPANCY_COLOURS.length], `capacity ${b.capacity} ${place}${k === 0 ? "" : ` (${b.name})`}`);
      });
    }] },
  };
  const c = mount(el, opts, data);
  el.dataset.curves = String(branches.length);
  el.dataset.bands = String(branches.length);
  return c;
}
