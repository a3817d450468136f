package merchant

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// ReturnPath is where the sample merchant takes CinetPay's customer back
// after the checkout page: the return_url of the README's examples.
const ReturnPath = "/return"

// returnTemplate is the shop's page after checkout. It shows the status
// the check API gives, never one the browser brought: a return_url is
// reached by the customer's browser, so what it carries proves nothing.
var returnTemplate = template.Must(template.New("return").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Back at the shop (callbacksim sample merchant)</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
.card { border: 1px solid #ddd; border-radius: .5rem; padding: 1.5rem; }
dl { display: grid; grid-template-columns: auto 1fr; gap: .25rem 1rem; }
dt { color: #666; }
dd { margin: 0; overflow-wrap: anywhere; }
.note { color: #666; font-size: .9rem; }
</style>
</head>
<body>
<div class="card">
<h1>Back at the shop</h1>
{{if .Transaction}}
<dl>
<dt>Transaction</dt><dd id="transaction">{{.Transaction}}</dd>
<dt>Status</dt><dd id="status">{{.Status}}</dd>
{{if .Amount}}<dt>Amount</dt><dd>{{.Amount}} {{.Currency}}</dd>{{end}}
</dl>
<p class="note">{{.Source}}</p>
{{else}}
<p>CinetPay sent the customer back without a transaction_id.</p>
{{end}}
</div>
</body>
</html>
`))

type returnView struct {
	Transaction, Status, Amount, Currency, Source string
}

// returnPage serves CinetPay's return_url: the customer's browser, back
// from the checkout page with transaction_id (and token) in a POST form or
// the query. It asks the check API for the payment's status, as a shop
// must, and says where the status came from.
func (m *Merchant) returnPage(w http.ResponseWriter, r *http.Request) {
	l := m.line(r, "cinetpay", "return")
	v := returnView{}
	if body, err := readBody(w, r); err == nil {
		form, _ := url.ParseQuery(string(body))
		v.Transaction = strings.TrimSpace(form.Get("transaction_id"))
	}
	if v.Transaction == "" {
		v.Transaction = strings.TrimSpace(r.URL.Query().Get("transaction_id"))
	}
	l.Transaction = v.Transaction
	switch {
	case v.Transaction == "":
	case m.opts.API == "":
		v.Status = "unknown here"
		v.Source = "This merchant has no check API configured (--api): the status comes with CinetPay's notification to notify_url."
	default:
		l.Check = m.check(r.Context(), v.Transaction)
		if l.Check.Error != "" {
			v.Status, v.Source = "unknown", "CinetPay's check API could not be asked: "+l.Check.Error
		} else {
			v.Status, v.Amount, v.Currency = l.Check.Status, l.Check.Amount, l.Check.Currency
			v.Source = "From CinetPay's check API (POST /v2/payment/check), not from the browser."
		}
	}
	l.Answered = http.StatusOK
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_ = returnTemplate.Execute(w, v)
	}
	m.print(l)
}
