//! What travels between the halves: commands to the audio side, receipts back.

use aether_graph::{DspNode, NodeId, ParamChange, Quarantined, Schedule};
use aether_params::ParamBlock;

use crate::buffer_pool::BufferPool;

/// A node instance travelling to the audio side. After the audio side installs it, `node` holds
/// whatever the table slot held before (always `None` for a consistent commit), so nothing is
/// ever dropped on the audio thread.
pub(crate) struct AddedNode {
    pub(crate) id: NodeId,
    pub(crate) node: Option<Box<dyn DspNode>>,
    pub(crate) params: ParamBlock,
}

/// A removed node's slot; the audio side swaps the instance into `node` for the trip back (and,
/// for a node that panicked, its panic payload into `payload`).
pub(crate) struct RemovedNode {
    pub(crate) id: NodeId,
    pub(crate) node: Option<Box<dyn DspNode>>,
    pub(crate) payload: Option<Box<dyn core::any::Any + Send>>,
}

/// Per-node storage of the audio side: node instances and their parameter blocks, indexed by
/// [`NodeId::index`].
pub(crate) struct NodeTable {
    pub(crate) nodes: Box<[Option<Box<dyn DspNode>>]>,
    pub(crate) params: Box<[ParamBlock]>,
    /// Nodes that panicked, with their panic payloads, moved out of `nodes` (whose slot is then
    /// empty, so they are never called again and output silence); removing the node takes both
    /// from here for the trip back.
    pub(crate) quarantine: Box<[Quarantined]>,
}

impl NodeTable {
    pub(crate) fn new(slots: usize) -> Self {
        NodeTable {
            nodes: (0..slots).map(|_| None).collect(),
            params: vec![ParamBlock::new(); slots].into_boxed_slice(),
            quarantine: (0..slots).map(|_| Quarantined::default()).collect(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }
}

/// Most nodes one command carries to or from the audio side: a commit of many nodes travels
/// as many batches of new nodes (sent before its schedule swap) and of removed nodes (sent
/// after it), so no single command asks the audio side for more than this many node moves.
pub const NODES_PER_BATCH: usize = 64;

/// Most node moves (installs and retirements) the audio side applies in one block; the rest of
/// a large commit waits for the next blocks. With [`NODES_PER_BATCH`] this bounds a block's
/// command work to a few tens of microseconds whatever the size of a commit.
pub const NODE_MOVES_PER_BLOCK: usize = 512;

/// A batch of node moves: nodes to install into empty slots, or removed nodes to hand back.
pub(crate) struct NodeBatch {
    /// Nodes to install (for [`Command::Install`]); after applying, each holds what its slot
    /// held before (always `None`).
    pub(crate) added: Vec<AddedNode>,
    /// Removed nodes to take out (for [`Command::Retire`]); after applying, each holds its
    /// instance for the trip back.
    pub(crate) removed: Vec<RemovedNode>,
}

impl NodeBatch {
    /// Node moves this batch asks for.
    pub(crate) fn moves(&self) -> usize {
        self.added.len() + self.removed.len()
    }
}

/// The schedule swap of a structural change, compiled on the control side. The audio side
/// applies it in O(1) pointer swaps, swapping every replaced item into this same box, which
/// then travels back as [`Receipt::Commit`]. The nodes its schedule uses were installed by the
/// [`Command::Install`]s sent before it; the ones it no longer uses go back in the
/// [`Command::Retire`]s sent after it.
pub(crate) struct Commit {
    /// The new schedule; after applying, the old one.
    pub(crate) schedule: Schedule,
    /// With a parallel `schedule` and the measured choice on: the same graph compiled for one
    /// thread (buffers by liveness), what the audio side runs when it measures the executor does
    /// not pay. `None` otherwise. After applying, the old one.
    pub(crate) in_order: Option<Schedule>,
    /// A larger buffer pool; after applying, the old one.
    pub(crate) pool: Option<BufferPool>,
}

/// A command to the audio side. A structural change is a sequence, sent in this order through
/// the FIFO ring: [`Grow`](Command::Grow) (when the graph has more slots than the audio side's
/// table), [`Install`](Command::Install) batches (new nodes into slots the running schedule does
/// not use: the graph never hands out a slot whose removal has not been delivered), one
/// [`Commit`](Command::Commit), then [`Retire`](Command::Retire) batches.
pub(crate) enum Command {
    /// A larger node table: every node (a pointer) and parameter block moves into it, and the
    /// emptied old table goes back. O(old table length), the one command whose work grows with
    /// the graph; sizing `EngineConfig::node_capacity` for the graph avoids it.
    Grow(Box<NodeTable>),
    /// Install new nodes into empty slots.
    Install(Box<NodeBatch>),
    /// Swap in a new schedule (and pool).
    Commit(Box<Commit>),
    /// Take removed nodes out of their slots (or out of quarantine) for the trip back.
    Retire(Box<NodeBatch>),
    /// Change one parameter (no recompilation).
    SetParam(ParamChange),
}

impl Command {
    /// Node moves applying this command costs (a [`Grow`](Command::Grow) counts its table).
    pub(crate) fn moves(&self) -> usize {
        match self {
            Command::Grow(_) | Command::Commit(_) | Command::SetParam(_) => 0,
            Command::Install(batch) | Command::Retire(batch) => batch.moves(),
        }
    }
}

/// Exactly one receipt comes back per command (the ring's protocol), carrying anything the audio
/// side must not drop.
pub(crate) enum Receipt {
    /// A parameter change was applied.
    ParamApplied,
    /// A parameter change could not be applied (its node's queue of offset changes was full).
    ParamRefused,
    /// A commit was applied; the box holds the replaced schedules and pool. It is never read:
    /// it exists to be dropped on the control thread.
    Commit(#[allow(dead_code)] Box<Commit>),
    /// A batch was applied; the box holds the removed instances (and the emptied slots of
    /// installed ones), to be dropped on the control thread.
    Batch(#[allow(dead_code)] Box<NodeBatch>),
    /// A table growth was applied; the box holds the emptied old table.
    Grow(#[allow(dead_code)] Box<NodeTable>),
}
