package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/store"
)

// TestListFilters pages through every kind of filter, including those that
// read the union of several index sets (a provider alone, a status alone),
// and checks the order: newest first, then by id, descending, as one set
// would give it.
func TestListFilters(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, time.Hour)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	statuses := []store.Status{store.StatusPending, store.StatusDelivered, store.StatusFailed, store.StatusRetrying}
	var all []store.Callback
	for i := range 30 {
		cb := &store.Callback{
			ID: fmt.Sprintf("cb_%02d", i), Provider: config.ProviderNames[i%3], MerchantID: "m",
			Method: "POST", URL: "http://m.example/", Payload: json.RawMessage(`{"n":1}`),
			CreatedAt: base.Add(-time.Duration(i/2) * time.Second), // pairs share a creation time
		}
		if err := s.Create(ctx, cb); err != nil {
			t.Fatal(err)
		}
		switch to := statuses[i%4]; to {
		case store.StatusDelivered, store.StatusFailed:
			outcome := store.OutcomeDelivered
			if to == store.StatusFailed {
				outcome = store.OutcomeFailed
			}
			if err := s.Record(ctx, cb, final(cb, outcome, to)); err != nil {
				t.Fatal(err)
			}
		case store.StatusRetrying:
			next := base.Add(time.Minute)
			if err := s.Record(ctx, cb, retry(cb, next)); err != nil {
				t.Fatal(err)
			}
		}
		all = append(all, *cb)
	}
	slices.SortFunc(all, func(a, b store.Callback) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})

	filters := []store.Filter{
		{}, {Provider: config.QRIS}, {Provider: config.Centili}, {Status: store.StatusDelivered},
		{Status: store.StatusPending}, {Provider: config.CinetPay, Status: store.StatusRetrying},
		{Status: store.StatusFailed, Since: base.Add(-9 * time.Second), Until: base.Add(-2 * time.Second)},
	}
	for _, f := range filters {
		var want []string
		for _, cb := range all {
			if (f.Provider == "" || cb.Provider == f.Provider) && (f.Status == "" || cb.Status == f.Status) &&
				(f.Since.IsZero() || !cb.CreatedAt.Before(f.Since)) && (f.Until.IsZero() || cb.CreatedAt.Before(f.Until)) {
				want = append(want, cb.ID)
			}
		}
		for _, limit := range []int{1, 3, 50} {
			t.Run(fmt.Sprintf("%s/%s/limit %d", f.Provider, f.Status, limit), func(t *testing.T) {
				var got []string
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > len(all) {
						t.Fatal("more pages than callbacks")
					}
					page, err := s.List(ctx, f, limit, cursor)
					if err != nil {
						t.Fatal(err)
					}
					if len(page.Callbacks) > limit {
						t.Fatalf("page of %d, limit %d", len(page.Callbacks), limit)
					}
					for _, cb := range page.Callbacks {
						got = append(got, cb.ID)
					}
					if page.NextCursor == "" {
						break
					}
					cursor = page.NextCursor
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
			})
		}
	}

	// Each callback is in one index set: listings read unions of sets
	// instead (an entry is about 125 bytes of Redis).
	keys, err := rdb.Keys(ctx, "cbs:{idx}:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	entries := int64(0)
	for _, k := range keys {
		entries += rdb.ZCard(ctx, k).Val()
	}
	if entries != int64(len(all)) {
		t.Errorf("%d index entries in %v for %d callbacks, want one each", entries, keys, len(all))
	}
}

// A callback's payload and attempts read back as they were written, the
// request body included, though the store keeps it only once.
func TestGetRoundTrip(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, time.Hour)
	ctx := context.Background()
	payload := `{"order_id":"O-1","amount":100}`
	cb := &store.Callback{ID: "cb_rt", Provider: config.QRIS, MerchantID: "m", Method: "POST",
		URL: "http://m.example/cb", Payload: json.RawMessage(payload)}
	if err := s.Create(ctx, cb); err != nil {
		t.Fatal(err)
	}
	attempts := []store.Attempt{
		{At: time.Unix(1_700_000_000, 0).UTC(), DurationMS: 1.5, Outcome: store.OutcomeRetry,
			Request:  store.Request{Method: "POST", URL: cb.URL, Headers: map[string][]string{"X-Callback-Id": {"cb_rt"}}, Body: payload},
			Response: &store.Response{Status: 500, Headers: map[string][]string{}, Body: "no"}},
		{At: time.Unix(1_700_000_001, 0).UTC(), Outcome: store.OutcomeDelivered, Kind: store.Manual,
			Request: store.Request{Method: "GET", URL: cb.URL + "?ping=1", Headers: map[string][]string{}, Body: ""}},
	}
	next := time.Unix(1_700_000_005, 0)
	if err := s.Record(ctx, cb, store.Update{Attempt: attempts[0], From: cb.Status, To: store.StatusRetrying, Next: &next, CountsTry: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, cb, store.Update{Attempt: attempts[1], From: cb.Status, To: store.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "cb_rt")
	if err != nil {
		t.Fatal(err)
	}
	attempts[0].N, attempts[1].N = 1, 2
	if diff := cmp.Diff(attempts, got.Attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if string(got.Payload) != payload || got.ID != "cb_rt" || got.Status != store.StatusDelivered {
		t.Errorf("callback = %s %s payload %s", got.ID, got.Status, got.Payload)
	}
	loaded, err := s.Load(ctx, "cb_rt")
	if err != nil || string(loaded.Payload) != payload {
		t.Errorf("Load = payload %s, %v", loaded.Payload, err)
	}
	if _, err := s.Load(ctx, "cb_nope"); err == nil {
		t.Error("Load of an unknown callback succeeded")
	}
}

// Scripts run by digest; a Redis that forgot them (restarted, or flushed)
// gets them again.
func TestScriptsAfterFlush(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, time.Hour)
	ctx := context.Background()
	cb := &store.Callback{ID: "cb_fl", Provider: config.QRIS, MerchantID: "m", Method: "POST", URL: "http://m.example/", Payload: json.RawMessage(`{}`)}
	if err := s.Create(ctx, cb); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePayment(ctx, "p", []byte("a")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		next := time.Now().Add(time.Minute)
		if err := s.Record(ctx, cb, retry(cb, next)); err != nil {
			t.Fatalf("record %d after SCRIPT FLUSH: %v", i+1, err)
		}
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdatePayment(ctx, "p", func(old []byte) ([]byte, error) { return append(old, 'b'), nil }); err != nil {
			t.Fatalf("update payment %d after SCRIPT FLUSH: %v", i+1, err)
		}
	}
	got, err := s.Get(ctx, "cb_fl")
	if err != nil || len(got.Attempts) != 2 || got.Status != store.StatusRetrying || got.Tries != 2 {
		t.Errorf("after two records: %+v, %v", got, err)
	}
	if p, _ := s.GetPayment(ctx, "p"); string(p) != "abb" {
		t.Errorf("payment = %q, want abb", p)
	}
	if ttl := rdb.TTL(ctx, "cbs:{cb_fl}:attempts").Val(); ttl <= 0 {
		t.Errorf("attempts list TTL = %s, want the retention", ttl)
	}
}

// A search matches the id, the reference or the transaction id, in any
// letter case, anywhere in them; with other filters it narrows them. More
// callbacks than one read of the index, and pages of one, show it keeps
// reading until it has a page and that its cursor resumes the search.
func TestListSearch(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, time.Hour)
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	for i := range 1200 {
		cb := &store.Callback{
			ID: fmt.Sprintf("cb_s%04d", i), Provider: config.ProviderNames[i%3], MerchantID: "m",
			Reference: fmt.Sprintf("ORDER-%04d", i), TransactionID: fmt.Sprintf("TXN-%04d", 9999-i),
			Method: "POST", URL: "http://m.example/", Payload: json.RawMessage(`{}`),
			CreatedAt: base.Add(time.Duration(i) * time.Millisecond),
		}
		if err := s.Create(ctx, cb); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"reference, other case", store.Filter{Search: "order-0007"}, []string{"cb_s0007"}},
		{"transaction id", store.Filter{Search: "TXN-9998"}, []string{"cb_s0001"}},
		{"callback id", store.Filter{Search: "cb_s1100"}, []string{"cb_s1100"}},
		{"part of a reference, newest first", store.Filter{Search: "ORDER-000"}, []string{
			"cb_s0009", "cb_s0008", "cb_s0007", "cb_s0006", "cb_s0005", "cb_s0004", "cb_s0003", "cb_s0002", "cb_s0001", "cb_s0000"}},
		{"with a provider", store.Filter{Search: "ORDER-000", Provider: config.ProviderNames[1]}, []string{"cb_s0007", "cb_s0004", "cb_s0001"}},
		{"no match", store.Filter{Search: "ORDER-X"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{1, 50} {
				var got []string
				cursor := ""
				for pages := 0; ; pages++ {
					if pages > len(tt.want) {
						t.Fatal("more pages than matches")
					}
					page, err := s.List(ctx, tt.f, limit, cursor)
					if err != nil {
						t.Fatal(err)
					}
					for _, cb := range page.Callbacks {
						got = append(got, cb.ID)
					}
					if page.NextCursor == "" {
						break
					}
					cursor = page.NextCursor
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("limit %d: ids (-want +got):\n%s", limit, diff)
				}
			}
		})
	}
}
