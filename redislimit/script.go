package redislimit

import (
	"crypto/sha1"
	"encoding/hex"
)

// calendarLua computes fixed windows from a Unix time in whole seconds:
// epoch-aligned seconds, minutes and hours, and UTC calendar days, weeks
// (Monday) and months. It is shared by the decision script and the test
// that checks it against the in-process reference.
const calendarLua = `
local floor = math.floor

-- days_from_civil and civil_from_days: Howard Hinnant's algorithms for the
-- proleptic Gregorian calendar, on day numbers since 1970-01-01.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = m + 9
  if m > 2 then mp = m - 3 end
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp + 3
  if mp >= 10 then m = mp - 9 end
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- window returns the [start, end) of the fixed window of period per
-- ('s', 'm', 'h', 'd', 'w', 'M') holding Unix second sec, in seconds.
local function window(per, sec)
  local len = ({s = 1, m = 60, h = 3600, d = 86400})[per]
  if len then
    local s = floor(sec / len) * len
    return s, s + len
  end
  if per == 'w' then
    local monday, week = 4 * 86400, 7 * 86400 -- 1970-01-05 was a Monday
    local s = floor((sec - monday) / week) * week + monday
    return s, s + week
  end
  local y, m = civil_from_days(floor(sec / 86400))
  local ny, nm = y, m + 1
  if nm > 12 then ny, nm = y + 1, 1 end
  return days_from_civil(y, m, 1) * 86400, days_from_civil(ny, nm, 1) * 86400
end
`

// takeLua is the decision script. KEYS are the counters of one request;
// ARGV[1] is the lease divisor, then eight values per key: period code,
// rolling (1/0), limit, soft (1/0), units wanted, rolling buckets, and a
// floor for a fixed counter: the end of a window in µs and a count this
// node saw Redis report in it (0 0 for none). A fixed counter that counts
// less than its floor in the floor's window is raised to the floor: Redis
// lost it (restarted empty, failed over to a replica that lagged).
//
// It reads Redis's clock once, checks every hard counter, and only if all
// admit, counts in every counter: a hard fixed counter grants
// min(want, max(1, floor(remaining/divisor))) units, a soft one want, a
// rolling one exactly 1. It returns {allowed, Redis time in µs, then per
// key: count before,
// units granted, wait µs, window end µs relative to now}. For a rejected
// request, wait is how long until the counter admits one more (0 for
// counters that did not reject); for an admitted one, how long until the
// counter frees capacity.
const takeLua = calendarLua + `
local t = redis.call('TIME')
local sec, usec = tonumber(t[1]), tonumber(t[2])
local now = sec * 1000000 + usec
local div = tonumber(ARGV[1])
local n = #KEYS
local st = {}
local rejected = false

local function roll_wait(r, need)
  local freed = 0
  for _, k in ipairs(r.idx) do
    freed = freed + r.cnt[k]
    if freed >= need then
      return (k + 1) * r.w + r.P - 1 - now
    end
  end
  return (r.head + 1) * r.w + r.P - 1 - now
end

for i = 1, n do
  local b = 1 + (i - 1) * 8
  local s = {per = ARGV[b + 1], roll = ARGV[b + 2] == '1', limit = tonumber(ARGV[b + 3]),
    soft = ARGV[b + 4] == '1', want = tonumber(ARGV[b + 5]), nb = tonumber(ARGV[b + 6]), wait = 0, endrel = 0}
  local fend, fcount = tonumber(ARGV[b + 7]), tonumber(ARGV[b + 8])
  if s.roll then
    local P = ({s = 1, m = 60, h = 3600, d = 86400, w = 604800})[s.per] * 1000000
    local w = floor((P + s.nb - 1) / s.nb)
    if w < 1 then w = 1 end
    local r = {P = P, w = w, head = floor(now / w), idx = {}, cnt = {}}
    local oldest = floor((now - P + 1) / w)
    local all = redis.call('HGETALL', KEYS[i])
    local count, stale = 0, {}
    for j = 1, #all, 2 do
      local k, c = tonumber(all[j]), tonumber(all[j + 1])
      if k < oldest then
        stale[#stale + 1] = all[j]
      else
        count = count + c
        r.idx[#r.idx + 1] = k
        r.cnt[k] = c
      end
    end
    if #stale > 0 then redis.call('HDEL', KEYS[i], unpack(stale)) end
    table.sort(r.idx)
    s.r, s.count = r, count
    if not s.soft and count >= s.limit then
      rejected = true
      s.wait = roll_wait(r, count - s.limit + 1)
    end
  else
    local ws, we = window(s.per, sec)
    local v = redis.call('HMGET', KEYS[i], 's', 'n', 'p')
    local count = 0
    -- A count of another period (the plan was edited) is not this one's;
    -- one without a period was written before periods were recorded.
    if tonumber(v[1]) == ws and (not v[3] or v[3] == s.per) then count = tonumber(v[2]) or 0 end
    if fend == we * 1000000 and fcount > count then count = fcount end
    s.ws, s.count, s.endrel = ws, count, we * 1000000 - now
    if not s.soft and count >= s.limit then
      rejected = true
      s.wait = s.endrel
    end
  end
  st[i] = s
end

local out = {0, now}
if rejected then
  for i = 1, n do
    local s = st[i]
    out[#out + 1] = s.count
    out[#out + 1] = 0
    out[#out + 1] = s.wait
    out[#out + 1] = s.endrel
  end
  return out
end

out[1] = 1
for i = 1, n do
  local s = st[i]
  local g = 1
  if s.roll then
    local r = s.r
    redis.call('HINCRBY', KEYS[i], string.format('%d', r.head), 1)
    redis.call('PEXPIRE', KEYS[i], floor((r.P + r.w) / 1000) + 1000)
    if not r.cnt[r.head] then
      r.cnt[r.head] = 0
      r.idx[#r.idx + 1] = r.head
    end
    r.cnt[r.head] = r.cnt[r.head] + 1
    s.wait = roll_wait(r, 1)
  else
    g = s.want
    if not s.soft then
      local cap = floor((s.limit - s.count) / div)
      if cap < 1 then cap = 1 end
      if g > cap then g = cap end
    end
    redis.call('HSET', KEYS[i], 's', s.ws, 'n', s.count + g, 'p', s.per)
    redis.call('PEXPIRE', KEYS[i], floor(s.endrel / 1000) + 1000)
    s.wait = s.endrel
  end
  out[#out + 1] = s.count
  out[#out + 1] = g
  out[#out + 1] = s.wait
  out[#out + 1] = s.endrel
end
return out
`

// takeSHA is the SHA1 of takeLua, for EVALSHA.
var takeSHA = func() string {
	h := sha1.Sum([]byte(takeLua))
	return hex.EncodeToString(h[:])
}()
