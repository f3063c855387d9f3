// Package analytics records the analytics of every gateway response
// without slowing it down: a Recorder holds records in a bounded buffer in
// memory, writes them to a portico.AnalyticsSink (the analytics store) in
// batches, and spools the batches to a file in the node's data directory
// while the sink is down, replaying them, in order, when it is back.
//
// # Moving parts
//
//   - Record (the request path) copies the record into the batch being
//     filled, under a mutex: no channel, no I/O, and no allocation but
//     when no empty batch is ready (see below). When the batch reaches
//     BatchSize it joins the full batches and the dispatcher is woken.
//     When BufferSize records are already in memory (waiting, or being
//     written), or after Close, the record is dropped and counted (not
//     logged): Record never waits for the sink or the disk.
//   - The dispatcher goroutine takes the full batches when woken, the
//     partial one every FlushInterval, and everything on Close. Each batch
//     takes one of MaxConcurrentBatches write slots, then goes to a writer
//     goroutine while the sink is up, or to the spool while it is not.
//   - A writer writes its batch to the sink within WriteTimeout. When the
//     write fails, the batch is appended to the spool and from then on
//     every new batch goes to the spool too, behind it.
//   - The spool, SpoolFile in SpoolDir, is append-only: one frame per
//     batch, each a header (magic, length, CRC-32C, record count, time,
//     state) and the batch as a gob stream, written with a single write
//     call and fsynced. It is bounded by MaxSpoolBytes; past it, batches
//     are dropped and counted.
//   - The prober goroutine, while the spool holds batches, replays the
//     oldest one every RetryInterval (at once after SetSink, and at once
//     on New for a spool left by an earlier run). When that succeeds it
//     replays the rest, one batch after the other, marking each frame
//     replayed (a one-byte write, fsynced) once the sink took it. When it
//     reaches the end of the spool, under the same lock that appends, it
//     empties the file and batches go straight to the sink again.
//   - The memory of a batch that was written or spooled is filled again by
//     Record, so a busy Recorder allocates nothing in the steady state;
//     this is why a sink must not keep a batch after Write returns.
//
// # Order
//
// Batches settle (are written, spooled or dropped) in the order they were
// recorded, so the spool holds them in that order and replays them in
// that order before any newer batch reaches the sink. With
// MaxConcurrentBatches 1 the sink sees every record in the order Record
// was called; with more, batches written at the same time may land in
// either order (records carry their time).
//
// # Durability: what a crash can lose
//
//   - Records still in memory: up to BufferSize records recorded but not
//     yet written to the sink or the spool (at most FlushInterval old
//     while the sink keeps up). Close, on SIGTERM, writes or spools all of
//     them, so only a crash (kill -9, power loss) loses these.
//   - Nothing that was spooled: each spooled batch is fsynced before its
//     records count as spooled, one fsync per batch. On a 2-core VM that
//     is about 1 ms for a small batch and a few ms for a batch of 5,000
//     (0.9 MB), next to 10-15 ms to encode it; at the defaults that is a
//     few fsyncs a second, and only while the sink is down, so fsyncing
//     per interval instead would save little and widen what a crash
//     loses. A crash in the middle of a write leaves a torn last frame,
//     which New detects (length or checksum), logs and cuts off; the
//     frames before it are replayed. A corrupt frame in the middle of the
//     spool is skipped, logged and counted as dropped.
//   - No duplicates on the happy path: a replayed frame is marked replayed
//     (fsynced) before the next one is read, and a frame that the sink
//     failed to take stays pending, whole. Records are written twice only
//     when a write failed from the Recorder's point of view after the
//     sink had stored them (a timeout after the insert, say) or when the
//     process died between a successful replay write and its mark: that
//     is, delivery is at least once in those failure cases, exactly once
//     otherwise. Sinks that must not see duplicates deduplicate on
//     RequestID.
//
// Stats counts what happened to every record: Recorded (written to the
// sink, replayed ones included), Spooled, Replayed, Dropped, and Queued
// in memory now. For a Recorder that started with an empty spool, once
// its spool is replayed and its buffer empty, Recorded + Dropped equals
// the records offered to Record.
package analytics
