package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/store"
	"github.com/callbacksim/callbacksim/payloads"
)

// A check's fields of a callback survive the store; a plain callback's
// record holds none of them.
func TestCallbackCheckFields(t *testing.T) {
	ctx := context.Background()
	st, r := newStore(t, time.Hour)
	cb := &store.Callback{
		ID: store.NewID(), Provider: "centili", MerchantID: "demo", Method: "GET", URL: "http://127.0.0.1/c",
		CreatedAt: time.Now(), Payload: []byte(`{"params":{"a":"1"}}`),
		CheckID: "chk_1", Variant: payloads.Variant{Forged: true, Order: payloads.OrderSorted}, NoRetry: true,
	}
	if err := st.Create(ctx, cb); err != nil {
		t.Fatal(err)
	}
	for _, load := range []func(context.Context, string) (*store.Callback, error){st.Load, st.Get} {
		got, err := load(ctx, cb.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CheckID != cb.CheckID || got.Variant != cb.Variant || !got.NoRetry {
			t.Errorf("loaded check %q variant %+v no_retry %v, want %q %+v true", got.CheckID, got.Variant, got.NoRetry, cb.CheckID, cb.Variant)
		}
	}
	plain := newCallback(t, st, "qris", time.Now())
	fields, err := r.Client().HKeys(ctx, "cbs:{"+plain.ID+"}").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if f == "check_id" || f == "variant" || f == "no_retry" {
			t.Errorf("a plain callback's record holds %q", f)
		}
	}
}

func TestPaymentEvents(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t, time.Hour)
	if got, err := st.PaymentEvents(ctx, "none"); err != nil || len(got) != 0 {
		t.Fatalf("PaymentEvents of an unknown payment = %q, %v", got, err)
	}
	for i := range 105 {
		if err := st.LogPaymentEvent(ctx, "p1", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.PaymentEvents(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 || string(got[0]) != "5" || string(got[99]) != "104" {
		t.Errorf("kept %d events, %s..%s; want the newest 100, 5..104", len(got), got[0], got[len(got)-1])
	}
}

func TestChecks(t *testing.T) {
	ctx := context.Background()
	st, r := newStore(t, time.Hour)
	if _, err := st.GetCheck(ctx, "chk_none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetCheck of an unknown run: %v, want ErrNotFound", err)
	}
	if runs, err := st.ListChecks(ctx, 10); err != nil || len(runs) != 0 {
		t.Fatalf("ListChecks with none: %q, %v", runs, err)
	}
	start := time.Now()
	for i := range 3 {
		id := fmt.Sprintf("chk_%d", i)
		if err := st.SaveCheck(ctx, id, start.Add(time.Duration(i)*time.Second), []byte(`"`+id+` running"`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SaveCheck(ctx, "chk_1", start.Add(time.Second), []byte(`"chk_1 passed"`)); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetCheck(ctx, "chk_1")
	if err != nil || string(got) != `"chk_1 passed"` {
		t.Errorf("GetCheck = %s, %v; want the last save", got, err)
	}
	runs, err := st.ListChecks(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || string(runs[0]) != `"chk_2 running"` || string(runs[1]) != `"chk_1 passed"` {
		t.Errorf("ListChecks(2) = %q, want chk_2 then chk_1", runs)
	}
	ttl, err := r.Client().PTTL(ctx, "chk:{chk_0}").Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("a run's TTL = %v, %v; want the retention", ttl, err)
	}
	// An expired run drops out of the listing.
	r.Client().Del(ctx, "chk:{chk_2}")
	if runs, _ := st.ListChecks(ctx, 10); len(runs) != 2 {
		t.Errorf("after one expired, ListChecks = %q", runs)
	}
}
