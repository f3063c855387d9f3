package wsconfig_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/wsconfig"
)

// writeRender renders s for m into a new temporary directory, as Install
// does for its candidate, and returns the directory.
func writeRender(t *testing.T, s wsconfig.Server, m wsconfig.Members, o wsconfig.Options) string {
	t.Helper()
	dir := t.TempDir()
	o.Dir = dir
	files, err := wsconfig.Render(s, m, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, os.FileMode(f.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCheckRealServers runs every golden case through the servers' own
// configuration tests (nginx -t, apache2 -t with mod_proxy_balancer or
// mod_jk, haproxy -c) around a minimal main config; IIS, which cannot run
// here, through the structure check. The servers must be installed:
// apt-get install -y nginx apache2 libapache2-mod-jk haproxy.
func TestCheckRealServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range goldenCases {
		for _, s := range wsconfig.Servers {
			t.Run(c.name+"/"+string(s), func(t *testing.T) {
				dir := writeRender(t, s, c.m(), c.o)
				if err := wsconfig.Check(ctx, s, dir); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestCheckRefuses checks that each server's check is no formality: a
// directive the server does not know, a host that does not resolve, a
// workers.properties that mod_jk would not start with, an IIS file that is
// not well-formed or lacks a part each fail it with ErrCheck.
func TestCheckRefuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	unresolvable := threeNodes()
	unresolvable.Nodes[0].Gateway = "no-such-host.invalid:8080"
	cases := []struct {
		name string
		s    wsconfig.Server
		m    wsconfig.Members
		edit func(dir string) // breaks the render
		want string
	}{
		{"nginx directive", wsconfig.Nginx, threeNodes(), appendTo("portico.conf", "bogus_directive on;\n"), "unknown directive"},
		{"nginx host", wsconfig.Nginx, unresolvable, nil, "host not found"},
		{"apache directive", wsconfig.Apache, threeNodes(), appendTo("portico.conf", "BogusDirective On\n"), "Invalid command"},
		{"apache-jk directive", wsconfig.ApacheJK, threeNodes(), appendTo("mod_jk.conf", "JkBogus On\n"), "Invalid command"},
		{"apache-jk no workers file", wsconfig.ApacheJK, threeNodes(), remove("workers.properties"), "workers.properties"},
		{"apache-jk worker without port", wsconfig.ApacheJK, threeNodes(), replaceIn("workers.properties", "worker.web1_8080.port=8009\n", ""), "needs type ajp13, host, port"},
		{"apache-jk no active worker", wsconfig.ApacheJK, threeNodes(), replaceIn("workers.properties", "lbfactor=1\n", "lbfactor=1\nworker.web1_8080.activation=D\nworker.web2_8080.activation=S\n"), "no active worker"},
		{"haproxy keyword", wsconfig.HAProxy, threeNodes(), appendTo("portico.cfg", "    bogus_keyword\n"), "unknown keyword"},
		{"haproxy host", wsconfig.HAProxy, unresolvable, nil, "no-such-host.invalid"},
		{"iis not well-formed", wsconfig.IIS, threeNodes(), replaceIn("portico-arr.xml", "</webFarms>", "</webFarm>"), "not well-formed"},
		{"iis second root", wsconfig.IIS, threeNodes(), appendTo("portico-arr.xml", "<configuration/>\n"), "second root"},
		{"iis mismatched tags", wsconfig.IIS, threeNodes(), replaceIn("portico-arr.xml", "<rule ", "<notarule "), "not well-formed"},
		{"iis rule to nowhere", wsconfig.IIS, threeNodes(), replaceIn("portico-arr.xml", "http://portico_default_gateway/", "http://elsewhere/"), "rewrite it to one of the web farms"},
		{"iis no weight", wsconfig.IIS, threeNodes(), replaceIn("portico-arr.xml", ` weight="1"`, ""), "httpPort or weight"},
		{"iis all disabled", wsconfig.IIS, threeNodes(), replaceIn("portico-arr.xml", `enabled="true">`+"\n        <applicationRequestRouting", `enabled="false">`+"\n        <applicationRequestRouting"), "no enabled server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRender(t, c.s, c.m, wsconfig.Options{})
			if c.edit != nil {
				c.edit(dir)
			}
			err := wsconfig.Check(ctx, c.s, dir)
			if !errors.Is(err, wsconfig.ErrCheck) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check: %v; want ErrCheck with %q", err, c.want)
			}
		})
	}
}

func appendTo(name, text string) func(string) {
	return func(dir string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		f.WriteString(text)
	}
}

func remove(name string) func(string) {
	return func(dir string) { os.Remove(filepath.Join(dir, name)) }
}

func replaceIn(name, old, new string) func(string) {
	return func(dir string) {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), old) {
			panic("replaceIn: no " + old + " in " + name)
		}
		os.WriteFile(path, []byte(strings.ReplaceAll(string(data), old, new)), 0o644)
	}
}

func TestCommandCheck(t *testing.T) {
	ctx := context.Background()
	dir := writeRender(t, wsconfig.Nginx, threeNodes(), wsconfig.Options{})
	ok := wsconfig.Command(`test "$WSCONFIG_SERVER" = nginx && test -f "$WSCONFIG_CANDIDATE/portico.conf"`)
	if err := ok(ctx, wsconfig.Nginx, dir); err != nil {
		t.Fatal(err)
	}
	err := wsconfig.Command("echo no good >&2; exit 3")(ctx, wsconfig.Nginx, dir)
	if !errors.Is(err, wsconfig.ErrCheck) || !strings.Contains(err.Error(), "no good") {
		t.Fatalf("a failing command: %v; want ErrCheck with its output", err)
	}
}

// TestCheckIISPortalHost: the IIS structure check takes the --portal-host
// rules (a condition on {HTTP_HOST}, CustomResponse 404s) and refuses
// such a rule that answers other than 4xx, a condition without a pattern,
// and a conditional or refusing last rule.
func TestCheckIISPortalHost(t *testing.T) {
	ctx := context.Background()
	o := wsconfig.Options{Portal: true, PortalHost: "portal.example.com"}
	if err := wsconfig.Check(ctx, wsconfig.IIS, writeRender(t, wsconfig.IIS, threeNodes(), o)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(dir string)
		want string
	}{
		{"custom response 200", replaceIn("portico-arr.xml", `statusCode="404" statusReason="Not Found" statusDescription="Only`, `statusCode="200" statusReason="OK" statusDescription="Only`), "4xx CustomResponse"},
		{"condition without pattern", replaceIn("portico-arr.xml", ` pattern="^portal\.example\.com(:[0-9]+)?$"`, ""), "condition without input or pattern"},
		{"last rule refuses", replaceIn("portico-arr.xml", `<action type="Rewrite" url="http://portico_default_gateway/{R:1}" />`, `<action type="CustomResponse" statusCode="404" />`), "does not send every path to a web farm"},
		{"last rule conditional", replaceIn("portico-arr.xml", `<match url="(.*)" />`+"\n"+`          <action type="Rewrite" url="http://portico_default_gateway/`,
			`<match url="(.*)" />`+"\n"+`          <conditions><add input="{HTTP_HOST}" pattern="^x$" /></conditions>`+"\n"+`          <action type="Rewrite" url="http://portico_default_gateway/`), "does not send every path to a web farm"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writeRender(t, wsconfig.IIS, threeNodes(), o)
			c.edit(dir)
			if err := wsconfig.Check(ctx, wsconfig.IIS, dir); !errors.Is(err, wsconfig.ErrCheck) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Check: %v; want ErrCheck with %q", err, c.want)
			}
		})
	}
}
