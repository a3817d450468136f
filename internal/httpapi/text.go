package httpapi

import (
	"encoding/json"
	"reflect"
)

// Text is a JSON string or number, kept as its text: clients send ids and
// amounts either way (site_id 445160 or "445160"). null is "". Any other
// JSON value is a type error that names the field.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	case string(b) == "null":
		*t = ""
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*t = Text(b)
	default:
		return &json.UnmarshalTypeError{Value: "a non-string", Type: reflect.TypeFor[string]()}
	}
	return nil
}
