package portico_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
)

func pemPublic(t testing.TB, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestJWTIssuerValidate: every bad field is refused as EInvalid naming
// that field; good issuers pass.
func TestJWTIssuerValidate(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaPEM, ecPEM, edPEM := pemPublic(t, &rsaKey.PublicKey), pemPublic(t, &p256.PublicKey), pemPublic(t, edPub)
	privDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	secret := strings.Repeat("s", portico.MinJWTSecretBytes)

	good := func() portico.JWTIssuer {
		return portico.JWTIssuer{Issuer: "https://id.example", JWKSURL: "https://id.example/.well-known/jwks.json", Algorithms: []string{"RS256"}}
	}
	for _, c := range []struct {
		name  string
		edit  func(*portico.JWTIssuer)
		field string // "" means valid
	}{
		{"jwks", func(*portico.JWTIssuer) {}, ""},
		{"http jwks", func(j *portico.JWTIssuer) { j.JWKSURL = "http://127.0.0.1:8080/jwks" }, ""},
		{"static rsa", func(j *portico.JWTIssuer) {
			j.JWKSURL, j.Key, j.Algorithms = "", rsaPEM, []string{"RS256", "PS256", "RS512"}
		}, ""},
		{"static ec", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", ecPEM, []string{"ES256"} }, ""},
		{"static ed25519", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", edPEM, []string{"EdDSA"} }, ""},
		{"hs256 secret", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", secret, []string{"HS256"} }, ""},
		{"all options", func(j *portico.JWTIssuer) {
			j.Audience, j.Leeway, j.Claim = []string{"portico", "api://x"}, portico.MaxJWTLeeway, "client_id"
		}, ""},

		{"no issuer", func(j *portico.JWTIssuer) { j.Issuer = "" }, "jwt.issuer"},
		{"issuer not utf-8", func(j *portico.JWTIssuer) { j.Issuer = "\xff" }, "jwt.issuer"},
		{"no algorithms", func(j *portico.JWTIssuer) { j.Algorithms = nil }, "jwt.algorithms"},
		{"alg none", func(j *portico.JWTIssuer) { j.Algorithms = []string{"none"} }, "jwt.algorithms"},
		{"alg NoNe", func(j *portico.JWTIssuer) { j.Algorithms = []string{"RS256", "NoNe"} }, "jwt.algorithms"},
		{"unknown alg", func(j *portico.JWTIssuer) { j.Algorithms = []string{"RS1"} }, "jwt.algorithms"},
		{"alg wrong case", func(j *portico.JWTIssuer) { j.Algorithms = []string{"rs256"} }, "jwt.algorithms"},
		{"alg twice", func(j *portico.JWTIssuer) { j.Algorithms = []string{"RS256", "RS256"} }, "jwt.algorithms"},
		{"hs mixed", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", secret, []string{"HS256", "RS256"} }, "jwt.algorithms"},
		{"hs with jwks", func(j *portico.JWTIssuer) { j.Algorithms = []string{"HS256"} }, "jwt.jwks_url"},
		{"neither", func(j *portico.JWTIssuer) { j.JWKSURL = "" }, "jwt.jwks_url"},
		{"both", func(j *portico.JWTIssuer) { j.Key = rsaPEM }, "jwt.key"},
		{"ftp url", func(j *portico.JWTIssuer) { j.JWKSURL = "ftp://id.example/jwks" }, "jwt.jwks_url"},
		{"file url", func(j *portico.JWTIssuer) { j.JWKSURL = "file:///etc/passwd" }, "jwt.jwks_url"},
		{"relative url", func(j *portico.JWTIssuer) { j.JWKSURL = "/jwks.json" }, "jwt.jwks_url"},
		{"url with user", func(j *portico.JWTIssuer) { j.JWKSURL = "https://u:p@id.example/jwks" }, "jwt.jwks_url"},
		{"bad url", func(j *portico.JWTIssuer) { j.JWKSURL = "https://[::1" }, "jwt.jwks_url"},
		{"short secret", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", "short", []string{"HS256"} }, "jwt.key"},
		{"pem as secret", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", rsaPEM, []string{"HS256"} }, "jwt.key"},
		{"not pem", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key = "", secret }, "jwt.key"},
		{"private key", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key = "", privPEM }, "jwt.key"},
		{"rsa key for ES256", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", rsaPEM, []string{"ES256"} }, "jwt.key"},
		{"p256 key for ES384", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key, j.Algorithms = "", ecPEM, []string{"ES384"} }, "jwt.key"},
		{"ec key for RS256", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key = "", ecPEM }, "jwt.key"},
		{"small rsa", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key = "", pemPublic(t, &smallRSA.PublicKey) }, "jwt.key"},
		{"two pem blocks", func(j *portico.JWTIssuer) { j.JWKSURL, j.Key = "", rsaPEM+rsaPEM }, "jwt.key"},
		{"empty audience", func(j *portico.JWTIssuer) { j.Audience = []string{""} }, "jwt.audience"},
		{"negative leeway", func(j *portico.JWTIssuer) { j.Leeway = -1 }, "jwt.leeway"},
		{"huge leeway", func(j *portico.JWTIssuer) { j.Leeway = portico.MaxJWTLeeway + 1 }, "jwt.leeway"},
		{"claim with space", func(j *portico.JWTIssuer) { j.Claim = "client id" }, "jwt.claim"},
		{"claim too long", func(j *portico.JWTIssuer) { j.Claim = strings.Repeat("c", 65) }, "jwt.claim"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := good()
			c.edit(&j)
			err := j.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if portico.ErrorCodeOf(err) != portico.EInvalid || portico.ErrorFieldOf(err) != c.field {
				t.Fatalf("Validate = %v, want EInvalid on %s", err, c.field)
			}
			if j.Key != "" && strings.Contains(err.Error(), j.Key) {
				t.Fatalf("the error quotes the key: %v", err)
			}
		})
	}
}

// TestJWTIssuerRedacted: a GET shows no HS256 secret, still shows a public
// key, and the original is not changed.
func TestJWTIssuerRedacted(t *testing.T) {
	secret := strings.Repeat("x", 40)
	j := portico.JWTIssuer{Issuer: "i", Key: secret, Algorithms: []string{"HS256"}, Audience: []string{"a"}}
	r := j.Redacted()
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), secret) || r.Key != "" {
		t.Fatalf("redacted issuer shows the secret: %s", b)
	}
	if j.Key != secret {
		t.Fatal("Redacted changed the original")
	}
	r.Audience[0] = "changed"
	if j.Audience[0] != "a" {
		t.Fatal("Redacted shares the audience slice")
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := portico.JWTIssuer{Issuer: "i", Key: pemPublic(t, &k.PublicKey), Algorithms: []string{"ES256"}}
	if pub.Redacted().Key != pub.Key {
		t.Fatal("a public key was redacted")
	}
}

// TestJWTIssuerDefaults: zero leeway and claim take the documented
// defaults; the JSON form reads durations as strings.
func TestJWTIssuerDefaults(t *testing.T) {
	var j portico.JWTIssuer
	if err := json.Unmarshal([]byte(`{"issuer":"i","jwks_url":"https://i/jwks","algorithms":["ES256"],"leeway":"90s"}`), &j); err != nil {
		t.Fatal(err)
	}
	if j.LeewayOrDefault() != 90*time.Second || j.ClaimOrDefault() != "sub" {
		t.Fatalf("leeway %v claim %q", j.LeewayOrDefault(), j.ClaimOrDefault())
	}
	j.Leeway = 0
	if j.LeewayOrDefault() != time.Minute {
		t.Fatalf("default leeway %v", j.LeewayOrDefault())
	}
	o := j
	o.Leeway = portico.DefaultJWTLeeway
	if !j.Equal(&o) {
		t.Fatal("an explicit default leeway is not equal to the default")
	}
	o.Audience = []string{"x"}
	if j.Equal(&o) {
		t.Fatal("different audiences are equal")
	}
}

// TestJWTKeyFits: algorithm confusion is impossible by key type.
func TestJWTKeyFits(t *testing.T) {
	r, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		alg  string
		key  any
		fits bool
	}{
		{"RS256", &r.PublicKey, true}, {"PS256", &r.PublicKey, true}, {"HS256", &r.PublicKey, false},
		{"ES384", &p384.PublicKey, true}, {"ES256", &p384.PublicKey, false},
		{"EdDSA", ed, true}, {"RS256", ed, false},
		{"HS256", []byte("k"), true}, {"RS256", []byte("k"), false},
		{"none", &r.PublicKey, false}, {"HS256", "string", false},
	} {
		if got := portico.JWTKeyFits(c.alg, c.key); got != c.fits {
			t.Errorf("JWTKeyFits(%s, %T) = %v", c.alg, c.key, got)
		}
	}
}

// TestValidateJWTIssuers: one issuer named twice is refused.
func TestValidateJWTIssuers(t *testing.T) {
	a := portico.JWTIssuer{Issuer: "https://a", JWKSURL: "https://a/jwks", Algorithms: []string{"RS256"}}
	if err := portico.ValidateJWTIssuers([]portico.JWTIssuer{a}); err != nil {
		t.Fatal(err)
	}
	err := portico.ValidateJWTIssuers([]portico.JWTIssuer{a, a})
	if portico.ErrorFieldOf(err) != "jwt.issuer" {
		t.Fatalf("duplicate issuer: %v", err)
	}
}
