//! The two endpoints of a command channel and the configuration that builds them.

use core::num::NonZeroUsize;

use crate::error::{ConfigError, SendError};
use crate::ring::{RingConsumer, RingProducer, ring};
use crate::sync::{Arc, AtomicBool, Ordering};

/// Default number of commands [`AudioEnd::drain_tick`] applies per audio block.
///
/// At 64 samples / 48 kHz this bounds the command work the audio thread can be asked to
/// do in one 1.33 ms block; a burst of edits larger than this is spread over later
/// blocks instead of overrunning one.
pub const MAX_COMMANDS_PER_TICK: usize = 32;

/// Largest capacity a channel accepts: ring indices run modulo twice the capacity.
///
/// In practice memory runs out long before this; that case is reported as
/// [`ConfigError::AllocationFailed`].
pub const MAX_CAPACITY: usize = usize::MAX / 2;

/// The two ends of a new channel: the [`ControlEnd`] for the control thread and the
/// [`AudioEnd`] to move to the audio thread.
pub type Endpoints<C, R> = (ControlEnd<C, R>, AudioEnd<C, R>);

/// Size and per-block limit of a command channel; [`build`](Self::build) creates it.
///
/// ```
/// use aether_command::ChannelConfig;
///
/// let (control, audio) = ChannelConfig::new(64)
///     .with_max_commands_per_tick(8)
///     .build::<u32, ()>()?;
/// assert_eq!(control.capacity(), 64);
/// assert_eq!(audio.max_commands_per_tick(), 8);
/// # Ok::<(), aether_command::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelConfig {
    capacity: usize,
    max_commands_per_tick: usize,
}

impl ChannelConfig {
    /// A channel of `capacity` slots (commands in flight, and receipts) that applies at
    /// most [`MAX_COMMANDS_PER_TICK`] commands per [`AudioEnd::drain_tick`].
    ///
    /// Nothing is checked or allocated until [`build`](Self::build).
    #[must_use]
    pub const fn new(capacity: usize) -> Self {
        Self {
            capacity,
            max_commands_per_tick: MAX_COMMANDS_PER_TICK,
        }
    }

    /// Sets how many commands [`AudioEnd::drain_tick`] applies at most per call
    /// (must be at least 1).
    #[must_use]
    pub const fn with_max_commands_per_tick(mut self, max_commands_per_tick: usize) -> Self {
        self.max_commands_per_tick = max_commands_per_tick;
        self
    }

    /// The configured number of slots.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.capacity
    }

    /// The configured per-tick limit of [`AudioEnd::drain_tick`].
    #[must_use]
    pub const fn max_commands_per_tick(&self) -> usize {
        self.max_commands_per_tick
    }

    /// Allocates the two rings and returns the control and audio endpoints.
    ///
    /// Control thread only: this allocates a command ring and a return ring of
    /// `capacity` slots each, plus one small shared block of connection flags.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroCapacity`], [`ConfigError::CapacityTooLarge`] (above
    /// [`MAX_CAPACITY`]), [`ConfigError::ZeroTickLimit`], or
    /// [`ConfigError::AllocationFailed`] if the allocator refuses the rings.
    pub fn build<C: Send, R: Send>(self) -> Result<Endpoints<C, R>, ConfigError> {
        let Some(slots) = NonZeroUsize::new(self.capacity) else {
            return Err(ConfigError::ZeroCapacity);
        };
        if self.capacity > MAX_CAPACITY {
            return Err(ConfigError::CapacityTooLarge {
                requested: self.capacity,
                max: MAX_CAPACITY,
            });
        }
        if self.max_commands_per_tick == 0 {
            return Err(ConfigError::ZeroTickLimit);
        }
        let allocation_failed = |_| ConfigError::AllocationFailed {
            capacity: self.capacity,
        };
        let (command_producer, command_consumer) = ring::<C>(slots).map_err(allocation_failed)?;
        let (receipt_producer, receipt_consumer) = ring::<R>(slots).map_err(allocation_failed)?;
        let connection = Arc::new(Connection {
            control_alive: AtomicBool::new(true),
            audio_alive: AtomicBool::new(true),
        });
        let control = ControlEnd {
            commands: command_producer,
            receipts: receipt_consumer,
            connection: Arc::clone(&connection),
            capacity: self.capacity,
            in_flight: 0,
        };
        let audio = AudioEnd {
            commands: command_consumer,
            receipts: receipt_producer,
            connection,
            capacity: self.capacity,
            max_commands_per_tick: self.max_commands_per_tick,
            return_stalls: 0,
        };
        Ok((control, audio))
    }
}

/// Creates a channel of `capacity` slots whose [`AudioEnd::drain_tick`] applies at most
/// [`MAX_COMMANDS_PER_TICK`] commands; shorthand for
/// `ChannelConfig::new(capacity).build()`.
///
/// Control thread only (allocates both rings).
///
/// # Errors
///
/// [`ConfigError::ZeroCapacity`] for `capacity == 0`, [`ConfigError::CapacityTooLarge`]
/// above [`MAX_CAPACITY`], [`ConfigError::AllocationFailed`] if the rings cannot be
/// allocated.
pub fn channel<C: Send, R: Send>(capacity: usize) -> Result<Endpoints<C, R>, ConfigError> {
    ChannelConfig::new(capacity).build()
}

/// Liveness flags shared by the two endpoints (the only state they share besides the
/// two rings). Each flag is written once, by its own endpoint's `Drop`.
struct Connection {
    control_alive: AtomicBool,
    audio_alive: AtomicBool,
}

/// The control-thread end: sends commands, collects (and drops) their receipts.
///
/// It counts `in_flight = sent - collected` and refuses to send when
/// `in_flight == capacity`, which is what keeps the return ring from ever being full
/// (see the crate documentation). Collect regularly, for example once per UI frame or
/// before each send.
///
/// Dropping it clears the control flag and decrements reference counts; it never
/// blocks. While the [`AudioEnd`] lives the rings stay alive (the audio end keeps
/// draining); if the audio end is already gone, this drop frees the rings and drops
/// every command and receipt still queued, on this thread.
pub struct ControlEnd<C, R> {
    commands: RingProducer<C>,
    receipts: RingConsumer<R>,
    connection: Arc<Connection>,
    capacity: usize,
    in_flight: usize,
}

impl<C, R> ControlEnd<C, R> {
    /// Queues `cmd` for the audio thread, or hands it back.
    ///
    /// Never allocates, frees or blocks: one atomic load of the connection flag plus
    /// one ring push, O(1) and wait-free.
    ///
    /// # Errors
    ///
    /// - [`SendError::Disconnected`] if the [`AudioEnd`] has been dropped;
    /// - [`SendError::Full`] if [`in_flight`](Self::in_flight) already equals
    ///   [`capacity`](Self::capacity): collect receipts and retry.
    ///
    /// Either way the command comes back inside the error; nothing is lost.
    pub fn try_send(&mut self, cmd: C) -> Result<(), SendError<C>> {
        if !self.is_audio_connected() {
            return Err(SendError::Disconnected(cmd));
        }
        if self.in_flight >= self.capacity {
            return Err(SendError::Full(cmd));
        }
        // With in_flight < capacity at most capacity - 1 commands are queued, so this
        // push succeeds; if it ever did not, the command is still handed back.
        match self.commands.try_push(cmd) {
            Ok(()) => {
                self.in_flight += 1;
                Ok(())
            }
            Err(cmd) => Err(SendError::Full(cmd)),
        }
    }

    /// Pops every receipt the audio thread has returned and hands each to `f`, on this
    /// thread; returns how many were collected.
    ///
    /// This is where garbage carried by receipts (removed nodes, replaced schedules)
    /// is dropped. Control thread: `f` may allocate, free or block as it likes. The
    /// loop is bounded by [`in_flight`](Self::in_flight) (at most
    /// [`capacity`](Self::capacity) iterations).
    pub fn collect(&mut self, f: impl FnMut(R)) -> usize {
        self.collect_at_most(usize::MAX, f)
    }

    /// Like [`collect`](Self::collect), but stops after `max` receipts (for example to
    /// spread the cost of dropping large garbage over several UI frames).
    pub fn collect_at_most(&mut self, max: usize, mut f: impl FnMut(R)) -> usize {
        let limit = max.min(self.in_flight);
        let mut collected = 0;
        while collected < limit {
            let Some(receipt) = self.receipts.try_pop() else {
                break;
            };
            collected += 1;
            self.in_flight -= 1;
            f(receipt);
        }
        collected
    }

    /// [`collect`](Self::collect)s every returned receipt and drops it here.
    pub fn collect_all(&mut self) -> usize {
        self.collect(drop)
    }

    /// Commands sent whose receipts have not been collected yet
    /// (`sent - collected`, between 0 and [`capacity`](Self::capacity)). O(1).
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// How many more commands [`try_send`](Self::try_send) accepts before the next
    /// [`collect`](Self::collect) (`capacity - in_flight`). O(1).
    #[must_use]
    pub fn available_slots(&self) -> usize {
        self.capacity - self.in_flight
    }

    /// Number of slots of each ring: the most commands that can be in flight. O(1).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the [`AudioEnd`] still exists. One atomic load; once `false`, it stays
    /// `false`.
    #[must_use]
    pub fn is_audio_connected(&self) -> bool {
        self.connection.audio_alive.load(Ordering::Acquire)
    }
}

impl<C, R> Drop for ControlEnd<C, R> {
    fn drop(&mut self) {
        self.connection
            .control_alive
            .store(false, Ordering::Release);
    }
}

/// The audio-thread end: drains a bounded number of commands per block and pushes one
/// receipt for each into the return ring.
///
/// Every method is wait-free, never allocates, frees, locks or panics, and never drops
/// a command or a receipt: each popped command is moved into `apply`, and the receipt
/// `apply` returns is moved into the return ring. (What `apply` itself does is the
/// caller's responsibility: it must move anything that owns heap memory into the
/// receipt instead of dropping it.)
///
/// Dropping it while the [`ControlEnd`] lives frees nothing (it clears the audio flag
/// and decrements reference counts). Dropping it after the control end is gone frees
/// both rings and drops everything still queued; that must happen off the real-time
/// callback, after the audio stream has stopped. See the crate documentation for both
/// drop orders.
pub struct AudioEnd<C, R> {
    commands: RingConsumer<C>,
    receipts: RingProducer<R>,
    connection: Arc<Connection>,
    capacity: usize,
    max_commands_per_tick: usize,
    return_stalls: u64,
}

impl<C, R> AudioEnd<C, R> {
    /// Pops at most `max` commands, passes each to `apply` and pushes the receipt it
    /// returns onto the return ring; returns how many commands were applied.
    ///
    /// Wait-free, O(`max`) ring operations plus the `apply` calls; never allocates,
    /// frees, locks or panics. A command is popped only while the return ring has a
    /// free slot for its receipt (one cheap check per command): the protocol makes that
    /// always true, and if it ever were not, the command would stay queued for a later
    /// call (counted by [`return_stalls`](Self::return_stalls)) instead of any item
    /// being dropped here.
    pub fn drain(&mut self, max: usize, mut apply: impl FnMut(C) -> R) -> usize {
        let mut applied = 0;
        while applied < max {
            // Look at the command ring first: a command that is visible here was sent
            // after the collects that made room for its receipt, so the room check
            // below sees that room too (a stall is then a real protocol breach).
            if self.commands.is_empty() {
                break;
            }
            if self.receipts.is_full() {
                self.return_stalls = self.return_stalls.saturating_add(1);
                break;
            }
            let Some(command) = self.commands.try_pop() else {
                break;
            };
            let receipt = apply(command);
            if let Err(receipt) = self.receipts.try_push(receipt) {
                // Unreachable: this end is the return ring's only producer and just saw
                // a free slot, and a consumer can only add free slots. Should it happen,
                // leaking the receipt is still better than freeing on the audio thread.
                core::mem::forget(receipt);
            }
            applied += 1;
        }
        applied
    }

    /// [`drain`](Self::drain) with the per-tick limit set at construction
    /// ([`MAX_COMMANDS_PER_TICK`] unless configured otherwise). Call once per audio
    /// block. Same real-time guarantees as [`drain`](Self::drain).
    pub fn drain_tick(&mut self, apply: impl FnMut(C) -> R) -> usize {
        self.drain(self.max_commands_per_tick, apply)
    }

    /// Commands queued and not yet drained (a snapshot: the control thread may add
    /// more at any time). Wait-free, O(1).
    #[must_use]
    pub fn pending(&self) -> usize {
        self.commands.occupied_len()
    }

    /// The per-tick limit [`drain_tick`](Self::drain_tick) uses. O(1).
    #[must_use]
    pub fn max_commands_per_tick(&self) -> usize {
        self.max_commands_per_tick
    }

    /// Number of slots of each ring. O(1).
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether the [`ControlEnd`] still exists. One atomic load; once `false`, it stays
    /// `false`. An engine that sees `false` knows nobody collects receipts any more
    /// and that this end will own the rings' memory when it is dropped (off the
    /// real-time callback).
    #[must_use]
    pub fn is_control_connected(&self) -> bool {
        self.connection.control_alive.load(Ordering::Acquire)
    }

    /// How many [`drain`](Self::drain) calls stopped with a command queued because the
    /// return ring had no free slot. O(1).
    ///
    /// The in-flight bound makes this impossible, so it stays 0; tests and debug
    /// builds of an engine can assert that. A non-zero value would mean a protocol
    /// breach whose only effect was delaying a command.
    #[must_use]
    pub fn return_stalls(&self) -> u64 {
        self.return_stalls
    }
}

impl<C, R> Drop for AudioEnd<C, R> {
    fn drop(&mut self) {
        self.connection.audio_alive.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{ChannelConfig, channel};
    use alloc::vec::Vec;

    /// Simulates a protocol breach (a receipt pushed behind the control end's back) to
    /// show that a full return ring delays the command instead of dropping anything.
    #[test]
    fn full_return_ring_delays_the_command_and_drops_nothing() {
        let (mut control, mut audio) = channel::<u32, u32>(2).expect("valid capacity");
        audio
            .receipts
            .try_push(900)
            .expect("the return ring is empty");
        audio
            .receipts
            .try_push(901)
            .expect("the return ring has a second slot");
        control.try_send(7).expect("nothing is in flight");

        let mut applied = Vec::new();
        assert_eq!(
            audio.drain(usize::MAX, |command| {
                applied.push(command);
                command
            }),
            0
        );
        assert!(applied.is_empty());
        assert_eq!(audio.return_stalls(), 1);
        assert_eq!(audio.pending(), 1, "the command stays queued");

        // in_flight is 1, so only one of the two rogue receipts can be collected now.
        let mut receipts = Vec::new();
        assert_eq!(control.collect(|receipt| receipts.push(receipt)), 1);
        assert_eq!(receipts, [900]);

        // Room again: the delayed command is applied on the next call.
        assert_eq!(audio.drain(usize::MAX, |command| command + 1), 1);
        assert_eq!(audio.return_stalls(), 1);
        assert_eq!(audio.pending(), 0);
    }

    #[test]
    fn config_defaults_to_the_per_tick_constant() {
        let config = ChannelConfig::new(16);
        assert_eq!(config.capacity(), 16);
        assert_eq!(config.max_commands_per_tick(), super::MAX_COMMANDS_PER_TICK);
        assert_eq!(
            config.with_max_commands_per_tick(3).max_commands_per_tick(),
            3
        );
    }
}
