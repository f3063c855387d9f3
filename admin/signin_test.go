package admin_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
)

// fixedLimiter is a portico.Limiter of fixed windows in memory, all or
// nothing like every Limiter, that records the Takes of each key. It
// stands in for ratelimit.Memory, which admin's tests may not import (see
// layout_test.go); cmd/portico's TestSignInThrottleShared runs the sign-in
// throttle on ratelimit.Memory and on redislimit with a real Redis.
type fixedLimiter struct {
	mu    sync.Mutex
	count map[string]int64 // by key and window start
	takes map[string]int   // by key
}

var _ portico.Limiter = (*fixedLimiter)(nil)

func (l *fixedLimiter) Take(_ context.Context, now time.Time, specs []portico.LimitSpec) (portico.Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count == nil {
		l.count, l.takes = map[string]int64{}, map[string]int{}
	}
	slot := func(sp *portico.LimitSpec) (string, time.Duration) {
		start := now.Truncate(sp.Per.Duration())
		return sp.Key + "@" + start.String(), start.Add(sp.Per.Duration()).Sub(now)
	}
	d := portico.Decision{Allowed: true, Remaining: -1}
	for i := range specs {
		sp := &specs[i]
		l.takes[sp.Key]++
		k, left := slot(sp)
		if l.count[k] >= sp.Limit {
			return portico.Decision{Limit: sp.Limit, Reset: left, RetryAfter: left, Rejected: sp.Key}, nil
		}
	}
	for i := range specs {
		sp := &specs[i]
		k, left := slot(sp)
		l.count[k]++
		if rem := sp.Limit - l.count[k]; d.Remaining < 0 || rem < d.Remaining {
			d.Limit, d.Remaining, d.Reset = sp.Limit, rem, left
		}
	}
	return d, nil
}

// takesOf returns how many Takes named a key starting with prefix.
func (l *fixedLimiter) takesOf(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, v := range l.takes {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// throttledEnv is newEnv with lim as the SignInLimiter.
func throttledEnv(t *testing.T, lim portico.Limiter) *env {
	t.Helper()
	return newEnv(t, withLimiter(lim))
}

func withLimiter(lim portico.Limiter) func(*admin.Server) {
	return func(s *admin.Server) { s.SignInLimiter = lim }
}

// wantThrottled checks a 429 with a Retry-After of 1 s to an hour.
func wantThrottled(t *testing.T, r *result) {
	t.Helper()
	r.want(http.StatusTooManyRequests)
	if r.errCode() != "rate_limited" {
		t.Errorf("%s: code %q", r.req, r.errCode())
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
		t.Errorf("%s: Retry-After %q", r.req, r.header.Get("Retry-After"))
	}
}

// TestSignInThrottleUser: ten failed sign-ins of one user name in an hour
// are answered 401; from then on every sign-in for that name is refused
// with 429 and Retry-After — the right password too, even one this node
// verified before — while other users sign in; the next hour, the user
// signs in again.
func TestSignInThrottleUser(t *testing.T) {
	lim := &fixedLimiter{}
	e := throttledEnv(t, lim)
	pat, _ := e.addUser("pat", portico.RolePublisher)
	e.addUser("sue", portico.RoleSubscriber)
	pat.do("GET", "/api/v1/users/me", nil).want(http.StatusOK) // verified and remembered
	// Align the test clock to the start of an hour, so that the window
	// does not turn during the test.
	now := e.srv.Now()
	e.clock.add(now.Truncate(time.Hour).Add(time.Hour).Sub(now))

	for i := range 10 {
		name := "pat"
		if i%2 == 1 {
			name = "PAT" // names count in any case
		}
		e.as(name, "wrong-password").do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	}
	wantThrottled(t, e.as("pat", "wrong-password").do("GET", "/api/v1/users/me", nil))
	wantThrottled(t, pat.do("GET", "/api/v1/users/me", nil))
	wantThrottled(t, pat.do("POST", "/api/v1/tokens", nil))
	e.as("sue", "sue-secret").do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
	if n := lim.takesOf("signin/user/"); n != 10 {
		t.Errorf("%d failures counted, want 10: refused attempts are not checked nor counted", n)
	}

	e.clock.add(time.Hour)
	pat.do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
}

// TestSignInThrottleAddress: failures of many user names, and bad bearer
// tokens, from one address add up; once 100 have failed in an hour, that
// address is refused every sign-in, bearer tokens included.
func TestSignInThrottleAddress(t *testing.T) {
	e := throttledEnv(t, &fixedLimiter{})
	sue, _ := e.addUser("sue", portico.RoleSubscriber)
	tok, _ := issue(t, sue)
	now := e.srv.Now()
	e.clock.add(now.Truncate(time.Hour).Add(time.Hour).Sub(now))

	for i := range 90 {
		e.as("nobody"+strconv.Itoa(i%30), "guess").do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	}
	for range 10 {
		e.bearer("ptk_guessed").do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	}
	wantThrottled(t, e.as("nobody0", "guess").do("GET", "/api/v1/users/me", nil))
	wantThrottled(t, sue.do("GET", "/api/v1/users/me", nil))
	wantThrottled(t, e.bearer(tok).do("GET", "/api/v1/users/me", nil))
}

// TestSignInThrottleConcurrent: guesses sent at once are checked one at a
// time per user name, so no more are checked than the limit counts.
func TestSignInThrottleConcurrent(t *testing.T) {
	lim := &fixedLimiter{}
	e := throttledEnv(t, lim)
	e.addUser("pat", portico.RolePublisher)
	now := e.srv.Now()
	e.clock.add(now.Truncate(time.Hour).Add(time.Hour).Sub(now))

	const guesses = 40
	codes := make(chan int, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", e.url+"/api/v1/users/me", nil)
			req.SetBasicAuth("pat", "guess-"+strconv.Itoa(i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[http.StatusUnauthorized] != 10 || got[http.StatusTooManyRequests] != guesses-10 {
		t.Errorf("answers %v, want 10 × 401 and %d × 429", got, guesses-10)
	}
	if n := lim.takesOf("signin/user/"); n != 10 {
		t.Errorf("%d guesses checked and counted, want 10", n)
	}
}

// TestSignInThrottleNodes: two Servers sharing one limiter, like two nodes
// of a cluster: the failures add up, and after the limit each node checks
// at most one more guess (limit + nodes - 1 in all) before it refuses.
func TestSignInThrottleNodes(t *testing.T) {
	lim := &fixedLimiter{}
	a, b := twoNodes(t, nil, withLimiter(lim))
	a.addUser("pat", portico.RolePublisher)
	now := a.srv.Now()
	a.clock.add(now.Truncate(time.Hour).Add(time.Hour).Sub(now))

	for i := range 10 {
		node := a
		if i%2 == 1 {
			node = b
		}
		node.as("pat", "wrong").do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	}
	// B counted the tenth failure: it knows. A checks one more guess,
	// which the shared counter refuses.
	wantThrottled(t, b.as("pat", "wrong").do("GET", "/api/v1/users/me", nil))
	wantThrottled(t, a.as("pat", "wrong").do("GET", "/api/v1/users/me", nil))
	wantThrottled(t, a.as("pat", "pat-secret").do("GET", "/api/v1/users/me", nil))
	wantThrottled(t, b.as("pat", "pat-secret").do("GET", "/api/v1/users/me", nil))
	if n := lim.takesOf("signin/user/"); n != 11 {
		t.Errorf("%d guesses checked, want 10 + 2 nodes - 1 = 11", n)
	}
}

// TestCurrentPasswordThrottled: a wrong current_password in a password
// change counts as a failed sign-in of the user: a stolen bearer token
// cannot be used to guess the password.
func TestCurrentPasswordThrottled(t *testing.T) {
	e := throttledEnv(t, &fixedLimiter{})
	sue, _ := e.addUser("sue", portico.RoleSubscriber)
	tok, _ := issue(t, sue)
	now := e.srv.Now()
	e.clock.add(now.Truncate(time.Hour).Add(time.Hour).Sub(now))
	bc := e.bearer(tok)
	bc.do("PUT", "/api/v1/users/me", map[string]any{"password": "new-password-1"}).wantErr(http.StatusBadRequest, "current_password")
	for i := range 10 {
		bc.do("PUT", "/api/v1/users/me", map[string]any{"password": "new-password-1", "current_password": "guess" + strconv.Itoa(i)}).
			wantErr(http.StatusForbidden, "current_password")
	}
	wantThrottled(t, bc.do("PUT", "/api/v1/users/me", map[string]any{"password": "new-password-1", "current_password": "sue-secret"}))
	wantThrottled(t, sue.do("GET", "/api/v1/users/me", nil))
	bc.do("GET", "/api/v1/users/me", nil).want(http.StatusOK) // a valid token is no password guess
	e.clock.add(time.Hour)
	bc.do("PUT", "/api/v1/users/me", map[string]any{"password": "new-password-1", "current_password": "sue-secret"}).want(http.StatusOK)
	e.as("sue", "new-password-1").do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
}

// TestSignInUnthrottled: without a SignInLimiter nothing is refused.
func TestSignInUnthrottled(t *testing.T) {
	e := newEnv(t)
	for range 30 {
		e.as("admin", "wrong").do("GET", "/api/v1/users/me", nil).want(http.StatusUnauthorized)
	}
	e.admin().do("GET", "/api/v1/users/me", nil).want(http.StatusOK)
}
