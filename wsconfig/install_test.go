package wsconfig_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/wsconfig"
)

// accept is a Checker that accepts every candidate and records the
// directories it saw.
type accept struct{ dirs []string }

func (a *accept) check(_ context.Context, _ wsconfig.Server, dir string) error {
	a.dirs = append(a.dirs, dir)
	return nil
}

func refuse(context.Context, wsconfig.Server, string) error {
	return errors.New("refused by the test")
}

func readDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func logLines(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, wsconfig.LogName))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func TestInstall(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "front", "jk") // made by Install
	at := renderTime
	o := wsconfig.Options{Dir: dir, Time: at, AJPSecret: "s3cret"}
	var chk accept

	c, err := wsconfig.Install(ctx, wsconfig.ApacheJK, threeNodes(), o, chk.check)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mod_jk.conf", "uriworkermap.properties", "workers.properties", wsconfig.LogName, wsconfig.ManifestName}
	if got := readDir(t, dir); !slices.Equal(got, want) {
		t.Fatalf("dir holds %v, want %v (no temporary file or candidate left)", got, want)
	}
	if !slices.Equal(c.Written, wsconfig.FileNames(wsconfig.ApacheJK)) || len(c.Unchanged) != 0 {
		t.Errorf("first install: %+v", c)
	}
	if len(chk.dirs) != 1 || filepath.Dir(chk.dirs[0]) != dir {
		t.Errorf("the check saw %v, want one candidate inside %s", chk.dirs, dir)
	}
	files, _ := wsconfig.Render(wsconfig.ApacheJK, threeNodes(), o)
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil || string(got) != string(f.Data) {
			t.Errorf("%s: %v, or not the render", f.Name, err)
		}
		if st, _ := os.Stat(filepath.Join(dir, f.Name)); st.Mode().Perm() != os.FileMode(f.Mode) {
			t.Errorf("%s: mode %v, want %o", f.Name, st.Mode().Perm(), f.Mode)
		}
	}
	if l := logLines(t, dir); len(l) != 1 || !strings.Contains(l[0], "2026-11-25T21:00:00Z install apache-jk from \"cluster.xml /var/lib/portico/cluster.xml\": wrote mod_jk.conf, workers.properties, uriworkermap.properties; members +web1:8080 +web2:8080 +web3:8080") {
		t.Errorf("log: %q", l)
	}

	// The same members later: nothing is rewritten, the files keep their
	// first time.
	o.Time = at.Add(time.Hour)
	before, _ := os.ReadFile(filepath.Join(dir, "mod_jk.conf"))
	if c, err = wsconfig.Install(ctx, wsconfig.ApacheJK, threeNodes(), o, chk.check); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "mod_jk.conf"))
	if !c.Empty() || len(c.Unchanged) != 3 || string(before) != string(after) {
		t.Errorf("same members: %+v, file rewritten: %v", c, string(before) != string(after))
	}
	if l := logLines(t, dir); len(l) != 2 || !strings.HasSuffix(l[1], "unchanged mod_jk.conf, workers.properties, uriworkermap.properties; members unchanged") {
		t.Errorf("log: %q", l)
	}

	// A member added, one removed, one changed.
	m := threeNodes()
	m.Nodes = slices.DeleteFunc(m.Nodes, func(n wsconfig.Member) bool { return n.Name == "web3:8080" })
	m.Nodes[0].LBFactor, m.Nodes[0].Down = 4, true
	m.Nodes = append(m.Nodes, wsconfig.Member{Name: "web4:8080", Gateway: "10.0.0.4:8080", AJP: "10.0.0.4:8009"})
	if c, err = wsconfig.Install(ctx, wsconfig.ApacheJK, m, o, chk.check); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Added, []string{"web4:8080"}) || !slices.Equal(c.Removed, []string{"web3:8080"}) ||
		!slices.Equal(c.Changed, []string{"web2:8080 (up→down, lbfactor 1→4)"}) {
		t.Errorf("change: %+v", c)
	}
	if l := logLines(t, dir); len(l) != 3 || !strings.HasSuffix(l[2], "members +web4:8080 -web3:8080 ~web2:8080 (up→down, lbfactor 1→4)") {
		t.Errorf("log: %q", l)
	}

	// A refused check and an empty list change nothing.
	before, _ = os.ReadFile(filepath.Join(dir, "workers.properties"))
	if _, err := wsconfig.Install(ctx, wsconfig.ApacheJK, threeNodes(), o, refuse); err == nil || !strings.Contains(err.Error(), "refused by the test") {
		t.Errorf("a refused check: %v", err)
	}
	if _, err := wsconfig.Install(ctx, wsconfig.ApacheJK, wsconfig.Members{Source: "x"}, o, chk.check); !errors.Is(err, wsconfig.ErrNoMembers) {
		t.Errorf("an empty list: %v", err)
	}
	after, _ = os.ReadFile(filepath.Join(dir, "workers.properties"))
	if string(before) != string(after) || len(logLines(t, dir)) != 3 {
		t.Error("a refused install changed the files or the log")
	}
	if got := readDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("dir holds %v after refusals, want %v", got, want)
	}

	// Another server's config in the same directory is refused.
	if _, err := wsconfig.Install(ctx, wsconfig.Nginx, threeNodes(), o, chk.check); err == nil || !strings.Contains(err.Error(), "holds the apache-jk config") {
		t.Errorf("nginx over apache-jk: %v", err)
	}
}

// TestInstallRefusesForeignFile: a file of wsconfig's names that no
// manifest lists is someone else's; Install leaves it alone.
func TestInstallRefusesForeignFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "portico.conf")
	os.WriteFile(path, []byte("# mine\n"), 0o644)
	_, err := wsconfig.Install(context.Background(), wsconfig.Nginx, threeNodes(), wsconfig.Options{Dir: dir}, (&accept{}).check)
	if err == nil || !strings.Contains(err.Error(), "was not written by wsconfig") {
		t.Fatalf("Install over a foreign file: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "# mine\n" {
		t.Error("the foreign file changed")
	}
}

func TestUninstall(t *testing.T) {
	dir := t.TempDir()
	// Files of others beside ours: the operator's, and those mod_jk writes.
	others := []string{"nginx.conf", "mod_jk.log", "mod_jk.shm"}
	for _, name := range others {
		os.WriteFile(filepath.Join(dir, name), []byte("not wsconfig's\n"), 0o644)
	}
	o := wsconfig.Options{Dir: dir, Time: renderTime}
	if _, err := wsconfig.Install(context.Background(), wsconfig.ApacheJK, threeNodes(), o, (&accept{}).check); err != nil {
		t.Fatal(err)
	}
	// An operator edits one of ours: it is still removed, and the log says so.
	appendTo("uriworkermap.properties", "/x=y\n")(dir)

	removed, err := wsconfig.Uninstall(dir, renderTime.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if want := wsconfig.FileNames(wsconfig.ApacheJK); !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	if got, want := readDir(t, dir), []string{"mod_jk.log", "mod_jk.shm", "nginx.conf", wsconfig.LogName}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	if l := logLines(t, dir); len(l) != 2 || l[1] != "2026-11-25T21:01:00Z uninstall apache-jk: removed mod_jk.conf, workers.properties, uriworkermap.properties (edited since written: uriworkermap.properties)" {
		t.Errorf("log: %q", l)
	}
	if _, err := wsconfig.Uninstall(dir, renderTime); err == nil || !strings.Contains(err.Error(), "nothing that wsconfig wrote") {
		t.Errorf("a second Uninstall: %v", err)
	}
	if got := readDir(t, dir); len(got) != 4 {
		t.Errorf("a second Uninstall removed something: %v", got)
	}
}

// TestUninstallRefusesPathsInManifest: a manifest naming a file outside
// its directory is refused, and nothing is removed.
func TestUninstallRefusesPathsInManifest(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "precious")
	os.WriteFile(outside, []byte("x"), 0o644)
	rel, _ := filepath.Rel(dir, outside)
	os.WriteFile(filepath.Join(dir, wsconfig.ManifestName), []byte(`{"server":"nginx","files":[{"name":"`+rel+`"}]}`), 0o644)
	if _, err := wsconfig.Uninstall(dir, renderTime); err == nil || !strings.Contains(err.Error(), "not a file name") {
		t.Fatalf("Uninstall: %v", err)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatal("the file outside was removed")
	}
}

// TestRemoveLeftovers: what a run killed mid-write leaves (candidate
// directories, temporary files of wsconfig's own names) is removed;
// anything else in the directory stays.
func TestRemoveLeftovers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".portico.conf.tmp-123", ".wsconfig.manifest.tmp-9", ".other.tmp-1", "notes.txt", ".portico.conf"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ".wsconfig-candidate-42", "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := wsconfig.RemoveLeftovers(dir); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != ".other.tmp-1 .portico.conf notes.txt" {
		t.Errorf("left %q", got)
	}
	if err := wsconfig.RemoveLeftovers(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing directory: %v", err)
	}
}
