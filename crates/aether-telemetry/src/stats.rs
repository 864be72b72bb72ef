//! A snapshot of callback statistics and what can be read off it.

use core::fmt;

use crate::histogram::bucket_upper_bound;

/// Statistics of the callbacks recorded up to one moment (a [`StatsReader`](crate::StatsReader)
/// snapshot), or over an interval ([`CallbackStats::since`]). Control-side value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallbackStats {
    callbacks: u64,
    deadline_misses: u64,
    max_ns: u64,
    busy_ns_total: u64,
    period_ns_total: u64,
    /// Callbacks per histogram bucket; sums to `callbacks`.
    buckets: Vec<u64>,
}

impl CallbackStats {
    pub(crate) fn from_parts(
        callbacks: u64,
        deadline_misses: u64,
        max_ns: u64,
        busy_ns_total: u64,
        period_ns_total: u64,
        buckets: Vec<u64>,
    ) -> Self {
        CallbackStats {
            callbacks,
            deadline_misses,
            max_ns,
            busy_ns_total,
            period_ns_total,
            buckets,
        }
    }

    /// Callbacks recorded.
    pub fn callbacks(&self) -> u64 {
        self.callbacks
    }

    /// Callbacks that were busy longer than their period.
    pub fn deadline_misses(&self) -> u64 {
        self.deadline_misses
    }

    /// The longest busy time recorded, exact, in nanoseconds (over the whole run, also for an
    /// interval from [`since`](Self::since)).
    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// Sum of the busy times, in nanoseconds.
    pub fn busy_ns_total(&self) -> u64 {
        self.busy_ns_total
    }

    /// Sum of the periods, in nanoseconds (the audio time the callbacks produced).
    pub fn period_ns_total(&self) -> u64 {
        self.period_ns_total
    }

    /// Mean period of a callback in nanoseconds, 0 when nothing was recorded.
    pub fn mean_period_ns(&self) -> u64 {
        self.period_ns_total
            .checked_div(self.callbacks)
            .unwrap_or_default()
    }

    /// Busy time over audio time: 0.25 means the callback used a quarter of its deadline on
    /// average. 0.0 when nothing was recorded.
    pub fn cpu_load(&self) -> f64 {
        if self.period_ns_total == 0 {
            0.0
        } else {
            self.busy_ns_total as f64 / self.period_ns_total as f64
        }
    }

    /// The busy time that `fraction` (0.0..=1.0, clamped; NaN counts as 0) of the callbacks did
    /// not exceed, in nanoseconds: the upper bound of the histogram bucket holding that rank,
    /// capped at [`max_ns`](Self::max_ns), so at most 1/16 above the true value. 0 when nothing
    /// was recorded.
    pub fn percentile_ns(&self, fraction: f64) -> u64 {
        if self.callbacks == 0 {
            return 0;
        }
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let rank = ((fraction * self.callbacks as f64).ceil() as u64).clamp(1, self.callbacks);
        let mut seen = 0u64;
        for (bucket, &count) in self.buckets.iter().enumerate() {
            seen = seen.saturating_add(count);
            if seen >= rank {
                return bucket_upper_bound(bucket).min(self.max_ns);
            }
        }
        self.max_ns
    }

    /// The median busy time in nanoseconds (see [`percentile_ns`](Self::percentile_ns)).
    pub fn median_ns(&self) -> u64 {
        self.percentile_ns(0.5)
    }

    /// The 99th-percentile busy time in nanoseconds (see [`percentile_ns`](Self::percentile_ns)).
    pub fn p99_ns(&self) -> u64 {
        self.percentile_ns(0.99)
    }

    /// The non-empty histogram buckets in ascending order, as (largest busy time the bucket
    /// holds in nanoseconds, callbacks in it). The counts sum to [`callbacks`](Self::callbacks).
    pub fn histogram(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .filter(|&(_, &count)| count > 0)
            .map(|(bucket, &count)| (bucket_upper_bound(bucket), count))
    }

    /// The callbacks recorded after `earlier` (an older snapshot of the same recorder): counts,
    /// totals and histogram are differences; the maximum stays the whole run's (a histogram
    /// cannot tell an interval's exact maximum; its percentiles are exact to the bucket).
    pub fn since(&self, earlier: &CallbackStats) -> CallbackStats {
        let buckets = self
            .buckets
            .iter()
            .enumerate()
            .map(|(bucket, &count)| {
                count.saturating_sub(earlier.buckets.get(bucket).copied().unwrap_or(0))
            })
            .collect();
        CallbackStats {
            callbacks: self.callbacks.saturating_sub(earlier.callbacks),
            deadline_misses: self.deadline_misses.saturating_sub(earlier.deadline_misses),
            max_ns: self.max_ns,
            busy_ns_total: self.busy_ns_total.saturating_sub(earlier.busy_ns_total),
            period_ns_total: self.period_ns_total.saturating_sub(earlier.period_ns_total),
            buckets,
        }
    }
}

impl fmt::Display for CallbackStats {
    /// One line, times in microseconds:
    /// `callbacks 750, cpu 3.1%, block median 40.1 us, p99 52.0 us, max 130.2 us (period 1333.3 us), deadline misses 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = |nanos: u64| nanos as f64 / 1_000.0;
        write!(
            f,
            "callbacks {}, cpu {:.1}%, block median {:.1} us, p99 {:.1} us, max {:.1} us \
             (period {:.1} us), deadline misses {}",
            self.callbacks,
            self.cpu_load() * 100.0,
            micros(self.median_ns()),
            micros(self.p99_ns()),
            micros(self.max_ns),
            micros(self.mean_period_ns()),
            self.deadline_misses
        )
    }
}
