//! [`Id`]: a dense slot index paired with the generation that slot had when the value went in.

use core::fmt;

/// Handle to a value stored in an [`Arena`](crate::Arena).
///
/// An `Id` is a dense slot index plus the generation the slot had when the value was
/// inserted. The arena bumps a slot's generation every time its value leaves, so an `Id`
/// kept after [`Arena::remove`](crate::Arena::remove) or [`Arena::clear`](crate::Arena::clear)
/// never reaches whatever later occupies the same slot.
///
/// Ids order by index first, then by generation. They display as `{index}v{generation}`,
/// e.g. `3v1`.
///
/// # Real-time contract
///
/// Every method is `const`, O(1), wait-free and never allocates.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id {
    // Field order matters: the derived `Ord` compares the index first.
    index: u32,
    generation: u32,
}

impl Id {
    #[inline]
    pub(crate) const fn new(index: u32, generation: u32) -> Self {
        Self { index, generation }
    }

    /// Dense slot index, in `0..arena.slot_count()`.
    ///
    /// At most one live value has a given index at a time, so other crates can use it to
    /// index per-node side tables sized to [`Arena::slot_count`](crate::Arena::slot_count).
    #[inline]
    #[must_use]
    pub const fn index(self) -> u32 {
        self.index
    }

    /// Generation of the slot when this id was handed out.
    #[inline]
    #[must_use]
    pub const fn generation(self) -> u32 {
        self.generation
    }

    /// Packs the id into a `u64` (generation in the high 32 bits, index in the low 32),
    /// for storing stable ids in snapshots. [`Id::from_bits`] is the exact inverse.
    #[inline]
    #[must_use]
    pub const fn to_bits(self) -> u64 {
        ((self.generation as u64) << 32) | self.index as u64
    }

    /// Rebuilds an id packed by [`Id::to_bits`].
    ///
    /// Every `u64` is accepted. A fabricated or outdated id is harmless: an arena only
    /// resolves it if a value with exactly that index and generation is live, and otherwise
    /// treats it like any stale id (`get` returns `None`, `remove` does nothing).
    #[inline]
    #[must_use]
    pub const fn from_bits(bits: u64) -> Self {
        Self {
            index: bits as u32,
            generation: (bits >> 32) as u32,
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}v{}", self.index, self.generation)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}
