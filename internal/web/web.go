// Package web serves the operator dashboard at /: a login form that starts
// a dashboard session (package session: a random id in an HttpOnly,
// SameSite=Strict cookie, kept in Redis until it expires or the operator
// signs out), a page
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
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"path"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/check"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/session"
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
	sessions *session.Manager
	static   http.Handler
}

// New returns the dashboard whose operators sign in through sessions.
func New(sessions *session.Manager) *Dashboard {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return &Dashboard{sessions: sessions, static: http.FileServerFS(sub)}
}

// Register adds the dashboard's routes to mux.
func (d *Dashboard) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", d.page(d.index))
	mux.HandleFunc("GET /checks", d.page(d.checks))
	mux.HandleFunc("GET /simulate", d.page(d.simulate))
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

// page serves a page of the signed-in operator, and the login form to
// anyone else: no session, no data. A cookie whose session ended is
// cleared, and the form says why it is shown.
func (d *Dashboard) page(show func(w http.ResponseWriter, s session.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := d.sessions.Current(r)
		switch {
		case errors.Is(err, session.ErrNone):
			d.render(w, http.StatusOK, "login.html", loginPage{})
		case errors.Is(err, session.ErrEnded):
			_ = d.sessions.SignOut(w, r)
			d.render(w, http.StatusOK, "login.html", loginPage{Notice: "Your session ended (it expired, or you signed out): sign in again."})
		case err != nil:
			d.render(w, httpapi.Status(err), "login.html", loginPage{Error: httpapi.AsError(err).Message})
		default:
			show(w, s)
		}
	}
}

// index is the callbacks page.
func (d *Dashboard) index(w http.ResponseWriter, s session.Session) {
	d.render(w, http.StatusOK, "dashboard.html", chrome{CSRF: s.CSRF, Title: "callbacksim", Script: "app.js", Current: "callbacks"})
}

// checks is the checks page.
func (d *Dashboard) checks(w http.ResponseWriter, s session.Session) {
	page := checksPage{chrome: chrome{CSRF: s.CSRF, Title: "callbacksim: handler checks", Script: "checks.js", Current: "checks"}}
	for _, p := range config.ProviderNames {
		page.Suites = append(page.Suites, suiteOption{Provider: p, Checks: check.Names(p)})
	}
	d.render(w, http.StatusOK, "checks.html", page)
}

// simulate is the payment simulator page.
func (d *Dashboard) simulate(w http.ResponseWriter, s session.Session) {
	d.render(w, http.StatusOK, "simulate.html", chrome{CSRF: s.CSRF, Title: "callbacksim: simulate a payment", Script: "simulate.js", Current: "simulate"})
}

// loginPage is the sign-in form, with an error (red) or a notice.
type loginPage struct{ Error, Notice string }

// chrome is what the head and header of every signed-in page show
// (templates/layout.html): the session's CSRF token, the page's title,
// its script, and which page of the navigation it is.
type chrome struct{ CSRF, Title, Script, Current string }

// checksPage offers each gateway's checks, to pick from.
type checksPage struct {
	chrome
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
	if err := d.sessions.SignIn(w, r, r.PostForm.Get("token")); err != nil {
		msg := httpapi.AsError(err).Message
		if httpapi.Status(err) == http.StatusUnauthorized {
			msg = "That is not the admin token."
		}
		d.render(w, httpapi.Status(err), "login.html", loginPage{Error: msg})
		return
	}
	secure(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session: its cookie is worth nothing afterwards.
func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if err := httpapi.CheckSameOrigin(r); err != nil {
		d.render(w, http.StatusForbidden, "login.html", loginPage{Error: "Cross-origin sign-out refused."})
		return
	}
	if err := d.sessions.SignOut(w, r); err != nil {
		d.render(w, httpapi.Status(err), "login.html", loginPage{Error: httpapi.AsError(err).Message})
		return
	}
	secure(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Dashboard) asset(w http.ResponseWriter, r *http.Request) {
	secure(w)
	w.Header().Set("Cache-Control", "no-cache")
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + path.Clean(r.PathValue("name"))
	d.static.ServeHTTP(w, r2)
}
