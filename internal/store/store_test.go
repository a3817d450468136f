package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/internal/redistest"
	"github.com/callbacksim/callbacksim/internal/store"
)

func newStore(t *testing.T, retention time.Duration) (*store.Store, *redistest.Server) {
	t.Helper()
	r := redistest.Start(t)
	return store.New(r.Client(), retention), r
}

func newCallback(t *testing.T, st *store.Store, provider string, created time.Time) *store.Callback {
	t.Helper()
	cb := &store.Callback{
		ID: store.NewID(), Provider: provider, MerchantID: "demo", Method: "POST",
		URL: "http://127.0.0.1/cb", CreatedAt: created, Payload: []byte(`{"a":1}`),
	}
	if err := st.Create(context.Background(), cb); err != nil {
		t.Fatal(err)
	}
	return cb
}

// retry is the update of an automatic attempt of cb that failed, with a
// retry at next.
func retry(cb *store.Callback, next time.Time) store.Update {
	return store.Update{Attempt: store.Attempt{Outcome: store.OutcomeRetry}, From: cb.Status, To: store.StatusRetrying,
		Next: &next, CountsTry: true}
}

// final is the update of an automatic attempt of cb that ended it.
func final(cb *store.Callback, outcome store.Outcome, to store.Status) store.Update {
	return store.Update{Attempt: store.Attempt{At: cb.CreatedAt, Outcome: outcome}, From: cb.Status, To: to, CountsTry: true}
}

func TestRecordAttempts(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t, time.Hour)
	cb := newCallback(t, st, "qris", time.Now())
	next := time.Now().Add(5 * time.Second).Truncate(time.Microsecond)

	if err := st.Record(ctx, cb, retry(cb, next)); err != nil {
		t.Fatal(err)
	}
	failedManual := store.Update{Attempt: store.Attempt{Kind: store.Manual, Outcome: store.OutcomeFailed},
		From: cb.Status, To: cb.Status, KeepNext: true}
	if err := st.Record(ctx, cb, failedManual); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(ctx, cb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusRetrying || got.Tries != 1 || len(got.Attempts) != 2 {
		t.Fatalf("after a retry and a failed manual attempt: status %s, tries %d, %d attempts; want retrying, 1, 2", got.Status, got.Tries, len(got.Attempts))
	}
	if got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(next) {
		t.Errorf("next_attempt_at = %v, want %v: a failed manual attempt leaves the schedule alone", got.NextAttemptAt, next)
	}
	if got.Attempts[0].N != 1 || got.Attempts[1].N != 2 || got.Attempts[1].Kind != store.Manual {
		t.Errorf("attempts = %+v", got.Attempts)
	}

	// A manual resend delivers it meanwhile: the automatic attempt that was
	// loaded before (status retrying) must not overwrite delivered.
	stale := *cb
	manual := store.Update{Attempt: store.Attempt{Kind: store.Manual, Outcome: store.OutcomeDelivered},
		From: cb.Status, To: store.StatusDelivered}
	if err := st.Record(ctx, cb, manual); err != nil {
		t.Fatal(err)
	}
	if err := st.Record(ctx, &stale, final(&stale, store.OutcomeFailed, store.StatusFailed)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Load(ctx, cb.ID); got.Tries != 2 {
		t.Errorf("tries = %d, want 2: the stale automatic attempt still counts", got.Tries)
	}
	got, _ = st.Get(ctx, cb.ID)
	if got.Status != store.StatusDelivered || len(got.Attempts) != 4 || got.NextAttemptAt != nil {
		t.Errorf("status %s with %d attempts, next %v; want delivered with 4 and none", got.Status, len(got.Attempts), got.NextAttemptAt)
	}
	for _, s := range []store.Status{store.StatusFailed, store.StatusRetrying} {
		page, err := st.List(ctx, store.Filter{Status: s}, 10, "")
		if err != nil || len(page.Callbacks) != 0 {
			t.Errorf("listing %s = %d callbacks (%v), want none: the index follows the record", s, len(page.Callbacks), err)
		}
	}
	page, _ := st.List(ctx, store.Filter{Status: store.StatusDelivered, Provider: "qris"}, 10, "")
	if len(page.Callbacks) != 1 {
		t.Errorf("listing delivered qris = %d callbacks, want 1", len(page.Callbacks))
	}
}

func TestListTimeRangeAndTies(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t, time.Hour)
	base := time.Now().Truncate(time.Second)
	var ids []string
	for i := range 6 {
		// pairs created in the same microsecond: the cursor must not lose one
		cb := newCallback(t, st, "centili", base.Add(time.Duration(i/2)*time.Second))
		ids = append(ids, cb.ID)
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		page, err := st.List(ctx, store.Filter{}, 1, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, cb := range page.Callbacks {
			if seen[cb.ID] {
				t.Errorf("%s listed twice", cb.ID)
			}
			seen[cb.ID] = true
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seen) != len(ids) {
		t.Errorf("paged through %d of %d callbacks", len(seen), len(ids))
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("%s was never listed", id)
		}
	}
	page, err := st.List(ctx, store.Filter{Since: base.Add(time.Second), Until: base.Add(2 * time.Second)}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Callbacks) != 2 {
		t.Errorf("since +1s until +2s = %d callbacks, want the 2 created at +1s", len(page.Callbacks))
	}
	if _, err := st.List(ctx, store.Filter{}, 1, "bogus"); !errors.Is(err, store.ErrBadCursor) {
		t.Errorf("List(bogus cursor) = %v, want ErrBadCursor", err)
	}
}

func TestRetentionExpiresRecords(t *testing.T) {
	ctx := context.Background()
	st, r := newStore(t, time.Second)
	cb := newCallback(t, st, "qris", time.Now())
	if err := st.Record(ctx, cb, final(cb, store.OutcomeDelivered, store.StatusDelivered)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreatePayment(ctx, "qris:demo:O-1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, cb.ID); err != nil {
		t.Fatalf("callback gone before its retention: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := st.Get(ctx, cb.ID)
		_, perr := st.GetPayment(ctx, "qris:demo:O-1")
		if errors.Is(err, store.ErrNotFound) && errors.Is(perr, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still there 5s after a 1s retention: callback %v, payment %v", err, perr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if early := time.Since(cb.CreatedAt); early < time.Second {
		t.Errorf("expired after %s, before the 1s retention", early)
	}
	if err := st.Trim(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.Client().DBSize(ctx).Val(); n != 0 {
		keys := r.Client().Keys(ctx, "*").Val()
		t.Errorf("%d keys left after expiry and trim: %v", n, keys)
	}
}

func TestScheduleNow(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t, time.Hour)
	cb := newCallback(t, st, "qris", time.Now())
	if ok, err := st.ScheduleNow(ctx, cb.ID); err != nil || ok {
		t.Errorf("ScheduleNow(pending, nothing scheduled) = %t, %v; want false", ok, err)
	}
	next := time.Now().Add(time.Hour)
	if err := st.Record(ctx, cb, retry(cb, next)); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.ScheduleNow(ctx, cb.ID); err != nil || !ok {
		t.Fatalf("ScheduleNow(retrying) = %t, %v; want true", ok, err)
	}
	got, _ := st.Load(ctx, cb.ID)
	if got.NextAttemptAt == nil || time.Until(*got.NextAttemptAt) > time.Second {
		t.Errorf("next_attempt_at = %v, want about now", got.NextAttemptAt)
	}
}
