package cinetpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/httpapi"
)

// CinetPay's answer codes and messages (PROVIDERS.md §2).
const (
	CodeSuccess         = "00"
	CodeCreated         = "201"
	CodePaymentFailed   = "600"
	CodeInsufficient    = "602"
	CodeOTPError        = "604"
	CodeMinimumRequired = "608"
	CodeAuthNotFound    = "609"
	CodeWaitingValidate = "623"
	CodeProcessingError = "624"
	CodeCancel          = "627"
	CodeWaitingPayment  = "662"
	// CodeTooManyRequests answers a merchant over ratelimit.per_second.
	// CinetPay documents no code for it: the simulator uses the HTTP status.
	CodeTooManyRequests = "429"
	// CodeForbidden answers a request a browser sent from another origin
	// (the simulator's own refusal; CinetPay documents none).
	CodeForbidden = "403"
)

// messages gives each code its message, as CinetPay spells them.
var messages = map[string]string{
	CodeSuccess:         "SUCCES",
	CodeCreated:         "CREATED",
	CodePaymentFailed:   "PAYMENT_FAILED",
	CodeInsufficient:    "INSUFFICIENT_BALANCE",
	CodeOTPError:        "OTP_CODE_ERROR",
	CodeMinimumRequired: "MINIMUM_REQUIRED_FIELDS",
	CodeAuthNotFound:    "AUTH_NOT_FOUND",
	CodeWaitingValidate: "WAITING_CUSTOMER_TO_VALIDATE",
	// CinetPay documents 624 only as a processing error; the message is
	// the simulator's, the description says what went wrong.
	CodeProcessingError: "PROCESSING_ERROR",
	CodeCancel:          "TRANSACTION_CANCEL",
	CodeWaitingPayment:  "WAITING_CUSTOMER_PAYMENT",
	CodeTooManyRequests: "TOO_MANY_REQUESTS",
	CodeForbidden:       "FORBIDDEN",
}

// refusalCodes are the reasons a refused payment can carry, by message.
var refusalCodes = map[string]string{
	"PAYMENT_FAILED":       CodePaymentFailed,
	"INSUFFICIENT_BALANCE": CodeInsufficient,
	"OTP_CODE_ERROR":       CodeOTPError,
	"TRANSACTION_CANCEL":   CodeCancel,
}

// answer is the envelope of every answer of CinetPay's own endpoints:
// errors have no data, verification answers no description.
type answer struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	Description   string `json:"description,omitempty"`
	Data          any    `json:"data,omitempty"`
	APIResponseID string `json:"api_response_id"`
}

// apiError is an error answered in CinetPay's shape.
type apiError struct {
	status      int
	code        string
	description string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("cinetpay %d %s: %s", e.status, e.code, e.description)
}

func missingFields(names []string) *apiError {
	return &apiError{http.StatusBadRequest, CodeMinimumRequired, "missing required fields: " + strings.Join(names, ", ")}
}

func badField(name, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, CodeMinimumRequired, name + ": " + fmt.Sprintf(format, args...)}
}

func authNotFound(description string) *apiError {
	return &apiError{http.StatusUnauthorized, CodeAuthNotFound, description}
}

// responseID makes an api_response_id in CinetPay's style: "1663323067.7677".
func responseID(now time.Time) string {
	return fmt.Sprintf("%d.%04d", now.Unix(), now.Nanosecond()/100_000)
}

// writeAnswer writes a CinetPay answer with the given HTTP status.
func writeAnswer(w http.ResponseWriter, status int, a answer, now time.Time) {
	if a.Message == "" {
		a.Message = messages[a.Code]
	}
	a.APIResponseID = responseID(now)
	httpapi.WriteJSON(w, status, a)
}

// writeError answers err in CinetPay's shape: an *apiError as it is; any
// other error by the HTTP status httpapi gives it (a body too large is a
// 413, an unreachable Redis a 503), with the closest CinetPay code.
func writeError(w http.ResponseWriter, err error, now time.Time) {
	var ce *apiError
	if !errors.As(err, &ce) {
		ae := httpapi.AsError(err)
		ce = &apiError{status: ae.Status, code: CodeProcessingError, description: ae.Message}
		switch {
		case ae.Status == http.StatusUnauthorized:
			ce.code = CodeAuthNotFound
		case ae.Status == http.StatusForbidden:
			ce.code = CodeForbidden
		case ae.Status < 500:
			ce.code = CodeMinimumRequired
			if ae.Field != "" {
				ce.description = ae.Field + ": " + ae.Message
			}
		}
	}
	writeAnswer(w, ce.status, answer{Code: ce.code, Description: ce.description}, now)
}

// readFields reads the body of a CinetPay request, JSON or form-encoded
// (application/x-www-form-urlencoded or multipart/form-data), into its
// fields as text: a JSON number keeps its literal text, null is "", an
// object or an array its compact JSON. A field sent several times counts
// by its first value.
//
// A request a browser sent cross-site is refused (403) before its body is
// read: CinetPay's endpoints take forms, which any web page can submit.
func readFields(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	if err := httpapi.CheckSameOrigin(r); err != nil {
		return nil, err
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		v, err := httpapi.ParseForm(w, r)
		if err != nil {
			return nil, err
		}
		return firstValues(v), nil
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, httpapi.Errorf(http.StatusBadRequest, "multipart body without a boundary")
		}
		r.Body = http.MaxBytesReader(w, r.Body, httpapi.MaxBody)
		if err := r.ParseMultipartForm(httpapi.MaxBody); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", httpapi.MaxBody)
			}
			return nil, httpapi.Errorf(http.StatusBadRequest, "malformed multipart body: %v", err)
		}
		defer r.MultipartForm.RemoveAll()
		return firstValues(r.MultipartForm.Value), nil
	}
	body, err := httpapi.ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	return jsonFields(body)
}

func firstValues(v map[string][]string) map[string]string {
	out := make(map[string]string, len(v))
	for k, vals := range v {
		if len(vals) > 0 {
			out[k] = vals[0]
		}
	}
	return out
}

func jsonFields(body []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := httpapi.UnmarshalJSON(body, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, httpapi.Errorf(http.StatusBadRequest, "request body must be a JSON object or a form")
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v[0] {
		case '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, httpapi.BadField(k, "is not a valid JSON string")
			}
			out[k] = s
		case 'n':
			out[k] = ""
		default:
			var b bytes.Buffer
			if err := json.Compact(&b, v); err != nil {
				return nil, httpapi.BadField(k, "is not valid JSON")
			}
			out[k] = b.String()
		}
	}
	return out, nil
}

// throttle answers, in CinetPay's shape, a merchant over its rate limit
// (ratelimit.per_second), with Retry-After.
func (g *Gateway) throttle(w http.ResponseWriter, m config.Merchant) *apiError {
	if err := httpapi.Throttle(w, g.limit, "cinetpay:"+m.ID); err != nil {
		return &apiError{err.Status, CodeTooManyRequests, err.Message}
	}
	return nil
}
