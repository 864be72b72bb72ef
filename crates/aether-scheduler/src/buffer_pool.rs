//! Pre-allocated, SIMD-aligned audio buffers.

use core::borrow::{Borrow, BorrowMut};

use aether_graph::{BUFFER_SIZE, Block};

/// One block of samples aligned to a 64-byte cache line (enough for any SIMD width in use).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(64))]
pub struct AlignedBlock(pub Block);

impl Default for AlignedBlock {
    fn default() -> Self {
        AlignedBlock([0.0; BUFFER_SIZE])
    }
}

impl Borrow<Block> for AlignedBlock {
    fn borrow(&self) -> &Block {
        &self.0
    }
}

impl BorrowMut<Block> for AlignedBlock {
    fn borrow_mut(&mut self) -> &mut Block {
        &mut self.0
    }
}

/// A fixed set of audio buffers, allocated once on the control thread.
///
/// # Real-time contract
///
/// [`BufferPool::new`] allocates and dropping a pool frees: both belong to the control thread.
/// The audio thread only reads and writes blocks. When a new schedule needs more buffers than the
/// audio side has, the control side allocates a larger pool and sends it with the schedule; the
/// old pool travels back to the control thread to be dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferPool {
    blocks: Box<[AlignedBlock]>,
}

impl BufferPool {
    /// A pool of `count` silent buffers. Allocates.
    pub fn new(count: usize) -> Self {
        BufferPool {
            blocks: vec![AlignedBlock::default(); count].into_boxed_slice(),
        }
    }

    /// Number of buffers.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// `true` if the pool has no buffers.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Bytes of sample memory held.
    pub fn memory_bytes(&self) -> usize {
        core::mem::size_of_val(&*self.blocks)
    }

    /// Buffer `index`, if it exists.
    pub fn block(&self, index: usize) -> Option<&Block> {
        self.blocks.get(index).map(|aligned| &aligned.0)
    }

    /// Buffer `index` for writing, if it exists.
    pub fn block_mut(&mut self, index: usize) -> Option<&mut Block> {
        self.blocks.get_mut(index).map(|aligned| &mut aligned.0)
    }

    /// Every buffer, for the parallel executor.
    #[cfg(feature = "parallel")]
    pub(crate) fn blocks_mut(&mut self) -> &mut [AlignedBlock] {
        &mut self.blocks
    }

    /// Raw access for the executor, which reads several buffers while writing another.
    pub(crate) fn as_mut_ptr(&mut self) -> *mut AlignedBlock {
        self.blocks.as_mut_ptr()
    }
}
