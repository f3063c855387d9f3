package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/ajp"
	"github.com/portico-gw/portico/oauth2"
	"github.com/portico-gw/portico/policy"
)

// Config is the configuration of `portico serve`. Each field is a flag,
// an environment variable PORTICO_<NAME> (upper case, "-" as "_") and a key
// of the YAML config file (the flag's name with "_" for "-"). Precedence:
// file < environment < flags.
type Config struct {
	ConfigFile             string
	DataDir                string
	GatewayAddr            string
	AdminAddr              string
	NodeName               string
	Datastore              string
	ClusterName            string
	LBFactor               int
	Analytics              string
	AnalyticsCluster       string
	AnalyticsFlushInterval time.Duration
	AnalyticsBatchSize     int
	AnalyticsConcurrency   int
	AnalyticsRetention     int
	LogLevel               string
	LogFormat              string
	ShutdownTimeout        time.Duration
	GatewayTLSCert         string
	GatewayTLSKey          string
	AdminTLSCert           string
	AdminTLSKey            string
	MetricsAddr            string
	MetricsToken           string
	ForceNewStore          bool
	WebhookAllowCIDR       string // comma-separated; see webhookAllowCIDRs
	AdminAllowedOrigin     string // comma-separated; see adminAllowedOrigins
	ReadBodyTimeout        time.Duration
	GatewayEngine          string // fast or std; see proxy.Server
	ReadHeaderTimeout      time.Duration
	IdleTimeout            time.Duration
	WriteTimeout           time.Duration // 0: none; see proxy.WriteTimeoutListener
	AJPAddr                string        // "": no AJP listener
	AJPPacketSize          int
	AJPSecret              string
	TrustedProxies         string // comma-separated CIDRs; see trustedProxies
	TrustedProxiesHeader   string // X-Forwarded-For or Forwarded
	OAuth2TokenLifetime    time.Duration
	PublicURL              string // the front door's base URL, for the developer portal; "": the gateway's address
}

// errHelp is returned by LoadConfig when -h was given and usage printed.
var errHelp = errors.New("help requested")

// DefaultConfig returns the defaults of DESIGN.md.
func DefaultConfig() Config {
	return Config{
		DataDir:                "./portico-data",
		GatewayAddr:            ":8080",
		AdminAddr:              ":9080",
		Datastore:              "embedded",
		ClusterName:            "default",
		LBFactor:               1,
		Analytics:              "embedded",
		AnalyticsFlushInterval: time.Second,
		AnalyticsBatchSize:     5000,
		AnalyticsConcurrency:   2,
		AnalyticsRetention:     90,
		LogLevel:               "info",
		LogFormat:              "text",
		ShutdownTimeout:        30 * time.Second,
		ReadBodyTimeout:        30 * time.Second,
		GatewayEngine:          "fast",
		ReadHeaderTimeout:      10 * time.Second,
		IdleTimeout:            120 * time.Second,
		WriteTimeout:           60 * time.Second,
		AJPPacketSize:          ajp.DefaultPacketSize,
		TrustedProxiesHeader:   policy.HeaderXForwardedFor,
		OAuth2TokenLifetime:    oauth2.DefaultLifetime,
	}
}

// bind defines the serve flags on fs, writing into c.
func bind(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.ConfigFile, "config", c.ConfigFile, "YAML config file")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (embedded store, spool, cluster.xml)")
	fs.StringVar(&c.GatewayAddr, "gateway-addr", c.GatewayAddr, "gateway listener address")
	fs.StringVar(&c.AdminAddr, "admin-addr", c.AdminAddr, "admin API and console listener address")
	fs.StringVar(&c.NodeName, "node-name", c.NodeName, "node name (default: hostname and gateway port)")
	fs.StringVar(&c.Datastore, "datastore", c.Datastore, "data store: embedded, redis://[user:pass@]host:port/db, Redis behind Sentinel: redis-sentinel://[user:pass@]host:port[,host:port…]/master/db, or a Redis Cluster: redis-cluster://[user:pass@]host:port[,host:port…]")
	fs.StringVar(&c.ClusterName, "cluster-name", c.ClusterName, "cluster name: the key prefix in a shared data store")
	fs.IntVar(&c.LBFactor, "lb-factor", c.LBFactor, "load-balancing factor of this node for the front-end web server")
	fs.StringVar(&c.Analytics, "analytics", c.Analytics, "analytics store: embedded, clickhouse://host:8123[,host2:8123], or none")
	fs.StringVar(&c.AnalyticsCluster, "analytics-cluster", c.AnalyticsCluster, "ClickHouse cluster name: create local and Distributed tables across its shards")
	fs.DurationVar(&c.AnalyticsFlushInterval, "analytics-flush-interval", c.AnalyticsFlushInterval, "analytics: write a batch at least this often")
	fs.IntVar(&c.AnalyticsBatchSize, "analytics-batch-size", c.AnalyticsBatchSize, "analytics: records per batch")
	fs.IntVar(&c.AnalyticsConcurrency, "analytics-max-concurrent-batches", c.AnalyticsConcurrency, "analytics: batches written at once")
	fs.IntVar(&c.AnalyticsRetention, "analytics-retention-days", c.AnalyticsRetention, "analytics: days records are kept")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log format: text or json")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "grace period for in-flight requests on SIGTERM")
	fs.StringVar(&c.GatewayTLSCert, "gateway-tls-cert", c.GatewayTLSCert, "gateway: serve HTTPS (and HTTP/2) with this PEM certificate chain; with --gateway-tls-key; reloaded on SIGHUP")
	fs.StringVar(&c.GatewayTLSKey, "gateway-tls-key", c.GatewayTLSKey, "gateway: the PEM private key of --gateway-tls-cert")
	fs.StringVar(&c.AdminTLSCert, "admin-tls-cert", c.AdminTLSCert, "admin listener: serve HTTPS (and HTTP/2) with this PEM certificate chain; with --admin-tls-key; reloaded on SIGHUP")
	fs.StringVar(&c.AdminTLSKey, "admin-tls-key", c.AdminTLSKey, "admin listener: the PEM private key of --admin-tls-cert")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "serve GET /metrics, without authentication, on a listener of its own at this address (plain HTTP: bind it to a private network)")
	fs.StringVar(&c.MetricsToken, "metrics-token", c.MetricsToken, "serve GET /metrics on the admin listener to requests with \"Authorization: Bearer <token>\" (16 characters or more; prefer PORTICO_METRICS_TOKEN to the flag)")
	fs.BoolVar(&c.ForceNewStore, "force-new-store", c.ForceNewStore, "start a new, empty embedded store although the data dir shows it held one (portico.db removed or emptied); use once")
	fs.DurationVar(&c.ReadBodyTimeout, "read-body-timeout", c.ReadBodyTimeout, "gateway and admin API: a client that sends no byte of its request body for this long gets a 408 and its connection closed (0: no limit on the gateway; the admin API keeps its 30s limit on a whole request body, 5 minutes for an imported document or a config file)")
	fs.StringVar(&c.GatewayEngine, "gateway-engine", c.GatewayEngine, "gateway HTTP/1.1 engine on a plain listener: fast (Portico's own connection loop; requests it does not serve itself go to Go's net/http on the same connection) or std (Go's net/http for every request); a TLS listener always uses std")
	fs.DurationVar(&c.ReadHeaderTimeout, "read-header-timeout", c.ReadHeaderTimeout, "gateway and admin API: a client must send a request's whole head within this long of its first byte, or its connection is closed")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "gateway and admin API: a keep-alive client connection with no request for this long is closed")
	fs.DurationVar(&c.WriteTimeout, "write-timeout", c.WriteTimeout, "gateway and admin API: a client that acknowledges no byte of its response for this long (it stopped reading) has its connection closed, and the backend connection the response came from with it (0: no limit)")
	fs.StringVar(&c.AJPAddr, "ajp-addr", c.AJPAddr, "also serve the gateway over AJP/1.3 at this address, for Apache mod_jk or mod_proxy_ajp (empty: no AJP listener)")
	fs.IntVar(&c.AJPPacketSize, "ajp-packet-size", c.AJPPacketSize, "AJP packet size in bytes, 8192 to 65536: the web server's own (mod_jk worker max_packet_size, mod_proxy_ajp ProxyIOBufferSize)")
	fs.StringVar(&c.AJPSecret, "ajp-secret", c.AJPSecret, "secret every AJP request must carry (mod_jk worker secret, mod_proxy_ajp secret=); required unless --ajp-addr is on loopback; prefer PORTICO_AJP_SECRET to the flag")
	fs.Var(&listFlag{p: &c.AdminAllowedOrigin, fresh: true}, "admin-allowed-origin", "origins (scheme://host[:port]) besides the admin listener's own whose browser requests the admin API serves, e.g. the public origin behind a proxy: comma-separated or the flag repeated")
	fs.Var(&listFlag{p: &c.TrustedProxies, fresh: true}, "trusted-proxies", "gateway: addresses of the proxies in front of it (the front door: nginx, Apache, HAProxy, a load balancer) whose report of the client's address it believes, for IP rules, header variables and analytics: CIDRs or addresses, comma-separated or the flag repeated (empty: the client is the connection's peer, and X-Forwarded-For is not believed)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "the front door's base URL (https://api.example.com): where the developer portal tells callers to call APIs, and the server of exported OpenAPI documents")
	fs.StringVar(&c.TrustedProxiesHeader, "trusted-proxies-header", c.TrustedProxiesHeader, "gateway: the header in which --trusted-proxies report the client: X-Forwarded-For or Forwarded")
	fs.DurationVar(&c.OAuth2TokenLifetime, "oauth2-token-lifetime", c.OAuth2TokenLifetime, "gateway: how long an access token of POST /oauth2/token is valid (1m to 24h)")
	fs.Var(&listFlag{p: &c.WebhookAllowCIDR, fresh: true}, "webhook-allow-cidr", "address ranges webhooks may reach although internal (loopback, private, link-local…): CIDRs or addresses, comma-separated or the flag repeated")
}

// listFlag is a flag of comma-separated values that may also be repeated:
// --x a --x b,c is "a,b,c". Set again from another source (config file,
// environment, command line: see setFlag), it starts over.
type listFlag struct {
	p     *string
	fresh bool // the next Set replaces the value
}

func (l *listFlag) String() string {
	if l == nil || l.p == nil {
		return ""
	}
	return *l.p
}

func (l *listFlag) Set(v string) error {
	if l.fresh || *l.p == "" {
		*l.p = v
	} else {
		*l.p += "," + v
	}
	l.fresh = false
	return nil
}

// listItems returns the items of the value of a listFlag, trimmed of
// spaces, empty ones left out.
func listItems(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// setFlag sets the flag name of fs to value, which replaces what an
// earlier source set, list flags included.
func setFlag(fs *flag.FlagSet, name, value string) error {
	if f := fs.Lookup(name); f != nil {
		if l, ok := f.Value.(*listFlag); ok {
			l.fresh = true
		}
	}
	return fs.Set(name, value)
}

// NodeFile is the node config in the data dir: settings recorded at run
// time (PUT /api/v1/settings/datastore) that take effect at the next start.
// It ranks above the config file and below the environment and flags.
const NodeFile = "node.yaml"

// LoadConfig resolves the configuration from args, the environment (a
// lookup function, os.LookupEnv in production), the config file and the
// node file in the data dir.
func LoadConfig(args []string, lookupEnv func(string) (string, bool)) (Config, error) {
	cli := DefaultConfig()
	fs := flag.NewFlagSet("portico serve", flag.ContinueOnError)
	bind(fs, &cli)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, errHelp
		}
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c, err := resolve(fs, cli, lookupEnv, "")
	if err != nil {
		return Config{}, err
	}
	node := filepath.Join(c.DataDir, NodeFile)
	if _, err := os.Stat(node); err == nil {
		if c, err = resolve(fs, cli, lookupEnv, node); err != nil {
			return Config{}, err
		}
	}
	return c, c.validate()
}

// resolve layers defaults < config file < node file < environment < flags.
func resolve(fs *flag.FlagSet, cli Config, lookupEnv func(string) (string, bool), nodeFile string) (Config, error) {
	c := DefaultConfig()
	final := flag.NewFlagSet("resolved", flag.ContinueOnError)
	bind(final, &c)
	envName := func(flagName string) string {
		return "PORTICO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
	}
	path := cli.ConfigFile
	if path == "" {
		path, _ = lookupEnv(envName("config"))
	}
	for _, file := range []string{path, nodeFile} {
		if file == "" {
			continue
		}
		if err := applyFile(final, file); err != nil {
			return Config{}, err
		}
	}
	c.ConfigFile = path
	var err error
	final.VisitAll(func(f *flag.Flag) {
		if v, ok := lookupEnv(envName(f.Name)); ok && err == nil && f.Name != "config" {
			if e := setFlag(final, f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	if err != nil {
		return Config{}, err
	}
	fs.Visit(func(f *flag.Flag) {
		if e := setFlag(final, f.Name, f.Value.String()); e != nil && err == nil {
			err = e
		}
	})
	return c, err
}

// applyFile sets the settings of a YAML file into fs.
func applyFile(fs *flag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for k, v := range m {
		name := strings.ReplaceAll(k, "_", "-")
		if name == "config" || fs.Lookup(name) == nil {
			return fmt.Errorf("config file %s: unknown setting %q", path, k)
		}
		value := fmt.Sprint(v)
		if list, ok := v.([]any); ok { // webhook_allow_cidr: [10.0.0.0/8, …]
			items := make([]string, len(list))
			for i, x := range list {
				items[i] = fmt.Sprint(x)
			}
			value = strings.Join(items, ",")
		}
		if err := setFlag(fs, name, value); err != nil {
			return fmt.Errorf("config file %s: %s: %w", path, k, err)
		}
	}
	return nil
}

func (c Config) validate() error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log-format %q: want text or json", c.LogFormat)
	}
	if c.LBFactor < 1 {
		return fmt.Errorf("lb-factor %d: must be at least 1", c.LBFactor)
	}
	if c.Analytics != "embedded" && c.Analytics != "none" && !strings.HasPrefix(c.Analytics, "clickhouse://") {
		return fmt.Errorf("analytics %q: want embedded, none or clickhouse://host:8123[,host2:8123]", c.Analytics)
	}
	if c.AnalyticsFlushInterval <= 0 || c.AnalyticsBatchSize < 1 || c.AnalyticsConcurrency < 1 || c.AnalyticsRetention < 1 {
		return fmt.Errorf("analytics-flush-interval, -batch-size, -max-concurrent-batches and -retention-days must be positive")
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("shutdown-timeout %v: must not be negative", c.ShutdownTimeout)
	}
	if c.GatewayEngine != "fast" && c.GatewayEngine != "std" {
		return fmt.Errorf("gateway-engine %q: want fast or std", c.GatewayEngine)
	}
	if c.AJPPacketSize < ajp.DefaultPacketSize || c.AJPPacketSize > ajp.MaxPacketSize {
		return fmt.Errorf("ajp-packet-size %d: want %d to %d", c.AJPPacketSize, ajp.DefaultPacketSize, ajp.MaxPacketSize)
	}
	if c.AJPSecret != "" && (len(c.AJPSecret) < minAJPSecret || strings.ContainsFunc(c.AJPSecret, unicode.IsSpace)) {
		return fmt.Errorf("ajp-secret: want %d characters or more, no spaces or line breaks (it goes into workers.properties; e.g. openssl rand -hex 24)", minAJPSecret)
	}
	if c.AJPAddr != "" && c.AJPSecret == "" && !loopbackAddr(c.AJPAddr) {
		return fmt.Errorf("ajp-addr %s is not on loopback: set --ajp-secret or PORTICO_AJP_SECRET, the secret of the web server's AJP worker", c.AJPAddr)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(c.PublicURL, "?") || strings.HasSuffix(c.PublicURL, "#") {
			return fmt.Errorf("public-url %q: want http(s)://host[:port][/path], without user, query or fragment", c.PublicURL)
		}
	}
	if c.ReadHeaderTimeout <= 0 || c.IdleTimeout <= 0 {
		return fmt.Errorf("read-header-timeout and idle-timeout must be positive")
	}
	if c.WriteTimeout < 0 {
		return fmt.Errorf("write-timeout %v: must not be negative (0 is no limit)", c.WriteTimeout)
	}
	if c.ReadBodyTimeout < 0 {
		return fmt.Errorf("read-body-timeout %v: must not be negative (0 is no limit)", c.ReadBodyTimeout)
	}
	if c.OAuth2TokenLifetime < oauth2.MinLifetime || c.OAuth2TokenLifetime > oauth2.MaxLifetime {
		return fmt.Errorf("oauth2-token-lifetime %v: want %v to %v", c.OAuth2TokenLifetime, oauth2.MinLifetime, oauth2.MaxLifetime)
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	for _, p := range []struct{ name, cert, key string }{
		{"gateway", c.GatewayTLSCert, c.GatewayTLSKey},
		{"admin", c.AdminTLSCert, c.AdminTLSKey},
	} {
		if (p.cert == "") != (p.key == "") {
			return fmt.Errorf("%s-tls-cert and %s-tls-key go together: give both (HTTPS) or neither (plain HTTP)", p.name, p.name)
		}
	}
	if c.MetricsToken != "" && (len(c.MetricsToken) < minMetricsToken || strings.ContainsFunc(c.MetricsToken, unicode.IsSpace)) {
		return fmt.Errorf("metrics-token: want %d characters or more, no spaces (e.g. openssl rand -hex 24)", minMetricsToken)
	}
	if _, err := c.webhookAllowCIDRs(); err != nil {
		return err
	}
	if _, err := c.adminAllowedOrigins(); err != nil {
		return err
	}
	return nil
}

// minAJPSecret is the shortest AJP secret accepted: the AJP port trusts
// what the web server says of the client once the secret matches.
const minAJPSecret = 16

// minMetricsToken is the shortest metrics token accepted: long enough
// that guessing it is out of reach, as nothing throttles the guesses.
const minMetricsToken = 16

// webhookAllowCIDRs parses WebhookAllowCIDR: CIDRs (10.0.0.0/8) or single
// addresses (10.1.2.3, a /32 or /128), comma-separated. A CIDR with bits
// set past its prefix length is refused, as it may not mean what it says.
func (c Config) webhookAllowCIDRs() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range listItems(c.WebhookAllowCIDR) {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("webhook-allow-cidr %q: want a CIDR such as 10.0.0.0/8 or an address", s)
		}
		if p != p.Masked() {
			return nil, fmt.Errorf("webhook-allow-cidr %q: bits set past /%d: did you mean %s?", s, p.Bits(), p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// adminAllowedOrigins parses AdminAllowedOrigin: origins as browsers send
// them in an Origin header, scheme://host[:port] with scheme http or
// https and nothing after, comma-separated. Each is returned in lower case.
func (c Config) adminAllowedOrigins() ([]string, error) {
	var out []string
	for _, s := range listItems(c.AdminAllowedOrigin) {
		u, err := url.Parse(s)
		scheme := ""
		if err == nil {
			scheme = strings.ToLower(u.Scheme)
		}
		if err != nil || (scheme != "http" && scheme != "https") || u.Host == "" || u.Opaque != "" {
			return nil, fmt.Errorf("admin-allowed-origin %q: want an origin such as https://admin.example.com or http://10.0.0.5:9080", s)
		}
		origin := scheme + "://" + strings.ToLower(u.Host)
		if u.User != nil {
			return nil, fmt.Errorf("admin-allowed-origin %s with a user name: an origin is scheme://host[:port] with nothing more", origin)
		}
		if u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(s, "#") {
			return nil, fmt.Errorf("admin-allowed-origin %q: an origin is scheme://host[:port] with nothing more: did you mean %s?", s, origin)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("admin-allowed-origin %q: port %q: want 1 to 65535", s, p)
			}
		} else if strings.HasSuffix(u.Host, ":") {
			return nil, fmt.Errorf("admin-allowed-origin %q: an origin is scheme://host[:port] with nothing more: did you mean %s?", s, strings.TrimSuffix(origin, ":"))
		}
		out = append(out, origin)
	}
	return out, nil
}

// loopbackAddr reports whether addr's host is a loopback address or
// localhost: an AJP listener there needs no secret.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || err == nil && ip.IsLoopback()
}

// trustedProxies returns the gateway's trusted proxies, or nil when none
// are set.
func (c *Config) trustedProxies() (*policy.TrustedProxies, error) {
	if strings.TrimSpace(c.TrustedProxies) == "" {
		return nil, nil
	}
	var cidrs []string
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cidrs = append(cidrs, s)
		}
	}
	tp, err := policy.NewTrustedProxies(cidrs, c.TrustedProxiesHeader)
	if err != nil {
		return nil, fmt.Errorf("trusted-proxies: %s", portico.ErrorMessageOf(err))
	}
	return tp, nil
}
