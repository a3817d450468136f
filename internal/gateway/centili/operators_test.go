package centili

import (
	"regexp"
	"strings"
	"testing"
)

func TestMarketsAreConsistent(t *testing.T) {
	mccmnc := regexp.MustCompile(`^[0-9]{5,6}$`)
	seenPrefix := map[string]string{}
	for cc, m := range markets {
		if !countryPattern.MatchString(cc) || !digitsPattern.MatchString(m.callingCode) || len(m.operators) == 0 {
			t.Errorf("market %q: calling code %q, %d operators", cc, m.callingCode, len(m.operators))
		}
		if other, ok := seenPrefix[m.callingCode]; ok {
			t.Errorf("markets %s and %s share calling code %s", cc, other, m.callingCode)
		}
		seenPrefix[m.callingCode] = cc
		for _, op := range m.operators {
			if !strings.HasPrefix(op.code, strings.ToUpper(cc)+"_") || !mnoCodePattern.MatchString(op.code) || !mccmnc.MatchString(op.mccmnc) {
				t.Errorf("market %s: operator %+v", cc, op)
			}
			if got, ok := operatorOf(op.code); !ok || got != op {
				t.Errorf("operatorOf(%s) = %+v, %t", op.code, got, ok)
			}
		}
		for range 20 {
			p := m.phone()
			if len(p) != len(m.callingCode)+m.length || !digitsPattern.MatchString(p) {
				t.Fatalf("market %s: phone %q", cc, p)
			}
			if got, ok := countryOfPhone(p); !ok || got != cc {
				t.Errorf("countryOfPhone(%s) = %q, %t, want %s", p, got, ok, cc)
			}
		}
	}
	if _, ok := operatorOf("ZZ_TEL"); ok {
		t.Error("operatorOf(ZZ_TEL) found an operator")
	}
	if _, ok := operatorOf("FR_NOPE"); ok {
		t.Error("operatorOf(FR_NOPE) found an operator")
	}
}
