package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// cpuUse is the CPU time used during one run, in percent of one core
// (200 = both cores of a 2-core machine busy the whole run).
type cpuUse struct {
	Wrk     float64 `json:"wrk"`
	Backend float64 `json:"backend"`
	Proxy   float64 `json:"proxy"` // the target's own processes; 0 for direct
	Other   float64 `json:"other"` // the rest of the machine: the harness, kernel threads, anything else running
	Idle    float64 `json:"idle"`
	// IRQ is the time in interrupts and softirqs (much of loopback TCP).
	// It is no share of its own: the kernel also charges most of it to the
	// process it interrupted, so it overlaps the columns above.
	IRQ float64 `json:"irq"`
	// Parts splits Proxy by the target's parts (name → percent of one
	// core); nil for a target without parts.
	Parts map[string]float64 `json:"parts,omitempty"`
}

// cpuSample is a reading of CPU counters, in clock ticks.
type cpuSample struct {
	backend, proxy  uint64
	parts           []uint64 // of the target's parts, in order
	busy, irq, idle uint64   // whole machine, from /proc/stat; busy excludes irq
	ok              bool
}

// sampleCPU reads the CPU time of the backend, of the proxy processes and
// of the whole machine. Processes that have gone are left out.
// parts are the pids of each of the target's parts.
func (e *env) sampleCPU(proxy []int, parts [][]int) cpuSample {
	var s cpuSample
	if st, err := readStat(e.backend.pid()); err == nil {
		s.backend = st.utime + st.stime
	}
	for _, pid := range proxy {
		if st, err := readStat(pid); err == nil {
			s.proxy += st.utime + st.stime
		}
	}
	for _, pids := range parts {
		var n uint64
		for _, pid := range pids {
			if st, err := readStat(pid); err == nil {
				n += st.utime + st.stime
			}
		}
		s.parts = append(s.parts, n)
	}
	var err error
	s.busy, s.irq, s.idle, err = machineTicks()
	s.ok = err == nil
	return s
}

// cpuDelta turns two samples around a wrk run of secs seconds, and wrk's
// own usage, into percentages of one core. names are those of the parts
// sampled.
func cpuDelta(before, after cpuSample, wrk *os.ProcessState, secs float64, names []string) cpuUse {
	if secs <= 0 || !before.ok || !after.ok {
		return cpuUse{}
	}
	// A process that went away between the samples makes a sum shrink.
	pct := func(a, b uint64) float64 {
		if b < a {
			return 0
		}
		return float64(b-a) / clockTicks / secs * 100
	}
	u := cpuUse{
		Backend: pct(before.backend, after.backend),
		Proxy:   pct(before.proxy, after.proxy),
		IRQ:     pct(before.irq, after.irq),
		Idle:    pct(before.idle, after.idle),
	}
	if wrk != nil {
		u.Wrk = (wrk.UserTime() + wrk.SystemTime()).Seconds() / secs * 100
	}
	for i, name := range names {
		if i < len(before.parts) && i < len(after.parts) {
			if u.Parts == nil {
				u.Parts = map[string]float64{}
			}
			u.Parts[name] = pct(before.parts[i], after.parts[i])
		}
	}
	busy := pct(before.busy, after.busy) + u.IRQ
	u.Other = max(0, busy-u.Wrk-u.Backend-u.Proxy)
	return u
}

// quietIdle is the share of the machine that must be idle, with the
// benchmark's own processes at rest, for a run to start at once.
const quietIdle = 0.75

// settleDown waits, up to -settle, until the machine is mostly idle, so
// that a build or test running beside the benchmark does not take a run's
// CPU. The "other" column of the report shows what was left.
func (e *env) settleDown(ctx context.Context) error {
	if e.opts.settle <= 0 {
		return nil
	}
	deadline := time.Now().Add(e.opts.settle)
	for i := 0; ; i++ {
		idle, err := idleShare(ctx, settleCheck)
		if err != nil {
			return err
		}
		if idle >= quietIdle {
			return nil
		}
		if i == 0 {
			e.logf("the machine is busy (%.0f%% idle); waiting up to %s for it to settle", idle*100, e.opts.settle)
		}
		if time.Now().After(deadline) {
			e.logf("WARNING: the machine is still busy (%.0f%% idle); running anyway", idle*100)
			return nil
		}
	}
}

// idleShare returns the share of all CPUs' time that was idle over d.
func idleShare(ctx context.Context, d time.Duration) (float64, error) {
	b1, i1, d1, err := machineTicks()
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(d):
	}
	b2, i2, d2, err := machineTicks()
	if err != nil {
		return 0, err
	}
	total := (b2 - b1) + (i2 - i1) + (d2 - d1)
	if total == 0 {
		return 1, nil
	}
	return float64(d2-d1) / float64(total), nil
}

// procStat is the part of /proc/PID/stat that loadbench reads.
type procStat struct {
	ppid         int
	utime, stime uint64 // clock ticks, all threads
}

func readStat(pid int) (procStat, error) {
	var st procStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// pid (comm) state ppid … utime stime …; comm may hold spaces and ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return st, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return st, errors.New("short /proc stat")
	}
	if st.ppid, err = strconv.Atoi(f[1]); err != nil {
		return st, err
	}
	if st.utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return st, err
	}
	if st.stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return st, err
	}
	return st, nil
}

// machineTicks returns the clock ticks of all CPUs together from the
// "cpu" line of /proc/stat: busy in processes, in interrupts and softirqs,
// and idle.
func machineTicks() (busy, irq, idle uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0, errors.New("unexpected /proc/stat")
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice,
	// already counted in user and nice]
	for i, s := range f[1:] {
		if i >= 8 {
			break
		}
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, 0, err
		}
		switch i {
		case 3, 4:
			idle += v
		case 5, 6:
			irq += v
		default:
			busy += v
		}
	}
	return busy, irq, idle, nil
}
