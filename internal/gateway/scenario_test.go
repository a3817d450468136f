package gateway

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/queue"
)

func TestValidateFor(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		accepts   Accepts
		wantField string // "" = valid
	}{
		{"empty", `{}`, Accepts{}, ""},
		{"delay and duplicates on a single-notification gateway", `{"delay":"30s","duplicates":2}`, Accepts{}, ""},
		{"out_of_order where several notifications exist", `{"out_of_order":true}`, Accepts{OutOfOrder: true}, ""},
		{"out_of_order on a single-notification gateway", `{"out_of_order":true}`, Accepts{ShuffleParams: true}, "scenario.out_of_order"},
		{"out_of_order false is fine anywhere", `{"out_of_order":false}`, Accepts{}, ""},
		{"shuffle_params on a query gateway", `{"shuffle_params":true}`, Accepts{ShuffleParams: true}, ""},
		{"shuffle_params elsewhere", `{"shuffle_params":true}`, Accepts{OutOfOrder: true}, "scenario.shuffle_params"},
		{"negative delay", `{"delay":"-1s"}`, Accepts{OutOfOrder: true}, "scenario.delay"},
		{"delay over a day", `{"delay":"25h"}`, Accepts{OutOfOrder: true}, "scenario.delay"},
		{"too many duplicates", `{"duplicates":11}`, Accepts{OutOfOrder: true}, "scenario.duplicates"},
		{"negative duplicates", `{"duplicates":-1}`, Accepts{}, "scenario.duplicates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Scenario
			if err := json.Unmarshal([]byte(tt.body), &s); err != nil {
				t.Fatal(err)
			}
			err := s.ValidateFor(tt.accepts)
			if tt.wantField == "" {
				if err != nil {
					t.Errorf("ValidateFor(%+v) = %v, want nil", tt.accepts, err)
				}
				return
			}
			var apiErr *httpapi.Error
			if !errors.As(err, &apiErr) || apiErr.Field != tt.wantField || apiErr.Status != 400 {
				t.Errorf("ValidateFor(%+v) = %v, want a 400 naming %s", tt.accepts, err, tt.wantField)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name  string
		s     Scenario
		scale float64
		want  queue.Plan
	}{
		{"zero scenario at scale 1", Scenario{}, 1, queue.Plan{Gap: 2 * time.Second}},
		{"everything at scale 1", Scenario{Delay: Duration(30 * time.Second), Duplicates: 2, OutOfOrder: true}, 1,
			queue.Plan{Hold: 30 * time.Second, Duplicates: 2, OutOfOrder: true, Gap: 2 * time.Second}},
		{"scaled delay; the gap keeps its floor", Scenario{Delay: Duration(30 * time.Second), OutOfOrder: true}, 0.01,
			queue.Plan{Hold: 300 * time.Millisecond, OutOfOrder: true, Gap: MinSequenceGap}},
		{"scale 0.1: gap scaled", Scenario{OutOfOrder: true}, 0.1, queue.Plan{OutOfOrder: true, Gap: 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.s.Plan(tt.scale)); diff != "" {
				t.Errorf("Plan(%v) (-want +got):\n%s", tt.scale, diff)
			}
		})
	}
}
