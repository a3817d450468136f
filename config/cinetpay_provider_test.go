package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/callbacksim/callbacksim/config"
)

func TestCinetPayFieldCase(t *testing.T) {
	tests := []struct {
		name          string
		yaml          string
		env           []string
		wantConfig    string
		wantAction    string
		wantErrKey    string
		wantRetryLen  int
		wantTimeoutMS int64
	}{
		{name: "defaults", yaml: "", wantConfig: "SINGLE", wantAction: "PAYMENT", wantRetryLen: 3, wantTimeoutMS: 10000},
		{
			name:       "other letter case",
			yaml:       "providers:\n  cinetpay:\n    payment_config: Single\n    page_action: payment\n    timeout: 3s\n",
			wantConfig: "Single", wantAction: "payment", wantRetryLen: 3, wantTimeoutMS: 3000,
		},
		{
			name: "from the environment", env: []string{"CALLBACKSIM_PROVIDERS_CINETPAY_PAGE_ACTION=Payment"},
			wantConfig: "SINGLE", wantAction: "Payment", wantRetryLen: 3, wantTimeoutMS: 10000,
		},
		{name: "not SINGLE", yaml: "providers:\n  cinetpay:\n    payment_config: MULTIPLE\n", wantErrKey: "providers.cinetpay.payment_config"},
		{name: "empty page action", yaml: "providers:\n  cinetpay:\n    page_action: \"\"\n", wantErrKey: "providers.cinetpay.page_action"},
		{name: "not a key of other providers", yaml: "providers:\n  qris:\n    page_action: PAYMENT\n", wantErrKey: "providers.qris.page_action"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			env := append([]string{}, tc.env...) // never nil: nil means os.Environ()
			cfg, err := config.Load(config.Options{File: file, Environ: env})
			if tc.wantErrKey != "" {
				var kerr *config.KeyError
				if !errors.As(err, &kerr) || kerr.Key != tc.wantErrKey || !errors.Is(err, config.ErrInvalid) {
					t.Fatalf("Load() error = %v, want a KeyError naming %s", err, tc.wantErrKey)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(): %v", err)
			}
			cp := cfg.Providers.CinetPay
			if cp.PaymentConfig != tc.wantConfig || cp.PageAction != tc.wantAction {
				t.Errorf("payment_config, page_action = %q, %q, want %q, %q", cp.PaymentConfig, cp.PageAction, tc.wantConfig, tc.wantAction)
			}
			p, _ := cfg.Providers.Get(config.CinetPay)
			if len(p.Retry.Schedule) != tc.wantRetryLen || p.Timeout.Milliseconds() != tc.wantTimeoutMS {
				t.Errorf("cinetpay policy = %+v, want %d retries and a %dms timeout", p, tc.wantRetryLen, tc.wantTimeoutMS)
			}
		})
	}
}
