//! Callback statistics for audio hosts: block-time histogram, CPU load and deadline misses,
//! published by the audio thread without locks and read by the control thread as consistent
//! snapshots.
//!
//! # Real-time contract
//!
//! - [`callback_stats`] allocates the shared state once (control thread).
//! - [`StatsRecorder::record`] (audio thread) is wait-free: a fixed number of relaxed atomic
//!   loads and stores plus two sequence-number stores and one fence. It never allocates, frees,
//!   locks, blocks or panics (sums saturate). There is exactly one recorder, so the writer side
//!   needs no read-modify-write instructions.
//! - [`StatsReader::snapshot`] (control thread) copies the counters under a **seqlock**: it
//!   reads the sequence number, the counters, then the sequence number again, and retries if a
//!   record happened in between, so every snapshot is one the recorder actually published
//!   (the histogram always sums to the callback count, the totals belong to the same callbacks).
//!   It allocates the snapshot and may retry, so it is for the control thread only. A record
//!   takes well under a microsecond and happens once per period, so retries are rare.
//!   [`StatsReader::try_snapshot`] makes a single attempt.
//!
//! The loom model (`tests/loom_telemetry.rs`) checks that a reader racing the recorder only
//! ever sees published states, with the loom build's histogram cut to four buckets.
//!
//! Percentiles come from a log-linear histogram (16 buckets per power of two): a median or p99
//! is the upper bound of its bucket, capped at the exact maximum, so it overstates the true
//! value by at most 1/16 (6.25%). The maximum is exact.
//!
//! # Examples
//!
//! ```
//! use std::time::Instant;
//! use aether_telemetry::callback_stats;
//!
//! let (mut recorder, reader) = callback_stats();
//! let period_ns = 1_333_333; // 64 frames at 48 kHz
//! for _ in 0..100 {
//!     // In the audio callback:
//!     let started = Instant::now();
//!     let work: f32 = (0..64).map(|i| i as f32).sum();
//!     std::hint::black_box(work);
//!     recorder.record(started.elapsed().as_nanos() as u64, period_ns);
//! }
//! // On the control thread:
//! let stats = reader.snapshot();
//! assert_eq!(stats.callbacks(), 100);
//! assert!(stats.median_ns() <= stats.max_ns());
//! assert_eq!(stats.deadline_misses(), 0);
//! println!("{stats}");
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

mod histogram;
mod stats;
mod sync;

pub use stats::CallbackStats;

use histogram::{BUCKETS, bucket_of};
use sync::{Arc, AtomicU64, Ordering, fence, yield_now};

/// The counters both halves share. Written only by the [`StatsRecorder`].
#[derive(Debug)]
struct Shared {
    /// Even: the counters are stable. Odd: a record is being written.
    sequence: AtomicU64,
    callbacks: AtomicU64,
    deadline_misses: AtomicU64,
    max_ns: AtomicU64,
    busy_ns_total: AtomicU64,
    period_ns_total: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

/// Creates the two ends of a statistics channel: the recorder for the audio callback and a
/// reader for the control side. Allocates once.
pub fn callback_stats() -> (StatsRecorder, StatsReader) {
    let shared = Arc::new(Shared {
        sequence: AtomicU64::new(0),
        callbacks: AtomicU64::new(0),
        deadline_misses: AtomicU64::new(0),
        max_ns: AtomicU64::new(0),
        busy_ns_total: AtomicU64::new(0),
        period_ns_total: AtomicU64::new(0),
        buckets: core::array::from_fn(|_| AtomicU64::new(0)),
    });
    (
        StatsRecorder {
            shared: Arc::clone(&shared),
            sequence: 0,
        },
        StatsReader { shared },
    )
}

/// The audio-side end: records one entry per callback. `Send`, not `Clone` (a seqlock has one
/// writer). Dropping it frees nothing while a [`StatsReader`] lives; drop it off the callback.
#[derive(Debug)]
pub struct StatsRecorder {
    shared: Arc<Shared>,
    /// The sequence number last published (always even between records).
    sequence: u64,
}

impl StatsRecorder {
    /// Records one callback that was busy `busy_ns` nanoseconds out of a period of `period_ns`
    /// (the time the frames it produced last: `frames / sample_rate`). It counts as a deadline
    /// miss when `busy_ns > period_ns`.
    ///
    /// Wait-free, no allocation, no panic; totals saturate at `u64::MAX`.
    pub fn record(&mut self, busy_ns: u64, period_ns: u64) {
        let shared = &*self.shared;
        let odd = self.sequence.wrapping_add(1);
        shared.sequence.store(odd, Ordering::Relaxed);
        // Orders the odd sequence number before every counter store below: a reader that sees
        // any of them then sees a changed sequence number and retries.
        fence(Ordering::Release);

        add_relaxed(&shared.callbacks, 1);
        if busy_ns > period_ns {
            add_relaxed(&shared.deadline_misses, 1);
        }
        if busy_ns > shared.max_ns.load(Ordering::Relaxed) {
            shared.max_ns.store(busy_ns, Ordering::Relaxed);
        }
        add_relaxed(&shared.busy_ns_total, busy_ns);
        add_relaxed(&shared.period_ns_total, period_ns);
        if let Some(bucket) = shared.buckets.get(bucket_of(busy_ns)) {
            add_relaxed(bucket, 1);
        }

        self.sequence = odd.wrapping_add(1);
        shared.sequence.store(self.sequence, Ordering::Release);
    }
}

/// Adds to a counter only this thread writes: a load and a store, no locked instruction.
fn add_relaxed(counter: &AtomicU64, amount: u64) {
    let value = counter.load(Ordering::Relaxed).saturating_add(amount);
    counter.store(value, Ordering::Relaxed);
}

/// The control-side end: takes consistent snapshots. Cheap to clone, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct StatsReader {
    shared: Arc<Shared>,
}

impl StatsReader {
    /// A consistent copy of the statistics, retrying while the recorder is mid-record.
    /// Allocates; control thread only. Returns as soon as one attempt finds no record in
    /// progress (yielding between attempts), which the once-per-period recorder allows.
    pub fn snapshot(&self) -> CallbackStats {
        loop {
            if let Some(stats) = self.try_snapshot() {
                return stats;
            }
            yield_now();
        }
    }

    /// One attempt at a consistent copy: `None` when a record was in progress or completed
    /// while copying. Allocates; control thread only.
    pub fn try_snapshot(&self) -> Option<CallbackStats> {
        let shared = &*self.shared;
        let before = shared.sequence.load(Ordering::Acquire);
        if before % 2 == 1 {
            return None;
        }
        let callbacks = shared.callbacks.load(Ordering::Relaxed);
        let deadline_misses = shared.deadline_misses.load(Ordering::Relaxed);
        let max_ns = shared.max_ns.load(Ordering::Relaxed);
        let busy_ns_total = shared.busy_ns_total.load(Ordering::Relaxed);
        let period_ns_total = shared.period_ns_total.load(Ordering::Relaxed);
        let buckets: Vec<u64> = shared
            .buckets
            .iter()
            .map(|bucket| bucket.load(Ordering::Relaxed))
            .collect();
        // Pairs with the recorder's release fence: if any load above saw a store of a record
        // that started after `before`, the load below sees that record's odd sequence number.
        fence(Ordering::Acquire);
        let after = shared.sequence.load(Ordering::Relaxed);
        (before == after).then(|| {
            CallbackStats::from_parts(
                callbacks,
                deadline_misses,
                max_ns,
                busy_ns_total,
                period_ns_total,
                buckets,
            )
        })
    }
}
