// Package config loads callbacksim's configuration: one YAML file, overridden
// by CALLBACKSIM_* environment variables, overridden by command-line flags.
//
// Load uses a viper instance of its own (never viper's global), decodes into
// the typed Config and refuses unknown keys and invalid values with an error
// that names the key.
package config

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// Provider names, as they appear in configuration keys, API paths and metric
// labels.
const (
	QRIS     = "qris"
	CinetPay = "cinetpay"
	Centili  = "centili"
)

// ProviderNames lists every provider callbacksim simulates, in a stable order.
var ProviderNames = []string{QRIS, CinetPay, Centili}

// ErrInvalid is wrapped by every validation error of Load and Validate.
var ErrInvalid = errors.New("config: invalid configuration")

// KeyError names the configuration key that holds an invalid value.
type KeyError struct {
	Key string // dotted key, e.g. "providers.qris.timeout"
	Msg string // what is wrong with it
}

// Error implements error.
func (e *KeyError) Error() string { return fmt.Sprintf("config: %s: %s", e.Key, e.Msg) }

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *KeyError) Unwrap() error { return ErrInvalid }

func invalid(key, format string, args ...any) error {
	return &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Config is the whole configuration of a callbacksim process. The zero value
// is not usable: start from Default or Load.
type Config struct {
	HTTP      HTTP          `mapstructure:"http"`
	Redis     Redis         `mapstructure:"redis"`
	Admin     Admin         `mapstructure:"admin"`
	TimeScale float64       `mapstructure:"time_scale"`
	Worker    Worker        `mapstructure:"worker"`
	Providers Providers     `mapstructure:"providers"`
	Retention time.Duration `mapstructure:"retention"`
	Delivery  Delivery      `mapstructure:"delivery"`
	Egress    Egress        `mapstructure:"egress"`
	RateLimit RateLimit     `mapstructure:"ratelimit"`
	Log       Log           `mapstructure:"log"`
	Merchants []Merchant    `mapstructure:"merchants"`
}

// HTTP configures the listener of the API and the operations endpoints.
type HTTP struct {
	Addr string `mapstructure:"addr"` // host:port
	// BodyTimeout bounds the time to read a request's body, from the end
	// of its headers: a body trickled slower is cut off with a 408.
	BodyTimeout time.Duration `mapstructure:"body_timeout"`
	// MaxConnsPerClient is the most connections one client IP address may
	// hold open; more are closed as they come. 0: no limit.
	MaxConnsPerClient int `mapstructure:"max_conns_per_client"`
	// AuthFailuresPerMinute is how many wrong credentials (admin token,
	// QRIS bearer token, CinetPay apikey) one client may present: that
	// many at once, then one per 60s/AuthFailuresPerMinute; a client over
	// it gets 429 with Retry-After, right credentials or not. 0: no limit.
	AuthFailuresPerMinute int `mapstructure:"auth_failures_per_minute"`
}

// Redis modes.
const (
	RedisSingle   = "single"
	RedisSentinel = "sentinel"
	RedisCluster  = "cluster"
)

// Redis says which Redis deployment holds the queue and the callback store.
// An empty URL in single mode means an embedded in-memory Redis.
type Redis struct {
	URL        string   `mapstructure:"url"`         // single: redis://[:password@]host:port/db
	Mode       string   `mapstructure:"mode"`        // single, sentinel or cluster
	Addrs      []string `mapstructure:"addrs"`       // sentinel: sentinel addresses; cluster: seed nodes
	MasterName string   `mapstructure:"master_name"` // sentinel only
	Password   string   `mapstructure:"password"`    // sentinel and cluster
	DB         int      `mapstructure:"db"`          // sentinel only
}

// Embedded reports whether the configuration asks for the embedded Redis.
func (r Redis) Embedded() bool { return r.Mode == RedisSingle && r.URL == "" }

// Admin configures the operator API.
type Admin struct {
	Token string `mapstructure:"token"` // empty: a random token is made at start-up
	// SessionTTL is how long a dashboard sign-in lasts: the session then
	// expires in Redis, and the cookie with it.
	SessionTTL time.Duration `mapstructure:"session_ttl"`
}

// Worker configures the delivery workers.
type Worker struct {
	Concurrency int `mapstructure:"concurrency"`
	// PollInterval is how soon a worker looks for work again after its
	// queue was empty (asynq's TaskCheckInterval). An idle worker waits in
	// Redis for work and takes it as soon as it is pending; the interval
	// bounds the pause after a wait that ended without a task.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// ShutdownTimeout bounds how long in-flight attempts may run on SIGTERM.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// MaxPerHost bounds the attempts in flight to one merchant host
	// (host:port) per worker process, so that an endpoint that never
	// answers cannot hold every worker; 0 means half of Concurrency.
	MaxPerHost int `mapstructure:"max_per_host"`
}

// HostLimit is the bound on attempts in flight per host: MaxPerHost, or
// half of Concurrency when it is 0.
func (w Worker) HostLimit() int {
	if w.MaxPerHost > 0 {
		return w.MaxPerHost
	}
	return max(w.Concurrency/2, 1)
}

// Delivery configures what every delivered request carries beyond what
// the gateway sends.
type Delivery struct {
	// CallbackIDHeader adds X-Callback-Id, the callback id, to every
	// request, for tracing. Not sent by the real gateways, so off by
	// default: a merchant that de-duplicates on it de-duplicates nothing
	// in production.
	CallbackIDHeader bool `mapstructure:"callback_id_header"`
}

// Providers holds the delivery policy of each gateway.
type Providers struct {
	QRIS     Provider         `mapstructure:"qris"`
	CinetPay CinetPayProvider `mapstructure:"cinetpay"`
	Centili  CentiliProvider  `mapstructure:"centili"`
}

// Get returns the policy of the named provider and whether it exists.
func (p Providers) Get(name string) (Provider, bool) {
	switch name {
	case QRIS:
		return p.QRIS, true
	case CinetPay:
		return p.CinetPay.Provider, true
	case Centili:
		return p.Centili.Provider, true
	}
	return Provider{}, false
}

// Provider is one gateway's delivery policy.
type Provider struct {
	Retry        Retry         `mapstructure:"retry"`
	Timeout      time.Duration `mapstructure:"timeout"`       // per attempt; not scaled by time_scale
	SuccessCodes []int         `mapstructure:"success_codes"` // answers that count as delivered
	StopCodes    []int         `mapstructure:"stop_codes"`    // answers that end the callback as rejected
}

// CinetPayProvider is CinetPay's delivery policy and the letter case of two
// notification fields, which differs between versions of CinetPay's
// documentation.
type CinetPayProvider struct {
	Provider `mapstructure:",squash"`
	// PaymentConfig is the cpm_payment_config value: SINGLE in any letter case.
	PaymentConfig string `mapstructure:"payment_config"`
	// PageAction is the cpm_page_action value: PAYMENT in any letter case.
	PageAction string `mapstructure:"page_action"`
}

// CentiliProvider is Centili's delivery policy and the letter case of the
// country codes the simulator fills in.
type CentiliProvider struct {
	Provider `mapstructure:",squash"`
	// CountryCase is the letter case of a country the simulator fills in
	// (CountryUpper, as Centili's parameter table writes FR, or
	// CountryLower, as its signature guide writes rs). A country given to
	// the simulate endpoint is sent as given.
	CountryCase string `mapstructure:"country_case"`
}

// Country letter cases.
const (
	CountryUpper = "upper"
	CountryLower = "lower"
)

// Retry anchors: what a retry's delay is measured from.
const (
	// AnchorAttemptEnd measures each delay from the end of the failed
	// attempt (the QRIS gateway's "delay after failure").
	AnchorAttemptEnd = "attempt_end"
	// AnchorFirstFailure adds the delays up from the start of the first
	// failed attempt: retry n is due that long after it plus the first n
	// delays, however long the attempts take (Centili's "3 times during
	// the next 30 minutes").
	AnchorFirstFailure = "first_failure"
)

// Retry is a provider's retry schedule.
type Retry struct {
	// Schedule holds the delay before each retry; the callback fails after
	// the last. An empty schedule means a single attempt.
	Schedule []time.Duration `mapstructure:"schedule"`
	// Anchor is what the delays are measured from: AnchorAttemptEnd or
	// AnchorFirstFailure.
	Anchor string `mapstructure:"anchor"`
}

// Egress governs where callbacks may be sent. Cloud metadata and
// link-local addresses are always refused.
type Egress struct {
	AllowPrivate bool `mapstructure:"allow_private"`
	// DenyCIDRs are always refused, whatever else allows them.
	DenyCIDRs []string `mapstructure:"deny_cidrs"`
	// AllowCIDRs are allowed even when AllowPrivate is false.
	AllowCIDRs []string `mapstructure:"allow_cidrs"`
}

// RateLimit bounds the requests each credential (a merchant's gateway
// credential, the admin token) may make. PerSecond 0 disables the limit.
type RateLimit struct {
	PerSecond float64 `mapstructure:"per_second"` // sustained requests per second
	Burst     int     `mapstructure:"burst"`      // requests allowed at once above the rate
}

// Log configures the process's logs.
type Log struct {
	Format string `mapstructure:"format"` // text or json
	Level  string `mapstructure:"level"`  // debug, info, warn or error
}

// Merchant is one simulated merchant account. Each gateway block is optional.
type Merchant struct {
	ID       string            `mapstructure:"id"`
	QRIS     *QRISMerchant     `mapstructure:"qris"`
	CinetPay *CinetPayMerchant `mapstructure:"cinetpay"`
	Centili  *CentiliMerchant  `mapstructure:"centili"`
}

// QRISMerchant holds a merchant's QRIS credentials.
type QRISMerchant struct {
	Token         string `mapstructure:"token"`          // the Bearer access token
	SigningSecret string `mapstructure:"signing_secret"` // empty: unsigned callbacks
	Signing       string `mapstructure:"signing"`        // payloads.QRISSigningHMAC or payloads.QRISSigningStandardWebhooks
}

// CinetPayMerchant holds a merchant's CinetPay credentials.
type CinetPayMerchant struct {
	APIKey    string `mapstructure:"apikey"`
	SiteID    string `mapstructure:"site_id"`
	SecretKey string `mapstructure:"secret_key"` // the x-token HMAC key
}

// CentiliMerchant holds a Centili service.
type CentiliMerchant struct {
	Service         string `mapstructure:"service"`       // the API key
	SignatureKey    string `mapstructure:"signature_key"` // the sign HMAC key; empty: unsigned notifications
	SignAlgorithm   string `mapstructure:"sign_algorithm"`
	NotificationURL string `mapstructure:"notification_url"`
}

// Default returns the configuration used when nothing overrides it.
func Default() Config {
	standard := Provider{
		Retry:        Retry{Schedule: []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}, Anchor: AnchorAttemptEnd},
		Timeout:      10 * time.Second,
		SuccessCodes: []int{200},
		StopCodes:    []int{},
	}
	centili := standard
	centili.Retry = Retry{Schedule: []time.Duration{10 * time.Minute, 10 * time.Minute, 10 * time.Minute}, Anchor: AnchorFirstFailure}
	centili.StopCodes = []int{406}
	return Config{
		HTTP:      HTTP{Addr: "127.0.0.1:8080", BodyTimeout: 10 * time.Second, MaxConnsPerClient: 128, AuthFailuresPerMinute: 10},
		Redis:     Redis{Mode: RedisSingle, Addrs: []string{}},
		Admin:     Admin{SessionTTL: 12 * time.Hour},
		TimeScale: 1,
		Worker:    Worker{Concurrency: 50, PollInterval: 10 * time.Millisecond, ShutdownTimeout: 15 * time.Second},
		Providers: Providers{
			QRIS:     cloneProvider(standard),
			CinetPay: CinetPayProvider{Provider: cloneProvider(standard), PaymentConfig: "SINGLE", PageAction: "PAYMENT"},
			Centili:  CentiliProvider{Provider: cloneProvider(centili), CountryCase: CountryUpper},
		},
		Retention: 168 * time.Hour,
		Egress:    Egress{AllowPrivate: true, DenyCIDRs: []string{}, AllowCIDRs: []string{}},
		RateLimit: RateLimit{PerSecond: 1000, Burst: 2000},
		Log:       Log{Format: "text", Level: "info"},
		Merchants: []Merchant{DemoMerchant()},
	}
}

func cloneProvider(p Provider) Provider {
	p.Retry.Schedule = slices.Clone(p.Retry.Schedule)
	p.SuccessCodes = slices.Clone(p.SuccessCodes)
	p.StopCodes = slices.Clone(p.StopCodes)
	return p
}

// DemoMerchant is the merchant configured when the configuration names none.
func DemoMerchant() Merchant {
	return Merchant{
		ID:       "demo",
		QRIS:     &QRISMerchant{Token: "demo-qris-token", Signing: payloads.QRISSigningHMAC},
		CinetPay: &CinetPayMerchant{APIKey: "demo-apikey", SiteID: "445160", SecretKey: "demo-secret"},
		Centili: &CentiliMerchant{
			Service: "demo-service", SignatureKey: "demo-sign-key", SignAlgorithm: "sha1",
			NotificationURL: "http://127.0.0.1:9090/centili",
		},
	}
}
