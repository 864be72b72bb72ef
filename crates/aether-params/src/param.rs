//! One smoothed parameter: linear or exponential per-sample smoothing with
//! sample-accurate scheduled changes.

use crate::decay::retention_per_sample;
use crate::error::ParamError;
use crate::meta::ParamMeta;
use crate::pending::{PendingQueue, Transition};
use crate::{MAX_RAMP_SAMPLES, MAX_TIME_CONSTANT_SAMPLES, PENDING_CAPACITY};

/// An exponential approach snaps to its target once the remaining distance is at most
/// this (about -120 dB for a gain around 1), or at most one `f32` epsilon of the
/// target's magnitude, whichever is larger.
pub const EXPONENTIAL_SNAP_DISTANCE: f32 = 1.0e-6;

/// How a new target is approached.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Smoothing {
    /// A straight line that reaches the target exactly at the `ramp_samples`-th produced
    /// value; `0` jumps at the next value. Lengths above
    /// [`MAX_RAMP_SAMPLES`](crate::MAX_RAMP_SAMPLES) are capped to it.
    Linear {
        /// Ramp length in samples.
        ramp_samples: u32,
    },
    /// A one-pole approach: after `time_constant_samples` samples about 63 % of the
    /// distance is covered. It snaps to the target once within
    /// [`EXPONENTIAL_SNAP_DISTANCE`], so it always ends. `0` jumps at the next value;
    /// values above [`MAX_TIME_CONSTANT_SAMPLES`](crate::MAX_TIME_CONSTANT_SAMPLES) are
    /// capped to it.
    Exponential {
        /// Time constant in samples; must be finite and non-negative.
        time_constant_samples: f32,
    },
}

/// What produces the next values.
///
/// `repr(u8)` keeps an explicit tag byte: without it the tag lives in the niche of
/// `LinearRamp::rising`, and `tick` (which matches the tag every sample) measured about 1.5x
/// slower.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
enum Trajectory {
    /// Every value is `target`.
    Constant,
    /// A linear ramp toward the target.
    Linear(LinearRamp),
    /// Value = `target + error`, with `error *= retention` before each value.
    Exponential {
        error: f32,
        retention: f32,
        snap_distance: f32,
    },
}

/// A running linear ramp: value `k` (1-based, counted from the ramp start) is
/// `start + step * k`, clamped toward the target, and exactly the target at `k == length`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LinearRamp {
    start: f32,
    step: f32,
    /// Ramp length `N`, `1..=MAX_RAMP_SAMPLES`.
    length: u32,
    /// Values produced so far on this ramp, `0..length`.
    elapsed: u32,
    rising: bool,
}

/// One smoothed parameter value.
///
/// A `Param` produces one value per audio sample, through [`tick`](Self::tick) or a
/// block at a time through [`fill_buffer`](Self::fill_buffer); the two produce
/// bit-identical values for any way of splitting the same run into blocks.
///
/// # Real-time contract
///
/// Every method is allocation-free, lock-free and panic-free, with bounded work:
/// `tick` and the setters are O([`PENDING_CAPACITY`]); `fill_buffer` is linear in the
/// block length plus O([`PENDING_CAPACITY`]). All of them may run on the audio thread.
///
/// # Range and NaN policy
///
/// A `Param` made with [`from_meta`](Self::from_meta) clamps every finite target into
/// the meta's `[min, max]`; one made with [`new`](Self::new) is unbounded. A NaN or
/// infinite target is refused with [`ParamError::NonFinite`] and the parameter is left
/// unchanged, so produced values are always finite.
///
/// # Scheduled changes
///
/// [`set_target_at`](Self::set_target_at) queues up to [`PENDING_CAPACITY`] changes, each
/// starting after a given number of further produced samples. Immediate setters do not
/// cancel queued changes; [`clear_pending`](Self::clear_pending) does.
#[derive(Debug, Clone)]
pub struct Param {
    /// Last produced value (the initial value before anything was produced).
    current: f32,
    /// Where the running trajectory ends.
    target: f32,
    min: f32,
    max: f32,
    trajectory: Trajectory,
    pending: PendingQueue,
}

impl Default for Param {
    /// An unbounded parameter at `0.0`.
    fn default() -> Self {
        Self::constant(0.0, f32::NEG_INFINITY, f32::INFINITY)
    }
}

impl Param {
    /// A parameter holding `value` in `[min, max]`; the caller guarantees the invariants
    /// (finite value inside the range, `min <= max`, no NaN bound).
    pub(crate) const fn constant(value: f32, min: f32, max: f32) -> Self {
        Self {
            current: value,
            target: value,
            min,
            max,
            trajectory: Trajectory::Constant,
            pending: PendingQueue::EMPTY,
        }
    }

    /// Test helper: an unbounded parameter at `start` already `elapsed` values into a linear
    /// ramp of `length` samples toward `target` (as if those values had been produced).
    #[cfg(test)]
    pub(crate) fn ramp_in_progress(start: f32, target: f32, length: u32, elapsed: u32) -> Self {
        let mut param = Self::constant(start, f32::NEG_INFINITY, f32::INFINITY);
        param.begin(target, Transition::Linear { samples: length });
        if let Trajectory::Linear(ramp) = &mut param.trajectory {
            ramp.elapsed = elapsed.min(ramp.length.saturating_sub(1));
        }
        param
    }

    /// An unbounded parameter starting (and resting) at `initial`.
    ///
    /// # Errors
    ///
    /// [`ParamError::NonFinite`] if `initial` is NaN or infinite.
    pub const fn new(initial: f32) -> Result<Self, ParamError> {
        if !initial.is_finite() {
            return Err(ParamError::NonFinite { value: initial });
        }
        Ok(Self::constant(initial, f32::NEG_INFINITY, f32::INFINITY))
    }

    /// A parameter starting at `meta.default` whose targets are clamped into
    /// `[meta.min, meta.max]`.
    ///
    /// # Errors
    ///
    /// [`ParamError::InvalidMeta`] if [`ParamMeta::validate`] refuses `meta`.
    pub const fn from_meta(meta: &ParamMeta) -> Result<Self, ParamError> {
        if let Err(error) = meta.validate() {
            return Err(error);
        }
        Ok(Self::constant(meta.default, meta.min, meta.max))
    }

    /// The last produced value (the initial value before the first one).
    #[must_use]
    pub const fn current(&self) -> f32 {
        self.current
    }

    /// The value the running trajectory ends at. Queued changes are not reflected
    /// until they start.
    #[must_use]
    pub const fn target(&self) -> f32 {
        self.target
    }

    /// `true` while a linear ramp or exponential approach is running. A jump requested
    /// with ramp 0 is not smoothing: it lands on the next value.
    #[must_use]
    pub const fn is_smoothing(&self) -> bool {
        !matches!(self.trajectory, Trajectory::Constant)
    }

    /// The inclusive range targets are clamped into, `(min, max)`; infinite for a
    /// parameter made with [`new`](Self::new).
    #[must_use]
    pub const fn range(&self) -> (f32, f32) {
        (self.min, self.max)
    }

    /// How many scheduled changes are waiting to start.
    #[must_use]
    pub const fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Drops every scheduled change that has not started yet. O(1).
    pub fn clear_pending(&mut self) {
        self.pending.clear();
    }

    /// Jumps to `value` now: `current()` and `target()` become the clamped `value`, any
    /// smoothing stops and scheduled changes are dropped. Meant for initialisation and
    /// preset recall.
    ///
    /// # Errors
    ///
    /// [`ParamError::NonFinite`] if `value` is NaN or infinite (nothing changes).
    pub fn reset(&mut self, value: f32) -> Result<(), ParamError> {
        let value = self.clamp_target(value)?;
        self.current = value;
        self.target = value;
        self.trajectory = Trajectory::Constant;
        self.pending.clear();
        Ok(())
    }

    /// Starts a linear ramp from the last produced value to `target`: the
    /// `ramp_samples`-th value produced from now is exactly `target` (bit for bit), the
    /// values before it move monotonically toward it and never pass it. `0` jumps at
    /// the next value. A ramp continues across blocks.
    ///
    /// # Errors
    ///
    /// [`ParamError::NonFinite`] if `target` is NaN or infinite (nothing changes).
    pub fn set_target(&mut self, target: f32, ramp_samples: u32) -> Result<(), ParamError> {
        self.schedule(target, Smoothing::Linear { ramp_samples }, 0)
    }

    /// Starts a one-pole approach from the last produced value to `target` with the
    /// given time constant in samples (see [`Smoothing::Exponential`]).
    ///
    /// # Errors
    ///
    /// [`ParamError::NonFinite`] for a NaN or infinite `target`,
    /// [`ParamError::InvalidTimeConstant`] for a negative, NaN or infinite time
    /// constant; nothing changes in either case.
    pub fn set_target_exponential(
        &mut self,
        target: f32,
        time_constant_samples: f32,
    ) -> Result<(), ParamError> {
        self.schedule(
            target,
            Smoothing::Exponential {
                time_constant_samples,
            },
            0,
        )
    }

    /// Schedules a linear ramp to `target` that starts once `offset_samples` more
    /// values have been produced: with offset 17, values 0..17 of the next block follow
    /// the old trajectory and value 17 is the first of the new ramp. Offset 0 is
    /// [`set_target`](Self::set_target).
    ///
    /// # Errors
    ///
    /// [`ParamError::NonFinite`] for a NaN or infinite `target`,
    /// [`ParamError::QueueFull`] when [`PENDING_CAPACITY`] changes are already waiting;
    /// nothing changes in either case.
    pub fn set_target_at(
        &mut self,
        target: f32,
        ramp_samples: u32,
        offset_samples: u32,
    ) -> Result<(), ParamError> {
        self.schedule(target, Smoothing::Linear { ramp_samples }, offset_samples)
    }

    /// Moves toward `target` with `smoothing`, starting once `offset_samples` more
    /// values have been produced (0 = now). Changes scheduled for the same sample start
    /// in the order they were scheduled, so the last one wins.
    ///
    /// # Errors
    ///
    /// [`ParamError::NonFinite`], [`ParamError::InvalidTimeConstant`] or
    /// [`ParamError::QueueFull`]; nothing changes on error.
    pub fn schedule(
        &mut self,
        target: f32,
        smoothing: Smoothing,
        offset_samples: u32,
    ) -> Result<(), ParamError> {
        let target = self.clamp_target(target)?;
        let transition = resolve(smoothing)?;
        if offset_samples == 0 {
            // Changes already due at the next sample were scheduled earlier: start them
            // first so this later one wins.
            self.start_due_changes();
            self.begin(target, transition);
            return Ok(());
        }
        self.pending
            .insert(target, transition, offset_samples)
            .map_err(|_| ParamError::QueueFull {
                capacity: PENDING_CAPACITY,
            })
    }

    /// Produces the next value.
    ///
    /// Wait-free, O([`PENDING_CAPACITY`]); identical to the corresponding value of
    /// [`fill_buffer`](Self::fill_buffer).
    #[inline]
    pub fn tick(&mut self) -> f32 {
        let has_pending = self.pending.len() != 0;
        if has_pending {
            self.start_due_changes();
        }
        let value = self.next_value();
        if has_pending {
            self.pending.advance(1);
        }
        self.current = value;
        value
    }

    /// Writes the next `out.len()` values into `out`, bit-identical to calling
    /// [`tick`](Self::tick) `out.len()` times.
    ///
    /// The block is split at scheduled changes. A linear ramp is computed in closed form
    /// (`start + step * k`) so the loop vectorizes; a constant stretch is a plain fill;
    /// an exponential approach runs its one-pole recurrence per sample.
    #[inline]
    pub fn fill_buffer(&mut self, out: &mut [f32]) {
        if self.pending.len() == 0 {
            self.render(out);
        } else {
            self.fill_around_changes(out);
        }
    }

    /// [`fill_buffer`](Self::fill_buffer) when changes are queued: splits `out` at the
    /// samples where they start.
    #[inline(never)]
    fn fill_around_changes(&mut self, out: &mut [f32]) {
        let mut rest = out;
        // Each pass starts the changes that are due, then renders up to the next one:
        // at most PENDING_CAPACITY + 1 passes, every pass consumes at least one sample.
        while !rest.is_empty() {
            self.start_due_changes();
            let until_next_change = self
                .pending
                .front_delay()
                .map_or(usize::MAX, |delay| delay as usize);
            let (segment, tail) = rest.split_at_mut(until_next_change.min(rest.len()));
            self.render(segment);
            self.pending
                .advance(u32::try_from(segment.len()).unwrap_or(u32::MAX));
            rest = tail;
        }
    }

    /// Clamps a finite target into the range; refuses NaN and infinities.
    fn clamp_target(&self, target: f32) -> Result<f32, ParamError> {
        if !target.is_finite() {
            return Err(ParamError::NonFinite { value: target });
        }
        // max/min instead of f32::clamp: no panic path, and bounds are never NaN.
        Ok(target.max(self.min).min(self.max))
    }

    /// Starts every queued change whose time has come (at most PENDING_CAPACITY).
    fn start_due_changes(&mut self) {
        while let Some(change) = self.pending.pop_due() {
            self.begin(change.target, change.transition);
        }
    }

    /// Replaces the running trajectory with one from `current` to `target`.
    fn begin(&mut self, target: f32, transition: Transition) {
        self.target = target;
        let start = self.current;
        let distance = target - start;
        self.trajectory = match transition {
            _ if distance == 0.0 => Trajectory::Constant,
            Transition::Linear { samples: 0 } => Trajectory::Constant,
            Transition::Linear { samples } => {
                let length = samples.min(MAX_RAMP_SAMPLES);
                let n = length as f32;
                // A distance beyond f32::MAX is split so the step stays finite.
                let step = if distance.is_finite() {
                    distance / n
                } else {
                    target / n - start / n
                };
                Trajectory::Linear(LinearRamp {
                    start,
                    step,
                    length,
                    elapsed: 0,
                    rising: distance > 0.0,
                })
            }
            // An infinite error would never decay; such a distance jumps instead.
            Transition::Exponential { .. } if !distance.is_finite() => Trajectory::Constant,
            Transition::Exponential { retention } => Trajectory::Exponential {
                error: -distance,
                retention,
                snap_distance: EXPONENTIAL_SNAP_DISTANCE.max(target.abs() * f32::EPSILON),
            },
        };
    }

    /// The next value of the running trajectory (the per-sample path).
    fn next_value(&mut self) -> f32 {
        let target = self.target;
        match &mut self.trajectory {
            Trajectory::Constant => target,
            Trajectory::Linear(LinearRamp {
                start,
                step,
                length,
                elapsed,
                rising,
            }) => {
                let k = elapsed.saturating_add(1);
                if k >= *length {
                    self.trajectory = Trajectory::Constant;
                    target
                } else {
                    *elapsed = k;
                    linear_value(*start, *step, k as i32, target, *rising)
                }
            }
            Trajectory::Exponential {
                error,
                retention,
                snap_distance,
            } => match exponential_step(error, *retention, *snap_distance, target) {
                Some(value) => value,
                None => {
                    self.trajectory = Trajectory::Constant;
                    target
                }
            },
        }
    }

    /// Writes the next `segment.len()` values of the running trajectory (no scheduled
    /// change starts inside `segment`).
    #[inline]
    fn render(&mut self, segment: &mut [f32]) {
        let target = self.target;
        match &mut self.trajectory {
            Trajectory::Constant => segment.fill(target),
            Trajectory::Linear(ramp) => {
                if render_linear(ramp, target, segment) {
                    self.trajectory = Trajectory::Constant;
                }
            }
            Trajectory::Exponential { .. } => self.render_exponential(segment),
        }
        if let Some(&last) = segment.last() {
            self.current = last;
        }
    }

    /// [`render`](Self::render) for an exponential approach: the one-pole recurrence,
    /// one sample at a time.
    #[inline(never)]
    fn render_exponential(&mut self, segment: &mut [f32]) {
        let target = self.target;
        let Trajectory::Exponential {
            error,
            retention,
            snap_distance,
        } = &mut self.trajectory
        else {
            // Only called on an exponential approach; anything else has nothing to do here.
            return;
        };
        let mut values = segment.iter_mut();
        let mut finished = false;
        for out in &mut values {
            match exponential_step(error, *retention, *snap_distance, target) {
                Some(value) => *out = value,
                None => {
                    *out = target;
                    finished = true;
                    break;
                }
            }
        }
        if finished {
            for out in values {
                *out = target;
            }
            self.trajectory = Trajectory::Constant;
        }
    }
}

/// Converts the public smoothing request into what the audio path runs.
fn resolve(smoothing: Smoothing) -> Result<Transition, ParamError> {
    match smoothing {
        Smoothing::Linear { ramp_samples } => Ok(Transition::Linear {
            samples: ramp_samples.min(MAX_RAMP_SAMPLES),
        }),
        Smoothing::Exponential {
            time_constant_samples: tau,
        } => {
            if !(tau.is_finite() && tau >= 0.0) {
                Err(ParamError::InvalidTimeConstant { samples: tau })
            } else if tau == 0.0 {
                Ok(Transition::Linear { samples: 0 })
            } else {
                Ok(Transition::Exponential {
                    retention: retention_per_sample(tau.min(MAX_TIME_CONSTANT_SAMPLES)),
                })
            }
        }
    }
}

/// Value `k` of a linear ramp, clamped so rounding never carries it past `target`.
/// Shared by the per-sample and block paths so both produce the same bits.
#[inline(always)]
fn linear_value(start: f32, step: f32, k: i32, target: f32, rising: bool) -> f32 {
    let value = start + step * k as f32;
    // Comparisons written so they lower to one minps/maxps per lane (f32::min/max add
    // NaN handling, and values here are never NaN).
    if rising {
        if value < target { value } else { target }
    } else if value > target {
        value
    } else {
        target
    }
}

/// The parameters of one closed-form ramp fill: value `k` is `start + step * k`, clamped
/// to `target`, for `k = first_k, first_k + 1, ...`.
#[derive(Clone, Copy)]
struct Ramp {
    start: f32,
    step: f32,
    first_k: i32,
    target: f32,
}

/// Writes the next `segment.len()` values of a running linear ramp toward `target` and
/// advances it; `true` when the ramp has landed (every later value is `target`). Runs the
/// widest build of [`render_linear_with`] the CPU has. The AVX2 build does the same IEEE
/// operations in the same order (no fused multiply-add: FMA is not enabled for it, and Rust
/// never contracts `a * b + c` anyway), so its values are bit-identical to the baseline
/// build's and to [`Param::tick`]'s.
#[inline(never)]
fn render_linear(ramp: &mut LinearRamp, target: f32, segment: &mut [f32]) -> bool {
    // Every arm is a tail call, so the dispatch costs one load and a branch.
    #[cfg(all(any(test, feature = "std"), target_arch = "x86_64"))]
    match x86::kernel() {
        // SAFETY: `kernel()` returns `Avx2` only after detecting AVX2 on this CPU.
        Some(x86::Kernel::Avx2) => unsafe { x86::render_linear_avx2(ramp, target, segment) },
        Some(x86::Kernel::Baseline) => render_linear_baseline(ramp, target, segment),
        None => x86::detect_then_render_linear(ramp, target, segment),
    }
    #[cfg(not(all(any(test, feature = "std"), target_arch = "x86_64")))]
    render_linear_baseline(ramp, target, segment)
}

/// [`render_linear_with`] for the compilation target (no extra CPU features).
#[inline(never)]
fn render_linear_baseline(ramp: &mut LinearRamp, target: f32, segment: &mut [f32]) -> bool {
    render_linear_with(ramp, target, segment)
}

/// [`render_linear`]'s body, inlined into each build.
#[inline(always)]
fn render_linear_with(ramp: &mut LinearRamp, target: f32, segment: &mut [f32]) -> bool {
    // Values k = elapsed+1 .. length-1 follow the line; value `length` is the target.
    let before_end = ramp.length.saturating_sub(ramp.elapsed).saturating_sub(1) as usize;
    let on_line = before_end.min(segment.len());
    let line = Ramp {
        start: ramp.start,
        step: ramp.step,
        first_k: ramp.elapsed.saturating_add(1) as i32,
        target,
    };
    fill_ramp(segment, on_line, line, ramp.rising);
    // `on_line < length <= MAX_RAMP_SAMPLES`: fits in u32.
    ramp.elapsed = ramp.elapsed.saturating_add(on_line as u32);
    on_line != segment.len()
}

/// Runtime-selected builds of [`render_linear_with`] for x86_64 (`std` feature; always in
/// unit tests, which check every build against `tick`).
#[cfg(all(any(test, feature = "std"), target_arch = "x86_64"))]
pub(crate) mod x86 {
    use core::sync::atomic::{AtomicU8, Ordering};

    use super::{LinearRamp, render_linear, render_linear_with};

    /// Which build of [`render_linear_with`] runs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Kernel {
        /// The build for the compilation target (SSE2 on plain x86_64).
        Baseline,
        /// Built with `avx2`.
        Avx2,
    }

    const UNKNOWN: u8 = 0;
    const BASELINE: u8 = 1;
    const AVX2: u8 = 2;

    /// The detected kernel, [`UNKNOWN`] until the first call of [`kernel`].
    static DETECTED: AtomicU8 = AtomicU8::new(UNKNOWN);

    /// The widest kernel this CPU runs, once [`detect_then_render_linear`] has detected it
    /// (`None` before). One relaxed load.
    #[inline(always)]
    pub(super) fn kernel() -> Option<Kernel> {
        #[cfg(test)]
        if let Some(forced) = FORCED.with(core::cell::Cell::get) {
            return Some(forced);
        }
        match DETECTED.load(Ordering::Relaxed) {
            AVX2 => Some(Kernel::Avx2),
            BASELINE => Some(Kernel::Baseline),
            _ => None,
        }
    }

    /// The first [`render_linear`]: detects and caches the kernel, then renders with it.
    /// Detection is idempotent, so a race between two first calls is harmless.
    #[cold]
    #[inline(never)]
    pub(super) fn detect_then_render_linear(
        ramp: &mut LinearRamp,
        target: f32,
        segment: &mut [f32],
    ) -> bool {
        let code = if std::is_x86_feature_detected!("avx2") {
            AVX2
        } else {
            BASELINE
        };
        DETECTED.store(code, Ordering::Relaxed);
        render_linear(ramp, target, segment)
    }

    #[cfg(test)]
    std::thread_local! {
        /// Test override of the kernel for the current thread (only ever a supported one).
        static FORCED: core::cell::Cell<Option<Kernel>> = const { core::cell::Cell::new(None) };
    }

    /// Every kernel this CPU supports, baseline first.
    #[cfg(test)]
    pub(crate) fn supported() -> std::vec::Vec<Kernel> {
        let mut kernels = std::vec![Kernel::Baseline];
        if std::is_x86_feature_detected!("avx2") {
            kernels.push(Kernel::Avx2);
        }
        kernels
    }

    /// Runs `body` with `kernel` forced on this thread. `kernel` must come from [`supported`].
    #[cfg(test)]
    pub(crate) fn with_kernel<R>(kernel: Kernel, body: impl FnOnce() -> R) -> R {
        FORCED.with(|forced| forced.set(Some(kernel)));
        let result = body();
        FORCED.with(|forced| forced.set(None));
        result
    }

    /// [`render_linear_with`] compiled for AVX2.
    ///
    /// # Safety
    ///
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn render_linear_avx2(
        ramp: &mut LinearRamp,
        target: f32,
        segment: &mut [f32],
    ) -> bool {
        render_linear_with(ramp, target, segment)
    }
}

/// Writes the ramp values into `out[..on_line]` and the target into the rest (the ramp has
/// landed there). The caller guarantees every ramp position `k` stays below the ramp length
/// (so no `i32` overflow).
#[inline(always)]
fn fill_ramp(out: &mut [f32], on_line: usize, ramp: Ramp, rising: bool) {
    // A whole block on the line at the usual block size: a fixed-length loop the compiler
    // unrolls completely (no remainder handling).
    if on_line == out.len()
        && let Ok(block) = <&mut [f32; FIXED_BLOCK]>::try_from(&mut *out)
    {
        if rising {
            fill_linear::<true>(block, ramp);
        } else {
            fill_linear::<false>(block, ramp);
        }
        return;
    }
    let (line, landed) = out.split_at_mut(on_line.min(out.len()));
    if rising {
        fill_linear::<true>(line, ramp);
    } else {
        fill_linear::<false>(line, ramp);
    }
    landed.fill(ramp.target);
}

/// Block length with a fully unrolled ramp kernel (the engine's block size).
const FIXED_BLOCK: usize = 64;

/// Closed-form ramp values `k = first_k, first_k + 1, ...` into `out`. Vectorizes.
#[inline(always)]
fn fill_linear<const RISING: bool>(out: &mut [f32], ramp: Ramp) {
    for (offset, value) in out.iter_mut().enumerate() {
        let k = ramp.first_k.wrapping_add(offset as i32);
        *value = linear_value(ramp.start, ramp.step, k, ramp.target, RISING);
    }
}

/// One sample of the one-pole approach: shrinks `error` and returns the value, or
/// `None` once the remaining distance is within `snap_distance` (the value is then the
/// target). `error` shrinks strictly every sample because `retention` is at most
/// `exp(-1 / MAX_TIME_CONSTANT_SAMPLES)`, so the approach always ends.
#[inline(always)]
fn exponential_step(
    error: &mut f32,
    retention: f32,
    snap_distance: f32,
    target: f32,
) -> Option<f32> {
    *error *= retention;
    if error.abs() <= snap_distance {
        None
    } else {
        Some(target + *error)
    }
}
