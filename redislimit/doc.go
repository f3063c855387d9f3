// Package redislimit is Portico's cluster-wide portico.Limiter: its
// counters live in Redis, shared by every node, with the same windows as
// the in-process ratelimit package.
//
// # Decisions in Redis
//
// A decision that goes to Redis is one EVALSHA of one Lua script that
// reads Redis's clock (TIME) once and handles every counter of the request
// all or nothing: it checks every hard counter first and counts the
// request in all of them only if each admits it, so a request rejected by
// its rate limit uses none of its quota. The nodes' clocks never decide
// which window a request falls in. A counter is named by its key, its
// period and its window (fixed or rolling): a plan edited to another
// period or window starts a new counter, in Redis and on the nodes.
//
// Fixed windows are [start, end) aligned to the Unix epoch for second,
// minute and hour, and calendar periods in UTC for day, week (from Monday
// 00:00) and month (from the 1st): the script computes month boundaries
// from Redis's Unix time with Howard Hinnant's days-from-civil algorithms
// (tested against ratelimit.WindowStart's rules from 1900 to 2400). A
// fixed counter is a hash {s: window start, n: count, p: period} under
// prefix + LimitSpec.Key that expires a second after its window ends, so a
// fixed window is never over-admitted: Redis counts every unit before any
// node admits a request with it. A count recorded for another period (the
// plan was edited) does not count in this one's window; editing a plan's
// period and back within a window starts that window's count over (on
// nodes that do not hold a floor for it, see Lost counters). A rolling
// counter lives under prefix + Key + "|r|" + its period, apart from the
// fixed one and from rolling counters of other periods (whose buckets
// have another width).
//
// A rolling window of period P is the in-process limiter's conservative
// bucketed window: B buckets (Limiter.Buckets, default 60) of width
// w = ceil(P/B) microseconds, aligned to the epoch, kept as the fields of a
// hash that expires after P+w; a request is admitted while the buckets
// overlapping (t-P, t] — the oldest one whole — hold fewer than the
// limit. Bound: no interval of length P (in Redis time) ever holds more
// than Limit admissions, across the cluster; under sustained over-limit
// load the window admits about Limit·B/(B+1) per P (1.6% short with 60
// buckets), and one aligned period may fall short by up to one bucket's
// count. Every request on a rolling window is one Redis call: a lease
// would have to be counted from its grant until P after its last possible
// use, which at the request rates where leases matter costs more than the
// 2% under-admission budget.
//
// # Leases
//
// At high rates most requests on fixed windows and quotas need no round
// trip. When a request finds no leased unit, its script call also
// reserves a lease: the counter is incremented by
// g = min(wanted, max(1, remaining / (2·live nodes))) units of the
// current window, of which the request uses one and the node hands out
// the rest locally, until they are spent or the window ends (Redis's
// window end, turned into a deadline on the caller's clock measured from
// before the call, so a lease is never used after its window). Units
// still leased when the window ends are lost — leases can only
// under-admit, never over-admit. The wanted size covers LeaseFor
// (default 50 ms) of this node's recent request rate on the counter and is
// 1 below 1/LeaseFor requests per second, so low-rate limits are decided
// exactly, request by request; the cap by remaining budget and live nodes
// keeps one node from starving the others near the end of a window.
// Once Redis reports a hard counter used up, the node rejects it locally
// until the window ends (a fixed count never goes down). A request with
// several counters takes a leased unit from every counter or goes to
// Redis for all of them; requests waiting for a grant in flight on the
// same counter wait for it instead of calling Redis too.
//
// Crossed and Reached are reported by the request whose script call is
// granted the threshold's (or the limit's) unit of the window — each unit
// is numbered by the Redis count it was granted at, so each is reported
// once per period across the cluster as long as Redis keeps the count,
// even if the unit is leased and the lease lost (a node stopped). A
// threshold unit that is leased is reported a little before a request
// takes it; the limit's unit is always granted alone (a hard grant takes
// at most the remaining budget / (2 · live nodes), at least 1), so
// Reached comes with the request that uses the limit up.
//
// # Outages
//
// When a Redis call fails (refused, timed out), Take does not return an
// error (the gateway would answer 503): it applies each spec's OnError
// policy — local (the default: an in-process fixed window with
// Limit / LiveNodes, at least 1, per node), open (admit) or closed
// (reject, RetryAfter ClosedRetryAfter) — and leaves Redis alone for
// Limiter.Backoff; then one request tries Redis while the others keep
// applying the policy until it answers. Leases already held stay valid.
// An error reply that does not say Redis cannot serve (LOADING, READONLY,
// MASTERDOWN and the like) concerns that call alone: the request gets its
// specs' OnError policies, and the next request goes to Redis again.
// A request that has a closed spec is rejected; one with only open specs
// is admitted. The go-redis client should fail fast for this to be quick:
// MaxRetries -1, DialerRetries 1 and dial, read and write timeouts of a few
// hundred milliseconds. A call whose reply is lost may have been counted:
// that under-admits.
//
// # Lost counters
//
// A Redis restarted without persistence, or a replica promoted before it
// caught up, has lost counts. Each Limiter remembers, per fixed counter,
// the highest count Redis reported to it in the counter's current window,
// and every script call passes it along: a counter of that window that
// counts less is raised to it first (the script takes the higher of the
// stored count and the floor on every call). Counts in a window only
// grow, so a floor never counts a request that was not admitted. But a
// counter is only raised as far as the floors of the nodes that call:
// until a node that saw the newest count calls again, the others grant
// from what they saw. After Redis lost a count C, the window admits at
// most C − F beyond its limit, F the floor of the first node to call
// after the loss: what the cluster admitted after that node's last call,
// little when it called recently, up to a whole budget (F = 0) when it
// had not called in the window — never more than twice the limit in
// all. Rolling windows are not restored: they start over, at most one
// period's worth.
//
// # Reading usage
//
// Usage (portico.UsageReader) reads counters for the admin API's usage
// figures ("7,412 of 10,000 this month") in one read-only script call on
// Redis's clock, so every node reads the cluster's count. A fixed
// counter's count includes units leased to nodes and not yet used: it
// may read a few above the requests admitted, never below.
//
// # Time and clocks
//
// The caller's now is used only for lease deadlines, rate estimates, the
// backoff and the outage fallback; windows are Redis's. RoundTrips counts
// the Redis calls made, for tests, benchmarks and metrics.
package redislimit
