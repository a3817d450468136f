package cinetpay

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"100", 100, ""},
		{" 2500 ", 2500, ""},
		{"100.0", 100, ""},
		{"1e3", 1000, ""},
		{"5", 5, ""},
		{"102", 0, "multiple of 5"},
		{"0", 0, "positive"},
		{"-5", 0, "positive"},
		{"100.5", 0, "integer"},
		{"cent", 0, "integer"},
		{"", 0, "integer"},
		{"1e300", 0, "integer"},
	}
	for _, tt := range tests {
		got, err := parseAmount(tt.in)
		var ae *apiError
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("parseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		case tt.wantErr != "" && (!errors.As(err, &ae) || ae.code != CodeMinimumRequired || !strings.Contains(ae.description, tt.wantErr)):
			t.Errorf("parseAmount(%q) error = %v, want 608 mentioning %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestFundDateAndResponseID(t *testing.T) {
	at := time.Date(2022, 9, 15, 22, 57, 15, 767_700_000, time.UTC)
	if got := fundDate(at); got != "2022-09-17 00:00:00" {
		t.Errorf("fundDate = %q, want 2022-09-17 00:00:00 (PROVIDERS.md's example)", got)
	}
	if got := fundDate(time.Date(2024, 12, 30, 23, 0, 0, 0, time.UTC)); got != "2025-01-01 00:00:00" {
		t.Errorf("fundDate across a year = %q", got)
	}
	if got := responseID(at); got != "1663282635.7677" {
		t.Errorf("responseID = %q, want 1663282635.7677", got)
	}
}
