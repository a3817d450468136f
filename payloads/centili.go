package payloads

import (
	"fmt"
	"net/http"
	"net/url"
)

// CentiliNotification is the stored payload of one Centili notification:
// its query parameters by name, sign excluded (it is computed per
// rendering, from these values).
type CentiliNotification struct {
	Params map[string]string `json:"params"`
}

// CentiliRenderer renders a Centili service's notifications: a GET to the
// service's notification URL with every parameter in the query, sorted by
// name, and sign last: the HMAC (Algorithm; the zero value is SHA1) keyed
// with SignatureKey (not the API key) of the other values in name order.
//
// Query parameters already in the notification URL are kept, and signed
// like the others: a merchant's handler checks sign over every parameter it
// receives.
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
	params, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("centili callback %s: %w: notification URL query does not parse", n.ID, ErrBadPayload)
	}
	for name, v := range p.Params {
		params.Set(name, v)
	}
	params.Del(centiliSignParam)
	sign, err := CentiliSign(r.SignatureKey, r.Algorithm, params)
	if err != nil {
		return nil, fmt.Errorf("centili callback %s: %w", n.ID, err)
	}
	u.RawQuery = CentiliQuery(params, sign)
	return []Request{{Method: http.MethodGet, URL: u.String(), Header: baseHeader(n.ID)}}, nil
}
