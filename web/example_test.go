package web_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"

	"github.com/doppelhealth/doppel/internal/auth"
	"github.com/doppelhealth/doppel/web"
)

// A one-time link signs the local administrator in: the code is
// exchanged for a session cookie, and the page then loads with it.
func ExampleDashboard_SignInLink() {
	dir, err := os.MkdirTemp("", "web-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	key, err := auth.LoadKey(dir)
	if err != nil {
		log.Fatal(err)
	}
	a, err := auth.New(key, auth.Options{})
	if err != nil {
		log.Fatal(err)
	}
	d, err := web.New(web.Options{Auth: a})
	if err != nil {
		log.Fatal(err)
	}
	srv := d.Sessions(a.Middleware(d))

	link, _ := url.Parse(d.SignInLink("http://127.0.0.1:8080"))
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", link.RequestURI(), nil))
	fmt.Println("sign-in:", w.Code, w.Header().Get("Location"))
	cookie := w.Result().Cookies()[0]
	fmt.Println("cookie:", cookie.Name, cookie.HttpOnly, cookie.SameSite == http.SameSiteStrictMode)

	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	w = httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	fmt.Println("page:", w.Code, w.Header().Get("Content-Type"))

	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", link.RequestURI(), nil))
	fmt.Println("link again:", w.Code)
	// Output:
	// sign-in: 303 /
	// cookie: doppel_session true true
	// page: 200 text/html; charset=utf-8
	// link again: 401
}
