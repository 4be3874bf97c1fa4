// data.js: every request the dashboard makes, in one place, so that the
// pages follow the API (/fhir, /twin, /session) when it changes. The
// browser's session cookie authenticates each request; the requests that
// change state also carry the session's CSRF token.

const LOINC = "http://loinc.org";
export const CODES = {
  cgm: "99504-3", carbs: "9059-7", hr: "8867-4", rr: "9279-1", spo2: "59408-5",
  sys: "8480-6", temp: "8310-5",
};

let csrf = "";

// ApiError is a refused or failed request, with the server's reason.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// reason reads the explanation out of an error body: an OperationOutcome
// or {"error": "..."}.
async function reason(res) {
  try {
    const body = await res.json();
    if (body.resourceType === "OperationOutcome") {
      return (body.issue || []).map((i) => i.diagnostics || i.code).join("; ");
    }
    if (body.error) return body.error;
  } catch (_) { /* not JSON */ }
  return res.statusText || "request failed";
}

async function request(url, init = {}) {
  const res = await fetch(url, { credentials: "same-origin", ...init });
  if (res.status === 401) {
    location.assign("/signin");
    throw new ApiError(401, "signed out");
  }
  if (!res.ok) throw new ApiError(res.status, await reason(res));
  return res.status === 204 ? null : res.json();
}

const get = (url) => request(url, { headers: { Accept: "application/json" } });

function post(url, body) {
  return request(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// session returns who is signed in ({subject, role, patient, audit, expires}).
export async function session() {
  const s = await get("/session");
  csrf = s.csrf;
  return s;
}

export function signOut() {
  return post("/signout");
}

// signIn starts a session with a pasted token.
export async function signIn(token) {
  const res = await fetch("/signin", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }),
  });
  if (!res.ok) throw new ApiError(res.status, await reason(res));
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const x of [].concat(v)) if (x !== undefined && x !== "") u.append(k, x);
  }
  return u.toString();
}

const resources = (bundle) => (bundle.entry || []).map((e) => e.resource).filter(Boolean);

function patientName(p) {
  const n = (p.name || [])[0];
  if (!n) return p.id;
  return n.text || [].concat(n.given || [], n.family || []).join(" ") || p.id;
}

// patients searches Patients whose name contains name (all when it is
// empty). An encrypted store cannot search inside names (400): the search
// then matches the start of a name part, as FHIR's plain string search does.
export async function patients(name) {
  let b;
  try {
    b = await get("/fhir/Patient?" + qs({ "name:contains": name, _count: 100 }));
  } catch (e) {
    if (e.status !== 400 || !name) throw e;
    b = await get("/fhir/Patient?" + qs({ name, _count: 100 }));
  }
  return resources(b).map((p) => ({ id: p.id, name: patientName(p), resource: p }));
}

export async function patient(id) {
  const p = await get("/fhir/Patient/" + encodeURIComponent(id));
  return { id: p.id, name: patientName(p), resource: p };
}

// twin returns the twin's state (glucose and/or news2), null if none yet.
export async function twin(id) {
  try {
    return await get("/twin/" + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

const iso = (ms) => new Date(ms).toISOString();

// samples returns a device time series after since (ms) as [{t, v}], t in
// ms, oldest first.
export async function samples(id, code, since) {
  const b = await get(`/fhir/Patient/${encodeURIComponent(id)}/$samples?` +
    qs({ code, date: "ge" + iso(since), _sort: "-date", _count: 1000 }));
  return resources(b).map((o) => ({ t: Date.parse(o.effectiveDateTime), v: o.valueQuantity && o.valueQuantity.value }))
    .filter((s) => Number.isFinite(s.t) && Number.isFinite(s.v)).reverse();
}

// insulin returns insulin doses after since as [{t, v}] (v in U).
export async function insulin(id, since) {
  const b = await get("/fhir/MedicationAdministration?" +
    qs({ patient: "Patient/" + id, "effective-time": "ge" + iso(since), _count: 500 }));
  return resources(b).map((m) => ({ t: Date.parse(m.effectiveDateTime), v: m.dosage && m.dosage.dose && m.dosage.dose.value }))
    .filter((s) => Number.isFinite(s.t) && Number.isFinite(s.v)).sort((a, b) => a.t - b.t);
}

// meals returns carbohydrate entries after since as [{t, v}] (v in g).
export async function meals(id, since) {
  const b = await get("/fhir/Observation?" +
    qs({ patient: "Patient/" + id, code: LOINC + "|" + CODES.carbs, date: "ge" + iso(since), _count: 500 }));
  return resources(b).map((o) => ({ t: Date.parse(o.effectiveDateTime), v: o.valueQuantity && o.valueQuantity.value }))
    .filter((s) => Number.isFinite(s.t) && Number.isFinite(s.v)).sort((a, b) => a.t - b.t);
}

// alerts returns the twin's stored alerts after since as [{t, kind, text}]:
// predicted hypoglycaemia (RiskAssessment) and NEWS2 or lost-stream Flags.
export async function alerts(id, since) {
  const [ra, fl] = await Promise.all([
    get("/fhir/RiskAssessment?" + qs({ patient: "Patient/" + id, date: "ge" + iso(since), _count: 200 })),
    get("/fhir/Flag?" + qs({ patient: "Patient/" + id, _count: 200 })),
  ]);
  // The twin's alerts carry its alert identifier; its other RiskAssessments
  // (the ward trend forecast) are not alerts.
  const isAlert = (r) => (r.identifier || []).some((i) => i.system === "urn:doppel:twin-alert");
  const out = [];
  for (const r of resources(ra).filter(isAlert)) {
    out.push({ t: Date.parse(r.occurrenceDateTime), kind: "hypoglycaemia-predicted", text: ((r.note || [])[0] || {}).text || "predicted hypoglycaemia" });
  }
  for (const f of resources(fl).filter(isAlert)) {
    const t = Date.parse((f.period || {}).start);
    if (t >= since) out.push({ t, kind: ((f.code || {}).coding || [{}])[0].code || "flag", text: (f.code || {}).text || "alert" });
  }
  return out.filter((a) => Number.isFinite(a.t)).sort((a, b) => a.t - b.t);
}

// events opens the twin's Server-Sent Events; on(kind, data) is called
// for each forecast, news2 and alert event. It returns a function that
// closes the stream.
export function events(id, on, onState) {
  const es = new EventSource("/twin/" + encodeURIComponent(id) + "/events");
  for (const kind of ["forecast", "news2", "alert"]) {
    es.addEventListener(kind, (ev) => {
      try { on(kind, JSON.parse(ev.data)); } catch (_) { /* a malformed event is skipped */ }
    });
  }
  if (onState) {
    es.onopen = () => onState("live");
    es.onerror = () => onState(es.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  }
  return () => es.close();
}

// whatIf asks the twin for the forecast of each plan beside doing nothing.
export function whatIf(id, plans) {
  return post("/twin/" + encodeURIComponent(id) + "/whatif", { plans });
}

// auditEvents searches the audit trail; next is a page link from a
// previous answer.
export async function auditEvents({ patient, from, to, next }) {
  const url = next || "/fhir/AuditEvent?" + qs({
    patient: patient ? "Patient/" + patient : "",
    date: [from ? "ge" + from : "", to ? "le" + to : ""],
    _sort: "-date", _count: 25,
  });
  const b = await get(url);
  const link = (b.link || []).find((l) => l.relation === "next");
  return { events: resources(b), total: b.total, next: link ? sameOriginPath(link.url) : "" };
}

// sameOriginPath keeps the path and query of a server link, so paging
// never leaves this server.
function sameOriginPath(u) {
  const x = new URL(u, location.href);
  return x.pathname + x.search;
}

// hospitalForecast runs the hospital model (a doppel hospital file as an
// object, with its fhir: mapping) from the store's census of Encounters
// at Locations; the answer is what doppel hospital --json prints.
export function hospitalForecast(config) {
  return post("/twin/hospital/forecast", config);
}
