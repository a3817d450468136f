// callbacksim dashboard: the payment simulator page. It lists the
// merchants (GET /v1/merchants) and their pending payments
// (GET /v1/payments), fires POST /v1/simulate, and lands on the callback's
// live view on the callbacks page. The helpers, and the rule that data is
// only ever text, are in ui.js.
'use strict';

(function () {
  const { $, el, clear, api, live } = window.callbacksim;

  const OUTCOMES = {
    qris: ['SUCCESS', 'FAILED'],
    cinetpay: ['ACCEPTED', 'REFUSED', 'WAITING_FOR_CUSTOMER'],
    centili: ['success', 'failed', 'canceled'],
  };
  const EXAMPLE_URL = {
    qris: 'http://127.0.0.1:9090/qris',
    cinetpay: 'http://127.0.0.1:9090/cinetpay',
  };

  const state = { merchants: [], lastPending: '' };

  function provider() {
    return $('sim-provider').value;
  }

  function options(select, values, keep) {
    clear(select);
    for (const v of values) select.appendChild(el('option', { value: v.value }, v.label));
    if (values.some((v) => v.value === keep)) select.value = keep;
  }

  function merchantOf(id) {
    return state.merchants.find((m) => m.id === id);
  }

  // showProvider fits the form to the gateway: its merchants, outcomes,
  // and what a Centili payment lacks (a pending state, a callback URL).
  function showProvider() {
    const p = provider();
    const ms = state.merchants.filter((m) => m.gateways.includes(p));
    options($('sim-merchant'), ms.map((m) => ({ value: m.id, label: m.id })), $('sim-merchant').value);
    options($('sim-outcome'), OUTCOMES[p].map((o) => ({ value: o, label: o })), '');
    const centili = p === 'centili';
    $('sim-mode-pending-label').hidden = centili;
    if (centili) $('sim-mode-new').checked = true;
    $('sim-callback-label').hidden = centili;
    $('sim-callback-url').placeholder = EXAMPLE_URL[p] || '';
    $('sim-out-of-order').disabled = p !== 'cinetpay';
    if (p !== 'cinetpay') $('sim-out-of-order').checked = false;
    showMerchant();
  }

  function showMerchant() {
    const m = merchantOf($('sim-merchant').value);
    const note = $('sim-centili-note');
    note.hidden = provider() !== 'centili';
    note.textContent = m && m.centili_notification_url
      ? 'Centili notifies the service\'s notification_url, set in the configuration: ' + m.centili_notification_url
      : '';
    showMode();
    state.lastPending = '';
    tick();
  }

  function showMode() {
    const pending = $('sim-mode-pending').checked;
    $('sim-new').hidden = pending;
    $('sim-pending').hidden = !pending;
  }

  async function refreshPending() {
    const p = provider();
    const m = $('sim-merchant').value;
    if (p === 'centili' || !m) return;
    const q = new URLSearchParams({ status: 'pending', provider: p, merchant_id: m });
    const data = await api('GET', '/v1/payments?' + q.toString());
    const key = p + '|' + m + '|' + JSON.stringify(data);
    if (key === state.lastPending) return;
    state.lastPending = key;
    const list = data.payments || [];
    options($('sim-payment'), list.map((x) => ({ value: x.reference, label: x.reference })), $('sim-payment').value);
    $('sim-no-pending').hidden = list.length > 0;
  }

  function request() {
    const req = { provider: provider(), merchant_id: $('sim-merchant').value, outcome: $('sim-outcome').value };
    if ($('sim-mode-pending').checked) {
      req.reference = $('sim-payment').value;
    } else {
      const ref = $('sim-reference').value.trim();
      if (ref) req.reference = ref;
      const create = {};
      const url = $('sim-callback-url').value.trim();
      if (url) create.callback_url = url;
      const amount = $('sim-amount').value.trim();
      if (amount) create.amount = Number(amount);
      if (req.provider !== 'centili' || create.amount) req.create = create;
    }
    const scenario = {};
    const delay = $('sim-delay').value.trim();
    if (delay) scenario.delay = delay;
    const dup = Number($('sim-duplicates').value || 0);
    if (dup) scenario.duplicates = dup;
    if ($('sim-out-of-order').checked) scenario.out_of_order = true;
    if (Object.keys(scenario).length) req.scenario = scenario;
    return req;
  }

  $('sim-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = $('sim-error');
    err.hidden = true;
    err.textContent = '';
    const button = $('sim-fire');
    button.disabled = true;
    try {
      const ans = await api('POST', '/v1/simulate', request());
      window.location.assign('/?callback=' + encodeURIComponent(ans.callback_id));
    } catch (ex) {
      err.textContent = (ex.field ? ex.field + ': ' : '') + ex.message;
      err.hidden = false;
      button.disabled = false;
    }
  });

  $('sim-provider').addEventListener('change', showProvider);
  $('sim-merchant').addEventListener('change', showMerchant);
  $('sim-mode-new').addEventListener('change', showMode);
  $('sim-mode-pending').addEventListener('change', () => {
    showMode();
    state.lastPending = '';
    tick();
  });

  let loaded = false;
  async function refresh() {
    if (!loaded) {
      const data = await api('GET', '/v1/merchants');
      state.merchants = data.merchants || [];
      loaded = true;
      showProvider();
      return;
    }
    await refreshPending();
  }
  const tick = live(refresh);
})();
