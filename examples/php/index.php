<?php
// A small merchant app in plain PHP 8, served by `php -S`: it takes payments
// through the QRIS gateway, CinetPay and Centili and handles their callbacks
// as each gateway's documentation requires.
// Run it with `examples/php/run PORT`; see README.md beside it.
//
// PHP forgets everything between two requests, so the orders are kept in a
// JSON file (ORDERS_FILE), locked while a request changes it: a stand-in for
// your database.

declare(strict_types=1);

function env(string $name, string $default): string
{
    $v = getenv($name);
    return $v === false ? $default : $v;
}

$port = (string) ($_SERVER['SERVER_PORT'] ?? '8000');
define('API', rtrim(env('CALLBACKSIM_API', 'http://127.0.0.1:8080'), '/'));
define('PUBLIC_URL', rtrim(env('PUBLIC_URL', "http://127.0.0.1:$port"), '/'));
define('QRIS_TOKEN', env('QRIS_TOKEN', 'demo-qris-token'));
define('QRIS_SIGNING_SECRET', env('QRIS_SIGNING_SECRET', ''));
define('CINETPAY_APIKEY', env('CINETPAY_APIKEY', 'demo-apikey'));
define('CINETPAY_SITE_ID', env('CINETPAY_SITE_ID', '445160'));
define('CINETPAY_SECRET_KEY', env('CINETPAY_SECRET_KEY', 'demo-secret'));
define('CENTILI_SIGNATURE_KEY', env('CENTILI_SIGNATURE_KEY', 'demo-sign-key'));
define('CENTILI_SIGN_ALGORITHM', strtolower(env('CENTILI_SIGN_ALGORITHM', 'sha1')));
define('ORDERS_FILE', env('ORDERS_FILE', sys_get_temp_dir() . "/callbacksim-php-orders-$port.json"));
define('CENTILI_SERVICE', env('CENTILI_SERVICE', 'demo-service'));

/** Answers with a status and a body. */
function answer(int $status, string|array $body): void
{
    http_response_code($status);
    if (is_array($body)) {
        header('Content-Type: application/json');
        $body = json_encode($body, JSON_UNESCAPED_SLASHES);
    }
    header('Content-Length: ' . strlen($body)); // so that the gateway need not wait for the script's end
    echo $body;
}

/**
 * Sends the answer now and lets the script go on: the gateway is not kept
 * waiting while the slow work (e-mails, shipping) runs.
 */
function finish_response(): void
{
    if (function_exists('fastcgi_finish_request')) { // PHP-FPM
        fastcgi_finish_request();
        return;
    }
    while (ob_get_level() > 0) {
        ob_end_flush();
    }
    flush();
}

/** Runs $change on the stored orders under an exclusive lock, and saves them. */
function with_orders(callable $change): mixed
{
    $fh = fopen(ORDERS_FILE, 'c+');
    flock($fh, LOCK_EX);
    $db = json_decode(stream_get_contents($fh) ?: '{}', true) + ['orders' => [], 'processed' => []];
    $result = $change($db);
    ftruncate($fh, 0);
    rewind($fh);
    fwrite($fh, json_encode($db));
    fflush($fh);
    flock($fh, LOCK_UN);
    fclose($fh);
    return $result;
}

function processed(string $key): bool
{
    return with_orders(fn (array &$db) => isset($db['processed'][$key]));
}

/**
 * Records the outcome of one gateway transaction, once, and says whether it
 * paid an order. A paid order stays paid. An unknown order is kept for
 * review and still acknowledged: answering 404 would only make the gateway
 * retry.
 */
function settle(string $gateway, string $orderId, string $gatewayId, ?string $status): bool
{
    return with_orders(function (array &$db) use ($gateway, $orderId, $gatewayId, $status): bool {
        if (isset($db['processed']["$gateway:$gatewayId"])) {
            return false;
        }
        $db['processed']["$gateway:$gatewayId"] = true;
        if (!isset($db['orders'][$orderId])) {
            error_log("$gateway payment $gatewayId for unknown order $orderId: kept for review");
            return false;
        }
        if ($status === null) {
            return false;
        }
        if ($db['orders'][$orderId]['status'] !== 'paid') {
            $db['orders'][$orderId]['status'] = $status;
        }
        return $status === 'paid';
    });
}

/** Delivers what was bought: e-mails, shipping, credits. */
function fulfil(string $orderId, string $gatewayId): void
{
    error_log("fulfilled order $orderId (payment $gatewayId)");
}

/** Calls the gateway's API; returns the decoded JSON answer, or null unless it answered 2xx. */
function gateway(string $method, string $path, ?array $body = null, string $token = ''): ?array
{
    $headers = ['Content-Type: application/json'];
    if ($token !== '') {
        $headers[] = "Authorization: Bearer $token";
    }
    $context = stream_context_create(['http' => [
        'method' => $method,
        'header' => $headers,
        'content' => $body === null ? '' : json_encode($body),
        'timeout' => 5,
        'ignore_errors' => true, // read the answer of a 4xx or 5xx too
    ]]);
    $raw = @file_get_contents(API . $path, false, $context);
    $status = (int) explode(' ', $http_response_header[0] ?? 'HTTP/1.1 0')[1];
    return $raw === false || $status < 200 || $status > 299 ? null : json_decode($raw, true);
}

function create_order(): void
{
    $gateway = json_decode(file_get_contents('php://input'), true)['gateway'] ?? null;
    if (!in_array($gateway, ['qris', 'cinetpay', 'centili'], true)) {
        answer(400, ['error' => 'send {"gateway": "qris", "cinetpay" or "centili"}']);
        return;
    }
    $id = 'ORD-' . bin2hex(random_bytes(6));
    with_orders(function (array &$db) use ($id, $gateway) { // before the gateway can call back
        $db['orders'][$id] = ['order_id' => $id, 'gateway' => $gateway, 'status' => 'pending'];
    });
    if ($gateway === 'qris') {
        $txn = gateway('POST', '/api/qris/initiate', [
            'amount' => 50000, 'order_id' => $id, 'customer_name' => 'John Doe',
            'customer_email' => 'john@example.com', 'customer_phone' => '+62812345678',
            'description' => "Order $id", 'callback_url' => PUBLIC_URL . '/qris',
        ], QRIS_TOKEN);
        $txn === null
            ? answer(502, ['error' => 'the QRIS gateway refused the payment'])
            : answer(201, ['order_id' => $id, 'qr_string' => $txn['qr_string']]);
    } elseif ($gateway === 'cinetpay') {
        $init = gateway('POST', '/v2/payment', [
            'apikey' => CINETPAY_APIKEY, 'site_id' => CINETPAY_SITE_ID, 'transaction_id' => $id,
            'amount' => 100, 'currency' => 'XOF', 'description' => "Order $id", 'channels' => 'ALL',
            'notify_url' => PUBLIC_URL . '/cinetpay', 'return_url' => PUBLIC_URL . "/orders/$id",
        ]);
        $init === null
            ? answer(502, ['error' => 'CinetPay refused the payment'])
            : answer(201, ['order_id' => $id, 'payment_url' => $init['data']['payment_url']]);
    } else {
        // No API call: the customer pays on Centili's payment page, which
        // takes the service's API key, and the order id as its reference.
        $page = 'https://api.centili.com/payment/widget?' . http_build_query(['apikey' => CENTILI_SERVICE, 'reference' => $id]);
        answer(201, ['order_id' => $id, 'payment_url' => $page]);
    }
}

function show_order(string $id): void
{
    $order = with_orders(fn (array &$db) => $db['orders'][$id] ?? null);
    $order === null ? answer(404, ['error' => 'no such order']) : answer(200, $order);
}

// QRIS: a JSON POST, signed with X-Callback-Signature (HMAC-SHA256 of the
// raw body) when the merchant has a signing secret. Without one anyone could
// post it, so the status is taken from the gateway's API instead.
function qris(): void
{
    $raw = file_get_contents('php://input');
    $expected = hash_hmac('sha256', $raw, QRIS_SIGNING_SECRET);
    if (QRIS_SIGNING_SECRET !== '' && !hash_equals($expected, strtolower($_SERVER['HTTP_X_CALLBACK_SIGNATURE'] ?? ''))) {
        answer(401, 'bad signature');
        return;
    }
    $cb = json_decode($raw, true);
    if (!is_array($cb) || empty($cb['order_id']) || empty($cb['transaction_id'])) {
        answer(400, 'not a QRIS callback');
        return;
    }
    if (processed("qris:{$cb['transaction_id']}")) {
        answer(200, 'OK'); // a repeat
        return;
    }
    if (QRIS_SIGNING_SECRET === '') {
        $cb = gateway('GET', '/api/qris/transactions/' . rawurlencode($cb['order_id']), null, QRIS_TOKEN);
        if ($cb === null) {
            answer(503, 'cannot confirm the payment now'); // the gateway retries
            return;
        }
    }
    $status = ['SUCCESS' => 'paid', 'FAILED' => 'failed'][$cb['status'] ?? ''] ?? null;
    $paid = $status !== null && settle('qris', $cb['order_id'], $cb['transaction_id'], $status);
    answer(200, 'OK');
    if ($paid) {
        finish_response();
        fulfil($cb['order_id'], $cb['transaction_id']);
    }
}

// CinetPay: a GET ping (answer 200), then a form POST with an x-token HMAC
// over 16 fields in this order. The notification carries no status to
// trust: ask the verification API, unless the payment is already settled.
const CINETPAY_FIELDS = [
    'cpm_site_id', 'cpm_trans_id', 'cpm_trans_date', 'cpm_amount', 'cpm_currency', 'signature',
    'payment_method', 'cel_phone_num', 'cpm_phone_prefixe', 'cpm_language', 'cpm_version',
    'cpm_payment_config', 'cpm_page_action', 'cpm_custom', 'cpm_designation', 'cpm_error_message',
];

function cinetpay(): void
{
    if ($_SERVER['REQUEST_METHOD'] === 'GET') {
        answer(200, 'OK');
        return;
    }
    $message = implode('', array_map(fn ($name) => (string) ($_POST[$name] ?? ''), CINETPAY_FIELDS));
    $expected = hash_hmac('sha256', $message, CINETPAY_SECRET_KEY);
    if (!hash_equals($expected, strtolower($_SERVER['HTTP_X_TOKEN'] ?? ''))) {
        answer(401, 'bad x-token');
        return;
    }
    $id = (string) ($_POST['cpm_trans_id'] ?? '');
    if (processed("cinetpay:$id")) {
        answer(200, 'OK');
        return;
    }
    $check = gateway('POST', '/v2/payment/check', [
        'apikey' => CINETPAY_APIKEY, 'site_id' => CINETPAY_SITE_ID, 'transaction_id' => $id,
    ]);
    if ($check === null) {
        answer(503, 'cannot verify the payment now'); // CinetPay notifies again
        return;
    }
    // WAITING_FOR_CUSTOMER is not final: another notification follows.
    $status = ['ACCEPTED' => 'paid', 'REFUSED' => 'failed'][$check['data']['status'] ?? ''] ?? null;
    $paid = $status !== null && settle('cinetpay', $id, $id, $status);
    answer(200, 'OK');
    if ($paid) {
        finish_response();
        fulfil($id, $id);
    }
}

// Centili: a GET whose sign is an HMAC over the other parameters' values,
// sorted by parameter name. 406 tells Centili to stop: a bad sign will not
// get better.
function centili(): void
{
    $params = $_GET;
    unset($params['sign']);
    ksort($params, SORT_STRING);
    $expected = hash_hmac(CENTILI_SIGN_ALGORITHM, implode('', $params), CENTILI_SIGNATURE_KEY);
    if (!hash_equals($expected, strtolower((string) ($_GET['sign'] ?? '')))) {
        answer(406, 'bad sign');
        return;
    }
    $id = (string) ($_GET['transactionid'] ?? '');
    $reference = (string) ($_GET['reference'] ?? $_GET['clientid'] ?? ''); // some services call it clientid
    if (($_GET['event_type'] ?? '') === 'opt_out') {
        error_log('subscription ' . ($_GET['subscriptionid'] ?? '') . " of order $reference ended");
        settle('centili', $reference, $id, null);
        answer(200, 'OK');
        return;
    }
    $paid = settle('centili', $reference, $id, ($_GET['status'] ?? '') === 'success' ? 'paid' : 'failed');
    answer(200, 'OK');
    if ($paid) {
        finish_response();
        fulfil($reference, $id);
    }
}

$method = $_SERVER['REQUEST_METHOD'];
$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);
match (true) {
    $method === 'POST' && $path === '/orders' => create_order(),
    $method === 'GET' && preg_match('#^/orders/([^/]+)$#', $path, $m) === 1 => show_order(rawurldecode($m[1])),
    $method === 'POST' && $path === '/qris' => qris(),
    in_array($method, ['GET', 'POST'], true) && $path === '/cinetpay' => cinetpay(),
    $method === 'GET' && $path === '/centili' => centili(),
    default => answer(404, ['error' => "no route for $method $path"]),
};
