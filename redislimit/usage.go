package redislimit

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"

	"github.com/portico-gw/portico"
)

var _ portico.UsageReader = (*Limiter)(nil)

// usageLua reads counters as takeLua does, on Redis's clock, and changes
// nothing. KEYS are counters; ARGV holds three values per key: period
// code, rolling (1/0) and rolling buckets. It returns {Redis time in µs,
// then per key: count, window start µs, window end µs}; a rolling
// counter's window is the period that ends now.
const usageLua = calendarLua + `
local t = redis.call('TIME')
local sec, usec = tonumber(t[1]), tonumber(t[2])
local now = sec * 1000000 + usec
local out = {now}
for i = 1, #KEYS do
  local b = (i - 1) * 3
  local per, roll, nb = ARGV[b + 1], ARGV[b + 2] == '1', tonumber(ARGV[b + 3])
  local count, ws, we = 0, 0, 0
  if roll then
    local P = ({s = 1, m = 60, h = 3600, d = 86400, w = 604800})[per] * 1000000
    local w = floor((P + nb - 1) / nb)
    if w < 1 then w = 1 end
    local oldest = floor((now - P + 1) / w)
    local all = redis.call('HGETALL', KEYS[i])
    for j = 1, #all, 2 do
      if tonumber(all[j]) >= oldest then count = count + tonumber(all[j + 1]) end
    end
    ws, we = now - P, now
  else
    local s, e = window(per, sec)
    local v = redis.call('HMGET', KEYS[i], 's', 'n', 'p')
    if tonumber(v[1]) == s and (not v[3] or v[3] == per) then count = tonumber(v[2]) or 0 end
    ws, we = s * 1000000, e * 1000000
  end
  out[#out + 1] = count
  out[#out + 1] = ws
  out[#out + 1] = we
end
return out
`

// usageSHA is the SHA1 of usageLua, for EVALSHA.
var usageSHA = func() string {
	h := sha1.Sum([]byte(usageLua))
	return hex.EncodeToString(h[:])
}()

// Usage implements portico.UsageReader: one call of a read-only script
// that reads every counter of specs in Redis, on Redis's clock (now is
// not used). A fixed counter's count includes the units leased to nodes
// and not yet used, and is at least the highest count this node saw
// Redis report in the window (see Lost counters). While Redis is
// unreachable it returns a portico.EUnavailable error: the cluster's
// count is not known. A spec Take would refuse is an EInvalid error.
func (l *Limiter) Usage(ctx context.Context, _ time.Time, specs []portico.LimitSpec) ([]portico.CounterUsage, error) {
	if len(specs) == 0 {
		return []portico.CounterUsage{}, nil
	}
	keys := make([]string, len(specs))
	args := make([]any, 0, 3*len(specs))
	for i := range specs {
		sp := &specs[i]
		if err := sp.Validate(); err != nil {
			return nil, err
		}
		keys[i] = l.redisKey(sp)
		roll := "0"
		if sp.Window == portico.Rolling {
			roll = "1"
		}
		args = append(args, periodCode[sp.Per], roll, l.buckets())
	}
	l.trips.Add(1)
	v, err := l.rdb.EvalSha(ctx, usageSHA, keys, args...).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		l.trips.Add(1)
		v, err = l.rdb.Eval(ctx, usageLua, keys, args...).Result()
	}
	if err != nil {
		return nil, &portico.Error{Code: portico.EUnavailable, Message: "the limit counters cannot be read: the data store is unavailable", Err: err}
	}
	res, err := ints(v, 1+3*len(specs))
	if err != nil {
		return nil, err
	}
	out := make([]portico.CounterUsage, len(specs))
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range specs {
		sp := &specs[i]
		r := res[1+3*i:]
		u := portico.CounterUsage{Key: sp.Key, Limit: sp.Limit, Used: r[0],
			Start: time.UnixMicro(r[1]).UTC(), End: time.UnixMicro(r[2]).UTC()}
		if sp.Window != portico.Rolling {
			if f := l.floors[counterOf(sp)]; f.end == r[2] && f.count > u.Used {
				u.Used = f.count
			}
		}
		out[i] = u
	}
	return out, nil
}
