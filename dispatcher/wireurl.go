package dispatcher

import (
	"net/url"
	"strings"
)

// wireURL returns raw as a gateway's HTTP client puts it on the request
// line: the bytes RFC 3986 does not allow in a query (a space, quotes,
// angle brackets, non-ASCII, a % that starts no escape) percent-encoded,
// and everything else as written, so the merchant's own escapes, order
// and case survive. Go's client sends a query as it is given, raw spaces
// included, which no real gateway's client does.
func wireURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return raw
	}
	q := escapeQuery(u.RawQuery)
	if q == u.RawQuery {
		return raw
	}
	u.RawQuery = q
	return u.String()
}

// escapeQuery percent-encodes the bytes of q that may not appear in a
// query, keeping existing %XX escapes.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2]):
			b.WriteByte(c)
		case queryByte(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// queryByte reports whether c may appear raw in a query (RFC 3986 3.4:
// unreserved, sub-delims, ":", "@", "/" and "?").
func queryByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
