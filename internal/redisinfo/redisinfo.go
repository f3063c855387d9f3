// Package redisinfo reads a Redis server's counters from the reply to
// INFO stats commandstats: the calls of each command and the read events
// on client connections, from which benchmarks and tests report Redis
// commands and round trips per request.
package redisinfo

import (
	"fmt"
	"strconv"
	"strings"
)

// Sample is one reading of a Redis server's counters since it started
// (or since CONFIG RESETSTAT).
type Sample struct {
	Calls map[string]int64 // calls of each command, INFO's left out (INFO commandstats)
	Reads int64            // read events on client connections (total_reads_processed): one per request or pipeline a client sent, and one per connection closed
	Conns int64            // connections accepted (total_connections_received)
}

// Parse reads a Sample from the text of INFO stats commandstats. The
// calls of each command come from the commandstats lines
// ("cmdstat_evalsha:calls=12,usec=…"); subcommands keep Redis's names
// ("client|setinfo"). Commands that Lua scripts call are counted there
// too: a script that calls TIME and HSET is three commands.
func Parse(info string) (Sample, error) {
	s := Sample{Calls: map[string]int64{}, Reads: -1, Conns: -1}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		name, fields, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case name == "total_reads_processed" || name == "total_connections_received":
			n, err := strconv.ParseInt(fields, 10, 64)
			if err != nil || n < 0 {
				return s, fmt.Errorf("INFO: bad line %q", line)
			}
			if name == "total_reads_processed" {
				s.Reads = n
			} else {
				s.Conns = n
			}
		case strings.HasPrefix(name, "cmdstat_"):
			name = strings.TrimPrefix(name, "cmdstat_")
			found := false
			for _, f := range strings.Split(fields, ",") {
				if v, ok := strings.CutPrefix(f, "calls="); ok {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil || n < 0 {
						return s, fmt.Errorf("INFO commandstats: bad line %q", line)
					}
					s.Calls[name], found = n, true
				}
			}
			if !found {
				return s, fmt.Errorf("INFO commandstats: no calls= in %q", line)
			}
		}
	}
	if !strings.Contains(info, "# Commandstats") || s.Reads < 0 || s.Conns < 0 {
		if len(info) > 200 {
			info = info[:200] + "…"
		}
		return s, fmt.Errorf("INFO stats commandstats: unexpected reply %q", info)
	}
	delete(s.Calls, "info")
	return s, nil
}

// Since returns the calls of each command made between b and s (only
// those called), and their sum.
func (s Sample) Since(b Sample) (byCommand map[string]int64, commands int64) {
	byCommand = map[string]int64{}
	for name, n := range s.Calls {
		if d := n - b.Calls[name]; d > 0 {
			byCommand[name] = d
			commands += d
		}
	}
	return byCommand, commands
}
