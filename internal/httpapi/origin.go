package httpapi

import "net/http"

// crossOrigin refuses unsafe requests that browsers mark as cross-origin
// (Sec-Fetch-Site, or an Origin that is not the Host).
var crossOrigin = http.NewCrossOriginProtection()

// CheckSameOrigin refuses (403) an unsafe request a browser marks as
// cross-origin: Sec-Fetch-Site other than same-origin or none, or else an
// Origin whose host is not the request's Host. Server-to-server calls carry
// neither header and pass, and so do safe methods. The dashboard's forms
// and API calls, every gateway endpoint that acts and CinetPay's checkout
// page call it, so that no web page can make a local simulator send
// callbacks.
func CheckSameOrigin(r *http.Request) error {
	if err := crossOrigin.Check(r); err != nil {
		return Errorf(http.StatusForbidden, "cross-origin request refused: a browser sent it from another site (Sec-Fetch-Site or Origin); call this endpoint from a server or a script")
	}
	return nil
}
