//! [`Arena`]: the slot vector, its stack of free slot indices and every operation on them.

use alloc::vec::Vec;
use core::fmt;
use core::mem;

use crate::error::{ArenaFull, CapacityOverflow};
use crate::id::Id;
use crate::iter::{Ids, Iter, IterMut};

/// Most slots an arena can have (`u32::MAX`): every slot index fits in the `u32` of an [`Id`].
pub const MAX_SLOTS: usize = u32::MAX as usize;

/// One storage cell.
#[derive(Clone)]
pub(crate) enum Slot<T> {
    /// Holds a value; only an `Id` with this exact generation reaches it.
    Occupied { generation: u32, value: T },
    /// Free and on the free stack; the next insert here hands out `generation`.
    Vacant { generation: u32 },
    /// Its generation is exhausted: it never holds a value again, so no old id can revive.
    /// Not on the free stack.
    Retired,
    /// Emptied by [`Arena::remove_held`] and not reusable until [`Arena::release_held`]; the
    /// next insert after that hands out `generation`. Not on the free stack.
    Held { generation: u32 },
}

/// Generational arena with a fixed, pre-allocated set of slots.
///
/// See the [crate documentation](crate) for the real-time contract. In short: [`insert`],
/// [`remove`], [`get`], [`get_mut`], [`contains`], [`get_by_index`] and
/// [`get_by_index_mut`] are O(1), wait-free and never allocate or free; iteration is
/// O([`slot_count`]) and never allocates; [`with_capacity`], [`grow`] and [`reserve`]
/// allocate and [`clear`] drops values, so those belong on the control thread.
///
/// [`Default`] is [`Arena::new`]: no slots, no allocation, every insert fails with
/// [`ArenaFull`] until the arena is grown.
///
/// [`insert`]: Arena::insert
/// [`remove`]: Arena::remove
/// [`get`]: Arena::get
/// [`get_mut`]: Arena::get_mut
/// [`contains`]: Arena::contains
/// [`get_by_index`]: Arena::get_by_index
/// [`get_by_index_mut`]: Arena::get_by_index_mut
/// [`slot_count`]: Arena::slot_count
/// [`with_capacity`]: Arena::with_capacity
/// [`grow`]: Arena::grow
/// [`reserve`]: Arena::reserve
/// [`clear`]: Arena::clear
pub struct Arena<T> {
    slots: Vec<Slot<T>>,
    /// Stack of vacant slot indices, top last. Every vacant slot is on it exactly once, so
    /// `len() == slots.len() - retired - free.len()`. Its capacity always covers every
    /// slot, so pushing a freed index never reallocates. (A stack rather than a linked list
    /// through the slots: an insert does not wait on a load from the slot the previous
    /// insert took.)
    free: Vec<u32>,
    /// Number of retired slots (excluded from `capacity()`).
    retired: usize,
    /// Indices of held slots (excluded from `capacity()` until released).
    held: Vec<u32>,
}

impl<T> Arena<T> {
    /// Creates an arena with no slots. Does not allocate.
    ///
    /// Every [`insert`](Arena::insert) fails until [`grow`](Arena::grow) or
    /// [`reserve`](Arena::reserve) adds slots.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            retired: 0,
            held: Vec::new(),
        }
    }

    /// Creates an arena with `capacity` vacant slots, allocated up front.
    ///
    /// **Allocates**: call it from the control thread. Afterwards, inserting up to
    /// `capacity` values never allocates.
    ///
    /// # Panics
    ///
    /// If `capacity` exceeds [`MAX_SLOTS`] (or, like `Vec`, if the allocation fails).
    /// Use [`Arena::new`] plus [`Arena::grow`] to get a [`CapacityOverflow`] error instead.
    #[must_use]
    pub fn with_capacity(capacity: usize) -> Self {
        let mut arena = Self::new();
        if let Err(overflow) = arena.grow(capacity) {
            panic!("Arena::with_capacity: {overflow}");
        }
        arena
    }

    /// Adds exactly `additional` vacant slots, so up to `additional` more values fit.
    ///
    /// **Allocates** (the slot storage is reallocated to fit exactly): call it from the
    /// control thread only, never while the audio thread may use the arena. Existing ids stay
    /// valid. O(`slot_count() + additional`).
    ///
    /// # Errors
    ///
    /// [`CapacityOverflow`] if the arena would exceed [`MAX_SLOTS`] slots; the arena is
    /// then unchanged.
    pub fn grow(&mut self, additional: usize) -> Result<(), CapacityOverflow> {
        let first_new = self.slots.len();
        let new_slot_count = first_new
            .checked_add(additional)
            .filter(|&count| count <= MAX_SLOTS)
            .ok_or(CapacityOverflow {
                current_slots: first_new,
                requested_additional: additional,
            })?;
        if additional == 0 {
            return Ok(());
        }
        self.slots.reserve_exact(additional);
        // The free stack must be able to hold every slot at once.
        self.free.reserve_exact(new_slot_count - self.free.len());
        self.slots
            .extend((first_new..new_slot_count).map(|_| Slot::Vacant { generation: 0 }));
        // Push the new indices highest first, so inserts take them in ascending order.
        // Casts are lossless: indices are below MAX_SLOTS.
        self.free
            .extend((first_new..new_slot_count).rev().map(|index| index as u32));
        Ok(())
    }

    /// Makes sure at least `additional` more values fit, growing by the shortfall if needed.
    ///
    /// Does nothing (and does not allocate) if `capacity() - len() >= additional` already;
    /// otherwise **allocates** like [`grow`](Arena::grow). Control thread only.
    ///
    /// # Errors
    ///
    /// [`CapacityOverflow`] if the arena would exceed [`MAX_SLOTS`] slots; the arena is
    /// then unchanged.
    pub fn reserve(&mut self, additional: usize) -> Result<(), CapacityOverflow> {
        match additional.checked_sub(self.free.len()) {
            Some(shortfall) if shortfall > 0 => self.grow(shortfall),
            _ => Ok(()),
        }
    }

    /// Number of values the arena can hold at once without growing.
    ///
    /// This is [`slot_count`](Arena::slot_count) minus the retired slots (a slot whose
    /// generation counter would wrap around, after 2³² values have passed through it, is
    /// retired for good, so that no old id can ever match a new value) and minus the slots
    /// held by [`remove_held`](Arena::remove_held) until [`release_held`](Arena::release_held).
    /// O(1), wait-free.
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.slots.len() - self.retired - self.held.len()
    }

    /// Number of slots, including retired ones: every [`Id::index`] is below this.
    ///
    /// Size per-node side tables with it. It only changes through
    /// [`grow`](Arena::grow) / [`reserve`](Arena::reserve). O(1), wait-free.
    #[inline]
    #[must_use]
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Number of values stored. O(1), wait-free.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.capacity() - self.free.len()
    }

    /// `true` if no value is stored. O(1), wait-free.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `value` in a vacant slot and returns its id.
    ///
    /// O(1), wait-free, never allocates or frees: the slot index is popped off the free
    /// stack, so the most recently freed slot is reused first.
    ///
    /// # Errors
    ///
    /// [`ArenaFull`] carrying `value` back if every usable slot is occupied.
    #[inline]
    pub fn insert(&mut self, value: T) -> Result<Id, ArenaFull<T>> {
        let Some(index) = self.free.pop() else {
            return Err(ArenaFull(value));
        };
        match self.slots.get_mut(index as usize) {
            Some(slot) => match *slot {
                Slot::Vacant { generation } => {
                    *slot = Slot::Occupied { generation, value };
                    Ok(Id::new(index, generation))
                }
                // Unreachable: the free stack only holds vacant slots. Refuse rather than
                // overwrite a value; the bad index is simply discarded.
                Slot::Occupied { .. } | Slot::Retired | Slot::Held { .. } => Err(ArenaFull(value)),
            },
            None => Err(ArenaFull(value)),
        }
    }

    /// Removes the value `id` refers to and hands it back, or `None` if `id` is stale.
    ///
    /// O(1), wait-free, never allocates and never drops anything: the caller receives the
    /// value and decides where it is dropped. The id, and every copy of it, stops matching.
    /// If the slot's generation is exhausted the slot is retired instead of freed (see
    /// [`capacity`](Arena::capacity)).
    #[inline]
    pub fn remove(&mut self, id: Id) -> Option<T> {
        let slot = self.slots.get_mut(id.index() as usize)?;
        if !matches!(*slot, Slot::Occupied { generation, .. } if generation == id.generation()) {
            return None;
        }
        // Push only within the reserved capacity, so this never reallocates. There is always
        // room (every vacant slot fits), so the only way to retire is generation exhaustion.
        let has_room = self.free.len() < self.free.capacity();
        match id.generation().checked_add(1) {
            Some(generation) if has_room => {
                // Replace before pushing: no store between the check above and this read.
                let old = mem::replace(slot, Slot::Vacant { generation });
                self.free.push(id.index());
                take_value(old)
            }
            _ => {
                self.retired += 1;
                take_value(mem::replace(slot, Slot::Retired))
            }
        }
    }

    /// Removes the value `id` refers to like [`remove`](Arena::remove), but holds its slot:
    /// no insert reuses it until [`release_held`](Arena::release_held). For owners whose
    /// slot indices name something elsewhere that is emptied later (the audio side's copy of
    /// a node), so a new value cannot land in a slot whose old occupant is still there.
    ///
    /// **May allocate** (the list of held slots grows): control thread only. O(1) amortized.
    pub fn remove_held(&mut self, id: Id) -> Option<T> {
        let slot = self.slots.get_mut(id.index() as usize)?;
        if !matches!(*slot, Slot::Occupied { generation, .. } if generation == id.generation()) {
            return None;
        }
        match id.generation().checked_add(1) {
            Some(generation) => {
                let old = mem::replace(slot, Slot::Held { generation });
                self.held.push(id.index());
                take_value(old)
            }
            None => {
                self.retired += 1;
                take_value(mem::replace(slot, Slot::Retired))
            }
        }
    }

    /// Makes every slot held by [`remove_held`](Arena::remove_held) reusable again. Never
    /// allocates; O(held slots).
    pub fn release_held(&mut self) {
        for index in self.held.drain(..) {
            if let Some(slot) = self.slots.get_mut(index as usize)
                && let Slot::Held { generation } = *slot
                && self.free.len() < self.free.capacity()
            {
                *slot = Slot::Vacant { generation };
                self.free.push(index);
            }
        }
    }

    /// Number of slots held by [`remove_held`](Arena::remove_held). O(1).
    #[must_use]
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// Shared reference to the value `id` refers to, or `None` if `id` is stale.
    /// O(1), wait-free, never allocates.
    #[inline]
    #[must_use]
    pub fn get(&self, id: Id) -> Option<&T> {
        match self.slots.get(id.index() as usize) {
            Some(Slot::Occupied { generation, value }) if *generation == id.generation() => {
                Some(value)
            }
            _ => None,
        }
    }

    /// Mutable reference to the value `id` refers to, or `None` if `id` is stale.
    /// O(1), wait-free, never allocates.
    #[inline]
    #[must_use]
    pub fn get_mut(&mut self, id: Id) -> Option<&mut T> {
        match self.slots.get_mut(id.index() as usize) {
            Some(Slot::Occupied { generation, value }) if *generation == id.generation() => {
                Some(value)
            }
            _ => None,
        }
    }

    /// `true` if `id` refers to a live value. O(1), wait-free, never allocates.
    #[inline]
    #[must_use]
    pub fn contains(&self, id: Id) -> bool {
        self.get(id).is_some()
    }

    /// The live value in slot `index`, with its current id, for callers that only hold a
    /// dense index (e.g. from a side table). `None` if the slot is vacant, retired or out
    /// of range. O(1), wait-free, never allocates.
    #[inline]
    #[must_use]
    pub fn get_by_index(&self, index: u32) -> Option<(Id, &T)> {
        match self.slots.get(index as usize) {
            Some(Slot::Occupied { generation, value }) => {
                Some((Id::new(index, *generation), value))
            }
            _ => None,
        }
    }

    /// Mutable variant of [`get_by_index`](Arena::get_by_index). O(1), wait-free, never
    /// allocates.
    #[inline]
    #[must_use]
    pub fn get_by_index_mut(&mut self, index: u32) -> Option<(Id, &mut T)> {
        match self.slots.get_mut(index as usize) {
            Some(Slot::Occupied { generation, value }) => {
                Some((Id::new(index, *generation), value))
            }
            _ => None,
        }
    }

    /// Iterates over `(Id, &T)` in ascending index order.
    ///
    /// Never allocates; a full pass is O([`slot_count`](Arena::slot_count)) (it stops
    /// early once every live value has been seen).
    #[inline]
    pub fn iter(&self) -> Iter<'_, T> {
        Iter::new(&self.slots, self.len())
    }

    /// Iterates over `(Id, &mut T)` in ascending index order.
    ///
    /// Never allocates; a full pass is O([`slot_count`](Arena::slot_count)).
    #[inline]
    pub fn iter_mut(&mut self) -> IterMut<'_, T> {
        let len = self.len();
        IterMut::new(&mut self.slots, len)
    }

    /// Iterates over the ids of live values in ascending index order.
    ///
    /// Never allocates; a full pass is O([`slot_count`](Arena::slot_count)).
    #[inline]
    pub fn ids(&self) -> Ids<'_, T> {
        Ids::new(self.iter())
    }

    /// Drops every value and invalidates every outstanding id; keeps all slots.
    ///
    /// **Drops values on the calling thread** (which frees whatever they own): call it from
    /// the control thread. Never allocates. O([`slot_count`](Arena::slot_count)). Afterwards
    /// inserts take slots in ascending index order; slots whose generation is exhausted are
    /// retired. If a value's `Drop` panics, the arena is left consistent: the values dropped
    /// so far are gone (their ids stale, their slots free), the rest stay stored.
    pub fn clear(&mut self) {
        // Pass 1: empty every occupied slot. Each slot is freed (or retired) before its
        // value is dropped, so the arena is consistent whenever user `Drop` code runs.
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let Slot::Occupied { generation, .. } = *slot else {
                continue;
            };
            let has_room = self.free.len() < self.free.capacity();
            let replacement = match generation.checked_add(1) {
                Some(generation) if has_room => {
                    // Lossless: indices are below MAX_SLOTS.
                    self.free.push(index as u32);
                    Slot::Vacant { generation }
                }
                _ => {
                    self.retired += 1;
                    Slot::Retired
                }
            };
            drop(mem::replace(slot, replacement));
        }
        // Pass 2 (no user code): restack the vacant slots, lowest index on top.
        // It holds the same indices as before, so it stays within its capacity.
        self.free.clear();
        for (index, slot) in self.slots.iter().enumerate().rev() {
            if matches!(slot, Slot::Vacant { .. }) && self.free.len() < self.free.capacity() {
                self.free.push(index as u32);
            }
        }
    }

    /// Test-only: panics unless the internal invariants hold.
    #[cfg(test)]
    pub(crate) fn assert_invariants(&self) {
        assert!(
            self.free.capacity() >= self.slots.len(),
            "free stack can hold every slot"
        );
        let mut on_stack = alloc::vec![false; self.slots.len()];
        for &index in &self.free {
            let seen = on_stack
                .get_mut(index as usize)
                .expect("free index in range");
            assert!(!*seen, "slot {index} is on the free stack twice");
            *seen = true;
        }
        let mut retired = 0;
        let mut held = 0;
        for (slot, on_stack) in self.slots.iter().zip(on_stack) {
            match slot {
                Slot::Vacant { .. } => assert!(on_stack, "every vacant slot is on the stack"),
                Slot::Occupied { .. } => assert!(!on_stack, "no occupied slot is on the stack"),
                Slot::Retired => {
                    assert!(!on_stack, "no retired slot is on the stack");
                    retired += 1;
                }
                Slot::Held { .. } => {
                    assert!(!on_stack, "no held slot is on the stack");
                    held += 1;
                }
            }
        }
        assert_eq!(self.retired, retired);
        assert_eq!(self.held.len(), held);
        let occupied = self
            .slots
            .iter()
            .filter(|slot| matches!(slot, Slot::Occupied { .. }))
            .count();
        assert_eq!(self.len(), occupied);
    }

    /// Test-only: an arena whose vacant slots all start at `generation`, so generation
    /// exhaustion can be tested without 2³² inserts.
    #[cfg(test)]
    pub(crate) fn with_capacity_at_generation(capacity: usize, start_generation: u32) -> Self {
        let mut arena = Self::with_capacity(capacity);
        for slot in &mut arena.slots {
            if let Slot::Vacant { generation } = slot {
                *generation = start_generation;
            }
        }
        arena
    }
}

/// The value of a slot known to be occupied (`None` is unreachable).
#[inline]
fn take_value<T>(slot: Slot<T>) -> Option<T> {
    match slot {
        Slot::Occupied { value, .. } => Some(value),
        Slot::Vacant { .. } | Slot::Retired | Slot::Held { .. } => None,
    }
}

impl<T: Clone> Clone for Arena<T> {
    /// Deep copy. **Allocates**: control thread only. Ids of `self` work on the copy.
    fn clone(&self) -> Self {
        // A derived clone would shrink the free stack's capacity to its length.
        let mut free = Vec::with_capacity(self.slots.len());
        free.extend_from_slice(&self.free);
        Self {
            slots: self.slots.clone(),
            free,
            retired: self.retired,
            held: self.held.clone(),
        }
    }
}

impl<T> Default for Arena<T> {
    /// Same as [`Arena::new`]: no slots, no allocation.
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for Arena<T> {
    /// Formats the live values as a map from [`Id`] to value, in index order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, T> IntoIterator for &'a Arena<T> {
    type Item = (Id, &'a T);
    type IntoIter = Iter<'a, T>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Arena<T> {
    type Item = (Id, &'a mut T);
    type IntoIter = IterMut<'a, T>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}
