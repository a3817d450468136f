"""A small merchant app in Python with Flask.

It takes payments through the QRIS gateway, CinetPay and Centili and handles
their callbacks as each gateway's documentation requires. Orders live in
memory. Run it with `examples/python/run PORT`; see README.md beside it.
"""

import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

from flask import Flask, jsonify, request

if len(sys.argv) != 2:
    sys.exit("usage: app.py PORT")
PORT = int(sys.argv[1])
API = os.environ.get("CALLBACKSIM_API", "http://127.0.0.1:8080").rstrip("/")
PUBLIC_URL = os.environ.get("PUBLIC_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
QRIS_TOKEN = os.environ.get("QRIS_TOKEN", "demo-qris-token")
QRIS_SIGNING_SECRET = os.environ.get("QRIS_SIGNING_SECRET", "")
CINETPAY_APIKEY = os.environ.get("CINETPAY_APIKEY", "demo-apikey")
CINETPAY_SITE_ID = os.environ.get("CINETPAY_SITE_ID", "445160")
CINETPAY_SECRET_KEY = os.environ.get("CINETPAY_SECRET_KEY", "demo-secret")
CENTILI_SIGNATURE_KEY = os.environ.get("CENTILI_SIGNATURE_KEY", "demo-sign-key")
CENTILI_SIGN_ALGORITHM = os.environ.get("CENTILI_SIGN_ALGORITHM", "sha1").lower()
if CENTILI_SIGN_ALGORITHM not in ("sha1", "sha256", "md5"):
    sys.exit("CENTILI_SIGN_ALGORITHM must be sha1, sha256 or md5")
CENTILI_SERVICE = os.environ.get("CENTILI_SERVICE", "demo-service")

app = Flask(__name__)
lock = threading.Lock()
orders = {}  # order id -> {"order_id", "gateway", "status"}
processed = set()  # "gateway:gateway id" of every settled notification


def signature(algorithm, key, message):
    return hmac.new(key.encode(), message, getattr(hashlib, algorithm)).hexdigest()


def same(expected, got):
    """Constant-time comparison of a hex signature with the one we computed."""
    return hmac.compare_digest(expected, (got or "").lower())


class GatewayError(Exception):
    pass


def gateway(method, path, body=None, token=None):
    """Calls the gateway's API; raises GatewayError unless it answers 2xx with JSON."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.load(resp)
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise GatewayError(f"{path}: {err}") from err


def settle(gateway_name, order_id, gateway_id, status):
    """Records the outcome of one gateway transaction, once.

    A paid order stays paid. An unknown order is kept for review and still
    acknowledged: answering 404 would only make the gateway retry.
    """
    with lock:
        key = f"{gateway_name}:{gateway_id}"
        if key in processed:
            return
        processed.add(key)
        order = orders.get(order_id)
        if order is None:
            print(f"{gateway_name} payment {gateway_id} for unknown order {order_id}: kept for review", flush=True)
            return
        if status is None:
            return
        if order["status"] != "paid":
            order["status"] = status
    if status == "paid":  # the slow work, after answering
        threading.Thread(target=fulfil, args=(order_id, gateway_id), daemon=True).start()


def fulfil(order_id, gateway_id):
    """Delivers what was bought: e-mails, shipping, credits."""
    print(f"fulfilled order {order_id} (payment {gateway_id})", flush=True)


@app.post("/orders")
def create_order():
    gateway_name = (request.get_json(silent=True) or {}).get("gateway")
    if gateway_name not in ("qris", "cinetpay", "centili"):
        return jsonify(error='send {"gateway": "qris", "cinetpay" or "centili"}'), 400
    order_id = "ORD-" + secrets.token_hex(6)
    with lock:  # before the gateway can call back
        orders[order_id] = {"order_id": order_id, "gateway": gateway_name, "status": "pending"}
    try:
        if gateway_name == "qris":
            txn = gateway("POST", "/api/qris/initiate", token=QRIS_TOKEN, body={
                "amount": 50000, "order_id": order_id, "customer_name": "John Doe",
                "customer_email": "john@example.com", "customer_phone": "+62812345678",
                "description": f"Order {order_id}", "callback_url": f"{PUBLIC_URL}/qris",
            })
            return jsonify(order_id=order_id, qr_string=txn["qr_string"]), 201
        if gateway_name == "cinetpay":
            init = gateway("POST", "/v2/payment", body={
                "apikey": CINETPAY_APIKEY, "site_id": CINETPAY_SITE_ID, "transaction_id": order_id,
                "amount": 100, "currency": "XOF", "description": f"Order {order_id}", "channels": "ALL",
                "notify_url": f"{PUBLIC_URL}/cinetpay", "return_url": f"{PUBLIC_URL}/orders/{order_id}",
            })
            return jsonify(order_id=order_id, payment_url=init["data"]["payment_url"]), 201
    except GatewayError as err:
        return jsonify(error=str(err)), 502
    # No API call: the customer pays on Centili's payment page, which takes the
    # service's API key, and the order id as its reference.
    page = "https://api.centili.com/payment/widget?" + urllib.parse.urlencode(
        {"apikey": CENTILI_SERVICE, "reference": order_id})
    return jsonify(order_id=order_id, payment_url=page), 201


@app.get("/orders/<order_id>")
def show_order(order_id):
    with lock:
        order = dict(orders[order_id]) if order_id in orders else None
    return (jsonify(order), 200) if order else (jsonify(error="no such order"), 404)


@app.post("/qris")
def qris():
    """QRIS: a JSON POST, signed with X-Callback-Signature (HMAC-SHA256 of the
    raw body) when the merchant has a signing secret. Without one anyone could
    post it, so the status is taken from the gateway's API instead."""
    raw = request.get_data()
    expected = signature("sha256", QRIS_SIGNING_SECRET, raw)
    if QRIS_SIGNING_SECRET and not same(expected, request.headers.get("X-Callback-Signature")):
        return "bad signature", 401
    try:
        cb = json.loads(raw)
    except ValueError:
        return "not JSON", 400
    if not isinstance(cb, dict) or not cb.get("order_id") or not cb.get("transaction_id"):
        return "not a QRIS callback", 400
    if f"qris:{cb['transaction_id']}" in processed:
        return "OK"  # a repeat
    if not QRIS_SIGNING_SECRET:
        try:
            path = "/api/qris/transactions/" + urllib.parse.quote(cb["order_id"], safe="")
            cb = gateway("GET", path, token=QRIS_TOKEN)
        except GatewayError:
            return "cannot confirm the payment now", 503  # the gateway retries
    status = {"SUCCESS": "paid", "FAILED": "failed"}.get(cb.get("status"))
    if status:
        settle("qris", cb["order_id"], cb["transaction_id"], status)
    return "OK"


# CinetPay's x-token is an HMAC over these 16 fields' values, in this order.
CINETPAY_FIELDS = [
    "cpm_site_id", "cpm_trans_id", "cpm_trans_date", "cpm_amount", "cpm_currency", "signature",
    "payment_method", "cel_phone_num", "cpm_phone_prefixe", "cpm_language", "cpm_version",
    "cpm_payment_config", "cpm_page_action", "cpm_custom", "cpm_designation", "cpm_error_message",
]


@app.route("/cinetpay", methods=["GET", "POST"])
def cinetpay():
    """CinetPay: a GET ping (answer 200), then a form POST with x-token. The
    notification carries no status to trust: ask the verification API, unless
    the payment is already settled."""
    if request.method == "GET":
        return "OK"
    message = "".join(request.form.get(name, "") for name in CINETPAY_FIELDS).encode()
    if not same(signature("sha256", CINETPAY_SECRET_KEY, message), request.headers.get("x-token")):
        return "bad x-token", 401
    txn_id = request.form.get("cpm_trans_id", "")
    if f"cinetpay:{txn_id}" in processed:
        return "OK"
    try:
        check = gateway("POST", "/v2/payment/check", body={
            "apikey": CINETPAY_APIKEY, "site_id": CINETPAY_SITE_ID, "transaction_id": txn_id,
        })
    except GatewayError:
        return "cannot verify the payment now", 503  # CinetPay notifies again
    # WAITING_FOR_CUSTOMER is not final: another notification follows.
    status = {"ACCEPTED": "paid", "REFUSED": "failed"}.get((check.get("data") or {}).get("status"))
    if status:
        settle("cinetpay", txn_id, txn_id, status)
    return "OK"


@app.get("/centili")
def centili():
    """Centili: a GET whose sign is an HMAC over the other parameters' values,
    sorted by parameter name. 406 tells Centili to stop: a bad sign will not
    get better."""
    args = request.args
    message = "".join("".join(args.getlist(name)) for name in sorted(args) if name != "sign").encode()
    if not same(signature(CENTILI_SIGN_ALGORITHM, CENTILI_SIGNATURE_KEY, message), args.get("sign")):
        return "bad sign", 406
    txn_id = args.get("transactionid", "")
    reference = args.get("reference", args.get("clientid", ""))  # some services call it clientid
    if args.get("event_type") == "opt_out":
        print(f"subscription {args.get('subscriptionid')} of order {reference} ended", flush=True)
        settle("centili", reference, txn_id, None)
    else:
        settle("centili", reference, txn_id, "paid" if args.get("status") == "success" else "failed")
    return "OK"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=PORT, threaded=True)
