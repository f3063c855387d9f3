package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/admin"
	"github.com/portico-gw/portico/ajp"
	"github.com/portico-gw/portico/balance"
	"github.com/portico-gw/portico/cluster"
	"github.com/portico-gw/portico/console"
	"github.com/portico-gw/portico/framing"
	"github.com/portico-gw/portico/jwtauth"
	"github.com/portico-gw/portico/metrics"
	"github.com/portico-gw/portico/oauth2"
	"github.com/portico-gw/portico/proxy"
	"github.com/portico-gw/portico/ratelimit"
	"github.com/portico-gw/portico/redislimit"
	"github.com/portico-gw/portico/redisstore"
	"github.com/portico-gw/portico/sqlitestore"
	"github.com/portico-gw/portico/webhook"
	"github.com/redis/go-redis/v9"
)

// Main is one running node. Run starts it and returns; Close stops it.
// End-to-end tests use Main the way main does.
type Main struct {
	Config Config
	Stdout io.Writer // where the generated admin password is printed; nil: os.Stdout
	Stderr io.Writer // where logs go; nil: os.Stderr

	// Set by Run: the addresses the listeners bound (useful with ":0");
	// MetricsAddr only with Config.MetricsAddr, AJPAddr with Config.AJPAddr.
	GatewayAddr string
	AdminAddr   string
	MetricsAddr string
	AJPAddr     string

	logger       *slog.Logger
	store        portico.Store             // embedded or Redis
	notesStore   portico.NotificationStore // the same store's notifications
	tokens       portico.TokenStore        // the same store's admin bearer tokens and OAuth2 access tokens
	oauth2       *oauth2.Verifier          // the gateway's check of OAuth2 access tokens
	closeStore   func() error
	db           *sqlitestore.DB   // the embedded store, when used
	redis        *redisstore.Store // the Redis store, when used
	redisLimiter *redislimit.Limiter
	sync         *cluster.Sync
	heartbeat    *cluster.Heartbeat
	rate         cluster.RequestRate
	memLimiter   *ratelimit.Memory // the in-process limiter (embedded store)
	limiter      portico.Limiter
	config       *portico.ConfigVar
	gateway      *proxy.Gateway
	admin        *admin.Server
	notes        *notifier
	hooks        *webhook.Sender
	metrics      *metrics.Metrics
	analytics    *analyticsNode
	gatewaySrv   *http.Server
	fastSrv      *proxy.Server // the fast engine on a plain gateway listener, or nil
	draining     atomic.Bool   // set by Close: /healthz answers 503
	ajpSrv       *ajp.Server   // the AJP listener's server, or nil
	adminSrv     *http.Server
	metricsSrv   *http.Server // with Config.MetricsAddr
	// The writes to clients --write-timeout ended, by listener.
	gatewayTimeouts, adminTimeouts, metricsTimeouts proxy.WriteTimeouts
	certs                                           []*certificate
	startedAt                                       time.Time

	cancel context.CancelFunc // stops the background loops
	wg     sync.WaitGroup
	closed bool
	failed chan error // a listener that stopped serving
}

// Failed returns a channel that receives an error when a listener stops
// serving on its own; the node should then be closed.
func (m *Main) Failed() <-chan error { return m.failed }

// Run opens the data store, starts the listeners and the background loops,
// and returns once the node serves.
func (m *Main) Run(ctx context.Context) error {
	c := m.Config
	if m.Stdout == nil {
		m.Stdout = os.Stdout
	}
	if m.Stderr == nil {
		m.Stderr = os.Stderr
	}
	m.logger = newLogger(m.Stderr, c.LogLevel, c.LogFormat)
	m.startedAt = time.Now()
	m.failed = make(chan error, 5) // one per listener: gateway, fast engine, admin, metrics, ajp
	bg, cancel := context.WithCancel(context.Background())
	m.cancel = cancel

	gatewayCert, adminCert, err := m.loadCertificates()
	if err != nil {
		return err
	}
	webhookCIDRs, err := c.webhookAllowCIDRs()
	if err != nil {
		return err
	}
	adminOrigins, err := c.adminAllowedOrigins()
	if err != nil {
		return err
	}

	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	switch {
	case c.Datastore == "embedded":
		db, err := openEmbedded(ctx, c.DataDir, c.ForceNewStore, m.logger)
		if err != nil {
			return fmt.Errorf("embedded data store: %w", err)
		}
		m.store, m.notesStore, m.tokens, m.closeStore, m.db = db, db, db, db.Close, db
	case strings.HasPrefix(c.Datastore, "redis://"), strings.HasPrefix(c.Datastore, "rediss://"),
		redisstore.IsSentinelURL(c.Datastore), redisstore.IsClusterURL(c.Datastore):
		redis.SetLogger(redisLog{m.logger})
		rs, err := redisstore.Open(ctx, c.Datastore, c.ClusterName, redisstore.WithLogger(m.logger))
		if err != nil {
			return fmt.Errorf("redis data store %s: %w", redact(c.Datastore), err)
		}
		m.store, m.notesStore, m.tokens, m.closeStore, m.redis = rs, rs, rs, rs.Close, rs
	default:
		return fmt.Errorf("datastore %q: want embedded, redis://host:port/db, redis-sentinel://host:port[,host:port…]/master/db or redis-cluster://host:port[,host:port…]", redact(c.Datastore))
	}

	if m.db != nil {
		m.memLimiter = &ratelimit.Memory{}
		m.limiter = m.memLimiter
	} else {
		m.redisLimiter = redislimit.New(m.redis.FastClient(), m.limiterPrefix())
		m.redisLimiter.LiveNodes = m.liveNodes
		m.limiter = m.redisLimiter
	}

	m.config = &portico.ConfigVar{}
	m.hooks = webhook.New(webhook.Config{
		Users: func(id string) *portico.User {
			if cfg := m.config.Load(); cfg != nil {
				return cfg.Users.Get(id)
			}
			return nil
		},
		AllowCIDRs: webhookCIDRs,
		Logger:     m.logger.With("component", "webhook"),
	})
	notes := &notificationStore{NotificationStore: m.notesStore, hooks: m.hooks}
	m.notes = newNotifier(notes, m.logger)
	m.wg.Add(1)
	go func() { defer m.wg.Done(); m.notes.run() }()

	if m.analytics, err = openAnalytics(ctx, c, m.logger); err != nil {
		return err
	}
	if m.analytics != nil && m.redis != nil {
		m.analytics.shared = m.redis // set before the admin API serves
	}
	if m.analytics != nil {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.analytics.pruneLoop(bg) }()
	}
	trusted, err := c.trustedProxies()
	if err != nil {
		return err
	}
	m.oauth2 = oauth2.NewVerifier(m.tokens)
	m.gateway = &proxy.Gateway{
		Limiter:         m.limiter,
		NewBalancer:     func(ep portico.Endpoint) proxy.Balancer { return balance.New(ep) },
		Notify:          m.notes.Notify,
		Logger:          m.logger.With("component", "gateway"),
		ReadBodyTimeout: c.ReadBodyTimeout,
		TrustedProxies:  trusted,
		NewJWTVerifier:  jwtauth.TokenVerifierFactory(m.logger.With("component", "jwt")),
		OAuth2:          m.oauth2,
		TokenEndpoint: &oauth2.Server{
			Tokens:   m.tokens,
			Config:   m.config.Load,
			Lifetime: c.OAuth2TokenLifetime,
			Logger:   m.logger.With("component", "oauth2"),
		},
	}
	// Request validation reads the APIs' imported documents from the
	// config store. A store that does not keep them leaves Documents nil:
	// the APIs that validate requests then answer 503.
	if ds, ok := m.store.(portico.DocumentStore); ok {
		m.gateway.Documents = ds
	} else {
		m.logger.Warn("the datastore keeps no API documents: APIs that validate requests answer 503")
	}
	m.metrics = metrics.New(metrics.Sources{
		ConfigVersion: func() int64 { return m.gateway.Version() },
		LiveNodes:     m.liveNodes,
		Targets: func() []metrics.Target {
			var out []metrics.Target
			for _, t := range m.gateway.Targets() {
				out = append(out, metrics.Target{API: t.API, Version: t.Version, URL: t.URL, Up: t.Up})
			}
			return out
		},
		Recorder: m.recorderStats,
		WriteTimeouts: func() map[string]int64 {
			return map[string]int64{"gateway": m.gatewayTimeouts.Count(), "admin": m.adminTimeouts.Count(), "metrics": m.metricsTimeouts.Count()}
		},
	})
	m.gateway.Recorder = m.metrics
	m.admin = &admin.Server{
		Store:           m.store,
		Draining:        m.draining.Load,
		Notifications:   notes,
		Config:          m.config,
		Membership:      m,
		Tokens:          m.tokens,
		Logger:          m.logger.With("component", "admin"),
		SignInLimiter:   m.limiter,
		Usage:           m.limiter.(portico.UsageReader), // both limiters read usage
		TrustedProxies:  trusted,                         // the front door forwards /portal/ too
		CheckWebhookURL: m.hooks.CheckURL,
		ReadBodyTimeout: c.ReadBodyTimeout,
		AllowedOrigins:  adminOrigins,
		PublicURL:       c.PublicURL, // the server of exported OpenAPI documents
	}
	m.admin.DatastoreSettings = m
	if m.analytics != nil {
		m.gateway.Recorder = tee{m.metrics, m.analytics}
		m.admin.Analytics = m.analytics
		m.admin.Settings = m.analytics
	}
	loading := time.Now()
	if err := m.admin.Open(ctx); err != nil {
		if m.db != nil && errors.Is(err, sqlitestore.ErrCorrupt) {
			// Not the admin's "unavailable, try again later": that is for a
			// store that may come back, and this one will not.
			var pe *portico.Error
			if errors.As(err, &pe) && pe.Err != nil {
				err = pe.Err
			}
			return fmt.Errorf("embedded data store: %w", damagedStore(err, filepath.Join(c.DataDir, StoreFile)))
		}
		return fmt.Errorf("loading config: %w", err)
	}
	loaded := m.config.Load()
	m.logger.Info("config loaded", "version", loaded.Version, "entities", loaded.Len(), "took", time.Since(loading).Round(time.Millisecond))
	if m.memLimiter != nil {
		if err := m.restoreCounters(ctx, loaded); err != nil {
			return err
		}
	} else {
		m.rekeyRedisCounters(ctx, loaded)
	}
	if err := m.awaitRestore(ctx); err != nil {
		return err
	}
	created, pw, err := m.admin.EnsureAdmin(ctx, os.Getenv("PORTICO_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	if created && os.Getenv("PORTICO_ADMIN_PASSWORD") == "" {
		fmt.Fprintf(m.Stdout, "Created user \"admin\" with password %s\n(shown only now; set PORTICO_ADMIN_PASSWORD on first start to choose it)\n", pw)
	}
	building := time.Now()
	m.config.Watch(m.gateway.Update)
	m.logger.Info("gateway routing table built", "took", time.Since(building).Round(time.Millisecond))

	// Plain listeners sniff each request's framing (see listen); every
	// server's outermost handler is framing.Handler. The AJP listener
	// frames requests by its packets: it serves the gateway directly.
	// With the fast engine the gateway's plain listener is the engine's
	// own; net/http serves what it hands over, behind the sniffer.
	fast := gatewayCert == nil && c.GatewayEngine == "fast"
	var gl net.Listener
	if fast {
		gl, err = net.Listen("tcp", c.GatewayAddr) // the engine bounds its writes itself (proxy.Server.WriteTimeout)
	} else {
		gl, err = listen(c.GatewayAddr, gatewayCert, gatewayMaxHeaderBytes, c.WriteTimeout, &m.gatewayTimeouts)
	}
	if err != nil {
		return fmt.Errorf("gateway listener: %w", err)
	}
	al, err := listen(c.AdminAddr, adminCert, 0, c.WriteTimeout, &m.adminTimeouts)
	if err != nil {
		gl.Close()
		return fmt.Errorf("admin listener: %w", err)
	}
	var ml net.Listener
	if c.MetricsAddr != "" {
		if ml, err = listen(c.MetricsAddr, nil, 0, c.WriteTimeout, &m.metricsTimeouts); err != nil {
			gl.Close()
			al.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
		m.MetricsAddr = ml.Addr().String()
	}
	var jl net.Listener
	if c.AJPAddr != "" {
		if jl, err = net.Listen("tcp", c.AJPAddr); err != nil {
			gl.Close()
			al.Close()
			if ml != nil {
				ml.Close()
			}
			return fmt.Errorf("ajp listener: %w", err)
		}
		m.AJPAddr = jl.Addr().String()
	}
	m.GatewayAddr, m.AdminAddr = gl.Addr().String(), al.Addr().String()
	if m.Config.NodeName == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(m.GatewayAddr)
		m.Config.NodeName = host + ":" + port
	}
	m.gateway.Node = m.Config.NodeName
	adminMux := http.NewServeMux()
	adminMux.Handle("GET /metrics", m.adminMetrics())
	adminMux.Handle("/", m.admin)
	web := &console.Server{
		API:            m.admin,
		AllowedOrigins: adminOrigins,
		Logger:         m.logger.With("component", "console"),
		TargetHealth: func(api, version string) []bool {
			var up []bool
			for _, t := range m.gateway.Targets() {
				if t.API == api && t.Version == version {
					up = append(up, t.Up)
				}
			}
			return up
		},
		// The developer portal: its try-it form calls the gateway's
		// handler in-process, counted as the gateway's requests.
		GatewayAddr: m.GatewayAddr,
		KeyHeader:   proxy.HeaderAPIKey,
		PublicURL:   c.PublicURL,
		Gateway: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.rate.Inc(time.Now())
			m.gateway.ServeHTTP(w, r)
		}),
	}
	adminMux.Handle("/console/", web)
	adminMux.Handle("/portal/", web)
	adminMux.Handle("GET /{$}", http.RedirectHandler("/console/", http.StatusSeeOther))
	errLog := slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn)
	m.gatewaySrv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.rate.Inc(time.Now())
			m.gateway.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    gatewayMaxHeaderBytes,
		ErrorLog:          errLog,
	}
	m.adminSrv = &http.Server{
		Handler:           adminMux,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       c.IdleTimeout,
		ErrorLog:          errLog,
	}
	if jl != nil {
		m.ajpSrv = &ajp.Server{
			Handler:     m.gatewaySrv.Handler, // not framing.Handler: AJP frames requests by its packets
			PacketSize:  c.AJPPacketSize,
			Secret:      c.AJPSecret,
			ReadTimeout: c.ReadHeaderTimeout,
			IdleTimeout: c.IdleTimeout,
			Logger:      m.logger.With("component", "ajp"),
		}
		if err := m.ajpSrv.Check(jl.Addr()); err != nil { // e.g. a name that resolved off loopback
			gl.Close()
			al.Close()
			jl.Close()
			if ml != nil {
				ml.Close()
			}
			return fmt.Errorf("ajp listener: %w (set --ajp-secret)", err)
		}
	}
	type serving struct {
		srv *http.Server
		l   net.Listener
	}
	servers := []serving{{m.gatewaySrv, gl}, {m.adminSrv, al}}
	if fast {
		m.fastSrv = &proxy.Server{
			Handler:           m.gatewaySrv.Handler, // before framing.Handler wraps it
			ReadHeaderTimeout: c.ReadHeaderTimeout,
			IdleTimeout:       c.IdleTimeout,
			WriteTimeout:      c.WriteTimeout,
			WriteTimeouts:     &m.gatewayTimeouts,
			Logger:            m.logger.With("component", "gateway"),
		}
		servers[0].l = &framing.Listener{Listener: m.fastSrv.Fallback(), MaxHeaderBytes: gatewayMaxHeaderBytes}
	}
	if ml != nil {
		m.metricsSrv = m.newMetricsServer(errLog)
		servers = append(servers, serving{m.metricsSrv, ml})
	}
	if m.redis != nil {
		m.newCluster() // before the listeners serve: /metrics and the limiter read them
	}
	for _, s := range servers {
		s.srv.Handler = framing.Handler(s.srv.Handler)
		s.srv.ConnContext = framing.ConnContext
	}
	if m.fastSrv != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := m.fastSrv.Serve(gl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.failed <- fmt.Errorf("listener %s: %w", gl.Addr(), err)
			}
		}()
	}
	if m.ajpSrv != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := m.ajpSrv.Serve(jl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.failed <- fmt.Errorf("listener %s: %w", jl.Addr(), err)
			}
		}()
	}
	for _, s := range servers {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := s.srv.Serve(s.l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.failed <- fmt.Errorf("listener %s: %w", s.l.Addr(), err)
			}
		}()
	}
	if m.memLimiter != nil {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.counterLoop(bg) }()
	}
	if m.redis != nil {
		m.startCluster(bg)
		if m.analytics != nil {
			m.wg.Add(1)
			go func() { defer m.wg.Done(); m.analytics.pollShared(bg) }()
		}
	}

	m.logger.Info("portico serving", "version", Version(), "node", m.Config.NodeName,
		"gateway", m.GatewayAddr, "gateway_tls", gatewayCert != nil, "ajp", m.AJPAddr, "admin", m.AdminAddr, "admin_tls", adminCert != nil,
		"metrics", m.metricsWhere(), "data_dir", c.DataDir,
		"datastore", redact(c.Datastore), "config_version", m.config.Load().Version)
	return nil
}

// counterLoop saves quota counters every few seconds, so that a restart
// or a crash loses at most that much quota usage, and drops expired
// counters.
func (m *Main) counterLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.saveCounters(ctx, now)
			m.memLimiter.Sweep(now)
		}
	}
}

// restoreCounters loads the saved quota counters into the in-process
// limiter. Counters saved by a version that keyed them by subscription are
// renamed after their application and API (portico.RekeyCounters) and
// saved back under the new names.
func (m *Main) restoreCounters(ctx context.Context, cfg *portico.Config) error {
	counters, err := m.db.LoadCounters(ctx)
	if err != nil {
		return fmt.Errorf("loading quota counters: %w", err)
	}
	rekeyed := portico.RekeyCounters(cfg, counters)
	if !slices.Equal(rekeyed, counters) {
		if err := m.db.ReplaceCounters(ctx, rekeyed); err != nil {
			return fmt.Errorf("renaming quota counters: %w", err)
		}
		m.logger.Info("quota counters renamed after their application and API", "counters", len(rekeyed))
	}
	m.memLimiter.Restore(rekeyed)
	return nil
}

// rekeyRedisCounters renames, once per cluster, the limit counters a
// release that keyed them by subscription left in Redis (see
// redislimit.Rekey). A failure is logged: the counters it could not
// rename start over, which is no reason not to serve.
func (m *Main) rekeyRedisCounters(ctx context.Context, cfg *portico.Config) {
	n, err := redislimit.Rekey(ctx, m.redis.FastClient(), m.limiterPrefix(), func(k string) (string, bool) {
		return portico.RenameCounter(cfg, k)
	})
	if err != nil {
		m.logger.Error("limit counters kept by subscription were not renamed; they start over", "err", err)
		return
	}
	if n > 0 {
		m.logger.Info("limit counters renamed after their application and API", "counters", n)
	}
}

// limiterPrefix is the Redis key prefix of the cluster's limit counters.
func (m *Main) limiterPrefix() string { return "portico:{" + m.Config.ClusterName + "}:lim:" }

func (m *Main) saveCounters(ctx context.Context, now time.Time) {
	if err := m.db.SaveCounters(ctx, m.memLimiter.Counters(now)); err != nil {
		m.logger.Error("saving quota counters", "err", err)
	}
}

func (m *Main) recorderStats() metrics.RecorderStats {
	if m.analytics == nil {
		return metrics.RecorderStats{}
	}
	s := m.analytics.recorder.Stats()
	return metrics.RecorderStats{Queued: s.Queued, SpoolBytes: s.SpoolBytes, Recorded: s.Recorded,
		Spooled: s.Spooled, Replayed: s.Replayed, Dropped: s.Dropped}
}

// tee hands each record to both recorders.
type tee [2]proxy.Recorder

func (t tee) Record(rec *portico.Record) {
	t[0].Record(rec)
	t[1].Record(rec)
}

// notificationStore stores notifications and sends them to the webhooks
// of the users they concern.
type notificationStore struct {
	portico.NotificationStore
	hooks *webhook.Sender
}

func (s *notificationStore) AddNotification(ctx context.Context, n *portico.Notification) error {
	if err := s.NotificationStore.AddNotification(ctx, n); err != nil {
		return err
	}
	s.hooks.Send(n)
	return nil
}

// restoreWait bounds how long a node starting on an empty Redis waits for
// running nodes to restore the config (as long as Sync gives a restore);
// registerWait is how long it looks for such nodes first (two heartbeats:
// nodes register again within one after Redis comes back).
const (
	restoreWait  = 10 * time.Minute
	registerWait = 2 * time.Second
)

// awaitRestore keeps a node that starts on an empty Redis from bootstrapping
// a new config (the admin user) while other nodes of the cluster are up
// with one: Redis lost its data and they are about to restore it (see
// cluster.Sync). It looks for such nodes for registerWait, then waits for
// the restore and loads it. If those nodes all leave the member list
// without restoring, their config is gone and it goes on (bootstrapping);
// after restoreWait it gives up with an error rather than write over the
// cluster's config. On a Redis no cluster ever used, it costs registerWait
// once.
func (m *Main) awaitRestore(ctx context.Context) error {
	if m.redis == nil || m.config.Load().Len() > 0 {
		return nil
	}
	holders := func() ([]string, error) {
		nctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		nodes, err := m.redis.Nodes(nctx)
		if err != nil {
			return nil, fmt.Errorf("listing the cluster's nodes: %w", err)
		}
		var names []string
		for _, n := range nodes {
			if n.ConfigVersion > 0 && n.Name != m.Config.NodeName {
				names = append(names, n.Name)
			}
		}
		return names, nil
	}
	var names []string
	for start := time.Now(); len(names) == 0 && time.Since(start) < registerWait; {
		var err error
		if names, err = holders(); err != nil {
			return err
		}
		if len(names) == 0 {
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	m.logger.Warn("the data store is empty but other nodes are up with a config: waiting for them to restore it",
		"nodes", names, "wait", restoreWait)
	for start := time.Now(); time.Since(start) < restoreWait; {
		if v, err := m.redis.Version(ctx); err == nil && v > 0 {
			c, err := m.redis.Load(ctx)
			if err != nil {
				return fmt.Errorf("loading the restored config: %w", err)
			}
			m.config.Set(c, false)
			m.logger.Info("the config was restored", "version", c.Version)
			return nil
		}
		if left, err := holders(); err == nil && len(left) == 0 {
			m.logger.Warn("the nodes that held the config left without restoring it; starting a new config", "nodes", names)
			return nil
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("the data store is empty and nodes %v, which hold the cluster's config, did not restore it within %v; not starting a new config over theirs", names, restoreWait)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// self describes this node for the membership.
func (m *Main) self() portico.Node {
	now := time.Now()
	return portico.Node{
		Name: m.Config.NodeName, GatewayAddr: advertised(m.GatewayAddr), AdminAddr: advertised(m.AdminAddr),
		AJPAddr: advertised(m.AJPAddr),
		Version: Version(), StartedAt: m.startedAt.UTC(), LastSeen: now.UTC(),
		LBFactor: m.Config.LBFactor, RequestRate: m.rate.Rate(now), Status: "up",
		ConfigVersion: m.config.Load().Version,
	}
}

// advertised turns a listen address into one peers and front-ends can
// reach: an unspecified host becomes the machine's host name.
func advertised(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host, _ = os.Hostname()
	}
	return net.JoinHostPort(host, port)
}

// Nodes implements portico.Membership: the cluster's nodes from the data
// store (the last known list while it is unreachable), or this node alone.
func (m *Main) Nodes(ctx context.Context) ([]portico.Node, error) {
	if m.redis == nil {
		return []portico.Node{m.self()}, nil
	}
	nodes, err := m.redis.Nodes(ctx)
	if err != nil {
		if last := m.heartbeat.Nodes(); len(last) > 0 {
			return last, nil
		}
		return nil, err
	}
	return nodes, nil
}

// liveNodes is the number of live nodes, as last known (at least 1).
func (m *Main) liveNodes() int {
	if m.heartbeat == nil {
		return 1
	}
	n := 0
	for _, x := range m.heartbeat.Nodes() {
		if x.Status != cluster.StatusDown {
			n++
		}
	}
	return max(n, 1)
}

// newCluster makes the config sync and the heartbeat of a cluster node.
func (m *Main) newCluster() {
	m.sync = &cluster.Sync{Store: m.redis, Feed: m.redis, Config: m.config, Logger: m.logger.With("component", "sync"),
		Node: m.Config.NodeName, Members: m.redis}
	m.heartbeat = &cluster.Heartbeat{Registry: m.redis, Self: m.self, DataDir: m.Config.DataDir,
		Cluster: m.Config.ClusterName, Logger: m.logger.With("component", "membership")}
}

// startCluster starts the loops of a cluster node made by newCluster:
// config sync over the store's change feed, heartbeats and cluster.xml,
// and the limiter sweep.
func (m *Main) startCluster(ctx context.Context) {
	for _, run := range []func(context.Context) error{m.sync.Run, m.heartbeat.Run} {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := run(ctx); err != nil {
				m.logger.Error("cluster loop stopped", "err", err)
			}
		}()
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				m.redisLimiter.Sweep(now)
			}
		}
	}()
}

// Close stops the node in order: stop accepting, let in-flight requests
// finish within the shutdown timeout, stop the loops, save the quota
// counters and notifications, close the store.
func (m *Main) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	// The gateway's listeners drain first, while the admin listener stays
	// up answering /healthz with 503, so that front ends that check it
	// send the node nothing new for the whole drain; then the admin and
	// metrics listeners.
	m.draining.Store(true)
	shutdown := func(stops ...func(context.Context) error) {
		var swg sync.WaitGroup
		for _, stop := range stops {
			swg.Add(1)
			go func() {
				defer swg.Done()
				if err := stop(ctx); err != nil {
					m.logger.Warn("in-flight requests cut at the end of the grace period", "err", err)
				}
			}()
		}
		swg.Wait()
	}
	var gateway, admin []func(context.Context) error
	if m.ajpSrv != nil {
		gateway = append(gateway, m.ajpSrv.Shutdown)
	}
	if m.fastSrv != nil {
		gateway = append(gateway, m.fastSrv.Shutdown)
	}
	for _, s := range []*http.Server{m.gatewaySrv, m.adminSrv, m.metricsSrv} {
		if s == nil {
			continue
		}
		stop := func(ctx context.Context) error {
			err := s.Shutdown(ctx)
			if err != nil {
				s.Close()
			}
			return err
		}
		if s == m.gatewaySrv {
			gateway = append(gateway, stop)
		} else {
			admin = append(admin, stop)
		}
	}
	shutdown(gateway...)
	shutdown(admin...)
	if m.cancel != nil {
		m.cancel()
	}
	if m.notes != nil {
		m.notes.close()
	}
	m.wg.Wait()
	if m.analytics != nil {
		// Requests still running (handlers past the grace period, hijacked
		// WebSockets) record when they end: wait for them within what is
		// left of the grace period, then flush. Everything the gateway
		// recorded is written or spooled.
		if m.gateway != nil && !m.gateway.Wait(ctx) {
			m.logger.Warn("requests still running at the end of the grace period; their analytics records are dropped")
		}
		actx, acancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := m.analytics.close(actx); err != nil {
			errs = append(errs, fmt.Errorf("analytics: %w", err))
		}
		acancel()
	}
	if m.gateway != nil {
		m.gateway.Close() // the APIs' JWT verifiers and their key refreshes, the loading of documents
	}
	if m.oauth2 != nil {
		m.oauth2.Close()
	}
	if m.db != nil && m.memLimiter != nil {
		if err := m.db.SaveCounters(context.Background(), m.memLimiter.Counters(time.Now())); err != nil {
			errs = append(errs, fmt.Errorf("saving quota counters: %w", err))
		}
	}
	if m.hooks != nil {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		m.hooks.Close(hctx)
		hcancel()
	}
	if m.closeStore != nil {
		if err := m.closeStore(); err != nil {
			errs = append(errs, err)
		}
	}
	if m.logger != nil {
		m.logger.Info("portico stopped")
	}
	return errors.Join(errs...)
}

// redisLog is go-redis's logger: its pool writes a line for every failed
// dial, which during a Redis outage is one a request. Those lines go to
// the node's log at debug level; the node's own loops log an outage once
// as a warning, and its end with the number of failed attempts.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, args ...any) {
	r.l.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, args...))
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// notifier hands notifications raised on the request path to the store
// without blocking: a full queue drops and counts.
type notifier struct {
	store   portico.NotificationStore
	logger  *slog.Logger
	ch      chan *portico.Notification
	mu      sync.RWMutex // guards closed against a send on a closed ch
	closed  bool
	dropped atomic.Int64
}

func newNotifier(s portico.NotificationStore, l *slog.Logger) *notifier {
	return &notifier{store: s, logger: l, ch: make(chan *portico.Notification, 4096)}
}

// Notify queues x; it never blocks. After close it drops.
func (n *notifier) Notify(x *portico.Notification) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.closed {
		n.dropped.Add(1)
		return
	}
	select {
	case n.ch <- x:
	default:
		n.dropped.Add(1)
	}
}

func (n *notifier) run() {
	for x := range n.ch {
		if err := n.store.AddNotification(context.Background(), x); err != nil {
			n.logger.Error("storing notification", "kind", x.Kind, "err", err)
		}
	}
}

// close stops taking notifications; run returns once the queue is stored.
func (n *notifier) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.closed {
		n.closed = true
		close(n.ch)
	}
}
