// callbacksim dashboard: what its pages (callbacks, checks) share. Everything
// shown comes from the operator API and may hold what a merchant's server
// answered: untrusted text. The DOM is built with createElement and
// textContent only, never from HTML strings.
'use strict';

window.callbacksim = (function () {
  const POLL_MS = 1000;
  const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  const $ = (id) => document.getElementById(id);

  // el builds an element: attrs are set as properties or attributes, and
  // children are nodes or strings (always text nodes).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function say(text, isError) {
    const m = $('message');
    m.textContent = text;
    m.className = isError ? 'error' : 'ok';
  }

  // api calls the operator API; an error answer throws an Error carrying
  // the status and the field the API named.
  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    if (r.status === 401) {
      window.location.assign('/');
      throw new Error('signed out');
    }
    let data = null;
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
    if (!r.ok) {
      const msg = data && data.error ? data.error : 'HTTP ' + r.status;
      const err = new Error(msg);
      err.status = r.status;
      err.field = data && data.field ? data.field : '';
      throw err;
    }
    return data;
  }

  function time(s) {
    if (!s) return '-';
    const d = new Date(s);
    if (isNaN(d)) return String(s);
    const today = new Date().toDateString() === d.toDateString();
    const t = d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
    return today ? t : d.toLocaleDateString() + ' ' + t;
  }

  function statusBadge(status, id) {
    return el('span', { class: 'status status-' + status, id: id, dataset: { status: status } }, status);
  }

  // live runs refresh every second while the page is visible, and says in
  // #live whether it is up to date; it returns a function that refreshes
  // now (once more after the refresh in progress, if one is).
  function live(refresh) {
    let running = false;
    let again = false;
    async function tick() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        await refresh();
        $('live').textContent = 'live · ' + new Date().toLocaleTimeString([], { hour12: false });
        $('live').className = 'live';
      } catch (e) {
        if (e.message !== 'signed out') {
          $('live').textContent = 'not updating: ' + e.message;
          $('live').className = 'stale';
        }
      } finally {
        running = false;
      }
      if (again) {
        again = false;
        await tick();
      }
    }
    function loop() {
      if (!document.hidden) tick();
      window.setTimeout(loop, POLL_MS);
    }
    loop();
    return tick;
  }

  return { $, el, clear, say, api, time, statusBadge, live };
})();
