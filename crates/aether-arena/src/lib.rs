//! Generational arena for node storage: pre-allocated slots, O(1) allocation-free insert and remove, ids that never outlive their value.
//!
//! An [`Arena<T>`] owns a fixed set of slots allocated up front. [`Arena::insert`] pops a
//! vacant slot off a pre-allocated stack of free indices and returns an [`Id`]: the slot's
//! dense index plus its current generation. Removing a value bumps the slot's generation,
//! so a stale id (its value removed, the arena cleared, or the slot reused) never reaches
//! the new occupant.
//! When a slot's 32-bit generation is exhausted the slot is retired for good rather than
//! wrapping, so not even 2³² reuses can bring an old id back to life.
//!
//! # Real-time contract
//!
//! - **Wait-free, O(1), never allocate or free, never panic on any input** (safe to call
//!   from the audio thread): [`Arena::insert`], [`Arena::remove`], [`Arena::get`],
//!   [`Arena::get_mut`], [`Arena::contains`], [`Arena::get_by_index`],
//!   [`Arena::get_by_index_mut`], [`Arena::len`], [`Arena::is_empty`],
//!   [`Arena::capacity`], [`Arena::slot_count`] and everything on [`Id`].
//!   A full arena does not grow: `insert` returns [`ArenaFull`] with the value inside.
//!   `remove` hands the value back instead of dropping it, so the caller picks the thread
//!   that drops it.
//! - **Never allocate, O([`Arena::slot_count`]) per full pass**: [`Arena::iter`],
//!   [`Arena::iter_mut`], [`Arena::ids`].
//! - **Control thread only**: [`Arena::with_capacity`], [`Arena::grow`] and
//!   [`Arena::reserve`] allocate; [`Arena::clear`] drops every value; `Clone` allocates.
//!   [`Arena::new`] / [`Default`] do not allocate but give an arena with no slots.
//!
//! The crate is `#![no_std]` (it needs `alloc`) and contains no `unsafe` code.
//!
//! # Examples
//!
//! ```
//! use aether_arena::{Arena, Id};
//!
//! // Control thread: allocate every slot up front.
//! let mut nodes: Arena<&str> = Arena::with_capacity(2);
//!
//! // Any thread: O(1), no allocation.
//! let osc = nodes.insert("oscillator").unwrap();
//! let filter = nodes.insert("filter").unwrap();
//! assert_eq!(nodes.get(osc), Some(&"oscillator"));
//!
//! // Full: the value comes back instead of the arena reallocating.
//! let full = nodes.insert("reverb").unwrap_err();
//! assert_eq!(full.into_inner(), "reverb");
//!
//! // Removing hands the value back; the old id never matches again.
//! assert_eq!(nodes.remove(osc), Some("oscillator"));
//! let reverb = nodes.insert("reverb").unwrap();
//! assert_eq!(reverb.index(), osc.index()); // same slot...
//! assert_eq!(nodes.get(osc), None); // ...but the stale id misses it
//!
//! // Ids round-trip through a u64 for snapshots, and display as index`v`generation.
//! assert_eq!(Id::from_bits(reverb.to_bits()), reverb);
//! assert_eq!(reverb.to_string(), "0v1");
//!
//! let live: Vec<_> = nodes.iter().map(|(_, name)| *name).collect();
//! assert_eq!(live, ["reverb", "filter"]);
//!
//! // Control thread: more room.
//! nodes.reserve(10).unwrap();
//! assert_eq!(nodes.capacity(), 12);
//! # let _ = filter;
//! ```
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

extern crate alloc;

mod arena;
mod error;
mod id;
mod iter;
#[cfg(test)]
mod tests;

pub use arena::{Arena, MAX_SLOTS};
pub use error::{ArenaFull, CapacityOverflow};
pub use id::Id;
pub use iter::{Ids, Iter, IterMut};
