//! Errors: [`ArenaFull`] from `insert`, [`CapacityOverflow`] from `grow` / `reserve`.

use core::fmt;

/// Returned by [`Arena::insert`](crate::Arena::insert) when every usable slot is occupied.
///
/// Carries the rejected value back so nothing is lost or dropped on the calling thread;
/// take it out with [`ArenaFull::into_inner`] (or the public field). The fix is to call
/// [`Arena::grow`](crate::Arena::grow) or [`Arena::reserve`](crate::Arena::reserve) from
/// the control thread, then insert again.
///
/// `Debug` does not print the value, so this error works with any `T`
/// (for example `Box<dyn Trait>`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ArenaFull<T>(pub T);

impl<T> ArenaFull<T> {
    /// Gives back the value that could not be inserted.
    #[inline]
    #[must_use]
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for ArenaFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ArenaFull").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for ArenaFull<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "arena is full: every usable slot is occupied \
             (grow or reserve it from the control thread, then insert again)",
        )
    }
}

impl<T> core::error::Error for ArenaFull<T> {}

/// Returned by [`Arena::grow`](crate::Arena::grow) and [`Arena::reserve`](crate::Arena::reserve)
/// when the arena would need more than [`MAX_SLOTS`](crate::MAX_SLOTS) slots.
///
/// The arena is left unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityOverflow {
    pub(crate) current_slots: usize,
    pub(crate) requested_additional: usize,
}

impl CapacityOverflow {
    /// Number of slots the arena had when the request was made.
    #[must_use]
    pub const fn current_slots(&self) -> usize {
        self.current_slots
    }

    /// Number of slots the request asked to add.
    #[must_use]
    pub const fn requested_additional(&self) -> usize {
        self.requested_additional
    }
}

impl fmt::Display for CapacityOverflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot add {} slots to an arena of {} slots: an arena holds at most {} slots",
            self.requested_additional,
            self.current_slots,
            crate::MAX_SLOTS,
        )
    }
}

impl core::error::Error for CapacityOverflow {}
