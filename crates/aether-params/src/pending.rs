//! Fixed-capacity queue of scheduled target changes, sorted by when they start.

use crate::PENDING_CAPACITY;

/// How a change moves from the current value to its target, resolved to what the
/// audio path needs (the retention is computed when the change is scheduled).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Transition {
    /// Straight line reaching the target at the `samples`-th produced value (0 = jump).
    Linear {
        /// Ramp length in samples, already capped to [`MAX_RAMP_SAMPLES`](crate::MAX_RAMP_SAMPLES).
        samples: u32,
    },
    /// One-pole approach; each sample keeps `retention` of the remaining distance.
    Exponential {
        /// `exp(-1 / time_constant)`, in `[0, 1)`.
        retention: f32,
    },
}

/// One scheduled change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PendingChange {
    /// Target, already validated and clamped.
    pub(crate) target: f32,
    /// How to get there.
    pub(crate) transition: Transition,
    /// Samples to produce after the previous entry (or, for the front, from now) before
    /// this change starts. Storing deltas means only the front entry counts down.
    delay: u32,
}

const EMPTY_CHANGE: PendingChange = PendingChange {
    target: 0.0,
    transition: Transition::Linear { samples: 0 },
    delay: 0,
};

/// Changes waiting to start, front first. All operations are O(PENDING_CAPACITY),
/// allocation-free and panic-free.
#[derive(Debug, Clone)]
pub(crate) struct PendingQueue {
    entries: [PendingChange; PENDING_CAPACITY],
    len: usize,
}

impl PendingQueue {
    pub(crate) const EMPTY: Self = Self {
        entries: [EMPTY_CHANGE; PENDING_CAPACITY],
        len: 0,
    };

    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Samples until the front change starts, if any change is queued.
    pub(crate) fn front_delay(&self) -> Option<u32> {
        self.live().first().map(|change| change.delay)
    }

    /// Queues a change starting `offset` samples from now, after any change already
    /// queued for the same sample (so the later call wins). Returns the change back
    /// if the queue is full.
    pub(crate) fn insert(
        &mut self,
        target: f32,
        transition: Transition,
        offset: u32,
    ) -> Result<(), PendingChange> {
        let mut change = PendingChange {
            target,
            transition,
            delay: offset,
        };
        if self.len >= PENDING_CAPACITY {
            return Err(change);
        }
        // Walk the deltas to find the first entry that starts strictly later.
        let mut position = self.len;
        for (index, entry) in self.live_mut().iter_mut().enumerate() {
            if entry.delay > change.delay {
                entry.delay -= change.delay;
                position = index;
                break;
            }
            change.delay -= entry.delay;
        }
        // Shift the tail right by one and write the new entry; `position <= len < CAPACITY`.
        let Some(tail) = self.entries.get_mut(position..=self.len) else {
            return Err(change);
        };
        tail.rotate_right(1);
        if let Some(slot) = tail.first_mut() {
            *slot = change;
        }
        self.len += 1;
        Ok(())
    }

    /// Removes and returns the front change if it starts now (its delay has run out).
    pub(crate) fn pop_due(&mut self) -> Option<PendingChange> {
        let front = *self.live().first()?;
        if front.delay != 0 {
            return None;
        }
        if let Some(live) = self.entries.get_mut(..self.len) {
            live.rotate_left(1);
        }
        self.len -= 1;
        Some(front)
    }

    /// Counts `samples` produced samples off the front change's delay.
    pub(crate) fn advance(&mut self, samples: u32) {
        if let Some(front) = self.live_mut().first_mut() {
            front.delay = front.delay.saturating_sub(samples);
        }
    }

    fn live(&self) -> &[PendingChange] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    fn live_mut(&mut self) -> &mut [PendingChange] {
        self.entries.get_mut(..self.len).unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUMP: Transition = Transition::Linear { samples: 0 };

    /// Drains the queue, returning (absolute start, target) pairs.
    fn drain(queue: &mut PendingQueue) -> std::vec::Vec<(u32, f32)> {
        let mut out = std::vec::Vec::new();
        let mut now = 0;
        while let Some(delay) = queue.front_delay() {
            queue.advance(delay);
            now += delay;
            let change = queue.pop_due().unwrap();
            out.push((now, change.target));
        }
        out
    }

    #[test]
    fn keeps_changes_sorted_by_start_and_fifo_for_ties() {
        let mut queue = PendingQueue::EMPTY;
        queue.insert(1.0, JUMP, 30).unwrap();
        queue.insert(2.0, JUMP, 10).unwrap();
        queue.insert(3.0, JUMP, 30).unwrap();
        queue.insert(4.0, JUMP, 20).unwrap();
        assert_eq!(
            drain(&mut queue),
            [(10, 2.0), (20, 4.0), (30, 1.0), (30, 3.0)]
        );
    }

    #[test]
    fn full_queue_hands_the_change_back() {
        let mut queue = PendingQueue::EMPTY;
        for i in 0..PENDING_CAPACITY {
            queue.insert(i as f32, JUMP, 5).unwrap();
        }
        let refused = queue.insert(9.0, JUMP, 1).unwrap_err();
        assert_eq!(refused.target, 9.0);
        assert_eq!(queue.len(), PENDING_CAPACITY);
        assert_eq!(queue.front_delay(), Some(5));
    }

    #[test]
    fn only_due_changes_pop() {
        let mut queue = PendingQueue::EMPTY;
        queue.insert(1.0, JUMP, 2).unwrap();
        assert!(queue.pop_due().is_none());
        queue.advance(1);
        assert!(queue.pop_due().is_none());
        queue.advance(1);
        assert_eq!(queue.pop_due().map(|c| c.target), Some(1.0));
        assert!(queue.pop_due().is_none());
        queue.clear();
        assert_eq!(queue.len(), 0);
    }
}
