// A small merchant app in Node with Express: it takes payments through the
// QRIS gateway, CinetPay and Centili and handles their callbacks as each
// gateway's documentation requires. Orders live in memory.
// Run it with `examples/node/run PORT`; see README.md beside it.
'use strict';

const crypto = require('node:crypto');
const express = require('express');

const port = process.argv[2];
if (!port) {
  console.error('usage: node server.js PORT');
  process.exit(2);
}
const env = (name, fallback) => process.env[name] ?? fallback;
const API = env('CALLBACKSIM_API', 'http://127.0.0.1:8080').replace(/\/+$/, '');
const PUBLIC_URL = env('PUBLIC_URL', `http://127.0.0.1:${port}`).replace(/\/+$/, '');
const QRIS_TOKEN = env('QRIS_TOKEN', 'demo-qris-token');
const QRIS_SIGNING_SECRET = env('QRIS_SIGNING_SECRET', '');
const CINETPAY_APIKEY = env('CINETPAY_APIKEY', 'demo-apikey');
const CINETPAY_SITE_ID = env('CINETPAY_SITE_ID', '445160');
const CINETPAY_SECRET_KEY = env('CINETPAY_SECRET_KEY', 'demo-secret');
const CENTILI_SIGNATURE_KEY = env('CENTILI_SIGNATURE_KEY', 'demo-sign-key');
const CENTILI_SIGN_ALGORITHM = env('CENTILI_SIGN_ALGORITHM', 'sha1').toLowerCase();
if (!['sha1', 'sha256', 'md5'].includes(CENTILI_SIGN_ALGORITHM)) {
  console.error(`CENTILI_SIGN_ALGORITHM must be sha1, sha256 or md5, got ${CENTILI_SIGN_ALGORITHM}`);
  process.exit(2);
}
const CENTILI_SERVICE = env('CENTILI_SERVICE', 'demo-service');

const orders = new Map(); // order id -> {order_id, gateway, status}
const processed = new Set(); // "gateway:gateway id" of every settled notification

// Constant-time comparison of a hex signature with the one we computed.
function sameHex(expected, got) {
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(String(got ?? ''), 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
const hmac = (alg, key, message) => crypto.createHmac(alg, key).update(message).digest('hex');

// Calls the gateway's API; throws unless it answers 2xx with JSON.
async function gateway(method, path, { token, body } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(API + path, {
    method, headers, body: body && JSON.stringify(body), signal: AbortSignal.timeout(5000),
  });
  const answer = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

// Records the outcome of one gateway transaction, once. A paid order stays
// paid. An unknown order is kept for review and still acknowledged:
// answering 404 would only make the gateway retry.
function settle(gatewayName, orderId, gatewayId, status) {
  const key = `${gatewayName}:${gatewayId}`;
  if (processed.has(key)) return;
  processed.add(key);
  const order = orders.get(orderId);
  if (!order) {
    console.log(`${gatewayName} payment ${gatewayId} for unknown order ${orderId}: kept for review`);
    return;
  }
  if (!status) return;
  if (order.status !== 'paid') order.status = status;
  if (status === 'paid') setImmediate(fulfil, order.order_id, gatewayId); // the slow work, after answering
}

// Delivers what was bought: e-mails, shipping, credits.
function fulfil(orderId, gatewayId) {
  console.log(`fulfilled order ${orderId} (payment ${gatewayId})`);
}

const app = express();

app.post('/orders', express.json(), async (req, res) => {
  const gatewayName = req.body?.gateway;
  if (!['qris', 'cinetpay', 'centili'].includes(gatewayName)) {
    return res.status(400).json({ error: 'send {"gateway": "qris", "cinetpay" or "centili"}' });
  }
  const id = `ORD-${crypto.randomBytes(6).toString('hex')}`;
  orders.set(id, { order_id: id, gateway: gatewayName, status: 'pending' }); // before the gateway can call back
  try {
    if (gatewayName === 'qris') {
      const txn = await gateway('POST', '/api/qris/initiate', {
        token: QRIS_TOKEN,
        body: {
          amount: 50000, order_id: id, customer_name: 'John Doe', customer_email: 'john@example.com',
          customer_phone: '+62812345678', description: `Order ${id}`, callback_url: `${PUBLIC_URL}/qris`,
        },
      });
      return res.status(201).json({ order_id: id, qr_string: txn.qr_string });
    }
    if (gatewayName === 'cinetpay') {
      const init = await gateway('POST', '/v2/payment', {
        body: {
          apikey: CINETPAY_APIKEY, site_id: CINETPAY_SITE_ID, transaction_id: id, amount: 100, currency: 'XOF',
          description: `Order ${id}`, channels: 'ALL', notify_url: `${PUBLIC_URL}/cinetpay`,
          return_url: `${PUBLIC_URL}/orders/${id}`,
        },
      });
      return res.status(201).json({ order_id: id, payment_url: init.data.payment_url });
    }
    // No API call: the customer pays on Centili's payment page, which takes
    // the service's API key, and the order id as its reference.
    const page = `https://api.centili.com/payment/widget?${new URLSearchParams({ apikey: CENTILI_SERVICE, reference: id })}`;
    return res.status(201).json({ order_id: id, payment_url: page });
  } catch (err) {
    return res.status(502).json({ error: err.message });
  }
});

app.get('/orders/:id', (req, res) => {
  const order = orders.get(req.params.id);
  if (!order) return res.status(404).json({ error: 'no such order' });
  return res.json(order);
});

// QRIS: a JSON POST, signed with X-Callback-Signature (HMAC-SHA256 of the
// raw body) when the merchant has a signing secret. Without one anyone could
// post it, so the status is taken from the gateway's API instead.
app.post('/qris', express.raw({ type: '*/*' }), async (req, res) => {
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if (QRIS_SIGNING_SECRET && !sameHex(hmac('sha256', QRIS_SIGNING_SECRET, raw), req.get('X-Callback-Signature'))) {
    return res.status(401).send('bad signature');
  }
  let cb;
  try {
    cb = JSON.parse(raw);
  } catch {
    return res.status(400).send('not JSON');
  }
  if (!cb?.order_id || !cb.transaction_id) return res.status(400).send('not a QRIS callback');
  if (processed.has(`qris:${cb.transaction_id}`)) return res.send('OK'); // a repeat
  if (!QRIS_SIGNING_SECRET) {
    try {
      cb = await gateway('GET', `/api/qris/transactions/${encodeURIComponent(cb.order_id)}`, { token: QRIS_TOKEN });
    } catch {
      return res.status(503).send('cannot confirm the payment now'); // the gateway retries
    }
  }
  const status = { SUCCESS: 'paid', FAILED: 'failed' }[cb.status];
  if (status) settle('qris', cb.order_id, cb.transaction_id, status);
  return res.send('OK');
});

// CinetPay: a GET ping (answer 200), then a form POST with an x-token HMAC
// over 16 fields in this order. The notification carries no status to
// trust: ask the verification API, unless the payment is already settled.
const CINETPAY_FIELDS = [
  'cpm_site_id', 'cpm_trans_id', 'cpm_trans_date', 'cpm_amount', 'cpm_currency', 'signature',
  'payment_method', 'cel_phone_num', 'cpm_phone_prefixe', 'cpm_language', 'cpm_version',
  'cpm_payment_config', 'cpm_page_action', 'cpm_custom', 'cpm_designation', 'cpm_error_message',
];
app.get('/cinetpay', (req, res) => res.send('OK'));
app.post('/cinetpay', express.urlencoded({ extended: false }), async (req, res) => {
  const form = req.body ?? {};
  const message = CINETPAY_FIELDS.map((name) => form[name] ?? '').join('');
  if (!sameHex(hmac('sha256', CINETPAY_SECRET_KEY, message), req.get('x-token'))) {
    return res.status(401).send('bad x-token');
  }
  const id = form.cpm_trans_id;
  if (processed.has(`cinetpay:${id}`)) return res.send('OK');
  let check;
  try {
    check = await gateway('POST', '/v2/payment/check', {
      body: { apikey: CINETPAY_APIKEY, site_id: CINETPAY_SITE_ID, transaction_id: id },
    });
  } catch {
    return res.status(503).send('cannot verify the payment now'); // CinetPay notifies again
  }
  // WAITING_FOR_CUSTOMER is not final: another notification follows.
  const status = { ACCEPTED: 'paid', REFUSED: 'failed' }[check.data?.status];
  if (status) settle('cinetpay', id, id, status);
  return res.send('OK');
});

// Centili: a GET whose sign is an HMAC over the other parameters' values,
// sorted by parameter name. 406 tells Centili to stop: a bad sign will not
// get better.
app.get('/centili', (req, res) => {
  const query = new URL(req.originalUrl, 'http://localhost').searchParams;
  const names = [...new Set(query.keys())].filter((name) => name !== 'sign').sort();
  const message = names.map((name) => query.getAll(name).join('')).join('');
  if (!sameHex(hmac(CENTILI_SIGN_ALGORITHM, CENTILI_SIGNATURE_KEY, message), query.get('sign'))) {
    return res.status(406).send('bad sign');
  }
  const id = query.get('transactionid');
  const reference = query.get('reference') ?? query.get('clientid'); // some services call it clientid
  if (query.get('event_type') === 'opt_out') {
    console.log(`subscription ${query.get('subscriptionid')} of order ${reference} ended`);
    settle('centili', reference, id, null);
  } else {
    settle('centili', reference, id, query.get('status') === 'success' ? 'paid' : 'failed');
  }
  return res.send('OK');
});

app.listen(Number(port), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
