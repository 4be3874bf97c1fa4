package httpapi

import (
	"context"
	"net/http"
)

// Subscriptions answer the operations of FHIR Subscriptions (R4, the
// Subscriptions R5 Backport IG): $status and $get-ws-binding-token on
// one Subscription (a *subscription.Engine). Each is given the stored
// Subscription the requester may read; BindingToken also checks that the
// requester (r.Context()) may receive what the subscription sends.
type Subscriptions interface {
	Status(ctx context.Context, id string, stored []byte) ([]byte, error)
	BindingToken(ctx context.Context, id string) (body []byte, ok bool, err error)
	// Topics are the canonical URLs of the topics offered.
	Topics() []string
}

// The backport IG's canonical URLs the CapabilityStatement names.
const (
	backportIG     = "http://hl7.org/fhir/uv/subscriptions-backport/"
	backportServer = backportIG + "CapabilityStatement/backport-subscription-server-r4"
)

// subscriptionCapability describes Subscription support in the
// CapabilityStatement as the backport IG asks of an R4 server: the
// backport profile, the topics (capabilitystatement-subscriptiontopic-
// canonical extensions) and the two operations.
func (s *Server) subscriptionCapability(res *capResource) {
	if s.opts.Subscriptions == nil {
		return
	}
	res.SupportedProfile = []string{backportIG + "StructureDefinition/backport-subscription"}
	for _, t := range s.opts.Subscriptions.Topics() {
		res.Extension = append(res.Extension, capExtension{URL: backportIG + "StructureDefinition/capabilitystatement-subscriptiontopic-canonical", ValueCanonical: t})
	}
	res.Operation = append(res.Operation,
		capOperation{Name: "status", Definition: backportIG + "OperationDefinition/backport-subscription-status"},
		capOperation{Name: "get-ws-binding-token", Definition: backportIG + "OperationDefinition/backport-subscription-get-ws-binding-token"})
}

// subscriptionRoutes are the routes of Options.Subscriptions; none
// without it. Both read the Subscription, and are checked and audited as
// its read.
func (s *Server) subscriptionRoutes() []route {
	if s.opts.Subscriptions == nil {
		return nil
	}
	return []route{
		{pattern: "GET /fhir/Subscription/{id}/$status", kind: "read", typ: "Subscription", handle: s.subscriptionStatus},
		{pattern: "GET /fhir/Subscription/{id}/$get-ws-binding-token", kind: "read", typ: "Subscription", handle: s.bindingToken},
		{pattern: "POST /fhir/Subscription/{id}/$get-ws-binding-token", kind: "read", typ: "Subscription", handle: s.bindingToken},
	}
}

// subscriptionStatus serves $status: a searchset Bundle with the
// subscription's SubscriptionStatus (type query-status).
func (s *Server) subscriptionStatus(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Read(r.Context(), "Subscription", r.PathValue("id"))
	if err != nil {
		return err
	}
	body, err := s.opts.Subscriptions.Status(r.Context(), v.ID, v.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// bindingToken serves $get-ws-binding-token: a Parameters resource with
// the token a websocket client binds with.
func (s *Server) bindingToken(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Read(r.Context(), "Subscription", r.PathValue("id"))
	if err != nil {
		return err
	}
	body, ok, err := s.opts.Subscriptions.BindingToken(r.Context(), v.ID)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusBadRequest, "business-rule", "the subscription is not a running websocket subscription")
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, body)
	return nil
}
