package store_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/callbacksim/callbacksim/internal/store"
)

// The operator API shows an attempt's kind as two booleans, manual and
// duplicate; the JSON round trip keeps the kind.
func TestAttemptJSONKeepsTheAPIFields(t *testing.T) {
	tests := []struct {
		kind                  store.Kind
		wantManual, wantDup   bool
		wantDuplicateInOutput bool
	}{
		{store.Automatic, false, false, false},
		{store.Manual, true, false, false},
		{store.Duplicate, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			raw, err := json.Marshal(store.Attempt{N: 1, Kind: tt.kind, Outcome: store.OutcomeDelivered})
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]any
			if err := json.Unmarshal(raw, &fields); err != nil {
				t.Fatal(err)
			}
			if fields["manual"] != tt.wantManual {
				t.Errorf("manual = %v in %s, want %t", fields["manual"], raw, tt.wantManual)
			}
			if _, ok := fields["duplicate"]; ok != tt.wantDuplicateInOutput || (ok && fields["duplicate"] != tt.wantDup) {
				t.Errorf("duplicate = %v in %s, want %t (omitted when false)", fields["duplicate"], raw, tt.wantDup)
			}
			for _, internal := range []string{"Kind", "kind", "body_is_payload"} {
				if _, ok := fields[internal]; ok {
					t.Errorf("the API's attempt shows %q: %s", internal, raw)
				}
			}
			var back store.Attempt
			if err := json.Unmarshal(raw, &back); err != nil || back.Kind != tt.kind || back.N != 1 {
				t.Errorf("round trip = %+v, %v; want kind %s", back, err, tt.kind)
			}
		})
	}
}

func TestKindText(t *testing.T) {
	for _, k := range []store.Kind{store.Automatic, store.Manual, store.Duplicate} {
		text, err := k.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText(%d): %v", k, err)
		}
		var back store.Kind
		if err := back.UnmarshalText(text); err != nil || back != k {
			t.Errorf("UnmarshalText(%q) = %s, %v; want %s", text, back, err, k)
		}
	}
	var k store.Kind
	for _, bad := range []string{"", "Manual", "retry", "3"} {
		if err := k.UnmarshalText([]byte(bad)); !errors.Is(err, store.ErrBadKind) {
			t.Errorf("UnmarshalText(%q) = %v, want ErrBadKind", bad, err)
		}
	}
	if _, err := store.Kind(7).MarshalText(); !errors.Is(err, store.ErrBadKind) {
		t.Errorf("MarshalText(7) = %v, want ErrBadKind", err)
	}
}
