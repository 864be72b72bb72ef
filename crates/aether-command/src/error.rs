//! Typed errors of the command channel.

use core::fmt;

/// A command [`ControlEnd::try_send`](crate::ControlEnd::try_send) could not queue.
///
/// The command is always handed back, so nothing is lost; get it with
/// [`into_inner`](Self::into_inner). Producing this error never allocates.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError<C> {
    /// Every slot is in flight: `capacity` commands have been sent whose receipts have
    /// not been collected yet. Call [`ControlEnd::collect`](crate::ControlEnd::collect)
    /// (after the audio thread has drained some commands) and retry.
    #[error(
        "command channel full: every slot is in flight until the audio thread drains \
         commands and their receipts are collected on the control thread"
    )]
    Full(C),
    /// The [`AudioEnd`](crate::AudioEnd) has been dropped, so the command could never
    /// be applied.
    #[error("command channel disconnected: the audio end has been dropped")]
    Disconnected(C),
}

impl<C> SendError<C> {
    /// Returns the command that was not sent.
    #[must_use]
    pub fn into_inner(self) -> C {
        match self {
            Self::Full(command) | Self::Disconnected(command) => command,
        }
    }

    /// Whether the channel was full (retrying after a collect may succeed).
    #[must_use]
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the audio end is gone (retrying will never succeed).
    #[must_use]
    pub fn is_disconnected(&self) -> bool {
        matches!(self, Self::Disconnected(_))
    }
}

/// Written by hand so that `SendError<C>` is `Debug` (and therefore an
/// [`Error`](core::error::Error)) for every command type, like
/// `std::sync::mpsc::SendError`: the command itself is not printed.
impl<C> fmt::Debug for SendError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

/// A [`ChannelConfig`](crate::ChannelConfig) that cannot build a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A channel needs at least one slot.
    #[error("command channel capacity must be at least 1, got 0")]
    ZeroCapacity,
    /// The capacity exceeds [`MAX_CAPACITY`](crate::MAX_CAPACITY) (ring indices run
    /// modulo twice the capacity).
    #[error("command channel capacity {requested} exceeds the maximum of {max} slots")]
    CapacityTooLarge {
        /// The capacity that was asked for.
        requested: usize,
        /// The largest capacity allowed, [`MAX_CAPACITY`](crate::MAX_CAPACITY).
        max: usize,
    },
    /// The allocator could not provide the two rings.
    #[error("could not allocate the two rings of a command channel with {capacity} slots")]
    AllocationFailed {
        /// The capacity that was asked for.
        capacity: usize,
    },
    /// A per-tick limit of 0 would make [`AudioEnd::drain_tick`](crate::AudioEnd::drain_tick)
    /// never apply anything.
    #[error("max_commands_per_tick must be at least 1, got 0")]
    ZeroTickLimit,
}
