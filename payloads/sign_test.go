package payloads_test

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callbacksim/callbacksim/payloads"
)

// The vectors of PROVIDERS.md, copied byte for byte.
const (
	cinetPayVectorKey     = "mysecret"
	cinetPayVectorMessage = "445160TX1232024-01-15 10:30:00100XOFabcOM0700000000225frV4SINGLEPAYMENTTestSUCCES"
	cinetPayVectorXToken  = "3323e9935883eb1689388f2a6f09992162ae0a9c4788eae6d0d46c26e581e723"

	centiliVectorKey     = "Centili"
	centiliVectorMessage = "rs1.00RS_VIP4366124567123456788.0564fc865026b76093fa8cae153740af25c8failed1488787"
	centiliVectorSign    = "d68f3fe4ee821250c65a50e208a9f7be927701d4"

	webhookVectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	webhookVectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	webhookVectorTimestamp = 1614265330
	webhookVectorBody      = `{"test": 2432232314}`
	webhookVectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// cinetPayVectorFields are the fields whose concatenation is
// cinetPayVectorMessage (cpm_custom empty, cpm_designation "Test").
func cinetPayVectorFields() payloads.CinetPayFields {
	return payloads.CinetPayFields{
		SiteID:        "445160",
		TransID:       "TX123",
		TransDate:     "2024-01-15 10:30:00",
		Amount:        "100",
		Currency:      "XOF",
		Signature:     "abc",
		PaymentMethod: "OM",
		CelPhoneNum:   "0700000000",
		PhonePrefixe:  "225",
		Language:      "fr",
		Version:       "V4",
		PaymentConfig: "SINGLE",
		PageAction:    "PAYMENT",
		Custom:        "",
		Designation:   "Test",
		ErrorMessage:  "SUCCES",
	}
}

// centiliVectorParams are the parameters of the Centili vector.
func centiliVectorParams() url.Values {
	return url.Values{
		"country":       {"rs"},
		"enduserprice":  {"1.00"},
		"mnocode":       {"RS_VIP"},
		"phone":         {"4366124567"},
		"reference":     {"12345678"},
		"revenue":       {"8.0564"},
		"service":       {"fc865026b76093fa8cae153740af25c8"},
		"status":        {"failed"},
		"transactionid": {"1488787"},
	}
}

// hmacHex is the independent computation the tests check against.
func hmacHex(t *testing.T, h func() hash.Hash, key, message string) string {
	t.Helper()
	m := hmac.New(h, []byte(key))
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

func TestCinetPayXToken(t *testing.T) {
	missingCustom := cinetPayVectorFields().Form()
	missingCustom.Del("cpm_custom")

	tests := []struct {
		name   string
		fields payloads.CinetPayFields
		key    string
		want   string
	}{
		{
			name:   "PROVIDERS.md vector",
			fields: cinetPayVectorFields(),
			key:    cinetPayVectorKey,
			want:   cinetPayVectorXToken,
		},
		{
			name:   "vector with a missing field read from a form",
			fields: payloads.CinetPayFieldsFromForm(missingCustom),
			key:    cinetPayVectorKey,
			want:   cinetPayVectorXToken,
		},
		{
			name:   "independent computation, same message",
			fields: cinetPayVectorFields(),
			key:    cinetPayVectorKey,
			want:   hmacHex(t, sha256.New, cinetPayVectorKey, cinetPayVectorMessage),
		},
		{
			name:   "all fields empty",
			fields: payloads.CinetPayFields{},
			key:    "k",
			want:   hmacHex(t, sha256.New, "k", ""),
		},
		{
			name:   "every field distinct, concatenated in order",
			fields: payloads.CinetPayFieldsFromForm(numberedCinetPayForm()),
			key:    "k",
			want:   hmacHex(t, sha256.New, "k", "a0a1a2a3a4a5a6a7a8a9a10a11a12a13a14a15"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fields.XToken(tt.key); got != tt.want {
				t.Errorf("XToken() mismatch (-want +got):\n-%s\n+%s", tt.want, got)
			}
		})
	}
}

// cinetPayFormNames are the form names in x-token order, as PROVIDERS.md
// lists them.
var cinetPayFormNames = []string{
	"cpm_site_id", "cpm_trans_id", "cpm_trans_date", "cpm_amount",
	"cpm_currency", "signature", "payment_method", "cel_phone_num",
	"cpm_phone_prefixe", "cpm_language", "cpm_version", "cpm_payment_config",
	"cpm_page_action", "cpm_custom", "cpm_designation", "cpm_error_message",
}

// numberedCinetPayForm gives the i-th field the value "a<i>".
func numberedCinetPayForm() url.Values {
	v := url.Values{}
	for i, name := range cinetPayFormNames {
		v.Set(name, "a"+strconv.Itoa(i))
	}
	return v
}

func TestCinetPayFieldsTagsMatchForm(t *testing.T) {
	typ := reflect.TypeFor[payloads.CinetPayFields]()
	if typ.NumField() != len(cinetPayFormNames) {
		t.Fatalf("CinetPayFields has %d fields, want %d", typ.NumField(), len(cinetPayFormNames))
	}
	for i, want := range cinetPayFormNames {
		if got := typ.Field(i).Tag.Get("json"); got != want {
			t.Errorf("field %d (%s) json tag mismatch (-want +got):\n-%s\n+%s", i, typ.Field(i).Name, want, got)
		}
	}
}

func TestCinetPayForm(t *testing.T) {
	tests := []struct {
		name   string
		fields payloads.CinetPayFields
	}{
		{name: "vector", fields: cinetPayVectorFields()},
		{name: "zero value", fields: payloads.CinetPayFields{}},
		{name: "numbered", fields: payloads.CinetPayFieldsFromForm(numberedCinetPayForm())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := tt.fields.Form()
			if len(form) != len(cinetPayFormNames) {
				t.Errorf("Form() has %d keys, want %d: %v", len(form), len(cinetPayFormNames), form)
			}
			for _, name := range cinetPayFormNames {
				if got := form[name]; len(got) != 1 {
					t.Errorf("Form()[%q] = %q, want exactly one value", name, got)
				}
			}
			if got := payloads.CinetPayFieldsFromForm(form); got != tt.fields {
				t.Errorf("CinetPayFieldsFromForm(Form()) mismatch (-want +got):\n-%+v\n+%+v", tt.fields, got)
			}
			parsed, err := url.ParseQuery(tt.fields.Encode())
			if err != nil {
				t.Fatalf("ParseQuery(Encode()): %v", err)
			}
			if !reflect.DeepEqual(parsed, form) {
				t.Errorf("ParseQuery(Encode()) mismatch (-want +got):\n-%v\n+%v", form, parsed)
			}
		})
	}
}

func TestCinetPayFieldsFromFormFirstValueAndExtras(t *testing.T) {
	form := cinetPayVectorFields().Form()
	form.Add("cpm_amount", "999")    // a repeated field counts by its first value
	form.Set("cpm_extra", "ignored") // unknown fields are ignored
	if got, want := payloads.CinetPayFieldsFromForm(form), cinetPayVectorFields(); got != want {
		t.Errorf("CinetPayFieldsFromForm mismatch (-want +got):\n-%+v\n+%+v", want, got)
	}
}

func TestCinetPayEncodeOrder(t *testing.T) {
	tests := []struct {
		name   string
		fields payloads.CinetPayFields
		want   string
	}{
		{
			name:   "vector, x-token order and escaping",
			fields: cinetPayVectorFields(),
			want: "cpm_site_id=445160&cpm_trans_id=TX123&cpm_trans_date=2024-01-15+10%3A30%3A00" +
				"&cpm_amount=100&cpm_currency=XOF&signature=abc&payment_method=OM" +
				"&cel_phone_num=0700000000&cpm_phone_prefixe=225&cpm_language=fr&cpm_version=V4" +
				"&cpm_payment_config=SINGLE&cpm_page_action=PAYMENT&cpm_custom=" +
				"&cpm_designation=Test&cpm_error_message=SUCCES",
		},
		{
			name:   "zero value keeps every field",
			fields: payloads.CinetPayFields{},
			want:   strings.Join(cinetPayFormNames, "=&") + "=",
		},
		{
			name:   "reserved characters are escaped",
			fields: payloads.CinetPayFields{Custom: `{"a":"b&c=d"}`, Designation: "Café 100%"},
			want: "cpm_site_id=&cpm_trans_id=&cpm_trans_date=&cpm_amount=&cpm_currency=" +
				"&signature=&payment_method=&cel_phone_num=&cpm_phone_prefixe=&cpm_language=" +
				"&cpm_version=&cpm_payment_config=&cpm_page_action=" +
				"&cpm_custom=%7B%22a%22%3A%22b%26c%3Dd%22%7D&cpm_designation=Caf%C3%A9+100%25" +
				"&cpm_error_message=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.fields.Encode(); got != tt.want {
				t.Errorf("Encode() mismatch (-want +got):\n-%s\n+%s", tt.want, got)
			}
		})
	}
}

func TestVerifyCinetPayXToken(t *testing.T) {
	vector := cinetPayVectorFields().Form()
	tampered := cinetPayVectorFields()
	tampered.Amount = "1000"
	withExtra := cinetPayVectorFields().Form()
	withExtra.Set("cpm_result", "00")

	tests := []struct {
		name   string
		key    string
		form   url.Values
		xToken string
		want   bool
	}{
		{name: "vector", key: cinetPayVectorKey, form: vector, xToken: cinetPayVectorXToken, want: true},
		{name: "upper-case hex", key: cinetPayVectorKey, form: vector, xToken: strings.ToUpper(cinetPayVectorXToken), want: true},
		{name: "unsigned extra field", key: cinetPayVectorKey, form: withExtra, xToken: cinetPayVectorXToken, want: true},
		{name: "wrong secret", key: "notmysecret", form: vector, xToken: cinetPayVectorXToken, want: false},
		{name: "apikey instead of secret", key: "", form: vector, xToken: cinetPayVectorXToken, want: false},
		{name: "tampered amount", key: cinetPayVectorKey, form: tampered.Form(), xToken: cinetPayVectorXToken, want: false},
		{name: "truncated token", key: cinetPayVectorKey, form: vector, xToken: cinetPayVectorXToken[:62], want: false},
		{name: "empty token", key: cinetPayVectorKey, form: vector, xToken: "", want: false},
		{name: "not hex", key: cinetPayVectorKey, form: vector, xToken: strings.Repeat("zz", 32), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := payloads.VerifyCinetPayXToken(tt.key, tt.form, tt.xToken); got != tt.want {
				t.Errorf("VerifyCinetPayXToken() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseSignAlgorithm(t *testing.T) {
	tests := []struct {
		in      string
		want    payloads.SignAlgorithm
		wantErr error
	}{
		{in: "", want: payloads.SignSHA1},
		{in: "sha1", want: payloads.SignSHA1},
		{in: "SHA1", want: payloads.SignSHA1},
		{in: "sha256", want: payloads.SignSHA256},
		{in: "Sha256", want: payloads.SignSHA256},
		{in: "md5", want: payloads.SignMD5},
		{in: "MD5", want: payloads.SignMD5},
		{in: "sha512", wantErr: payloads.ErrUnknownAlgorithm},
		{in: "sha-1", wantErr: payloads.ErrUnknownAlgorithm},
		{in: " sha1", wantErr: payloads.ErrUnknownAlgorithm},
		{in: "hmac-sha1", wantErr: payloads.ErrUnknownAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := payloads.ParseSignAlgorithm(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseSignAlgorithm(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseSignAlgorithm(%q) mismatch (-want +got):\n-%q\n+%q", tt.in, tt.want, got)
			}
		})
	}
}

func TestCentiliSign(t *testing.T) {
	withSign := centiliVectorParams()
	withSign.Set("sign", "0000")
	multi := url.Values{"b": {"2", "3"}, "a": {"1"}, "B": {"0"}, "c": {}}

	tests := []struct {
		name   string
		key    string
		alg    payloads.SignAlgorithm
		params url.Values
		want   string
	}{
		{
			name: "PROVIDERS.md vector (HMAC-SHA1)", key: centiliVectorKey,
			alg: payloads.SignSHA1, params: centiliVectorParams(), want: centiliVectorSign,
		},
		{
			name: "zero SignAlgorithm is SHA1", key: centiliVectorKey,
			alg: "", params: centiliVectorParams(), want: centiliVectorSign,
		},
		{
			name: "sign excluded from its own message", key: centiliVectorKey,
			alg: payloads.SignSHA1, params: withSign, want: centiliVectorSign,
		},
		{
			name: "HMAC-SHA256", key: centiliVectorKey, alg: payloads.SignSHA256,
			params: centiliVectorParams(),
			want:   hmacHex(t, sha256.New, centiliVectorKey, centiliVectorMessage),
		},
		{
			name: "HMAC-MD5", key: centiliVectorKey, alg: payloads.SignMD5,
			params: centiliVectorParams(),
			want:   hmacHex(t, md5.New, centiliVectorKey, centiliVectorMessage),
		},
		{
			name: "several values, byte order of names", key: "k", alg: payloads.SignSHA256,
			params: multi, want: hmacHex(t, sha256.New, "k", "0123"),
		},
		{
			name: "no parameters", key: "k", alg: payloads.SignMD5,
			params: url.Values{}, want: hmacHex(t, md5.New, "k", ""),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payloads.CentiliSign(tt.key, tt.alg, tt.params)
			if err != nil {
				t.Fatalf("CentiliSign: %v", err)
			}
			if got != tt.want {
				t.Errorf("CentiliSign() mismatch (-want +got):\n-%s\n+%s", tt.want, got)
			}
		})
	}
}

func TestCentiliSignUnknownAlgorithm(t *testing.T) {
	got, err := payloads.CentiliSign(centiliVectorKey, "sha512", centiliVectorParams())
	if !errors.Is(err, payloads.ErrUnknownAlgorithm) {
		t.Errorf("CentiliSign(sha512) error = %v, want %v", err, payloads.ErrUnknownAlgorithm)
	}
	if got != "" {
		t.Errorf("CentiliSign(sha512) = %q, want \"\"", got)
	}
}

func TestCentiliQuery(t *testing.T) {
	withStaleSign := centiliVectorParams()
	withStaleSign.Set("sign", "stale")

	// The vector's parameters in the order of Centili's table, sign after
	// service (the table's interval, which the vector lacks).
	vectorQuery := "transactionid=1488787&phone=4366124567&country=rs&mnocode=RS_VIP&status=failed" +
		"&revenue=8.0564&reference=12345678&enduserprice=1.00&service=fc865026b76093fa8cae153740af25c8" +
		"&sign=" + centiliVectorSign

	subscription := url.Values{
		"momessage": {"GO"}, "subscriptionid": {"77"}, "interval": {"day"}, "opt_in_channel": {"web"},
		"event_type": {"opt_in"}, "status": {"success"}, "transactionid": {"t1"},
	}
	tests := []struct {
		name   string
		params url.Values
		sign   string
		want   string
	}{
		{name: "vector, in table order", params: centiliVectorParams(), sign: centiliVectorSign, want: vectorQuery},
		{name: "a sign in params is dropped", params: withStaleSign, sign: centiliVectorSign, want: vectorQuery},
		{name: "sign between interval and subscriptionid", params: subscription, sign: "s",
			want: "transactionid=t1&status=success&event_type=opt_in&opt_in_channel=web&interval=day&sign=s&subscriptionid=77&momessage=GO"},
		{name: "no sign: an unsigned service", params: centiliVectorParams(), sign: "",
			want: strings.TrimSuffix(vectorQuery, "&sign="+centiliVectorSign)},
		{name: "clientid in reference's place", params: url.Values{"enduserprice": {"2"}, "clientid": {"c"}, "revenue": {"1"}}, sign: "s",
			want: "revenue=1&clientid=c&enduserprice=2&sign=s"},
		{name: "names outside the table follow, sorted", params: url.Values{"zz": {"1"}, "aa": {"2"}, "status": {"3"}}, sign: "s", want: "status=3&sign=s&aa=2&zz=1"},
		{name: "several values in order", params: url.Values{"b": {"2", "1"}, "phone": {"x"}}, sign: "s", want: "phone=x&sign=s&b=2&b=1"},
		{name: "escaping", params: url.Values{"errormessage": {"NOT ENOUGH&CREDIT"}, "mno": {""}}, sign: "s", want: "mno=&errormessage=NOT+ENOUGH%26CREDIT&sign=s"},
		{name: "no parameters", params: nil, sign: "s", want: "sign=s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := payloads.CentiliQuery(tt.params, tt.sign); got != tt.want {
				t.Errorf("CentiliQuery() mismatch (-want +got):\n-%s\n+%s", tt.want, got)
			}
		})
	}
}

// TestCentiliQueryIsNotSorted is the trap the order sets: a handler that
// concatenates the values in the order received computes another sign than
// Centili's, as it would against the real gateway.
func TestCentiliQueryIsNotSorted(t *testing.T) {
	raw := payloads.CentiliQuery(centiliVectorParams(), centiliVectorSign)
	var inOrder strings.Builder
	for part := range strings.SplitSeq(raw, "&") {
		name, v, _ := strings.Cut(part, "=")
		if name != "sign" {
			v, _ = url.QueryUnescape(v)
			inOrder.WriteString(v)
		}
	}
	if inOrder.String() == centiliVectorMessage {
		t.Fatalf("the values in wire order are the sorted message %q: a handler that skips the sort would pass", centiliVectorMessage)
	}
	if got := hmacHex(t, sha1.New, centiliVectorKey, inOrder.String()); got == centiliVectorSign {
		t.Errorf("HMAC of the values in wire order = the sign: the order traps nothing")
	}
	q, _ := url.ParseQuery(raw)
	if !payloads.VerifyCentiliSign(centiliVectorKey, payloads.SignSHA1, q) {
		t.Errorf("a handler that sorts does not verify the vector")
	}
}

func TestVerifyCentiliSign(t *testing.T) {
	query := func(t *testing.T, params url.Values, sign string) url.Values {
		t.Helper()
		q, err := url.ParseQuery(payloads.CentiliQuery(params, sign))
		if err != nil {
			t.Fatalf("ParseQuery: %v", err)
		}
		return q
	}
	sha256Sign := hmacHex(t, sha256.New, centiliVectorKey, centiliVectorMessage)
	tampered := centiliVectorParams()
	tampered.Set("status", "success")
	unsigned := centiliVectorParams()
	unsigned.Set("interval", "DAY")

	tests := []struct {
		name  string
		key   string
		alg   payloads.SignAlgorithm
		query url.Values
		want  bool
	}{
		{name: "vector", key: centiliVectorKey, alg: payloads.SignSHA1, query: query(t, centiliVectorParams(), centiliVectorSign), want: true},
		{name: "upper-case hex", key: centiliVectorKey, alg: payloads.SignSHA1, query: query(t, centiliVectorParams(), strings.ToUpper(centiliVectorSign)), want: true},
		{name: "sha256", key: centiliVectorKey, alg: payloads.SignSHA256, query: query(t, centiliVectorParams(), sha256Sign), want: true},
		{name: "wrong key", key: "centili", alg: payloads.SignSHA1, query: query(t, centiliVectorParams(), centiliVectorSign), want: false},
		{name: "wrong algorithm", key: centiliVectorKey, alg: payloads.SignSHA256, query: query(t, centiliVectorParams(), centiliVectorSign), want: false},
		{name: "unknown algorithm", key: centiliVectorKey, alg: "sha512", query: query(t, centiliVectorParams(), centiliVectorSign), want: false},
		{name: "tampered status", key: centiliVectorKey, alg: payloads.SignSHA1, query: query(t, tampered, centiliVectorSign), want: false},
		{name: "added parameter", key: centiliVectorKey, alg: payloads.SignSHA1, query: query(t, unsigned, centiliVectorSign), want: false},
		{name: "missing sign", key: centiliVectorKey, alg: payloads.SignSHA1, query: centiliVectorParams(), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := payloads.VerifyCentiliSign(tt.key, tt.alg, tt.query); got != tt.want {
				t.Errorf("VerifyCentiliSign() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBodySignatureDocExample keeps docs/gateways.md's QRIS example true.
func TestBodySignatureDocExample(t *testing.T) {
	const want = "1321c7b32c3f816917fa795d5f4eba92e25c14abed1ae1b3ce349f5377aea156"
	if got := payloads.BodySignature("qris-callback-secret", []byte(`{"order_id":"ORDER-12345","status":"SUCCESS"}`)); got != want {
		t.Errorf("BodySignature = %s, docs/gateways.md says %s", got, want)
	}
}

func TestBodySignature(t *testing.T) {
	if payloads.SignatureHeader != "X-Callback-Signature" {
		t.Errorf("SignatureHeader = %q, want X-Callback-Signature", payloads.SignatureHeader)
	}
	qris := `{"order_id":"ORD-1","transaction_id":"TRX-1","status":"SUCCESS","amount":50000,` +
		`"currency":"IDR","payment_method":"QRIS","customer_name":"Budi","customer_email":"budi@example.com",` +
		`"customer_phone":"08123456789","timestamp":"2024-01-20T10:30:45Z","description":"Order 1"}`

	tests := []struct {
		name   string
		secret string
		body   string
	}{
		{name: "QRIS callback", secret: "qris-secret", body: qris},
		{name: "empty body", secret: "qris-secret", body: ""},
		{name: "empty secret", secret: "", body: qris},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := hmacHex(t, sha256.New, tt.secret, tt.body)
			got := payloads.BodySignature(tt.secret, []byte(tt.body))
			if got != want {
				t.Errorf("BodySignature() mismatch (-want +got):\n-%s\n+%s", want, got)
			}
			if !payloads.VerifyBodySignature(tt.secret, []byte(tt.body), want) {
				t.Error("VerifyBodySignature(correct) = false, want true")
			}
			if !payloads.VerifyBodySignature(tt.secret, []byte(tt.body), strings.ToUpper(want)) {
				t.Error("VerifyBodySignature(upper-case hex) = false, want true")
			}
			if payloads.VerifyBodySignature(tt.secret+"x", []byte(tt.body), want) {
				t.Error("VerifyBodySignature(wrong secret) = true, want false")
			}
			if payloads.VerifyBodySignature(tt.secret, []byte(tt.body+" "), want) {
				t.Error("VerifyBodySignature(tampered body) = true, want false")
			}
			if payloads.VerifyBodySignature(tt.secret, []byte(tt.body), "") {
				t.Error("VerifyBodySignature(empty signature) = true, want false")
			}
		})
	}
}

func TestDecodeWebhookSecret(t *testing.T) {
	vectorKey, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(webhookVectorSecret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		secret  string
		want    []byte
		wantErr error
	}{
		{name: "vector", secret: webhookVectorSecret, want: vectorKey},
		{name: "one byte", secret: "whsec_AA==", want: []byte{0}},
		{name: "empty", secret: "", wantErr: payloads.ErrBadWebhookSecret},
		{name: "prefix only", secret: "whsec_", wantErr: payloads.ErrBadWebhookSecret},
		{name: "no prefix", secret: strings.TrimPrefix(webhookVectorSecret, "whsec_"), wantErr: payloads.ErrBadWebhookSecret},
		{name: "upper-case prefix", secret: "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantErr: payloads.ErrBadWebhookSecret},
		{name: "not base64", secret: "whsec_not base64!", wantErr: payloads.ErrBadWebhookSecret},
		{name: "url-safe base64", secret: "whsec_-_-_", wantErr: payloads.ErrBadWebhookSecret},
		{name: "missing padding", secret: "whsec_AA", wantErr: payloads.ErrBadWebhookSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payloads.DecodeWebhookSecret(tt.secret)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeWebhookSecret(%q) error = %v, want %v", tt.secret, err, tt.wantErr)
			}
			if err != nil && len(tt.secret) > len("whsec_") && strings.Contains(err.Error(), tt.secret[len("whsec_"):]) {
				t.Errorf("DecodeWebhookSecret error %q reveals the secret", err)
			}
			if string(got) != string(tt.want) {
				t.Errorf("DecodeWebhookSecret(%q) mismatch (-want +got):\n-%x\n+%x", tt.secret, tt.want, got)
			}
		})
	}
}

func TestStandardWebhookSignature(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		id      string
		ts      int64
		body    string
		want    string
		wantErr error
	}{
		{
			name: "PROVIDERS.md vector", secret: webhookVectorSecret, id: webhookVectorID,
			ts: webhookVectorTimestamp, body: webhookVectorBody, want: webhookVectorSignature,
		},
		{
			name: "independent computation", secret: "whsec_c2VjcmV0", id: "msg_1", ts: 1700000000, body: "{}",
			want: "v1," + base64.StdEncoding.EncodeToString(
				hmacBytes(sha256.New, "secret", "msg_1.1700000000.{}")),
		},
		{
			name: "bad secret", secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", id: webhookVectorID,
			ts: webhookVectorTimestamp, body: webhookVectorBody, wantErr: payloads.ErrBadWebhookSecret,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := payloads.StandardWebhookSignature(tt.secret, tt.id, tt.ts, []byte(tt.body))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("StandardWebhookSignature error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("StandardWebhookSignature() mismatch (-want +got):\n-%s\n+%s", tt.want, got)
			}
		})
	}
}

func hmacBytes(h func() hash.Hash, key, message string) []byte {
	m := hmac.New(h, []byte(key))
	m.Write([]byte(message))
	return m.Sum(nil)
}

func TestVerifyStandardWebhook(t *testing.T) {
	const tolerance = 5 * time.Minute
	sent := time.Unix(webhookVectorTimestamp, 0)
	headers := func(id, ts, sig string) http.Header {
		h := http.Header{}
		if id != "" {
			h.Set(payloads.WebhookIDHeader, id)
		}
		if ts != "" {
			h.Set(payloads.WebhookTimestampHeader, ts)
		}
		if sig != "" {
			h.Set(payloads.WebhookSignatureHeader, sig)
		}
		return h
	}
	good := headers(webhookVectorID, "1614265330", webhookVectorSignature)
	otherSig := "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="

	tests := []struct {
		name    string
		secret  string
		h       http.Header
		body    string
		now     time.Time
		wantErr error
	}{
		{name: "vector", secret: webhookVectorSecret, h: good, body: webhookVectorBody, now: sent},
		{name: "several signatures, last matches", secret: webhookVectorSecret, h: headers(webhookVectorID, "1614265330", otherSig+" v1a,abc "+webhookVectorSignature), body: webhookVectorBody, now: sent},
		{name: "several signatures, first matches", secret: webhookVectorSecret, h: headers(webhookVectorID, "1614265330", webhookVectorSignature+" "+otherSig), body: webhookVectorBody, now: sent},
		{name: "at the old edge of tolerance", secret: webhookVectorSecret, h: good, body: webhookVectorBody, now: sent.Add(tolerance)},
		{name: "at the new edge of tolerance", secret: webhookVectorSecret, h: good, body: webhookVectorBody, now: sent.Add(-tolerance)},
		{name: "too old", secret: webhookVectorSecret, h: good, body: webhookVectorBody, now: sent.Add(tolerance + time.Second), wantErr: payloads.ErrWebhookTimestamp},
		{name: "too new", secret: webhookVectorSecret, h: good, body: webhookVectorBody, now: sent.Add(-tolerance - time.Second), wantErr: payloads.ErrWebhookTimestamp},
		{name: "far future timestamp", secret: webhookVectorSecret, h: headers(webhookVectorID, "9223372036854775807", webhookVectorSignature), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookTimestamp},
		{name: "missing timestamp", secret: webhookVectorSecret, h: headers(webhookVectorID, "", webhookVectorSignature), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookTimestamp},
		{name: "timestamp not a number", secret: webhookVectorSecret, h: headers(webhookVectorID, "2021-02-25T15:02:10Z", webhookVectorSignature), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookTimestamp},
		{name: "timestamp changed within tolerance", secret: webhookVectorSecret, h: headers(webhookVectorID, "1614265331", webhookVectorSignature), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "wrong secret", secret: "whsec_c2VjcmV0", h: good, body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "tampered body", secret: webhookVectorSecret, h: good, body: `{"test": 2432232315}`, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "tampered id", secret: webhookVectorSecret, h: headers("msg_other", "1614265330", webhookVectorSignature), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "missing id", secret: webhookVectorSecret, h: headers("", "1614265330", webhookVectorSignature), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "missing signature", secret: webhookVectorSecret, h: headers(webhookVectorID, "1614265330", ""), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "unversioned signature", secret: webhookVectorSecret, h: headers(webhookVectorID, "1614265330", strings.TrimPrefix(webhookVectorSignature, "v1,")), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "wrong version", secret: webhookVectorSecret, h: headers(webhookVectorID, "1614265330", "v2,"+strings.TrimPrefix(webhookVectorSignature, "v1,")), body: webhookVectorBody, now: sent, wantErr: payloads.ErrWebhookSignature},
		{name: "bad secret", secret: "whsec_!!", h: good, body: webhookVectorBody, now: sent, wantErr: payloads.ErrBadWebhookSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := payloads.VerifyStandardWebhook(tt.secret, tt.h, []byte(tt.body), tt.now, tolerance)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("VerifyStandardWebhook() error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
