//! The audio side of `aether play`: the engine call, timed and allocation-checked, in any
//! sample format; and the control side's view of it.
//!
//! [`PlaybackCallback`] is the only value that lives on the audio thread. Its render methods
//! call [`AudioProcessor::process`] inside [`assert_no_alloc()`], record the callback's busy time
//! with a [`StatsRecorder`] (wait-free) and add any allocation seen to a relaxed atomic counter.
//! [`PlaybackMonitor`] reads all of it from the control thread without locks.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aether_scheduler::{AudioProcessor, EngineStats};
use aether_telemetry::{CallbackStats, StatsReader, StatsRecorder, callback_stats};
use assert_no_alloc::{assert_no_alloc, violation_count};

/// Largest number of frames [`PlaybackCallback::new`] pre-allocates a conversion buffer for;
/// larger host buffers are converted in chunks of this size.
pub const MAX_CONVERSION_FRAMES: usize = 16_384;

/// Largest channel count [`PlaybackCallback::new`] accepts.
pub const MAX_CHANNELS: usize = 64;

/// A sample type a host may ask for, converted from the engine's `f32` output.
///
/// Conversions saturate: values outside `[-1, 1]` are clipped, never wrapped. They are plain
/// arithmetic (no allocation, no branches that can panic), so they are real-time safe.
pub trait OutputSample: Copy + Send + 'static {
    /// Converts one engine sample.
    fn from_engine(sample: f32) -> Self;
}

impl OutputSample for f32 {
    #[inline]
    fn from_engine(sample: f32) -> Self {
        sample
    }
}

impl OutputSample for f64 {
    #[inline]
    fn from_engine(sample: f32) -> Self {
        f64::from(sample)
    }
}

/// Implements [`OutputSample`] for a signed integer type: `sample * MAX`, saturating.
macro_rules! signed_output_sample {
    ($($int:ty),*) => {$(
        impl OutputSample for $int {
            #[inline]
            fn from_engine(sample: f32) -> Self {
                // `as` from f64 saturates and maps NaN to 0.
                (f64::from(sample.clamp(-1.0, 1.0)) * <$int>::MAX as f64) as $int
            }
        }
    )*};
}

/// Implements [`OutputSample`] for an unsigned integer type: offset binary, saturating.
macro_rules! unsigned_output_sample {
    ($($uint:ty),*) => {$(
        impl OutputSample for $uint {
            #[inline]
            fn from_engine(sample: f32) -> Self {
                let half = (<$uint>::MAX / 2) as f64;
                // In [1, MAX]; `as` from f64 saturates and maps NaN to 0.
                (f64::from(sample.clamp(-1.0, 1.0)) * half + half + 1.0) as $uint
            }
        }
    )*};
}

signed_output_sample!(i8, i16, i32, i64);
unsigned_output_sample!(u8, u16, u32, u64);

/// Why a [`PlaybackCallback`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum CallbackError {
    /// The stream has no channels, or more than [`MAX_CHANNELS`].
    #[error("{channels} output channels: a stream needs 1 to {MAX_CHANNELS}")]
    Channels {
        /// The channel count asked for.
        channels: usize,
    },
    /// The sample rate is not a positive finite number.
    #[error("{sample_rate} Hz is not a usable sample rate")]
    SampleRate {
        /// The rate asked for.
        sample_rate: f32,
    },
}

/// The audio callback of a playback stream: owns the [`AudioProcessor`], times every call and
/// counts allocations on the audio path.
///
/// # Real-time contract
///
/// [`render_f32`](Self::render_f32) and [`render`](Self::render) never allocate, free, lock,
/// block, print or panic, for any buffer length: they run the engine (itself bounded per
/// 64-sample block), convert through a buffer allocated by [`new`](Self::new), one bounded
/// chunk at a time, read the clock twice, and do one wait-free
/// [`StatsRecorder::record`] and at most one relaxed atomic add. Building and dropping the
/// callback allocate and free: do both on the control thread (drop the stream that owns it
/// after it has stopped).
pub struct PlaybackCallback {
    processor: AudioProcessor,
    recorder: StatsRecorder,
    allocations: Arc<AtomicU64>,
    /// Conversion buffer for non-`f32` hosts: a whole number of frames, never resized.
    scratch: Box<[f32]>,
    channels: usize,
    nanos_per_frame: f64,
}

impl fmt::Debug for PlaybackCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlaybackCallback")
            .field("channels", &self.channels)
            .field("scratch_frames", &(self.scratch.len() / self.channels))
            .finish_non_exhaustive()
    }
}

impl PlaybackCallback {
    /// Wraps `processor` for a stream of `channels` interleaved channels whose callbacks are
    /// expected to ask for at most `max_frames` frames (the conversion buffer's size, capped at
    /// [`MAX_CONVERSION_FRAMES`]; larger requests are served in chunks). Returns the callback
    /// for the audio thread and its monitor for the control thread. Allocates; control thread.
    pub fn new(
        processor: AudioProcessor,
        channels: usize,
        max_frames: usize,
    ) -> Result<(Self, PlaybackMonitor), CallbackError> {
        if channels == 0 || channels > MAX_CHANNELS {
            return Err(CallbackError::Channels { channels });
        }
        let sample_rate = processor.sample_rate();
        if !(sample_rate.is_finite() && sample_rate > 0.0) {
            return Err(CallbackError::SampleRate { sample_rate });
        }
        let frames = max_frames.clamp(1, MAX_CONVERSION_FRAMES);
        let (recorder, reader) = callback_stats();
        let allocations = Arc::new(AtomicU64::new(0));
        let callback = PlaybackCallback {
            processor,
            recorder,
            allocations: Arc::clone(&allocations),
            scratch: vec![0.0; frames * channels].into_boxed_slice(),
            channels,
            nanos_per_frame: 1e9 / f64::from(sample_rate),
        };
        let monitor = PlaybackMonitor {
            reader,
            allocations,
            sample_rate,
        };
        Ok((callback, monitor))
    }

    /// Fills an interleaved `f32` host buffer (the engine's own format, no conversion).
    /// Real-time safe; see the type's contract.
    pub fn render_f32(&mut self, out: &mut [f32]) {
        let started = Instant::now();
        let before = violation_count();
        let processor = &mut self.processor;
        let channels = self.channels;
        assert_no_alloc(|| processor.process(out, channels));
        self.finish(started, before, out.len());
    }

    /// Fills an interleaved host buffer of any [`OutputSample`] type, rendering into the
    /// pre-allocated conversion buffer one chunk at a time. Real-time safe; see the type's
    /// contract.
    pub fn render<S: OutputSample>(&mut self, out: &mut [S]) {
        let started = Instant::now();
        let before = violation_count();
        let processor = &mut self.processor;
        let channels = self.channels;
        let scratch = &mut self.scratch;
        assert_no_alloc(|| {
            // `scratch` holds a whole number of frames, so every chunk but the last does too.
            for chunk in out.chunks_mut(scratch.len()) {
                let Some(engine) = scratch.get_mut(..chunk.len()) else {
                    continue;
                };
                processor.process(engine, channels);
                for (sample, &value) in chunk.iter_mut().zip(engine.iter()) {
                    *sample = S::from_engine(value);
                }
            }
        });
        self.finish(started, before, out.len());
    }

    /// Records the callback's busy time against the period its `samples` cover, and any
    /// allocation the engine call made.
    #[inline]
    fn finish(&mut self, started: Instant, violations_before: u32, samples: usize) {
        let violations = violation_count().wrapping_sub(violations_before);
        if violations > 0 {
            self.allocations
                .fetch_add(u64::from(violations), Ordering::Relaxed);
        }
        let frames = samples / self.channels;
        // Float to integer `as` saturates: no overflow for any buffer length.
        let period_ns = (frames as f64 * self.nanos_per_frame) as u64;
        let busy_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.recorder.record(busy_ns, period_ns);
    }

    /// The stream's channel count.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames the conversion buffer holds.
    pub fn conversion_frames(&self) -> usize {
        self.scratch.len() / self.channels
    }

    /// Takes the engine back (for example once the stream has stopped).
    pub fn into_processor(self) -> AudioProcessor {
        self.processor
    }
}

/// The control side's view of a [`PlaybackCallback`]: its block-time statistics and its
/// allocation count, read without locks.
///
/// # Real-time contract
///
/// Control thread only: snapshots allocate and may retry (see [`StatsReader::snapshot`]).
/// Reading never blocks or slows the audio thread.
#[derive(Debug, Clone)]
pub struct PlaybackMonitor {
    reader: StatsReader,
    allocations: Arc<AtomicU64>,
    sample_rate: f32,
}

impl PlaybackMonitor {
    /// Block-time statistics of every callback so far.
    pub fn callback_stats(&self) -> CallbackStats {
        self.reader.snapshot()
    }

    /// Allocations and frees counted inside the callback's engine call so far (must stay 0).
    pub fn allocations(&self) -> u64 {
        self.allocations.load(Ordering::Relaxed)
    }

    /// The engine's sample rate.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// Everything measured so far, with the engine's own counters and the console's.
    pub fn report(&self, engine: EngineStats, edits: EditCounts) -> PlaybackReport {
        PlaybackReport {
            callbacks: self.callback_stats(),
            engine,
            allocations: self.allocations(),
            edits,
        }
    }
}

/// Console commands that succeeded and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EditCounts {
    /// Commands answered with `ok`.
    pub succeeded: u64,
    /// Commands answered with `error:`.
    pub failed: u64,
}

/// What a playback session measured: callback timing, engine counters, allocations on the
/// audio path and console commands.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybackReport {
    /// Block-time statistics of the audio callback.
    pub callbacks: CallbackStats,
    /// The engine's counters (blocks, non-finite samples, commands applied).
    pub engine: EngineStats,
    /// Allocations and frees inside the callback's engine call.
    pub allocations: u64,
    /// Console commands.
    pub edits: EditCounts,
}

impl PlaybackReport {
    /// The report on one line (the console's `stats` answer).
    pub fn one_line(&self) -> String {
        let stats = &self.callbacks;
        let us = |ns: u64| ns as f64 / 1_000.0;
        format!(
            "callbacks {}, cpu {:.1}%, block median {:.1} us, p99 {:.1} us, max {:.1} us \
             (period {:.1} us), deadline misses {}, non-finite {}, commands applied {}, \
             allocations {}",
            stats.callbacks(),
            100.0 * stats.cpu_load(),
            us(stats.median_ns()),
            us(stats.p99_ns()),
            us(stats.max_ns()),
            us(stats.mean_period_ns()),
            stats.deadline_misses(),
            self.engine.non_finite_samples,
            self.engine.commands_applied,
            self.allocations
        )
    }
}

impl fmt::Display for PlaybackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stats = &self.callbacks;
        let us = |ns: u64| ns as f64 / 1_000.0;
        let period = us(stats.mean_period_ns());
        let share = |ns: u64| {
            if period > 0.0 {
                100.0 * us(ns) / period
            } else {
                0.0
            }
        };
        writeln!(f, "callbacks:        {}", stats.callbacks())?;
        writeln!(
            f,
            "cpu load:         {:.2}% of the callback period",
            100.0 * stats.cpu_load()
        )?;
        writeln!(
            f,
            "block time:       median {:.1} us, p99 {:.1} us, max {:.1} us (period {:.1} us; max = {:.1}% of it)",
            us(stats.median_ns()),
            us(stats.p99_ns()),
            us(stats.max_ns()),
            period,
            share(stats.max_ns())
        )?;
        writeln!(f, "deadline misses:  {}", stats.deadline_misses())?;
        writeln!(f, "engine blocks:    {}", self.engine.blocks)?;
        writeln!(f, "non-finite:       {}", self.engine.non_finite_samples)?;
        writeln!(
            f,
            "commands applied: {} by the audio side ({} parameter changes refused)",
            self.engine.commands_applied, self.engine.param_changes_refused
        )?;
        writeln!(
            f,
            "console:          {} commands ok, {} errors",
            self.edits.succeeded, self.edits.failed
        )?;
        write!(
            f,
            "allocations:      {} (in the audio callback)",
            self.allocations
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aether_scheduler::EngineConfig;

    #[test]
    fn integer_conversions_saturate_and_keep_zero_centred() {
        assert_eq!(i16::from_engine(0.0), 0);
        assert_eq!(i16::from_engine(1.0), i16::MAX);
        assert_eq!(i16::from_engine(-1.0), -i16::MAX);
        assert_eq!(i16::from_engine(7.5), i16::MAX);
        assert_eq!(i16::from_engine(-7.5), -i16::MAX);
        assert_eq!(i16::from_engine(f32::NAN), 0);
        assert_eq!(i8::from_engine(0.5), 63);
        assert_eq!(i32::from_engine(1.0), i32::MAX);
        // i64::MAX is not an f64; the nearest one, 2^63, saturates.
        assert_eq!(i64::from_engine(-1.0), i64::MIN);
        assert_eq!(i64::from_engine(1.0), i64::MAX);
        assert_eq!(u16::from_engine(0.0), 32_768);
        assert_eq!(u16::from_engine(1.0), u16::MAX);
        assert_eq!(u16::from_engine(-1.0), 1);
        assert_eq!(u8::from_engine(0.0), 128);
        assert_eq!(u8::from_engine(2.0), u8::MAX);
        assert_eq!(u32::from_engine(0.0), 1u32 << 31);
        assert_eq!(u64::from_engine(-3.0), 1);
        assert_eq!(f64::from_engine(0.25), 0.25);
        assert_eq!(f32::from_engine(-0.5), -0.5);
    }

    #[test]
    fn bad_stream_shapes_are_refused() {
        let processor = || {
            aether_scheduler::engine(48_000.0, EngineConfig::default())
                .unwrap()
                .1
        };
        assert_eq!(
            PlaybackCallback::new(processor(), 0, 64).unwrap_err(),
            CallbackError::Channels { channels: 0 }
        );
        assert_eq!(
            PlaybackCallback::new(processor(), MAX_CHANNELS + 1, 64)
                .unwrap_err()
                .to_string(),
            "65 output channels: a stream needs 1 to 64"
        );
        let (callback, _) = PlaybackCallback::new(processor(), 2, 1 << 30).unwrap();
        assert_eq!(callback.conversion_frames(), MAX_CONVERSION_FRAMES);
        let (callback, _) = PlaybackCallback::new(processor(), 2, 0).unwrap();
        assert_eq!(callback.conversion_frames(), 1);
    }

    #[test]
    fn every_call_is_recorded_against_its_period() {
        let (_control, audio) =
            aether_scheduler::engine(48_000.0, EngineConfig::default()).unwrap();
        let (mut callback, monitor) = PlaybackCallback::new(audio, 2, 16).unwrap();
        let mut floats = [0.0f32; 2 * 48];
        let mut ints = [0i16; 2 * 480]; // 30 chunks of the 16-frame conversion buffer
        callback.render_f32(&mut floats);
        callback.render(&mut ints);
        let stats = monitor.callback_stats();
        assert_eq!(stats.callbacks(), 2);
        // 48 + 480 frames at 48 kHz = 11 ms of audio.
        assert_eq!(stats.period_ns_total(), 1_000_000 + 10_000_000);
        assert_eq!(monitor.allocations(), 0);
        assert_eq!(callback.into_processor().sample_rate(), 48_000.0);
    }
}
