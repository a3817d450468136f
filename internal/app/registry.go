package app

import (
	"github.com/callbacksim/callbacksim/config"
	"github.com/callbacksim/callbacksim/dispatcher"
	"github.com/callbacksim/callbacksim/payloads"
	"github.com/callbacksim/callbacksim/scheduler"
)

// registry ties each simulated gateway's configuration to the delivery
// engine: its retry, timeout and classification policy, and, for each
// merchant, the renderer that builds and signs its notifications. It
// implements dispatcher.Providers.
type registry struct {
	policies  map[string]dispatcher.Policy
	renderers map[rendererKey]payloads.Renderer
}

type rendererKey struct{ provider, merchant string }

var _ dispatcher.Providers = (*registry)(nil)

// newRegistry builds the policies and renderers of a validated
// configuration. With delivery.callback_id_header, every renderer adds the
// tracing header X-Callback-Id, which no gateway sends.
func newRegistry(cfg config.Config) *registry {
	r := &registry{
		policies:  make(map[string]dispatcher.Policy, len(config.ProviderNames)),
		renderers: make(map[rendererKey]payloads.Renderer),
	}
	for _, name := range config.ProviderNames {
		p, _ := cfg.Providers.Get(name)
		retry := scheduler.NewPolicy(p.Retry.Schedule, cfg.TimeScale)
		if p.Retry.Anchor == config.AnchorFirstFailure {
			retry = retry.FromFirstFailure()
		}
		r.policies[name] = dispatcher.Policy{
			Retry:      retry,
			Timeout:    p.Timeout,
			Classifier: dispatcher.Classifier{SuccessCodes: p.SuccessCodes, StopCodes: p.StopCodes},
		}
	}
	for _, m := range cfg.Merchants {
		if m.QRIS != nil {
			r.renderers[rendererKey{config.QRIS, m.ID}] = payloads.QRISRenderer{
				Secret: m.QRIS.SigningSecret, Signing: m.QRIS.Signing,
			}
		}
		if m.CinetPay != nil {
			r.renderers[rendererKey{config.CinetPay, m.ID}] = payloads.CinetPayRenderer{SecretKey: m.CinetPay.SecretKey}
		}
		if m.Centili != nil {
			alg, _ := payloads.ParseSignAlgorithm(m.Centili.SignAlgorithm) // validated with the configuration
			r.renderers[rendererKey{config.Centili, m.ID}] = payloads.CentiliRenderer{
				SignatureKey: m.Centili.SignatureKey, Algorithm: alg,
			}
		}
	}
	if cfg.Delivery.CallbackIDHeader {
		for k, rd := range r.renderers {
			r.renderers[k] = payloads.TraceCallbackID(rd)
		}
	}
	return r
}

// Policy implements dispatcher.Providers.
func (r *registry) Policy(provider string) (dispatcher.Policy, bool) {
	p, ok := r.policies[provider]
	return p, ok
}

// Renderer implements dispatcher.Providers.
func (r *registry) Renderer(provider, merchantID string) (payloads.Renderer, bool) {
	rd, ok := r.renderers[rendererKey{provider, merchantID}]
	return rd, ok
}
