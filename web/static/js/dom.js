// dom.js: building the page. Text is always set with textContent (h's
// string children become Text nodes), never parsed as HTML, so a patient
// named "<script>" is shown as those characters.

// h makes an element: attrs are set as attributes (on* handlers as
// listeners; boolean true as an empty attribute), children appended
// (strings and numbers as text).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const withSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

// when formats a time (ms or ISO text) in the browser's time zone, to the
// minute or, with precision "seconds", to the second.
export function when(t, precision) {
  const ms = typeof t === "number" ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return "–";
  return (precision === "seconds" ? withSeconds : dateTime).format(new Date(ms));
}

export const pct = (p) => (Number.isFinite(p) ? `${Math.round(p * 100)} %` : "–");
export const num = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : "–");

// modelNote is the label every piece of model output carries.
export function modelNote(text) {
  return h("p", { class: "model-note" }, h("span", { class: "badge model" }, "Model output"), " ", text);
}
