// Package logdedup collapses repeated identical log lines: a slog.Handler
// that writes the first warning or error of its kind at once, counts the
// identical ones that follow, and writes one line with that count per
// interval while they keep coming. During a Redis outage asynq repeats the
// same error about 30 times a second; with an interval of 10 s, a worker
// writes it once, then once every 10 s with "repeated".
package logdedup

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultInterval is how long identical lines are collapsed into one.
const DefaultInterval = 10 * time.Second

// RepeatedKey is the attribute of a line that stands for identical lines
// left out: their number, since the previous line of the kind. The line is
// the last of them.
const RepeatedKey = "repeated"

// Handler is a slog.Handler that collapses identical records at
// slog.LevelWarn and above (same level, message and attributes) written
// within Interval of the first one. Below that level, records pass
// through. The zero value is not usable: call New.
type Handler struct {
	inner  slog.Handler
	prefix string // the attributes and groups added by WithAttrs and WithGroup, in the key
	state  *state
}

var _ slog.Handler = (*Handler)(nil)

// state is shared by a Handler and those derived from it.
type state struct {
	interval time.Duration
	mu       sync.Mutex
	kinds    map[string]*kind
}

// kind is a line being collapsed: the records left out since it was last
// written.
type kind struct {
	inner slog.Handler
	last  slog.Record
	left  int
}

// New returns a Handler that writes to inner and collapses identical lines
// within interval; an interval <= 0 collapses nothing.
func New(inner slog.Handler, interval time.Duration) *Handler {
	return &Handler{inner: inner, state: &state{interval: interval, kinds: map[string]*kind{}}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle implements slog.Handler: it writes r, or counts it when an
// identical record was written less than the interval ago.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn || h.state.interval <= 0 {
		return h.inner.Handle(ctx, r)
	}
	key := h.key(r)
	s := h.state
	s.mu.Lock()
	if k, ok := s.kinds[key]; ok {
		k.left++
		k.last = r.Clone()
		s.mu.Unlock()
		return nil
	}
	k := &kind{inner: h.inner}
	s.kinds[key] = k
	s.mu.Unlock()
	time.AfterFunc(s.interval, func() { s.flush(key, k) })
	return h.inner.Handle(ctx, r)
}

// flush ends an interval of kind k: it writes the last record left out,
// with their number, and starts another interval; or, when none was left
// out, forgets k, so that its next record is written at once.
func (s *state) flush(key string, k *kind) {
	s.mu.Lock()
	if k.left == 0 {
		delete(s.kinds, key)
		s.mu.Unlock()
		return
	}
	r, n := k.last, k.left
	k.left = 0
	s.mu.Unlock()
	r.AddAttrs(slog.Int(RepeatedKey, n))
	_ = k.inner.Handle(context.Background(), r)
	time.AfterFunc(s.interval, func() { s.flush(key, k) })
}

// key is what makes two records identical: the handler's own attributes,
// the level, the message and the record's attributes.
func (h *Handler) key(r slog.Record) string {
	var b strings.Builder
	b.WriteString(h.prefix)
	b.WriteString(r.Level.String())
	b.WriteByte(0)
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteByte(0)
		b.WriteString(a.String())
		return true
	})
	return b.String()
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		b.WriteString(a.String())
		b.WriteByte(0)
	}
	return &Handler{inner: h.inner.WithAttrs(attrs), prefix: b.String(), state: h.state}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), prefix: h.prefix + name + ".\x00", state: h.state}
}
