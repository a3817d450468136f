package payloads

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"slices"
	"strings"
)

// centiliSignParam is the query parameter that carries the signature.
const centiliSignParam = "sign"

// SignAlgorithm is the hash of the HMAC that signs a Centili notification,
// set per service. The zero value means SignSHA1, Centili's default.
type SignAlgorithm string

// The algorithms Centili offers.
const (
	// SignSHA1 is HMAC-SHA1, the default.
	SignSHA1 SignAlgorithm = "sha1"
	// SignSHA256 is HMAC-SHA256.
	SignSHA256 SignAlgorithm = "sha256"
	// SignMD5 is HMAC-MD5.
	SignMD5 SignAlgorithm = "md5"
)

// ErrUnknownAlgorithm is returned (wrapped) for a SignAlgorithm that is not
// one of SignSHA1, SignSHA256 and SignMD5.
var ErrUnknownAlgorithm = errors.New("payloads: unknown sign algorithm")

// ParseSignAlgorithm parses the name of a sign algorithm, ignoring letter
// case: "sha1", "sha256" or "md5"; "" means SignSHA1. Any other name gives an
// error wrapping ErrUnknownAlgorithm.
func ParseSignAlgorithm(s string) (SignAlgorithm, error) {
	if s == "" {
		return SignSHA1, nil
	}
	alg := SignAlgorithm(strings.ToLower(s))
	if _, err := alg.hash(); err != nil {
		return "", err
	}
	return alg, nil
}

// hash returns the hash constructor of a, or an error wrapping
// ErrUnknownAlgorithm.
func (a SignAlgorithm) hash() (func() hash.Hash, error) {
	switch a {
	case SignSHA1, "":
		return sha1.New, nil
	case SignSHA256:
		return sha256.New, nil
	case SignMD5:
		return md5.New, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownAlgorithm, string(a))
}

// CentiliSign returns the sign parameter of a Centili notification: the
// lowercase hex HMAC, keyed with the service's signature key (not the API
// key) using alg, of the values of every parameter but sign, taken in order
// of parameter name (byte order) and concatenated with no separator; a
// parameter with several values contributes them all, in order. It fails,
// wrapping ErrUnknownAlgorithm, only for an unknown alg.
func CentiliSign(key string, alg SignAlgorithm, params url.Values) (string, error) {
	mac, err := centiliMAC(key, alg, params)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(mac), nil
}

func centiliMAC(key string, alg SignAlgorithm, params url.Values) ([]byte, error) {
	newHash, err := alg.hash()
	if err != nil {
		return nil, err
	}
	m := hmac.New(newHash, []byte(key))
	for _, name := range centiliNames(params) {
		for _, v := range params[name] {
			io.WriteString(m, v) // a hash.Hash never returns an error
		}
	}
	return m.Sum(nil), nil
}

// centiliNames returns the parameter names of params but sign, sorted.
func centiliNames(params url.Values) []string {
	names := make([]string, 0, len(params))
	for name := range params {
		if name != centiliSignParam {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// CentiliParamOrder is the order of Centili's parameter table, which is
// the order of the parameters on the wire (PROVIDERS.md §3): not sorted by
// name, so that a handler that forgets to sort before signing fails here as
// it does in production. sign sits where the table puts it, between
// interval and subscriptionid; clientid, which some services send instead
// of reference, takes reference's place.
var CentiliParamOrder = []string{
	"transactionid", "phone", "userid", "country", "mno", "mnocode", "amount", "status",
	"revenue", "revenuecurrency", "reference", "clientid", "enduserprice", "service",
	"errormessage", "event_type", "opt_in_channel", "interval", centiliSignParam,
	"subscriptionid", "originalmessage", "shortcode", "momessage",
}

// CentiliQuery returns the query string of a Centili notification: every
// parameter of params in CentiliParamOrder, with sign=<sign> in its place
// there; names the table does not list follow, sorted by name. An empty
// sign (a service without a signature key) leaves sign out, and a sign
// already present in params is dropped.
func CentiliQuery(params url.Values, sign string) string {
	return centiliEncode(params, sign, nil)
}

// centiliEncode is CentiliQuery with the names of first (sign among them)
// ahead of CentiliParamOrder.
func centiliEncode(params url.Values, sign string, first []string) string {
	var b strings.Builder
	seen := make(map[string]bool, len(params)+1)
	write := func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if name == centiliSignParam {
			if sign != "" {
				writeParam(&b, name, sign)
			}
			return
		}
		for _, v := range params[name] {
			writeParam(&b, name, v)
		}
	}
	for _, name := range first {
		write(name)
	}
	for _, name := range CentiliParamOrder {
		write(name)
	}
	for _, name := range centiliNames(params) {
		write(name)
	}
	return b.String()
}

func writeParam(b *strings.Builder, name, value string) {
	if b.Len() > 0 {
		b.WriteByte('&')
	}
	b.WriteString(url.QueryEscape(name))
	b.WriteByte('=')
	b.WriteString(url.QueryEscape(value))
}

// VerifyCentiliSign reports whether the sign parameter of query (hex in
// either letter case) is CentiliSign of the other parameters under key and
// alg. It is false for an unknown alg. The comparison is constant time.
func VerifyCentiliSign(key string, alg SignAlgorithm, query url.Values) bool {
	mac, err := centiliMAC(key, alg, query)
	return err == nil && equalHexMAC(mac, query.Get(centiliSignParam))
}
