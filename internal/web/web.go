// Package web serves the operator dashboard at /: a login form that sets an
// HttpOnly, SameSite=Strict session cookie holding the admin token, a page
// that lists callbacks (newest first, filtered by provider and status, or
// searched by id or reference), shows every attempt's request and answer
// (JSON indented) with its troubleshooting hint and its curl command,
// resends and retries, and the checks page (/checks), which starts a
// gateway's handler checks and shows each run live, its verdicts and the
// callbacks of each check, and the payment simulator (/simulate), which
// ends a pending or new payment with an outcome and a scenario and lands on
// its callback. They refresh themselves every second from the operator
// API.
//
// Everything is embedded (no build step). The page's script builds the DOM
// with textContent only, since merchants' answers are untrusted, and every
// page is served with a Content-Security-Policy that allows only this
// origin's own script and style.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/httpapi"
)

//go:embed templates/*.html static/*
var files embed.FS

// ContentSecurityPolicy is sent with every dashboard response: no inline
// script or style, nothing from elsewhere, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var templates = template.Must(template.ParseFS(files, "templates/*.html"))

// Dashboard serves the dashboard. Its zero value is not usable: call New.
type Dashboard struct {
	token  string
	static http.Handler
}

// New returns the dashboard of the operator API whose admin token is
// adminToken.
func New(adminToken string) *Dashboard {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return &Dashboard{token: adminToken, static: http.FileServerFS(sub)}
}

// Register adds the dashboard's routes to mux.
func (d *Dashboard) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", d.index)
	mux.HandleFunc("GET /checks", d.checks)
	mux.HandleFunc("GET /simulate", d.simulate)
	mux.HandleFunc("POST /login", d.login)
	mux.HandleFunc("POST /logout", d.logout)
	mux.HandleFunc("GET /assets/{name}", d.asset)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/assets/favicon.svg", http.StatusMovedPermanently)
	})
}

// secure sets the headers every dashboard response carries.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

func (d *Dashboard) render(w http.ResponseWriter, status int, name string, data any) {
	secure(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = templates.ExecuteTemplate(w, name, data)
}

func (d *Dashboard) signedIn(r *http.Request) bool {
	return httpapi.SecretEqual(httpapi.SessionToken(r), d.token)
}

// index is the dashboard for a signed-in operator, else the login form:
// no token, no data.
func (d *Dashboard) index(w http.ResponseWriter, r *http.Request) {
	if !d.signedIn(r) {
		d.render(w, http.StatusOK, "login.html", loginPage{})
		return
	}
	d.render(w, http.StatusOK, "dashboard.html", dashboardPage{CSRF: httpapi.CSRFToken(d.token)})
}

// checks is the checks page for a signed-in operator, else the login form.
func (d *Dashboard) checks(w http.ResponseWriter, r *http.Request) {
	if !d.signedIn(r) {
		d.render(w, http.StatusOK, "login.html", loginPage{})
		return
	}
	page := checksPage{CSRF: httpapi.CSRFToken(d.token)}
	for _, p := range config.ProviderNames {
		page.Suites = append(page.Suites, suiteOption{Provider: p, Checks: check.Names(p)})
	}
	d.render(w, http.StatusOK, "checks.html", page)
}

// simulate is the payment simulator page for a signed-in operator, else
// the login form.
func (d *Dashboard) simulate(w http.ResponseWriter, r *http.Request) {
	if !d.signedIn(r) {
		d.render(w, http.StatusOK, "login.html", loginPage{})
		return
	}
	d.render(w, http.StatusOK, "simulate.html", dashboardPage{CSRF: httpapi.CSRFToken(d.token)})
}

type loginPage struct{ Error string }

type dashboardPage struct{ CSRF string }

// checksPage offers each gateway's checks, to pick from.
type checksPage struct {
	CSRF   string
	Suites []suiteOption
}

type suiteOption struct {
	Provider string
	Checks   []string
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if err := httpapi.CheckSameOrigin(r); err != nil {
		d.render(w, http.StatusForbidden, "login.html", loginPage{Error: "Cross-origin sign-in refused."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		d.render(w, http.StatusBadRequest, "login.html", loginPage{Error: "Malformed form."})
		return
	}
	if !httpapi.SecretEqual(r.PostForm.Get("token"), d.token) {
		d.render(w, http.StatusUnauthorized, "login.html", loginPage{Error: "That is not the admin token."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: httpapi.SessionCookie, Value: httpapi.SessionValue(d.token), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r),
	})
	secure(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if err := httpapi.CheckSameOrigin(r); err != nil {
		d.render(w, http.StatusForbidden, "login.html", loginPage{Error: "Cross-origin sign-out refused."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: httpapi.SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r),
	})
	secure(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (d *Dashboard) asset(w http.ResponseWriter, r *http.Request) {
	secure(w)
	w.Header().Set("Cache-Control", "no-cache")
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + path.Clean(r.PathValue("name"))
	d.static.ServeHTTP(w, r2)
}
