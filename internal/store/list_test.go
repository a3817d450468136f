package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
			if err := s.Record(ctx, cb, store.Attempt{At: cb.CreatedAt, Outcome: outcome}, to, nil); err != nil {
				t.Fatal(err)
			}
		case store.StatusRetrying:
			next := base.Add(time.Minute)
			if err := s.Record(ctx, cb, store.Attempt{At: cb.CreatedAt, Outcome: store.OutcomeRetry}, to, &next); err != nil {
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
		{At: time.Unix(1_700_000_001, 0).UTC(), Outcome: store.OutcomeDelivered, Manual: true,
			Request: store.Request{Method: "GET", URL: cb.URL + "?ping=1", Headers: map[string][]string{}, Body: ""}},
	}
	next := time.Unix(1_700_000_005, 0)
	if err := s.Record(ctx, cb, attempts[0], store.StatusRetrying, &next); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, cb, attempts[1], store.StatusDelivered, nil); err != nil {
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

// Records written before the payload moved to the head of the attempts list
// (payload in the hash, attempts only in the list) still read the same.
func TestGetOldLayout(t *testing.T) {
	rdb := redistest.Start(t).Client()
	s := store.New(rdb, time.Hour)
	ctx := context.Background()
	rdb.HSet(ctx, "cbs:{cb_old}", "id", "cb_old", "provider", "qris", "merchant_id", "m", "status", "delivered",
		"method", "POST", "url", "http://m.example/", "created_at", "1700000000000000", "updated_at", "1700000000000000",
		"next_at", "", "tries", "1", "payload", `{"a":1}`)
	rdb.RPush(ctx, "cbs:{cb_old}:attempts", `{"n":0,"at":"2023-11-14T22:13:20Z","duration_ms":1,"manual":false,"outcome":"delivered","request":{"method":"POST","url":"http://m.example/","headers":{},"body":"{\"a\":1}"}}`)
	cb, err := s.Get(ctx, "cb_old")
	if err != nil {
		t.Fatal(err)
	}
	if string(cb.Payload) != `{"a":1}` || len(cb.Attempts) != 1 || cb.Attempts[0].N != 1 || cb.Attempts[0].Request.Body != `{"a":1}` {
		t.Errorf("old record read as payload %s, attempts %+v", cb.Payload, cb.Attempts)
	}
	loaded, err := s.Load(ctx, "cb_old")
	if err != nil || string(loaded.Payload) != `{"a":1}` {
		t.Errorf("Load = payload %s, %v", loaded.Payload, err)
	}
	if _, err := s.Load(ctx, "cb_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Load(missing) = %v, want ErrNotFound", err)
	}

	// An old-layout callback still pending: its first attempt creates the
	// list, which must get the record's expiry.
	nowUS := strconv.FormatInt(time.Now().UnixMicro(), 10) // expiry is creation + retention
	rdb.HSet(ctx, "cbs:{cb_oldp}", "provider", "qris", "merchant_id", "m", "status", "pending",
		"method", "POST", "url", "http://m.example/", "created_at", nowUS, "updated_at", nowUS,
		"next_at", "", "tries", "0", "payload", `{"b":2}`)
	pending, err := s.Load(ctx, "cb_oldp")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Record(ctx, pending, store.Attempt{Outcome: store.OutcomeDelivered}, store.StatusDelivered, nil); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.TTL(ctx, "cbs:{cb_oldp}:attempts").Val(); ttl <= 0 {
		t.Errorf("old layout's new attempts list: TTL %s, want one", ttl)
	}
	if got, err := s.Get(ctx, "cb_oldp"); err != nil || string(got.Payload) != `{"b":2}` || len(got.Attempts) != 1 {
		t.Errorf("old layout after an attempt: %+v, %v", got, err)
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
		if err := s.Record(ctx, cb, store.Attempt{Outcome: store.OutcomeRetry}, store.StatusRetrying, &next); err != nil {
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
