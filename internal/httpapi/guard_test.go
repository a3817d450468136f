package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLoopbackHosts(t *testing.T) {
	h := LoopbackHosts("127.0.0.1:8080", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for host, want := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "LOCALHOST.:9000": 200, "shop.localhost:8080": 200,
		"[::1]:8080": 200, "127.9.9.9": 200, "": 200,
		"evil.example:8080": 403, "evil.example": 403, "localhost.evil.example:8080": 403,
		"192.168.1.2:8080": 403, "[::2]:8080": 403,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
	named := LoopbackHosts("callbacksim.test:8080", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "callbacksim.test:8080"
	w := httptest.NewRecorder()
	named.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("the configured name: %d, want 200", w.Code)
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		"application/merge-patch+json": true, "": false, "text/plain": false,
		"application/x-www-form-urlencoded": false, "multipart/form-data; boundary=x": false, "text/json+x": false,
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Content-Type", ct)
		if got := IsJSON(r); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}
