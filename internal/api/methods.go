package api

import (
	"net/http"
	"slices"
	"strings"
	"sync"
)

// probeMethods are the methods a path is tried with to find every method
// it takes (plus the request's own, whatever it is).
var probeMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// disallowed returns the methods the resource at r's path takes when r's
// method is not one of them, and nil when r may be served (or no route
// has its path: a 404).
//
// The resource is the most specific path pattern, whatever its method,
// that matches the path, as the ServeMux ranks them: on
// GET /v1/callbacks/resend that is POST's /v1/callbacks/resend rather
// than GET's /v1/callbacks/{id}, so the answer is 405 with Allow: POST,
// not a 404 for a callback named "resend". The ServeMux itself decides
// everything; only the ranking of paths under different methods is added.
func (p *pathRanker) disallowed(mux *http.ServeMux, r *http.Request) []string {
	if _, own := mux.Handler(r); own != "" && !strings.Contains(strings.ReplaceAll(own, "{$}", ""), "{") {
		return nil // a literal path: nothing is more specific
	}
	byPath := map[string][]string{}
	for _, m := range append(probeMethods, r.Method) {
		probe := *r
		probe.Method = m
		if _, pattern := mux.Handler(&probe); pattern != "" {
			path := pattern[strings.IndexByte(pattern, ' ')+1:] // "GET /x" and "/x" alike
			if !slices.Contains(byPath[path], m) {
				byPath[path] = append(byPath[path], m)
			}
		}
	}
	if len(byPath) == 0 {
		return nil
	}
	allow := byPath[p.mostSpecific(byPath, r)]
	if slices.Contains(allow, r.Method) {
		return nil
	}
	slices.Sort(allow)
	return allow
}

// pathRanker ranks path patterns as a ServeMux does, with a ServeMux of
// the paths alone (no methods) per set of paths met, built once.
type pathRanker struct {
	muxes sync.Map // sorted paths joined by "\n" -> *http.ServeMux, or nil if they conflict
}

// mostSpecific is the path of byPath's keys that a ServeMux holding them
// all would choose for r.
func (p *pathRanker) mostSpecific(byPath map[string][]string, r *http.Request) string {
	paths := make([]string, 0, len(byPath))
	for path := range byPath {
		paths = append(paths, path)
	}
	if len(paths) == 1 {
		return paths[0]
	}
	slices.Sort(paths)
	key := strings.Join(paths, "\n")
	m, ok := p.muxes.Load(key)
	if !ok {
		m, _ = p.muxes.LoadOrStore(key, pathMux(paths))
	}
	if mux := m.(*http.ServeMux); mux != nil {
		if _, path := mux.Handler(r); path != "" {
			return path
		}
	}
	return paths[0]
}

// pathMux is a ServeMux of paths, or nil when two of them conflict (as
// patterns of different methods may).
func pathMux(paths []string) (mux *http.ServeMux) {
	defer func() {
		if recover() != nil {
			mux = nil
		}
	}()
	mux = http.NewServeMux()
	for _, path := range paths {
		mux.Handle(path, http.NotFoundHandler())
	}
	return mux
}
