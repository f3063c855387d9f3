package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/policy"
)

// Sign-in throttling: failed sign-ins are counted in Server.SignInLimiter,
// per user name and per client address, in fixed windows of
// signInPeriod. While either counter is used up, every sign-in for that
// user name, or from that address, is refused with 429 and Retry-After —
// even with the right password, so that the answer tells a guesser
// nothing.
const (
	// signInPeriod is the window of the failure counters: fixed clock
	// hours (the limiters' periods are second, minute, hour and up). A
	// used-up counter refuses until the end of its hour.
	signInPeriod = portico.Hour

	// maxUserFailures is the failed sign-ins allowed per user name per
	// signInPeriod: plenty for people who mistype, and at most 240
	// guesses a day, 87,600 a year, against one account — an online
	// attack cannot go through even the common-password lists that way.
	maxUserFailures = 10

	// maxAddrFailures is the failed sign-ins allowed per client address
	// (IPv4 address, IPv6 /64) per signInPeriod, across user names: it
	// stops one client from guessing a few passwords of many users, while
	// an office behind one address can mistype ten times as much as one
	// user.
	maxAddrFailures = 100

	// maxBlocked bounds the per-node cache of used-up counters.
	maxBlocked = 10000
)

// throttle is a Server's per-node part of sign-in throttling: the counters
// this node found used up, and a gate per user name and client address
// that lets one password check at a time through, so that a failure is
// counted before the next guess of that user or address is checked.
type throttle struct {
	mu      sync.Mutex
	blocked map[string]time.Time // counter key → refused until, on Server.now's clock
	gates   map[string]*gate
}

// gate is held by the one password check of its key in progress.
type gate struct {
	held chan struct{} // capacity 1: full while held
	refs int           // holders and waiters; the gate is dropped at 0
}

// signIn names the failure counters of one sign-in attempt: user is ""
// when the attempt names no user (a bearer token).
type signIn struct {
	user, addr string
}

// signInOf returns the counters of an attempt by user name (any case, ""
// for none) from r's client address. Without a SignInLimiter nothing is
// counted, and it returns the zero signIn without work.
func (s *Server) signInOf(r *http.Request, name string) signIn {
	if s.SignInLimiter == nil {
		return signIn{}
	}
	si := signIn{addr: "signin/addr/" + s.clientAddr(r)}
	if name != "" {
		h := sha256.Sum256([]byte(strings.ToLower(name)))
		si.user = "signin/user/" + hex.EncodeToString(h[:16]) // bounded, whatever a client sends as a name
	}
	return si
}

func (si signIn) keys() []string {
	if si.user == "" {
		return []string{si.addr}
	}
	return []string{si.user, si.addr}
}

// clientAddr returns the address r comes from as throttling counts it:
// the client's IP (policy.ClientIP: the peer, or what TrustedProxies in
// front of the listener report), an IPv6 address cut to its /64 (what
// one host usually gets). When a trusted proxy reports no address, the
// peer's counts.
func (s *Server) clientAddr(r *http.Request) string {
	ip := policy.ClientIP(r.RemoteAddr, r.Header, s.TrustedProxies)
	if !ip.IsValid() {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ip, err = netip.ParseAddr(host); err != nil {
			return host
		}
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// throttled is the error of a refused sign-in: 429 with Retry-After.
type throttled struct {
	err   *portico.Error
	after time.Duration
}

func (e *throttled) Error() string { return e.err.Error() }
func (e *throttled) Unwrap() error { return e.err }

// retryAfter is the Retry-After value of a wait d: whole seconds, at
// least 1.
func retryAfter(d time.Duration) string {
	return fmt.Sprint(max(1, int64((d+time.Second-1)/time.Second)))
}

func refusal(si signIn, key string, after time.Duration) error {
	msg := "too many failed sign-ins from this address"
	if key == si.user {
		msg = "too many failed sign-ins for this user name"
	}
	return &throttled{
		err:   portico.Errorf(portico.ERateLimited, "%s; try again in %s seconds", msg, retryAfter(after)),
		after: after,
	}
}

// refused returns the refusal of an attempt whose user name or address
// this node knows to be used up, or nil. It reads only this node's memory.
func (s *Server) refused(si signIn) error {
	if s.SignInLimiter == nil {
		return nil
	}
	now := s.now()
	t := &s.throttle
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range si.keys() {
		if until, ok := t.blocked[k]; ok {
			if now.Before(until) {
				return refusal(si, k, until.Sub(now))
			}
			delete(t.blocked, k)
		}
	}
	return nil
}

// block records that key is used up until until.
func (t *throttle) block(key string, until time.Time, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.blocked == nil {
		t.blocked = map[string]time.Time{}
	}
	if len(t.blocked) >= maxBlocked {
		for k, u := range t.blocked {
			if !now.Before(u) {
				delete(t.blocked, k)
			}
		}
		if len(t.blocked) >= maxBlocked {
			// Forgetting blocks costs at most one more password check per
			// forgotten key before the shared counter refuses it again.
			clear(t.blocked)
		}
	}
	t.blocked[key] = until
}

// enter waits for the gates of si's keys, in the order of keys (user name
// first: every caller takes them in that order, so waits cannot cycle),
// and returns the function that releases them. Without a SignInLimiter it
// waits for nothing.
func (s *Server) enter(ctx context.Context, si signIn) (release func(), err error) {
	if s.SignInLimiter == nil {
		return func() {}, nil
	}
	t := &s.throttle
	keys := si.keys()
	var held []*gate
	release = func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for i, g := range held {
			<-g.held
			t.drop(keys[i], g)
		}
	}
	for _, k := range keys {
		t.mu.Lock()
		if t.gates == nil {
			t.gates = map[string]*gate{}
		}
		g := t.gates[k]
		if g == nil {
			g = &gate{held: make(chan struct{}, 1)}
			t.gates[k] = g
		}
		g.refs++
		t.mu.Unlock()
		select {
		case g.held <- struct{}{}:
			held = append(held, g)
		case <-ctx.Done():
			t.mu.Lock()
			t.drop(k, g)
			t.mu.Unlock()
			release()
			return nil, unauthorized("the sign-in was abandoned")
		}
	}
	return release, nil
}

// drop forgets one holder or waiter of gate g of key k. t.mu is held.
func (t *throttle) drop(k string, g *gate) {
	if g.refs--; g.refs == 0 {
		delete(t.gates, k)
	}
}

// failed counts a failed sign-in in every counter of si, each on its own
// so that every counter sees every failure. It returns the refusal when a
// counter was used up already (the attempt was one too many); otherwise
// nil, and the caller answers the failure as such. A counter this failure
// used up, or found used up, is remembered until it frees, so that this
// node refuses the next attempts without checking a password.
//
// Bound: a node checks a password for a user name (or address) only while
// it has not seen the counter used up, one check at a time, and counts
// each failure before the next check. So in one window of signInPeriod,
// across N nodes sharing the limiter, at most limit + N - 1 wrong
// passwords are checked per user name (per address): limit counted ones,
// and one more on each node other than the one that used the counter up,
// whose failure is refused by the shared counter and then blocks that
// node. With one node it is exactly the limit. A window boundary can put
// twice that into one interval of signInPeriod.
func (s *Server) failed(ctx context.Context, si signIn) error {
	if s.SignInLimiter == nil {
		return nil
	}
	var refused error
	for _, k := range si.keys() {
		limit := int64(maxAddrFailures)
		if k == si.user {
			limit = maxUserFailures
		}
		now := s.now()
		spec := []portico.LimitSpec{{Key: k, Limit: limit, Per: signInPeriod, Window: portico.Fixed, OnError: portico.DatastoreLocal}}
		d, err := s.SignInLimiter.Take(context.WithoutCancel(ctx), now, spec)
		switch {
		case err != nil:
			// The failure goes uncounted; the attempt is still answered
			// as failed.
			s.log.Warn("admin: counting a failed sign-in failed", "err", err)
		case !d.Allowed:
			wait := max(d.RetryAfter, time.Second)
			s.throttle.block(k, now.Add(wait), now)
			if refused == nil {
				refused = refusal(si, k, wait)
			}
		case d.Remaining <= 0:
			s.throttle.block(k, now.Add(max(d.Reset, time.Second)), now)
		}
	}
	return refused
}
