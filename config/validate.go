package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/callbacksim/callbacksim/payloads"
)

// Validate checks every value and returns the first problem as a *KeyError.
func (c Config) Validate() error {
	checks := []func() error{
		c.validateHTTP, c.validateAdmin, c.validateRedis, c.validateWorker, c.validateProviders,
		c.validateEgress, c.validateRateLimit, c.validateLog, c.validateMerchants,
	}
	if math.IsNaN(c.TimeScale) || math.IsInf(c.TimeScale, 0) || c.TimeScale < 0 {
		return invalid("time_scale", "must be a number >= 0, got %v", c.TimeScale)
	}
	if c.Retention <= 0 {
		return invalid("retention", "must be a positive duration, got %s", c.Retention)
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) validateHTTP() error {
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		return invalid("http.addr", "must be host:port, got %q", c.HTTP.Addr)
	}
	if c.HTTP.BodyTimeout <= 0 {
		return invalid("http.body_timeout", "must be a positive duration such as 10s, got %s", c.HTTP.BodyTimeout)
	}
	if c.HTTP.MaxConnsPerClient < 0 {
		return invalid("http.max_conns_per_client", "must be 0 (no limit) or more, got %d", c.HTTP.MaxConnsPerClient)
	}
	if c.HTTP.AuthFailuresPerMinute < 0 {
		return invalid("http.auth_failures_per_minute", "must be 0 (no limit) or more, got %d", c.HTTP.AuthFailuresPerMinute)
	}
	return nil
}

func (c Config) validateAdmin() error {
	if c.Admin.SessionTTL < time.Minute {
		return invalid("admin.session_ttl", "must be a duration of a minute or more, such as 12h, got %s", c.Admin.SessionTTL)
	}
	return nil
}

func (c Config) validateRedis() error {
	r := c.Redis
	switch r.Mode {
	case RedisSingle:
		if r.URL != "" {
			if _, err := redis.ParseURL(r.URL); err != nil {
				return invalid("redis.url", "must be redis://[:password@]host:port/db (%v)", err)
			}
		}
	case RedisSentinel:
		if len(r.Addrs) == 0 {
			return invalid("redis.addrs", "sentinel mode needs the sentinels' host:port addresses")
		}
		if r.MasterName == "" {
			return invalid("redis.master_name", "sentinel mode needs the master's name")
		}
	case RedisCluster:
		if len(r.Addrs) == 0 {
			return invalid("redis.addrs", "cluster mode needs at least one node's host:port")
		}
	default:
		return invalid("redis.mode", "must be single, sentinel or cluster, got %q", r.Mode)
	}
	for _, a := range r.Addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return invalid("redis.addrs", "must be host:port, got %q", a)
		}
	}
	return nil
}

func (c Config) validateWorker() error {
	w := c.Worker
	if w.Concurrency < 1 {
		return invalid("worker.concurrency", "must be at least 1, got %d", w.Concurrency)
	}
	if w.PollInterval < time.Millisecond || w.PollInterval > 5*time.Second {
		return invalid("worker.poll_interval", "must be between 1ms and 5s, got %s", w.PollInterval)
	}
	if w.ShutdownTimeout <= 0 {
		return invalid("worker.shutdown_timeout", "must be a positive duration, got %s", w.ShutdownTimeout)
	}
	if w.MaxPerHost < 0 {
		return invalid("worker.max_per_host", "must be 0 (half of worker.concurrency) or more, got %d", w.MaxPerHost)
	}
	return nil
}

func (c Config) validateProviders() error {
	for _, name := range ProviderNames {
		p, _ := c.Providers.Get(name)
		prefix := "providers." + name + "."
		for i, d := range p.Retry.Schedule {
			if d < 0 {
				return invalid(fmt.Sprintf("%sretry.schedule[%d]", prefix, i), "delays must not be negative, got %s", d)
			}
		}
		if p.Retry.Anchor != AnchorAttemptEnd && p.Retry.Anchor != AnchorFirstFailure {
			return invalid(prefix+"retry.anchor", "must be %s or %s, got %q", AnchorAttemptEnd, AnchorFirstFailure, p.Retry.Anchor)
		}
		if p.Timeout <= 0 {
			return invalid(prefix+"timeout", "must be a positive duration, got %s", p.Timeout)
		}
		if len(p.SuccessCodes) == 0 {
			return invalid(prefix+"success_codes", "must name at least one HTTP status")
		}
		for _, key := range []string{"success_codes", "stop_codes"} {
			codes := p.SuccessCodes
			if key == "stop_codes" {
				codes = p.StopCodes
			}
			for i, code := range codes {
				if code < 100 || code > 599 {
					return invalid(fmt.Sprintf("%s%s[%d]", prefix, key, i), "%d is not an HTTP status (100-599)", code)
				}
			}
		}
		for i, code := range p.StopCodes {
			if slices.Contains(p.SuccessCodes, code) {
				return invalid(fmt.Sprintf("%sstop_codes[%d]", prefix, i), "%d is also a success code", code)
			}
		}
	}
	cp := c.Providers.CinetPay
	if !strings.EqualFold(cp.PaymentConfig, "SINGLE") {
		return invalid("providers.cinetpay.payment_config", "must be SINGLE in some letter case, got %q", cp.PaymentConfig)
	}
	if !strings.EqualFold(cp.PageAction, "PAYMENT") {
		return invalid("providers.cinetpay.page_action", "must be PAYMENT in some letter case, got %q", cp.PageAction)
	}
	if cc := c.Providers.Centili.CountryCase; cc != CountryUpper && cc != CountryLower {
		return invalid("providers.centili.country_case", "must be %s or %s, got %q", CountryUpper, CountryLower, cc)
	}
	return nil
}

func (c Config) validateEgress() error {
	for key, cidrs := range map[string][]string{"egress.deny_cidrs": c.Egress.DenyCIDRs, "egress.allow_cidrs": c.Egress.AllowCIDRs} {
		for _, s := range cidrs {
			if _, err := netip.ParsePrefix(s); err != nil {
				return invalid(key, "must be CIDR prefixes such as 10.0.0.0/8 or fd00::/8, got %q", s)
			}
		}
	}
	return nil
}

func (c Config) validateRateLimit() error {
	r := c.RateLimit
	if math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0) || r.PerSecond < 0 {
		return invalid("ratelimit.per_second", "must be a number >= 0 (0 disables the limit), got %v", r.PerSecond)
	}
	if r.PerSecond > 0 && r.Burst < 1 {
		return invalid("ratelimit.burst", "must be at least 1 while ratelimit.per_second is set, got %d", r.Burst)
	}
	return nil
}

func (c Config) validateLog() error {
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return invalid("log.format", "must be text or json, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
		return nil
	}
	return invalid("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
}

// uniqueness remembers which merchant first used a credential.
type uniqueness map[string]string

// claim records that merchant uses value for key, and returns an error
// naming where if another merchant already does.
func (u uniqueness) claim(where, key, value, merchant string) error {
	if prev, ok := u[key+"\x00"+value]; ok {
		return invalid(where, "merchants %q and %q use the same value", prev, merchant)
	}
	u[key+"\x00"+value] = merchant
	return nil
}

func (c Config) validateMerchants() error {
	if len(c.Merchants) == 0 {
		return invalid("merchants", "at least one merchant is needed")
	}
	seen := uniqueness{}
	for i, m := range c.Merchants {
		prefix := fmt.Sprintf("merchants[%d].", i)
		if m.ID == "" {
			return invalid(prefix+"id", "every merchant needs an id")
		}
		if err := seen.claim(prefix+"id", "id", m.ID, m.ID); err != nil {
			return err
		}
		for _, check := range []func(string, uniqueness) error{m.validateQRIS, m.validateCinetPay, m.validateCentili} {
			if err := check(prefix, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m Merchant) validateQRIS(prefix string, seen uniqueness) error {
	q := m.QRIS
	if q == nil {
		return nil
	}
	prefix += "qris."
	if q.Token == "" {
		return invalid(prefix+"token", "must not be empty")
	}
	if err := seen.claim(prefix+"token", "qris.token", q.Token, m.ID); err != nil {
		return err
	}
	switch q.Signing {
	case "", payloads.QRISSigningHMAC:
	case payloads.QRISSigningStandardWebhooks:
		if q.SigningSecret != "" {
			if _, err := payloads.DecodeWebhookSecret(q.SigningSecret); err != nil {
				return invalid(prefix+"signing_secret", "standard-webhooks secrets are written whsec_<base64>")
			}
		}
	default:
		return invalid(prefix+"signing", "must be hmac-sha256 or standard-webhooks, got %q", q.Signing)
	}
	return nil
}

func (m Merchant) validateCinetPay(prefix string, seen uniqueness) error {
	c := m.CinetPay
	if c == nil {
		return nil
	}
	prefix += "cinetpay."
	for key, val := range map[string]string{"apikey": c.APIKey, "site_id": c.SiteID, "secret_key": c.SecretKey} {
		if val == "" {
			return invalid(prefix+key, "must not be empty")
		}
	}
	if err := seen.claim(prefix+"apikey", "cinetpay.apikey", c.APIKey, m.ID); err != nil {
		return err
	}
	// A site's payments are found by site_id: two merchants on one site
	// would read and simulate each other's.
	if err := seen.claim(prefix+"site_id", "cinetpay.site_id", c.SiteID, m.ID); err != nil {
		return err
	}
	return nil
}

func (m Merchant) validateCentili(prefix string, seen uniqueness) error {
	c := m.Centili
	if c == nil {
		return nil
	}
	prefix += "centili."
	if c.Service == "" {
		return invalid(prefix+"service", "must not be empty")
	}
	if err := seen.claim(prefix+"service", "centili.service", c.Service, m.ID); err != nil {
		return err
	}
	if _, err := payloads.ParseSignAlgorithm(c.SignAlgorithm); err != nil {
		return invalid(prefix+"sign_algorithm", "must be sha1, sha256 or md5, got %q", c.SignAlgorithm)
	}
	if err := CheckCallbackURL(c.NotificationURL); err != nil {
		return invalid(prefix+"notification_url", "%v", err)
	}
	return nil
}

// MaxCallbackURL is the longest callback URL taken, in bytes.
const MaxCallbackURL = 2048

// CheckCallbackURL reports whether s can be a callback target: an absolute
// http or https URL with a host, of at most MaxCallbackURL bytes, and with
// no user name or password in it (Go's client would send them as Basic
// auth, which no gateway does, and every record of the callback would show
// them). The error says what is wrong without repeating s.
func CheckCallbackURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > MaxCallbackURL:
		return fmt.Errorf("must be an absolute http or https URL of at most %d bytes", MaxCallbackURL)
	case u.User != nil:
		return errors.New("must not hold a user name or password (user:pass@): no gateway sends them, and every record of the callback would show them")
	}
	return nil
}
