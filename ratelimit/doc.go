// Package ratelimit holds Portico's in-process limiters: fixed windows,
// rolling windows and calendar quotas, all with the time passed in.
//
// # Windows
//
// WindowStart and WindowEnd define the fixed windows: [start, end) aligned
// to the Unix epoch for second, minute and hour, and calendar periods in
// UTC for day, week (starting Monday 00:00, ISO 8601) and month (starting
// on the 1st at 00:00). A fixed counter counts the requests of its current
// window and admits a request while the count is below the limit; a quota
// is a fixed counter over a calendar period.
//
// A rolling counter splits its period P into B buckets of width
// w = ceil(P/B) (Memory.Buckets, DefaultBuckets = 60) aligned to the epoch.
// At time t it counts every bucket that overlaps (t-P, t], including the
// oldest, partly expired one whole, and admits while that count is below
// the limit. The count therefore covers every admission of the last P, so
// no interval of length P ever holds more than Limit admissions: take the
// last admission t' in such an interval; the count at t' included every
// earlier admission of the interval and was below Limit. The price is
// under-admission: a request admitted at t holds its slot until at most
// t+P+w, where an exact sliding window frees it at t+P. Under sustained
// over-limit load a rolling counter therefore admits about Limit per
// P+w, a long-run rate of about Limit·B/(B+1) per period, short of the
// limit by less than Limit/B (1.7% with 60 buckets). A single aligned
// period may fall short by more, up to the count of one bucket: with load
// spread evenly at k times the limit, about k·Limit/B.
//
// # Decisions
//
// Memory.Take checks all specs of a request first and counts it in every
// counter only if every hard counter admits it, so a request rejected by
// its rate limit does not use up its quota. Soft counters never reject;
// they report when a request takes them to Threshold percent of their
// limit. The Decision describes the hard counter with the fewest
// remaining requests, or the one that rejected; its RetryAfter is exact
// (the end of a fixed window, the expiry of enough old buckets of a
// rolling one) and rounding it for the Retry-After header is the caller's
// job.
//
// # Concurrency
//
// Memory keeps its counters in 64 shards, each a map under a mutex,
// chosen by a hash of the key. A Take locks the shards of its keys in
// ascending order — one consistent order, so Takes that share shards
// cannot deadlock — and holds them from the check to the count: no
// concurrent Take can slip in between, so a counter never admits more
// than its limit. On an existing key a Take does not allocate.
//
// # Lifetime and persistence
//
// Counters are created on first use. Sweep drops those whose windows have
// ended; the owner runs it periodically. Counters returns the state of
// the quota counters (day, week and month) for a portico.CounterStore, and
// Restore loads it after a restart; a state saved in a period that has
// ended by the time its key is used again is ignored.
//
// # Time
//
// Every decision takes the time as an argument; nothing here reads the
// clock. A counter that is given a time earlier than one it has already
// seen (two callers whose clock reads raced) counts at the later time, so
// its windows never move backwards.
package ratelimit
