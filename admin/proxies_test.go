package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/policy"
)

// TestThrottleBehindTrustedProxy: behind a front door (the test server's
// peer, 127.0.0.1, trusted), sign-ups and failed sign-ins count against
// the client the front door reports, so one client cannot use up the
// budget of all; without trusted proxies, those headers are anyone's and
// the peer counts.
func TestThrottleBehindTrustedProxy(t *testing.T) {
	trusted, err := policy.NewTrustedProxies([]string{"127.0.0.0/8"}, policy.HeaderXForwardedFor)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		trusted *policy.TrustedProxies
	}{{"trusted front door", trusted}, {"no trusted proxies", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := signupEnv(t, portico.SignupOpen, func(s *admin.Server) {
				s.SignInLimiter = &fixedLimiter{}
				s.TrustedProxies = tc.trusted
			})
			signup := func(client, name string) int {
				b, _ := json.Marshal(signupBody(name))
				req, _ := http.NewRequest("POST", e.url+"/api/v1/signup", bytes.NewReader(b))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", client)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			for i := range 10 {
				if st := signup("192.0.2.1", "one"+strconv.Itoa(i)); st != http.StatusCreated {
					t.Fatalf("sign-up %d from 192.0.2.1: %d", i, st)
				}
			}
			if st := signup("192.0.2.1", "one-more"); st != http.StatusTooManyRequests {
				t.Fatalf("the eleventh sign-up from 192.0.2.1: %d, want 429", st)
			}
			want := http.StatusCreated // another client behind the front door
			if tc.trusted == nil {
				want = http.StatusTooManyRequests // the header is not believed: the same peer
			}
			if st := signup("198.51.100.7", "two"); st != want {
				t.Fatalf("a sign-up from 198.51.100.7: %d, want %d", st, want)
			}
			if tc.trusted == nil {
				return
			}
			// A report that holds no address counts as the front door
			// itself: one budget for all such requests, never none.
			for i := range 10 {
				if st := signup("unknown, garbage", "bad"+strconv.Itoa(i)); st != http.StatusCreated {
					t.Fatalf("sign-up %d with a broken report: %d", i, st)
				}
			}
			if st := signup("not-an-address", "bad-more"); st != http.StatusTooManyRequests {
				t.Fatalf("the eleventh sign-up with a broken report: %d, want 429", st)
			}
		})
	}
}
