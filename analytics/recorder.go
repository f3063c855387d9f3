package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-gw/portico"
)

// Defaults of the Config fields left zero.
const (
	DefaultFlushInterval        = time.Second
	DefaultBatchSize            = 5000
	DefaultMaxConcurrentBatches = 2
	DefaultBufferSize           = 100_000
	DefaultMaxSpoolBytes        = 1 << 30 // 1 GiB
	DefaultRetryInterval        = 2 * time.Second
	DefaultWriteTimeout         = 10 * time.Second
)

// Config configures a Recorder. Sink and SpoolDir are required; every
// other field has a default when zero. Negative numbers are invalid.
type Config struct {
	// Sink receives the batches: the analytics store. The Recorder
	// reuses a batch's memory once Write returns, so Write must not keep
	// the slice, or a pointer into it, after returning (copy what it
	// keeps).
	Sink portico.AnalyticsSink
	// SpoolDir is the node's data directory; the spool file (SpoolFile)
	// lives there. It is created if missing.
	SpoolDir string
	// FlushInterval is the longest a record waits in memory before its
	// batch is written, however small. Zero means DefaultFlushInterval.
	// SetLimits changes it, BatchSize and MaxConcurrentBatches at run time.
	FlushInterval time.Duration
	// BatchSize is the number of records that makes a batch be written at
	// once. Zero means DefaultBatchSize; it is capped at BufferSize.
	BatchSize int
	// MaxConcurrentBatches caps the writes to the sink in flight at once.
	// Zero means DefaultMaxConcurrentBatches. With 1, batches reach the
	// sink in the order they were recorded; with more, batches written
	// together may land in either order.
	MaxConcurrentBatches int
	// BufferSize caps the records held in memory: recorded and not yet
	// written to the sink or the spool. Past it Record drops and counts.
	// Zero means DefaultBufferSize.
	BufferSize int
	// MaxSpoolBytes caps the size of the spool file; a batch that would
	// take it past the cap is dropped and counted. Zero means
	// DefaultMaxSpoolBytes.
	MaxSpoolBytes int64
	// RetryInterval is how often the sink is probed, by replaying the
	// oldest spooled batch, while the spool holds batches. Zero means
	// DefaultRetryInterval.
	RetryInterval time.Duration
	// WriteTimeout bounds each Write to the sink; a write that runs out
	// of time counts as failed. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Logger receives sink failures and recoveries, spool problems and
	// the batches they cost; records dropped because the buffer is full
	// are only counted. Nil means no logging.
	Logger *slog.Logger
	// Now stamps spooled batches. Nil means time.Now.
	Now func() time.Time
}

// withDefaults checks c and fills in the defaults.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Sink == nil:
		return c, portico.FieldErrorf(portico.EInvalid, "sink", "an analytics sink is required")
	case c.SpoolDir == "":
		return c, portico.FieldErrorf(portico.EInvalid, "spool_dir", "a spool directory is required")
	case c.FlushInterval < 0:
		return c, portico.FieldErrorf(portico.EInvalid, "flush_interval", "flush interval must not be negative")
	case c.BatchSize < 0:
		return c, portico.FieldErrorf(portico.EInvalid, "batch_size", "batch size must not be negative")
	case c.MaxConcurrentBatches < 0:
		return c, portico.FieldErrorf(portico.EInvalid, "max_concurrent_batches", "max concurrent batches must not be negative")
	case c.BufferSize < 0:
		return c, portico.FieldErrorf(portico.EInvalid, "buffer_size", "buffer size must not be negative")
	case c.MaxSpoolBytes < 0:
		return c, portico.FieldErrorf(portico.EInvalid, "max_spool_bytes", "max spool bytes must not be negative")
	case c.RetryInterval < 0:
		return c, portico.FieldErrorf(portico.EInvalid, "retry_interval", "retry interval must not be negative")
	case c.WriteTimeout < 0:
		return c, portico.FieldErrorf(portico.EInvalid, "write_timeout", "write timeout must not be negative")
	}
	c.FlushInterval = cmp.Or(c.FlushInterval, DefaultFlushInterval)
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.MaxConcurrentBatches = cmp.Or(c.MaxConcurrentBatches, DefaultMaxConcurrentBatches)
	c.BufferSize = cmp.Or(c.BufferSize, DefaultBufferSize)
	c.MaxSpoolBytes = cmp.Or(c.MaxSpoolBytes, DefaultMaxSpoolBytes)
	c.RetryInterval = cmp.Or(c.RetryInterval, DefaultRetryInterval)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, DefaultWriteTimeout)
	c.BatchSize = min(c.BatchSize, c.BufferSize)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// Stats are a Recorder's counters. Counts are of records unless named
// otherwise; all but Queued, SpoolBytes, SpoolRecords and SinkUp only grow.
type Stats struct {
	Recorded     int64 // written to the sink, replayed ones included
	Spooled      int64 // written to the spool
	Replayed     int64 // written to the sink from the spool
	Dropped      int64 // lost: buffer full, Record after Close, spool full or unwritable, corrupt spool frames
	Queued       int64 // in memory now: recorded, not yet written to the sink or the spool
	SpoolBytes   int64 // size of the spool file now
	SpoolRecords int64 // in the spool now, waiting to be replayed
	SinkUp       bool  // batches go straight to the sink (false while the spool holds batches)
	Batches      int64 // batches written to the sink, replayed ones included
	Failures     int64 // failed writes to the sink, probes included
}

// sinkBox holds the current sink for atomic swaps.
type sinkBox struct{ s portico.AnalyticsSink }

// Recorder buffers analytics records in memory and writes them to an
// AnalyticsSink in batches, spooling them to a file while the sink fails
// (see the package doc). Its methods are safe for concurrent use. Its
// goroutines run from New until Close.
type Recorder struct {
	cfg  Config // FlushInterval, BatchSize and MaxConcurrentBatches are read under mu: SetLimits changes them
	log  *slog.Logger
	sink atomic.Pointer[sinkBox]

	// The in-memory buffer, under mu.
	mu     sync.Mutex
	cur    []portico.Record   // the batch being filled
	full   [][]portico.Record // full batches waiting for the dispatcher
	spares [][]portico.Record // empty batches of BatchSize capacity, made or recycled off the request path
	queued int                // records in cur, full and in batches not yet written or spooled
	closed bool

	kick    chan struct{} // a batch is full (capacity 1)
	limits  chan struct{} // SetLimits was called (capacity 1)
	stop    chan struct{} // closed by Close: flush everything and exit
	stopped chan struct{} // closed when the dispatcher has exited

	sem     slots // write slots: MaxConcurrentBatches
	writers sync.WaitGroup

	// The spool, and whether batches go straight to the sink, under
	// spoolMu. up is written only under spoolMu; it is false exactly
	// while the spool holds batches not yet replayed, so new batches
	// queue up behind them and order is kept.
	spoolMu sync.Mutex
	sp      *spool
	up      atomic.Bool
	full0   bool // spool-full warning given for this outage

	probeKick   chan struct{} // the spool got its first pending batch (capacity 1)
	sinkChanged chan struct{} // SetSink was called (capacity 1); may be stale, which costs one early probe
	proberDone  chan struct{}

	runCtx      context.Context // cancelled when Close's context is done: in-flight writes give up
	cancelRun   context.CancelFunc
	probeCtx    context.Context // cancelled at the start of Close
	cancelProbe context.CancelFunc

	closeOnce sync.Once
	closeErr  error

	recorded, spooled, replayed, dropped atomic.Int64
	batches, failures, lost              atomic.Int64
	spoolBytes, spoolRecords             atomic.Int64
}

var errNoSink = errors.New("analytics: no sink")

// New opens (or creates) the spool in cfg.SpoolDir and starts the
// Recorder's goroutines. A spool left by an earlier run is replayed in the
// background before any new batch reaches the sink. The caller must Close
// the Recorder.
func New(cfg Config) (*Recorder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("analytics: spool dir: %w", err)
	}
	sp, err := openSpool(cfg.SpoolDir, cfg.Logger)
	if err != nil {
		return nil, err
	}
	r := &Recorder{
		cfg:         cfg,
		log:         cfg.Logger,
		cur:         make([]portico.Record, 0, cfg.BatchSize),
		full:        make([][]portico.Record, 0, cfg.BufferSize/cfg.BatchSize+1),
		spares:      make([][]portico.Record, 0, cfg.BufferSize/cfg.BatchSize+1),
		kick:        make(chan struct{}, 1),
		limits:      make(chan struct{}, 1),
		stop:        make(chan struct{}),
		stopped:     make(chan struct{}),
		sp:          sp,
		probeKick:   make(chan struct{}, 1),
		sinkChanged: make(chan struct{}, 1),
		proberDone:  make(chan struct{}),
	}
	r.sem.resize(cfg.MaxConcurrentBatches)
	r.sink.Store(&sinkBox{cfg.Sink})
	r.runCtx, r.cancelRun = context.WithCancel(context.Background())
	r.probeCtx, r.cancelProbe = context.WithCancel(r.runCtx)
	r.up.Store(sp.pending == 0)
	r.spoolBytes.Store(sp.size)
	r.spoolRecords.Store(sp.records)
	if sp.pending > 0 {
		r.log.Info("analytics: replaying the spool left by an earlier run",
			"path", sp.path, "batches", sp.pending, "records", sp.records, "oldest", sp.oldest)
	}
	go r.dispatch()
	go r.probe()
	return r, nil
}

// Record copies rec into the in-memory buffer. It never blocks on I/O:
// when the buffer is full, or after Close, the record is dropped and
// counted in Stats.Dropped. rec may be reused when Record returns.
func (r *Recorder) Record(rec *portico.Record) {
	r.mu.Lock()
	if r.closed || r.queued >= r.cfg.BufferSize {
		r.mu.Unlock()
		r.dropped.Add(1)
		return
	}
	if r.cur == nil {
		// No spare was ready: allocate the whole batch at once rather
		// than grow it record by record.
		r.cur = make([]portico.Record, 0, r.cfg.BatchSize)
	}
	r.cur = append(r.cur, *rec)
	r.queued++
	if len(r.cur) >= r.cfg.BatchSize {
		r.full = append(r.full, r.cur)
		r.cur = nil
		if n := len(r.spares); n > 0 {
			r.cur, r.spares = r.spares[n-1], r.spares[:n-1]
		}
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	r.mu.Unlock()
}

// SetSink makes s the sink of the batches written from now on; writes in
// flight finish with the old one. s must not keep the batches it is
// given (see Config.Sink). While the spool holds batches the new
// sink is probed at once. A nil s fails every write, so batches go to the
// spool until a sink is set.
func (r *Recorder) SetSink(s portico.AnalyticsSink) {
	r.sink.Store(&sinkBox{s})
	select {
	case r.sinkChanged <- struct{}{}:
	default:
	}
}

// SetLimits changes FlushInterval, BatchSize and MaxConcurrentBatches
// (see Config) while the Recorder runs; zero means the default, as in
// Config, and negative values are refused with an EInvalid error naming
// the field ("flush_interval", "batch_size", "max_concurrent_batches"),
// changing nothing. No record is lost, nor reordered where one write slot
// keeps the order (see Config.MaxConcurrentBatches): records already
// queued stay in their batches, and when the batch being filled already
// holds the new BatchSize or more it is written whole at once. The
// interval runs anew from the call; batches go out in BatchSize from the
// next record on; a smaller MaxConcurrentBatches lets writes in flight
// finish, and no new one starts until fewer than the new limit are.
func (r *Recorder) SetLimits(flush time.Duration, batch, concurrency int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cfg
	c.FlushInterval, c.BatchSize, c.MaxConcurrentBatches = flush, batch, concurrency
	c, err := c.withDefaults()
	if err != nil {
		return err
	}
	r.cfg.FlushInterval, r.cfg.MaxConcurrentBatches = c.FlushInterval, c.MaxConcurrentBatches
	if c.BatchSize != r.cfg.BatchSize {
		r.cfg.BatchSize = c.BatchSize
		// Spares of the old size are dropped; the dispatcher provisions
		// new ones, and recycle keeps only batches of the new size.
		clear(r.spares)
		r.spares = make([][]portico.Record, 0, r.cfg.BufferSize/r.cfg.BatchSize+1)
		if len(r.cur) >= r.cfg.BatchSize {
			r.full = append(r.full, r.cur)
			r.cur = nil
		} else if len(r.cur) == 0 {
			r.cur = nil
		}
	}
	r.sem.resize(c.MaxConcurrentBatches)
	// The dispatcher resets its ticker, writes the full batches and
	// provisions spares.
	select {
	case r.limits <- struct{}{}:
	default:
	}
	return nil
}

// slots is a counting semaphore whose size can change: the write slots.
// Only the dispatcher acquires.
type slots struct {
	mu        sync.Mutex
	cond      sync.Cond
	used, max int
}

// acquire waits for a free slot and takes it.
func (s *slots) acquire() {
	s.mu.Lock()
	for s.used >= s.max {
		s.cond.Wait()
	}
	s.used++
	s.mu.Unlock()
}

// release gives a slot back.
func (s *slots) release() {
	s.mu.Lock()
	s.used--
	s.mu.Unlock()
	s.cond.Broadcast()
}

// resize sets the number of slots; slots taken beyond it stay taken until
// released.
func (s *slots) resize(n int) {
	s.mu.Lock()
	if s.cond.L == nil {
		s.cond.L = &s.mu
	}
	s.max = n
	s.mu.Unlock()
	s.cond.Broadcast()
}

// Stats returns the Recorder's counters.
func (r *Recorder) Stats() Stats {
	r.mu.Lock()
	queued := r.queued
	r.mu.Unlock()
	return Stats{
		Recorded:     r.recorded.Load(),
		Spooled:      r.spooled.Load(),
		Replayed:     r.replayed.Load(),
		Dropped:      r.dropped.Load(),
		Queued:       int64(queued),
		SpoolBytes:   r.spoolBytes.Load(),
		SpoolRecords: r.spoolRecords.Load(),
		SinkUp:       r.up.Load(),
		Batches:      r.batches.Load(),
		Failures:     r.failures.Load(),
	}
}

// Close stops accepting records, writes every record in memory to the
// sink (or, while the sink is down, to the spool) and waits for the
// writes in flight. When ctx is done first, the writes in flight are
// cancelled and what is left goes to the spool, so nothing accepted is
// lost; a sink that ignores cancellation delays Close by up to
// WriteTimeout. Spooled batches stay for the next New on the same
// directory. Close returns an error only when records could not be
// written to the spool either (spool full or unwritable). Calls after the
// first wait for it and return its result.
func (r *Recorder) Close(ctx context.Context) error {
	r.closeOnce.Do(func() { r.closeErr = r.close(ctx) })
	return r.closeErr
}

func (r *Recorder) close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	lost := r.lost.Load()
	stop := context.AfterFunc(ctx, r.cancelRun)
	defer stop()
	defer r.cancelRun()

	r.cancelProbe() // what the spool holds waits for the next run
	<-r.proberDone
	close(r.stop)
	<-r.stopped

	r.spoolMu.Lock()
	err := r.sp.close()
	r.spoolMu.Unlock()
	if err != nil {
		err = fmt.Errorf("analytics: close spool: %w", err)
	}
	if n := r.lost.Load() - lost; n > 0 {
		err = errors.Join(fmt.Errorf("analytics: %d records lost on close: the sink failed and the spool could not take them", n), err)
	}
	return err
}

// dispatch is the dispatcher goroutine: it takes full batches when kicked,
// the partial one too every FlushInterval, and everything when Close
// stops it, and hands each batch to a writer or to the spool.
func (r *Recorder) dispatch() {
	defer close(r.stopped)
	tick := time.NewTicker(r.flushInterval())
	defer tick.Stop()
	var out [][]portico.Record
	last := make(chan struct{}) // settled when the previous batch is
	close(last)
	for {
		partial, stopping := false, false
		select {
		case <-r.kick:
		case <-tick.C:
			partial = true
		case <-r.limits:
			tick.Reset(r.flushInterval())
		case <-r.stop:
			partial, stopping = true, true
		}
		out = r.take(out[:0], partial)
		for i, b := range out {
			t := turn{prev: last, done: make(chan struct{})}
			last = t.done
			r.send(b, t)
			out[i] = nil
		}
		if stopping {
			r.writers.Wait()
			return
		}
		r.provision(partial)
	}
}

// flushInterval returns the current FlushInterval.
func (r *Recorder) flushInterval() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg.FlushInterval
}

// take appends the full batches to out, and the batch being filled when
// partial is set.
func (r *Recorder) take(out [][]portico.Record, partial bool) [][]portico.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	out = append(out, r.full...)
	clear(r.full)
	r.full = r.full[:0]
	if partial && len(r.cur) > 0 {
		out = append(out, r.cur)
		r.cur = nil
		if n := len(r.spares); n > 0 {
			r.cur, r.spares = r.spares[n-1], r.spares[:n-1]
		}
	}
	return out
}

// provision keeps spare batches ready for Record, allocating them here
// rather than on the request path: at least one, and after a burst no
// more than needed, dropping one extra spare each interval.
func (r *Recorder) provision(tick bool) {
	r.mu.Lock()
	n := len(r.spares)
	if tick && n > r.cfg.MaxConcurrentBatches+1 {
		r.spares[n-1] = nil
		r.spares = r.spares[:n-1]
	}
	size := r.cfg.BatchSize
	r.mu.Unlock()
	if n > 0 {
		return
	}
	s := make([]portico.Record, 0, size)
	r.mu.Lock()
	if cap(s) == r.cfg.BatchSize {
		r.spares = append(r.spares, s)
	}
	r.mu.Unlock()
}

// release forgets n records that were written, spooled or dropped.
func (r *Recorder) release(n int) {
	r.mu.Lock()
	r.queued -= n
	r.mu.Unlock()
}

// direct reports whether a new batch should go straight to the sink.
func (r *Recorder) direct() bool { return r.up.Load() && r.runCtx.Err() == nil }

// turn orders the settling of batches (written, or spooled, or dropped):
// a batch settles after prev is closed and then closes done. Batches are
// spooled only as they settle, so the spool holds them in the order they
// were recorded, however many writes were in flight when the sink failed.
type turn struct{ prev, done chan struct{} }

// send hands batch b to a writer while the sink is up, else to the spool.
// Every batch takes a write slot first, spooled ones too, and a failed
// write gives its slot back only once spooled, so that with one slot
// batches reach the sink in the order they were recorded. The mode can
// change while send encodes a frame for the spool; that sends it round
// once more, and the third round spools whatever the mode.
func (r *Recorder) send(b []portico.Record, t turn) {
	r.sem.acquire()
	for round := 0; round < 3; round++ {
		if round < 2 && r.direct() {
			r.writers.Go(func() { r.write(b, t) })
			return
		}
		<-t.prev
		if r.spool(b, nil, round == 2) {
			close(t.done)
			r.sem.release()
			r.recycle(b)
			return
		}
	}
}

// write is a writer: it writes b to the sink and, when that fails, spools
// it in its turn.
func (r *Recorder) write(b []portico.Record, t turn) {
	err := r.writeSink(r.runCtx, b)
	if err == nil {
		r.sem.release()
		r.recorded.Add(int64(len(b)))
		r.batches.Add(1)
		r.release(len(b))
		r.recycle(b)
		<-t.prev
		close(t.done)
		return
	}
	if r.runCtx.Err() == nil {
		r.failures.Add(1)
	}
	if rejected(err) {
		// The store refused the batch itself: writing it again would fail
		// again and hold up every batch behind it.
		<-t.prev
		r.log.Error("analytics: the store rejected a batch; dropped", "records", len(b), "err", err)
		r.dropped.Add(int64(len(b)))
		r.release(len(b))
		close(t.done)
		r.sem.release()
		r.recycle(b)
		return
	}
	<-t.prev
	r.spool(b, err, true)
	close(t.done)
	r.sem.release()
	r.recycle(b)
}

// recycle keeps the memory of batch b, written to the sink or the spool,
// for Record to fill again: without it, at high rates, allocating batches and
// collecting them costs more than everything else Record does.
func (r *Recorder) recycle(b []portico.Record) {
	clear(b) // drop the strings it holds
	r.mu.Lock()
	if cap(b) == r.cfg.BatchSize && len(r.spares) < cap(r.spares) {
		r.spares = append(r.spares, b[:0])
	}
	r.mu.Unlock()
}

// writeSink writes b to the current sink within WriteTimeout.
func (r *Recorder) writeSink(ctx context.Context, b []portico.Record) error {
	s := r.sink.Load().s
	if s == nil {
		return errNoSink
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.WriteTimeout)
	defer cancel()
	return s.Write(ctx, b)
}

// spool appends b to the spool. cause is the sink's error when a write of
// b just failed. Unless force is set, it returns false without spooling
// when the sink turns out to be up (the replayer caught up meanwhile).
// When the spool cannot take b, b is dropped and counted.
func (r *Recorder) spool(b []portico.Record, cause error, force bool) bool {
	n := len(b)
	now := r.cfg.Now()
	frame, err := encodeFrame(b, now)
	r.spoolMu.Lock()
	if !force && r.direct() {
		r.spoolMu.Unlock()
		return false
	}
	wasUp := r.up.Load()
	first := r.sp.pending == 0
	if err == nil {
		err = r.sp.append(frame, n, now, r.cfg.MaxSpoolBytes)
	}
	warnFull := errors.Is(err, errSpoolFull) && !r.full0
	if warnFull {
		r.full0 = true
	}
	if r.sp.pending > 0 {
		r.up.Store(false)
	}
	r.spoolBytes.Store(r.sp.size)
	r.spoolRecords.Store(r.sp.records)
	r.spoolMu.Unlock()

	if err == nil {
		r.spooled.Add(int64(n))
		if first {
			select {
			case r.probeKick <- struct{}{}:
			default:
			}
		}
	} else {
		r.dropped.Add(int64(n))
		r.lost.Add(int64(n))
	}
	switch {
	case cause != nil && wasUp && r.runCtx.Err() == nil:
		r.log.Warn("analytics: sink write failed; spooling batches until it is back",
			"records", n, "err", cause)
	case warnFull:
		r.log.Warn("analytics: spool full; dropping batches until the sink is back",
			"path", r.sp.path, "max_bytes", r.cfg.MaxSpoolBytes)
	case err != nil && !errors.Is(err, errSpoolFull):
		r.log.Error("analytics: spool write failed; batch dropped", "records", n, "err", err)
	}
	r.release(n)
	return true
}

// probe is the prober goroutine. While the spool holds batches it replays
// them: at once on start (a spool left by an earlier run) and when SetSink
// is called, else every RetryInterval.
func (r *Recorder) probe() {
	defer close(r.proberDone)
	ctx := r.probeCtx
	var wait time.Duration
	for {
		if !r.pending() {
			select {
			case <-r.probeKick:
				wait = r.cfg.RetryInterval // a write just failed: give the sink time
			case <-ctx.Done():
				return
			}
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.sinkChanged:
			case <-ctx.Done():
			}
			t.Stop()
			if ctx.Err() != nil {
				return
			}
		}
		wait = 0
		if !r.replay(ctx) {
			wait = r.cfg.RetryInterval
		}
	}
}

// pending reports whether the spool holds batches to replay.
func (r *Recorder) pending() bool {
	r.spoolMu.Lock()
	defer r.spoolMu.Unlock()
	return r.sp.pending > 0
}

// replay writes the spooled batches to the sink, oldest first, one at a
// time, marking each replayed once written. When it reaches the end of the
// spool it empties it and turns direct writes back on. It returns false
// when a write fails (the batch stays in the spool) or ctx is done.
func (r *Recorder) replay(ctx context.Context) bool {
	var batches, records int64
	for ctx.Err() == nil {
		r.spoolMu.Lock()
		off, end := r.sp.next, r.sp.size
		if off >= end {
			err := r.sp.reset()
			r.up.Store(true)
			r.full0 = false
			r.spoolBytes.Store(r.sp.size)
			r.spoolRecords.Store(0)
			r.spoolMu.Unlock()
			if err != nil {
				r.log.Error("analytics: empty the spool", "err", err)
			}
			if batches > 0 {
				r.log.Info("analytics: sink is back; spool replayed", "batches", batches, "records", records)
			}
			return true
		}
		r.spoolMu.Unlock()

		fr, err := r.sp.read(off, end)
		switch {
		case errors.Is(err, errCorrupt):
			r.log.Error("analytics: corrupt spool frame skipped",
				"path", r.sp.path, "offset", off, "records", fr.count, "err", err)
			r.dropped.Add(int64(fr.count))
			r.finish(fr, fr.state == statePending)
			continue
		case err != nil:
			r.log.Error("analytics: spool unreadable; dropping what it holds",
				"path", r.sp.path, "offset", off, "err", err)
			r.spoolMu.Lock()
			r.dropped.Add(r.sp.records)
			r.sp.pending, r.sp.records, r.sp.next = 0, 0, r.sp.size
			r.spoolMu.Unlock()
			continue
		case fr.state != statePending:
			r.finish(fr, false)
			continue
		}
		if err := r.writeSink(ctx, fr.records); err != nil {
			if ctx.Err() == nil {
				r.failures.Add(1)
				r.log.Debug("analytics: sink still down", "err", err)
			}
			if rejected(err) {
				r.log.Error("analytics: the store rejected a spooled batch; dropped", "records", fr.count, "err", err)
				r.dropped.Add(int64(fr.count))
				r.finish(fr, true)
				continue
			}
			return false
		}
		n := int64(len(fr.records))
		r.recorded.Add(n)
		r.replayed.Add(n)
		r.batches.Add(1)
		batches++
		records += n
		r.finish(fr, true)
	}
	return false
}

// rejected reports whether a sink's error says the batch itself is bad
// (EInvalid), as opposed to the store being unreachable.
func rejected(err error) bool { return portico.ErrorCodeOf(err) == portico.EInvalid }

// finish marks fr replayed (or skipped) and moves replay past it.
func (r *Recorder) finish(fr frame, pending bool) {
	if fr.state == statePending {
		if err := r.sp.markReplayed(fr.off); err != nil {
			r.log.Error("analytics: mark spool frame replayed; a restart may write it again",
				"offset", fr.off, "err", err)
		}
	}
	r.spoolMu.Lock()
	r.sp.advance(fr, pending)
	r.spoolRecords.Store(r.sp.records)
	r.spoolMu.Unlock()
}
