package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// Interface guard.
var _ portico.AnalyticsStore = (*Store)(nil)

// retentionInterval is how often the store drops expired partitions.
const retentionInterval = time.Hour

// Store is the ClickHouse analytics store: a portico.AnalyticsSink and
// portico.AnalyticsQuerier over ClickHouse's HTTP interface. It is safe
// for concurrent use. Create it with New, prepare it with Open, and
// release it with Close.
type Store struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client

	// Table names, unquoted: the one queries read (Table), the MergeTree
	// table on each address (Table, or Table+LocalSuffix with a Cluster),
	// and the one writes go to (the MergeTree table, or its Buffer table
	// with BufferFlush).
	queryName, localName, insertName string
	db, table                        string // quoted database and query table
	insertQuery                      string // the INSERT statement, URL-encoded

	eps    atomic.Pointer[[]*endpoint] // the current addresses
	next   atomic.Uint64               // round-robin position
	addrMu sync.Mutex                  // serializes SetAddrs

	ambMu     sync.Mutex
	ambiguous map[string]struct{} // batches (first and last request id) whose failed insert may have been stored

	rollupSince atomic.Int64 // Unix seconds: the rollup holds every record from this hour on (see prepareRollup)

	retention     atomic.Int64  // days records are kept: Config.RetentionDays, then SetRetentionDays
	retentionKick chan struct{} // SetRetentionDays was called (capacity 1)

	openOnce sync.Once          // starts the retention job
	cancel   context.CancelFunc // stops it; set inside openOnce
	wg       sync.WaitGroup     // waits for it
}

// endpoint is one ClickHouse address and what the store knows about it.
type endpoint struct {
	url       string       // base URL, no trailing slash
	downUntil atomic.Int64 // unix nanoseconds; the address is skipped until then
	down      atomic.Bool  // for logging transitions only
	ready     atomic.Bool  // the schema is known to exist there
	readyMu   sync.Mutex   // one schema set-up at a time
}

// New returns a Store for cfg without contacting any server; Open
// creates the schema. It fails only on an invalid Config.
func New(cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	s := &Store{
		cfg: cfg,
		log: cfg.Logger,
		client: &http.Client{
			Timeout: cfg.Timeout,
			Transport: &http.Transport{
				Proxy:               nil, // loopback and LAN servers: never through a proxy
				DialContext:         dialer.DialContext,
				MaxIdleConnsPerHost: 16,
				// Below the server's keep_alive_timeout (3 s in Debian's
				// configuration, 10 s in current releases), so that few
				// requests meet a connection the server just closed; those
				// are retried by the transport (see do).
				IdleConnTimeout:       2 * time.Second,
				ResponseHeaderTimeout: cfg.Timeout,
				TLSHandshakeTimeout:   cfg.DialTimeout,
			},
		},
		queryName: cfg.Table,
		localName: cfg.Table,
		db:        quoteIdent(cfg.Database),
		table:     quoteIdent(cfg.Table),
	}
	if cfg.Cluster != "" {
		s.localName = cfg.Table + LocalSuffix
	}
	s.insertName = s.localName
	if cfg.BufferFlush > 0 {
		s.insertName = s.localName + BufferSuffix
	}
	s.insertQuery = url.Values{
		"query": {"INSERT INTO " + s.db + "." + quoteIdent(s.insertName) + " (" + strings.Join(columnNames(), ", ") + ") FORMAT TabSeparated"},
	}.Encode()
	s.eps.Store(newEndpoints(cfg.Addrs, nil))
	s.retention.Store(int64(cfg.RetentionDays))
	s.retentionKick = make(chan struct{}, 1)
	return s, nil
}

// SetRetentionDays changes Config.RetentionDays while the store runs: 0
// means DefaultRetentionDays, a negative value keeps records forever. The
// retention job (started by Open) runs again at once, so partitions that
// the new retention expires are dropped within moments, not at the next
// hourly run; data a longer retention would have kept and that was
// already dropped is gone.
func (s *Store) SetRetentionDays(days int) {
	if days == 0 {
		days = DefaultRetentionDays
	}
	s.retention.Store(int64(days))
	select {
	case s.retentionKick <- struct{}{}:
	default:
	}
}

// RetentionDays returns the current retention in days (negative: forever).
func (s *Store) RetentionDays() int { return int(s.retention.Load()) }

func newEndpoints(urls []string, old []*endpoint) *[]*endpoint {
	eps := make([]*endpoint, 0, len(urls))
	for _, u := range urls {
		var ep *endpoint
		for _, o := range old {
			if o.url == u {
				ep = o
				break
			}
		}
		if ep == nil {
			ep = &endpoint{url: u}
		}
		eps = append(eps, ep)
	}
	return &eps
}

// Open creates the database and tables on every address that answers
// (see the package documentation for the statements) and, the first time,
// starts the hourly retention job. It returns an error when no address
// could be prepared; the Store stays usable even then, and prepares each
// address before its first use, so a caller may log the error and go on
// (batches written meanwhile fail, and the recorder spools them).
func (s *Store) Open(ctx context.Context) error {
	s.openOnce.Do(func() {
		jobCtx, cancel := context.WithCancel(context.Background())
		s.cancel = cancel
		s.wg.Add(1)
		go s.retentionLoop(jobCtx)
	})
	return s.prepareAll(ctx)
}

// prepareAll creates the schema on every address; it fails when none
// succeeded.
func (s *Store) prepareAll(ctx context.Context) error {
	eps := *s.eps.Load()
	var errs []error
	for _, ep := range eps {
		if err := s.prepare(ctx, ep); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s: %w", ep.url, err))
			if classify(err, true) == kindAddress {
				s.markDown(ep, err)
			} else {
				s.log.Warn("clickhouse: cannot prepare address", "addr", ep.url, "err", err)
			}
		}
	}
	if len(errs) == len(eps) {
		return &portico.Error{Code: portico.EUnavailable, Message: "analytics store unavailable", Err: errors.Join(errs...)}
	}
	return nil
}

// Close stops the retention job and closes idle connections. It does not
// wait for Write or Query calls in progress.
func (s *Store) Close() error {
	s.openOnce.Do(func() {}) // no job starts after Close
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.client.CloseIdleConnections()
	return nil
}

// Addrs returns the current addresses as base URLs.
func (s *Store) Addrs() []string {
	eps := *s.eps.Load()
	out := make([]string, len(eps))
	for i, ep := range eps {
		out[i] = ep.url
	}
	return out
}

// SetAddrs replaces the addresses at run time (adding or removing an
// analytics address). Addresses kept keep their state; new ones are
// prepared (schema created) before their first use. Calls in progress
// finish on the addresses they started with.
func (s *Store) SetAddrs(addrs []string) error {
	urls, err := normalizeAddrs(addrs)
	if err != nil {
		return err
	}
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	s.eps.Store(newEndpoints(urls, *s.eps.Load()))
	return nil
}

// errorKind says what a failed request means for the address and for the
// call.
type errorKind int

const (
	// kindAddress: the address is down or in trouble (connection failed,
	// 5xx): mark it down and try the next one.
	kindAddress errorKind = iota
	// kindNext: this address cannot serve the call but is not down (a
	// query failed there, or the table is missing): try the next one.
	kindNext
	// kindFatal: the request itself is wrong; no other address will do
	// better.
	kindFatal
)

// serverError is an error answer of ClickHouse.
type serverError struct {
	Status int    // HTTP status
	Code   int    // ClickHouse exception code, 0 if none
	Msg    string // the body, trimmed
}

func (e *serverError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.Status, e.Msg)
}

// Exception codes the store reacts to.
const (
	codeUnknownTable    = 60
	codeUnknownDatabase = 81
)

// codeRE finds the exception code in an error body ("Code: 60, e.displayText() = …").
var codeRE = regexp.MustCompile(`^Code: (\d+)`)

// do sends one request to ep and returns the response body. query goes
// in the URL (URL-encoded), body in the POST body.
func (s *Store) do(ctx context.Context, ep *endpoint, query string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url+"/?"+query, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	// Mark a query as safe to send again when it meets a kept-alive
	// connection that the server closed meanwhile (the header itself is
	// not sent): the transport then retries it on a fresh connection
	// instead of failing. Never an insert: the transport would also send
	// it again when the server stored it and broke the connection before
	// answering; Write settles that case itself (TestWriteAmbiguous).
	if query != s.insertQuery {
		req.Header["X-Idempotency-Key"] = nil
	}
	if s.cfg.User != "" {
		req.SetBasicAuth(s.cfg.User, s.cfg.Password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &serverError{Status: resp.StatusCode, Msg: string(bytes.TrimSpace(b))}
		if len(e.Msg) > 2000 {
			e.Msg = e.Msg[:2000] + "…"
		}
		if c := resp.Header.Get("X-ClickHouse-Exception-Code"); c != "" {
			e.Code, _ = strconv.Atoi(c)
		} else if m := codeRE.FindStringSubmatch(e.Msg); m != nil {
			e.Code, _ = strconv.Atoi(m[1])
		}
		return nil, e
	}
	return b, nil
}

// classify tells what err means; write says whether the call was a
// write (a 5xx on a write marks the address down, on a query it does not,
// for a query that fails on its own must not stop the writes).
func classify(err error, write bool) errorKind {
	var se *serverError
	if !errors.As(err, &se) {
		return kindAddress // connection refused, reset, timed out, …
	}
	switch {
	case se.Code == codeUnknownTable || se.Code == codeUnknownDatabase:
		return kindNext
	case se.Status >= 500 && (write || se.Code == 0):
		return kindAddress
	case se.Status >= 500:
		return kindNext
	}
	return kindFatal
}

// try runs fn on one healthy address after another, starting at the next
// round-robin position, until one succeeds. Addresses that fail with
// kindAddress are marked down for DownFor. It returns an EUnavailable
// error when every address is down or failed.
func (s *Store) try(ctx context.Context, write bool, fn func(*endpoint) error) error {
	eps := *s.eps.Load()
	n := uint64(len(eps))
	start := s.next.Add(1) - 1
	now := time.Now().UnixNano()
	var errs []error
	for i := uint64(0); i < n; i++ {
		ep := eps[(start+i)%n]
		if ep.downUntil.Load() > now {
			continue
		}
		err := s.prepare(ctx, ep)
		if err == nil {
			err = fn(ep)
		}
		if err == nil {
			if ep.down.CompareAndSwap(true, false) {
				s.log.Info("clickhouse: address up", "addr", ep.url)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, fmt.Errorf("%s: %w", ep.url, err))
		switch classify(err, write) {
		case kindFatal:
			if write {
				// The server refused the batch itself (4xx): no address will
				// take it, and the recorder must not retry it forever.
				return &portico.Error{Code: portico.EInvalid, Message: "ClickHouse rejected the batch", Err: fmt.Errorf("%s: %w", ep.url, err)}
			}
			return fmt.Errorf("clickhouse %s: %w", ep.url, err)
		case kindAddress:
			s.markDown(ep, err)
		case kindNext:
			var se *serverError
			if errors.As(err, &se) && (se.Code == codeUnknownTable || se.Code == codeUnknownDatabase) {
				ep.ready.Store(false) // the schema went away: set it up again next time
			}
		}
	}
	if len(errs) == 0 {
		return &portico.Error{Code: portico.EUnavailable, Message: "analytics store unavailable: every ClickHouse address is down"}
	}
	return &portico.Error{Code: portico.EUnavailable, Message: "analytics store unavailable", Err: errors.Join(errs...)}
}

// markDown leaves ep out for DownFor.
func (s *Store) markDown(ep *endpoint, err error) {
	ep.downUntil.Store(time.Now().Add(s.cfg.DownFor).UnixNano())
	if ep.down.CompareAndSwap(false, true) {
		s.log.Warn("clickhouse: address down", "addr", ep.url, "for", s.cfg.DownFor, "err", err)
	}
}

// exec runs a statement that returns nothing interesting on ep.
func (s *Store) exec(ctx context.Context, ep *endpoint, sql string) ([]byte, error) {
	return s.do(ctx, ep, "", []byte(sql))
}

// quoteIdent quotes a checked identifier with backquotes.
func quoteIdent(name string) string { return "`" + name + "`" }

// quoteString returns s as a ClickHouse string literal: in single quotes,
// with backslash and single quote escaped (and control characters that
// would make the statement hard to read), so that no value can end the
// literal early.
func quoteString(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\'':
			b = append(b, '\\', '\'')
		case 0:
			b = append(b, '\\', '0')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '\''))
}
