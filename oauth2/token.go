package oauth2

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/portico-gw/portico"
)

// Prefix starts every access token the Server issues, so that people and
// secret scanners can tell one, and the gateway can tell it from a JWT
// without parsing it.
const Prefix = portico.AccessTokenPrefix

// TokenLen is the length of an access token: Prefix and 32 random bytes
// in unpadded base64url (43 characters).
const TokenLen = len(Prefix) + 43

// hashPrefix starts the TokenStore hash of an access token. The admin
// API stores its bearer tokens under the plain hex SHA-256 of their text
// (portico.HashKey), so an access token presented to the admin API is
// looked up under a hash no token has, and an admin token presented to the
// gateway likewise.
const hashPrefix = "oauth2:"

// newToken returns a fresh access token. crypto/rand.Read does not fail
// (it crashes the program if the system's source does).
func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return Prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash returns the hash under which an access token is kept in the
// portico.TokenStore: "oauth2:" and the hex SHA-256 of its text.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hashOf(&sum)
}

func hashOf(sum *[sha256.Size]byte) string {
	var b [len(hashPrefix) + 2*sha256.Size]byte
	copy(b[:], hashPrefix)
	hex.Encode(b[len(hashPrefix):], sum[:])
	return string(b[:])
}

// b64url maps each byte to its value in the base64url alphabet, or to -1.
var b64url = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// wellFormed reports whether tok could be an access token the Server
// issued: Prefix, then the canonical unpadded base64url of 32 bytes (the
// last character carries 4 bits of data and 2 zero bits). It reads no
// store, so a token of any other shape costs no more than this loop.
func wellFormed(tok string) bool {
	if len(tok) != TokenLen || tok[:len(Prefix)] != Prefix {
		return false
	}
	for i := len(Prefix); i < len(tok); i++ {
		if b64url[tok[i]] < 0 {
			return false
		}
	}
	return b64url[tok[len(tok)-1]]&3 == 0
}
