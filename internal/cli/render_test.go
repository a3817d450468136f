package cli

import "testing"

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"failed", "failed"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"$(rm -rf ~)", "'$(rm -rf ~)'"},
		{"a;b", "'a;b'"},
		{"é", "'é'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
