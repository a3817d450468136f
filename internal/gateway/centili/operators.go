package centili

import (
	"math/rand/v2"
	"slices"
	"strings"
)

// operator is a mobile network: Centili's mnocode and its MCC+MNC.
type operator struct {
	code   string // mnocode, e.g. FR_ORANGE
	mccmnc string // mno, e.g. 20801
}

// market is a country the simulator fills realistic values for.
type market struct {
	callingCode string   // E.164 country code
	leads       []string // first digits of mobile numbers
	length      int      // digits of a national mobile number
	operators   []operator
	currency    string // of enduserprice: the country's own
	price       string // a usual carrier billing price point there, VAT included
}

// markets holds the countries the simulator knows, by lower-case ISO 3166
// code. The price points are inferred (typical carrier billing prices: a
// net 5 PLN is 6.15 PLN with Polish VAT), not Centili's.
var markets = map[string]market{
	"at": {"43", []string{"650", "660", "664", "676", "699"}, 10,
		[]operator{{"AT_A1", "23201"}, {"AT_MAGENTA", "23203"}, {"AT_DREI", "23205"}}, "EUR", "2.00"},
	"de": {"49", []string{"151", "160", "170", "176"}, 11,
		[]operator{{"DE_TELEKOM", "26201"}, {"DE_VODAFONE", "26202"}, {"DE_O2", "26203"}}, "EUR", "1.99"},
	"es": {"34", []string{"6"}, 9,
		[]operator{{"ES_MOVISTAR", "21407"}, {"ES_VODAFONE", "21401"}, {"ES_ORANGE", "21403"}}, "EUR", "1.45"},
	"fr": {"33", []string{"6", "7"}, 9,
		[]operator{{"FR_ORANGE", "20801"}, {"FR_SFR", "20810"}, {"FR_BOUYGUES", "20820"}, {"FR_FREE", "20815"}}, "EUR", "3.00"},
	"gb": {"44", []string{"7"}, 10,
		[]operator{{"GB_EE", "23430"}, {"GB_VODAFONE", "23415"}, {"GB_O2", "23410"}, {"GB_THREE", "23420"}}, "GBP", "1.50"},
	"it": {"39", []string{"3"}, 10,
		[]operator{{"IT_TIM", "22201"}, {"IT_VODAFONE", "22210"}, {"IT_WINDTRE", "22288"}}, "EUR", "2.00"},
	"pl": {"48", []string{"5", "6", "7"}, 9,
		[]operator{{"PL_PLUS", "26001"}, {"PL_TMOBILE", "26002"}, {"PL_ORANGE", "26003"}, {"PL_PLAY", "26006"}}, "PLN", "6.15"},
	"rs": {"381", []string{"60", "63", "64", "65", "66"}, 9,
		[]operator{{"RS_TELENOR", "22001"}, {"RS_MTS", "22003"}, {"RS_VIP", "22005"}}, "RSD", "240.00"},
}

// fallbackMarket prices a country the simulator does not know.
var fallbackMarket = market{currency: "EUR", price: "1.99"}

// marketOf returns the market of a country code in either letter case, or
// fallbackMarket.
func marketOf(country string) market {
	if m, ok := markets[strings.ToLower(country)]; ok {
		return m
	}
	return fallbackMarket
}

// euroValue is the approximate value in euros of one unit of a currency,
// to turn a price into a payout in the revenue currency (inferred rates).
var euroValue = map[string]float64{"EUR": 1, "GBP": 1.17, "PLN": 0.23, "RSD": 0.0085, "USD": 0.92, "CHF": 1.05}

// convert turns an amount in currency from into currency to; an unknown
// currency converts at 1.
func convert(amount float64, from, to string) float64 {
	f, okF := euroValue[from]
	t, okT := euroValue[to]
	if !okF || !okT {
		return amount
	}
	return amount * f / t
}

// countryCodes lists the known countries, sorted.
func countryCodes() []string {
	codes := make([]string, 0, len(markets))
	for c := range markets {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}

// randomCountry picks a known country.
func randomCountry() string {
	codes := countryCodes()
	return codes[rand.IntN(len(codes))]
}

// countryOfPhone finds the known country whose calling code starts phone.
func countryOfPhone(phone string) (string, bool) {
	for _, c := range countryCodes() {
		if strings.HasPrefix(phone, markets[c].callingCode) {
			return c, true
		}
	}
	return "", false
}

// operatorOf finds a known operator by mnocode.
func operatorOf(mnocode string) (operator, bool) {
	m, ok := markets[strings.ToLower(mnocode[:2])]
	if !ok {
		return operator{}, false
	}
	i := slices.IndexFunc(m.operators, func(o operator) bool { return o.code == mnocode })
	if i < 0 {
		return operator{}, false
	}
	return m.operators[i], true
}

// phone makes an E.164 mobile number of the market, without "+".
func (m market) phone() string {
	var b strings.Builder
	b.WriteString(m.callingCode)
	b.WriteString(m.leads[rand.IntN(len(m.leads))])
	for b.Len() < len(m.callingCode)+m.length {
		b.WriteByte(byte('0' + rand.IntN(10)))
	}
	return b.String()
}
