package wsconfig

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A Checker tests a candidate config before it is installed: dir holds the
// files that Render returned with Options.Dir set to dir. It returns nil to
// accept them, or an error that says why not.
type Checker func(ctx context.Context, s Server, dir string) error

// ErrCheck wraps every refusal by a Checker.
var ErrCheck = errors.New("wsconfig: the config failed its check")

// Check is the default Checker: the server's own configuration test, run
// on a minimal main config written around the candidate in a temporary
// directory (never the server's installed main config):
//
//   - nginx: nginx -t -p TMP -c TMP/nginx.conf, whose http {} block
//     includes the candidate; nginx also resolves every member's host.
//   - apache, apache-jk: apache2 (or httpd) -t -d TMP -f TMP/httpd.conf,
//     which loads an MPM, mod_authz_core and the modules the candidate needs from the
//     server's module directory and includes it. Apache's test does not
//     read workers.properties (mod_jk reads it when Apache starts), so
//     checkWorkers reads it first.
//   - haproxy: haproxy -c -f TMP/haproxy.cfg (global and defaults) -f the
//     candidate; HAProxy also resolves every member's host.
//   - iis: IIS cannot run here: the XML is parsed and its structure
//     checked (web farms with servers, a rewrite rule to each farm).
//
// A server that is not installed fails the check, with the command that
// installs it.
func Check(ctx context.Context, s Server, dir string) error {
	if s == IIS {
		if err := checkIIS(filepath.Join(dir, FileNames(IIS)[0])); err != nil {
			return fmt.Errorf("%w: %v", ErrCheck, err)
		}
		return nil
	}
	tmp, err := os.MkdirTemp("", "wsconfig-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var args []string
	var bin string
	switch s {
	case Nginx:
		if bin, err = findBinary("nginx", "apt-get install -y nginx", "nginx"); err != nil {
			return err
		}
		args, err = nginxMain(tmp, filepath.Join(dir, FileNames(Nginx)[0]))
	case Apache, ApacheJK:
		if s == ApacheJK {
			if err := checkWorkers(filepath.Join(dir, FileNames(ApacheJK)[1])); err != nil {
				return fmt.Errorf("%w: %v", ErrCheck, err)
			}
		}
		if bin, err = findBinary("Apache", "apt-get install -y apache2 libapache2-mod-jk", "apache2", "httpd"); err != nil {
			return err
		}
		args, err = apacheMain(ctx, bin, tmp, s, dir)
	case HAProxy:
		if bin, err = findBinary("HAProxy", "apt-get install -y haproxy", "haproxy"); err != nil {
			return err
		}
		args, err = haproxyMain(tmp, filepath.Join(dir, FileNames(HAProxy)[0]))
	default:
		return fmt.Errorf("wsconfig: unknown web server %q", s)
	}
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s %s: %v: %s", ErrCheck, filepath.Base(bin), strings.Join(args, " "), err, tail(out))
	}
	return nil
}

// Command returns a Checker that runs cmd with sh -c, with the candidate's
// directory in the environment variable WSCONFIG_CANDIDATE and the server
// in WSCONFIG_SERVER; exit status 0 accepts the candidate.
func Command(cmd string) Checker {
	return func(ctx context.Context, s Server, dir string) error {
		c := exec.CommandContext(ctx, "sh", "-c", cmd)
		c.Env = append(os.Environ(), "WSCONFIG_CANDIDATE="+dir, "WSCONFIG_SERVER="+string(s))
		c.Dir = dir
		out, err := c.CombinedOutput()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: %s: %v: %s", ErrCheck, cmd, err, tail(out))
		}
		return nil
	}
}

// tail returns the last 2,000 bytes of a command's output, trimmed.
func tail(out []byte) string {
	out = bytes.TrimSpace(out)
	if len(out) > 2000 {
		out = append([]byte("…"), out[len(out)-2000:]...)
	}
	if len(out) == 0 {
		return "(no output)"
	}
	return string(out)
}

// findBinary looks for the first of names in PATH and in the sbin
// directories, which a user's PATH may lack.
func findBinary(what, install string, names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("wsconfig: %s is not installed, so the config cannot be checked (install it: %s; or give another check command)", what, install)
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// nginxMain writes a main nginx.conf in tmp that includes file in its
// http {} block, with every path nginx writes inside tmp.
func nginxMain(tmp, file string) ([]string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "pid %q;\nerror_log %q;\nevents {}\nhttp {\n    access_log off;\n", filepath.Join(tmp, "nginx.pid"), filepath.Join(tmp, "error.log"))
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %q;\n", d, filepath.Join(tmp, d))
	}
	fmt.Fprintf(&b, "    include %q;\n}\n", file)
	main := filepath.Join(tmp, "nginx.conf")
	if err := writeFile(main, b.String()); err != nil {
		return nil, err
	}
	return []string{"-t", "-q", "-p", tmp + "/", "-c", main}, nil
}

// apacheModules are the modules each server's candidate needs, by their
// identifiers and files.
var apacheModules = map[Server][][2]string{
	Apache: {
		{"slotmem_shm_module", "mod_slotmem_shm.so"},
		{"proxy_module", "mod_proxy.so"},
		{"proxy_http_module", "mod_proxy_http.so"},
		{"proxy_balancer_module", "mod_proxy_balancer.so"},
		{"lbmethod_byrequests_module", "mod_lbmethod_byrequests.so"},
		{"alias_module", "mod_alias.so"}, // RedirectMatch 404 of --portal-host
	},
	ApacheJK: {{"jk_module", "mod_jk.so"}},
}

// apacheModuleDirs are where Debian, Red Hat and a source build keep
// Apache's modules.
var apacheModuleDirs = []string{"/usr/lib/apache2/modules", "/usr/lib64/httpd/modules", "/usr/lib/httpd/modules", "/usr/local/apache2/modules"}

// apacheMain writes a main httpd.conf in tmp that loads what the
// candidate in dir needs (modules compiled into bin are not loaded again)
// and includes it.
func apacheMain(ctx context.Context, bin, tmp string, s Server, dir string) ([]string, error) {
	builtin, _ := exec.CommandContext(ctx, bin, "-l").Output()
	var modDir string
	for _, d := range apacheModuleDirs {
		if _, err := os.Stat(filepath.Join(d, "mod_proxy.so")); err == nil {
			modDir = d
			break
		}
	}
	if modDir == "" {
		return nil, fmt.Errorf("wsconfig: Apache's modules are in none of %s", strings.Join(apacheModuleDirs, ", "))
	}
	// mod_authz_core: without an authorization provider Apache answers
	// every request 500 ("couldn't check user").
	mods := append([][2]string{{"authz_core_module", "mod_authz_core.so"}}, apacheModules[s]...)
	include := filepath.Join(dir, FileNames(s)[0])
	if s == ApacheJK {
		if data, err := os.ReadFile(include); err == nil && bytes.Contains(data, []byte("balancer://")) {
			mods = append(mods, apacheModules[Apache]...) // --portal
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ServerRoot %q\nServerName localhost\nPidFile %q\nErrorLog %q\nDefaultRuntimeDir %q\nMutex file:%s default\n",
		tmp, filepath.Join(tmp, "httpd.pid"), filepath.Join(tmp, "error.log"), tmp, tmp)
	if !bytes.Contains(builtin, []byte("event.c")) && !bytes.Contains(builtin, []byte("prefork.c")) && !bytes.Contains(builtin, []byte("worker.c")) {
		mods = append([][2]string{{"mpm_event_module", "mod_mpm_event.so"}}, mods...)
	}
	for _, m := range mods {
		if bytes.Contains(builtin, []byte(strings.TrimSuffix(m[1], ".so")+".c")) {
			continue
		}
		path := filepath.Join(modDir, m[1])
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("wsconfig: Apache module %s is not installed (for mod_jk: apt-get install -y libapache2-mod-jk)", path)
		}
		fmt.Fprintf(&b, "LoadModule %s %q\n", m[0], path)
	}
	fmt.Fprintf(&b, "Include %q\n", include)
	main := filepath.Join(tmp, "httpd.conf")
	if err := writeFile(main, b.String()); err != nil {
		return nil, err
	}
	return []string{"-t", "-d", tmp, "-f", main}, nil
}

// haproxyMain writes a main haproxy.cfg in tmp with the global and
// defaults sections that the candidate file goes beside.
func haproxyMain(tmp, file string) ([]string, error) {
	main := filepath.Join(tmp, "haproxy.cfg")
	text := "global\n    maxconn 1024\n\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n"
	if err := writeFile(main, text); err != nil {
		return nil, err
	}
	return []string{"-c", "-f", main, "-f", file}, nil
}

// The IIS XML, as far as checkIIS reads it.
type iisConfig struct {
	XMLName  xml.Name     `xml:"configuration"`
	WebFarms []iisWebFarm `xml:"webFarms>webFarm"`
	Rules    []iisRule    `xml:"system.webServer>rewrite>globalRules>rule"`
}

type iisWebFarm struct {
	Name    string      `xml:"name,attr"`
	Enabled string      `xml:"enabled,attr"`
	Servers []iisServer `xml:"server"`
	LB      struct {
		Algorithm string `xml:"algorithm,attr"`
	} `xml:"applicationRequestRouting>loadBalancing"`
}

type iisServer struct {
	Address string `xml:"address,attr"`
	Enabled string `xml:"enabled,attr"`
	ARR     *struct {
		HTTPPort string `xml:"httpPort,attr"`
		Weight   string `xml:"weight,attr"`
	} `xml:"applicationRequestRouting"`
}

type iisRule struct {
	Name  string `xml:"name,attr"`
	Match struct {
		URL string `xml:"url,attr"`
	} `xml:"match"`
	Conditions []struct {
		Input   string `xml:"input,attr"`
		Pattern string `xml:"pattern,attr"`
	} `xml:"conditions>add"`
	Action struct {
		Type       string `xml:"type,attr"`
		URL        string `xml:"url,attr"`
		StatusCode string `xml:"statusCode,attr"`
	} `xml:"action"`
}

// checkIIS checks the structure of the IIS XML at path: well-formed, web
// farms that each have a name, servers with an address, an ARR httpPort
// and weight, at least one enabled, weighted round robin, and global rules
// that each match a URL and rewrite it to a farm of the file or answer it
// with a 4xx CustomResponse (--portal-host), their conditions each with an
// input and a pattern; the last rule matches every path.
func checkIIS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// A strict decoder reads the whole document: it fails on anything that
	// is not well-formed, also after the parts it maps.
	dec := xml.NewDecoder(f)
	var c iisConfig
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("%s: not well-formed: %v", path, err)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: not well-formed after </configuration>: %v", path, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return fmt.Errorf("%s: text after </configuration>", path)
			}
		case xml.StartElement:
			return fmt.Errorf("%s: a second root element, %s", path, t.Name.Local)
		}
	}
	if len(c.WebFarms) == 0 {
		return fmt.Errorf("%s: no webFarms/webFarm", path)
	}
	farms := map[string]bool{}
	for _, w := range c.WebFarms {
		if w.Name == "" || farms[w.Name] {
			return fmt.Errorf("%s: a webFarm without a name, or two named %q", path, w.Name)
		}
		farms[w.Name] = true
		if w.LB.Algorithm != "WeightedRoundRobin" {
			return fmt.Errorf("%s: webFarm %q: loadBalancing algorithm %q, want WeightedRoundRobin", path, w.Name, w.LB.Algorithm)
		}
		enabled := 0
		for _, s := range w.Servers {
			if s.Address == "" || s.ARR == nil || s.ARR.HTTPPort == "" || s.ARR.Weight == "" {
				return fmt.Errorf("%s: webFarm %q: a server without address, applicationRequestRouting httpPort or weight", path, w.Name)
			}
			if s.Enabled != "false" {
				enabled++
			}
		}
		if enabled == 0 {
			return fmt.Errorf("%s: webFarm %q has no enabled server", path, w.Name)
		}
	}
	if len(c.Rules) == 0 {
		return fmt.Errorf("%s: no system.webServer/rewrite/globalRules/rule", path)
	}
	for _, r := range c.Rules {
		farm, _, _ := strings.Cut(strings.TrimPrefix(r.Action.URL, "http://"), "/")
		rewrite := r.Action.Type == "Rewrite" && farms[farm]
		refuse := r.Action.Type == "CustomResponse" && len(r.Action.StatusCode) == 3 && r.Action.StatusCode[0] == '4'
		if r.Name == "" || r.Match.URL == "" || !rewrite && !refuse {
			return fmt.Errorf("%s: rule %q must match a URL and rewrite it to one of the web farms, or answer it with a 4xx CustomResponse", path, r.Name)
		}
		for _, cond := range r.Conditions {
			if cond.Input == "" || cond.Pattern == "" {
				return fmt.Errorf("%s: rule %q has a condition without input or pattern", path, r.Name)
			}
		}
	}
	if last := c.Rules[len(c.Rules)-1]; last.Match.URL != "(.*)" || len(last.Conditions) > 0 || last.Action.Type != "Rewrite" {
		return fmt.Errorf("%s: the last rule, %q, does not send every path to a web farm", path, last.Name)
	}
	return nil
}

// checkWorkers checks mod_jk's workers.properties at path as mod_jk reads
// it at start: "worker.NAME.PROPERTY=VALUE" lines, a worker.list whose
// workers have a type (their own or a reference's), lb workers whose
// balance_workers are ajp13 workers with a host, a port and an lbfactor.
func checkWorkers(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	props := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "worker.") || v == "" {
			return fmt.Errorf("%s:%d: not worker.NAME.PROPERTY=VALUE: %q", path, i+1, line)
		}
		props[k] = v
	}
	get := func(w, p string) string {
		for range 8 { // references, bounded
			if v, ok := props["worker."+w+"."+p]; ok {
				return v
			}
			ref, ok := props["worker."+w+".reference"]
			if !ok {
				return ""
			}
			w = strings.TrimPrefix(ref, "worker.")
		}
		return ""
	}
	list := props["worker.list"]
	if list == "" {
		return fmt.Errorf("%s: no worker.list", path)
	}
	for _, lb := range strings.Split(list, ",") {
		switch get(lb, "type") {
		case "lb":
		case "":
			return fmt.Errorf("%s: worker %q of worker.list has no type", path, lb)
		default:
			continue
		}
		members := get(lb, "balance_workers")
		if members == "" {
			return fmt.Errorf("%s: lb worker %q has no balance_workers", path, lb)
		}
		active := 0
		for _, w := range strings.Split(members, ",") {
			if get(w, "type") != "ajp13" || get(w, "host") == "" || get(w, "port") == "" || get(w, "lbfactor") == "" {
				return fmt.Errorf("%s: worker %q of %q needs type ajp13, host, port and lbfactor", path, w, lb)
			}
			if a := get(w, "activation"); a == "" || a == "A" || a == "a" {
				active++
			}
		}
		if active == 0 {
			return fmt.Errorf("%s: lb worker %q has no active worker", path, lb)
		}
	}
	return nil
}
