package httpapi_test

import (
	"net/http"
	"testing"
)

// IdP phone claims are international digits: the country code comes
// first, never the default region (IN here). Read the other way, the
// Singapore number 6581234567 became the Indian +91 65812 34567, verified,
// and signed its holder into the account of whoever owns that Indian
// number.
func TestIdPPhoneClaimIsInternational(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The owner of the Indian number, proven by the IdP.
	_, victim := e.signIn("in-owner", map[string]any{"phone": "916581234567", "phone_verified": true})

	for _, c := range []struct{ sub, digits, want string }{
		{"sg", "6581234567", "+6581234567"},
		{"nz", "64211234567", "+64211234567"},
		{"mv", "9607771234", "+9607771234"},
		{"us", "14155552671", "+14155552671"},
		{"gb", "447911123456", "+447911123456"},
		{"in", "919876543210", "+919876543210"},
	} {
		r := e.do("GET", "/api/v1/users/me", e.idp.sign(c.sub, map[string]any{"phone": c.digits, "phone_verified": true}), nil)
		expect(t, r, http.StatusOK, "")
		m := r.json(t)
		if m["phone"] != c.want || m["phone_verified"] != true {
			t.Errorf("%s: got phone %v verified %v, want %s verified", c.sub, m["phone"], m["phone_verified"], c.want)
		}
		if int64(m["id"].(float64)) == victim {
			t.Errorf("%s: signed into the owner of +916581234567", c.sub)
		}
	}
	// The Indian owner still has their number and is alone with it.
	r := e.do("GET", "/api/v1/users/me", e.idp.sign("in-owner", map[string]any{"phone": "916581234567", "phone_verified": true}), nil)
	expect(t, r, http.StatusOK, "")
	if m := r.json(t); m["phone"] != "+916581234567" || int64(m["id"].(float64)) != victim {
		t.Fatalf("owner: got %v, want id %d with +916581234567", m, victim)
	}
}
