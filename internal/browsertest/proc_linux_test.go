package browsertest

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKillReachesTheGroup starts a shell in a group of its own that leaves
// a child behind when the shell alone is killed, as a browser's children
// could, and checks that kill ends both.
func TestKillReachesTheGroup(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & echo $!; wait")
	cmd.SysProcAttr = sysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var line [32]byte
	n, _ := out.Read(line[:])
	child, err := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	if err != nil {
		t.Fatalf("child pid %q: %v", line[:n], err)
	}
	leader := cmd.Process.Pid
	if got := leftovers(leader, "/no/such/dir"); !slices.Contains(got, leader) || !slices.Contains(got, child) {
		t.Fatalf("leftovers(%d) = %v, want the shell %d and its child %d", leader, got, leader, child)
	}

	if left := kill(leader, "/no/such/dir", 5*time.Second); len(left) != 0 {
		t.Errorf("kill left %v alive", left)
	}
	<-done
	if got := leftovers(leader, "/no/such/dir"); len(got) != 0 {
		t.Errorf("after kill, leftovers = %v", got)
	}
}

// TestLeftoversFindsTheProfile finds a process outside the group by its
// --user-data-dir.
func TestLeftoversFindsTheProfile(t *testing.T) {
	dir := t.TempDir()
	// The flag is the shell's $0, in its command line; the shell waits
	// in the builtin read, without a child.
	cmd := exec.Command("sh", "-c", "read x", "--user-data-dir="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	// Until the child has run exec, its command line is the test's.
	var got []int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got = leftovers(0, dir); len(got) > 0 {
			break
		}
	}
	if !slices.Equal(got, []int{cmd.Process.Pid}) {
		t.Fatalf("leftovers(0, dir) = %v, want [%d]", got, cmd.Process.Pid)
	}
	if left := kill(0, dir, 5*time.Second); len(left) != 0 {
		t.Errorf("kill left %v alive", left)
	}
}
