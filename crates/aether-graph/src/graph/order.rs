//! The graph's topological order, kept up to date edit by edit, so that a cycle check costs what
//! the edit touches rather than the size of the graph.
//!
//! Every node has a `rank`, and every edge runs from a lower rank to a higher one. A new node
//! gets the highest rank so far, so an edge from an older node to a newer one (how graphs are
//! usually built) is accepted with one comparison. An edge against the order is handled by
//! Pearce and Kelly's dynamic topological sort (D. J. Pearce, P. H. J. Kelly, "A dynamic
//! topological sort algorithm for directed acyclic graphs", ACM JEA 11, 2006): only the nodes
//! ranked between the edge's two ends are searched, and only those reached are re-ranked.
//! [`Graph::connect_all`] instead ranks the whole graph once with Kahn's algorithm, for bulk
//! loads such as restoring a patch.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use super::Graph;
use crate::NodeId;
use crate::error::GraphError;
use crate::node::MAX_INPUTS;

/// Working memory of the cycle checks, kept between edits so that a check allocates nothing
/// once the graph has stopped growing.
#[derive(Default)]
pub(super) struct OrderScratch {
    /// `marks[slot] == epoch` means visited by the current search.
    marks: Vec<u32>,
    epoch: u32,
    /// The node a search reached each visited node from.
    parent: Vec<Option<NodeId>>,
    queue: VecDeque<NodeId>,
    stack: Vec<NodeId>,
    /// Nodes reached forward from the destination (ranked at most the source's rank).
    forward: Vec<NodeId>,
    /// Nodes reached backward from the source (ranked at least the destination's rank).
    backward: Vec<NodeId>,
    ranks: Vec<u64>,
}

impl OrderScratch {
    /// Starts a new search over `slots` slots and returns its mark.
    fn begin(&mut self, slots: usize) -> u32 {
        if self.marks.len() < slots {
            self.marks.resize(slots, 0);
            self.parent.resize(slots, None);
        }
        if self.epoch >= u32::MAX - 1 {
            self.marks.fill(0);
            self.epoch = 0;
        }
        self.epoch += 1;
        self.epoch
    }

    /// Marks `id` for search `epoch`; `false` if it already was.
    fn visit(&mut self, id: NodeId, epoch: u32) -> bool {
        match self.marks.get_mut(id.index() as usize) {
            Some(mark) if *mark != epoch => {
                *mark = epoch;
                true
            }
            _ => false,
        }
    }

    fn set_parent(&mut self, id: NodeId, parent: NodeId) {
        if let Some(entry) = self.parent.get_mut(id.index() as usize) {
            *entry = Some(parent);
        }
    }

    fn parent_of(&self, id: NodeId) -> Option<NodeId> {
        self.parent.get(id.index() as usize).copied().flatten()
    }
}

impl Graph {
    fn rank_of(&self, id: NodeId) -> u64 {
        self.nodes.get(id).map_or(0, |entry| entry.rank)
    }

    /// Prepares the order for a new edge `source -> destination` (both live): re-ranks what
    /// must move so that the edge agrees with the order, and returns `None`; or, when the edge
    /// would close a cycle, changes nothing and returns the cycle `[destination, ..., source,
    /// destination]` in signal-flow order (a shortest one).
    pub(super) fn order_for_edge(
        &mut self,
        source: NodeId,
        destination: NodeId,
    ) -> Option<Vec<NodeId>> {
        if source == destination {
            return Some(vec![destination, destination]);
        }
        let (lower, upper) = (self.rank_of(destination), self.rank_of(source));
        if upper < lower {
            return None;
        }
        let slots = self.nodes.slot_count();

        // Forward, breadth first from the destination, through nodes ranked at most `upper`:
        // reaching the source means the edge closes a cycle.
        let forward_mark = self.scratch.begin(slots);
        self.scratch.forward.clear();
        self.scratch.queue.clear();
        self.scratch.visit(destination, forward_mark);
        self.scratch.queue.push_back(destination);
        while let Some(current) = self.scratch.queue.pop_front() {
            self.scratch.forward.push(current);
            let Some(entry) = self.nodes.get(current) else {
                continue;
            };
            for &(next, _) in &entry.outputs {
                let Some(next_entry) = self.nodes.get(next) else {
                    continue;
                };
                if next_entry.rank > upper || !self.scratch.visit(next, forward_mark) {
                    continue;
                }
                self.scratch.set_parent(next, current);
                if next == source {
                    return Some(self.cycle_through(destination, source));
                }
                self.scratch.queue.push_back(next);
            }
        }

        // Backward, depth first from the source, through nodes ranked at least `lower`.
        let backward_mark = self.scratch.begin(slots);
        self.scratch.backward.clear();
        self.scratch.stack.clear();
        self.scratch.visit(source, backward_mark);
        self.scratch.stack.push(source);
        while let Some(current) = self.scratch.stack.pop() {
            self.scratch.backward.push(current);
            let Some(entry) = self.nodes.get(current) else {
                continue;
            };
            for previous in entry.inputs.iter().flatten() {
                let Some(previous_entry) = self.nodes.get(*previous) else {
                    continue;
                };
                if previous_entry.rank >= lower && self.scratch.visit(*previous, backward_mark) {
                    self.scratch.stack.push(*previous);
                }
            }
        }

        // Re-rank: the backward set keeps its relative order and takes the lowest of the
        // affected ranks, the forward set the highest, so `source` ends below `destination`.
        let mut backward = core::mem::take(&mut self.scratch.backward);
        let mut forward = core::mem::take(&mut self.scratch.forward);
        let mut ranks = core::mem::take(&mut self.scratch.ranks);
        backward.sort_unstable_by_key(|&id| self.rank_of(id));
        forward.sort_unstable_by_key(|&id| self.rank_of(id));
        ranks.clear();
        ranks.extend(backward.iter().chain(&forward).map(|&id| self.rank_of(id)));
        ranks.sort_unstable();
        for (&id, &rank) in backward.iter().chain(&forward).zip(&ranks) {
            if let Some(entry) = self.nodes.get_mut(id) {
                entry.rank = rank;
            }
        }
        self.scratch.backward = backward;
        self.scratch.forward = forward;
        self.scratch.ranks = ranks;
        None
    }

    /// `[destination, ..., source, destination]` from the forward search's parents.
    fn cycle_through(&self, destination: NodeId, source: NodeId) -> Vec<NodeId> {
        let mut path = vec![source];
        let mut at = source;
        while at != destination {
            let Some(parent) = self.scratch.parent_of(at) else {
                break;
            };
            path.push(parent);
            at = parent;
        }
        path.reverse();
        path.push(destination);
        path
    }

    /// Makes every edge of `edges` (`(source, destination, slot)`, applied in order, a later
    /// edge into a slot replacing an earlier one as with [`connect`](Self::connect)) with one
    /// check of the whole graph instead of one per edge: O(nodes + edges) however the edges are
    /// ordered. For bulk loads such as restoring a patch.
    ///
    /// Refuses, changing nothing, an unknown id, a slot `>= MAX_INPUTS`, or a set of edges
    /// that closes a cycle (the error names one cycle, in signal-flow order).
    pub fn connect_all(&mut self, edges: &[(NodeId, NodeId, usize)]) -> Result<(), GraphError> {
        for &(source, destination, slot) in edges {
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
        }
        let mut replaced = Vec::with_capacity(edges.len());
        for &(source, destination, slot) in edges {
            replaced.push(self.set_input(destination, slot, Some(source)));
        }
        if let Some(cycle) = self.rank_all() {
            for (&(_, destination, slot), &previous) in edges.iter().zip(&replaced).rev() {
                self.set_input(destination, slot, previous);
            }
            // Ranks from before the batch may disagree with nothing left: the graph is as it was.
            let _ = self.rank_all();
            let (source, destination) = match cycle.as_slice() {
                [destination, .., source, _] => (*source, *destination),
                [only, ..] => (*only, *only),
                [] => (edges[0].0, edges[0].1),
            };
            return Err(GraphError::Cycle {
                source,
                destination,
                cycle,
            });
        }
        self.version += 1;
        Ok(())
    }

    /// Sets input `slot` of `destination` (live, slot in range) to `source`, keeping the output
    /// lists in step, and returns what fed it before. No cycle check.
    pub(super) fn set_input(
        &mut self,
        destination: NodeId,
        slot: usize,
        source: Option<NodeId>,
    ) -> Option<NodeId> {
        let entry = self.nodes.get_mut(destination)?;
        let input = entry.inputs.get_mut(slot)?;
        let previous = core::mem::replace(input, source);
        if let Some(previous) = previous {
            self.forget_output(previous, destination, slot);
        }
        if let Some(source) = source
            && let Some(entry) = self.nodes.get_mut(source)
        {
            // Lossless: `slot < MAX_INPUTS`, which fits a byte.
            entry.outputs.push((destination, slot as u8));
        }
        previous
    }

    /// Ranks every node by Kahn's algorithm. Returns a cycle (first node repeated at the end, in
    /// signal-flow order) if the edges have one; the ranks are then only partly renewed.
    fn rank_all(&mut self) -> Option<Vec<NodeId>> {
        let slots = self.nodes.slot_count();
        let mut waiting: Vec<u32> = vec![0; slots];
        let mut ready: Vec<NodeId> = Vec::new();
        for (id, entry) in self.nodes.iter() {
            let count = entry.inputs.iter().flatten().count() as u32;
            if let Some(slot) = waiting.get_mut(id.index() as usize) {
                *slot = count;
            }
            if count == 0 {
                ready.push(id);
            }
        }
        ready.reverse();
        let mut rank = 0u64;
        while let Some(id) = ready.pop() {
            let Some(entry) = self.nodes.get_mut(id) else {
                continue;
            };
            entry.rank = rank;
            rank += 1;
            for &(next, _) in &entry.outputs {
                if let Some(count) = waiting.get_mut(next.index() as usize) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        ready.push(next);
                    }
                }
            }
        }
        self.next_rank = rank;
        if rank as usize == self.nodes.len() {
            return None;
        }
        // Every node left still waits on a node that is left: follow inputs until one repeats.
        let start = self
            .nodes
            .iter()
            .find(|(id, _)| waiting.get(id.index() as usize).is_some_and(|&n| n > 0))
            .map(|(id, _)| id)?;
        let slots_seen = self.scratch.begin(slots);
        let mut path = Vec::new();
        let mut at = start;
        while self.scratch.visit(at, slots_seen) {
            path.push(at);
            at = self
                .nodes
                .get(at)?
                .inputs
                .iter()
                .flatten()
                .copied()
                .find(|source| waiting.get(source.index() as usize).is_some_and(|&n| n > 0))?;
        }
        let first = path.iter().position(|&id| id == at)?;
        let mut cycle: Vec<NodeId> = path[first..].iter().rev().copied().collect();
        cycle.push(*cycle.first()?);
        Some(cycle)
    }
}
