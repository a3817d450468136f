package cli

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/callbacksim/callbacksim/internal/store"
)

// sanitize makes untrusted text (a merchant's answer, its headers) safe to
// print on a terminal: control characters, escape sequences included, are
// shown as \x.. instead of being sent to the terminal. Newlines and tabs
// are kept.
func sanitize(s string) string {
	if !strings.ContainsFunc(s, isUnsafe) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == unicode.ReplacementChar:
			b.WriteString(`\ufffd`)
		case isUnsafe(r):
			b.WriteString(strconv.QuoteRune(r)[1 : len(strconv.QuoteRune(r))-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isUnsafe(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.Is(unicode.Bidi_Control, r)
}

// oneLine is sanitize for a table cell: newlines and tabs become spaces too.
func oneLine(s string) string {
	return strings.Join(strings.Fields(sanitize(s)), " ")
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("15:04:05.000")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func nextAttempt(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := t.Sub(now).Round(100 * time.Millisecond)
	if d <= 0 {
		return clock(*t) + " (due)"
	}
	return fmt.Sprintf("%s (in %s)", clock(*t), d)
}

// answer is what an attempt got back: the status code, or the error.
func answer(a store.Attempt) string {
	switch {
	case a.Response != nil && a.Error == "":
		return strconv.Itoa(a.Response.Status)
	case a.Response != nil:
		return fmt.Sprintf("%d, %s", a.Response.Status, oneLine(a.Error))
	case a.Error != "":
		return oneLine(a.Error)
	}
	return "-"
}

func kind(a store.Attempt) string {
	switch a.Kind {
	case store.Automatic:
		return "auto"
	case store.Manual:
		return "manual"
	case store.Duplicate:
		return "duplicate"
	}
	return a.Kind.String()
}

// writeAttemptLine prints one attempt on one line, and its hint below it.
func writeAttemptLine(w io.Writer, a store.Attempt) {
	fmt.Fprintf(w, "  #%d  %s  %-9s  %-9s  %s  (%.1f ms)\n", a.N, clock(a.At), kind(a), a.Outcome, truncate(answer(a), 120), a.DurationMS)
	if a.Ping != nil {
		ping := "-"
		switch {
		case a.Ping.Response != nil:
			ping = strconv.Itoa(a.Ping.Response.Status)
		case a.Ping.Error != "":
			ping = oneLine(a.Ping.Error)
		}
		fmt.Fprintf(w, "      ping: %s %s -> %s\n", a.Ping.Request.Method, sanitize(a.Ping.Request.URL), truncate(ping, 120))
	}
	if a.Hint != "" {
		fmt.Fprintf(w, "      hint: %s\n", oneLine(a.Hint))
	}
}

// writeCallbacks prints a listing as a table.
func writeCallbacks(w io.Writer, cbs []store.Callback, now time.Time) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "ID\tPROVIDER\tREFERENCE\tEVENT\tSTATUS\tCREATED\tNEXT ATTEMPT\tURL")
	for _, cb := range cbs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s %s\n", cb.ID, cb.Provider, truncate(oneLine(cb.Reference), 32),
			oneLine(cb.Event), cb.Status, stamp(cb.CreatedAt), nextAttempt(cb.NextAttemptAt, now), cb.Method, truncate(oneLine(cb.URL), 60))
	}
	return tw.Flush()
}

// writeCallback prints a callback and its attempts; verbose adds every
// request and answer in full.
func writeCallback(w io.Writer, cb store.Callback, verbose bool, now time.Time) error {
	tw := newTable(w)
	for _, row := range [][2]string{
		{"callback", cb.ID},
		{"provider", cb.Provider + " (merchant " + oneLine(cb.MerchantID) + ")"},
		{"reference", oneLine(cb.Reference)},
		{"transaction", oneLine(cb.TransactionID)},
		{"event", oneLine(cb.Event)},
		{"status", string(cb.Status)},
		{"target", cb.Method + " " + oneLine(cb.URL)},
		{"created", stamp(cb.CreatedAt)},
		{"updated", stamp(cb.UpdatedAt)},
		{"next attempt", nextAttempt(cb.NextAttemptAt, now)},
		{"attempts", strconv.Itoa(len(cb.Attempts))},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(cb.Attempts) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	for _, a := range cb.Attempts {
		writeAttemptLine(w, a)
		if verbose {
			writeExchangeDetail(w, a)
		}
	}
	return nil
}

func writeExchangeDetail(w io.Writer, a store.Attempt) {
	if a.Ping != nil {
		fmt.Fprintf(w, "      > %s %s (ping)\n", a.Ping.Request.Method, sanitize(a.Ping.Request.URL))
		writeHeaders(w, "      > ", a.Ping.Request.Headers)
		if a.Ping.Response != nil {
			fmt.Fprintf(w, "      < %d\n", a.Ping.Response.Status)
			writeHeaders(w, "      < ", a.Ping.Response.Headers)
			writeBody(w, "      < ", a.Ping.Response.Body)
		}
	}
	fmt.Fprintf(w, "      > %s %s\n", a.Request.Method, sanitize(a.Request.URL))
	writeHeaders(w, "      > ", a.Request.Headers)
	writeBody(w, "      > ", a.Request.Body)
	if a.Response != nil {
		fmt.Fprintf(w, "      < %d\n", a.Response.Status)
		writeHeaders(w, "      < ", a.Response.Headers)
		if a.Response.HeadersTruncated {
			fmt.Fprintf(w, "      < (headers truncated)\n")
		}
		writeBody(w, "      < ", a.Response.Body)
		if a.Response.Truncated {
			fmt.Fprintf(w, "      < (body truncated)\n")
		}
	}
	fmt.Fprintln(w)
}

func writeHeaders(w io.Writer, prefix string, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s%s: %s\n", prefix, oneLine(k), oneLine(v))
		}
	}
}

func writeBody(w io.Writer, prefix, body string) {
	if body == "" {
		return
	}
	fmt.Fprintf(w, "%s\n", strings.TrimRight(prefix, " "))
	for line := range strings.SplitSeq(sanitize(strings.TrimRight(body, "\r\n")), "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
