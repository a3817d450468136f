package payloads

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
)

// cinetPayFieldNames are the form names of a CinetPay notification, in
// x-token order. CinetPayFields.fields lists the struct fields in the same
// order; the two arrays must have the same length or the package does not
// compile.
var cinetPayFieldNames = [...]string{
	"cpm_site_id",
	"cpm_trans_id",
	"cpm_trans_date",
	"cpm_amount",
	"cpm_currency",
	"signature",
	"payment_method",
	"cel_phone_num",
	"cpm_phone_prefixe",
	"cpm_language",
	"cpm_version",
	"cpm_payment_config",
	"cpm_page_action",
	"cpm_custom",
	"cpm_designation",
	"cpm_error_message",
}

// CinetPayFields are the 16 form fields of a CinetPay notification (the
// application/x-www-form-urlencoded POST to notify_url), declared in the
// order in which they enter the x-token. The zero value is a notification
// with every field empty; an empty field still takes part in the x-token (as
// "") and is still sent.
type CinetPayFields struct {
	// SiteID is cpm_site_id, the merchant's site id.
	SiteID string `json:"cpm_site_id"`
	// TransID is cpm_trans_id, the merchant's transaction_id.
	TransID string `json:"cpm_trans_id"`
	// TransDate is cpm_trans_date, e.g. "2024-01-15 10:30:00".
	TransDate string `json:"cpm_trans_date"`
	// Amount is cpm_amount, an integer amount.
	Amount string `json:"cpm_amount"`
	// Currency is cpm_currency (XOF, XAF, CDF, GNF, USD).
	Currency string `json:"cpm_currency"`
	// Signature is the signature form field, a token distinct from x-token.
	Signature string `json:"signature"`
	// PaymentMethod is payment_method, e.g. "OM".
	PaymentMethod string `json:"payment_method"`
	// CelPhoneNum is cel_phone_num, the payer's number without prefix.
	CelPhoneNum string `json:"cel_phone_num"`
	// PhonePrefixe is cpm_phone_prefixe, the country calling code.
	PhonePrefixe string `json:"cpm_phone_prefixe"`
	// Language is cpm_language, e.g. "fr".
	Language string `json:"cpm_language"`
	// Version is cpm_version, e.g. "V4".
	Version string `json:"cpm_version"`
	// PaymentConfig is cpm_payment_config, e.g. "SINGLE".
	PaymentConfig string `json:"cpm_payment_config"`
	// PageAction is cpm_page_action, e.g. "PAYMENT".
	PageAction string `json:"cpm_page_action"`
	// Custom is cpm_custom, the payment's metadata.
	Custom string `json:"cpm_custom"`
	// Designation is cpm_designation, the payment's description.
	Designation string `json:"cpm_designation"`
	// ErrorMessage is cpm_error_message, the status text or failure reason.
	ErrorMessage string `json:"cpm_error_message"`
}

// fields returns pointers to the fields of f in x-token order.
func (f *CinetPayFields) fields() [len(cinetPayFieldNames)]*string {
	return [...]*string{
		&f.SiteID,
		&f.TransID,
		&f.TransDate,
		&f.Amount,
		&f.Currency,
		&f.Signature,
		&f.PaymentMethod,
		&f.CelPhoneNum,
		&f.PhonePrefixe,
		&f.Language,
		&f.Version,
		&f.PaymentConfig,
		&f.PageAction,
		&f.Custom,
		&f.Designation,
		&f.ErrorMessage,
	}
}

// CinetPayFieldsFromForm reads the 16 notification fields from a parsed form
// (for example http.Request.PostForm). A missing field is "", a field given
// several times counts by its first value, and other form fields are ignored.
func CinetPayFieldsFromForm(v url.Values) CinetPayFields {
	var f CinetPayFields
	for i, p := range f.fields() {
		*p = v.Get(cinetPayFieldNames[i])
	}
	return f
}

// Form returns the notification as form values, one value for each of the
// 16 fields, empty ones included.
func (f CinetPayFields) Form() url.Values {
	v := make(url.Values, len(cinetPayFieldNames))
	for i, p := range f.fields() {
		v.Set(cinetPayFieldNames[i], *p)
	}
	return v
}

// Encode returns the notification body in application/x-www-form-urlencoded
// form, all 16 fields in x-token order (not sorted by name, unlike
// url.Values.Encode), empty ones included.
func (f CinetPayFields) Encode() string {
	var b strings.Builder
	for i, p := range f.fields() {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(cinetPayFieldNames[i]) // the names need no escaping
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(*p))
	}
	return b.String()
}

// XToken returns the x-token header of the notification: the lowercase hex
// HMAC-SHA256, keyed with the merchant's secret key (not the apikey), of the
// 16 field values concatenated in x-token order with no separator.
func (f CinetPayFields) XToken(secretKey string) string {
	return hex.EncodeToString(f.xTokenMAC(secretKey))
}

func (f CinetPayFields) xTokenMAC(secretKey string) []byte {
	m := hmac.New(sha256.New, []byte(secretKey))
	for _, p := range f.fields() {
		io.WriteString(m, *p) // a hash.Hash never returns an error
	}
	return m.Sum(nil)
}

// VerifyCinetPayXToken reports whether xToken (the x-token header, hex in
// either letter case) authenticates the notification form under the
// merchant's secret key. The form is read as CinetPayFieldsFromForm reads
// it, and the comparison is constant time.
func VerifyCinetPayXToken(secretKey string, form url.Values, xToken string) bool {
	return equalHexMAC(CinetPayFieldsFromForm(form).xTokenMAC(secretKey), xToken)
}
