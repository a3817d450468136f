// callbacksim dashboard: the checks page. It starts a gateway's handler
// checks (POST /v1/checks), lists recent runs, and shows the selected run
// live: each check's verdict, what happened, the rule and its source, how to
// fix it, and links to the check's callbacks on the callbacks page. The
// helpers, and the rule that data is only ever text, are in ui.js.
'use strict';

(function () {
  const RUNS = 20;
  const { $, el, clear, say, api, time, statusBadge, live } = window.callbacksim;

  const state = {
    selected: new URLSearchParams(window.location.search).get('run'),
    run: null,
    lastList: '',
    lastRun: '',
  };

  // ---- the form ----------------------------------------------------------

  function showProvider() {
    const p = $('check-provider').value;
    for (const f of document.querySelectorAll('fieldset.only')) f.hidden = f.dataset.provider !== p;
    $('check-window-label').hidden = p !== 'cinetpay';
  }

  function words(s) {
    return s.split(/[\s,]+/).filter((w) => w !== '');
  }

  function request() {
    const provider = $('check-provider').value;
    const req = { provider: provider, url: $('check-url').value.trim(), orders: words($('check-orders').value) };
    const merchant = $('check-merchant').value.trim();
    if (merchant) req.merchant_id = merchant;
    const only = [];
    for (const box of document.querySelectorAll('fieldset.only[data-provider="' + provider + '"] input:checked')) {
      only.push(box.value);
    }
    if (only.length) req.only = only;
    const verifyWindow = $('check-window').value.trim();
    if (provider === 'cinetpay' && verifyWindow) req.verify_window = verifyWindow;
    return req;
  }

  async function start(req, button) {
    $('check-error').textContent = '';
    button.disabled = true;
    try {
      const ans = await api('POST', '/v1/checks', req);
      say('Run ' + ans.id + ' started: ' + req.provider + ' checks of ' + req.url + '.', false);
      select(ans.id);
    } catch (e) {
      $('check-error').textContent = (e.field ? e.field + ': ' : '') + e.message;
    } finally {
      button.disabled = false;
    }
  }

  $('check-provider').addEventListener('change', showProvider);
  $('check-form').addEventListener('submit', (e) => {
    e.preventDefault();
    start(request(), $('check-start'));
  });
  showProvider();

  // ---- the runs ----------------------------------------------------------

  function counts(run) {
    const n = { pass: 0, fail: 0, warn: 0, skip: 0 };
    for (const r of run.results || []) n[r.status] = (n[r.status] || 0) + 1;
    const done = (run.results || []).length;
    const parts = [n.pass + ' passed', n.fail + ' failed', n.warn + ' warned', n.skip + ' skipped'];
    return done + ' of ' + (run.checks || []).length + ': ' + parts.join(', ');
  }

  async function refreshList() {
    const data = await api('GET', '/v1/checks?limit=' + RUNS);
    const key = JSON.stringify(data) + '|' + state.selected;
    if (key === state.lastList) return;
    state.lastList = key;
    const body = $('runs-list');
    clear(body);
    const runs = data.checks || [];
    $('runs-empty').hidden = runs.length > 0;
    for (const run of runs) {
      const row = el('tr', { tabindex: '0', dataset: { id: run.id }, class: run.id === state.selected ? 'selected' : '' },
        el('td', {}, time(run.started_at)),
        el('td', { class: 'mono' }, run.id),
        el('td', {}, run.provider),
        el('td', { class: 'mono' }, run.url),
        el('td', {}, statusBadge(run.status)),
        el('td', {}, counts(run)));
      row.addEventListener('click', () => select(run.id));
      row.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          select(run.id);
        }
      });
      body.appendChild(row);
    }
  }

  function select(id) {
    state.selected = id;
    state.lastRun = '';
    state.lastList = '';
    const q = id ? '?run=' + encodeURIComponent(id) : '';
    window.history.replaceState(null, '', window.location.pathname + q);
    tick();
  }

  // ---- the selected run --------------------------------------------------

  async function refreshRun() {
    if (!state.selected) {
      $('run').hidden = true;
      return;
    }
    let run;
    try {
      run = await api('GET', '/v1/checks/' + encodeURIComponent(state.selected));
    } catch (e) {
      if (e.status === 404) {
        say('Check run ' + state.selected + ' no longer exists.', true);
        select(null);
        return;
      }
      throw e;
    }
    state.run = run;
    const key = JSON.stringify(run);
    if (key === state.lastRun) return;
    state.lastRun = key;
    renderRun(run);
  }

  function took(run) {
    if (!run.finished_at) return 'running';
    const s = (new Date(run.finished_at) - new Date(run.started_at)) / 1000;
    return time(run.finished_at) + ' (' + s.toFixed(1) + ' s)';
  }

  function renderRun(run) {
    $('run').hidden = false;
    $('run-id').textContent = run.id;
    const fields = $('run-fields');
    clear(fields);
    const rows = [
      ['Gateway', run.provider + ' (merchant ' + run.merchant_id + ')'],
      ['Handler', el('span', { class: 'mono' }, run.url)],
      ['Payments', (run.orders || []).length ? run.orders.join(', ') : 'created by the checks'],
      ['Status', statusBadge(run.status, 'run-status')],
      ['Started', time(run.started_at)],
      ['Finished', took(run)],
    ];
    if (run.only && run.only.length) rows.push(['Only', run.only.join(', ')]);
    if (run.error) rows.push(['Error', el('span', { class: 'error', id: 'run-error' }, run.error)]);
    for (const [k, v] of rows) {
      fields.appendChild(el('dt', {}, k));
      fields.appendChild(el('dd', {}, v));
    }
    $('run-progress').textContent = counts(run) + (run.current ? ' · now: ' + run.current : '');

    const list = $('results');
    clear(list);
    const done = {};
    for (const r of run.results || []) done[r.name] = r;
    for (const name of run.checks || []) {
      const r = done[name];
      list.appendChild(r ? renderResult(r) : pendingResult(name, name === run.current, run.status === 'running'));
    }
  }

  function pendingResult(name, now, running) {
    const what = now ? 'in progress' : running ? 'waiting' : 'not run';
    return el('li', { class: 'result result-pending', dataset: { name: name } },
      el('div', { class: 'result-head' }, el('span', { class: 'status status-pending' }, what), ' ', el('strong', {}, name)));
  }

  function renderResult(r) {
    const li = el('li', { class: 'result result-' + r.status, dataset: { name: r.name, status: r.status } },
      el('div', { class: 'result-head' }, statusBadge(r.status), ' ', el('strong', {}, r.name)),
      el('p', { class: 'result-detail' }, r.detail));
    if (r.hint) li.appendChild(el('p', { class: 'hint' }, 'Fix: ' + r.hint));
    li.appendChild(el('p', { class: 'rule' }, 'Rule: ' + r.rule + ' (' + r.source + ')'));
    if ((r.callback_ids || []).length) {
      const links = el('p', { class: 'result-callbacks' }, 'Callbacks: ');
      r.callback_ids.forEach((id, i) => {
        if (i > 0) links.appendChild(document.createTextNode(' '));
        links.appendChild(el('a', { class: 'mono', href: '/?callback=' + encodeURIComponent(id) }, id));
      });
      li.appendChild(links);
    }
    return li;
  }

  $('run-close').addEventListener('click', () => select(null));
  $('run-again').addEventListener('click', () => {
    const run = state.run;
    if (!run) return;
    const req = { provider: run.provider, url: run.url, merchant_id: run.merchant_id, orders: run.orders || [] };
    if (run.only && run.only.length) req.only = run.only;
    start(req, $('run-again'));
  });

  const tick = live(() => Promise.all([refreshList(), refreshRun()]));
})();
