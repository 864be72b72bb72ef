//! The audio side of the soak: runs the engine for one host buffer, times it, and checks the
//! output. Everything here is real-time safe.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aether_scheduler::AudioProcessor;
use aether_telemetry::StatsRecorder;

use crate::cpu_clock::{current_cpu, monotonic_ns, thread_cpu_ns, thread_usage};

/// Records the [`MissLog`] holds; later slow blocks are only counted.
pub const MISS_LOG_CAPACITY: usize = 32;

/// One block the callback logged: everything it knows about a block that took longer than the
/// period by the wall clock (or, for a manual run, than a lower debug threshold).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MissRecord {
    /// Which callback (counting from 0).
    pub callback: u64,
    /// `CLOCK_MONOTONIC` just before the engine ran, in nanoseconds.
    pub start_ns: u64,
    /// `CLOCK_MONOTONIC` just after it returned.
    pub end_ns: u64,
    /// The period of that block, in nanoseconds.
    pub period_ns: u64,
    /// Thread CPU time over the block, in nanoseconds (`None` without a thread CPU clock).
    pub cpu_ns: Option<u64>,
    /// The CPU the thread ran on just before the block (`None` if unknown).
    pub cpu_at_start: Option<u32>,
    /// The CPU it ran on just after.
    pub cpu_at_end: Option<u32>,
    /// Page faults the thread took around the block.
    pub page_faults: u64,
    /// Voluntary context switches around the block.
    pub voluntary_switches: u64,
    /// Involuntary context switches (preemptions) around the block.
    pub involuntary_switches: u64,
}

impl MissRecord {
    /// Wall-clock length of the block.
    pub fn wall_ns(&self) -> u64 {
        self.end_ns.saturating_sub(self.start_ns)
    }

    /// Longer than the period by the wall clock (a logged block may be shorter when a debug
    /// threshold below the period is set).
    pub fn late(&self) -> bool {
        self.wall_ns() > self.period_ns
    }

    /// Counted as an engine deadline miss (on CPU): late, and the thread's CPU time over the
    /// period (or unknown). The same rule as [`OutputCounts::misses_on_cpu`].
    pub fn on_cpu(&self) -> bool {
        self.late() && self.cpu_ns.is_none_or(|cpu| cpu > self.period_ns)
    }
}

/// `u64::MAX` stands for "unknown" in a slot.
const UNKNOWN: u64 = u64::MAX;

/// One record as relaxed atomics, written once by the audio thread before the count that
/// publishes it.
#[derive(Debug, Default)]
struct MissSlot {
    callback: AtomicU64,
    start_ns: AtomicU64,
    end_ns: AtomicU64,
    period_ns: AtomicU64,
    cpu_ns: AtomicU64,
    cpu_at_start: AtomicU64,
    cpu_at_end: AtomicU64,
    page_faults: AtomicU64,
    voluntary_switches: AtomicU64,
    involuntary_switches: AtomicU64,
}

/// A fixed-capacity, write-once log of slow blocks, filled by one writer (the audio thread) and
/// read by any thread.
///
/// The writer fills slot `n` with relaxed stores and then publishes it by storing `n + 1` in the
/// count with `Release`; a reader loads the count with `Acquire` and reads only slots below it,
/// which are never written again. When the log is full, further blocks only add to
/// [`unlogged`](Self::unlogged). Writing is wait-free: a dozen stores, no loop, no allocation.
#[derive(Debug, Default)]
pub struct MissLog {
    slots: [MissSlot; MISS_LOG_CAPACITY],
    published: AtomicU64,
    unlogged: AtomicU64,
}

impl MissLog {
    /// Appends `record`, or counts it when the log is full. Single writer: only the audio
    /// thread calls this.
    pub fn push(&self, record: &MissRecord) {
        let index = self.published.load(Ordering::Relaxed);
        let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|index| self.slots.get(index))
        else {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let optional = |value: Option<u64>| value.unwrap_or(UNKNOWN);
        slot.callback.store(record.callback, Ordering::Relaxed);
        slot.start_ns.store(record.start_ns, Ordering::Relaxed);
        slot.end_ns.store(record.end_ns, Ordering::Relaxed);
        slot.period_ns.store(record.period_ns, Ordering::Relaxed);
        slot.cpu_ns
            .store(optional(record.cpu_ns), Ordering::Relaxed);
        slot.cpu_at_start.store(
            optional(record.cpu_at_start.map(u64::from)),
            Ordering::Relaxed,
        );
        slot.cpu_at_end.store(
            optional(record.cpu_at_end.map(u64::from)),
            Ordering::Relaxed,
        );
        slot.page_faults
            .store(record.page_faults, Ordering::Relaxed);
        slot.voluntary_switches
            .store(record.voluntary_switches, Ordering::Relaxed);
        slot.involuntary_switches
            .store(record.involuntary_switches, Ordering::Relaxed);
        self.published.store(index + 1, Ordering::Release);
    }

    /// Records published so far (at most [`MISS_LOG_CAPACITY`]).
    pub fn len(&self) -> usize {
        usize::try_from(self.published.load(Ordering::Acquire))
            .map_or(0, |n| n.min(MISS_LOG_CAPACITY))
    }

    /// `true` before the first record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slow blocks that found the log full.
    pub fn unlogged(&self) -> u64 {
        self.unlogged.load(Ordering::Relaxed)
    }

    /// Record `index`, if published.
    pub fn get(&self, index: usize) -> Option<MissRecord> {
        if index >= self.len() {
            return None;
        }
        let slot = &self.slots[index];
        let optional = |value: u64| (value != UNKNOWN).then_some(value);
        let cpu = |value: u64| optional(value).and_then(|cpu| u32::try_from(cpu).ok());
        Some(MissRecord {
            callback: slot.callback.load(Ordering::Relaxed),
            start_ns: slot.start_ns.load(Ordering::Relaxed),
            end_ns: slot.end_ns.load(Ordering::Relaxed),
            period_ns: slot.period_ns.load(Ordering::Relaxed),
            cpu_ns: optional(slot.cpu_ns.load(Ordering::Relaxed)),
            cpu_at_start: cpu(slot.cpu_at_start.load(Ordering::Relaxed)),
            cpu_at_end: cpu(slot.cpu_at_end.load(Ordering::Relaxed)),
            page_faults: slot.page_faults.load(Ordering::Relaxed),
            voluntary_switches: slot.voluntary_switches.load(Ordering::Relaxed),
            involuntary_switches: slot.involuntary_switches.load(Ordering::Relaxed),
        })
    }

    /// Every published record, oldest first.
    pub fn records(&self) -> Vec<MissRecord> {
        (0..self.len())
            .filter_map(|index| self.get(index))
            .collect()
    }
}

/// Counters the callback publishes (relaxed atomic adds and stores: wait-free) and the control
/// side reads.
#[derive(Debug, Default)]
pub struct AudioCounters {
    callbacks: AtomicU64,
    frames: AtomicU64,
    alloc_violations: AtomicU64,
    non_finite_samples: AtomicU64,
    silent_blocks: AtomicU64,
    sounding_blocks: AtomicU64,
    max_jump_within_bits: AtomicU32,
    max_jump_boundary_bits: AtomicU32,
    peak_bits: AtomicU32,
    slowest_ns: AtomicU64,
    slowest_at: AtomicU64,
    misses_on_cpu: AtomicU64,
    misses_off_cpu: AtomicU64,
    max_cpu_ns: AtomicU64,
    page_faults: AtomicU64,
    blocks_with_page_faults: AtomicU64,
    miss_log: MissLog,
}

/// A copy of [`AudioCounters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OutputCounts {
    /// Callbacks run.
    pub callbacks: u64,
    /// Frames produced.
    pub frames: u64,
    /// Allocations plus frees inside the callback (counted by the global allocator).
    pub alloc_violations: u64,
    /// Output samples that were NaN or infinite.
    pub non_finite_samples: u64,
    /// Callbacks whose whole buffer was exactly zero after the output had started sounding.
    pub silent_blocks: u64,
    /// Callbacks with at least one non-zero sample.
    pub sounding_blocks: u64,
    /// Largest `|x[n] - x[n-1]|` between two samples of the same callback.
    pub max_jump_within: f32,
    /// Largest `|x[0] - previous callback's last sample|`.
    pub max_jump_boundary: f32,
    /// Largest `|x|`.
    pub peak: f32,
    /// The longest engine time of one callback, in nanoseconds.
    pub slowest_ns: u64,
    /// Which callback (counting from 0) took that long.
    pub slowest_at: u64,
    /// Blocks over the period whose thread also used more CPU time than the period: the
    /// engine's own work was too slow.
    pub misses_on_cpu: u64,
    /// Blocks over the period whose thread used less CPU time than the period: it was not
    /// running for part of the block (preempted, or the machine stalled it).
    pub misses_off_cpu: u64,
    /// The most CPU time one block used, in nanoseconds (0 without a thread CPU clock).
    pub max_cpu_ns: u64,
    /// Page faults the audio thread took inside the engine (0 where they cannot be counted).
    pub page_faults: u64,
    /// Blocks in which the engine took at least one page fault.
    pub blocks_with_page_faults: u64,
}

impl AudioCounters {
    /// Adds allocator calls counted around a callback.
    pub fn add_alloc_violations(&self, count: u64) {
        if count > 0 {
            self.alloc_violations.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// The log of slow blocks.
    pub fn miss_log(&self) -> &MissLog {
        &self.miss_log
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> OutputCounts {
        OutputCounts {
            callbacks: self.callbacks.load(Ordering::Relaxed),
            frames: self.frames.load(Ordering::Relaxed),
            alloc_violations: self.alloc_violations.load(Ordering::Relaxed),
            non_finite_samples: self.non_finite_samples.load(Ordering::Relaxed),
            silent_blocks: self.silent_blocks.load(Ordering::Relaxed),
            sounding_blocks: self.sounding_blocks.load(Ordering::Relaxed),
            max_jump_within: f32::from_bits(self.max_jump_within_bits.load(Ordering::Relaxed)),
            max_jump_boundary: f32::from_bits(self.max_jump_boundary_bits.load(Ordering::Relaxed)),
            peak: f32::from_bits(self.peak_bits.load(Ordering::Relaxed)),
            slowest_ns: self.slowest_ns.load(Ordering::Relaxed),
            slowest_at: self.slowest_at.load(Ordering::Relaxed),
            misses_on_cpu: self.misses_on_cpu.load(Ordering::Relaxed),
            misses_off_cpu: self.misses_off_cpu.load(Ordering::Relaxed),
            max_cpu_ns: self.max_cpu_ns.load(Ordering::Relaxed),
            page_faults: self.page_faults.load(Ordering::Relaxed),
            blocks_with_page_faults: self.blocks_with_page_faults.load(Ordering::Relaxed),
        }
    }
}

/// What one output buffer looked like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BufferCheck {
    /// NaN or infinite samples.
    pub non_finite: u64,
    /// Every sample is exactly zero (an empty buffer is not silent).
    pub silent: bool,
    /// Largest step between neighbouring samples of this buffer (finite samples only).
    pub max_jump_within: f32,
    /// Step from `previous` to the first sample (0 without a previous sample).
    pub jump_at_boundary: f32,
    /// Largest finite `|x|`.
    pub peak: f32,
}

/// Inspects one buffer; `previous` is the last sample of the buffer before it. O(len), no
/// allocation.
pub fn check_buffer(buffer: &[f32], previous: Option<f32>) -> BufferCheck {
    let mut check = BufferCheck {
        non_finite: 0,
        silent: !buffer.is_empty(),
        max_jump_within: 0.0,
        jump_at_boundary: 0.0,
        peak: 0.0,
    };
    let mut last: Option<f32> = None;
    for &sample in buffer {
        if !sample.is_finite() {
            check.non_finite += 1;
            check.silent = false;
            last = None;
            continue;
        }
        if sample != 0.0 {
            check.silent = false;
        }
        check.peak = check.peak.max(sample.abs());
        if let Some(last) = last {
            check.max_jump_within = check.max_jump_within.max((sample - last).abs());
        }
        last = Some(sample);
    }
    if let (Some(previous), Some(&first)) = (previous, buffer.first())
        && previous.is_finite()
        && first.is_finite()
    {
        check.jump_at_boundary = (first - previous).abs();
    }
    check
}

/// The engine's audio half as a host callback: renders, records the time it took against the
/// period, and checks the output.
///
/// # Real-time contract
///
/// [`process`](Self::process) never allocates, frees, locks or blocks: it runs
/// [`AudioProcessor::process`], two `CLOCK_MONOTONIC`, two thread-CPU-clock, two `sched_getcpu`
/// and two `getrusage` reads, one [`StatsRecorder::record`], a pass over the buffer with relaxed
/// atomic updates and, for a block over the period, one [`MissLog::push`]. Dropping a `SoakCallback` drops the engine's nodes:
/// do it off the audio thread (after the host has stopped calling it).
pub struct SoakCallback {
    processor: AudioProcessor,
    recorder: StatsRecorder,
    counters: Arc<AudioCounters>,
    sample_rate: f64,
    previous: Option<f32>,
    sounding: bool,
    log_over_ns: Option<u64>,
}

impl SoakCallback {
    /// Wraps the audio half of an engine; `counters` is shared with the control side.
    pub fn new(
        processor: AudioProcessor,
        recorder: StatsRecorder,
        counters: Arc<AudioCounters>,
        sample_rate: f64,
    ) -> Self {
        SoakCallback {
            processor,
            recorder,
            counters,
            sample_rate,
            previous: None,
            sounding: false,
            log_over_ns: None,
        }
    }

    /// Debug aid for a manual run: also log blocks (in the [`MissLog`] only) whose wall-clock
    /// time exceeds `threshold_ns` when that is below the period, to exercise the forensics
    /// without a real miss. Counters and pass/fail are unaffected. `None` (the default) logs
    /// only blocks over the period.
    pub fn set_log_threshold(&mut self, threshold_ns: Option<u64>) {
        self.log_over_ns = threshold_ns;
    }

    /// The shared counters.
    pub fn counters(&self) -> &Arc<AudioCounters> {
        &self.counters
    }

    /// Renders `blocks` blocks into a scratch buffer without timing or checking them: applies
    /// the initial patch and touches every node's memory once before the host starts calling
    /// [`process`](Self::process), as a host would before it starts its stream.
    ///
    /// Control thread, before the callback is handed to the host.
    pub fn warm_up(&mut self, blocks: usize) {
        let mut scratch = [0.0f32; aether_graph::BUFFER_SIZE];
        for _ in 0..blocks {
            self.processor.process(&mut scratch, 1);
        }
        self.previous = scratch.last().copied();
    }

    /// Renders `out` (mono), records the engine's time against the period `out.len()` frames
    /// last at the sample rate, and checks the samples.
    pub fn process(&mut self, out: &mut [f32]) {
        let period_ns = if self.sample_rate > 0.0 {
            (out.len() as f64 * 1.0e9 / self.sample_rate) as u64
        } else {
            0
        };
        let usage_before = thread_usage();
        let cpu_started = thread_cpu_ns();
        let cpu_at_start = current_cpu();
        let started = monotonic_ns();
        self.processor.process(out, 1);
        let ended = monotonic_ns();
        let cpu_at_end = current_cpu();
        let cpu_ns = match (cpu_started, thread_cpu_ns()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        let usage = match (usage_before, thread_usage()) {
            (Some(before), Some(after)) => crate::cpu_clock::ThreadUsage {
                page_faults: after.page_faults.saturating_sub(before.page_faults),
                voluntary_switches: after
                    .voluntary_switches
                    .saturating_sub(before.voluntary_switches),
                involuntary_switches: after
                    .involuntary_switches
                    .saturating_sub(before.involuntary_switches),
            },
            _ => crate::cpu_clock::ThreadUsage::default(),
        };
        let busy_ns = ended.saturating_sub(started);
        if usage.page_faults > 0 {
            self.counters
                .page_faults
                .fetch_add(usage.page_faults, Ordering::Relaxed);
            self.counters
                .blocks_with_page_faults
                .fetch_add(1, Ordering::Relaxed);
        }
        self.recorder.record(busy_ns, period_ns);
        if let Some(cpu_ns) = cpu_ns {
            self.counters
                .max_cpu_ns
                .fetch_max(cpu_ns, Ordering::Relaxed);
        }
        if busy_ns > period_ns {
            let counter = match cpu_ns {
                Some(cpu_ns) if cpu_ns <= period_ns => &self.counters.misses_off_cpu,
                _ => &self.counters.misses_on_cpu,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }

        let check = check_buffer(out, self.previous);
        self.previous = out.last().copied();
        let counters = &*self.counters;
        let index = counters.callbacks.fetch_add(1, Ordering::Relaxed);
        let log_over_ns = self.log_over_ns.map_or(period_ns, |ns| ns.min(period_ns));
        if busy_ns > log_over_ns {
            counters.miss_log.push(&MissRecord {
                callback: index,
                start_ns: started,
                end_ns: ended,
                period_ns,
                cpu_ns,
                cpu_at_start,
                cpu_at_end,
                page_faults: usage.page_faults,
                voluntary_switches: usage.voluntary_switches,
                involuntary_switches: usage.involuntary_switches,
            });
        }
        if busy_ns > counters.slowest_ns.load(Ordering::Relaxed) {
            counters.slowest_ns.store(busy_ns, Ordering::Relaxed);
            counters.slowest_at.store(index, Ordering::Relaxed);
        }
        counters
            .frames
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        if check.non_finite > 0 {
            counters
                .non_finite_samples
                .fetch_add(check.non_finite, Ordering::Relaxed);
        }
        if check.silent {
            if self.sounding {
                counters.silent_blocks.fetch_add(1, Ordering::Relaxed);
            }
        } else if !out.is_empty() {
            self.sounding = true;
            counters.sounding_blocks.fetch_add(1, Ordering::Relaxed);
        }
        // Non-negative floats order like their bit patterns, so fetch_max on bits is a float max.
        counters
            .max_jump_within_bits
            .fetch_max(check.max_jump_within.to_bits(), Ordering::Relaxed);
        counters
            .max_jump_boundary_bits
            .fetch_max(check.jump_at_boundary.to_bits(), Ordering::Relaxed);
        counters
            .peak_bits
            .fetch_max(check.peak.to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_silence_jumps_and_non_finite_samples() {
        let silent = check_buffer(&[0.0; 64], Some(0.5));
        assert!(silent.silent);
        assert_eq!(silent.jump_at_boundary, 0.5);
        assert_eq!(silent.peak, 0.0);

        let ramp: Vec<f32> = (0..8).map(|i| i as f32 * 0.1).collect();
        let check = check_buffer(&ramp, None);
        assert!(!check.silent);
        assert!((check.max_jump_within - 0.1).abs() < 1e-6);
        assert_eq!(check.jump_at_boundary, 0.0);
        assert!((check.peak - 0.7).abs() < 1e-6);

        let broken = check_buffer(&[0.0, f32::NAN, 0.0, f32::INFINITY], Some(1.0));
        assert_eq!(broken.non_finite, 2);
        assert!(!broken.silent);
        assert_eq!(broken.jump_at_boundary, 1.0);
        assert_eq!(broken.max_jump_within, 0.0);

        assert!(!check_buffer(&[], None).silent);
    }

    fn record(callback: u64) -> MissRecord {
        MissRecord {
            callback,
            start_ns: 1_000 + callback,
            end_ns: 3_000 + callback,
            period_ns: 1_333,
            cpu_ns: if callback.is_multiple_of(2) {
                Some(1_900)
            } else {
                None
            },
            cpu_at_start: Some(1),
            cpu_at_end: if callback.is_multiple_of(3) {
                None
            } else {
                Some(0)
            },
            page_faults: callback,
            voluntary_switches: 2,
            involuntary_switches: 3,
        }
    }

    #[test]
    fn the_miss_log_keeps_its_first_records_and_counts_the_rest() {
        let log = MissLog::default();
        assert!(log.is_empty());
        assert_eq!(log.get(0), None);
        for callback in 0..MISS_LOG_CAPACITY as u64 + 5 {
            log.push(&record(callback));
        }
        assert_eq!(log.len(), MISS_LOG_CAPACITY);
        assert_eq!(log.unlogged(), 5);
        let records = log.records();
        assert_eq!(records.len(), MISS_LOG_CAPACITY);
        for (index, logged) in records.iter().enumerate() {
            assert_eq!(*logged, record(index as u64), "slot {index}");
        }
        assert_eq!(log.get(MISS_LOG_CAPACITY), None);
    }

    #[test]
    fn a_record_classifies_like_the_counters() {
        let mut late = record(0);
        assert_eq!(late.wall_ns(), 2_000);
        assert!(late.late() && late.on_cpu());
        late.cpu_ns = Some(500);
        assert!(late.late() && !late.on_cpu());
        late.cpu_ns = None;
        assert!(late.on_cpu());
        late.end_ns = late.start_ns + 1_000;
        assert!(!late.late() && !late.on_cpu());
    }

    /// Every block over the period is logged with the callback's index; a debug threshold
    /// logs faster blocks too, without touching the counters.
    #[test]
    fn the_callback_logs_blocks_over_its_threshold() {
        let (_run, mut callback) = crate::run::SoakRun::new(40, 3, 48_000).expect("run");
        let mut out = [0.0f32; 64];
        // A sample rate so high that every block is over its (1 ns) period.
        callback.sample_rate = 64.0e9;
        callback.process(&mut out);
        callback.process(&mut out);
        let counters = callback.counters().snapshot();
        let log = callback.counters().miss_log();
        assert_eq!(log.len(), 2);
        assert_eq!(
            counters.misses_on_cpu + counters.misses_off_cpu,
            2,
            "{counters:?}"
        );
        let records = log.records();
        assert_eq!(records[0].callback, 0);
        assert_eq!(records[1].callback, 1);
        assert!(records[0].end_ns > records[0].start_ns);
        assert!(records[1].start_ns >= records[0].end_ns);
        assert_eq!(records[0].period_ns, 1);

        // A normal rate with a threshold of 0 ns: every block is logged, none counted late.
        let (_run, mut callback) = crate::run::SoakRun::new(40, 3, 48_000).expect("run");
        callback.set_log_threshold(Some(0));
        callback.process(&mut out);
        let log = callback.counters().miss_log();
        assert_eq!(log.len(), 1);
        assert_eq!(log.records()[0].period_ns, 1_333_333);
        // Without a threshold nothing under the period is logged.
        callback.set_log_threshold(None);
        let before = callback.counters().snapshot();
        callback.process(&mut out);
        let after = callback.counters().snapshot();
        let late = after.misses_on_cpu + after.misses_off_cpu
            - (before.misses_on_cpu + before.misses_off_cpu);
        assert_eq!(callback.counters().miss_log().len() as u64, 1 + late);
    }
}
