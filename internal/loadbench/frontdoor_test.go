package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOptInTargets(t *testing.T) {
	o, err := parseFlags([]string{"-targets", "apache-jk,nginx"}, new(strings.Builder))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range targets(o) {
		got = append(got, tg.name)
	}
	if strings.Join(got, ",") != "nginx,apache-jk" {
		t.Errorf("-targets apache-jk,nginx runs %v, want nginx, apache-jk", got)
	}
	var help strings.Builder
	parseFlags([]string{"-help"}, &help)
	for _, name := range []string{"apache-direct", "apache-proxy", "apache-jk", "nginx-portico"} {
		if !strings.Contains(help.String(), name) {
			t.Errorf("-help does not name %s:\n%s", name, help.String())
		}
	}
}

// partRun is a successful run of 1,000 requests over 1 s with the CPU
// time of each part, in percent of one core.
func partRun(target string, round int, rps, p99 float64, parts map[string]float64) runResult {
	x := rr(target, round, rps, p99, "")
	x.Requests, x.Seconds = 1000, 1
	x.CPU.Parts = parts
	for _, pct := range parts {
		x.CPU.Proxy += pct
	}
	return x
}

func TestFrontDoor(t *testing.T) {
	ts := []*target{{name: "nginx"}, {name: "apache-direct"}, {name: "apache-proxy"}, {name: "apache-jk"}}
	r := &results{
		Options: optionsOut{Rounds: 2},
		Runs: []runResult{
			partRun("apache-direct", 1, 100, 1000, map[string]float64{"apache": 50}),
			partRun("apache-proxy", 1, 50, 2000, map[string]float64{"apache": 40, "portico": 60}),
			partRun("apache-jk", 1, 40, 3000, map[string]float64{"apache": 30, "portico": 80}),
			partRun("nginx", 1, 200, 500, nil),
			partRun("apache-direct", 2, 100, 1000, map[string]float64{"apache": 70}),
			partRun("apache-proxy", 2, 80, 2000, map[string]float64{"apache": 60, "portico": 80}),
			rr("apache-jk", 2, 1, 1, "3 socket errors"),
			partRun("nginx", 2, 200, 500, nil),
		},
	}
	r.summarize(ts)
	// nginx-portico did not run: its pair is left out.
	if len(r.FrontDoor) != 2 {
		t.Fatalf("front door = %+v, want apache-jk / apache-proxy and apache-proxy / apache-direct", r.FrontDoor)
	}
	jk, proxy := r.FrontDoor[0], r.FrontDoor[1]
	// apache-jk ran in round 1 only: its ratio is that round's, 40 / 50.
	if jk.Target != "apache-jk" || jk.Ref != "apache-proxy" || !near(jk.MedianOfRounds, 0.8) || len(jk.PerRound) != 1 ||
		!near(jk.P99MedianOfRounds, 1.5) || !near(jk.Median, 40/65.0) {
		t.Errorf("apache-jk / apache-proxy = %+v, want 0.8 per round (1 round), p99 × 1.5, 40/65 of medians", jk)
	}
	if proxy.Target != "apache-proxy" || proxy.Ref != "apache-direct" || !near(proxy.MedianOfRounds, 0.65) || len(proxy.PerRound) != 2 {
		t.Errorf("apache-proxy / apache-direct = %+v, want rounds 0.5 and 0.8, median 0.65", proxy)
	}
	byName := map[string]summary{}
	for _, s := range r.Targets {
		byName[s.Name] = s
	}
	// 1,000 requests in 1 s: 1 % of a core is 10 µs per request.
	want := map[string][]partCPU{
		"apache-direct": {{"apache", 600}},
		"apache-proxy":  {{"apache", 500}, {"portico", 700}},
		"apache-jk":     {{"apache", 300}, {"portico", 800}},
		"nginx":         nil,
	}
	for name, w := range want {
		got := byName[name].Parts
		if len(got) != len(w) {
			t.Errorf("%s parts = %+v, want %+v", name, got, w)
			continue
		}
		for i := range w {
			if got[i].Name != w[i].Name || !near(got[i].CPUus, w[i].CPUus) {
				t.Errorf("%s parts = %+v, want %+v", name, got, w)
			}
		}
	}
	var out strings.Builder
	r.printFrontDoor(&out)
	for _, s := range []string{"apache-jk / apache-proxy", "req/s × 0.800", "apache-proxy / apache-direct", "apache 500.0", "portico 700.0", "total 1200.0"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("front-door report lacks %q:\n%s", s, out.String())
		}
	}
}

func TestWriteApacheConf(t *testing.T) {
	t.Run("mod_proxy", func(t *testing.T) {
		dir := t.TempDir()
		err := writeApacheConf(apacheConfData{Dir: dir, Listen: "127.0.0.1:8080", Modules: apacheModules,
			apacheFront: apacheFront{Upstream: "127.0.0.1:9000"}})
		if err != nil {
			t.Fatal(err)
		}
		conf := readTestFile(t, filepath.Join(dir, "httpd.conf"))
		for _, s := range []string{"Listen 127.0.0.1:8080", `ProxyPass "/" "http://127.0.0.1:9000/" keepalive=On`,
			"mod_proxy_http.so", "mod_mpm_event.so", "MaxKeepAliveRequests 0"} {
			if !strings.Contains(conf, s) {
				t.Errorf("httpd.conf lacks %q:\n%s", s, conf)
			}
		}
		if strings.Contains(conf, "jk_module") || strings.Contains(conf, "User ") {
			t.Errorf("httpd.conf for mod_proxy, not as root, loads mod_jk or sets User:\n%s", conf)
		}
		if _, err := os.Stat(filepath.Join(dir, "workers.properties")); err == nil {
			t.Error("workers.properties written for mod_proxy")
		}
	})
	t.Run("mod_jk", func(t *testing.T) {
		dir := t.TempDir()
		err := writeApacheConf(apacheConfData{Dir: dir, Listen: "127.0.0.1:8080", Modules: apacheModules, User: "www-data",
			apacheFront: apacheFront{AJP: "127.0.0.1:8009", Secret: "s3cret"}})
		if err != nil {
			t.Fatal(err)
		}
		conf := readTestFile(t, filepath.Join(dir, "httpd.conf"))
		for _, s := range []string{"JkMount /* portico", "User www-data", `JkWorkersFile "` + dir + `/workers.properties"`} {
			if !strings.Contains(conf, s) {
				t.Errorf("httpd.conf lacks %q:\n%s", s, conf)
			}
		}
		if strings.Contains(conf, "ProxyPass") {
			t.Errorf("httpd.conf for mod_jk has a ProxyPass:\n%s", conf)
		}
		workers := readTestFile(t, filepath.Join(dir, "workers.properties"))
		for _, s := range []string{"worker.list=portico\n", "worker.portico.type=ajp13\n", "worker.portico.host=127.0.0.1\n",
			"worker.portico.port=8009\n", "worker.portico.secret=s3cret\n", "worker.portico.ping_mode=CI\n"} {
			if !strings.Contains(workers, s) {
				t.Errorf("workers.properties lacks %q:\n%s", s, workers)
			}
		}
	})
	for name, fr := range map[string]apacheFront{
		"no upstream":          {},
		"bad AJP address":      {AJP: "127.0.0.1"},
		"line break in secret": {AJP: "127.0.0.1:8009", Secret: "a\nworker.list=x"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := writeApacheConf(apacheConfData{Dir: t.TempDir(), apacheFront: fr}); err == nil {
				t.Errorf("writeApacheConf(%+v): no error", fr)
			}
		})
	}
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
