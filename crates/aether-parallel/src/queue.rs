//! A bounded multi-producer multi-consumer queue of task indices on a fixed array of slots.
//!
//! Each slot is one atomic word holding a task index and the tag `position + 1` of the queue
//! position it was pushed at, so a consumer sees a task and the position it belongs to in one
//! load. A push is one `fetch_add` on the tail and one release store; a pop is a load of the
//! head, an acquire load of the slot and a compare-exchange on the head. Lock-free; push and pop
//! never allocate, and a pop retries only while other pops move the head.

use crate::sync::{AtomicU64, AtomicUsize, Ordering};

/// The ready queue of task indices (exposed to the loom models under `cfg(loom)` only).
///
/// Precondition of [`push`](Self::push): at most `capacity` pushes since the last time the queue
/// was empty with no pop in progress (the executor pushes each task of a block once, a block has
/// at most `capacity` tasks, and a block starts only after every pop of the previous one
/// finished). Otherwise a push could overwrite a task not yet taken.
pub struct TaskQueue {
    slots: Box<[AtomicU64]>,
    mask: usize,
    head: AtomicUsize,
    tail: AtomicUsize,
}

/// The slot word for `task` pushed at `position`.
fn entry(position: usize, task: u32) -> u64 {
    (u64::from(tag(position)) << 32) | u64::from(task)
}

/// The tag of `position`: never 0 for position 0, so a fresh (zeroed) slot reads as empty.
fn tag(position: usize) -> u32 {
    (position as u32).wrapping_add(1)
}

impl TaskQueue {
    /// A queue holding at least `capacity` entries (rounded up to a power of two, at least 2).
    /// Allocates: control thread only.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(2).next_power_of_two();
        TaskQueue {
            slots: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            mask: capacity - 1,
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
        }
    }

    /// Appends `task` (see the type's precondition on capacity). Wait-free: two atomic
    /// operations. The release store publishes everything the caller wrote before the push to
    /// the thread that pops the task.
    pub fn push(&self, task: u32) {
        let position = self.tail.fetch_add(1, Ordering::Relaxed);
        if let Some(slot) = self.slots.get(position & self.mask) {
            slot.store(entry(position, task), Ordering::Release);
        }
    }

    /// Takes the oldest task, or `None` if the queue is empty (or the oldest push is mid-way).
    pub fn pop(&self) -> Option<u32> {
        let mut position = self.head.load(Ordering::Relaxed);
        loop {
            let word = self
                .slots
                .get(position & self.mask)?
                .load(Ordering::Acquire);
            let ahead = ((word >> 32) as u32).wrapping_sub(tag(position)) as i32;
            if ahead < 0 {
                // The slot still holds an older entry: nothing pushed at `position` yet.
                return None;
            }
            if ahead > 0 {
                // `position` was taken and the slot reused: the head moved on.
                position = self.head.load(Ordering::Relaxed);
                continue;
            }
            match self.head.compare_exchange_weak(
                position,
                position.wrapping_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(word as u32),
                Err(current) => position = current,
            }
        }
    }
}
