package main

import (
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/web"
)

// dashboardRoutes mounts the API and the dashboard on routes: /fhir and
// /twin/ are the API's, every other path the dashboard's (web).
func dashboardRoutes(routes *http.ServeMux, api http.Handler, a *auth.Authenticator) (*web.Dashboard, error) {
	d, err := web.New(web.Options{Auth: a})
	if err != nil {
		return nil, err
	}
	routes.Handle("/fhir", api)
	routes.Handle("/fhir/", api)
	routes.Handle("/twin/", api)
	routes.Handle("/", d)
	return d, nil
}

// printSignInLink prints the dashboard's one-time sign-in link for the
// local administrator, as Jupyter does: whoever can read serve's output
// is one click from the dashboard. A server on every interface is
// reached at loopback from its own machine.
func printSignInLink(w io.Writer, d *web.Dashboard, scheme string, addr net.Addr) {
	host := addr.String()
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", fmt.Sprint(ta.Port))
	}
	fmt.Fprintf(w, "doppel: dashboard: %s (one-time sign-in link for the local administrator, valid %v)\n",
		d.SignInLink(scheme+"://"+host), web.DefaultCodeTTL)
}
