//! Typed errors for parameter metadata, targets and blocks.

use core::fmt;

/// Why a [`ParamMeta`](crate::ParamMeta) was refused by
/// [`ParamMeta::validate`](crate::ParamMeta::validate).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum MetaProblem {
    /// `min` or `max` is NaN or infinite.
    NonFiniteBound {
        /// The declared lower bound.
        min: f32,
        /// The declared upper bound.
        max: f32,
    },
    /// `min` is greater than `max`.
    MinAboveMax {
        /// The declared lower bound.
        min: f32,
        /// The declared upper bound.
        max: f32,
    },
    /// `default` is NaN or infinite.
    NonFiniteDefault {
        /// The declared default.
        default: f32,
    },
    /// `default` lies outside `[min, max]`.
    DefaultOutOfRange {
        /// The declared default.
        default: f32,
        /// The declared lower bound.
        min: f32,
        /// The declared upper bound.
        max: f32,
    },
}

impl fmt::Display for MetaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MetaProblem::NonFiniteBound { min, max } => {
                write!(f, "bounds [{min}, {max}] must both be finite")
            }
            MetaProblem::MinAboveMax { min, max } => {
                write!(f, "min {min} is greater than max {max}")
            }
            MetaProblem::NonFiniteDefault { default } => {
                write!(f, "default {default} is not finite")
            }
            MetaProblem::DefaultOutOfRange { default, min, max } => {
                write!(f, "default {default} lies outside [{min}, {max}]")
            }
        }
    }
}

/// Everything a parameter operation can refuse. Every refusal leaves the
/// parameter (or block) exactly as it was.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A target or initial value was NaN or infinite.
    #[error("value {value} is not finite (NaN or infinite); the parameter is unchanged")]
    NonFinite {
        /// The rejected value.
        value: f32,
    },
    /// An exponential time constant was negative, NaN or infinite.
    #[error(
        "time constant of {samples} samples is not a finite, non-negative number; \
         the parameter is unchanged"
    )]
    InvalidTimeConstant {
        /// The rejected time constant, in samples.
        samples: f32,
    },
    /// A parameter index past the end of a [`ParamBlock`](crate::ParamBlock).
    #[error("parameter index {index} is out of range for a block of {len} parameters")]
    IndexOutOfRange {
        /// The index that was asked for.
        index: usize,
        /// How many parameters the block holds.
        len: usize,
    },
    /// A [`ParamBlock`](crate::ParamBlock) already holds its maximum number of parameters.
    #[error("parameter block is full: it holds at most {capacity} parameters")]
    CapacityFull {
        /// The fixed capacity ([`MAX_PARAMS`](crate::MAX_PARAMS)).
        capacity: usize,
    },
    /// A parameter's queue of scheduled changes is full; the new change was not queued.
    #[error(
        "scheduled-change queue is full ({capacity} pending changes); the change was not queued"
    )]
    QueueFull {
        /// The fixed queue capacity ([`PENDING_CAPACITY`](crate::PENDING_CAPACITY)).
        capacity: usize,
    },
    /// A parameter's metadata is inconsistent.
    #[error("invalid metadata for parameter {name:?}: {problem}")]
    InvalidMeta {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        problem: MetaProblem,
    },
    /// A [`ParamBlock`](crate::ParamBlock) already holds a parameter of this name.
    #[error("parameter block already has a parameter named {name:?}")]
    DuplicateName {
        /// The repeated name.
        name: &'static str,
    },
}
