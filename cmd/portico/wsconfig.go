package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/portico-gw/portico/cluster"
	"github.com/portico-gw/portico/redisstore"
	"github.com/portico-gw/portico/wsconfig"
	"github.com/redis/go-redis/v9"
)

const wsconfigUsage = `usage: portico wsconfig --ws nginx|apache|apache-jk|haproxy|iis --out DIR [--listen ADDR] [--portal [--portal-host NAME]]
                        (--cluster-xml FILE | --datastore URL [--cluster-name NAME])
                        [--check CMD] [--reload CMD] [--watch [--interval D]]
       portico wsconfig --uninstall --out DIR

Writes the front-end web server's config for the cluster's members into DIR
(see the README's "Front door"), checked by the server's own test first.
`

// wsconfigFlags are the flags of portico wsconfig.
type wsconfigFlags struct {
	ws, out, listen                    string
	portal                             bool
	portalHost                         string
	clusterXML, datastore, clusterName string
	ajpSecret                          string
	check, reload                      string
	uninstall, watch                   bool
	interval                           time.Duration
}

// wsconfigCmd runs `portico wsconfig`; SIGTERM or SIGINT stop --watch.
func wsconfigCmd(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runWsconfig(ctx, args, os.LookupEnv, stdout, stderr)
}

// runWsconfig is portico wsconfig until ctx ends: it renders the config
// once (or removes it, --uninstall), or with --watch follows the members
// until ctx ends. getenv supplies PORTICO_DATASTORE, PORTICO_CLUSTER_NAME
// and PORTICO_AJP_SECRET, which the flags override.
func runWsconfig(ctx context.Context, args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	var f wsconfigFlags
	fs := flag.NewFlagSet("portico wsconfig", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, wsconfigUsage, "\nFlags:\n"); fs.PrintDefaults() }
	env := func(name string) string { v, _ := getenv(name); return v }
	fs.StringVar(&f.ws, "ws", "", "the front-end web server: nginx, apache (mod_proxy_balancer), apache-jk (mod_jk over AJP), haproxy or iis (ARR)")
	fs.StringVar(&f.out, "out", "", "the directory to write the config into (made if missing); it also gets wsconfig.log and wsconfig.manifest")
	fs.StringVar(&f.listen, "listen", ":80", "the front end's own listener, [host]:port (IIS: the site's bindings instead)")
	fs.BoolVar(&f.portal, "portal", false, "also forward "+wsconfig.PortalPrefix+", the developer portal's prefix, to the nodes' admin listeners")
	fs.StringVar(&f.portalHost, "portal-host", "", "with --portal: serve "+wsconfig.PortalPrefix+" only on this host name, one of its own (e.g. portal.example.com), and nothing else on it; "+wsconfig.PortalPrefix+" answers 404 on the APIs' host names. Without it the portal shares the APIs' origin")
	fs.StringVar(&f.clusterXML, "cluster-xml", "", "read the members from this copy of a node's cluster.xml")
	fs.StringVar(&f.datastore, "datastore", env("PORTICO_DATASTORE"), "read the members from the cluster's data store, as portico serve --datastore (redis://…, redis-sentinel://…, redis-cluster://…)")
	fs.StringVar(&f.clusterName, "cluster-name", cmp.Or(env("PORTICO_CLUSTER_NAME"), DefaultConfig().ClusterName), "the cluster's name in the data store, as portico serve --cluster-name")
	fs.StringVar(&f.ajpSecret, "ajp-secret", "", "apache-jk: the nodes' AJP secret, written into workers.properties (prefer PORTICO_AJP_SECRET to the flag)")
	fs.StringVar(&f.check, "check", "", "check each candidate config with this shell command instead of the server's own test (the candidate's directory is in $WSCONFIG_CANDIDATE; 'true' skips the check)")
	fs.StringVar(&f.reload, "reload", "", "after the config changed, run this shell command (e.g. 'nginx -s reload', 'apachectl graceful', 'systemctl reload haproxy')")
	fs.BoolVar(&f.watch, "watch", false, "keep following the members: on a change, render, check, install and reload; until SIGTERM")
	fs.DurationVar(&f.interval, "interval", 500*time.Millisecond, "--watch: how often the members are read")
	fs.BoolVar(&f.uninstall, "uninstall", false, "remove the files that wsconfig wrote into --out (listed in its wsconfig.manifest), nothing else")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.ajpSecret == "" {
		f.ajpSecret = env("PORTICO_AJP_SECRET")
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if err := f.validate(fs.Args(), set); err != nil {
		fmt.Fprintf(stderr, "portico wsconfig: %v\n\n%s", err, wsconfigUsage)
		return 2
	}
	if f.portal && f.portalHost == "" {
		fmt.Fprintln(stderr, "portico wsconfig: warning: --portal without --portal-host serves the developer portal on the APIs' host names: a page that any API's backend serves through the gateway is then same-origin with the portal, and its script can act as the signed-in subscriber. Give the portal a host name of its own with --portal-host NAME.")
	}
	unlock, err := lockOutDir(f.out)
	if err != nil {
		fmt.Fprintln(stderr, "portico wsconfig:", err)
		return 1
	}
	removeLock := false
	defer func() { unlock(removeLock) }()
	if err := wsconfig.RemoveLeftovers(f.out); err != nil {
		fmt.Fprintln(stderr, "portico wsconfig: removing what an interrupted run left:", err)
		return 1
	}
	if f.uninstall {
		removed, err := wsconfig.Uninstall(f.out, time.Now())
		removeLock = err == nil
		if err != nil {
			fmt.Fprintln(stderr, "portico wsconfig:", err)
			return 1
		}
		fmt.Fprintf(stdout, "removed %s from %s\n", strings.Join(removed, ", "), f.out)
		return 0
	}

	logger := newLogger(stderr, "info", "text")
	s, _ := wsconfig.ParseServer(f.ws) // checked by validate
	members, closeSource, err := f.source(ctx, logger)
	if err != nil {
		fmt.Fprintln(stderr, "portico wsconfig:", err)
		return 1
	}
	defer closeSource()
	out, err := filepath.Abs(f.out)
	if err != nil {
		fmt.Fprintln(stderr, "portico wsconfig:", err)
		return 1
	}
	o := wsconfig.Options{Dir: out, Listen: f.listen, Portal: f.portal, PortalHost: f.portalHost, AJPSecret: f.ajpSecret}
	if s == wsconfig.ApacheJK && f.ajpSecret == "" {
		// Nodes refuse AJP without their secret off loopback: a mod_jk
		// config without it would get 403 for every request.
		read := members
		members = func(ctx context.Context) (wsconfig.Members, error) {
			m, err := read(ctx)
			if err == nil && wsconfig.NeedsSecret(m) {
				err = errors.New("members listen for AJP off loopback, where they require their secret: set PORTICO_AJP_SECRET (the nodes' --ajp-secret)")
			}
			return m, err
		}
	}
	var check wsconfig.Checker // nil: the server's own test
	if f.check != "" {
		check = wsconfig.Command(f.check)
	}
	var reload func(context.Context) error
	if f.reload != "" {
		reload = shellCommand(f.reload)
	}

	if f.watch {
		w := &wsconfig.Watcher{Server: s, Options: o, Members: members, Check: check, Reload: reload,
			Interval: f.interval, Logger: logger.With("component", "wsconfig")}
		logger.Info("following the members", "ws", s, "out", out)
		if err := w.Run(ctx); err != nil {
			fmt.Fprintln(stderr, "portico wsconfig:", err)
			return 1
		}
		logger.Info("stopped")
		return 0
	}

	m, err := members(ctx)
	if err == nil {
		o.Time = time.Now()
		var c *wsconfig.Change
		if c, err = wsconfig.Install(ctx, s, m, o, check); err == nil {
			fmt.Fprintf(stdout, "%s: %s\n", out, c)
			if reload != nil && !c.Empty() {
				if err = reload(ctx); err != nil {
					err = fmt.Errorf("the config is installed, but its reload failed: %w", err)
				}
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "portico wsconfig:", err)
		return 1
	}
	return 0
}

// validate checks the flags' combination; set holds the flags given.
func (f *wsconfigFlags) validate(rest []string, set map[string]bool) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected arguments %q", rest)
	case f.out == "":
		return errors.New("--out DIR is required")
	case f.uninstall:
		for _, name := range []string{"ws", "watch", "portal", "portal-host", "listen", "cluster-xml", "datastore", "check", "reload"} {
			if set[name] {
				return fmt.Errorf("--uninstall takes only --out (the manifest in it says what to remove), not --%s", name)
			}
		}
		return nil
	}
	if _, err := wsconfig.ParseServer(f.ws); err != nil {
		if f.ws == "" {
			return errors.New("--ws is required: nginx, apache, apache-jk, haproxy or iis")
		}
		return fmt.Errorf("--ws %q: want nginx, apache, apache-jk, haproxy or iis", f.ws)
	}
	switch {
	case f.clusterXML != "" && set["datastore"]:
		return errors.New("give --cluster-xml or --datastore, not both")
	case f.clusterXML != "":
		f.datastore = "" // PORTICO_DATASTORE does not apply
	case f.datastore == "":
		return errors.New("the members come from --cluster-xml FILE or --datastore URL (with --cluster-name)")
	case f.datastore == "embedded":
		return errors.New("--datastore embedded has no member list (a node on the embedded store is a cluster of one): use --cluster-xml, or the cluster's Redis")
	}
	if set["interval"] && !f.watch {
		return errors.New("--interval goes with --watch")
	}
	if set["portal-host"] && !f.portal {
		return errors.New("--portal-host goes with --portal")
	}
	if set["portal-host"] {
		if _, err := wsconfig.ParsePortalHost(f.portalHost); err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "wsconfig: "))
		}
	}
	if f.interval <= 0 {
		return errors.New("--interval must be positive")
	}
	return nil
}

// source returns the function that reads the members, from cluster.xml or
// from the data store's registry, and what closes it.
func (f *wsconfigFlags) source(ctx context.Context, logger *slog.Logger) (func(context.Context) (wsconfig.Members, error), func(), error) {
	if f.clusterXML != "" {
		path, err := filepath.Abs(f.clusterXML)
		if err != nil {
			return nil, nil, err
		}
		return func(context.Context) (wsconfig.Members, error) {
			name, nodes, err := cluster.ReadNodesFile(path)
			if err != nil {
				return wsconfig.Members{}, err
			}
			return wsconfig.FromNodes(name, "cluster.xml "+path, nodes), nil
		}, func() {}, nil
	}
	redis.SetLogger(redisLog{logger})
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rs, err := redisstore.Open(octx, f.datastore, f.clusterName)
	if err != nil {
		return nil, nil, fmt.Errorf("data store %s: %w", redact(f.datastore), err)
	}
	source := fmt.Sprintf("data store %s, cluster %s", redact(f.datastore), rs.Cluster())
	return func(ctx context.Context) (wsconfig.Members, error) {
		nodes, err := rs.Nodes(ctx)
		if err != nil {
			return wsconfig.Members{}, err
		}
		return wsconfig.FromNodes(rs.Cluster(), source, nodes), nil
	}, func() { rs.Close() }, nil
}

// shellCommand returns a function that runs cmd with sh -c and returns
// its failure with the end of its output.
func shellCommand(cmd string) func(context.Context) error {
	return func(ctx context.Context) error {
		out, err := exec.CommandContext(ctx, "sh", "-c", cmd).CombinedOutput()
		if err != nil {
			text := strings.TrimSpace(string(out))
			if len(text) > 2000 {
				text = "…" + text[len(text)-2000:]
			}
			return fmt.Errorf("%s: %v: %s", cmd, err, text)
		}
		return nil
	}
}
