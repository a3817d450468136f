package dispatcher

import "testing"

func TestWireURL(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no query", "http://m.example/cb", "http://m.example/cb"},
		{"plain query kept", "http://m.example/cb?a=1&b=x/y:z@w?", "http://m.example/cb?a=1&b=x/y:z@w?"},
		{"space encoded", "http://m.example/cb?note=a b", "http://m.example/cb?note=a%20b"},
		{"escapes kept, order and case too", "http://m.example/cb?z=%2f&a=%2F+1", "http://m.example/cb?z=%2f&a=%2F+1"},
		{"bare percent encoded", "http://m.example/cb?p=100%&q=%zz", "http://m.example/cb?p=100%25&q=%25zz"},
		{"percent at the end", "http://m.example/cb?p=%4", "http://m.example/cb?p=%254"},
		{"quotes and brackets", `http://m.example/cb?q="<a>"{|}^` + "`", "http://m.example/cb?q=%22%3Ca%3E%22%7B%7C%7D%5E%60"},
		{"non-ASCII", "http://m.example/cb?name=Zoé", "http://m.example/cb?name=Zo%C3%A9"},
		{"sub-delims kept", "http://m.example/cb?x=!$'()*,;=", "http://m.example/cb?x=!$'()*,;="},
		{"fragment left alone", "http://m.example/cb?a=b c#frag", "http://m.example/cb?a=b%20c#frag"},
		{"unparsable returned as is", "http://m.example:bad/cb?a=b c", "http://m.example:bad/cb?a=b c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wireURL(tt.in); got != tt.want {
				t.Errorf("wireURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
