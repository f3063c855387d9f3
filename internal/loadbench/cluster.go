package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// clusterTarget is a 2-node Portico cluster on its own redis-server,
// behind an nginx that spreads wrk's requests over both nodes. The nodes
// run with --analytics none, so that the comparison with
// portico-noanalytics is of one node against two on Redis. The API, plan,
// application, key and subscription are those of configurePortico,
// written through node 1's admin API; node 2 learns of them over Redis.
// The plan's fixed-window rate limit and hard quota never trigger, but
// every request is decided by the cluster-exact Redis limiter (leases of
// the remaining budget, each taken by one script call), so the Redis
// commands and round trips per request are read from INFO around every
// run.
//
// CPU: both Portico nodes, the front nginx (master and workers) and
// redis-server are charged to the target.
func clusterTarget() *target {
	t := &target{name: "portico-cluster",
		about: "wrk → nginx (keep-alive, round robin) → 2 Portico nodes on one Redis (API key auth, cluster-exact rate limit + quota, analytics off) → backend"}
	var redis, front *proc
	var nodes []*proc
	t.setup = func(ctx context.Context, e *env, t *target) error {
		bin, err := e.porticoBinary(ctx)
		if err != nil {
			return err
		}
		var addr string
		if redis, addr, err = e.startRedis(ctx, t.name+"-redis"); err != nil {
			return err
		}
		datastore := "redis://" + addr + "/0"
		password := randomHex(16)
		var gws, adms []string
		// One after the other: the first creates the admin user in Redis,
		// the second finds it.
		for _, n := range []string{"n1", "n2"} {
			p, gw, adm, err := e.startPortico(ctx, t.name+"-"+n, bin, password, []string{
				"--datastore", datastore,
				"--analytics", "none",
				"--data-dir", filepath.Join(e.dir, t.name+"-"+n+"-data"),
				"--node-name", n,
			})
			if p != nil {
				nodes = append(nodes, p)
			}
			if err != nil {
				return err
			}
			gws, adms = append(gws, gw), append(adms, adm)
		}
		a := &adminClient{base: "http://" + adms[0] + "/api/v1", user: "admin", password: password, proc: nodes[0]}
		app, err := configurePortico(ctx, a, e.backendURL, nil, nil)
		if err != nil {
			return err
		}
		key := app.key
		// The config reaches node 2 over Redis pub/sub, node 1's gateway
		// a moment after its admin API answered: wait for both.
		for i, gw := range gws {
			err := waitReady(ctx, nodes[i], "http://"+gw+"/bench/hello", keyHeader(key), 10*time.Second, status200(backendBody))
			if err != nil {
				return fmt.Errorf("node n%d: %w", i+1, err)
			}
		}
		if err := waitMembers(ctx, a, []string{"n1", "n2"}, 10*time.Second); err != nil {
			return err
		}
		var base string
		if front, base, err = e.startNginx(ctx, t.name+"-nginx", gws, "/bench/hello", keyHeader(key)); err != nil {
			return err
		}
		t.url = base + "/bench/hello"
		t.headers = []string{"X-API-Key: " + key}
		t.procs = func() []int {
			pids := []int{redis.pid()}
			for _, p := range nodes {
				pids = append(pids, p.pid())
			}
			return append(pids, processTree(front.pid())...)
		}
		t.redisStats = func(ctx context.Context) (redisSample, error) { return readRedis(ctx, addr) }
		t.detail = fmt.Sprintf("%s, nodes n1 and n2 on redis-server %s (--save \"\" --appendonly no), --analytics none --log-level warn",
			firstLine(commandOutput(bin, "version")), redisVersion(ctx, addr))
		if len(e.opts.porticoEnv) > 0 {
			t.detail += ", environment " + strings.Join(e.opts.porticoEnv, " ")
		}
		t.detail += "; front " + nginxDetail(front)
		return nil
	}
	t.teardown = func(ctx context.Context) error {
		// Front first, then the nodes (which leave the membership in
		// Redis as they stop), Redis last.
		var errs []error
		if front != nil {
			errs = append(errs, front.stop(syscall.SIGTERM, 5*time.Second))
		}
		for i := len(nodes) - 1; i >= 0; i-- {
			errs = append(errs, nodes[i].stop(syscall.SIGTERM, 15*time.Second))
		}
		if redis != nil {
			errs = append(errs, redis.stop(syscall.SIGTERM, 5*time.Second))
		}
		return errors.Join(errs...)
	}
	return t
}

// waitMembers waits until GET /cluster/nodes lists exactly the nodes
// names, all up.
func waitMembers(ctx context.Context, a *adminClient, names []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := strings.Join(names, ",")
	var got string
	for {
		var list struct {
			Items []struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"items"`
		}
		err := a.do(ctx, http.MethodGet, "/cluster/nodes", nil, http.StatusOK, &list)
		if err == nil {
			var up []string
			for _, n := range list.Items {
				if n.Status == "up" {
					up = append(up, n.Name)
				}
			}
			sort.Strings(up)
			if got = strings.Join(up, ","); got == want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("cluster membership: %w", err)
			}
			return fmt.Errorf("cluster membership: nodes up %q after %s, want %q", got, timeout, want)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
