package centili

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/internal/httpapi"
	"github.com/callbacksim/callbacksim/internal/store"
)

// Subscription states.
const (
	SubscriptionActive = "active" // opted in; takes recurring_billing and opt_out
	SubscriptionFailed = "failed" // its opt_in did not succeed
	SubscriptionEnded  = "ended"  // opted out
	subscriptionVoid   = "void"   // its opt_in could not be queued: the id can be used again
)

// Subscription is a simulated subscription, as stored: what every event of
// it shares.
type Subscription struct {
	ID              string    `json:"subscriptionid"`
	State           string    `json:"state"`
	Phone           string    `json:"phone"`
	UserID          string    `json:"userid"`
	Country         string    `json:"country"`
	MNO             string    `json:"mno,omitempty"`
	MNOCode         string    `json:"mnocode"`
	Interval        string    `json:"interval"`
	OptInChannel    string    `json:"opt_in_channel"`
	Reference       string    `json:"reference,omitempty"`
	ClientID        string    `json:"clientid,omitempty"`
	Amount          string    `json:"amount"`
	EndUserPrice    string    `json:"enduserprice"`
	Revenue         string    `json:"revenue"`
	RevenueCurrency string    `json:"revenuecurrency"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	CallbackIDs     []string  `json:"callback_ids"`
}

func subscriptionKey(service, id string) string {
	return store.PaymentKey("centili", service, "sub", id)
}

// subscription loads a service's subscription.
func (g *Gateway) subscription(ctx context.Context, m config.Merchant, id string) (Subscription, error) {
	raw, err := g.store.GetPayment(ctx, subscriptionKey(m.Centili.Service, id))
	if errors.Is(err, store.ErrNotFound) {
		return Subscription{}, &httpapi.Error{Status: http.StatusNotFound, Field: "subscriptionid",
			Message: fmt.Sprintf("no subscription %q on this service: send its opt_in first", id)}
	}
	if err != nil {
		return Subscription{}, err
	}
	return decodeSubscription(raw)
}

func decodeSubscription(raw []byte) (Subscription, error) {
	var s Subscription
	if err := json.Unmarshal(raw, &s); err != nil {
		return Subscription{}, fmt.Errorf("centili: decode subscription: %w", err)
	}
	return s, nil
}

// inherit fills the request's empty fields from the subscription, and
// refuses a field that contradicts it. A field given in another letter
// case takes the subscription's spelling, so that every event of one
// subscription says the same; a subscription whose opt_in had no mno
// sends none. The revenue is inherited only by an event that charges.
func (req *simulateRequest) inherit(s Subscription) error {
	for _, f := range []struct {
		name string
		v    *string
		sub  string
	}{
		{"phone", (*string)(&req.Phone), s.Phone},
		{"userid", (*string)(&req.UserID), s.UserID},
		{"country", &req.Country, s.Country},
		{"mno", (*string)(&req.MNO), s.MNO},
		{"mnocode", &req.MNOCode, s.MNOCode},
		{"interval", &req.Interval, s.Interval},
		{"opt_in_channel", &req.OptInChannel, s.OptInChannel},
	} {
		got := *f.v
		if f.name == "phone" {
			got = strings.TrimPrefix(got, "+")
		}
		switch {
		case f.sub == "":
		case got == "" || strings.EqualFold(got, f.sub):
			*f.v = f.sub
		default:
			return httpapi.BadField(f.name, "is %q for subscription %s, got %q", f.sub, s.ID, got)
		}
	}
	if s.MNO == "" && req.MNO == "" {
		req.OmitMNO = true
	}
	if req.Reference == "" && req.ClientID == "" {
		req.Reference, req.ClientID = httpapi.Text(s.Reference), httpapi.Text(s.ClientID)
	}
	req.Amount = cmp.Or(req.Amount, httpapi.Text(s.Amount))
	req.EndUserPrice = cmp.Or(req.EndUserPrice, httpapi.Text(s.EndUserPrice))
	if req.charges() {
		req.Revenue = cmp.Or(req.Revenue, httpapi.Text(s.Revenue))
	}
	req.RevenueCurrency = cmp.Or(req.RevenueCurrency, s.RevenueCurrency)
	return nil
}

// subscribe records a subscription event whose notification is callback
// cbID, and returns how to take it back if the notification cannot be
// queued.
func (g *Gateway) subscribe(ctx context.Context, m config.Merchant, req *simulateRequest, p map[string]string, cbID string) (func(), error) {
	now := g.now().UTC().Truncate(time.Second)
	key := subscriptionKey(m.Centili.Service, p["subscriptionid"])
	if req.EventType == EventOptIn {
		return g.optIn(ctx, key, p, cbID, now)
	}
	var prev Subscription
	err := g.store.UpdatePayment(ctx, key, func(old []byte) ([]byte, error) {
		s, err := decodeSubscription(old)
		if err != nil {
			return nil, err
		}
		if s.State != SubscriptionActive {
			return nil, &httpapi.Error{Status: http.StatusConflict, Field: "subscriptionid", Message: fmt.Sprintf(
				"subscription %s is %s: it takes no %s (opt_in again with a new subscriptionid)", s.ID, s.State, req.EventType)}
		}
		prev = s
		prev.CallbackIDs = slices.Clone(s.CallbackIDs)
		if req.EventType == EventOptOut && req.Status == StatusSuccess {
			s.State = SubscriptionEnded
		}
		s.UpdatedAt = now
		s.CallbackIDs = append(s.CallbackIDs, cbID)
		return json.Marshal(s)
	})
	if err != nil {
		return nil, err
	}
	return func() { g.undo(key, cbID, func(Subscription) Subscription { return prev }) }, nil
}

// optIn creates the subscription of an opt_in. A subscriptionid already in
// use is refused, unless its opt_in never went out.
func (g *Gateway) optIn(ctx context.Context, key string, p map[string]string, cbID string, now time.Time) (func(), error) {
	s := Subscription{
		ID: p["subscriptionid"], State: SubscriptionFailed, Phone: p["phone"], UserID: p["userid"],
		Country: p["country"], MNO: p["mno"], MNOCode: p["mnocode"], Interval: p["interval"],
		OptInChannel: p["opt_in_channel"], Reference: p["reference"], ClientID: p["clientid"],
		Amount: p["amount"], EndUserPrice: p["enduserprice"], Revenue: p["revenue"],
		RevenueCurrency: p["revenuecurrency"], CreatedAt: now, UpdatedAt: now, CallbackIDs: []string{cbID},
	}
	if p["status"] == StatusSuccess {
		s.State = SubscriptionActive
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("centili: encode subscription: %w", err)
	}
	_, err = g.store.CreatePayment(ctx, key, raw)
	if errors.Is(err, store.ErrExists) {
		err = g.store.UpdatePayment(ctx, key, func(old []byte) ([]byte, error) {
			cur, err := decodeSubscription(old)
			if err != nil {
				return nil, err
			}
			if cur.State != subscriptionVoid {
				return nil, &httpapi.Error{Status: http.StatusConflict, Field: "subscriptionid", Message: fmt.Sprintf(
					"subscription %s already exists (%s): opt_in with a new subscriptionid, or leave it out", cur.ID, cur.State)}
			}
			return raw, nil
		})
	}
	if err != nil {
		return nil, err
	}
	return func() {
		g.undo(key, cbID, func(s Subscription) Subscription { s.State = subscriptionVoid; return s })
	}, nil
}

// undo rewrites a subscription whose last event is callback cbID, which
// could not be queued.
func (g *Gateway) undo(key, cbID string, back func(Subscription) Subscription) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = g.store.UpdatePayment(ctx, key, func(old []byte) ([]byte, error) {
		s, err := decodeSubscription(old)
		if err != nil || len(s.CallbackIDs) == 0 || s.CallbackIDs[len(s.CallbackIDs)-1] != cbID {
			return nil, errors.New("centili: nothing to undo")
		}
		return json.Marshal(back(s))
	})
}
