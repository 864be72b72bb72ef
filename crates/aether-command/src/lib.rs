//! A bounded SPSC command channel to the audio thread whose return ring can never be full, so nothing is ever dropped on the audio thread.
//!
//! A channel is two [`ringbuf`] rings of the same `capacity`:
//!
//! ```text
//! control thread                                   audio (real-time) thread
//! ControlEnd::try_send(C)  ==== command ring ===>  AudioEnd::drain_tick(|cmd| -> R)
//! ControlEnd::collect(f)   <=== return ring =====  (one receipt R per command)
//! ```
//!
//! Every command the audio thread drains produces exactly one receipt `R`. A receipt
//! is how the audio thread gets rid of anything it must not drop itself: an engine
//! uses an enum such as `Applied` / `RemovedNode(Box<dyn DspNode>)` /
//! `OldSchedule(Box<Schedule>)`, and the control thread drops the garbage in
//! [`ControlEnd::collect`].
//!
//! # Real-time contract
//!
//! - **Allocates** (control thread only): [`channel`] and [`ChannelConfig::build`]
//!   allocate the two rings and one small block of connection flags. Nothing else in
//!   this crate allocates.
//! - **Audio thread, wait-free**: [`AudioEnd::drain`] and [`AudioEnd::drain_tick`] do
//!   O(`max`) ring operations plus the `apply` calls, with no allocation, no
//!   deallocation, no lock, no panic, and never drop a `C` or an `R` (each popped
//!   command is moved into `apply`, each receipt into the return ring).
//!   [`AudioEnd::pending`], [`AudioEnd::is_control_connected`],
//!   [`AudioEnd::return_stalls`] and the other accessors are O(1) loads. `apply` is
//!   the caller's code: it must move anything owning heap memory into its receipt.
//! - **Control thread**: [`ControlEnd::try_send`] is O(1) and wait-free and never
//!   allocates (it is safe anywhere). [`ControlEnd::collect`] pops at most
//!   `in_flight` receipts and runs the caller's `f` on each, which is where receipts
//!   are dropped: keep it on the control thread.
//! - **Dropping endpoints**: dropping the [`AudioEnd`] while the [`ControlEnd`] is alive
//!   only clears a flag and decrements reference counts; dropping whichever endpoint
//!   is last frees the rings and drops what they still hold. See [Drop order].
//!
//! # Why the return ring is never full
//!
//! Let `s` be the commands sent, `a` the commands the audio thread has popped, `p`
//! the receipts it has pushed and `k` the receipts collected. At any instant
//!
//! ```text
//! commands queued  (s - a)
//! + being applied  (a - p, 0 or 1)
//! + receipts queued (p - k)
//! = s - k = in_flight
//! ```
//!
//! [`ControlEnd`] counts `in_flight = s - k` itself and [`ControlEnd::try_send`]
//! refuses (handing the command back) when `in_flight == capacity`, so
//! `in_flight <= capacity` always. When the audio thread is about to push the receipt
//! of the command it is applying, that command is counted in `a - p = 1`, so
//! `receipts queued <= in_flight - 1 <= capacity - 1`: there is a free slot. The audio
//! thread may see a stale (smaller) `k`, but only for collects that happened after the
//! command it is applying was sent; collects before that send are visible to it,
//! because it observed that send through the command ring's release/acquire index,
//! and those are exactly the collects the bound needs. The same holds after the
//! [`ControlEnd`] is dropped: `s` stops growing, so nothing can overflow.
//!
//! As defence in depth, [`AudioEnd::drain`] pops a command only when the return ring
//! has a free slot. A protocol bug could therefore only delay a command (counted by
//! [`AudioEnd::return_stalls`], which the tests assert stays 0), never drop or free
//! an item on the audio thread.
//!
//! # Drop order
//!
//! [Drop order]: #drop-order
//!
//! - **[`AudioEnd`] first, [`ControlEnd`] alive** (for example the engine was torn
//!   down): the audio end clears its flag and decrements reference counts; it frees
//!   nothing and drops no item, so this is safe even inside the real-time callback.
//!   Queued commands and receipts stay owned by the rings; the control end can still
//!   [`collect`](ControlEnd::collect) the receipts, [`try_send`](ControlEnd::try_send)
//!   returns [`SendError::Disconnected`], and dropping the control end later frees
//!   the rings and drops the commands that were never drained, on the control thread.
//! - **[`ControlEnd`] first, [`AudioEnd`] alive** (for example the UI closed while audio
//!   runs): the control end clears its flag and decrements reference counts. The
//!   audio end keeps working: [`drain`](AudioEnd::drain) still applies the commands
//!   already queued and pushes their receipts, which accumulate without ever
//!   overflowing (the in-flight bound above still holds). The rings, and every receipt
//!   left in them, are released when the audio end is dropped: **that drop frees
//!   memory, so it belongs off the real-time callback, after the stream has stopped**.
//!   [`AudioEnd::is_control_connected`] lets an engine notice this state.
//! - **Both at once**: whichever reference-count decrement comes last frees. An
//!   audio end may only be dropped on the real-time thread when the control end is
//!   known to outlive that drop.
//!
//! # Loom model
//!
//! `tests/loom_command.rs` runs under `RUSTFLAGS="--cfg loom"`. Loom cannot see the
//! atomics inside `ringbuf`, so in a loom build each ring is a fixed-capacity
//! `loom::sync::Mutex<VecDeque<T>>` behind the same internal interface (`try_push`
//! hands the item back when full, `try_pop` returns `None` when empty), and the
//! connection flags and reference counts use loom's atomics and `Arc` through the
//! private `sync` module. The models check this crate's protocol on every
//! interleaving (up to the preemption bound):
//!
//! 1. every command is applied exactly once and in order, and every receipt is
//!    collected exactly once, with a bounded per-call drain;
//! 2. with the control side sending as fast as it is allowed, the return ring never
//!    lacks room ([`AudioEnd::return_stalls`] stays 0) and refused sends hand the
//!    command back;
//! 3. in both drop orders no command or receipt is dropped on the audio thread while
//!    it runs.
//!
//! What is trusted to `ringbuf` and its own tests: that its `try_push` / `try_pop`
//! and length queries are a correct wait-free SPSC queue, in particular that a
//! consumer's acquire load of the write index synchronises with the producer's
//! release store (and symmetrically for the read index), which is the ordering the
//! argument above relies on.
//!
//! # Examples
//!
//! ```
//! use aether_command::{SendError, channel};
//!
//! enum Command {
//!     SetGain(f32),
//!     RemoveNode(usize),
//! }
//!
//! /// What comes back: garbage the audio thread must not drop itself.
//! enum Receipt {
//!     Applied,
//!     Removed(Box<[f32]>),
//! }
//!
//! let (mut control, mut audio) = channel::<Command, Receipt>(4)?;
//! let mut node_buffers = vec![Some(vec![0.0_f32; 64].into_boxed_slice())];
//! let mut gain = 1.0;
//!
//! control.try_send(Command::SetGain(0.5)).map_err(SendError::into_inner).ok();
//! control.try_send(Command::RemoveNode(0)).map_err(SendError::into_inner).ok();
//!
//! // On the audio thread, once per block:
//! let applied = audio.drain_tick(|command| match command {
//!     Command::SetGain(new_gain) => {
//!         gain = new_gain;
//!         Receipt::Applied
//!     }
//!     Command::RemoveNode(index) => match node_buffers.get_mut(index).and_then(Option::take) {
//!         Some(buffer) => Receipt::Removed(buffer),
//!         None => Receipt::Applied,
//!     },
//! });
//! assert_eq!(applied, 2);
//! assert_eq!(gain, 0.5);
//!
//! // Back on the control thread: the removed buffer is dropped here.
//! let mut freed = 0;
//! control.collect(|receipt| {
//!     if let Receipt::Removed(buffer) = receipt {
//!         freed += buffer.len();
//!     }
//! });
//! assert_eq!(freed, 64);
//! assert_eq!(control.in_flight(), 0);
//! # Ok::<(), aether_command::ConfigError>(())
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(any(test, loom))]
extern crate std;

mod channel;
mod error;
mod ring;
mod sync;

pub use crate::channel::{
    AudioEnd, ChannelConfig, ControlEnd, Endpoints, MAX_CAPACITY, MAX_COMMANDS_PER_TICK, channel,
};
pub use crate::error::{ConfigError, SendError};
