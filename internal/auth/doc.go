// Package auth authenticates API requests with bearer JWTs and authorises
// them with SMART App Launch 2 scopes, because a digital twin holds the
// most sensitive data a person has and every request must say who makes it
// and what it may see.
//
// # Tokens
//
// A token is a JWS-signed JWT. [Authenticator.Validate] accepts it only if
// it is signed with an allowed asymmetric algorithm ([Algorithms]; never
// "none" or HMAC, so a public key cannot be used as an HMAC secret) by a
// key its issuer published under the token's kid, names a known issuer
// ("iss") and this server ("aud"), is within exp and nbf (with a small
// leeway), and carries a subject and a scope (ASVS V9; SEC-01, SEC-33).
//
// Keys come from two places. The instance's own Ed25519 key ([LoadKey])
// lives in the data directory at [KeyFile], created on first start with
// mode 0600; a key file group or others can read is refused. It signs the
// tokens [Authenticator.Mint] issues (doppel token) and is published at
// /.well-known/jwks.json. External OpenID Connect providers ([Issuer]: a
// hospital's Keycloak, Entra ID, Okta) are configured by issuer and
// audience (jwks_uri is read from the issuer's OpenID configuration unless
// given); their key sets are fetched over https, cached, and fetched
// again when a token names an unknown kid, at most once per
// Options.KeysMinRefresh. A validated token is remembered for at most a
// minute, never past its exp, so that a client's next requests skip the
// signature check.
//
// # Scopes and roles
//
// Scopes follow SMART App Launch 2.2: (patient|user|system)/(Type|*).cruds,
// with the v1 forms .read, .write and .* mapped to rs, cud and cruds
// ([ParseScope]). A patient-level scope needs a patient claim (launch
// context) and reaches only that patient's compartment (SEC-02). Reads and
// histories of an instance need r, searches and type histories s, create c,
// update and patch u, delete d (SEC-03). Scopes with granular restrictions
// (?category=...) grant nothing until Doppel enforces them (SEC-04). People
// get scopes by role ([RoleScopes]): admin user/*.cruds, clinician
// user/*.crus, researcher user/*.rs, patient patient/*.rs.
//
// # Plugging in
//
// auth knows requests, not routes. [Authenticator.Middleware] gives each
// request its [Principal], or the reason there is none, through
// [FromContext], validating the token when first asked; the HTTP layer's access check then lets
// /fhir/metadata, /.well-known/* and health checks through without a
// principal, and asks [Principal.Check] about everything else. Denials are
// *fhir.Error values with status 401 (authentication) or 403 (scopes);
// [Challenge] gives the WWW-Authenticate header to send with them.
// [Authenticator.WellKnown] serves the SMART discovery document and the
// JWK Set.
package auth
