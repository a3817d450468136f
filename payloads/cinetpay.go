package payloads

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// CinetPayTokenHeader carries the x-token of a CinetPay notification (the
// gateway writes it in lower case; HTTP header names are case-insensitive).
const CinetPayTokenHeader = "X-Token"

// CinetPay notification constants (PROVIDERS.md §2).
const (
	// CinetPayVersion is the cpm_version of every notification.
	CinetPayVersion = "V4"
	// CinetPayDateLayout is the time layout of cpm_trans_date
	// ("2024-01-15 10:30:00") and of the check API's dates.
	CinetPayDateLayout = "2006-01-02 15:04:05"
)

// CinetPayNotification is the stored payload of one CinetPay notification:
// the 16 form fields, fixed when the payment's status changed. Every attempt
// sends them unchanged, with the x-token computed from them.
type CinetPayNotification struct {
	Fields CinetPayFields `json:"fields"`
}

// CinetPayRenderer renders a merchant's CinetPay notifications. Each attempt
// is two requests to notify_url: a GET ping with no data (a Probe: its
// answer decides nothing, but CinetPay wants it answered 200), then the
// application/x-www-form-urlencoded POST of the 16 fields in x-token order
// with the x-token header, keyed with SecretKey (the merchant's secret key,
// not the apikey); a forged variant's x-token does not verify.
type CinetPayRenderer struct {
	SecretKey string
}

var _ Renderer = CinetPayRenderer{}

// cinetPayPing is the GET CinetPay sends to check that notify_url answers.
var cinetPayPing = Probe{Target: "notify_url", Name: "CinetPay's GET check"}

// Render implements Renderer.
func (r CinetPayRenderer) Render(n Notification) ([]Request, error) {
	var p CinetPayNotification
	if err := decodeStrict(n.Payload, &p); err != nil {
		return nil, fmt.Errorf("cinetpay callback %s: %w: %w", n.ID, ErrBadPayload, err)
	}
	ping := Request{Method: http.MethodGet, URL: n.URL, Header: baseHeader(), Probe: &cinetPayPing}
	h := baseHeader()
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	xToken := p.Fields.XToken(r.SecretKey)
	if n.Variant.Forged {
		xToken = forge(xToken)
	}
	h.Set(CinetPayTokenHeader, xToken)
	post := Request{Method: http.MethodPost, URL: n.URL, Header: h, Body: []byte(p.Fields.Encode())}
	return []Request{ping, post}, nil
}

// decodeStrict reads a stored payload: a JSON object with no field v does
// not know.
func decodeStrict(raw []byte, v any) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return fmt.Errorf("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
