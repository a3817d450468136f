package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// EnvPrefix prefixes every environment variable Load reads:
// CALLBACKSIM_REDIS_URL overrides redis.url.
const EnvPrefix = "CALLBACKSIM"

// Options says where Load finds the configuration.
type Options struct {
	// File is the YAML file to read; empty means none.
	File string
	// Overrides holds values from command-line flags, by dotted key; they win
	// over the file and the environment.
	Overrides map[string]any
	// Environ is the environment to read; nil means os.Environ().
	Environ []string
	// Foreign names the CALLBACKSIM_* variables that are not configuration
	// keys but are read by someone else (the command-line client, the
	// tests): Load leaves them alone. Any other CALLBACKSIM_* variable that
	// names no key is an error, as an unknown key in the file is.
	Foreign []string
}

// defaults lists every leaf key with its default value, in the form a YAML
// file would hold it. It is also the set of keys Load accepts.
func defaults() map[string]any {
	d := Default()
	m := map[string]any{
		"http.addr":                     d.HTTP.Addr,
		"http.body_timeout":             d.HTTP.BodyTimeout.String(),
		"http.max_conns_per_client":     d.HTTP.MaxConnsPerClient,
		"http.auth_failures_per_minute": d.HTTP.AuthFailuresPerMinute,
		"redis.url":                     d.Redis.URL,
		"redis.mode":                    d.Redis.Mode,
		"redis.addrs":                   []string{},
		"redis.master_name":             "",
		"redis.password":                "",
		"redis.db":                      0,
		"admin.token":                   "",
		"admin.session_ttl":             d.Admin.SessionTTL.String(),
		"time_scale":                    d.TimeScale,
		"worker.concurrency":            d.Worker.Concurrency,
		"worker.poll_interval":          d.Worker.PollInterval.String(),
		"worker.shutdown_timeout":       d.Worker.ShutdownTimeout.String(),
		"worker.max_per_host":           d.Worker.MaxPerHost,
		"retention":                     d.Retention.String(),
		"delivery.callback_id_header":   d.Delivery.CallbackIDHeader,
		"egress.allow_private":          d.Egress.AllowPrivate,
		"egress.deny_cidrs":             d.Egress.DenyCIDRs,
		"egress.allow_cidrs":            d.Egress.AllowCIDRs,
		"ratelimit.per_second":          d.RateLimit.PerSecond,
		"ratelimit.burst":               d.RateLimit.Burst,
		"log.format":                    d.Log.Format,
		"log.level":                     d.Log.Level,
	}
	for _, name := range ProviderNames {
		p, _ := d.Providers.Get(name)
		schedule := make([]string, len(p.Retry.Schedule))
		for i, s := range p.Retry.Schedule {
			schedule[i] = s.String()
		}
		prefix := "providers." + name + "."
		m[prefix+"retry.schedule"] = schedule
		m[prefix+"retry.anchor"] = p.Retry.Anchor
		m[prefix+"timeout"] = p.Timeout.String()
		m[prefix+"success_codes"] = p.SuccessCodes
		m[prefix+"stop_codes"] = p.StopCodes
	}
	m["providers.cinetpay.payment_config"] = d.Providers.CinetPay.PaymentConfig
	m["providers.cinetpay.page_action"] = d.Providers.CinetPay.PageAction
	m["providers.centili.country_case"] = d.Providers.Centili.CountryCase
	return m
}

// Load reads the configuration file, then the environment, then the
// overrides, and validates the result. Every error wraps ErrInvalid and names
// the offending key on one line.
func Load(opts Options) (Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	known := defaults()
	for k, val := range known {
		v.SetDefault(k, val)
	}
	if opts.File != "" {
		f, err := os.Open(opts.File)
		if err != nil {
			return Config{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		err = v.ReadConfig(f)
		f.Close()
		if err != nil {
			return Config{}, fmt.Errorf("%w: %s: %s", ErrInvalid, opts.File, oneLine(err.Error()))
		}
	}
	if err := checkKeys(v.AllKeys(), known); err != nil {
		return Config{}, err
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	if err := applyEnv(v, environ, known, opts.Foreign); err != nil {
		return Config{}, err
	}
	for k, val := range opts.Overrides {
		v.Set(k, val)
	}
	if !v.IsSet("merchants") {
		v.Set("merchants", []any{demoMerchantMap()})
	}

	var cfg Config
	hook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		durationHook,
		commaSeparated,
	))
	if err := v.UnmarshalExact(&cfg, hook); err != nil {
		return Config{}, decodeError(err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// applyEnv copies the CALLBACKSIM_* variables that name a known key over
// it, and refuses one that names no key and is not foreign.
func applyEnv(v *viper.Viper, environ []string, known map[string]any, foreign []string) error {
	byEnv := make(map[string]string, len(known))
	for k := range known {
		byEnv[EnvName(k)] = k
	}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix+"_") || slices.Contains(foreign, name) {
			continue
		}
		key, found := byEnv[name]
		if !found {
			return &KeyError{Key: name, Msg: "unknown environment variable" + suggest(name, append(slices.Collect(maps.Keys(byEnv)), foreign...))}
		}
		v.Set(key, val)
	}
	return nil
}

// EnvName is the environment variable that overrides key:
// CALLBACKSIM_REDIS_URL for redis.url.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// checkKeys refuses keys Load does not know. The merchants list is checked
// field by field when it is decoded.
func checkKeys(keys []string, known map[string]any) error {
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := known[k]; ok || k == "merchants" {
			continue
		}
		return invalid(k, "unknown key%s", suggest(k, append(slices.Collect(maps.Keys(known)), "merchants")))
	}
	return nil
}

// suggest names the candidate closest to name, when one is close enough
// to be a likely typo: "; did you mean time_scale?".
func suggest(name string, candidates []string) string {
	slices.Sort(candidates) // the first of equals, every time
	best, bestDist := "", len(name)/3+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// commaSeparated splits a string into a list where a list is expected, so
// that CALLBACKSIM_PROVIDERS_QRIS_RETRY_SCHEDULE=5s,30s,2m works.
func commaSeparated(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	s := strings.TrimSpace(data.(string))
	if s == "" {
		return []string{}, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// durationHook parses durations as mapstructure's does, with an error that
// repeats the value.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeFor[time.Duration]() {
		return data, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(data.(string)))
	if err != nil {
		return nil, fmt.Errorf("%s is not a duration (such as 500ms, 30s, 2m or 1h30m)", quoteValue(data))
	}
	return d, nil
}

// decodeError turns a decoder error into one line that names the key, as
// a path with list indexes (providers.qris.retry.schedule[1]), and repeats
// the value that is wrong when it is a scalar.
func decodeError(err error) error {
	var de *mapstructure.DecodeError
	if !errors.As(err, &de) {
		return &KeyError{Key: "config", Msg: oneLine(err.Error())}
	}
	for {
		var inner *mapstructure.DecodeError
		if !errors.As(de.Unwrap(), &inner) {
			break
		}
		de = inner
	}
	var (
		parse  *mapstructure.ParseError
		uncon  *mapstructure.UnconvertibleTypeError
		reason = de.Unwrap()
	)
	msg := oneLine(reason.Error())
	switch {
	case errors.As(reason, &parse):
		msg = fmt.Sprintf("cannot parse %s as %s", quoteValue(parse.Value), kindName(parse.Expected.Type()))
	case errors.As(reason, &uncon):
		msg = fmt.Sprintf("want %s, got %s", kindName(uncon.Expected.Type()), kindName(reflect.TypeOf(uncon.Value)))
	}
	return &KeyError{Key: de.Name(), Msg: msg}
}

// quoteValue shows a scalar the user wrote, shortened if long.
func quoteValue(v any) string {
	s := fmt.Sprint(v)
	if r := []rune(s); len(r) > 64 {
		s = string(r[:63]) + "…"
	}
	return strconv.Quote(s)
}

// kindName says what kind of value t holds, in the words of a YAML file.
func kindName(t reflect.Type) string {
	if t == nil {
		return "nothing"
	}
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "a mapping"
	}
	return t.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func demoMerchantMap() map[string]any {
	d := DemoMerchant()
	return map[string]any{
		"id":       d.ID,
		"qris":     map[string]any{"token": d.QRIS.Token, "signing_secret": d.QRIS.SigningSecret, "signing": d.QRIS.Signing},
		"cinetpay": map[string]any{"apikey": d.CinetPay.APIKey, "site_id": d.CinetPay.SiteID, "secret_key": d.CinetPay.SecretKey},
		"centili": map[string]any{
			"service": d.Centili.Service, "signature_key": d.Centili.SignatureKey,
			"sign_algorithm": d.Centili.SignAlgorithm, "notification_url": d.Centili.NotificationURL,
		},
	}
}
