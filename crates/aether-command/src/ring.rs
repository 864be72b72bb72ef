//! The bounded single-producer single-consumer queue behind both rings.
//!
//! Normal builds wrap [`ringbuf::HeapRb`] (lock-free, wait-free `try_push` / `try_pop`).
//! Under `cfg(loom)` the same interface is backed by a `loom::sync::Mutex<VecDeque<T>>`
//! with a fixed capacity, because loom cannot see the atomics inside `ringbuf`: the loom
//! models therefore check this crate's protocol on top of a queue with the same
//! semantics, and trust `ringbuf` for its own memory ordering.
//!
//! Semantics shared by both back-ends:
//! - `try_push` hands the item back when the queue holds `capacity` items;
//! - `try_pop` returns `None` when the queue is empty;
//! - neither allocates, frees or drops an item;
//! - a length observed by one side is exact for the items that side itself moves and
//!   conservative for the other side (the peer can only make a producer's vacancy or a
//!   consumer's occupancy grow).

use alloc::collections::TryReserveError;
use core::num::NonZeroUsize;

#[cfg(not(loom))]
pub(crate) use self::ringbuf_backend::{RingConsumer, RingProducer, ring};

#[cfg(loom)]
pub(crate) use self::loom_backend::{RingConsumer, RingProducer, ring};

#[cfg(not(loom))]
mod ringbuf_backend {
    use super::{NonZeroUsize, TryReserveError};
    use ringbuf::traits::{Consumer, Observer, Producer, Split};
    use ringbuf::{HeapCons, HeapProd, HeapRb};

    /// Write end of a bounded SPSC queue.
    pub(crate) struct RingProducer<T> {
        inner: HeapProd<T>,
    }

    /// Read end of a bounded SPSC queue.
    pub(crate) struct RingConsumer<T> {
        inner: HeapCons<T>,
    }

    /// Allocates a queue of `capacity` slots (control thread only) and splits it.
    ///
    /// `capacity` must be at most `usize::MAX / 2` (ringbuf's indices run modulo
    /// `2 * capacity`); the caller checks this.
    pub(crate) fn ring<T>(
        capacity: NonZeroUsize,
    ) -> Result<(RingProducer<T>, RingConsumer<T>), TryReserveError> {
        let (producer, consumer) = HeapRb::<T>::try_new(capacity.get())?.split();
        Ok((
            RingProducer { inner: producer },
            RingConsumer { inner: consumer },
        ))
    }

    impl<T> RingProducer<T> {
        /// Appends `item`, or hands it back if every slot is occupied. Wait-free.
        #[inline]
        pub(crate) fn try_push(&mut self, item: T) -> Result<(), T> {
            self.inner.try_push(item)
        }

        /// Whether every slot is occupied (re-reads the consumer's index). Wait-free.
        #[inline]
        pub(crate) fn is_full(&self) -> bool {
            self.inner.is_full()
        }
    }

    impl<T> RingConsumer<T> {
        /// Removes the oldest item, if any. Wait-free.
        #[inline]
        pub(crate) fn try_pop(&mut self) -> Option<T> {
            self.inner.try_pop()
        }

        /// Whether the queue holds no item (re-reads the producer's index). Wait-free.
        #[inline]
        pub(crate) fn is_empty(&self) -> bool {
            self.inner.is_empty()
        }

        /// Number of queued items (re-reads the producer's index). Wait-free.
        #[inline]
        pub(crate) fn occupied_len(&self) -> usize {
            self.inner.occupied_len()
        }
    }
}

#[cfg(loom)]
mod loom_backend {
    use super::{NonZeroUsize, TryReserveError};
    use crate::sync::{Arc, Mutex};
    use alloc::collections::VecDeque;

    /// The queue shared by both ends: a fixed-capacity deque behind a loom mutex.
    struct Bounded<T> {
        items: Mutex<VecDeque<T>>,
        capacity: usize,
    }

    impl<T> Bounded<T> {
        fn with_items<U>(&self, f: impl FnOnce(&mut VecDeque<T>) -> U) -> U {
            let mut guard = match self.items.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            f(&mut guard)
        }
    }

    /// Write end of a bounded SPSC queue (loom model).
    pub(crate) struct RingProducer<T> {
        shared: Arc<Bounded<T>>,
    }

    /// Read end of a bounded SPSC queue (loom model).
    pub(crate) struct RingConsumer<T> {
        shared: Arc<Bounded<T>>,
    }

    /// Allocates a queue of `capacity` slots and splits it.
    pub(crate) fn ring<T>(
        capacity: NonZeroUsize,
    ) -> Result<(RingProducer<T>, RingConsumer<T>), TryReserveError> {
        let mut items = VecDeque::new();
        items.try_reserve_exact(capacity.get())?;
        let shared = Arc::new(Bounded {
            items: Mutex::new(items),
            capacity: capacity.get(),
        });
        Ok((
            RingProducer {
                shared: Arc::clone(&shared),
            },
            RingConsumer { shared },
        ))
    }

    impl<T> RingProducer<T> {
        /// Appends `item`, or hands it back if every slot is occupied.
        pub(crate) fn try_push(&mut self, item: T) -> Result<(), T> {
            let capacity = self.shared.capacity;
            self.shared.with_items(|items| {
                if items.len() < capacity {
                    items.push_back(item);
                    Ok(())
                } else {
                    Err(item)
                }
            })
        }

        /// Whether every slot is occupied.
        pub(crate) fn is_full(&self) -> bool {
            let capacity = self.shared.capacity;
            self.shared.with_items(|items| items.len() >= capacity)
        }
    }

    impl<T> RingConsumer<T> {
        /// Removes the oldest item, if any.
        pub(crate) fn try_pop(&mut self) -> Option<T> {
            self.shared.with_items(VecDeque::pop_front)
        }

        /// Whether the queue holds no item.
        pub(crate) fn is_empty(&self) -> bool {
            self.shared.with_items(|items| items.is_empty())
        }

        /// Number of queued items.
        pub(crate) fn occupied_len(&self) -> usize {
            self.shared.with_items(|items| items.len())
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::ring;
    use core::num::NonZeroUsize;

    #[test]
    fn push_hands_the_item_back_when_full_and_pop_is_fifo() {
        let capacity = NonZeroUsize::new(2).expect("2 is non-zero");
        let (mut producer, mut consumer) = ring::<u32>(capacity).expect("a tiny ring allocates");
        assert!(consumer.is_empty());
        assert_eq!(producer.try_push(1), Ok(()));
        assert_eq!(producer.try_push(2), Ok(()));
        assert!(producer.is_full());
        assert_eq!(producer.try_push(3), Err(3));
        assert_eq!(consumer.occupied_len(), 2);
        assert_eq!(consumer.try_pop(), Some(1));
        assert!(!producer.is_full());
        assert_eq!(consumer.try_pop(), Some(2));
        assert_eq!(consumer.try_pop(), None);
        assert!(consumer.is_empty());
    }
}
