//! The one place this crate reaches for threads and atomics: std's normally, loom's under
//! `cfg(loom)` so the loom models see every shared access, park and unpark. The `Arc` holding
//! the shared state is std's in both builds: its reference counts are not part of the protocol,
//! and modelling them would only multiply the interleavings the models explore.

pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::thread;

/// One iteration of a busy wait: a CPU hint normally, a yield to the model checker under loom.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// Parks the current thread until it is unparked or `timeout` has passed (or spuriously).
/// Normally `std::thread::park_timeout`. Under loom a plain `park`: loom has no clock, and a
/// return on timeout is indistinguishable, for the protocol, from a spurious return, which
/// every caller must tolerate anyway; what loom checks is that the unparks alone suffice.
#[inline]
pub(crate) fn park_timeout(timeout: core::time::Duration) {
    #[cfg(not(loom))]
    std::thread::park_timeout(timeout);
    #[cfg(loom)]
    {
        let _ = timeout;
        loom::thread::park();
    }
}
