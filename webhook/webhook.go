// Package webhook POSTs notifications to the webhook URLs of the users
// they concern. Delivery is asynchronous and never blocks the caller: a
// bounded queue feeds a few workers; each delivery is tried up to three
// times with a growing pause; what the queue cannot take is dropped and
// counted.
//
// Webhook URLs are set by users, so a Sender must not become a way into
// the network it runs in: every connection is checked on the address
// actually dialled, after name resolution (so DNS answers, rebinding
// included, cannot dodge it), and refused when that address is loopback,
// private, link-local, unique-local, CGNAT, multicast, or another
// special-purpose range, in IPv4, IPv4-mapped IPv6 or NAT64 form, unless
// the operator allows the range (Config.AllowCIDRs). Proxies from the
// environment are not used and redirects are not followed (a 3xx answer
// is a failed delivery). CheckURL runs the same check when a URL is set.
// Logs show a webhook URL's scheme and host only, never its userinfo,
// path or query, where credentials live.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// Sender delivers notifications. Create it with New; Close stops it.
type Sender struct {
	client  *http.Client
	guard   *guard
	users   func(id string) *portico.User
	logger  *slog.Logger
	backoff time.Duration
	queue   chan delivery
	wg      sync.WaitGroup

	mu     sync.RWMutex
	closed bool

	base context.Context // cancelled by Close when its ctx ends
	stop context.CancelFunc

	Delivered, Failed, Dropped atomic.Int64
}

type delivery struct {
	user string // ID, for the log
	url  string
	body []byte
}

// Config configures a Sender.
type Config struct {
	// Users looks up a user by ID (from the node's current config). Required.
	Users func(id string) *portico.User
	// AllowCIDRs lists ranges that webhooks may reach although they are
	// refused by default (loopback, private, link-local, unique-local,
	// CGNAT, multicast and other special-purpose ranges; see the package
	// doc). An address in an IPv4-mapped IPv6 or NAT64 form is matched as
	// the IPv4 address it stands for. Nil allows none of the refused
	// ranges.
	AllowCIDRs []netip.Prefix
	// Resolver resolves webhook host names, when dialling and in
	// CheckURL. Nil means net.DefaultResolver.
	Resolver *net.Resolver
	// Logger logs failed deliveries. Nil discards.
	Logger *slog.Logger
	// Backoff is the pause before the second try; the third waits twice
	// as long. Zero means 1 s.
	Backoff time.Duration
	// Workers sending in parallel; zero means 4.
	Workers int
}

// New starts a Sender.
func New(c Config) *Sender {
	s := &Sender{users: c.Users, logger: c.Logger, backoff: c.Backoff, queue: make(chan delivery, 1024)}
	s.base, s.stop = context.WithCancel(context.Background())
	s.guard = newGuard(c.AllowCIDRs, c.Resolver)
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Resolver:  c.Resolver,
		Control:   s.guard.control,
	}
	s.client = &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // never the environment's: a proxy would dial for us, unchecked
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConns:        16,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.backoff == 0 {
		s.backoff = time.Second
	}
	workers := c.Workers
	if workers == 0 {
		workers = 4
	}
	for range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for d := range s.queue {
				if s.base.Err() != nil {
					s.Dropped.Add(1)
					continue
				}
				s.deliver(d)
			}
		}()
	}
	return s
}

// Send queues n for the webhook URLs of its publisher, its subscriber and
// the admins it names (each user once). It never blocks.
func (s *Sender) Send(n *portico.Notification) {
	seen := map[string]bool{}
	var body []byte
	for _, id := range append([]string{n.Publisher, n.Subscriber}, n.Admins...) {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		u := s.users(id)
		if u == nil || u.WebhookURL == "" {
			continue
		}
		if body == nil {
			body, _ = json.Marshal(n)
		}
		s.enqueue(delivery{user: id, url: u.WebhookURL, body: body})
	}
}

func (s *Sender) enqueue(d delivery) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.Dropped.Add(1)
		return
	}
	select {
	case s.queue <- d:
	default:
		s.Dropped.Add(1)
	}
}

func (s *Sender) deliver(d delivery) {
	var err error
	for try := 0; try < 3 && s.base.Err() == nil; try++ {
		if try > 0 {
			select {
			case <-time.After(s.backoff * time.Duration(try)):
			case <-s.base.Done():
			}
		}
		if err = s.post(d); err == nil {
			s.Delivered.Add(1)
			return
		}
		if errors.Is(err, ErrRefused) || errors.Is(err, errBadURL) {
			break // would be refused again
		}
	}
	s.Failed.Add(1)
	s.logger.Warn("webhook delivery failed", "user", d.user, "url", redact(d.url), "err", redactErr(err, d.url))
}

var errBadURL = errors.New("invalid webhook URL")

func (s *Sender) post(d delivery) error {
	ctx, cancel := context.WithTimeout(s.base, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return errBadURL // the parse error would quote parts of the URL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "portico-webhook")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return fmt.Errorf("status %d (redirects are not followed)", resp.StatusCode)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// CheckURL reports whether rawURL may be used as a webhook URL: an
// absolute http or https URL whose host, an IP address or a name, and
// every address the name resolves to (with Config.Resolver) are outside
// the refused ranges (see Config.AllowCIDRs). It takes at most 5 s (DNS).
// A refused address gives an error that matches ErrRefused (errors.Is); a
// name that does not resolve, or a malformed URL, another error. The messages are meant
// for the user who set the URL: they name the host and the kind of range,
// never the credentials in the URL, a resolved address or the resolver.
// Deliveries check each address dialled again, whatever CheckURL said.
func (s *Sender) CheckURL(ctx context.Context, rawURL string) error {
	return s.guard.checkURL(ctx, rawURL)
}

// Close stops taking notifications and waits for the queued deliveries
// until ctx is done; then it cancels those in flight and drops the rest
// (counted).
func (s *Sender) Close(ctx context.Context) {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.stop()
		<-done
	}
	s.client.CloseIdleConnections()
}
