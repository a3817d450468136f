package payloads

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SignatureHeader is the header that carries the optional body signature of
// a JSON callback (the QRIS gateway's opt-in signing, named as Tripay names
// it). Its value is BodySignature of the raw body.
const SignatureHeader = "X-Callback-Signature"

// BodySignature returns the lowercase hex HMAC-SHA256 of the raw body bytes,
// keyed with secret. An empty secret is a valid (if useless) key.
func BodySignature(secret string, body []byte) string {
	return hex.EncodeToString(bodyMAC(secret, body))
}

// VerifyBodySignature reports whether sig is the HMAC-SHA256 of body under
// secret, written in hex (either letter case). The comparison is constant
// time.
func VerifyBodySignature(secret string, body []byte, sig string) bool {
	return equalHexMAC(bodyMAC(secret, body), sig)
}

func bodyMAC(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body) // a hash.Hash never returns an error
	return m.Sum(nil)
}

// equalHexMAC reports, in constant time, whether sig is the hex encoding of
// mac. It is shared by every hex-signed scheme of this package.
func equalHexMAC(mac []byte, sig string) bool {
	got, err := hex.DecodeString(sig)
	return err == nil && hmac.Equal(mac, got)
}
