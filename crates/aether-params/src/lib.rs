//! Smoothed, sample-accurate parameters for AetherDSP nodes: linear and exponential
//! per-sample smoothing, scheduled changes, and a fixed-capacity per-node block.
//!
//! # Real-time contract
//!
//! - **Nothing in this crate allocates, frees, locks, blocks, prints or panics**, on
//!   any input. It is `#![no_std]` without `alloc`; every type is plain inline data. With the
//!   `std` feature (off by default) on x86_64, linear ramps use an AVX2 kernel when the CPU has
//!   AVX2 (detected once, cached); its values are bit-identical to the baseline kernel's.
//! - [`Param::tick`] and every setter ([`Param::set_target`],
//!   [`Param::set_target_exponential`], [`Param::set_target_at`], [`Param::schedule`])
//!   are wait-free, O([`PENDING_CAPACITY`]).
//! - [`Param::fill_buffer`] is O(block length + [`PENDING_CAPACITY`]); a linear ramp
//!   is computed in closed form and vectorizes, a constant stretch is a plain fill.
//!   It produces bit-identical values to [`Param::tick`] however a run is split into
//!   blocks.
//! - [`ParamBlock`] lookups and setters are O([`MAX_PARAMS`]). [`ParamBlock::add`] and
//!   [`ParamBlock::from_metas`] belong on the control thread (where a node is built),
//!   though they allocate nothing either.
//! - Bad input (NaN or infinite targets, bad metadata, a bad index, a full block or a
//!   full change queue) is refused with a [`ParamError`] and changes nothing.
//!   Finite targets are clamped into the parameter's `[min, max]`.
//!
//! # Examples
//!
//! ```
//! use aether_params::{ParamBlock, ParamMeta, Unit};
//!
//! const CUTOFF: ParamMeta = ParamMeta::new("cutoff", 20.0, 20_000.0, 1_000.0, Unit::Hertz);
//! const GAIN: ParamMeta = ParamMeta::new("gain", 0.0, 1.0, 0.0, Unit::None);
//!
//! // Control thread: build the node's parameters.
//! let mut params = ParamBlock::from_metas(&[CUTOFF, GAIN])?;
//! let gain = params.index_of("gain").expect("declared above");
//!
//! // Ramp the gain to 1.0 over 64 samples, starting 16 samples into the next block.
//! params.set_target_at(gain, 1.0, 64, 16)?;
//!
//! // Audio thread: one value per sample, a block at a time.
//! let mut block = [0.0_f32; 64];
//! let param = params.get_mut(gain).expect("index from index_of");
//! param.fill_buffer(&mut block);
//! assert_eq!(block[15], 0.0); // still the old value
//! assert!(block[16] > 0.0); // the ramp has started
//! param.fill_buffer(&mut block);
//! assert_eq!(block[15], 1.0); // the 64th ramp value lands exactly on the target
//! assert!(!param.is_smoothing());
//!
//! // Out-of-range targets are clamped; NaN is refused and changes nothing.
//! params.set_target(gain, 7.0, 0)?;
//! assert_eq!(params.get(gain).map(|p| p.target()), Some(1.0));
//! assert!(params.set_target(gain, f32::NAN, 0).is_err());
//! # Ok::<(), aether_params::ParamError>(())
//! ```
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
// The only unsafe code is the call of the AVX2 ramp kernel after runtime detection
// (`std` feature; unit tests always build it).
#![cfg_attr(
    not(all(any(test, feature = "std"), target_arch = "x86_64")),
    forbid(unsafe_code)
)]

mod block;
mod decay;
mod error;
mod meta;
mod param;
mod pending;

pub use block::ParamBlock;
pub use error::{MetaProblem, ParamError};
pub use meta::{ParamMeta, Unit};
pub use param::{EXPONENTIAL_SNAP_DISTANCE, Param, Smoothing};

/// Maximum number of parameters in a [`ParamBlock`] (one node's parameters).
pub const MAX_PARAMS: usize = 8;

/// Maximum number of scheduled changes a [`Param`] holds at once; one more is refused
/// with [`ParamError::QueueFull`].
pub const PENDING_CAPACITY: usize = 4;

/// Longest linear ramp, in samples (about 12.4 hours at 48 kHz); longer requests are
/// capped to it. Keeping ramp positions within `i32` lets the ramp loop vectorize.
pub const MAX_RAMP_SAMPLES: u32 = i32::MAX as u32;

/// Longest exponential time constant, in samples (2^22, about 87 s at 48 kHz); longer
/// requests are capped to it. It guarantees the remaining distance shrinks by at least
/// one `f32` step every sample, so every approach ends.
pub const MAX_TIME_CONSTANT_SAMPLES: f32 = 4_194_304.0;

#[cfg(test)]
mod tests;
