// Package webhook POSTs notifications to the webhook URLs of the users
// they concern. Delivery is asynchronous and never blocks the caller: a
// bounded queue feeds a few workers; each delivery is tried up to three
// times with a growing pause; what the queue cannot take is dropped and
// counted.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// Sender delivers notifications. Create it with New; Close stops it.
type Sender struct {
	client  *http.Client
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
	url  string
	body []byte
}

// Config configures a Sender.
type Config struct {
	// Users looks up a user by ID (from the node's current config). Required.
	Users func(id string) *portico.User
	// Client sends the POSTs. Nil means a client with a 10 s timeout.
	Client *http.Client
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
	s := &Sender{client: c.Client, users: c.Users, logger: c.Logger, backoff: c.Backoff, queue: make(chan delivery, 1024)}
	s.base, s.stop = context.WithCancel(context.Background())
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
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

// Send queues n for the webhook URLs of its publisher and subscriber (each
// user once). It never blocks.
func (s *Sender) Send(n *portico.Notification) {
	seen := map[string]bool{}
	var body []byte
	for _, id := range []string{n.Publisher, n.Subscriber} {
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
		s.enqueue(delivery{url: u.WebhookURL, body: body})
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
	}
	s.Failed.Add(1)
	s.logger.Warn("webhook delivery failed", "url", d.url, "err", err)
}

func (s *Sender) post(d delivery) error {
	ctx, cancel := context.WithTimeout(s.base, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "portico-webhook")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
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
}
