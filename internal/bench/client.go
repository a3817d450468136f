package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callbacksim/callbacksim/internal/store"
)

// simClient calls a simulator's QRIS and operator APIs as the benchmark's
// clients do.
type simClient struct {
	base  string // http://host:port
	token string // the QRIS merchant's bearer token
	admin string // the admin token
	conns *connPool
}

func newSimClient(addr, token, admin string) *simClient {
	return &simClient{base: "http://" + addr, token: token, admin: admin, conns: &connPool{addr: addr}}
}

// newHTTPClient is the ceiling's client to the merchant.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// initiateBody is a QRIS initiate request with every optional field set, so
// that callbacks are the size real ones are.
func initiateBody(orderID, callbackURL string) map[string]any {
	return map[string]any{
		"amount": 150000, "order_id": orderID, "callback_url": callbackURL,
		"customer_name": "John Doe", "customer_email": "john.doe@example.com",
		"customer_phone": "+6281234567890", "description": "Order " + orderID,
	}
}

func (c *simClient) initiate(ctx context.Context, orderID, callbackURL string) error {
	status, body, err := c.post(ctx, "/api/qris/initiate", c.token, initiateBody(orderID, callbackURL))
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("bench: initiate %s: %d %s", orderID, status, body)
	}
	return nil
}

// simulate completes a payment and returns its callback id.
func (c *simClient) simulate(ctx context.Context, orderID string) (string, error) {
	status, body, err := c.post(ctx, "/api/qris/simulate", c.token, map[string]string{"order_id": orderID, "status": "SUCCESS"})
	if err != nil {
		return "", err
	}
	if status != http.StatusAccepted {
		return "", fmt.Errorf("bench: simulate %s: %d %s", orderID, status, body)
	}
	var ans struct {
		CallbackID string `json:"callback_id"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.CallbackID == "" {
		return "", fmt.Errorf("bench: simulate %s: answer %s", orderID, body)
	}
	return ans.CallbackID, nil
}

// callback reads a callback with its attempts from the operator API.
func (c *simClient) callback(ctx context.Context, id string) (store.Callback, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/callbacks/"+id, nil)
	if err != nil {
		return store.Callback{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.admin)
	status, body, err := c.do(req)
	if err != nil {
		return store.Callback{}, err
	}
	if status != http.StatusOK {
		return store.Callback{}, fmt.Errorf("bench: callback %s: %d %s", id, status, body)
	}
	var cb store.Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return store.Callback{}, fmt.Errorf("bench: callback %s: %w", id, err)
	}
	return cb, nil
}

func (c *simClient) post(ctx context.Context, path, token string, v any) (int, []byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return c.do(req)
}

func (c *simClient) do(req *http.Request) (int, []byte, error) { return c.conns.do(req) }

// parallel runs f(0) .. f(n-1) on workers goroutines, and returns the first
// error; after an error, no new call starts.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// paced runs f(0) .. f(n-1), the i-th started at start + i/rate whatever the
// earlier ones take (an open loop, as independent customers would), and
// waits for them all. It returns the first error.
func paced(ctx context.Context, n int, rate float64, f func(ctx context.Context, i int) error) error {
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				wg.Wait()
				return ctx.Err()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx, i); err != nil {
				errOnce.Do(func() { firstErr = err })
			}
		}()
	}
	wg.Wait()
	return firstErr
}
