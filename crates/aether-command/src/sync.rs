//! Synchronisation primitives, switched to loom's model-checked versions under `cfg(loom)`.
//!
//! Every atomic and `Arc` this crate owns is reached through this module so that a
//! `--cfg loom` build lets loom see (and permute) every cross-thread access the crate
//! makes itself. The ring buffers are switched separately, in [`crate::ring`].

#[cfg(not(loom))]
pub(crate) use alloc::sync::Arc;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex};
