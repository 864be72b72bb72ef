//! Wake-ahead pacing (`ExecutorConfig::wake_ahead`): the audio thread estimates the period
//! between parallel blocks and publishes when the next one should start; workers about to park
//! use it to wake themselves shortly before.
//!
//! The audio thread's side ([`PeriodEstimator`]) is plain data owned by the `Executor` (only
//! `run`, which takes `&mut self`, touches it); the one value workers read, the predicted start
//! of the next block, is a single atomic word in [`Pacing`]. A stale or wrong prediction only
//! makes a worker spin when no block comes (bounded by the window) or sleep until the block
//! wakes it: pacing never decides whether a block's work is found, only when a worker looks.

use std::time::{Duration, Instant};

use crate::sync::{AtomicU64, Ordering};

/// Gaps between block starts longer than this are not a period (the host paused, or the
/// executor ran only now and then): ignored.
const MAX_PERIOD_NS: u64 = 1_000_000_000;
/// The estimate follows each accepted gap by 1/`SMOOTHING` of the difference (an exponential
/// moving average over about this many blocks).
const SMOOTHING: u64 = 8;
/// After this many gaps in a row above 1.5 times the estimate (a real change of period, for
/// instance a larger host buffer, rather than one late or skipped block), the estimate jumps to
/// the latest gap.
const RELOCK_AFTER: u32 = 8;

/// What a worker that found no work should do (see [`Pacing::rest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rest {
    /// Park until a block (or shutdown) wakes it: no pacing, no prediction, or it has passed.
    Park,
    /// Park, but wake by itself after this long (the predicted start minus the lead).
    ParkFor(Duration),
    /// Inside the window around the predicted start: keep polling until this time
    /// (nanoseconds on [`Pacing::now_ns`]'s clock).
    SpinUntil(u64),
}

/// Shared pacing state: the configuration and the published prediction.
pub(crate) struct Pacing {
    /// The lead in nanoseconds; 0: pacing is off.
    lead_ns: u64,
    /// The clock's origin (`now_ns` counts from here, plus one so 0 never is a time).
    epoch: Instant,
    /// Predicted start of the next block on the `now_ns` clock; 0: no prediction.
    next_start_ns: AtomicU64,
}

impl Pacing {
    /// Pacing with `lead` (`None` or zero: off). Control thread.
    pub(crate) fn new(lead: Option<Duration>) -> Self {
        let lead_ns = lead.map_or(0, |lead| {
            u64::try_from(lead.as_nanos())
                .unwrap_or(u64::MAX)
                .min(MAX_PERIOD_NS)
        });
        Pacing {
            lead_ns,
            epoch: Instant::now(),
            next_start_ns: AtomicU64::new(0),
        }
    }

    /// Whether pacing is on.
    pub(crate) fn enabled(&self) -> bool {
        self.lead_ns != 0
    }

    /// Monotonic nanoseconds since the executor was built, at least 1. One clock read (a vDSO
    /// call on Linux, no system call); `Instant` subtraction saturates, so no panic.
    pub(crate) fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// Publishes the predicted start of the next block (0: none). Audio thread. Relaxed: the
    /// word is self-contained (no other data is published with it) and any value a worker
    /// reads, old or new, is safe (see the module docs).
    pub(crate) fn publish(&self, next_start_ns: u64) {
        self.next_start_ns.store(next_start_ns, Ordering::Relaxed);
    }

    /// What a worker that found no work should do now. Worker threads. Reads the clock only
    /// when pacing is on and a prediction exists.
    pub(crate) fn rest(&self) -> Rest {
        if self.lead_ns == 0 || self.next_start_ns.load(Ordering::Relaxed) == 0 {
            return Rest::Park;
        }
        self.rest_at(self.now_ns())
    }

    /// [`rest`](Self::rest) at time `now` (`now_ns` clock).
    fn rest_at(&self, now: u64) -> Rest {
        if self.lead_ns == 0 {
            return Rest::Park;
        }
        let next = self.next_start_ns.load(Ordering::Relaxed);
        if next == 0 {
            return Rest::Park;
        }
        let wake_at = next.saturating_sub(self.lead_ns);
        // The window is symmetric around the prediction: `lead` before, `lead` after.
        let spin_end = next.saturating_add(self.lead_ns);
        if now < wake_at {
            Rest::ParkFor(Duration::from_nanos(wake_at - now))
        } else if now < spin_end {
            Rest::SpinUntil(spin_end)
        } else {
            Rest::Park
        }
    }
}

/// The audio thread's estimate of the period between block starts. No atomics: owned by the
/// `Executor`, updated in `run` only.
#[derive(Debug, Default)]
pub(crate) struct PeriodEstimator {
    /// Start of the previous block (`now_ns` clock); 0: none yet.
    last_start_ns: u64,
    /// The estimated period; 0: none yet.
    period_ns: u64,
    /// Consecutive gaps rejected as too long.
    long_gaps: u32,
}

impl PeriodEstimator {
    /// Records a block starting at `now_ns` and returns the predicted start of the next block
    /// (0: no estimate yet). O(1), no panic (all arithmetic saturates or is bounded).
    pub(crate) fn block_started(&mut self, now_ns: u64) -> u64 {
        let previous = core::mem::replace(&mut self.last_start_ns, now_ns);
        let gap = now_ns.saturating_sub(previous);
        if previous != 0 && gap != 0 && gap <= MAX_PERIOD_NS {
            if self.period_ns == 0 {
                self.period_ns = gap;
            } else if gap > self.period_ns.saturating_add(self.period_ns / 2) {
                // A late or skipped block, or a new, longer period.
                self.long_gaps += 1;
                if self.long_gaps >= RELOCK_AFTER {
                    self.period_ns = gap;
                    self.long_gaps = 0;
                }
            } else {
                self.long_gaps = 0;
                // Both terms are at most MAX_PERIOD_NS: no overflow.
                self.period_ns = self.period_ns - self.period_ns / SMOOTHING + gap / SMOOTHING;
            }
        }
        if self.period_ns == 0 {
            0
        } else {
            now_ns.saturating_add(self.period_ns)
        }
    }

    /// The current estimate in nanoseconds (0: none). For tests.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn period_ns(&self) -> u64 {
        self.period_ns
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn no_prediction_until_two_blocks() {
        let mut estimator = PeriodEstimator::default();
        assert_eq!(estimator.block_started(1_000), 0);
        assert_eq!(estimator.block_started(2_334_000), 2_334_000 + 2_333_000);
        assert_eq!(estimator.period_ns(), 2_333_000);
    }

    #[test]
    fn steady_period_is_tracked_and_outliers_ignored() {
        let mut estimator = PeriodEstimator::default();
        let mut t = 1;
        for _ in 0..50 {
            estimator.block_started(t);
            t += 1_333_000;
        }
        assert_eq!(estimator.period_ns(), 1_333_000);
        // One skipped block (a gap of two periods) and a pause of seconds: ignored.
        t += 1_333_000;
        estimator.block_started(t);
        t += 5_000_000_000;
        assert_eq!(estimator.block_started(t), t + 1_333_000);
        assert_eq!(estimator.period_ns(), 1_333_000);
        // Jitter is averaged: a gap 80 µs short moves the estimate by 10 µs.
        t += 1_253_000;
        estimator.block_started(t);
        assert_eq!(estimator.period_ns(), 1_323_000);
    }

    #[test]
    fn a_longer_period_is_adopted_after_a_run_of_long_gaps() {
        let mut estimator = PeriodEstimator::default();
        let mut t = 1;
        for _ in 0..10 {
            estimator.block_started(t);
            t += 1_000_000;
        }
        assert_eq!(estimator.period_ns(), 1_000_000);
        for _ in 1..RELOCK_AFTER {
            t += 3_000_000; // gaps of 4 ms from here on
            estimator.block_started(t);
            t += 1_000_000;
        }
        assert_eq!(
            estimator.period_ns(),
            1_000_000,
            "one gap short of relocking"
        );
        t += 3_000_000;
        estimator.block_started(t);
        assert_eq!(estimator.period_ns(), 4_000_000);
        t += 4_000_000;
        // A shorter period is followed by the average directly.
        for _ in 0..200 {
            estimator.block_started(t);
            t += 2_000_000;
        }
        assert!(estimator.period_ns().abs_diff(2_000_000) < 1_000);
    }

    #[test]
    fn rest_follows_the_window_around_the_prediction() {
        let off = Pacing::new(None);
        off.publish(5_000_000);
        assert_eq!(off.rest(), Rest::Park);
        assert_eq!(off.rest_at(1_000), Rest::Park);

        let pacing = Pacing::new(Some(Duration::from_micros(100)));
        assert_eq!(pacing.rest(), Rest::Park, "no prediction yet");
        pacing.publish(5_000_000);
        // Before the window: sleep until a lead before the prediction.
        assert_eq!(
            pacing.rest_at(1_000_000),
            Rest::ParkFor(Duration::from_nanos(3_900_000))
        );
        // Inside the window (a lead either side of the prediction): spin until its end.
        for now in [4_900_000, 5_000_000, 5_099_999] {
            assert_eq!(pacing.rest_at(now), Rest::SpinUntil(5_100_000), "at {now}");
        }
        // Passed: park without timeout.
        assert_eq!(pacing.rest_at(5_100_000), Rest::Park);
        assert_eq!(pacing.rest_at(u64::MAX), Rest::Park);
    }
}
