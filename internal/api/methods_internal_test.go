package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestDisallowed(t *testing.T) {
	mux := http.NewServeMux()
	for _, p := range []string{"GET /items/{id}", "POST /items/new", "GET /a/{x}", "POST /{y}/b", "/any", "DELETE /items/{id}"} {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	tests := []struct {
		method, path string
		want         []string
	}{
		{"GET", "/items/7", nil},
		{"PUT", "/items/7", []string{"DELETE", "GET", "HEAD"}},
		{"GET", "/items/new", []string{"POST"}},
		{"POST", "/items/new", nil},
		{"PATCH", "/any", nil},   // a pattern without a method takes them all
		{"GET", "/nowhere", nil}, // a 404, not a 405
		{"GET", "/a/b", nil},     // paths that conflict without their methods: no ranking, no panic
		{"FOO", "/items/7", []string{"DELETE", "GET", "HEAD"}},
	}
	p := &pathRanker{}
	for _, tt := range tests {
		got := p.disallowed(mux, httptest.NewRequest(tt.method, tt.path, nil))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s %s: disallowed = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}
