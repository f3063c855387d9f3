package jwtauth

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	josejson "github.com/go-jose/go-jose/v4/json"
)

// maxApplicationBytes bounds the application claim's value.
const maxApplicationBytes = 256

// claims is a token's payload, parsed but not yet trusted. Names are
// matched exactly (go-jose's JSON decoder is case-sensitive, unlike
// encoding/json) and a name given twice is an error, so "exp" cannot be
// shadowed by a second "exp" or an "EXP".
type claims struct {
	iss string
	all map[string]josejson.RawMessage
}

func parseClaims(payload []byte) (*claims, error) {
	var all map[string]josejson.RawMessage
	if err := josejson.Unmarshal(payload, &all); err != nil || all == nil {
		return nil, refuse(Malformed, "the token's claims are not a JSON object with distinct names", err)
	}
	c := &claims{all: all}
	if raw, ok := all["iss"]; ok {
		if err := josejson.Unmarshal(raw, &c.iss); err != nil {
			return nil, refuse(UnknownIssuer, "the token's issuer (iss) is not a string", err)
		}
	}
	return c, nil
}

// check applies the issuer's rules at now to claims whose signature has
// been verified with k, and returns the cache entry of the result.
func (c *claims) check(is *issuer, k *key, now time.Time) (*entry, error) {
	exp, ok, err := c.numericDate("exp")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, refuse(MissingClaim, "the token has no expiry (exp)", nil)
	case !now.Before(exp.Add(is.leeway)):
		return nil, refuse(TokenExpired, "the token has expired", nil)
	}
	from := time.Time{}
	nbf, ok, err := c.numericDate("nbf")
	switch {
	case err != nil:
		return nil, err
	case ok && now.Before(nbf.Add(-is.leeway)):
		return nil, refuse(NotYetValid, "the token is not valid yet (nbf)", nil)
	case ok:
		from = nbf.Add(-is.leeway)
	}
	iat, ok, err := c.numericDate("iat")
	switch {
	case err != nil:
		return nil, err
	case ok && iat.After(now.Add(is.leeway)):
		return nil, refuse(NotYetValid, "the token was issued in the future (iat)", nil)
	case ok && iat.Add(-is.leeway).After(from):
		from = iat.Add(-is.leeway)
	}
	if len(is.audience) > 0 {
		if err := c.checkAudience(is.audience); err != nil {
			return nil, err
		}
	}
	raw, ok := c.all[is.claim]
	if !ok || string(raw) == "null" {
		return nil, refuse(MissingClaim, "the token has no "+is.claim+" claim naming the application", nil)
	}
	var app string
	if err := josejson.Unmarshal(raw, &app); err != nil {
		return nil, refuse(BadClaim, "the token's "+is.claim+" claim is not a string", err)
	}
	if app == "" || len(app) > maxApplicationBytes || !utf8.ValidString(app) {
		return nil, refuse(BadClaim, "the token's "+is.claim+" claim is empty or too long", nil)
	}
	e := &entry{
		iss:   is,
		key:   k,
		res:   Result{Issuer: is.cfg.Issuer, Application: app, Expires: exp},
		from:  from,
		until: exp.Add(is.leeway),
	}
	if is.static != nil {
		e.key = nil // a static key changes only with its issuer
	}
	return e, nil
}

// maxUnixSeconds clamps dates far in the future (year 33658): beyond it
// a float cannot be told apart from its neighbours anyway.
const maxUnixSeconds = 1e12

// numericDate reads a NumericDate claim (RFC 7519 section 2: seconds,
// possibly fractional). ok is false when the claim is absent.
func (c *claims) numericDate(name string) (t time.Time, ok bool, err error) {
	raw, ok := c.all[name]
	if !ok {
		return time.Time{}, false, nil
	}
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return time.Time{}, false, refuse(BadClaim, "the token's "+name+" claim is not a number", nil)
	}
	// raw is a JSON number (the object parsed), so ParseFloat sees no
	// "Inf" or "NaN"; a value out of range parses as ±Inf and is clamped.
	f, _ := strconv.ParseFloat(string(raw), 64)
	f = math.Max(-maxUnixSeconds, math.Min(maxUnixSeconds, f))
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true, nil
}

// checkAudience accepts an "aud" string or array naming one of want.
func (c *claims) checkAudience(want []string) error {
	raw, ok := c.all["aud"]
	if !ok {
		return refuse(BadAudience, "the token names no audience (aud)", nil)
	}
	var one string
	var many []string
	if josejson.Unmarshal(raw, &one) == nil {
		many = []string{one}
	} else if err := josejson.Unmarshal(raw, &many); err != nil {
		return refuse(BadAudience, "the token's audience (aud) is not a string or a list of strings", err)
	}
	for _, a := range many {
		if contains(want, a) {
			return nil
		}
	}
	return refuse(BadAudience, "the token is not meant for this audience", nil)
}
