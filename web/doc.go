// Package web serves the clinician dashboard of doppel serve: the patient
// list, each patient's twin (measured data, the model's forecast with its
// uncertainty, alerts, what-if plans), the hospital occupancy forecast
// from the FHIR census, an in-silico trial viewer and the audit trail, as pages embedded in the binary, because hospitals run it
// offline and a clinician would rather look than read.
//
// # Pages
//
// The pages are plain ES modules and CSS under static/ (no build step, so
// go build needs no Node), with uPlot vendored under static/vendor/uplot.
// The browser reads the same API as every other client (/fhir, /twin); all
// of its data access is in static/js/data.js. Every response of the
// dashboard carries a Content-Security-Policy of default-src 'self' with no
// inline script or style, and the scripts insert patient strings as text
// only.
//
// # Sessions
//
// A browser signs in with a bearer token (pasted on the sign-in page, or
// minted for the local administrator by the one-time link that doppel
// serve prints, as Jupyter does) and gets an HttpOnly, SameSite=Strict
// session cookie (Secure over TLS). [Dashboard.Sessions] turns the cookie
// back into the token's Authorization header, so a session has exactly the
// token's scopes: a patient-level token sees one patient. A request that
// changes state with the cookie must also carry the session's CSRF token
// in the X-CSRF-Token header. Sessions and sign-in codes live in memory: a
// restart signs everybody out.
package web
