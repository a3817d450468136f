package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "callbacksim.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load(Options{Environ: []string{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(Default(), cfg); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	want := []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}
	if diff := cmp.Diff(want, cfg.Providers.QRIS.Retry.Schedule); diff != "" {
		t.Errorf("qris schedule (-want +got):\n%s", diff)
	}
	if got := cfg.Providers.Centili.StopCodes; len(got) != 1 || got[0] != 406 {
		t.Errorf("centili stop codes = %v, want [406]", got)
	}
}

func TestLoadPrecedence(t *testing.T) {
	file := writeFile(t, `
http:
  addr: 127.0.0.1:9000
time_scale: 0.5
providers:
  qris:
    retry:
      schedule: [1s, 2s]
    stop_codes: [410]
merchants:
  - id: shop
    qris: {token: shop-token, signing_secret: s3cret}
`)
	cfg, err := Load(Options{
		File:      file,
		Environ:   []string{"CALLBACKSIM_TIME_SCALE=0.25", "CALLBACKSIM_HTTP_ADDR=127.0.0.1:9001", "CALLBACKSIM_PROVIDERS_CENTILI_RETRY_SCHEDULE=1m,2m", "OTHER=1"},
		Overrides: map[string]any{"http.addr": "127.0.0.1:9002"},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.HTTP.Addr != "127.0.0.1:9002" {
		t.Errorf("http.addr = %q, want the flag's 127.0.0.1:9002", cfg.HTTP.Addr)
	}
	if cfg.TimeScale != 0.25 {
		t.Errorf("time_scale = %v, want the environment's 0.25", cfg.TimeScale)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, cfg.Providers.QRIS.Retry.Schedule); diff != "" {
		t.Errorf("qris schedule from the file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{time.Minute, 2 * time.Minute}, cfg.Providers.Centili.Retry.Schedule); diff != "" {
		t.Errorf("centili schedule from the environment (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{410}, cfg.Providers.QRIS.StopCodes); diff != "" {
		t.Errorf("qris stop codes (-want +got):\n%s", diff)
	}
	if len(cfg.Merchants) != 1 || cfg.Merchants[0].ID != "shop" || cfg.Merchants[0].QRIS.SigningSecret != "s3cret" || cfg.Merchants[0].CinetPay != nil {
		t.Errorf("merchants = %+v, want the file's one merchant", cfg.Merchants)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     []string
		wantKey string
	}{
		{"unknown top-level key", "timescale: 2\n", nil, "timescale"},
		{"unknown nested key", "http:\n  adr: x\n", nil, "http.adr"},
		{"unknown merchant key", "merchants:\n  - id: a\n    tokn: x\n", nil, "merchants[0]"},
		{"negative time_scale", "time_scale: -1\n", nil, "time_scale"},
		{"time_scale from env not a number", "", []string{"CALLBACKSIM_TIME_SCALE=fast"}, "time_scale"},
		{"misspelt environment variable", "", []string{"CALLBACKSIM_TIME_SCAL=2"}, "CALLBACKSIM_TIME_SCAL"},
		{"unknown environment variable", "", []string{"CALLBACKSIM_MERCHANTS=demo"}, "CALLBACKSIM_MERCHANTS"},
		{"unparsable duration", "retention: forever\n", nil, "retention"},
		{"unparsable schedule", "providers:\n  qris:\n    retry:\n      schedule: [5s, soon]\n", nil, "providers.qris.retry.schedule[1]"},
		{"negative delay", "providers:\n  qris:\n    retry:\n      schedule: [-5s]\n", nil, "providers.qris.retry.schedule[0]"},
		{"unknown retry anchor", "providers:\n  centili:\n    retry:\n      anchor: start\n", nil, "providers.centili.retry.anchor"},
		{"bad country case", "providers:\n  centili:\n    country_case: title\n", nil, "providers.centili.country_case"},
		{"country case on another provider", "providers:\n  qris:\n    country_case: upper\n", nil, "providers.qris.country_case"},
		{"callback id header not a boolean", "delivery:\n  callback_id_header: sometimes\n", nil, "delivery.callback_id_header"},
		{"zero timeout", "providers:\n  centili:\n    timeout: 0s\n", nil, "providers.centili.timeout"},
		{"stop code is a success code", "providers:\n  qris:\n    stop_codes: [200]\n", nil, "providers.qris.stop_codes[0]"},
		{"status out of range", "providers:\n  qris:\n    success_codes: [700]\n", nil, "providers.qris.success_codes[0]"},
		{"merchant without id", "merchants:\n  - qris: {token: t}\n", nil, "merchants[0].id"},
		{"duplicate merchant id", "merchants:\n  - id: a\n  - id: a\n", nil, "merchants[1].id"},
		{"duplicate qris tokens", "merchants:\n  - id: a\n    qris: {token: t}\n  - id: b\n    qris: {token: t}\n", nil, "merchants[1].qris.token"},
		{"empty qris token", "merchants:\n  - id: a\n    qris: {token: ''}\n", nil, "merchants[0].qris.token"},
		{"bad signing mode", "merchants:\n  - id: a\n    qris: {token: t, signing: rsa}\n", nil, "merchants[0].qris.signing"},
		{"bad standard webhooks secret", "merchants:\n  - id: a\n    qris: {token: t, signing: standard-webhooks, signing_secret: plain}\n", nil, "merchants[0].qris.signing_secret"},
		{"duplicate cinetpay apikey", "merchants:\n  - id: a\n    cinetpay: {apikey: k, site_id: '1', secret_key: s}\n  - id: b\n    cinetpay: {apikey: k, site_id: '2', secret_key: s}\n", nil, "merchants[1].cinetpay.apikey"},
		{"duplicate cinetpay site_id", "merchants:\n  - id: a\n    cinetpay: {apikey: k1, site_id: '1', secret_key: s}\n  - id: b\n    cinetpay: {apikey: k2, site_id: '1', secret_key: s}\n", nil, "merchants[1].cinetpay.site_id"},
		{"duplicate centili service", "merchants:\n  - id: a\n    centili: {service: s, signature_key: k, notification_url: 'http://x/'}\n  - id: b\n    centili: {service: s, signature_key: k, notification_url: 'http://x/'}\n", nil, "merchants[1].centili.service"},
		{"bad centili algorithm", "merchants:\n  - id: a\n    centili: {service: s, signature_key: k, sign_algorithm: sha512, notification_url: 'http://x/'}\n", nil, "merchants[0].centili.sign_algorithm"},
		{"relative notification url", "merchants:\n  - id: a\n    centili: {service: s, signature_key: k, notification_url: /centili}\n", nil, "merchants[0].centili.notification_url"},
		{"notification url with a password", "merchants:\n  - id: a\n    centili: {service: s, signature_key: k, notification_url: 'http://u:p@x/'}\n", nil, "merchants[0].centili.notification_url"},
		{"bad redis url", "redis:\n  url: http://x\n", nil, "redis.url"},
		{"bad redis mode", "redis:\n  mode: ring\n", nil, "redis.mode"},
		{"cluster without addrs", "redis:\n  mode: cluster\n", nil, "redis.addrs"},
		{"sentinel without master", "redis:\n  mode: sentinel\n  addrs: ['127.0.0.1:26379']\n", nil, "redis.master_name"},
		{"bad log format", "log:\n  format: xml\n", nil, "log.format"},
		{"bad log level", "log:\n  level: loud\n", nil, "log.level"},
		{"zero concurrency", "worker:\n  concurrency: 0\n", nil, "worker.concurrency"},
		{"negative max per host", "worker:\n  max_per_host: -1\n", nil, "worker.max_per_host"},
		{"bad http addr", "http:\n  addr: 8080\n", nil, "http.addr"},
		{"negative auth failures", "http:\n  auth_failures_per_minute: -1\n", nil, "http.auth_failures_per_minute"},
		{"session shorter than a minute", "admin:\n  session_ttl: 30s\n", nil, "admin.session_ttl"},
		{"malformed yaml", "http: [\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Options{File: writeFile(t, tt.yaml), Environ: tt.env})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			var ke *KeyError
			if tt.wantKey == "" {
				return
			}
			if !errors.As(err, &ke) || ke.Key != tt.wantKey {
				t.Errorf("error %q names key %q, want %q", err, keyOf(ke), tt.wantKey)
			}
		})
	}
}

func keyOf(ke *KeyError) string {
	if ke == nil {
		return "<none>"
	}
	return ke.Key
}

// TestFidelityDefaults: by default a delivery carries only what the gateway
// sends, Centili's retries keep to 30 minutes from the first failure, and
// its filled-in countries are upper case; each can be changed.
func TestFidelityDefaults(t *testing.T) {
	cfg, err := Load(Options{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Delivery.CallbackIDHeader {
		t.Error("delivery.callback_id_header is on by default: no gateway sends X-Callback-Id")
	}
	for name, want := range map[string]string{QRIS: AnchorAttemptEnd, CinetPay: AnchorAttemptEnd, Centili: AnchorFirstFailure} {
		if p, _ := cfg.Providers.Get(name); p.Retry.Anchor != want {
			t.Errorf("providers.%s.retry.anchor = %q, want %q", name, p.Retry.Anchor, want)
		}
	}
	if cfg.Providers.Centili.CountryCase != CountryUpper {
		t.Errorf("providers.centili.country_case = %q, want upper", cfg.Providers.Centili.CountryCase)
	}

	file := writeFile(t, `
providers:
  centili:
    country_case: lower
    retry: {anchor: attempt_end}
merchants:
  - id: unsigned
    centili: {service: s, notification_url: "http://127.0.0.1:9090/centili"}
`)
	cfg, err = Load(Options{File: file, Environ: []string{"CALLBACKSIM_DELIVERY_CALLBACK_ID_HEADER=true"}})
	if err != nil {
		t.Fatalf("Load: %v (a Centili service without signature_key is allowed: unsigned notifications)", err)
	}
	if !cfg.Delivery.CallbackIDHeader || cfg.Providers.Centili.CountryCase != CountryLower ||
		cfg.Providers.Centili.Retry.Anchor != AnchorAttemptEnd || cfg.Merchants[0].Centili.SignatureKey != "" {
		t.Errorf("overrides not applied: delivery %+v, centili %+v, merchant %+v", cfg.Delivery, cfg.Providers.Centili, cfg.Merchants[0].Centili)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(Options{File: filepath.Join(t.TempDir(), "absent.yaml"), Environ: []string{}})
	if !errors.Is(err, os.ErrNotExist) || !errors.Is(err, ErrInvalid) {
		t.Errorf("Load(absent file) = %v, want an error wrapping os.ErrNotExist and ErrInvalid", err)
	}
}

// TestLoadErrorsSayWhat: an error names the key by its path, list index
// included, repeats the value at fault, and suggests the key a typo meant.
func TestLoadErrorsSayWhat(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"number from the environment", "", []string{"CALLBACKSIM_TIME_SCALE=fast"}, `config: time_scale: cannot parse "fast" as a number`},
		{"duration in a list", "providers:\n  qris:\n    retry:\n      schedule: [5s, banana]\n", nil,
			`config: providers.qris.retry.schedule[1]: "banana" is not a duration (such as 500ms, 30s, 2m or 1h30m)`},
		{"duration list from the environment", "", []string{"CALLBACKSIM_PROVIDERS_CENTILI_RETRY_SCHEDULE=1m, soon"},
			`config: providers.centili.retry.schedule[1]: "soon" is not a duration (such as 500ms, 30s, 2m or 1h30m)`},
		{"duration", "retention: forever\n", nil, `config: retention: "forever" is not a duration (such as 500ms, 30s, 2m or 1h30m)`},
		{"whole number", "worker:\n  concurrency: lots\n", nil, `config: worker.concurrency: cannot parse "lots" as a whole number`},
		{"status code in a list", "providers:\n  qris:\n    success_codes: [200, ok]\n", nil, `config: providers.qris.success_codes[1]: cannot parse "ok" as a whole number`},
		{"boolean", "delivery:\n  callback_id_header: sometimes\n", nil, `config: delivery.callback_id_header: cannot parse "sometimes" as a boolean (true or false)`},
		{"list for a string", "merchants:\n  - id: a\n    qris: {token: [1, 2]}\n", nil, `config: merchants[0].qris.token: want a string, got a list`},
		{"misspelt key", "timescale: 2\n", nil, `config: timescale: unknown key; did you mean time_scale?`},
		{"misspelt variable", "", []string{"CALLBACKSIM_TIME_SCAL=2"}, `config: CALLBACKSIM_TIME_SCAL: unknown environment variable; did you mean CALLBACKSIM_TIME_SCALE?`},
		{"variable like no other", "", []string{"CALLBACKSIM_ZZZZZZZZ=1"}, `config: CALLBACKSIM_ZZZZZZZZ: unknown environment variable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(Options{File: writeFile(t, tt.yaml), Environ: tt.env})
			if err == nil || err.Error() != tt.want {
				t.Errorf("Load: %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestLoadForeignEnvironment: the variables another part of callbacksim
// reads are left alone; other variables are not read at all.
func TestLoadForeignEnvironment(t *testing.T) {
	cfg, err := Load(Options{
		Environ: []string{"CALLBACKSIM_API=http://127.0.0.1:8080", "CALLBACKSIM_TIME_SCALE=0.5", "CALLBACKSIMX=1", "TIME_SCALE=fast", "CALLBACKSIM"},
		Foreign: []string{"CALLBACKSIM_API"},
	})
	if err != nil || cfg.TimeScale != 0.5 {
		t.Errorf("Load = %v, time_scale %v; want no error and 0.5", err, cfg.TimeScale)
	}
	_, err = Load(Options{Environ: []string{"CALLBACKSIM_APU=x"}, Foreign: []string{"CALLBACKSIM_API"}})
	if err == nil || !strings.Contains(err.Error(), "did you mean CALLBACKSIM_API?") {
		t.Errorf("a typo of a foreign variable: %v, want a suggestion of CALLBACKSIM_API", err)
	}
}

func TestExampleFileLoads(t *testing.T) {
	cfg, err := Load(Options{File: filepath.Join("..", "callbacksim.example.yaml"), Environ: []string{}})
	if err != nil {
		t.Fatalf("the example configuration does not load: %v", err)
	}
	if diff := cmp.Diff(Default(), cfg); diff != "" {
		t.Errorf("the example file should spell out the defaults (-want +got):\n%s", diff)
	}
}

func TestWorkerHostLimit(t *testing.T) {
	tests := []struct {
		concurrency, maxPerHost, want int
	}{
		{50, 0, 25}, {50, 10, 10}, {50, 80, 80}, {1, 0, 1}, {3, 0, 1},
	}
	for _, tt := range tests {
		w := Worker{Concurrency: tt.concurrency, MaxPerHost: tt.maxPerHost}
		if got := w.HostLimit(); got != tt.want {
			t.Errorf("concurrency %d, max_per_host %d: HostLimit() = %d, want %d", tt.concurrency, tt.maxPerHost, got, tt.want)
		}
	}
}

// The README's configuration table names every key Load accepts (a
// provider's keys as providers.<name>.KEY), so that no key exists only in
// the code.
func TestREADMENamesEveryKey(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := func(key string) bool { return strings.Contains(string(readme), "`"+key+"`") }
	for key := range defaults() {
		shared := key
		for _, name := range ProviderNames {
			if rest, ok := strings.CutPrefix(key, "providers."+name+"."); ok {
				shared = "providers.<p>." + rest
			}
		}
		if !documented(key) && !documented(shared) {
			t.Errorf("README.md does not document %s", key)
		}
	}
}
