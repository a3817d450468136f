package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/payloads"
)

// Store reads and writes callbacks and payments in Redis. Its zero value is
// not usable: call New.
type Store struct {
	rdb       redis.UniversalClient
	batch     *batcher // the hot paths' round trips, shared between callers
	retention time.Duration
	now       func() time.Time
}

// New returns a Store on rdb whose records expire retention after they were
// created.
func New(rdb redis.UniversalClient, retention time.Duration) *Store {
	return &Store{rdb: rdb, batch: &batcher{rdb: rdb}, retention: retention, now: time.Now}
}

// A callback is two keys. The record, a hash of short fields, which Redis
// keeps in its compact listpack encoding as long as no value is longer than
// 64 bytes (the payload would break that, so it is not in the hash); and a
// list whose first element is the payload and whose others are the
// attempts, oldest first.
func recordKey(id string) string   { return "cbs:{" + id + "}" }
func attemptsKey(id string) string { return "cbs:{" + id + "}:attempts" }

// The listing index is a sorted set of callback ids per provider and
// status, scored by creation time. A listing reads the union of the sets
// its filter spans: one set for a provider and a status, one per status
// for a provider, one per provider for a status, all of them unfiltered.
// Each callback thus has one index entry.

// indexKey names the set of the callbacks of provider in status.
func indexKey(provider string, status Status) string {
	return "cbs:{idx}:ps:" + provider + ":" + string(status)
}

// filterKeys names the sets whose union holds the callbacks of provider in
// status, either of which may be empty (any).
func filterKeys(provider string, status Status) []string {
	providers, statuses := config.ProviderNames, Statuses
	if provider != "" {
		providers = []string{provider}
	}
	if status != "" {
		statuses = []Status{status}
	}
	keys := make([]string, 0, len(providers)*len(statuses))
	for _, p := range providers {
		for _, st := range statuses {
			keys = append(keys, indexKey(p, st))
		}
	}
	return keys
}

func unavailable(op string, err error) error {
	return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
}

func score(t time.Time) float64 { return float64(t.UnixMicro()) }

func formatTime(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// formatDue is formatTime rounded up: an attempt waits for the stored time,
// so rounding down would let it start up to a microsecond before its due
// time.
func formatDue(t time.Time) string { return formatTime(t.Add(time.Microsecond - 1)) }

func parseTime(s string) time.Time {
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil || s == "" {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// expireAt is when a record created at created stops being kept.
func (s *Store) expireAt(created time.Time) time.Time { return created.Add(s.retention) }

// Create stores a new callback in status pending. CreatedAt and UpdatedAt
// default to now.
func (s *Store) Create(ctx context.Context, cb *Callback) error {
	if cb.CreatedAt.IsZero() {
		cb.CreatedAt = s.now().UTC()
	}
	cb.UpdatedAt = cb.CreatedAt
	cb.Status = StatusPending
	next := ""
	if cb.NextAttemptAt != nil {
		next = formatDue(*cb.NextAttemptAt)
	}
	key, log := recordKey(cb.ID), attemptsKey(cb.ID)
	_, err := s.batch.pipelined(ctx, func(p redis.Pipeliner) {
		p.HSet(ctx, key, recordFields(cb, next)...)
		p.PExpireAt(ctx, key, s.expireAt(cb.CreatedAt))
		p.RPush(ctx, log, []byte(cb.Payload))
		p.PExpireAt(ctx, log, s.expireAt(cb.CreatedAt))
		p.ZAdd(ctx, indexKey(cb.Provider, cb.Status), redis.Z{Score: score(cb.CreatedAt), Member: cb.ID})
	})
	if err != nil {
		return unavailable("create", err)
	}
	return nil
}

// recordFields are the fields of a new callback's record, in HSET order.
// A check's fields are written only when set: most callbacks have none,
// and every field costs memory in each record.
func recordFields(cb *Callback, next string) []any {
	f := []any{
		"provider", cb.Provider, "merchant_id", cb.MerchantID,
		"reference", cb.Reference, "event", cb.Event, "status", string(cb.Status),
		"method", cb.Method, "url", cb.URL, "created_at", formatTime(cb.CreatedAt),
		"updated_at", formatTime(cb.UpdatedAt), "next_at", next, "tries", 0,
	}
	if cb.TransactionID != "" {
		f = append(f, "txn", cb.TransactionID)
	}
	if cb.CheckID != "" {
		f = append(f, "check_id", cb.CheckID)
	}
	if !cb.Variant.IsZero() {
		f = append(f, "variant", cb.Variant.String())
	}
	if cb.NoRetry {
		f = append(f, "no_retry", "1")
	}
	return f
}

// Load returns a callback without its attempts.
func (s *Store) Load(ctx context.Context, id string) (*Callback, error) {
	var (
		rec  *redis.MapStringStringCmd
		head *redis.StringCmd
	)
	_, err := s.batch.pipelined(ctx, func(p redis.Pipeliner) {
		rec = p.HGetAll(ctx, recordKey(id))
		head = p.LIndex(ctx, attemptsKey(id), 0)
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, unavailable("load", err)
	}
	cb, err := decode(id, rec.Val())
	if err != nil {
		return nil, err
	}
	cb.Payload = json.RawMessage(head.Val())
	return cb, nil
}

// Get returns a callback with its attempts.
func (s *Store) Get(ctx context.Context, id string) (*Callback, error) {
	var (
		rec  *redis.MapStringStringCmd
		atts *redis.StringSliceCmd
	)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		rec = p.HGetAll(ctx, recordKey(id))
		atts = p.LRange(ctx, attemptsKey(id), 0, -1)
		return nil
	})
	if err != nil {
		return nil, unavailable("get", err)
	}
	cb, err := decode(id, rec.Val())
	if err != nil {
		return nil, err
	}
	log := atts.Val()
	if len(log) > 0 {
		cb.Payload, log = json.RawMessage(log[0]), log[1:]
	}
	cb.Attempts = make([]Attempt, 0, len(log))
	for i, raw := range log {
		var j attemptJSON
		if err := json.Unmarshal([]byte(raw), &j); err != nil {
			return nil, fmt.Errorf("store: attempt %d of %s: %w", i+1, id, err)
		}
		if j.BodyIsPayload {
			j.Request.Body = string(cb.Payload)
		}
		a := j.attempt()
		a.N = i + 1
		cb.Attempts = append(cb.Attempts, a)
	}
	return cb, nil
}

// encodeAttempt is the stored form of attempt a of callback cb. Its request
// body is left out when it is the callback's payload byte for byte (every
// QRIS attempt: a third of the attempt, and of the Redis memory of a
// delivered callback), and put back when read.
func encodeAttempt(cb *Callback, a Attempt) ([]byte, error) {
	j := a.toJSON()
	if len(cb.Payload) > 0 && a.Request.Body == string(cb.Payload) {
		j.Request.Body, j.BodyIsPayload = "", true
	}
	return json.Marshal(j)
}

func decode(id string, m map[string]string) (*Callback, error) {
	if len(m) == 0 || m["status"] == "" {
		return nil, fmt.Errorf("store: callback %s: %w", id, ErrNotFound)
	}
	cb := &Callback{
		ID: id, Provider: m["provider"], MerchantID: m["merchant_id"],
		Reference: m["reference"], TransactionID: m["txn"], Event: m["event"], Status: Status(m["status"]),
		Method: m["method"], URL: m["url"],
		CreatedAt: parseTime(m["created_at"]), UpdatedAt: parseTime(m["updated_at"]),
	}
	variant, err := payloads.ParseVariant(m["variant"])
	if err != nil {
		return nil, fmt.Errorf("store: callback %s: %w", id, err)
	}
	cb.CheckID, cb.Variant, cb.NoRetry = m["check_id"], variant, m["no_retry"] == "1"
	cb.Tries, _ = strconv.Atoi(m["tries"])
	if next := parseTime(m["next_at"]); !next.IsZero() {
		cb.NextAttemptAt = &next
	}
	return cb, nil
}

// recordScript appends an attempt and moves the callback from the status the
// caller saw (ARGV[2]) to the new one (ARGV[3]). When the status changed in
// between (a concurrent manual resend), the attempt is still appended but the
// status is left alone, and the script answers 0.
//
// KEYS: record, attempts. ARGV: attempt JSON, expected status, new status,
// next attempt ("" = none, "-" = leave), updated_at, counts a try ("1").
// The attempts list got its expiry with the payload at creation.
var recordScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return -1 end
if ARGV[6] == '1' then redis.call('HINCRBY', KEYS[1], 'tries', 1) end
redis.call('RPUSH', KEYS[2], ARGV[1])
if cur ~= ARGV[2] then
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[5])
  return 0
end
if ARGV[4] ~= '-' then
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[5], 'status', ARGV[3], 'next_at', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[5], 'status', ARGV[3])
end
return 1
`)

// Record appends u's attempt to callback cb and applies u's change of
// status and schedule, as told. cb is the record as the caller loaded it;
// on success its Status, NextAttemptAt, UpdatedAt and Tries are updated.
// Record writes the record, the attempt and the index in one round trip.
func (s *Store) Record(ctx context.Context, cb *Callback, u Update) error {
	raw, err := encodeAttempt(cb, u.Attempt)
	if err != nil {
		return fmt.Errorf("store: encode attempt: %w", err)
	}
	now := s.now().UTC()
	nextArg := "-"
	switch {
	case u.KeepNext:
	case u.Next != nil:
		nextArg = formatDue(*u.Next)
	default:
		nextArg = ""
	}
	counts := "0"
	if u.CountsTry {
		counts = "1"
	}
	var res *redis.Cmd
	_, err = s.pipelinedScripts(ctx, recordScript, func(p redis.Pipeliner) {
		res = recordScript.EvalSha(ctx, p, []string{recordKey(cb.ID), attemptsKey(cb.ID)},
			raw, string(u.From), string(u.To), nextArg, formatTime(now), counts)
		if u.From != u.To {
			s.moveIndex(ctx, p, cb, u.From, u.To)
		}
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return unavailable("record", err)
	}
	switch code, _ := res.Int(); code {
	case -1:
		return fmt.Errorf("store: callback %s: %w", cb.ID, ErrNotFound)
	case 0:
		return s.reindex(ctx, cb.ID)
	}
	cb.Status, cb.UpdatedAt = u.To, now
	if !u.KeepNext {
		cb.NextAttemptAt = u.Next
	}
	if u.CountsTry {
		cb.Tries++
	}
	return nil
}

func (s *Store) moveIndex(ctx context.Context, p redis.Pipeliner, cb *Callback, from, to Status) {
	p.ZRem(ctx, indexKey(cb.Provider, from), cb.ID)
	p.ZAdd(ctx, indexKey(cb.Provider, to), redis.Z{Score: score(cb.CreatedAt), Member: cb.ID})
}

// reindex puts callback id in the status indexes of the status it has now.
func (s *Store) reindex(ctx context.Context, id string) error {
	cb, err := s.Load(ctx, id)
	if err != nil {
		return err
	}
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, st := range Statuses {
			if st != cb.Status {
				p.ZRem(ctx, indexKey(cb.Provider, st), id)
			}
		}
		p.ZAdd(ctx, indexKey(cb.Provider, cb.Status), redis.Z{Score: score(cb.CreatedAt), Member: id})
		return nil
	})
	if err != nil {
		return unavailable("reindex", err)
	}
	return nil
}

// ScheduleNow moves the next automatic attempt of a callback (a retry, or a
// held first attempt) to now, for "retry now". It answers false when no
// attempt is scheduled.
func (s *Store) ScheduleNow(ctx context.Context, id string) (bool, error) {
	n, err := scheduleNowScript.Run(ctx, s.rdb, []string{recordKey(id)}, formatTime(s.now())).Int()
	if err != nil {
		return false, unavailable("schedule", err)
	}
	return n == 1, nil
}

var scheduleNowScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'status')
local nx = redis.call('HGET', KEYS[1], 'next_at')
if (st ~= 'retrying' and st ~= 'pending') or not nx or nx == '' then return 0 end
redis.call('HSET', KEYS[1], 'next_at', ARGV[1])
return 1
`)

// Trim drops index entries older than the retention, whose records Redis
// has expired.
func (s *Store) Trim(ctx context.Context) error {
	limit := strconv.FormatFloat(score(s.now().Add(-s.retention)), 'f', 0, 64)
	keys := filterKeys("", "")
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.ZRemRangeByScore(ctx, k, "-inf", "("+limit)
		}
		return nil
	})
	if err != nil {
		return unavailable("trim", err)
	}
	return nil
}

// ErrBadCursor: a listing cursor that List did not make.
var ErrBadCursor = errors.New("store: invalid cursor")

type cursor struct {
	score float64
	id    string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatFloat(c.score, 'f', 0, 64) + ":" + c.id))
}

func parseCursor(s string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, ErrBadCursor
	}
	sc, id, ok := strings.Cut(string(raw), ":")
	f, err := strconv.ParseFloat(sc, 64)
	if !ok || err != nil || id == "" {
		return cursor{}, ErrBadCursor
	}
	return cursor{score: f, id: id}, nil
}

// searchBatch is how many index entries a search reads per round trip.
const searchBatch = 500

// List returns up to limit callbacks matching f, newest first, starting after
// the cursor a previous page returned ("" for the first page). A search
// reads the records of every callback the other fields select, newest
// first, until it has a page: it needs no index of its own, so costs no
// memory per callback.
func (s *Store) List(ctx context.Context, f Filter, limit int, after string) (Page, error) {
	max, min := "+inf", "-inf"
	var cur *cursor
	if after != "" {
		c, err := parseCursor(after)
		if err != nil {
			return Page{}, err
		}
		cur = &c
		max = strconv.FormatFloat(c.score, 'f', 0, 64)
	}
	if !f.Until.IsZero() {
		until := strconv.FormatFloat(score(f.Until), 'f', 0, 64)
		if cur == nil || score(f.Until) <= cur.score {
			max = "(" + until
		}
	}
	if !f.Since.IsZero() {
		min = strconv.FormatFloat(score(f.Since), 'f', 0, 64)
	}
	index := newRanger(s.rdb, filterKeys(f.Provider, f.Status), max, min)
	var out []Callback
	var last cursor
	batch := int64(limit + 1)
	if f.Search != "" {
		batch = searchBatch // most entries will not match: read many at a time
	}
	for len(out) <= limit {
		zs, err := index.next(ctx, batch)
		if err != nil {
			return Page{}, err
		}
		ids := make([]string, 0, len(zs))
		for _, z := range zs {
			id, _ := z.Member.(string)
			if cur != nil && z.Score == cur.score && id >= cur.id {
				continue // at or before the cursor
			}
			ids = append(ids, id)
		}
		cbs, err := s.loadMany(ctx, ids)
		if err != nil {
			return Page{}, err
		}
		for _, cb := range cbs {
			if !f.Matches(cb) {
				continue // not searched for, or the index is a step behind a concurrent change
			}
			if len(out) == limit {
				return Page{Callbacks: out, NextCursor: last.String()}, nil
			}
			out = append(out, *cb)
			last = cursor{score: score(cb.CreatedAt), id: cb.ID}
		}
		if int64(len(zs)) < batch {
			break
		}
	}
	return Page{Callbacks: out}, nil
}

// loadMany loads the records of ids in one round trip, in order, skipping
// those that expired.
func (s *Store) loadMany(ctx context.Context, ids []string) ([]*Callback, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, recordKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, unavailable("list", err)
	}
	out := make([]*Callback, 0, len(ids))
	for i, c := range cmds {
		if cb, err := decode(ids[i], c.Val()); err == nil {
			out = append(out, cb)
		}
	}
	return out, nil
}
