//! What travels between the halves: commands to the audio side, receipts back.

use aether_graph::{DspNode, NodeId, ParamChange, Schedule};
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

/// A removed node's slot; the audio side swaps the instance into `node` for the trip back.
pub(crate) struct RemovedNode {
    pub(crate) id: NodeId,
    pub(crate) node: Option<Box<dyn DspNode>>,
}

/// Per-node storage of the audio side: node instances and their parameter blocks, indexed by
/// [`NodeId::index`].
pub(crate) struct NodeTable {
    pub(crate) nodes: Box<[Option<Box<dyn DspNode>>]>,
    pub(crate) params: Box<[ParamBlock]>,
    /// Nodes that panicked, moved out of `nodes` (whose slot is then empty, so they are never
    /// called again and output silence); removing the node takes it from here.
    pub(crate) quarantine: Box<[Option<Box<dyn DspNode>>]>,
}

impl NodeTable {
    pub(crate) fn new(slots: usize) -> Self {
        NodeTable {
            nodes: (0..slots).map(|_| None).collect(),
            params: vec![ParamBlock::new(); slots].into_boxed_slice(),
            quarantine: (0..slots).map(|_| None).collect(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }
}

/// A structural change, compiled on the control side. The audio side applies it in O(added +
/// removed) pointer moves (plus O(slots) when the node table grows), swapping every replaced
/// item into this same box, which then travels back as [`Receipt::Commit`].
pub(crate) struct Commit {
    /// The new schedule; after applying, the old one.
    pub(crate) schedule: Schedule,
    /// With a parallel `schedule` and the measured choice on: the same graph compiled for one
    /// thread (buffers by liveness), what the audio side runs when it measures the executor does
    /// not pay. `None` otherwise. After applying, the old one.
    pub(crate) in_order: Option<Schedule>,
    /// Removed nodes (applied first, so a slot can be removed and reused in one commit).
    pub(crate) removed: Vec<RemovedNode>,
    /// Added nodes.
    pub(crate) added: Vec<AddedNode>,
    /// A larger buffer pool; after applying, the old one.
    pub(crate) pool: Option<BufferPool>,
    /// A larger node table; after applying, the old (emptied) one.
    pub(crate) table: Option<NodeTable>,
}

/// A command to the audio side.
pub(crate) enum Command {
    /// Install a new schedule with its node changes.
    Commit(Box<Commit>),
    /// Change one parameter (no recompilation).
    SetParam(ParamChange),
}

/// Exactly one receipt comes back per command (the ring's protocol), carrying anything the audio
/// side must not drop.
pub(crate) enum Receipt {
    /// A parameter change was applied.
    ParamApplied,
    /// A parameter change could not be applied (its node's queue of offset changes was full).
    ParamRefused,
    /// A commit was applied; the box holds the replaced schedule, removed nodes, old pool/table.
    /// It is never read: it exists to be dropped on the control thread.
    Commit(#[allow(dead_code)] Box<Commit>),
}
