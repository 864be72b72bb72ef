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
#[derive(Debug, Clone, Copy, PartialEq)]
enum Trajectory {
    /// Every value is `target`.
    Constant,
    /// Value `k` (1-based, counted from the ramp start) is `start + step * k`, clamped
    /// toward the target, and exactly the target at `k == length`.
    Linear {
        start: f32,
        step: f32,
        /// Ramp length `N`, `1..=MAX_RAMP_SAMPLES`.
        length: u32,
        /// Values produced so far on this ramp, `0..length`.
        elapsed: u32,
        rising: bool,
    },
    /// Value = `target + error`, with `error *= retention` before each value.
    Exponential {
        error: f32,
        retention: f32,
        snap_distance: f32,
    },
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
                Trajectory::Linear {
                    start,
                    step,
                    length,
                    elapsed: 0,
                    rising: distance > 0.0,
                }
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
            Trajectory::Linear {
                start,
                step,
                length,
                elapsed,
                rising,
            } => {
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
    fn render(&mut self, segment: &mut [f32]) {
        let target = self.target;
        match &mut self.trajectory {
            Trajectory::Constant => segment.fill(target),
            Trajectory::Linear {
                start,
                step,
                length,
                elapsed,
                rising,
            } => {
                // Values k = elapsed+1 .. length-1 follow the line; value `length` is the target.
                let before_end = length.saturating_sub(*elapsed).saturating_sub(1) as usize;
                let (on_line, landed) = segment.split_at_mut(before_end.min(segment.len()));
                let first_k = elapsed.saturating_add(1) as i32;
                if *rising {
                    fill_linear_fastest::<true>(on_line, *start, *step, first_k, target);
                } else {
                    fill_linear_fastest::<false>(on_line, *start, *step, first_k, target);
                }
                if landed.is_empty() {
                    // `on_line.len() < length <= MAX_RAMP_SAMPLES`: fits in u32.
                    *elapsed = elapsed.saturating_add(on_line.len() as u32);
                } else {
                    landed.fill(target);
                    self.trajectory = Trajectory::Constant;
                }
            }
            Trajectory::Exponential {
                error,
                retention,
                snap_distance,
            } => {
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
        if let Some(&last) = segment.last() {
            self.current = last;
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

/// [`fill_linear`] with the widest vectors the CPU has. The AVX2 build of the same loop does
/// the same IEEE operations in the same order (no fused multiply-add: only `avx2` is enabled,
/// and Rust never contracts `a * b + c`), so its values are bit-identical to the baseline
/// build's and to [`Param::tick`]'s.
#[inline(always)]
fn fill_linear_fastest<const RISING: bool>(
    out: &mut [f32],
    start: f32,
    step: f32,
    first_k: i32,
    target: f32,
) {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked on the line above.
        unsafe { fill_linear_avx2::<RISING>(out, start, step, first_k, target) };
        return;
    }
    fill_linear::<RISING>(out, start, step, first_k, target);
}

/// [`fill_linear`] compiled for AVX2.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
#[target_feature(enable = "avx2")]
unsafe fn fill_linear_avx2<const RISING: bool>(
    out: &mut [f32],
    start: f32,
    step: f32,
    first_k: i32,
    target: f32,
) {
    fill_linear::<RISING>(out, start, step, first_k, target);
}

/// Closed-form ramp values `k = first_k, first_k + 1, ...`; the caller guarantees every
/// `k` stays below the ramp length (so no `i32` overflow). Vectorizes.
#[inline(always)]
fn fill_linear<const RISING: bool>(
    out: &mut [f32],
    start: f32,
    step: f32,
    first_k: i32,
    target: f32,
) {
    for (offset, value) in out.iter_mut().enumerate() {
        let k = first_k.wrapping_add(offset as i32);
        *value = linear_value(start, step, k, target, RISING);
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
