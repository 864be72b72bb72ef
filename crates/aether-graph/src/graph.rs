//! The control-side graph: nodes, edges, the output node, and what changed since the last commit.

use alloc::boxed::Box;
use alloc::vec::Vec;

use aether_arena::{Arena, CapacityOverflow};
use aether_params::{MAX_PARAMS, ParamBlock, ParamError};
use smallvec::SmallVec;

use crate::NodeId;
use crate::error::{AddNodeError, GraphError, GraphFull};
use crate::node::{DspNode, MAX_INPUTS};
use crate::state::NodeState;

mod order;

use order::OrderScratch;

/// Default node capacity of a graph (and of the engines built on it).
pub const MAX_NODES: usize = 4096;

/// One node as the control thread sees it: what edits and the compiler walk, inline, and the
/// rest behind one pointer, so that an edit touching random nodes of a large graph pulls few
/// cache lines per node.
struct NodeEntry {
    /// `inputs[slot]` is the source feeding that input slot.
    inputs: [Option<NodeId>; MAX_INPUTS],
    /// Every `(destination, slot)` this node feeds: the reverse of `inputs`, so that removing a
    /// node and the forward half of a cycle check cost the node's degree, not the graph's size.
    outputs: SmallVec<[(NodeId, u8); 2]>,
    /// The node's rank in a topological order of the whole graph: every edge runs from a lower
    /// rank to a higher one (see `order.rs`).
    rank: u64,
    /// Everything else.
    cold: Box<ColdEntry>,
}

/// The part of a [`NodeEntry`] that edits and the compiler do not walk.
struct ColdEntry {
    type_name: &'static str,
    /// The parameter block the node starts with on the audio side (declared specs, values as set
    /// before delivery); `None` for a node without parameters.
    params: Option<Box<ParamBlock>>,
    /// The latest target requested for each parameter (the control-side mirror).
    param_values: [f32; MAX_PARAMS],
    /// The node's settings, recorded when it was added.
    state: NodeState,
    /// [`DspNode::cost_hint`], recorded when it was added.
    cost_hint: u64,
    /// The node instance, while it has not been delivered to the audio side yet.
    instance: Option<Box<dyn DspNode>>,
}

/// The parameter block of nodes without parameters.
static NO_PARAMS: ParamBlock = ParamBlock::new();

impl NodeEntry {
    fn params(&self) -> &ParamBlock {
        self.cold.params.as_deref().unwrap_or(&NO_PARAMS)
    }
}

/// A parameter change queued for a node that already lives on the audio side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamChange {
    /// The node addressed.
    pub node: NodeId,
    /// The parameter index (validated against the node's parameter block).
    pub index: usize,
    /// The target value (finite, clamped into the parameter's range).
    pub target: f32,
    /// Linear ramp length in samples (0 = jump).
    pub ramp_samples: u32,
    /// How many samples from the start of the next processed block the change waits before it starts.
    pub offset_samples: u32,
}

/// A node instance on its way to the audio side, with the parameter block it starts with.
pub struct NewNode {
    /// The node's id (its [`NodeId::index`] is the audio side's table slot).
    pub id: NodeId,
    /// The instance.
    pub node: Box<dyn DspNode>,
    /// Its parameters.
    pub params: ParamBlock,
}

/// The structural changes since the last [`Graph::take_delivery`].
#[derive(Default)]
pub struct Delivery {
    /// Nodes added since the last delivery, to be installed on the audio side.
    pub added: Vec<NewNode>,
    /// Nodes that were delivered earlier and have been removed since: the audio side must hand
    /// their instances back.
    pub removed: Vec<NodeId>,
}

/// A directed acyclic graph of [`DspNode`]s, edited on the control thread.
///
/// Nodes live in a fixed-capacity generational arena; an edge feeds one source node's output
/// into one input slot of a destination node (one source per slot). Every edit validates its
/// input and returns a typed [`GraphError`] without changing anything when refused; in
/// particular a connection that would close a cycle is refused at connect time with the cycle
/// spelled out.
///
/// # Real-time contract
///
/// A `Graph` belongs to the control thread: edits may allocate (error values, the change lists)
/// and [`Compiler::compile`](crate::Compiler::compile) allocates the schedule. Nothing here is
/// called by the audio thread; it receives compiled [`Schedule`](crate::Schedule)s instead.
pub struct Graph {
    nodes: Arena<NodeEntry>,
    output: Option<NodeId>,
    /// Bumped by every structural edit (add, remove, connect, disconnect, output, clear).
    version: u64,
    /// Ids of added nodes whose instance is still here.
    pending_added: Vec<NodeId>,
    /// Delivered nodes removed since the last delivery.
    pending_removed: Vec<NodeId>,
    /// Parameter changes for delivered nodes, in the order they were made.
    pending_params: Vec<ParamChange>,
    /// The rank the next added node gets (ranks only grow; removals leave gaps).
    next_rank: u64,
    /// Reused working memory of the incremental cycle check.
    scratch: OrderScratch,
}

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for Graph {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Graph")
            .field("nodes", &self.nodes.len())
            .field("capacity", &self.nodes.capacity())
            .field("output", &self.output)
            .field("version", &self.version)
            .finish()
    }
}

impl Graph {
    /// An empty graph with room for [`MAX_NODES`] nodes.
    pub fn new() -> Self {
        Self::with_capacity(MAX_NODES)
    }

    /// An empty graph with room for `capacity` nodes (all allocated now).
    pub fn with_capacity(capacity: usize) -> Self {
        Graph {
            nodes: Arena::with_capacity(capacity),
            output: None,
            version: 0,
            pending_added: Vec::new(),
            pending_removed: Vec::new(),
            pending_params: Vec::new(),
            next_rank: 0,
            scratch: OrderScratch::default(),
        }
    }

    /// How many nodes fit before [`add_node`](Self::add_node) refuses.
    pub fn capacity(&self) -> usize {
        self.nodes.capacity()
    }

    /// Number of dense slot indices ids of this graph can have (`id.index() < slot_count()`).
    /// Audio-side per-node tables are sized from it.
    pub fn slot_count(&self) -> usize {
        self.nodes.slot_count()
    }

    /// Makes room for `additional` more nodes. Allocates: control thread only. The audio side
    /// receives a larger node table with the next commit.
    pub fn grow(&mut self, additional: usize) -> Result<(), CapacityOverflow> {
        self.nodes.grow(additional)
    }

    /// Number of live nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// `true` if `id` names a live node of this graph.
    pub fn contains(&self, id: NodeId) -> bool {
        self.nodes.contains(id)
    }

    /// A counter bumped by every structural edit; a schedule compiled at version `v` is current
    /// while `version() == v`.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Adds a node and returns its id. Its parameter block is built from
    /// [`DspNode::param_specs`]. A full graph, or a node declaring more than
    /// [`MAX_PARAMS`] parameters, hands the node back inside the error.
    pub fn add_node(&mut self, node: Box<dyn DspNode>) -> Result<NodeId, AddNodeError> {
        let params = if node.param_specs().is_empty() {
            None
        } else {
            match ParamBlock::from_metas(node.param_specs()) {
                Ok(params) => Some(Box::new(params)),
                Err(error) => return Err(AddNodeError::TooManyParams { node, error }),
            }
        };
        let mut param_values = [0.0; MAX_PARAMS];
        for (value, meta) in param_values.iter_mut().zip(node.param_specs()) {
            *value = meta.default;
        }
        let entry = NodeEntry {
            inputs: [None; MAX_INPUTS],
            outputs: SmallVec::new(),
            rank: self.next_rank,
            cold: Box::new(ColdEntry {
                type_name: node.type_name(),
                params,
                param_values,
                state: node.save_state(),
                cost_hint: node.cost_hint(),
                instance: Some(node),
            }),
        };
        match self.nodes.insert(entry) {
            Ok(id) => {
                self.pending_added.push(id);
                self.next_rank += 1;
                self.version += 1;
                Ok(id)
            }
            Err(full) => {
                let entry = full.into_inner();
                let node = entry
                    .cold
                    .instance
                    .expect("an entry being inserted always holds its instance");
                Err(AddNodeError::Full(GraphFull(node)))
            }
        }
    }

    /// Removes a node and every edge to and from it. If it was the output node the graph has no
    /// output afterwards (silence, never stale audio). A node that was never delivered to the
    /// audio side is dropped here; a delivered one is handed back by the audio side after the
    /// next commit.
    ///
    /// Costs the node's degree (plus the queued parameter changes, when there are any), not
    /// the size of the graph. The slot of a delivered node is not given to a new node before
    /// the next [`take_delivery`](Self::take_delivery), so the audio side never sees a new
    /// node arrive in a slot its old node still occupies (until then it does not count toward
    /// [`capacity`](Self::capacity)).
    pub fn remove_node(&mut self, id: NodeId) -> Result<(), GraphError> {
        let delivered = self
            .nodes
            .get(id)
            .ok_or(GraphError::UnknownNode(id))?
            .cold
            .instance
            .is_none();
        // A delivered node's slot is held until the removal is delivered: the audio side's copy
        // of the node sits in that slot until then, so no new node may be given it before.
        let removed = if delivered {
            self.nodes.remove_held(id)
        } else {
            self.nodes.remove(id)
        };
        let entry = removed.ok_or(GraphError::UnknownNode(id))?;
        for &(destination, slot) in &entry.outputs {
            if let Some(input) = self
                .nodes
                .get_mut(destination)
                .and_then(|other| other.inputs.get_mut(usize::from(slot)))
                && *input == Some(id)
            {
                *input = None;
            }
        }
        for (slot, source) in entry.inputs.iter().enumerate() {
            if let Some(source) = source {
                self.forget_output(*source, id, slot);
            }
        }
        if self.output == Some(id) {
            self.output = None;
        }
        if !self.pending_params.is_empty() {
            self.pending_params.retain(|change| change.node != id);
        }
        // An undelivered node's id stays in `pending_added` and is skipped by `take_delivery`
        // (the id is stale now), which keeps removal independent of how many nodes are pending.
        if entry.cold.instance.is_none() {
            self.pending_removed.push(id);
        }
        self.version += 1;
        Ok(())
    }

    /// Removes every node (each delivered one is handed back after the next commit) and the
    /// output. O(slots). Like [`remove_node`](Self::remove_node), the slots of delivered nodes
    /// are only reused after the next [`take_delivery`](Self::take_delivery).
    pub fn clear(&mut self) {
        let ids: Vec<(NodeId, bool)> = self
            .nodes
            .iter()
            .map(|(id, entry)| (id, entry.cold.instance.is_none()))
            .collect();
        for (id, delivered) in ids {
            // As in `remove_node`: delivered nodes' slots are held until the removal is delivered.
            if delivered {
                drop(self.nodes.remove_held(id));
                self.pending_removed.push(id);
            } else {
                drop(self.nodes.remove(id));
            }
        }
        self.pending_added.clear();
        self.pending_params.clear();
        self.output = None;
        self.version += 1;
    }

    /// Drops `(destination, slot)` from `source`'s output list.
    fn forget_output(&mut self, source: NodeId, destination: NodeId, slot: usize) {
        if let Some(entry) = self.nodes.get_mut(source)
            && let Some(position) = entry
                .outputs
                .iter()
                .position(|&(to, at)| to == destination && usize::from(at) == slot)
        {
            entry.outputs.swap_remove(position);
        }
    }

    /// Feeds `source`'s output into input `slot` of `destination`.
    ///
    /// Returns the source previously feeding that slot, which is disconnected (one source per slot).
    /// Refuses unknown ids, `slot >= MAX_INPUTS`, and any edge that would close a cycle
    /// (including `source == destination`); on refusal nothing changes.
    ///
    /// The cycle check is incremental: the graph keeps a topological order of its nodes, and an
    /// edge that agrees with it (always the case when nodes are connected in the order they
    /// were added) is accepted in O(1); otherwise only the nodes whose order lies between the
    /// two ends are visited and reordered (Pearce and Kelly, "A dynamic topological sort
    /// algorithm for directed acyclic graphs", JEA 2006).
    pub fn connect(
        &mut self,
        source: NodeId,
        destination: NodeId,
        slot: usize,
    ) -> Result<Option<NodeId>, GraphError> {
        if !self.nodes.contains(source) {
            return Err(GraphError::UnknownNode(source));
        }
        if !self.nodes.contains(destination) {
            return Err(GraphError::UnknownNode(destination));
        }
        if slot >= MAX_INPUTS {
            return Err(GraphError::SlotOutOfRange {
                node: destination,
                slot,
            });
        }
        if let Some(cycle) = self.order_for_edge(source, destination) {
            return Err(GraphError::Cycle {
                source,
                destination,
                cycle,
            });
        }
        let previous = self.set_input(destination, slot, Some(source));
        self.version += 1;
        Ok(previous)
    }

    /// Disconnects input `slot` of `destination`, returning the source that fed it (`None` if
    /// the slot was empty).
    pub fn disconnect(
        &mut self,
        destination: NodeId,
        slot: usize,
    ) -> Result<Option<NodeId>, GraphError> {
        let entry = self
            .nodes
            .get_mut(destination)
            .ok_or(GraphError::UnknownNode(destination))?;
        let input = entry
            .inputs
            .get_mut(slot)
            .ok_or(GraphError::SlotOutOfRange {
                node: destination,
                slot,
            })?;
        let previous = input.take();
        if let Some(source) = previous {
            self.forget_output(source, destination, slot);
            self.version += 1;
        }
        Ok(previous)
    }

    /// Makes `id` the node whose output the engine plays.
    pub fn set_output_node(&mut self, id: NodeId) -> Result<(), GraphError> {
        if !self.nodes.contains(id) {
            return Err(GraphError::UnknownNode(id));
        }
        if self.output != Some(id) {
            self.output = Some(id);
            self.version += 1;
        }
        Ok(())
    }

    /// Unsets the output node: the engine plays silence.
    pub fn clear_output_node(&mut self) {
        if self.output.take().is_some() {
            self.version += 1;
        }
    }

    /// The node whose output the engine plays, if any.
    pub fn output_node(&self) -> Option<NodeId> {
        self.output
    }

    /// The sources feeding each input slot of `id`.
    pub fn inputs(&self, id: NodeId) -> Option<&[Option<NodeId>; MAX_INPUTS]> {
        self.nodes.get(id).map(|entry| &entry.inputs)
    }

    /// The type name of node `id`.
    pub fn type_name(&self, id: NodeId) -> Option<&'static str> {
        self.nodes.get(id).map(|entry| entry.cold.type_name)
    }

    /// Ids of all live nodes, in slot order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes.iter().map(|(id, _)| id)
    }

    /// Every edge as `(source, destination, slot)`, destinations in slot order.
    pub fn edges(&self) -> impl Iterator<Item = (NodeId, NodeId, usize)> + '_ {
        self.nodes.iter().flat_map(|(destination, entry)| {
            entry
                .inputs
                .iter()
                .enumerate()
                .filter_map(move |(slot, source)| source.map(|source| (source, destination, slot)))
        })
    }

    /// The node's parameter block as declared (names, ranges, defaults).
    pub fn params(&self, id: NodeId) -> Option<&ParamBlock> {
        self.nodes.get(id).map(NodeEntry::params)
    }

    /// The node's estimated cost in nanoseconds per block ([`DspNode::cost_hint`], recorded when
    /// it was added), or `None` for an unknown id. Read by the engine when it decides whether a
    /// schedule runs in parallel.
    pub fn cost_hint(&self, id: NodeId) -> Option<u64> {
        self.nodes.get(id).map(|entry| entry.cold.cost_hint)
    }

    /// The settings node `id` reported when it was added ([`DspNode::save_state`]).
    pub fn node_state(&self, id: NodeId) -> Option<&NodeState> {
        self.nodes.get(id).map(|entry| &entry.cold.state)
    }

    /// The latest target set for parameter `index` of node `id` (the control-side mirror).
    pub fn param_value(&self, id: NodeId, index: usize) -> Option<f32> {
        let entry = self.nodes.get(id)?;
        if index < entry.params().len() {
            entry.cold.param_values.get(index).copied()
        } else {
            None
        }
    }

    /// Index of the parameter called `name` on node `id`.
    pub fn param_index(&self, id: NodeId, name: &str) -> Result<usize, GraphError> {
        let entry = self.nodes.get(id).ok_or(GraphError::UnknownNode(id))?;
        entry
            .params()
            .index_of(name)
            .ok_or_else(|| GraphError::UnknownParam {
                node: id,
                name: name.into(),
            })
    }

    /// Ramps parameter `index` of node `id` linearly to `target` over `ramp_samples` samples.
    /// See [`set_param_at`](Self::set_param_at).
    pub fn set_param(
        &mut self,
        id: NodeId,
        index: usize,
        target: f32,
        ramp_samples: u32,
    ) -> Result<(), GraphError> {
        self.set_param_at(id, index, target, ramp_samples, 0)
    }

    /// Schedules a parameter change that starts `offset_samples` into the next processed block.
    ///
    /// Non-finite targets are refused; finite ones are clamped into the parameter's range. For a
    /// node not yet delivered the change goes into the parameter block it will start with; for a
    /// delivered node it is queued for the audio side (a cheap command, no recompilation).
    pub fn set_param_at(
        &mut self,
        id: NodeId,
        index: usize,
        target: f32,
        ramp_samples: u32,
        offset_samples: u32,
    ) -> Result<(), GraphError> {
        let entry = self.nodes.get_mut(id).ok_or(GraphError::UnknownNode(id))?;
        let param_error = |error| GraphError::Param { node: id, error };
        let meta = *entry
            .params()
            .meta(index)
            .ok_or(param_error(ParamError::IndexOutOfRange {
                index,
                len: entry.params().len(),
            }))?;
        if !target.is_finite() {
            return Err(param_error(ParamError::NonFinite { value: target }));
        }
        let target = target.clamp(meta.min, meta.max);
        if entry.cold.instance.is_some() {
            // A node with a parameter at `index` has a block (checked above).
            if let Some(params) = entry.cold.params.as_deref_mut() {
                params
                    .set_target_at(index, target, ramp_samples, offset_samples)
                    .map_err(param_error)?;
            }
        } else {
            self.pending_params.push(ParamChange {
                node: id,
                index,
                target,
                ramp_samples,
                offset_samples,
            });
        }
        entry.cold.param_values[index] = target;
        Ok(())
    }

    /// Like [`set_param`](Self::set_param), addressing the parameter by name.
    pub fn set_param_by_name(
        &mut self,
        id: NodeId,
        name: &str,
        target: f32,
        ramp_samples: u32,
    ) -> Result<(), GraphError> {
        let index = self.param_index(id, name)?;
        self.set_param(id, index, target, ramp_samples)
    }

    /// `true` if nodes were added or removed since the last [`take_delivery`](Self::take_delivery).
    pub fn has_pending_delivery(&self) -> bool {
        !self.pending_added.is_empty() || !self.pending_removed.is_empty()
    }

    /// Moves the instances of newly added nodes out of the graph, and the list of removed nodes,
    /// for delivery to the audio side. Afterwards the added nodes count as delivered.
    pub fn take_delivery(&mut self) -> Delivery {
        let mut added = Vec::with_capacity(self.pending_added.len());
        for id in self.pending_added.drain(..) {
            if let Some(entry) = self.nodes.get_mut(id)
                && let Some(node) = entry.cold.instance.take()
            {
                added.push(NewNode {
                    id,
                    node,
                    params: entry.params().clone(),
                });
            }
        }
        // The removals go out with this delivery, ahead of any later one: from now on their
        // slots can be given to new nodes.
        self.nodes.release_held();
        Delivery {
            added,
            removed: core::mem::take(&mut self.pending_removed),
        }
    }

    /// Number of queued parameter changes for delivered nodes.
    pub fn pending_param_count(&self) -> usize {
        self.pending_params.len()
    }

    /// Takes up to `max` queued parameter changes, oldest first.
    pub fn take_param_changes(&mut self, max: usize) -> impl Iterator<Item = ParamChange> + '_ {
        let count = max.min(self.pending_params.len());
        self.pending_params.drain(..count)
    }

    /// Dense slot index -> live node id, for the compiler.
    pub(crate) fn entry_inputs(&self, id: NodeId) -> Option<&[Option<NodeId>; MAX_INPUTS]> {
        self.inputs(id)
    }
}
