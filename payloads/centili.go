package payloads

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// CentiliNotification is the stored payload of one Centili notification:
// its query parameters by name, sign excluded (it is computed per
// rendering, from these values), and the order they go out in when it is
// not Centili's.
type CentiliNotification struct {
	Params map[string]string `json:"params"`
	// Order, when set, is the order of the parameters on the wire, sign
	// included (the scenario shuffle_params); names it leaves out follow
	// in CentiliParamOrder. Empty: CentiliParamOrder.
	Order []string `json:"order,omitempty"`
}

// CentiliRenderer renders a Centili service's notifications: a GET to the
// service's notification URL with every parameter in the query, in the
// order of Centili's parameter table (CentiliParamOrder, which is not
// sorted: a merchant must sort before signing), and sign in its place in
// that table: the HMAC (Algorithm; the zero value is SHA1) keyed with
// SignatureKey (not the API key) of the other values sorted by name. A
// service without a SignatureKey sends no sign at all.
//
// Query parameters already in the notification URL are kept first, as
// given, and signed like the others: a merchant's handler checks sign over
// every parameter it receives. A variant may sort the parameters by name,
// sign last (Variant.Order), or forge sign.
type CentiliRenderer struct {
	SignatureKey string
	Algorithm    SignAlgorithm
}

var _ Renderer = CentiliRenderer{}

// Render implements Renderer.
func (r CentiliRenderer) Render(n Notification) ([]Request, error) {
	var p CentiliNotification
	if err := decodeStrict(n.Payload, &p); err != nil {
		return nil, fmt.Errorf("centili callback %s: %w: %w", n.ID, ErrBadPayload, err)
	}
	if len(p.Params) == 0 {
		return nil, fmt.Errorf("centili callback %s: %w: no parameters", n.ID, ErrBadPayload)
	}
	u, err := url.Parse(n.URL)
	if err != nil {
		return nil, fmt.Errorf("centili callback %s: %w: notification URL does not parse", n.ID, ErrBadPayload)
	}
	own, all, err := ownQuery(u.RawQuery, p.Params)
	if err != nil {
		return nil, fmt.Errorf("centili callback %s: %w: notification URL query does not parse", n.ID, ErrBadPayload)
	}
	params := make(url.Values, len(p.Params))
	for name, v := range p.Params {
		params.Set(name, v)
		all.Set(name, v)
	}
	params.Del(centiliSignParam)
	all.Del(centiliSignParam)
	sign := ""
	if r.SignatureKey != "" {
		if sign, err = CentiliSign(r.SignatureKey, r.Algorithm, all); err != nil {
			return nil, fmt.Errorf("centili callback %s: %w", n.ID, err)
		}
	}
	if n.Variant.Forged {
		sign = forge(sign)
	}
	order := p.Order
	if n.Variant.Order == OrderSorted {
		order = append(centiliNames(params), centiliSignParam)
	}
	query := centiliEncode(params, sign, order)
	if own != "" {
		query = own + "&" + query
	}
	u.RawQuery = query
	return []Request{{Method: http.MethodGet, URL: u.String(), Header: baseHeader()}}, nil
}

// ownQuery returns the parts of a notification URL's query that the
// notification does not override (nor a stale sign), as written and in
// their order, and every parameter of the query.
func ownQuery(raw string, notification map[string]string) (string, url.Values, error) {
	all, err := url.ParseQuery(raw)
	if err != nil {
		return "", nil, err
	}
	var kept []string
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		name, _ = url.QueryUnescape(name) // ParseQuery accepted it
		if _, overridden := notification[name]; overridden || name == centiliSignParam {
			continue
		}
		kept = append(kept, part)
	}
	return strings.Join(kept, "&"), all, nil
}
