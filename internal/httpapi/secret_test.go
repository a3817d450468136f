package httpapi

import "testing"

func TestLookupSecret(t *testing.T) {
	bySecret := map[string]string{"tok-a": "merchant-a", "tok-b": "merchant-b"}
	tests := []struct {
		secret string
		want   string
		ok     bool
	}{
		{"tok-a", "merchant-a", true},
		{"tok-b", "merchant-b", true},
		{"tok-", "", false},   // a prefix is not the secret
		{"tok-ab", "", false}, // nor is a longer string
		{"", "", false},       // an empty secret never matches
	}
	for _, tt := range tests {
		got, ok := LookupSecret(bySecret, tt.secret)
		if got != tt.want || ok != tt.ok {
			t.Errorf("LookupSecret(%q) = %q, %t; want %q, %t", tt.secret, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := LookupSecret(map[string]string{"": "x"}, ""); ok {
		t.Error("an empty configured secret matched an empty presented one")
	}
}
