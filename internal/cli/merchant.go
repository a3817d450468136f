package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/merchant"
	"github.com/callbacksim/callbacksim/payloads"
)

// merchantContext is the context the merchant runs in: until SIGINT or
// SIGTERM. Tests replace it.
var merchantContext = func(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
}

// merchantGrace is how long a stopping merchant waits for the answers in
// progress before it drops them.
var merchantGrace = 5 * time.Second

// merchantFlags are the flags of callbacksim merchant.
type merchantFlags struct {
	addr, file, merchantID string

	qrisSecret, cinetpaySecret, cinetpayAPIKey, cinetpaySiteID string
	centiliKey, centiliAlgorithm                               string

	api           string
	check         bool
	script        string
	always        int
	delay         time.Duration
	acceptInvalid bool
	json          bool
}

func merchantCmd() *cobra.Command {
	var mf merchantFlags
	cmd := &cobra.Command{
		Use:   "merchant",
		Short: "Run a sample merchant endpoint that prints, verifies and answers callbacks as scripted",
		Long: `merchant listens for callbacks like a merchant's server, prints one line per
callback (gateway, the gateway's transaction id, whether its signature is
valid, what it answered) and answers as scripted.

Like a handler in production, it knows a notification only by the gateway's
own ids (QRIS transaction_id, CinetPay cpm_trans_id, Centili transactionid):
--script runs per transaction, and a status already processed for a
transaction is noted as a duplicate and not processed again.

Routes: POST /qris (and a POST to any other path), GET /cinetpay (the
gateway's ping, answered 200) and POST /cinetpay, GET /centili, and
GET|POST /return: the shop's page after CinetPay's checkout (return_url),
showing the status the check API gives.

Secrets come from the --config file's merchant (the first, or --merchant),
else the demo merchant's, and flags override them. A callback whose signature
is invalid, or missing while a secret is set, is answered 401 (Centili: 406,
its stop code) unless --accept-invalid. On a CinetPay notification it calls the check API
(POST <api>/v2/payment/check) for the truth, as a correct merchant must, and
prints it; if the check fails it answers 503 so that the gateway retries.`,
		Example: `  callbacksim merchant
  callbacksim merchant --script 500,500,200
  callbacksim merchant --always 406 --addr 127.0.0.1:9091
  callbacksim merchant --delay 12s --qris-secret s3cret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := mf.options(cmd)
			if err != nil {
				return err
			}
			return mf.serve(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&mf.addr, "addr", "127.0.0.1:9090", "listen address")
	f.StringVar(&mf.file, "config", "", "the simulator's YAML configuration, to take the merchant's secrets from")
	f.StringVar(&mf.merchantID, "merchant", "", "which merchant of the configuration (default: the first)")
	f.StringVar(&mf.qrisSecret, "qris-secret", "", "QRIS signing_secret: X-Callback-Signature key, or whsec_... for Standard Webhooks")
	f.StringVar(&mf.cinetpaySecret, "cinetpay-secret", "", "CinetPay secret_key (verifies x-token)")
	f.StringVar(&mf.cinetpayAPIKey, "cinetpay-apikey", "", "CinetPay apikey (for the check API)")
	f.StringVar(&mf.cinetpaySiteID, "cinetpay-site-id", "", "CinetPay site_id (for the check API)")
	f.StringVar(&mf.centiliKey, "centili-key", "", "Centili signature_key (verifies sign)")
	f.StringVar(&mf.centiliAlgorithm, "centili-algorithm", "", "Centili sign algorithm: sha1, sha256 or md5")
	f.StringVar(&mf.api, "api", "", "the simulator's base URL, for CinetPay's check API (env "+EnvAPI+"; default "+DefaultAPI+")")
	f.BoolVar(&mf.check, "check", true, "call CinetPay's check API on each CinetPay notification")
	f.StringVar(&mf.script, "script", "", "answers to each transaction's deliveries in turn, e.g. 500,500,200 (the last repeats)")
	f.IntVar(&mf.always, "always", 0, "always answer this status, e.g. 406")
	f.DurationVar(&mf.delay, "delay", 0, "wait this long before every answer, e.g. 2s")
	f.BoolVar(&mf.acceptInvalid, "accept-invalid", false, "answer as scripted even when a signature is invalid or missing")
	f.BoolVar(&mf.json, "json", false, "print one JSON object per callback")
	return cmd
}

// options turns the flags, over the configuration's merchant, into the
// merchant's options.
func (mf *merchantFlags) options(cmd *cobra.Command) (merchant.Options, error) {
	cfg, err := config.Load(config.Options{File: mf.file, Foreign: foreignEnv})
	if err != nil {
		return merchant.Options{}, exitCodeError{ExitConfig, err}
	}
	m := cfg.Merchants[0]
	if mf.merchantID != "" {
		found := false
		for _, c := range cfg.Merchants {
			if c.ID == mf.merchantID {
				m, found = c, true
			}
		}
		if !found {
			return merchant.Options{}, exitCodeError{ExitConfig, fmt.Errorf("--merchant %q is not in the configuration", mf.merchantID)}
		}
	}
	var o merchant.Options
	if m.QRIS != nil {
		o.QRISSecret = m.QRIS.SigningSecret
	}
	if m.CinetPay != nil {
		o.CinetPaySecret, o.CinetPayAPIKey, o.CinetPaySiteID = m.CinetPay.SecretKey, m.CinetPay.APIKey, m.CinetPay.SiteID
	}
	alg := ""
	if m.Centili != nil {
		o.CentiliKey, alg = m.Centili.SignatureKey, m.Centili.SignAlgorithm
	}
	flags := cmd.Flags()
	for name, into := range map[string]*string{
		"qris-secret": &o.QRISSecret, "cinetpay-secret": &o.CinetPaySecret, "cinetpay-apikey": &o.CinetPayAPIKey,
		"cinetpay-site-id": &o.CinetPaySiteID, "centili-key": &o.CentiliKey, "centili-algorithm": &alg,
	} {
		if flags.Changed(name) {
			*into, _ = flags.GetString(name)
		}
	}
	if o.CentiliAlgorithm, err = payloads.ParseSignAlgorithm(alg); err != nil {
		return o, usageError{fmt.Errorf("--centili-algorithm must be sha1, sha256 or md5, got %q", alg)}
	}
	if mf.check {
		o.API = mf.api
		if o.API == "" {
			o.API = os.Getenv(EnvAPI)
		}
		if o.API == "" {
			o.API = DefaultAPI
		}
	}
	switch {
	case mf.script != "" && flags.Changed("always"):
		return o, usageError{errors.New("give --script or --always, not both")}
	case flags.Changed("always"):
		if mf.always < 100 || mf.always > 599 {
			return o, usageError{fmt.Errorf("--always %d is not an HTTP status (100-599)", mf.always)}
		}
		o.Script = []int{mf.always}
	case mf.script != "":
		for part := range strings.SplitSeq(mf.script, ",") {
			code, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || code < 100 || code > 599 {
				return o, usageError{fmt.Errorf("--script: %q is not an HTTP status (100-599); write e.g. 500,500,200", part)}
			}
			o.Script = append(o.Script, code)
		}
	}
	if mf.delay < 0 {
		return o, usageError{errors.New("--delay must not be negative")}
	}
	o.Delay, o.AcceptInvalid, o.JSON = mf.delay, mf.acceptInvalid, mf.json
	o.Out = cmd.OutOrStdout()
	return o, nil
}

func (mf *merchantFlags) serve(cmd *cobra.Command, opts merchant.Options) error {
	m, err := merchant.New(opts)
	if err != nil {
		return usageError{err}
	}
	l, err := net.Listen("tcp", mf.addr)
	if err != nil {
		return fmt.Errorf("merchant: listen on --addr %s: %w", mf.addr, err)
	}
	ctx, stop := merchantContext(cmd.Context())
	defer stop()
	base := "http://" + l.Addr().String()
	if !opts.JSON {
		fmt.Fprintf(cmd.OutOrStdout(), "callbacksim merchant listening on %s\n  QRIS     POST %s/qris (or any path)\n  CinetPay GET|POST %s/cinetpay (return_url: %s/return)\n  Centili  GET %s/centili\n",
			base, base, base, base, base)
		if len(opts.Script) > 0 {
			fmt.Fprintf(cmd.OutOrStdout(), "  answers  %s per transaction, then the last again\n", strings.Trim(fmt.Sprint(opts.Script), "[]"))
		}
	}
	srv := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), merchantGrace)
		defer cancel()
		if err = srv.Shutdown(shutdown); errors.Is(err, context.DeadlineExceeded) {
			// Answers still held by --delay, or connections a gateway
			// opened and never used: a stopped merchant drops them.
			err = srv.Close()
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
