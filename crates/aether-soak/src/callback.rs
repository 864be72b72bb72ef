//! The audio side of the soak: runs the engine for one host buffer, times it, and checks the
//! output. Everything here is real-time safe.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use aether_scheduler::AudioProcessor;
use aether_telemetry::StatsRecorder;

use crate::cpu_clock::{thread_cpu_ns, thread_page_faults};

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
/// [`AudioProcessor::process`], two wall-clock, two thread-CPU-clock and two `getrusage` reads, one
/// [`StatsRecorder::record`] and a pass over the buffer with relaxed atomic updates. Dropping a `SoakCallback` drops the engine's nodes:
/// do it off the audio thread (after the host has stopped calling it).
pub struct SoakCallback {
    processor: AudioProcessor,
    recorder: StatsRecorder,
    counters: Arc<AudioCounters>,
    sample_rate: f64,
    previous: Option<f32>,
    sounding: bool,
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
        }
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
        let faults_before = thread_page_faults();
        let cpu_started = thread_cpu_ns();
        let started = Instant::now();
        self.processor.process(out, 1);
        let busy_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let cpu_ns = match (cpu_started, thread_cpu_ns()) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        if let (Some(before), Some(after)) = (faults_before, thread_page_faults())
            && after > before
        {
            self.counters
                .page_faults
                .fetch_add(after - before, Ordering::Relaxed);
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
}
