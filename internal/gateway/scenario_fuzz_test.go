package gateway_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/gateway"
	"github.com/callbacksim/callbacksim/internal/httpapi"
)

// FuzzScenario decodes any "scenario" object the way the simulate endpoints
// do: it either fails with a 400 or passes Validate within the limits, and
// never panics.
func FuzzScenario(f *testing.F) {
	for _, seed := range []string{
		`{"scenario":{"delay":"30s","duplicates":2,"out_of_order":true}}`,
		`{"scenario":{"delay":1.5}}`,
		`{"scenario":{"delay":"-1s"}}`,
		`{"scenario":{"delay":1e300,"duplicates":-1}}`,
		`{"scenario":{"delay":"9223372036854775807ns"}}`,
		`{"scenario":{"delay":null,"duplicates":"2"}}`,
		`{"scenario":[]}`,
		`{"scenario":{"delay":"25h"}}`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			Scenario gateway.Scenario `json:"scenario"`
		}
		err := httpapi.UnmarshalJSON(body, &req)
		if err == nil {
			err = req.Scenario.Validate()
		}
		if err != nil {
			var apiErr *httpapi.Error
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
				t.Fatalf("error %v for %q is not a 400", err, body)
			}
			if apiErr.Field != "" && !strings.HasPrefix(apiErr.Field, "scenario") {
				t.Fatalf("error names field %q for %q; want scenario.*", apiErr.Field, body)
			}
			return
		}
		s := req.Scenario
		if s.Delay < 0 || time.Duration(s.Delay) > gateway.MaxDelay || s.Duplicates < 0 || s.Duplicates > gateway.MaxDuplicates {
			t.Fatalf("Validate accepted %+v from %q, outside the limits", s, body)
		}
		if held := s.HeldFor(0.01); held < 0 || held > gateway.MaxDelay {
			t.Fatalf("HeldFor(0.01) = %s for %+v", held, s)
		}
	})
}
