package jwtauth_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/jwtauth"
)

// TestOpenSSLRecipe: tokens made by testdata/openssl-token.sh, the
// README's recipe, verify (HS256 with a secret; RS256 with a key made by
// openssl and its public half given as a static key).
func TestOpenSSLRecipe(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	keyFile, pubFile := filepath.Join(dir, "issuer.key"), filepath.Join(dir, "issuer.pub")
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", keyFile)
	run("openssl", "pkey", "-in", keyFile, "-pubout", "-out", pubFile)
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	const sec = "change-me-to-a-secret-of-32-bytes-or-more"
	v := &jwtauth.Verifier{}
	defer v.Close()
	err = v.Update([]portico.JWTIssuer{
		{Issuer: "https://hs.example.com", Key: sec, Algorithms: []string{"HS256"}, Claim: "client_id"},
		{Issuer: "https://rs.example.com", Key: string(pub), Algorithms: []string{"RS256"}, Claim: "client_id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"hs256", sec, "https://hs.example.com", "mobile-app"},
		{"rs256", keyFile, "https://rs.example.com", "batch-job", "key-1"},
	} {
		tok := run("sh", append([]string{"testdata/openssl-token.sh"}, c...)...)
		r, err := v.Verify(context.Background(), tok, time.Now())
		if err != nil || r.Application != c[3] || r.Issuer != c[2] {
			t.Fatalf("%s token %s: %+v %v", c[0], tok, r, err)
		}
	}
}
