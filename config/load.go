package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

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
}

// defaults lists every leaf key with its default value, in the form a YAML
// file would hold it. It is also the set of keys Load accepts.
func defaults() map[string]any {
	d := Default()
	m := map[string]any{
		"http.addr":                   d.HTTP.Addr,
		"redis.url":                   d.Redis.URL,
		"redis.mode":                  d.Redis.Mode,
		"redis.addrs":                 []string{},
		"redis.master_name":           "",
		"redis.password":              "",
		"redis.db":                    0,
		"admin.token":                 "",
		"time_scale":                  d.TimeScale,
		"worker.concurrency":          d.Worker.Concurrency,
		"worker.poll_interval":        d.Worker.PollInterval.String(),
		"worker.shutdown_timeout":     d.Worker.ShutdownTimeout.String(),
		"worker.max_per_host":         d.Worker.MaxPerHost,
		"retention":                   d.Retention.String(),
		"delivery.callback_id_header": d.Delivery.CallbackIDHeader,
		"egress.allow_private":        d.Egress.AllowPrivate,
		"egress.deny_cidrs":           d.Egress.DenyCIDRs,
		"egress.allow_cidrs":          d.Egress.AllowCIDRs,
		"ratelimit.per_second":        d.RateLimit.PerSecond,
		"ratelimit.burst":             d.RateLimit.Burst,
		"log.format":                  d.Log.Format,
		"log.level":                   d.Log.Level,
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
			return Config{}, fmt.Errorf("config: %w", err)
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
	applyEnv(v, environ, known)
	for k, val := range opts.Overrides {
		v.Set(k, val)
	}
	if !v.IsSet("merchants") {
		v.Set("merchants", []any{demoMerchantMap()})
	}

	var cfg Config
	hook := viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
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
// it. Other CALLBACKSIM_* variables are left alone: the command-line client
// reads some of its own.
func applyEnv(v *viper.Viper, environ []string, known map[string]any) {
	byEnv := make(map[string]string, len(known))
	for k := range known {
		byEnv[EnvPrefix+"_"+strings.ToUpper(strings.NewReplacer(".", "_").Replace(k))] = k
	}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if key, found := byEnv[name]; found {
			v.Set(key, val)
		}
	}
}

// checkKeys refuses keys Load does not know. The merchants list is checked
// field by field when it is decoded.
func checkKeys(keys []string, known map[string]any) error {
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := known[k]; ok || k == "merchants" {
			continue
		}
		return invalid(k, "unknown key")
	}
	return nil
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

var (
	mapstructureKey = regexp.MustCompile(`'([^']*)'`)
	listIndex       = regexp.MustCompile(`\[\d+\]$`)
)

// decodeError turns a decoder error into one line that names the key.
func decodeError(err error) error {
	msg := oneLine(err.Error())
	msg = strings.TrimPrefix(msg, "decoding failed due to the following error(s): ")
	key := "config"
	if m := mapstructureKey.FindStringSubmatch(msg); m != nil && m[1] != "" {
		key = m[1]
		msg = strings.TrimSpace(strings.Replace(msg, m[0], "", 1))
		if !strings.HasPrefix(key, "merchants") {
			key = listIndex.ReplaceAllString(key, "") // the list, not its element
		}
	}
	return &KeyError{Key: key, Msg: msg}
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
