//! Borrowing iterators over an [`Arena`](crate::Arena), in ascending index order.

use core::iter::{Enumerate, FusedIterator};
use core::slice;

use crate::arena::Slot;
use crate::id::Id;

/// Iterator over `(Id, &T)`, from [`Arena::iter`](crate::Arena::iter).
///
/// Never allocates; stops as soon as every live value has been yielded.
pub struct Iter<'a, T> {
    slots: Enumerate<slice::Iter<'a, Slot<T>>>,
    remaining: usize,
}

impl<'a, T> Iter<'a, T> {
    pub(crate) fn new(slots: &'a [Slot<T>], len: usize) -> Self {
        Self {
            slots: slots.iter().enumerate(),
            remaining: len,
        }
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = (Id, &'a T);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        for (index, slot) in self.slots.by_ref() {
            if let Slot::Occupied { generation, value } = slot {
                self.remaining -= 1;
                // Lossless: slot indices are below MAX_SLOTS.
                return Some((Id::new(index as u32, *generation), value));
            }
        }
        None
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}
impl<T> FusedIterator for Iter<'_, T> {}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
            remaining: self.remaining,
        }
    }
}

/// Iterator over `(Id, &mut T)`, from [`Arena::iter_mut`](crate::Arena::iter_mut).
///
/// Never allocates; stops as soon as every live value has been yielded.
pub struct IterMut<'a, T> {
    slots: Enumerate<slice::IterMut<'a, Slot<T>>>,
    remaining: usize,
}

impl<'a, T> IterMut<'a, T> {
    pub(crate) fn new(slots: &'a mut [Slot<T>], len: usize) -> Self {
        Self {
            slots: slots.iter_mut().enumerate(),
            remaining: len,
        }
    }
}

impl<'a, T> Iterator for IterMut<'a, T> {
    type Item = (Id, &'a mut T);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        for (index, slot) in self.slots.by_ref() {
            if let Slot::Occupied { generation, value } = slot {
                self.remaining -= 1;
                // Lossless: slot indices are below MAX_SLOTS.
                return Some((Id::new(index as u32, *generation), value));
            }
        }
        None
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T> ExactSizeIterator for IterMut<'_, T> {}
impl<T> FusedIterator for IterMut<'_, T> {}

/// Iterator over the ids of live values, from [`Arena::ids`](crate::Arena::ids).
///
/// Never allocates; stops as soon as every live id has been yielded.
pub struct Ids<'a, T> {
    inner: Iter<'a, T>,
}

impl<'a, T> Ids<'a, T> {
    pub(crate) fn new(inner: Iter<'a, T>) -> Self {
        Self { inner }
    }
}

impl<T> Iterator for Ids<'_, T> {
    type Item = Id;

    #[inline]
    fn next(&mut self) -> Option<Id> {
        self.inner.next().map(|(id, _)| id)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<T> ExactSizeIterator for Ids<'_, T> {}
impl<T> FusedIterator for Ids<'_, T> {}

impl<T> Clone for Ids<'_, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}
