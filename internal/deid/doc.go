// Package deid de-identifies FHIR R4 resources for research use by the
// HIPAA Safe Harbor method (45 CFR §164.514(b)(2); HHS guidance
// https://www.hhs.gov/hipaa/for-professionals/privacy/special-topics/de-identification/index.html),
// so that a data set can leave the protected store (SEC-28 … SEC-31 in
// research/platform.md §6.6).
//
// A resource is a generic JSON tree as internal/fhir parses it. The 18
// identifier classes are removed or generalised for the patient and for
// anyone else the resource names (practitioners, relatives, employers):
//
//   - names (HumanName anywhere, Reference.display, the names of
//     organisations and locations), relatives (Patient.contact) and the
//     mother's maiden name (every extension not on a short allow-list goes);
//   - addresses: street, city, district and geolocation removed; state and
//     country kept; the ZIP code cut to its first three digits, or "000" for
//     the 17 three-digit areas with 20,000 people or fewer in the 2000
//     Census that the HHS guidance lists;
//   - dates: every date, dateTime and instant is shifted by a per-patient
//     offset of whole days (the default: intervals within a patient are
//     kept), or cut to the year ([YearOnly], the letter of Safe Harbor;
//     shifting needs an expert determination, see the research note);
//     a patient older than 89 loses the birth date and gets the age
//     category "90+" ([AgeExtension]);
//   - telephone, fax and e-mail (telecom), photos and attachments (data and
//     URL), narrative (Resource.text), notes, comments and free-text
//     descriptions, device serial and lot numbers and UDI carriers,
//     coordinates, and, in every remaining string, anything shaped like an
//     SSN, a phone number, an e-mail or an IP address;
//   - every identifier (MRN, SSN, driver's licence, passport, plan member
//     and account numbers, DICOM UIDs) and every resource id is replaced by
//     a pseudonym: HMAC-SHA-256 under a secret key, so the same input gives
//     the same pseudonym in every export with that key, and nobody without
//     the key can compute or invert it (SEC-31). References are rewritten
//     with the same pseudonyms, so the de-identified resources still link.
//
// The key is given by the caller (a file kept outside the repository and
// the data directory); it is never written anywhere.
package deid
