// callbacksim dashboard: the callbacks page. The helpers it shares with the
// checks page, and the rule that data is only ever text, are in ui.js.
'use strict';

(function () {
  const PAGE = 50;
  const { $, el, clear, say, api, time, statusBadge, live } = window.callbacksim;

  const SEARCH_DELAY_MS = 300;

  const state = {
    provider: '',
    status: '',
    search: '',
    cursors: [''], // the cursor of each page visited; the last is the current page
    next: null,
    selected: null,
    lastList: '',
    lastDetail: '',
    detail: null,
    shown: '', // the callback whose attempts are on screen: what is open stays open only within it
    curls: new Map(), // "<callback id>:<attempt n>" -> the curl command fetched for it
  };

  function nextAttempt(s) {
    if (!s) return '-';
    const ms = new Date(s) - new Date();
    return ms > 0 ? time(s) + ' (in ' + (ms / 1000).toFixed(1) + ' s)' : time(s) + ' (due)';
  }

  // ---- the list ----------------------------------------------------------

  async function refreshList() {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (state.provider) q.set('provider', state.provider);
    if (state.status) q.set('status', state.status);
    if (state.search) q.set('search', state.search);
    const cursor = state.cursors[state.cursors.length - 1];
    if (cursor) q.set('cursor', cursor);
    const data = await api('GET', '/v1/callbacks?' + q.toString());
    const key = JSON.stringify(data) + '|' + state.selected;
    state.next = data.next_cursor;
    $('older').disabled = !state.next;
    $('newer').disabled = state.cursors.length <= 1;
    if (key === state.lastList) return;
    state.lastList = key;
    renderList(data.callbacks || []);
  }

  function renderList(callbacks) {
    const body = $('callbacks');
    clear(body);
    const filtered = Boolean(state.provider || state.status || state.search);
    $('empty').hidden = callbacks.length > 0 || filtered || state.cursors.length > 1;
    $('no-match').hidden = callbacks.length > 0 || !filtered;
    for (const cb of callbacks) {
      const row = el('tr', { tabindex: '0', dataset: { id: cb.id }, class: cb.id === state.selected ? 'selected' : '' },
        el('td', { class: 'col-created' }, time(cb.created_at)),
        el('td', { class: 'col-id mono', title: cb.id }, cb.id),
        el('td', { class: 'col-provider' }, cb.provider),
        el('td', { class: 'col-reference', title: cb.reference }, cb.reference),
        el('td', { class: 'col-event', title: cb.event }, cb.event),
        el('td', { class: 'col-status' }, statusBadge(cb.status)),
        el('td', { class: 'col-next' }, cb.next_attempt_at ? time(cb.next_attempt_at) : '-'));
      row.addEventListener('click', () => select(cb.id));
      row.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          select(cb.id);
        }
      });
      body.appendChild(row);
    }
  }

  // ---- the detail view ---------------------------------------------------

  function select(id) {
    state.selected = id;
    state.lastDetail = '';
    state.lastList = '';
    say('');
    tick();
  }

  async function refreshDetail() {
    if (!state.selected) {
      $('detail').hidden = true;
      return;
    }
    let cb;
    try {
      cb = await api('GET', '/v1/callbacks/' + encodeURIComponent(state.selected));
    } catch (e) {
      if (e.status === 404) {
        say('Callback ' + state.selected + ' no longer exists.', true);
        state.selected = null;
        $('detail').hidden = true;
        return;
      }
      throw e;
    }
    state.detail = cb;
    const key = JSON.stringify(cb);
    if (key !== state.lastDetail) {
      state.lastDetail = key;
      renderDetail(cb);
    }
    const next = $('detail-next');
    if (next) next.textContent = nextAttempt(cb.next_attempt_at);
  }

  function renderDetail(cb) {
    $('detail').hidden = false;
    $('detail-id').textContent = cb.id;
    const fields = $('detail-fields');
    clear(fields);
    const rows = [
      ['Provider', cb.provider + ' (merchant ' + cb.merchant_id + ')'],
      ['Reference', cb.reference],
      ['Transaction', cb.transaction_id || '-'],
      ['Event', cb.event],
      ['Status', statusBadge(cb.status, 'detail-status')],
      ['Target', cb.method + ' ' + cb.url],
      ['Created', time(cb.created_at)],
      ['Updated', time(cb.updated_at)],
      ['Next attempt', el('span', { id: 'detail-next' }, nextAttempt(cb.next_attempt_at))],
    ];
    if (cb.check_id) {
      const run = el('a', { id: 'detail-check', href: '/checks?run=' + encodeURIComponent(cb.check_id) }, cb.check_id);
      rows.push(['Handler check', el('span', {}, run, cb.variant ? ' · variant ' + cb.variant : '')]);
    }
    for (const [k, v] of rows) {
      fields.appendChild(el('dt', {}, k));
      fields.appendChild(el('dd', {}, v));
    }
    $('retry-now').disabled = !(cb.next_attempt_at && (cb.status === 'retrying' || cb.status === 'pending'));
    const list = $('attempts');
    // Keep open what the reader opened, in this callback only.
    const open = new Set();
    if (state.shown === cb.id) {
      for (const d of list.querySelectorAll('details[open]')) open.add(d.dataset.key);
    }
    state.shown = cb.id;
    clear(list);
    const attempts = cb.attempts || [];
    if (attempts.length === 0) list.appendChild(el('li', { class: 'none' }, 'No attempt yet.'));
    for (const a of attempts) list.appendChild(renderAttempt(cb, a));
    for (const d of list.querySelectorAll('details')) {
      if (open.has(d.dataset.key)) d.open = true;
    }
  }

  function answerOf(a) {
    if (a.response && !a.error) return 'HTTP ' + a.response.status;
    if (a.response) return 'HTTP ' + a.response.status + ', ' + a.error;
    return a.error || '-';
  }

  function renderAttempt(cb, a) {
    const kind = a.duplicate ? 'duplicate' : a.manual ? 'manual' : 'automatic';
    const li = el('li', { class: 'attempt outcome-' + a.outcome, dataset: { n: a.n } },
      el('div', { class: 'attempt-head' },
        el('strong', {}, '#' + a.n),
        ' ', time(a.at), ' · ', kind, ' · ',
        el('span', { class: 'outcome' }, a.outcome), ' · ', answerOf(a),
        ' · ', Number(a.duration_ms).toFixed(1) + ' ms'));
    if (a.hint) li.appendChild(el('p', { class: 'hint' }, 'Hint: ' + a.hint));
    if (a.ping) {
      li.appendChild(exchange(a.n + ':ping', 'Ping', a.ping.request, a.ping.response, a.ping.error));
    }
    li.appendChild(exchange(a.n + ':main', 'Request and answer', a.request, a.response, a.error));
    const key = cb.id + ':' + a.n;
    const copy = el('button', { type: 'button', class: 'copy-curl', title: 'This attempt\'s request as a curl command that sends the same bytes again' }, 'Copy as curl');
    copy.addEventListener('click', () => copyCurl(copy, cb.id, a.n));
    li.appendChild(el('div', { class: 'attempt-actions' }, copy));
    if (state.curls.has(key)) li.appendChild(curlBox(state.curls.get(key)));
    return li;
  }

  function curlBox(line) {
    return el('pre', { class: 'curl' }, line);
  }

  // copyCurl fetches attempt n's curl command, shows it under the attempt
  // and puts it on the clipboard where the browser allows it (a secure
  // context: https, or localhost).
  async function copyCurl(button, id, n) {
    button.disabled = true;
    try {
      const ans = await api('GET', '/v1/callbacks/' + encodeURIComponent(id) + '/attempts/' + n + '/curl');
      state.curls.set(id + ':' + n, ans.curl);
      const li = button.closest('li');
      const old = li.querySelector('pre.curl');
      if (old) old.remove();
      li.appendChild(curlBox(ans.curl));
      let copied = false;
      if (navigator.clipboard && window.isSecureContext) {
        try {
          await navigator.clipboard.writeText(ans.curl);
          copied = true;
        } catch (e) {
          copied = false;
        }
      }
      say(copied ? 'Copied the curl command of attempt #' + n + '.' : 'The curl command of attempt #' + n + ' is below it: select it and copy.', false);
    } catch (e) {
      say(e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  function headerList(h) {
    const dl = el('dl', { class: 'headers' });
    const names = Object.keys(h || {}).sort();
    for (const n of names) {
      for (const v of h[n]) {
        dl.appendChild(el('dt', {}, n));
        dl.appendChild(el('dd', {}, v));
      }
    }
    return dl;
  }

  // pretty indents a JSON object or array; anything else is shown as it is.
  function pretty(body) {
    const t = body.trim();
    if (!(t.startsWith('{') || t.startsWith('['))) return null;
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch (e) {
      return null;
    }
  }

  function bodyBox(cls, body) {
    const p = pretty(body);
    if (p === null) return el('pre', { class: 'body ' + cls }, body);
    return el('pre', { class: 'body json ' + cls, title: 'JSON, indented; Copy as curl gives the bytes as sent' }, p);
  }

  function exchange(key, title, req, resp, error) {
    const box = el('details', { class: 'exchange', dataset: { key: key } }, el('summary', {}, title));
    if (req) {
      box.appendChild(el('h4', {}, req.method + ' ' + req.url));
      box.appendChild(headerList(req.headers));
      if (req.body) box.appendChild(bodyBox('request-body', req.body));
    }
    if (resp) {
      const cut = [resp.headers_truncated && 'headers', resp.truncated && 'body'].filter(Boolean);
      box.appendChild(el('h4', {}, 'Answer: HTTP ' + resp.status + (cut.length ? ' (' + cut.join(' and ') + ' truncated)' : '')));
      box.appendChild(headerList(resp.headers));
      if (resp.body) box.appendChild(bodyBox('response-body', resp.body));
    } else {
      box.appendChild(el('h4', {}, 'No answer' + (error ? ': ' + error : '')));
    }
    return box;
  }

  // ---- actions -----------------------------------------------------------

  async function act(button, method, path, body, done) {
    button.disabled = true;
    try {
      const ans = await api(method, path, body);
      say(done(ans), false);
      state.lastDetail = '';
      state.lastList = '';
      await tick();
    } catch (e) {
      say(e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  $('resend').addEventListener('click', () => {
    const id = state.selected;
    if (!id) return;
    act($('resend'), 'POST', '/v1/callbacks/' + encodeURIComponent(id) + '/resend', undefined,
      () => 'Resend of ' + id + ' queued: one manual attempt, now.');
  });

  $('retry-now').addEventListener('click', () => {
    const id = state.selected;
    if (!id) return;
    act($('retry-now'), 'POST', '/v1/callbacks/' + encodeURIComponent(id) + '/retry-now', undefined,
      () => 'The scheduled attempt of ' + id + ' runs now.');
  });

  $('resend-matching').addEventListener('click', () => {
    const filter = {};
    if (state.provider) filter.provider = state.provider;
    if (state.status) filter.status = state.status;
    const what = Object.keys(filter).length ? JSON.stringify(filter) : 'every callback';
    if (!window.confirm('Resend ' + what + '?')) return;
    act($('resend-matching'), 'POST', '/v1/callbacks/resend', { filter: filter },
      (ans) => ans.queued + ' callback(s) queued for resend.');
  });

  $('close').addEventListener('click', () => {
    state.selected = null;
    state.lastList = '';
    $('detail').hidden = true;
    tick();
  });

  function filtersChanged() {
    state.provider = $('provider').value;
    state.status = $('status').value;
    state.search = $('search').value.trim();
    state.cursors = [''];
    state.lastList = '';
    say(''); // a message about the list before is not about this one
    // A bulk resend takes a provider and a status, not a search.
    $('resend-matching').disabled = Boolean(state.search);
    tick();
  }
  $('provider').addEventListener('change', filtersChanged);
  $('status').addEventListener('change', filtersChanged);
  let searchTimer = 0;
  $('search').addEventListener('input', () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(filtersChanged, SEARCH_DELAY_MS);
  });
  $('filters').addEventListener('submit', (e) => {
    e.preventDefault();
    window.clearTimeout(searchTimer);
    filtersChanged();
  });

  $('older').addEventListener('click', () => {
    if (!state.next) return;
    state.cursors.push(state.next);
    state.lastList = '';
    tick();
  });
  $('newer').addEventListener('click', () => {
    if (state.cursors.length > 1) state.cursors.pop();
    state.lastList = '';
    tick();
  });

  // ---- live updates ------------------------------------------------------

  // A link from elsewhere (a check's callbacks) opens that callback.
  const asked = new URLSearchParams(window.location.search).get('callback');
  if (asked) state.selected = asked;
  const tick = live(() => Promise.all([refreshList(), refreshDetail()]));
})();
