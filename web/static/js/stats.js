// stats.js: the numbers the what-if panel shows beside each plan,
// computed from the model's forecast bands only (no second model here).

// Quantile levels of a forecast band (assim/glucose.Band): 2.5th, 10th,
// 50th, 90th and 97.5th percentiles, mg/dL.
const LEVELS = [0.025, 0.1, 0.5, 0.9, 0.975];

// cdf is P(glucose <= x) at one horizon, interpolated linearly between the
// band's quantiles and extrapolated with the outer segments' slopes
// (clamped to [0, 1]).
export function cdf(band, x) {
  const q = [band.Lo95, band.Lo80, band.Median, band.Hi80, band.Hi95];
  let i = 0; // the segment q[i]..q[i+1] that holds x, or the outer one beyond
  while (i < q.length - 2 && x >= q[i + 1]) i++;
  const dq = q[i + 1] - q[i];
  if (!(dq > 0)) return x < q[i] ? LEVELS[i] : LEVELS[i + 1];
  const p = LEVELS[i] + (LEVELS[i + 1] - LEVELS[i]) * (x - q[i]) / dq;
  return Math.min(1, Math.max(0, p));
}

// inRange is P(lo <= glucose <= hi) at one horizon.
export const inRange = (band, lo = 70, hi = 180) => Math.max(0, cdf(band, hi) - cdf(band, lo));

// planSummary gives, for one forecast, the predicted time in range
// 70–180 mg/dL (mean of P(in range) over the forecast's horizons, so the
// expected share of them in range) and the hypoglycaemia risk (the
// largest model P(< 70 mg/dL) over the horizons).
export function planSummary(forecast) {
  const bands = forecast.bands || [];
  if (bands.length === 0) return { tir: NaN, hypo: NaN, horizons: [] };
  const tir = bands.reduce((s, b) => s + inRange(b), 0) / bands.length;
  const hypo = Math.max(...bands.map((b) => b.PBelow70));
  return { tir, hypo, horizons: bands.map((b) => b.Minutes) };
}
