package wsconfig

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ManifestName is the file in the output directory that records what
// Install wrote: the server, the files and their hashes, the members.
// Uninstall removes exactly the files it lists.
const ManifestName = "wsconfig.manifest"

// LogName is the file in the output directory to which every Install and
// Uninstall appends a line: the time, the server, the source, the files
// written and the members added, removed and changed.
const LogName = "wsconfig.log"

// manifest is the JSON of ManifestName.
type manifest struct {
	Server  Server         `json:"server"`
	Written time.Time      `json:"written"`
	Files   []manifestFile `json:"files"`
	Members []Member       `json:"members"`
}

type manifestFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// Change is what one Install did.
type Change struct {
	Written   []string // files whose content changed, rewritten
	Unchanged []string // files that held the same config (apart from its time)

	Added   []string // members new since the last Install into the directory
	Removed []string // members gone
	Changed []string // members whose addresses, lb factor or state changed, with what changed
}

// Empty reports whether no file was rewritten.
func (c *Change) Empty() bool { return len(c.Written) == 0 }

// Install renders the config of server s for members m into o.Dir (made if
// missing): it renders the files into a candidate directory inside o.Dir,
// runs check on it (nil: Check, the server's own test), and only then
// writes each file whose content changed atomically (a temporary file in
// o.Dir, fsynced, renamed over the file; the directory fsynced), records
// the manifest, and appends what changed to the log. The files rendered
// for the candidate name the candidate's directory where the installed
// ones name o.Dir (mod_jk.conf's paths); nothing else differs.
//
// A refused check (ErrCheck) or any other error leaves the installed files
// as they were. Install refuses to write over a file of its own names
// that no manifest lists (it was not written by Install), and over
// another server's config in the same directory.
func Install(ctx context.Context, s Server, m Members, o Options, check Checker) (*Change, error) {
	if o.Dir == "" {
		return nil, errors.New("wsconfig: no output directory")
	}
	files, err := Render(s, m, o)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	old, err := readManifest(o.Dir)
	if err != nil {
		return nil, err
	}
	if old != nil && old.Server != s {
		return nil, fmt.Errorf("wsconfig: %s holds the %s config that wsconfig wrote: uninstall it first, or use another directory", o.Dir, old.Server)
	}
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(o.Dir, f.Name)); err == nil && (old == nil || !old.lists(f.Name)) {
			return nil, fmt.Errorf("wsconfig: %s exists and was not written by wsconfig (%s does not list it): move it away first", filepath.Join(o.Dir, f.Name), ManifestName)
		}
	}
	if check == nil {
		check = Check
	}
	if err := checkCandidate(ctx, s, m, o, check); err != nil {
		return nil, err
	}

	c := &Change{}
	next := &manifest{Server: s, Written: o.Time.UTC(), Members: m.sorted()}
	var write []File
	for _, f := range files {
		data := f.Data
		if cur, err := os.ReadFile(filepath.Join(o.Dir, f.Name)); err == nil && sameConfig(cur, f.Data) {
			c.Unchanged = append(c.Unchanged, f.Name)
			data = cur
		} else {
			write = append(write, f)
		}
		sum := sha256.Sum256(data)
		next.Files = append(next.Files, manifestFile{Name: f.Name, SHA256: hex.EncodeToString(sum[:])})
	}
	// The manifest lists the files before they exist, so that Uninstall
	// finds them whatever happens next.
	if err := writeManifest(o.Dir, next); err != nil {
		return nil, err
	}
	for _, f := range write {
		if err := writeAtomic(filepath.Join(o.Dir, f.Name), f.Data, os.FileMode(f.Mode)); err != nil {
			return c, err
		}
		c.Written = append(c.Written, f.Name)
	}
	var before []Member
	if old != nil {
		before = old.Members
	}
	c.Added, c.Removed, c.Changed = diffMembers(before, next.Members)
	err = appendLog(o.Dir, fmt.Sprintf("%s install %s from %s: %s", stamp(o.Time), s, quote(m.Source), c))
	return c, err
}

// checkCandidate renders the config into a candidate directory inside
// o.Dir and runs check on it; the directory is removed afterwards.
func checkCandidate(ctx context.Context, s Server, m Members, o Options, check Checker) error {
	dir, err := os.MkdirTemp(o.Dir, ".wsconfig-candidate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	co := o
	co.Dir = dir
	files, err := Render(s, m, co)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, os.FileMode(f.Mode)); err != nil {
			return err
		}
	}
	return check(ctx, s, dir)
}

// Uninstall removes from dir exactly the files that its manifest lists,
// then the manifest, and appends the removal to the log, which it keeps.
// It returns the files removed; a listed file already gone is skipped. A
// directory without a manifest is an error: Uninstall removes nothing it
// did not write.
func Uninstall(dir string, now time.Time) ([]string, error) {
	mf, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if mf == nil {
		return nil, fmt.Errorf("wsconfig: %s has no %s: nothing that wsconfig wrote to remove", dir, ManifestName)
	}
	var removed, edited []string
	for _, f := range mf.Files {
		path := filepath.Join(dir, f.Name)
		if data, err := os.ReadFile(path); err == nil {
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != f.SHA256 {
				edited = append(edited, f.Name)
			}
		}
		err := os.Remove(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return removed, err
		}
		removed = append(removed, f.Name)
	}
	if err := os.Remove(filepath.Join(dir, ManifestName)); err != nil {
		return removed, err
	}
	syncDir(dir)
	line := fmt.Sprintf("%s uninstall %s: removed %s", stamp(now), mf.Server, list(removed))
	if len(edited) > 0 {
		line += fmt.Sprintf(" (edited since written: %s)", list(edited))
	}
	return removed, appendLog(dir, line)
}

func (m *manifest) lists(name string) bool {
	return slices.ContainsFunc(m.Files, func(f manifestFile) bool { return f.Name == name })
}

// readManifest reads dir's manifest, or returns nil when there is none.
func readManifest(dir string) (*manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("wsconfig: %s: %w", filepath.Join(dir, ManifestName), err)
	}
	for _, f := range m.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return nil, fmt.Errorf("wsconfig: %s lists %q, which is not a file name", filepath.Join(dir, ManifestName), f.Name)
		}
	}
	return &m, nil
}

func writeManifest(dir string, m *manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, ManifestName), append(data, '\n'), 0o644)
}

// writeAtomic replaces path with data: a temporary file in the same
// directory, fsynced, renamed over path, the directory fsynced. A reader
// sees the old file or the new one, never a part.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes renames and removals in dir durable where supported.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// sameConfig reports whether a and b are the same config but for the
// header's time line.
func sameConfig(a, b []byte) bool { return bytes.Equal(withoutTime(a), withoutTime(b)) }

// withoutTime returns data without its first line that holds timePrefix
// after a comment's start.
func withoutTime(data []byte) []byte {
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		line := bytes.TrimLeft(data[off:off+end], "# \t")
		if bytes.HasPrefix(line, []byte(timePrefix)) {
			return slices.Concat(data[:off], data[min(off+end+1, len(data)):])
		}
		off += end + 1
	}
	return data
}

// diffMembers compares two member lists sorted by name.
func diffMembers(before, after []Member) (added, removed, changed []string) {
	old := map[string]Member{}
	for _, n := range before {
		old[n.Name] = n
	}
	for _, n := range after {
		o, ok := old[n.Name]
		delete(old, n.Name)
		switch {
		case !ok:
			added = append(added, n.Name)
		case o != n:
			changed = append(changed, n.Name+" ("+memberDiff(o, n)+")")
		}
	}
	for _, n := range before {
		if _, ok := old[n.Name]; ok {
			removed = append(removed, n.Name)
		}
	}
	return added, removed, changed
}

func memberDiff(a, b Member) string {
	var d []string
	state := func(m Member) string {
		if m.Down {
			return "down"
		}
		return "up"
	}
	if a.Down != b.Down {
		d = append(d, state(a)+"→"+state(b))
	}
	if a.LBFactor != b.LBFactor {
		d = append(d, fmt.Sprintf("lbfactor %d→%d", a.LBFactor, b.LBFactor))
	}
	for _, f := range []struct{ what, a, b string }{{"gateway", a.Gateway, b.Gateway}, {"admin", a.Admin, b.Admin}, {"ajp", a.AJP, b.AJP}} {
		if f.a != f.b {
			d = append(d, fmt.Sprintf("%s %s→%s", f.what, cmpOrDash(f.a), cmpOrDash(f.b)))
		}
	}
	return strings.Join(d, ", ")
}

func cmpOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// String is the log's account of the change.
func (c *Change) String() string {
	var parts []string
	if len(c.Written) > 0 {
		parts = append(parts, "wrote "+list(c.Written))
	}
	if len(c.Unchanged) > 0 {
		parts = append(parts, "unchanged "+list(c.Unchanged))
	}
	var ms []string
	for _, n := range c.Added {
		ms = append(ms, "+"+n)
	}
	for _, n := range c.Removed {
		ms = append(ms, "-"+n)
	}
	for _, n := range c.Changed {
		ms = append(ms, "~"+n)
	}
	if len(ms) > 0 {
		parts = append(parts, "members "+strings.Join(ms, " "))
	} else {
		parts = append(parts, "members unchanged")
	}
	return strings.Join(parts, "; ")
}

func list(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func quote(s string) string {
	if s == "" {
		return "(source not given)"
	}
	return fmt.Sprintf("%q", s)
}

// appendLog appends line to dir's log.
func appendLog(dir, line string) error {
	path := filepath.Join(dir, LogName)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("wsconfig: %s is a symbolic link: not written through", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// RemoveLeftovers removes what a run killed while writing left in dir:
// Install's candidate directories and the temporary files of its own
// file names. Call it only while no other run writes dir (portico
// wsconfig holds the directory's lock then).
func RemoveLeftovers(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	ours := map[string]bool{ManifestName: true}
	for _, s := range []Server{Nginx, Apache, ApacheJK, HAProxy, IIS} {
		for _, n := range FileNames(s) {
			ours[n] = true
		}
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && strings.HasPrefix(name, ".wsconfig-candidate-"):
			errs = append(errs, os.RemoveAll(filepath.Join(dir, name)))
		case e.Type().IsRegular() && strings.HasPrefix(name, "."):
			if base, _, ok := strings.Cut(name[1:], ".tmp-"); ok && ours[base] {
				errs = append(errs, os.Remove(filepath.Join(dir, name)))
			}
		}
	}
	return errors.Join(errs...)
}
