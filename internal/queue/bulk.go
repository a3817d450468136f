package queue

import (
	"context"
	"sync"

	"github.com/hibiken/asynq"

	"github.com/callbacksim/callbacksim/internal/store"
)

// Bulk resend sizes.
const (
	// BulkPage is how many callbacks a bulk resend reads from the store at
	// a time.
	BulkPage = 500
	// BulkWindow is how many enqueues a bulk resend keeps in flight at once:
	// enough to pipeline them over the Redis connection pool, few enough to
	// leave connections to the API's other requests and to the workers.
	BulkWindow = 8
)

// ResendMany queues one manual attempt, now, of each callback of ids, which
// the caller knows to exist, keeping up to BulkWindow enqueues in flight. It
// returns how many were queued: all of them unless the error is non-nil.
func (q *Queue) ResendMany(ctx context.Context, ids []string) (int, error) {
	var (
		mu       sync.Mutex
		queued   int
		firstErr error
		wg       sync.WaitGroup
		slots    = make(chan struct{}, BulkWindow)
	)
	for _, id := range ids {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return queued, ctx.Err()
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			err := q.enqueue(ctx, Task{ID: id, Kind: store.Manual}, asynq.MaxRetry(0))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			queued++
		}()
	}
	wg.Wait()
	return queued, firstErr
}

// ResendIDs queues one manual attempt of each callback of ids that exists,
// BulkPage at a time, and returns how many were queued and the ids that
// exist no more (unknown, or older than the retention). Repeated ids are
// sent once.
func (q *Queue) ResendIDs(ctx context.Context, ids []string) (int, []string, error) {
	seen := make(map[string]bool, len(ids))
	unique := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	var (
		queued  int
		missing []string
	)
	for start := 0; start < len(unique); start += BulkPage {
		chunk := unique[start:min(start+BulkPage, len(unique))]
		exists, err := q.store.Exist(ctx, chunk)
		if err != nil {
			return queued, missing, err
		}
		found := make([]string, 0, len(chunk))
		for i, id := range chunk {
			if exists[i] {
				found = append(found, id)
			} else {
				missing = append(missing, id)
			}
		}
		n, err := q.ResendMany(ctx, found)
		queued += n
		if err != nil {
			return queued, missing, err
		}
	}
	return queued, missing, nil
}

// ResendMatching queues one manual attempt of every callback f selects,
// reading the store BulkPage callbacks at a time, and returns how many were
// queued. Callbacks created after the first page was read are left out:
// they are newer than the listing's start.
func (q *Queue) ResendMatching(ctx context.Context, f store.Filter) (int, error) {
	queued := 0
	cursor := ""
	for {
		page, err := q.store.List(ctx, f, BulkPage, cursor)
		if err != nil {
			return queued, err
		}
		ids := make([]string, len(page.Callbacks))
		for i, cb := range page.Callbacks {
			ids[i] = cb.ID
		}
		n, err := q.ResendMany(ctx, ids)
		queued += n
		if err != nil || page.NextCursor == "" {
			return queued, err
		}
		cursor = page.NextCursor
	}
}
