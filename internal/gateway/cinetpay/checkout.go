package cinetpay

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
)

// The checkout page (payment_url): the tester plays the customer and pays
// or refuses. The choice has the effect of /v2/simulate with ACCEPTED or
// REFUSED (reason TRANSACTION_CANCEL), then the browser goes back to
// return_url as CinetPay sends it there: a POST carrying transaction_id and
// token. A 307 redirect makes the browser repeat the checkout form's POST,
// whose hidden fields are exactly those two, at return_url.

// Choices on the checkout page.
const (
	ChoicePay    = "pay"
	ChoiceRefuse = "refuse"
)

var checkoutTemplate = template.Must(template.New("checkout").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CinetPay checkout (callbacksim)</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
.card { border: 1px solid #ddd; border-radius: .5rem; padding: 1.5rem; }
.amount { font-size: 2rem; font-weight: bold; margin: .5rem 0; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; }
dt { color: #666; }
dd { margin: 0; overflow-wrap: anywhere; }
button { font-size: 1rem; padding: .6rem 1.2rem; margin-right: .5rem; border-radius: .3rem; border: 1px solid #888; cursor: pointer; }
.pay { background: #1a7f37; color: #fff; border-color: #1a7f37; }
.note { color: #666; font-size: .9rem; }
.error { color: #b00020; }
</style>
</head>
<body>
<div class="card">
{{if .Error}}
<h1 class="error">{{.Title}}</h1>
<p>{{.Error}}</p>
{{else}}
<h1>Payment to site {{.P.SiteID}}</h1>
<div class="amount">{{.Amount}} {{.P.Currency}}</div>
<dl>
<dt>Description</dt><dd>{{.P.Description}}</dd>
<dt>Transaction</dt><dd>{{.P.TransactionID}}</dd>
<dt>Status</dt><dd>{{.P.Status}}</dd>
</dl>
{{if .P.Final}}
<p>This payment is already {{.P.Status}}.</p>
<p><a href="{{.P.ReturnURL}}">Back to the shop</a></p>
{{else}}
<form method="post" action="">
<input type="hidden" name="transaction_id" value="{{.P.TransactionID}}">
<input type="hidden" name="token" value="{{.P.Token}}">
<button class="pay" type="submit" name="choice" value="pay">Pay</button>
<button type="submit" name="choice" value="refuse">Refuse</button>
</form>
<p class="note">Simulated by callbacksim: paying or refusing notifies {{.NotifyHost}} and returns to the shop.</p>
{{end}}
{{end}}
</div>
</body>
</html>
`))

type checkoutView struct {
	P          Payment
	Amount     string
	Lang       string
	NotifyHost string
	Title      string
	Error      string
}

// writePage writes the checkout page with the given HTTP status.
func writePage(w http.ResponseWriter, status int, v checkoutView) {
	if v.Lang == "" {
		v.Lang = "en"
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = checkoutTemplate.Execute(w, v)
}

// writePageError answers an error as an HTML page.
func writePageError(w http.ResponseWriter, err error) {
	e := httpapi.AsError(err)
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + " " + msg
	}
	writePage(w, e.Status, checkoutView{Title: http.StatusText(e.Status), Error: msg})
}

func pageView(p Payment) checkoutView {
	v := checkoutView{P: p, Amount: strconv.FormatInt(p.Amount, 10), Lang: p.Lang}
	if u, err := urlHost(p.NotifyURL); err == nil {
		v.NotifyHost = u
	}
	return v
}

// checkoutPage serves GET payment_url.
func (g *Gateway) checkoutPage(w http.ResponseWriter, r *http.Request) {
	_, p, err := g.findByToken(r.Context(), r.PathValue("token"))
	if errors.Is(err, store.ErrNotFound) {
		err = httpapi.Errorf(http.StatusNotFound, "this payment link is unknown or has expired")
	}
	if err != nil {
		writePageError(w, err)
		return
	}
	writePage(w, http.StatusOK, pageView(p))
}

// checkoutChoice serves the checkout form's POST: the customer pays or
// refuses.
func (g *Gateway) checkoutChoice(w http.ResponseWriter, r *http.Request) {
	if err := g.checkoutChoiceErr(w, r); err != nil {
		writePageError(w, err)
	}
}

func (g *Gateway) checkoutChoiceErr(w http.ResponseWriter, r *http.Request) error {
	if err := httpapi.CheckSameOrigin(r); err != nil { // the page's own form is same-origin
		return err
	}
	if !httpapi.IsForm(r) {
		return httpapi.Errorf(http.StatusUnsupportedMediaType, "send the checkout form (application/x-www-form-urlencoded)")
	}
	form, err := httpapi.ParseForm(w, r)
	if err != nil {
		return err
	}
	o := outcome{Status: StatusAccepted}
	switch form.Get("choice") {
	case ChoicePay:
	case ChoiceRefuse:
		o.Status = StatusRefused
	default:
		return httpapi.BadField("choice", `must be "pay" or "refuse"`)
	}
	key, p, err := g.findByToken(r.Context(), r.PathValue("token"))
	if errors.Is(err, store.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "this payment link is unknown or has expired")
	}
	if err != nil {
		return err
	}
	m, ok := g.byID[p.MerchantID]
	if !ok {
		return httpapi.Errorf(http.StatusNotFound, "the merchant of this payment is no longer configured")
	}
	if _, err := g.transition(r.Context(), m, key, o); err != nil {
		return err
	}
	http.Redirect(w, r, p.ReturnURL, http.StatusTemporaryRedirect)
	return nil
}
