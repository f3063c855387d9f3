package clickhouse

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

// Defaults of Config.
const (
	DefaultDatabase      = "portico"
	DefaultTable         = "requests"
	DefaultRetentionDays = 90
	DefaultDialTimeout   = 2 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultDownFor       = 5 * time.Second
	DefaultPort          = 8123 // ClickHouse's HTTP port
	DefaultSecurePort    = 8443 // ClickHouse's HTTPS port
)

// LocalSuffix is appended to Table to name the local table on each server
// when Config.Cluster is set.
const LocalSuffix = "_local"

// BufferSuffix is appended to the MergeTree table's name to name its
// Buffer table when Config.BufferFlush is set.
const BufferSuffix = "_buffer"

// Config configures a Store. Every field but Addrs has a default that
// its zero value selects.
type Config struct {
	// Addrs are the HTTP interfaces of the ClickHouse servers, each
	// "host:port" (plain HTTP) or a base URL "http://host:port" or
	// "https://host:port". At least one is required. Batches are spread
	// over them round robin; see the package documentation for what
	// several addresses mean with and without Cluster.
	Addrs []string
	// User and Password authenticate every request with HTTP basic
	// authentication. An empty User sends no credentials (ClickHouse's
	// user "default").
	User, Password string
	// Database holds the tables; "" means DefaultDatabase. It is created
	// when missing.
	Database string
	// Table is the table that writes and queries use; "" means
	// DefaultTable. With Cluster it names the Distributed table, and
	// Table+LocalSuffix the MergeTree table on every server.
	Table string
	// Cluster is the name of a cluster in the servers' remote_servers
	// configuration (--analytics-cluster). Empty means no cluster.
	Cluster string
	// BufferFlush, when positive, sends writes through a Buffer table in
	// front of the MergeTree table on each address, flushed at least every
	// BufferFlush (whole seconds, at least 1). ClickHouse then writes a few
	// large parts instead of one small part per batch, which multiplies
	// the write rate, but a batch is acknowledged once it is in the
	// server's memory: a crash of ClickHouse (not a clean shutdown, which
	// flushes) loses up to BufferFlush of records, and queries see records
	// only once they are flushed. Zero, the default, writes every batch
	// straight to the MergeTree table, durable when Write returns.
	BufferFlush time.Duration
	// RetentionDays is how many days records are kept, counted in whole
	// UTC days: 0 means DefaultRetentionDays, a negative value keeps
	// records forever.
	RetentionDays int
	// NoRollup leaves out the hourly rollup (see the package
	// documentation): inserts then cost the server less, and queries for
	// the top groups of a long range read every record of it. False, the
	// default, keeps the rollup.
	NoRollup bool
	// DialTimeout bounds connecting to one address; 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// Timeout bounds one HTTP request to one address (one batch insert,
	// one query, one schema statement); 0 means DefaultTimeout.
	Timeout time.Duration
	// DownFor is how long an address that failed is left out before it is
	// tried again; 0 means DefaultDownFor.
	DownFor time.Duration
	// Logger receives address up/down transitions and retention drops;
	// nil discards them.
	Logger *slog.Logger
}

// identRE matches the database and table names the store accepts.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// clusterRE matches cluster names (XML element names in remote_servers).
var clusterRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// withDefaults returns cfg with defaults filled in and the addresses
// turned into base URLs, or an EInvalid error.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Database == "" {
		cfg.Database = DefaultDatabase
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if cfg.RetentionDays == 0 {
		cfg.RetentionDays = DefaultRetentionDays
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DownFor <= 0 {
		cfg.DownFor = DefaultDownFor
	}
	if cfg.BufferFlush > 0 && cfg.BufferFlush < time.Second {
		cfg.BufferFlush = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if !identRE.MatchString(cfg.Database) {
		return cfg, portico.FieldErrorf(portico.EInvalid, "database", "bad ClickHouse database name %q: use letters, digits and _", cfg.Database)
	}
	if !identRE.MatchString(cfg.Table) || len(cfg.Table) > 180 {
		return cfg, portico.FieldErrorf(portico.EInvalid, "table", "bad ClickHouse table name %q: use letters, digits and _", cfg.Table)
	}
	if cfg.Cluster != "" && !clusterRE.MatchString(cfg.Cluster) {
		return cfg, portico.FieldErrorf(portico.EInvalid, "cluster", "bad ClickHouse cluster name %q", cfg.Cluster)
	}
	addrs, err := normalizeAddrs(cfg.Addrs)
	if err != nil {
		return cfg, err
	}
	cfg.Addrs = addrs
	return cfg, nil
}

// normalizeAddrs turns addresses into distinct base URLs without a
// trailing slash.
func normalizeAddrs(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, portico.FieldErrorf(portico.EInvalid, "addrs", "no ClickHouse address")
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, a := range in {
		u, err := baseURL(a)
		if err != nil {
			return nil, err
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}

// baseURL turns "host:port" or "http(s)://host:port" into a base URL.
func baseURL(a string) (string, error) {
	bad := func(why string) error {
		return portico.FieldErrorf(portico.EInvalid, "addrs", "bad ClickHouse address %q: %s", a, why)
	}
	scheme, hostport := "http", a
	if i := strings.Index(a, "://"); i >= 0 {
		scheme, hostport = strings.ToLower(a[:i]), strings.TrimSuffix(a[i+3:], "/")
		if scheme != "http" && scheme != "https" {
			return "", bad("the scheme must be http or https")
		}
	}
	port := DefaultPort
	if scheme == "https" {
		port = DefaultSecurePort
	}
	host, p, err := splitHostPort(hostport, port)
	if err != nil {
		return "", bad(err.Error())
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port",
// checking that the host has no characters that could change the URL.
func splitHostPort(s string, defPort int) (string, int, error) {
	host, portStr := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.Index(s, "]")
		if end < 0 {
			return "", 0, fmt.Errorf("missing ] in IPv6 address")
		}
		host, portStr = s[1:end], s[end+1:]
		if portStr != "" {
			if portStr[0] != ':' {
				return "", 0, fmt.Errorf("unexpected %q after ]", portStr)
			}
			portStr = portStr[1:]
			if portStr == "" {
				return "", 0, fmt.Errorf("empty port")
			}
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil && !strings.Contains(host, ":") {
			return "", 0, fmt.Errorf("%q is not an IPv6 address", host)
		}
	case strings.Count(s, ":") == 1:
		host, portStr = s[:strings.IndexByte(s, ':')], s[strings.IndexByte(s, ':')+1:]
		if portStr == "" {
			return "", 0, fmt.Errorf("empty port")
		}
	case strings.Contains(s, ":"):
		return "", 0, fmt.Errorf("write IPv6 addresses in brackets")
	}
	if host == "" {
		return "", 0, fmt.Errorf("empty host")
	}
	if !strings.HasPrefix(s, "[") {
		for i := 0; i < len(host); i++ {
			c := host[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
				return "", 0, fmt.Errorf("bad character %q in host", c)
			}
		}
	}
	port := defPort
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 || portStr[0] == '+' || portStr[0] == '-' {
			return "", 0, fmt.Errorf("bad port %q", portStr)
		}
		port = n
	}
	return host, port, nil
}

// ParseURL parses an analytics store URL of the form
//
//	clickhouse://[user[:password]@]host[:port][,host[:port]…][/database][?param=value&…]
//
// into a Config. The port defaults to 8123 (8443 with secure=true). The
// user and password may be percent-encoded. Parameters: cluster (the
// cluster name, as --analytics-cluster), table, retention_days, and
// secure=true|false (HTTPS to every address). Unknown parameters are an
// error. The returned Config has only what the URL says; New applies the
// defaults.
func ParseURL(s string) (Config, error) {
	var cfg Config
	bad := func(format string, args ...any) (Config, error) {
		return Config{}, portico.FieldErrorf(portico.EInvalid, "analytics", "bad ClickHouse URL: "+format, args...)
	}
	rest, ok := strings.CutPrefix(s, "clickhouse://")
	if !ok {
		return bad("it must start with clickhouse://")
	}
	if strings.ContainsAny(rest, "# \t\r\n") {
		return bad("no spaces or fragment allowed")
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	authority, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo := authority[:i]
		authority = authority[i+1:]
		rawUser, rawPass, hasPass := strings.Cut(userinfo, ":")
		user, err := url.PathUnescape(rawUser)
		if err != nil || user == "" {
			return bad("bad user")
		}
		cfg.User = user
		if hasPass {
			pass, err := url.PathUnescape(rawPass)
			if err != nil {
				return bad("bad password encoding")
			}
			cfg.Password = pass
		}
	}
	if path != "" {
		db, err := url.PathUnescape(strings.TrimSuffix(path, "/"))
		if err != nil || !identRE.MatchString(db) {
			return bad("bad database name %q", path)
		}
		cfg.Database = db
	}
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return bad("%v", err)
	}
	secure := false
	for k, vs := range params {
		if len(vs) != 1 {
			return bad("parameter %s given %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "cluster":
			if !clusterRE.MatchString(v) {
				return bad("bad cluster name %q", v)
			}
			cfg.Cluster = v
		case "table":
			if !identRE.MatchString(v) {
				return bad("bad table name %q", v)
			}
			cfg.Table = v
		case "retention_days":
			n, err := strconv.Atoi(v)
			if err != nil || n < -1 || n > 100000 {
				return bad("retention_days must be a number of days (-1: forever)")
			}
			cfg.RetentionDays = n
		case "secure":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("secure must be true or false")
			}
			secure = b
		case "rollup":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("rollup must be true or false")
			}
			cfg.NoRollup = !b
		default:
			return bad("unknown parameter %q", k)
		}
	}
	scheme, port := "http", DefaultPort
	if secure {
		scheme, port = "https", DefaultSecurePort
	}
	for _, h := range strings.Split(authority, ",") {
		host, p, err := splitHostPort(h, port)
		if err != nil {
			return bad("address %q: %v", h, err)
		}
		cfg.Addrs = append(cfg.Addrs, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(p)))
	}
	return cfg, nil
}
