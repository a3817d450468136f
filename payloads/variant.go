package payloads

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Variant bends a notification at render time, as the handler checks
// (callbacksim check) do to see how a merchant's handler reacts: a
// signature that does not verify, or Centili's parameters in another order.
// It is a property of the stored callback, so the bent notification goes
// through the normal delivery and is recorded like any other. The zero
// value renders the notification as the gateway sends it.
type Variant struct {
	// Forged replaces the notification's signature (X-Callback-Signature,
	// webhook-signature, x-token, sign) by a well-formed one that does not
	// verify. On an unsigned notification it does nothing.
	Forged bool
	// Order is the order of Centili's query parameters; other gateways
	// ignore it.
	Order ParamOrder
}

// ParamOrder is an order of Centili's query parameters. The zero value is
// the gateway's own: the order of Centili's parameter table, not sorted.
type ParamOrder string

// OrderSorted sorts the parameters by name, sign last: the order sign is
// computed in, so that a handler that forgets to sort still verifies it
// (every handler check but centili.parameter_order sends this one).
const OrderSorted ParamOrder = "sorted"

// ErrBadVariant is returned (wrapped) by ParseVariant for a text it does
// not know.
var ErrBadVariant = errors.New("payloads: unknown variant")

// variantForged is the text of Forged in a Variant's text form.
const variantForged = "forged"

// String returns the variant as text: "" for the zero value, else its
// parts joined by "+", e.g. "forged+sorted".
func (v Variant) String() string {
	var parts []string
	if v.Forged {
		parts = append(parts, variantForged)
	}
	if v.Order != "" {
		parts = append(parts, string(v.Order))
	}
	return strings.Join(parts, "+")
}

// IsZero reports whether v renders the notification as the gateway sends
// it.
func (v Variant) IsZero() bool { return v == Variant{} }

// MarshalText implements encoding.TextMarshaler.
func (v Variant) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseVariant.
func (v *Variant) UnmarshalText(b []byte) error {
	parsed, err := ParseVariant(string(b))
	if err != nil {
		return err
	}
	*v = parsed
	return nil
}

// ParseVariant reads the text form of a Variant (String); "" is the zero
// value. Any other text gives an error wrapping ErrBadVariant.
func ParseVariant(s string) (Variant, error) {
	var v Variant
	if s == "" {
		return v, nil
	}
	for part := range strings.SplitSeq(s, "+") {
		switch p := ParamOrder(part); {
		case part == variantForged && !v.Forged:
			v.Forged = true
		case p == OrderSorted && v.Order == "":
			v.Order = p
		default:
			return Variant{}, fmt.Errorf("%w: %q", ErrBadVariant, s)
		}
	}
	return v, nil
}

// forge returns a signature of the same form as sig that does not verify:
// every hex digit d becomes 15-d (a hex signature), or every byte of a
// Standard Webhooks "v1,<base64>" signature is inverted.
func forge(sig string) string {
	if b64, ok := strings.CutPrefix(sig, webhookSignaturePrefix); ok {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err == nil {
			for i := range raw {
				raw[i] = ^raw[i]
			}
			return webhookSignaturePrefix + base64.StdEncoding.EncodeToString(raw)
		}
	}
	const digits = "0123456789abcdef"
	out := []byte(sig)
	for i, c := range out {
		switch {
		case c >= '0' && c <= '9':
			out[i] = digits[15-(c-'0')]
		case c >= 'a' && c <= 'f':
			out[i] = digits[15-(c-'a'+10)]
		case c >= 'A' && c <= 'F':
			out[i] = strings.ToUpper(digits)[15-(c-'A'+10)]
		}
	}
	return string(out)
}
