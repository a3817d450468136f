package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadEgressAndRateLimit(t *testing.T) {
	cfg, err := Load(Options{File: writeFile(t, `
egress:
  allow_private: false
  deny_cidrs: [10.0.0.0/8, "fd00::/8"]
  allow_cidrs: [192.168.10.0/24]
ratelimit:
  per_second: 5
  burst: 10
`), Environ: []string{"CALLBACKSIM_EGRESS_DENY_CIDRS=10.0.0.0/8,172.16.0.0/12", "CALLBACKSIM_RATELIMIT_BURST=20"}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Egress{AllowPrivate: false, DenyCIDRs: []string{"10.0.0.0/8", "172.16.0.0/12"}, AllowCIDRs: []string{"192.168.10.0/24"}}
	if diff := cmp.Diff(want, cfg.Egress); diff != "" {
		t.Errorf("egress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(RateLimit{PerSecond: 5, Burst: 20}, cfg.RateLimit); diff != "" {
		t.Errorf("ratelimit (-want +got):\n%s", diff)
	}
}

func TestRateLimitDefaultsStayOutOfTheWay(t *testing.T) {
	r := Default().RateLimit
	if r.PerSecond < 1000 || r.Burst < 2000 {
		t.Errorf("default ratelimit = %+v; want at least 1000/s with bursts of 2000, far above normal use", r)
	}
}

func TestValidateEgressAndRateLimit(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantKey string
	}{
		{"deny_cidrs not a prefix", func(c *Config) { c.Egress.DenyCIDRs = []string{"10.0.0.1"} }, "egress.deny_cidrs"},
		{"allow_cidrs garbage", func(c *Config) { c.Egress.AllowCIDRs = []string{"private"} }, "egress.allow_cidrs"},
		{"negative rate", func(c *Config) { c.RateLimit.PerSecond = -1 }, "ratelimit.per_second"},
		{"zero burst with a rate", func(c *Config) { c.RateLimit.Burst = 0 }, "ratelimit.burst"},
		{"zero rate disables: any burst", func(c *Config) { c.RateLimit = RateLimit{} }, ""},
		{"IPv6 prefixes", func(c *Config) { c.Egress.DenyCIDRs = []string{"fd00::/8", "::1/128"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			tt.change(&cfg)
			err := cfg.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var ke *KeyError
			if !errors.As(err, &ke) || ke.Key != tt.wantKey {
				t.Fatalf("Validate = %v, want an error naming %s", err, tt.wantKey)
			}
		})
	}
}
