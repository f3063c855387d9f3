package portico

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// JWTIssuer is an issuer of JSON Web Tokens that an API trusts: a token
// whose "iss" claim is Issuer, signed with one of Algorithms by a key of the
// issuer's JWKS (JWKSURL) or by its static Key, identifies the application
// named by its Claim.
//
// Key holds either a PEM public key (asymmetric algorithms) or, for HS256,
// the shared secret as text: the same bytes that `openssl dgst -sha256
// -hmac SECRET` takes, at least MinJWTSecretBytes long. The secret is kept in
// the stored config (so the json tag is not "-"), and every answer that
// shows an issuer to someone, such as an admin API GET, shows
// Redacted() instead.
type JWTIssuer struct {
	// Issuer is the exact value of the tokens' "iss" claim. Required.
	Issuer string `json:"issuer"`

	// JWKSURL is the http(s) URL of the issuer's JSON Web Key Set. Exactly
	// one of JWKSURL and Key is set.
	JWKSURL string `json:"jwks_url,omitempty"`

	// Key is a PEM public key ("PUBLIC KEY", "RSA PUBLIC KEY" or a
	// "CERTIFICATE") or, when Algorithms is ["HS256"], the shared secret.
	Key string `json:"key,omitempty"`

	// Algorithms are the only "alg" values accepted, from JWTAlgorithms.
	// Required. HS256 stands alone (never with an asymmetric algorithm, so
	// a public key can never be taken for an HMAC secret) and needs a
	// static secret in Key.
	Algorithms []string `json:"algorithms"`

	// Audience, when not empty, lists the "aud" values accepted: a token
	// must name at least one of them. Empty accepts any audience.
	Audience []string `json:"audience,omitempty"`

	// Leeway is the clock skew allowed on "exp", "nbf" and "iat"; 0 means
	// DefaultJWTLeeway, at most MaxJWTLeeway.
	Leeway Duration `json:"leeway,omitempty"`

	// Claim is the claim whose string value names the application; ""
	// means DefaultJWTClaim. Issuers of client-credentials tokens often
	// put the client in "client_id" or "azp".
	Claim string `json:"claim,omitempty"`
}

// JWT algorithm names, as in the "alg" header (RFC 7518, RFC 8037).
const (
	RS256 = "RS256"
	RS384 = "RS384"
	RS512 = "RS512"
	PS256 = "PS256"
	ES256 = "ES256"
	ES384 = "ES384"
	EdDSA = "EdDSA"
	HS256 = "HS256"
)

// JWTAlgorithms lists the algorithms a JWTIssuer may pin, in the order the
// admin API offers them.
var JWTAlgorithms = []string{RS256, RS384, RS512, PS256, ES256, ES384, EdDSA, HS256}

// Limits and defaults of a JWTIssuer.
const (
	DefaultJWTLeeway  = Duration(60 * time.Second)
	MaxJWTLeeway      = Duration(5 * time.Minute)
	DefaultJWTClaim   = "sub"
	MinJWTSecretBytes = 32   // an HS256 secret as long as its hash (RFC 7518 section 3.2)
	MinJWTRSABits     = 2048 // shorter RSA keys are refused (RFC 7518 section 3.3)
	maxJWTTextBytes   = 2048 // issuer, audience and claim names
	maxJWTKeyBytes    = 16 << 10
)

// LeewayOrDefault returns the issuer's leeway, DefaultJWTLeeway when unset.
func (j *JWTIssuer) LeewayOrDefault() time.Duration {
	if j.Leeway == 0 {
		return time.Duration(DefaultJWTLeeway)
	}
	return time.Duration(j.Leeway)
}

// ClaimOrDefault returns the claim naming the application, DefaultJWTClaim
// when unset.
func (j *JWTIssuer) ClaimOrDefault() string {
	if j.Claim == "" {
		return DefaultJWTClaim
	}
	return j.Claim
}

// Symmetric reports whether the issuer signs with a shared secret (HS256).
func (j *JWTIssuer) Symmetric() bool {
	return len(j.Algorithms) == 1 && j.Algorithms[0] == HS256
}

// Redacted returns a copy of j that is safe to show: an HS256 secret is
// replaced by "" (a PEM public key is kept: it is no secret). Slices are
// copied, so the caller may change the copy.
func (j JWTIssuer) Redacted() JWTIssuer {
	r := j
	r.Algorithms = append([]string(nil), j.Algorithms...)
	r.Audience = append([]string(nil), j.Audience...)
	if j.Symmetric() || (j.Key != "" && !strings.HasPrefix(strings.TrimSpace(j.Key), "-----BEGIN")) {
		r.Key = ""
	}
	return r
}

// Equal reports whether j and o configure the same issuer in every field.
func (j *JWTIssuer) Equal(o *JWTIssuer) bool {
	return j.Issuer == o.Issuer && j.JWKSURL == o.JWKSURL && j.Key == o.Key &&
		j.LeewayOrDefault() == o.LeewayOrDefault() && j.ClaimOrDefault() == o.ClaimOrDefault() &&
		equalStrings(j.Algorithms, o.Algorithms) && equalStrings(j.Audience, o.Audience)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Validate checks every field of j and returns an EInvalid error naming the
// first bad one ("jwt.issuer", "jwt.jwks_url", "jwt.key", "jwt.algorithms",
// "jwt.audience", "jwt.leeway", "jwt.claim"). Messages never quote Key.
func (j *JWTIssuer) Validate() error {
	switch {
	case j.Issuer == "":
		return FieldErrorf(EInvalid, "jwt.issuer", "the issuer (the tokens' iss claim) is required")
	case len(j.Issuer) > maxJWTTextBytes || !utf8.ValidString(j.Issuer):
		return FieldErrorf(EInvalid, "jwt.issuer", "the issuer must be valid UTF-8 of at most %d bytes", maxJWTTextBytes)
	}
	if err := j.validateAlgorithms(); err != nil {
		return err
	}
	switch {
	case j.JWKSURL != "" && j.Key != "":
		return FieldErrorf(EInvalid, "jwt.key", "give either jwks_url or key, not both")
	case j.JWKSURL == "" && j.Key == "":
		return FieldErrorf(EInvalid, "jwt.jwks_url", "give jwks_url or a static key")
	case j.JWKSURL != "":
		if j.Symmetric() {
			return FieldErrorf(EInvalid, "jwt.jwks_url", "HS256 takes a static secret in key, not a JWKS")
		}
		if err := validateJWKSURL(j.JWKSURL); err != nil {
			return err
		}
	default:
		if _, err := j.StaticKey(); err != nil {
			return err
		}
	}
	for _, a := range j.Audience {
		if a == "" || len(a) > maxJWTTextBytes || !utf8.ValidString(a) {
			return FieldErrorf(EInvalid, "jwt.audience", "each audience must be non-empty valid UTF-8 of at most %d bytes", maxJWTTextBytes)
		}
	}
	if j.Leeway < 0 || j.Leeway > MaxJWTLeeway {
		return FieldErrorf(EInvalid, "jwt.leeway", "leeway must be between 0 (meaning %s) and %s, not %s",
			time.Duration(DefaultJWTLeeway), time.Duration(MaxJWTLeeway), time.Duration(j.Leeway))
	}
	if len(j.Claim) > 64 || !validClaimName(j.Claim) {
		return FieldErrorf(EInvalid, "jwt.claim", "claim must be a name of at most 64 letters, digits, '_', '-', '.' or ':', not %.70q", j.Claim)
	}
	return nil
}

func (j *JWTIssuer) validateAlgorithms() error {
	if len(j.Algorithms) == 0 {
		return FieldErrorf(EInvalid, "jwt.algorithms", "pin at least one algorithm of %s", strings.Join(JWTAlgorithms, ", "))
	}
	seen := make(map[string]bool, len(j.Algorithms))
	for _, a := range j.Algorithms {
		switch {
		case strings.EqualFold(a, "none"):
			return FieldErrorf(EInvalid, "jwt.algorithms", "unsigned tokens (alg none) are never accepted")
		case !knownJWTAlgorithm(a):
			return FieldErrorf(EInvalid, "jwt.algorithms", "unknown algorithm %.40q; use %s", a, strings.Join(JWTAlgorithms, ", "))
		case seen[a]:
			return FieldErrorf(EInvalid, "jwt.algorithms", "algorithm %s is listed twice", a)
		}
		seen[a] = true
	}
	if seen[HS256] && len(j.Algorithms) > 1 {
		return FieldErrorf(EInvalid, "jwt.algorithms", "HS256 cannot be mixed with asymmetric algorithms for one issuer")
	}
	return nil
}

func knownJWTAlgorithm(a string) bool {
	for _, k := range JWTAlgorithms {
		if a == k {
			return true
		}
	}
	return false
}

func validateJWKSURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || len(s) > maxJWTTextBytes:
		return FieldErrorf(EInvalid, "jwt.jwks_url", "jwks_url is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return FieldErrorf(EInvalid, "jwt.jwks_url", "jwks_url must be an http or https URL, not %.20q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return FieldErrorf(EInvalid, "jwt.jwks_url", "jwks_url has no host")
	case u.User != nil:
		return FieldErrorf(EInvalid, "jwt.jwks_url", "jwks_url must not carry a user name or password")
	case u.Fragment != "":
		return FieldErrorf(EInvalid, "jwt.jwks_url", "jwks_url must not have a fragment")
	}
	return nil
}

func validClaimName(s string) bool {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// StaticKey returns the verification key of an issuer without a JWKS: the
// secret's bytes for HS256, else the *rsa.PublicKey, *ecdsa.PublicKey or
// ed25519.PublicKey of the PEM in Key, checked to fit every algorithm of
// j.Algorithms. Errors are EInvalid on field "jwt.key" and never quote Key.
func (j *JWTIssuer) StaticKey() (any, error) {
	if j.Key == "" {
		return nil, FieldErrorf(EInvalid, "jwt.key", "no static key")
	}
	if len(j.Key) > maxJWTKeyBytes {
		return nil, FieldErrorf(EInvalid, "jwt.key", "the key is longer than %d bytes", maxJWTKeyBytes)
	}
	if j.Symmetric() {
		if len(j.Key) < MinJWTSecretBytes {
			return nil, FieldErrorf(EInvalid, "jwt.key", "an HS256 secret must be at least %d bytes", MinJWTSecretBytes)
		}
		if strings.Contains(j.Key, "-----BEGIN") {
			return nil, FieldErrorf(EInvalid, "jwt.key", "HS256 takes a shared secret, not a PEM key")
		}
		return []byte(j.Key), nil
	}
	key, err := parsePEMPublicKey(j.Key)
	if err != nil {
		return nil, err
	}
	for _, a := range j.Algorithms {
		if !JWTKeyFits(a, key) {
			return nil, FieldErrorf(EInvalid, "jwt.key", "the key (%s) does not fit algorithm %s", describeKey(key), a)
		}
	}
	if k, ok := key.(*rsa.PublicKey); ok && k.N.BitLen() < MinJWTRSABits {
		return nil, FieldErrorf(EInvalid, "jwt.key", "RSA keys must have at least %d bits, not %d", MinJWTRSABits, k.N.BitLen())
	}
	return key, nil
}

func parsePEMPublicKey(s string) (crypto.PublicKey, error) {
	block, rest := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, FieldErrorf(EInvalid, "jwt.key", "key must be a PEM public key (-----BEGIN PUBLIC KEY-----)")
	}
	if len(strings.TrimSpace(string(rest))) != 0 {
		return nil, FieldErrorf(EInvalid, "jwt.key", "key must hold one PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = c.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE") {
			return nil, FieldErrorf(EInvalid, "jwt.key", "key must be a public key; never give Portico the issuer's private key")
		}
		return nil, FieldErrorf(EInvalid, "jwt.key", "key must be a PEM PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE, not %.40q", block.Type)
	}
	if err != nil {
		return nil, FieldErrorf(EInvalid, "jwt.key", "the %s does not parse", strings.ToLower(block.Type))
	}
	switch key.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return key, nil
	}
	return nil, FieldErrorf(EInvalid, "jwt.key", "key type %T is not used for JWTs", key)
}

func describeKey(key any) string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case []byte:
		return "secret"
	}
	return fmt.Sprintf("%T", key)
}

// JWTKeyFits reports whether key can verify signatures of algorithm alg:
// an *rsa.PublicKey for RS* and PS256, an *ecdsa.PublicKey on P-256 for
// ES256 and on P-384 for ES384, an ed25519.PublicKey for EdDSA and a []byte
// secret for HS256. Every other pair, such as an RSA key for HS256, is false.
func JWTKeyFits(alg string, key any) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return alg == RS256 || alg == RS384 || alg == RS512 || alg == PS256
	case *ecdsa.PublicKey:
		return (alg == ES256 && k.Curve == elliptic.P256()) || (alg == ES384 && k.Curve == elliptic.P384())
	case ed25519.PublicKey:
		return alg == EdDSA && len(k) == ed25519.PublicKeySize
	case []byte:
		return alg == HS256
	}
	return false
}

// ValidateJWTIssuers validates each issuer and refuses a set that names
// one issuer twice: a token's "iss" must pick exactly one configuration.
func ValidateJWTIssuers(issuers []JWTIssuer) error {
	seen := make(map[string]bool, len(issuers))
	for i := range issuers {
		if err := issuers[i].Validate(); err != nil {
			return err
		}
		if seen[issuers[i].Issuer] {
			return FieldErrorf(EInvalid, "jwt.issuer", "issuer %.100q is listed twice", issuers[i].Issuer)
		}
		seen[issuers[i].Issuer] = true
	}
	return nil
}
