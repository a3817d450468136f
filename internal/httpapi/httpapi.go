// Package httpapi holds what every HTTP handler of callbacksim shares: JSON
// answers and errors, request bodies read with a size limit in JSON or form
// encoding, and bearer-token checks in constant time.
package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/callbacksim/callbacksim/internal/queue"
	"github.com/callbacksim/callbacksim/internal/store"
)

// MaxBody is the largest request body any endpoint reads (1 MiB).
const MaxBody = 1 << 20

// Error is an API error: the HTTP status and the JSON body
// {"error": Message, "field": Field}.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Field   string `json:"field,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Field, e.Message)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// BadField is a 400 naming the field at fault.
func BadField(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Errorf is an error with the given status.
func Errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// WriteJSON writes v as the JSON answer with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError answers err: an *Error as it is, a store or queue failure to
// reach Redis as 503, a missing record as 404, anything else as 500.
func WriteError(w http.ResponseWriter, err error) {
	WriteJSON(w, Status(err), AsError(err))
}

// AsError turns any error into the API error it is answered as.
func AsError(err error) *Error {
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, queue.ErrUnavailable):
		return Errorf(http.StatusServiceUnavailable, "redis is unreachable; try again shortly")
	case errors.Is(err, store.ErrNotFound):
		return Errorf(http.StatusNotFound, "not found")
	}
	return Errorf(http.StatusInternalServerError, "internal error")
}

// Status is the HTTP status err is answered with.
func Status(err error) int { return AsError(err).Status }

// ReadBody reads a request body of at most MaxBody bytes: a larger one is a
// 413, one slower than BodyDeadline allows a 408.
func ReadBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, Errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", MaxBody)
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		return nil, Errorf(http.StatusRequestTimeout, "the request body took too long to arrive (http.body_timeout)")
	case err != nil:
		return nil, Errorf(http.StatusBadRequest, "cannot read the request body: %v", err)
	}
	return body, nil
}

// DecodeJSON reads a JSON object into v. Unknown fields are allowed, as
// gateways allow them. A body is read only when the Content-Type says
// JSON (see IsJSON); anything else is a 415, so that a browser's form or
// text/plain request, which needs no CORS preflight, is never taken for
// JSON.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength != 0 && !IsJSON(r) { // an empty body is a 400 that says so
		return Errorf(http.StatusUnsupportedMediaType,
			"Content-Type must be application/json, got %q (curl: --json, or -H 'Content-Type: application/json')", r.Header.Get("Content-Type"))
	}
	body, err := ReadBody(w, r)
	if err != nil {
		return err
	}
	return UnmarshalJSON(body, v)
}

// UnmarshalJSON decodes body into v, turning a type mismatch into a 400 that
// names the field.
func UnmarshalJSON(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return Errorf(http.StatusBadRequest, "request body is empty; send a JSON object")
	}
	err := json.Unmarshal(body, v)
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
		apiErr    *Error
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr): // from a field's own UnmarshalJSON
		return apiErr
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, "request body must be a JSON object")
		}
		return BadField(field, "must be a JSON %s, got %s", typeName(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return Errorf(http.StatusBadRequest, "malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	}
	return Errorf(http.StatusBadRequest, "malformed JSON: %v", err)
}

func typeName(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "struct", "map":
		return "object"
	case "slice":
		return "array"
	}
	return kind
}

// IsJSON reports whether a request's Content-Type is JSON:
// application/json or a +json type, any parameters.
func IsJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// IsForm reports whether a request's body is form-encoded.
func IsForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// ParseForm reads a form-encoded body.
func ParseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	body, err := ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "malformed form body: %v", err)
	}
	return v, nil
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// SecretEqual compares a presented secret with the expected one in constant
// time. An empty presented secret never matches.
func SecretEqual(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// LookupSecret returns the value whose key is secret, comparing it with
// every key in constant time, so that the answer's timing tells nothing of
// which credentials exist.
func LookupSecret[V any](bySecret map[string]V, secret string) (V, bool) {
	var (
		found V
		ok    bool
	)
	for k, v := range bySecret {
		if SecretEqual(secret, k) {
			found, ok = v, true
		}
	}
	return found, ok
}

// HandlerFunc is a handler that returns its error instead of writing it;
// ServeHTTP answers the error with WriteError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP implements http.Handler.
func (h HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		WriteError(w, err)
	}
}
