package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portico-gw/portico"
	"github.com/portico-gw/portico/cluster"
	"github.com/portico-gw/portico/internal/redistest"
	"github.com/portico-gw/portico/redisstore"
	"github.com/portico-gw/portico/wsconfig"
)

// wsNoEnv is a getenv with nothing set.
func wsNoEnv(string) (string, bool) { return "", false }

// wsconfigRun runs portico wsconfig with args and returns its exit code,
// stdout and stderr.
func wsconfigRun(t *testing.T, getenv func(string) (string, bool), args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := runWsconfig(ctx, args, getenv, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// wsWriteClusterXML writes a cluster.xml as a node's heartbeat does.
func wsWriteClusterXML(t *testing.T, path string, nodes ...portico.Node) {
	t.Helper()
	if err := cluster.WriteNodesFile(path, "default", nodes, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func wsNode(name, gateway, admin string, factor int, status string) portico.Node {
	return portico.Node{Name: name, GatewayAddr: gateway, AdminAddr: admin, LBFactor: factor, Status: status, Version: "test"}
}

// TestWsconfigClusterXML writes each server's config from a cluster.xml,
// checked by the real server; runs again with nothing to change; and
// uninstalls it. apache-jk needs the nodes' AJP addresses, which
// cluster.xml does not carry yet.
func TestWsconfigClusterXML(t *testing.T) {
	xmlPath := filepath.Join(t.TempDir(), "cluster.xml")
	wsWriteClusterXML(t, xmlPath,
		wsNode("web1", "127.0.0.1:18080", "127.0.0.1:19080", 1, "up"),
		wsNode("web2", "127.0.0.1:18081", "127.0.0.1:19081", 1, "up"),
		wsNode("web3", "127.0.0.1:18082", "127.0.0.1:19082", 2, "down"))
	want := map[wsconfig.Server]string{
		wsconfig.Nginx:   "server 127.0.0.1:18082 weight=2 down;",
		wsconfig.Apache:  `BalancerMember "http://127.0.0.1:18082" loadfactor=2 retry=5 connectiontimeout=5 keepalive=On status=+D`,
		wsconfig.HAProxy: "server web3 127.0.0.1:18082 weight 2 check addr 127.0.0.1 port 19082 disabled",
		wsconfig.IIS:     `<server address="127.0.0.1" enabled="false">`,
	}
	for s, line := range want {
		t.Run(string(s), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "front")
			code, stdout, stderr := wsconfigRun(t, wsNoEnv, "--ws", string(s), "--out", out, "--cluster-xml", xmlPath, "--listen", "127.0.0.1:18000", "--portal")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			file := filepath.Join(out, wsconfig.FileNames(s)[0])
			data, err := os.ReadFile(file)
			if err != nil || !strings.Contains(string(data), line) || !strings.Contains(string(data), "Source: cluster.xml "+xmlPath) {
				t.Fatalf("%v; want %q and the source in\n%s", err, line, data)
			}
			if !strings.Contains(stdout, "wrote "+wsconfig.FileNames(s)[0]) || !strings.Contains(stdout, "members +web1 +web2 +web3") {
				t.Errorf("stdout: %q", stdout)
			}
			if code, stdout, _ = wsconfigRun(t, wsNoEnv, "--ws", string(s), "--out", out, "--cluster-xml", xmlPath, "--listen", "127.0.0.1:18000", "--portal"); code != 0 || !strings.Contains(stdout, "members unchanged") {
				t.Errorf("second run: exit %d, %q", code, stdout)
			}
			if code, stdout, stderr = wsconfigRun(t, wsNoEnv, "--uninstall", "--out", out); code != 0 || !strings.Contains(stdout, "removed "+wsconfig.FileNames(s)[0]) {
				t.Fatalf("uninstall: exit %d, %q %q", code, stdout, stderr)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 1 || entries[0].Name() != wsconfig.LogName {
				t.Errorf("after uninstall %s holds %v, want only %s", out, entries, wsconfig.LogName)
			}
		})
	}
	t.Run("apache-jk", func(t *testing.T) {
		code, _, stderr := wsconfigRun(t, wsNoEnv, "--ws", "apache-jk", "--out", t.TempDir(), "--cluster-xml", xmlPath)
		if code != 1 || !strings.Contains(stderr, "has no AJP address") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}

// TestWsconfigRefuses: an empty member list and a config that fails the
// server's check are not installed; a bad flag combination is a usage
// error.
func TestWsconfigRefuses(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.xml")
	wsWriteClusterXML(t, empty)
	out := filepath.Join(dir, "out")
	if code, _, stderr := wsconfigRun(t, wsNoEnv, "--ws", "nginx", "--out", out, "--cluster-xml", empty); code != 1 || !strings.Contains(stderr, "no member is up") {
		t.Errorf("empty list: exit %d, %s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.xml")
	wsWriteClusterXML(t, bad, wsNode("web1", "no-such-host.invalid:8080", "", 1, "up"))
	if code, _, stderr := wsconfigRun(t, wsNoEnv, "--ws", "nginx", "--out", out, "--cluster-xml", bad); code != 1 || !strings.Contains(stderr, "host not found") {
		t.Errorf("unresolvable host: exit %d, %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "portico.conf")); err == nil {
		t.Error("a refused config was installed")
	}
	// Two runs on one directory: the second is refused while the first
	// holds it (a --watch would never reload what the other installed).
	held, err := lockOutDir(out)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.xml")
	wsWriteClusterXML(t, good, wsNode("web1", "127.0.0.1:18080", "", 1, "up"))
	if code, _, stderr := wsconfigRun(t, wsNoEnv, "--ws", "nginx", "--out", out, "--cluster-xml", good, "--check", "true"); code != 1 || !strings.Contains(stderr, "another portico wsconfig") {
		t.Errorf("second run on a held directory: exit %d, %s", code, stderr)
	}
	held(false)
	jk := filepath.Join(dir, "jk.xml")
	n := wsNode("web1", "127.0.0.1:18080", "", 1, "up")
	n.AJPAddr = "10.0.0.1:8009"
	wsWriteClusterXML(t, jk, n)
	if code, _, stderr := wsconfigRun(t, wsNoEnv, "--ws", "apache-jk", "--out", out, "--cluster-xml", jk, "--check", "true"); code != 1 || !strings.Contains(stderr, "PORTICO_AJP_SECRET") {
		t.Errorf("apache-jk without the secret of members off loopback: exit %d, %s", code, stderr)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", out, "--cluster-xml", bad}, "--ws is required"},
		{[]string{"--ws", "lighttpd", "--out", out, "--cluster-xml", bad}, `--ws "lighttpd"`},
		{[]string{"--ws", "nginx", "--cluster-xml", bad}, "--out DIR is required"},
		{[]string{"--ws", "nginx", "--out", out}, "--cluster-xml FILE or --datastore URL"},
		{[]string{"--ws", "nginx", "--out", out, "--cluster-xml", bad, "--datastore", "redis://x:1/0"}, "not both"},
		{[]string{"--ws", "nginx", "--out", out, "--datastore", "embedded"}, "has no member list"},
		{[]string{"--ws", "nginx", "--out", out, "--cluster-xml", bad, "--interval", "2s"}, "--interval goes with --watch"},
		{[]string{"--uninstall", "--out", out, "--ws", "nginx"}, "--uninstall takes only --out"},
		{[]string{"--ws", "nginx", "--out", out, "--cluster-xml", bad, "extra"}, "unexpected arguments"},
	} {
		if code, _, stderr := wsconfigRun(t, wsNoEnv, c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, want 2 with %q: %s", c.args, code, c.want, stderr)
		}
	}
}

// TestWsconfigPortalHost: --portal-host puts the portal on a host name of
// its own (checked by the real nginx); --portal without it warns on
// stderr that the portal shares the APIs' origin; a name that is not one
// DNS name, or --portal-host without --portal, is a usage error naming the
// flag, and nothing is written.
func TestWsconfigPortalHost(t *testing.T) {
	xmlPath := filepath.Join(t.TempDir(), "cluster.xml")
	wsWriteClusterXML(t, xmlPath, wsNode("web1", "127.0.0.1:18080", "127.0.0.1:19080", 1, "up"))
	out := filepath.Join(t.TempDir(), "front")
	args := []string{"--ws", "nginx", "--out", out, "--cluster-xml", xmlPath, "--listen", "127.0.0.1:18000", "--portal"}
	code, _, stderr := wsconfigRun(t, wsNoEnv, args...)
	if code != 0 || !strings.Contains(stderr, "warning: --portal without --portal-host") || !strings.Contains(stderr, "same-origin") {
		t.Fatalf("--portal alone: exit %d, want 0 and a warning: %s", code, stderr)
	}
	code, stdout, stderr := wsconfigRun(t, wsNoEnv, append(args, "--portal-host", "Portal.Example.com")...)
	if code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("--portal-host: exit %d, %s %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "portico.conf"))
	if err != nil || !strings.Contains(string(data), "server_name portal.example.com;") || !strings.Contains(string(data), "location /portal/ {\n        return 404;") {
		t.Fatalf("%v; want the portal's own server {} in\n%s", err, data)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ws", "nginx", "--out", out, "--cluster-xml", xmlPath, "--portal-host", "portal.example.com"}, "--portal-host goes with --portal"},
		{append(args, "--portal-host", "portal.example.com:8443"), `--portal-host "portal.example.com:8443": a host name without a port`},
		{append(args, "--portal-host", "https://portal.example.com"), "not a URL"},
		{append(args, "--portal-host", "*.example.com"), "not a wildcard"},
		{append(args, "--portal-host", "10.0.0.1"), "not an IP address"},
		{append(args, "--portal-host", "portal.example.com\nserver_name x"), "only letters, digits"},
		{append(args, "--portal-host", ""), `--portal-host "": empty`},
		{[]string{"--uninstall", "--out", out, "--portal-host", "portal.example.com"}, "--uninstall takes only --out"},
	} {
		if code, _, stderr := wsconfigRun(t, wsNoEnv, c.args...); code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, want 2 with %q: %s", c.args, code, c.want, stderr)
		}
	}
	if again, err := os.ReadFile(filepath.Join(out, "portico.conf")); err != nil || string(again) != string(data) {
		t.Errorf("a refused run changed the config: %v", err)
	}
}

// TestWsconfigDatastore reads the members from a real Redis registry, as
// the nodes' heartbeats leave them there, with the data store given by
// PORTICO_DATASTORE as for portico serve.
func TestWsconfigDatastore(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	reg, err := redisstore.Open(ctx, rs.URL(), "front")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	for _, n := range []portico.Node{
		wsNode("a", "127.0.0.1:28080", "127.0.0.1:29080", 1, ""),
		wsNode("b", "127.0.0.1:28081", "127.0.0.1:29081", 3, ""),
	} {
		if err := reg.Heartbeat(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	env := func(name string) (string, bool) {
		v, ok := map[string]string{"PORTICO_DATASTORE": rs.URL(), "PORTICO_CLUSTER_NAME": "front"}[name]
		return v, ok
	}
	out := t.TempDir()
	code, _, stderr := wsconfigRun(t, env, "--ws", "haproxy", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, _ := os.ReadFile(filepath.Join(out, "portico.cfg"))
	for _, want := range []string{
		"server a 127.0.0.1:28080 weight 1 check addr 127.0.0.1 port 29080\n",
		"server b 127.0.0.1:28081 weight 3 check addr 127.0.0.1 port 29081\n",
		"# Source: data store " + rs.URL() + ", cluster front\n",
		"frontend portico_front\n",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("no %q in\n%s", want, data)
		}
	}
	// Another cluster on the same Redis has no members.
	if code, _, stderr = wsconfigRun(t, env, "--ws", "haproxy", "--out", t.TempDir(), "--cluster-name", "other"); code != 1 || !strings.Contains(stderr, "no member is up") {
		t.Errorf("another cluster: exit %d: %s", code, stderr)
	}
}

// TestWsconfigWatch follows a cluster.xml with --watch and the real nginx
// check: a node added, a node draining, an empty list and a config that
// fails the check (the last good config stays), until ctx ends.
func TestWsconfigWatch(t *testing.T) {
	dir := t.TempDir()
	xmlPath, out, reloads := filepath.Join(dir, "cluster.xml"), filepath.Join(dir, "front"), filepath.Join(dir, "reloads")
	web1, web2 := wsNode("web1", "127.0.0.1:18080", "", 1, "up"), wsNode("web2", "127.0.0.1:18081", "", 3, "up")
	wsWriteClusterXML(t, xmlPath, web1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &tailBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runWsconfig(ctx, []string{"--ws", "nginx", "--out", out, "--cluster-xml", xmlPath, "--listen", "127.0.0.1:18000",
			"--watch", "--interval", "50ms", "--reload", "echo reload >> " + reloads}, wsNoEnv, &bytes.Buffer{}, stderr)
	}()
	conf := func() string { data, _ := os.ReadFile(filepath.Join(out, "portico.conf")); return string(data) }
	reloaded := func() int { data, _ := os.ReadFile(reloads); return strings.Count(string(data), "reload") }
	waitFor(t, "the first config", 5*time.Second, func() bool { return strings.Contains(conf(), "server 127.0.0.1:18080 weight=1;") && reloaded() == 1 })

	start := time.Now()
	wsWriteClusterXML(t, xmlPath, web1, web2)
	waitFor(t, "web2 in the config", 5*time.Second, func() bool { return strings.Contains(conf(), "server 127.0.0.1:18081 weight=3;") && reloaded() == 2 })
	t.Logf("a node added to cluster.xml is in the config and reloaded %v later", time.Since(start).Round(time.Millisecond))

	web2.Status = "down"
	wsWriteClusterXML(t, xmlPath, web1, web2)
	waitFor(t, "web2 draining", 5*time.Second, func() bool { return strings.Contains(conf(), "server 127.0.0.1:18081 weight=3 down;") })
	good := conf()

	wsWriteClusterXML(t, xmlPath)
	waitFor(t, "the empty list logged", 5*time.Second, func() bool { return strings.Contains(stderr.String(), "not rendered: no member is up") })
	wsWriteClusterXML(t, xmlPath, web1, wsNode("web4", "no-such-host.invalid:8080", "", 1, "up"))
	waitFor(t, "the failed check logged", 5*time.Second, func() bool { return strings.Contains(stderr.String(), "host not found") })
	if conf() != good || reloaded() != 3 {
		t.Errorf("the last good config was replaced or reloaded:\n%s", conf())
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d: %s", code, stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("--watch did not stop within 5s of its ctx ending")
	}
	if conf() != good {
		t.Error("stopping changed the config")
	}
}

// TestWsconfigWatchSIGTERM runs the built binary with --watch on a
// cluster.xml: it follows a change, and SIGTERM stops it cleanly (exit 0)
// with the config in place and no candidate left behind.
func TestWsconfigWatchSIGTERM(t *testing.T) {
	bin := buildPortico(t)
	dir := t.TempDir()
	xmlPath, out := filepath.Join(dir, "cluster.xml"), filepath.Join(dir, "front")
	wsWriteClusterXML(t, xmlPath, wsNode("web1", "127.0.0.1:18080", "127.0.0.1:19080", 1, "up"))
	cmd := exec.Command(bin, "wsconfig", "--ws", "haproxy", "--out", out, "--cluster-xml", xmlPath, "--watch", "--interval", "100ms")
	logs := &tailBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	conf := func() string { data, _ := os.ReadFile(filepath.Join(out, "portico.cfg")); return string(data) }
	waitFor(t, "the first config", 10*time.Second, func() bool { return strings.Contains(conf(), "server web1 ") })
	wsWriteClusterXML(t, xmlPath, wsNode("web1", "127.0.0.1:18080", "127.0.0.1:19080", 1, "up"), wsNode("web2", "127.0.0.1:18081", "127.0.0.1:19081", 2, "up"))
	waitFor(t, "web2 in the config", 10*time.Second, func() bool { return strings.Contains(conf(), "server web2 127.0.0.1:18081 weight 2") })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("after SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5s after SIGTERM\n%s", logs)
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("log:\n%s", logs)
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != ".wsconfig.lock portico.cfg wsconfig.log wsconfig.manifest" {
		t.Errorf("%s holds %v", out, names)
	}
}
