//! Random edits the control thread applies to the running patch, and their bookkeeping.

use core::fmt;
use std::collections::HashSet;

use aether_graph::{Graph, GraphError, MAX_INPUTS, NodeId};
use aether_params::ParamMeta;

use crate::patch::{NodeKind, Observed, SoakPatch};
use crate::rng::SoakRng;

/// Kinds of edit, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EditKind {
    /// A node is added (and usually wired into an input).
    Add,
    /// A node is removed.
    Remove,
    /// An edge is made (replacing whatever fed that input).
    Connect,
    /// An edge is cut.
    Disconnect,
    /// A parameter gets a new target.
    Param,
}

impl EditKind {
    /// Every kind, in report order.
    pub const ALL: [EditKind; 5] = [
        EditKind::Add,
        EditKind::Remove,
        EditKind::Connect,
        EditKind::Disconnect,
        EditKind::Param,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            EditKind::Add => "add",
            EditKind::Remove => "remove",
            EditKind::Connect => "connect",
            EditKind::Disconnect => "disconnect",
            EditKind::Param => "param",
        }
    }

    fn index(self) -> usize {
        match self {
            EditKind::Add => 0,
            EditKind::Remove => 1,
            EditKind::Connect => 2,
            EditKind::Disconnect => 3,
            EditKind::Param => 4,
        }
    }
}

/// One edit of the patch.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Add a node of `kind`, then feed it into input `feed.1` of `feed.0` if given.
    Add {
        /// Node type.
        kind: NodeKind,
        /// Where its output goes.
        feed: Option<(NodeId, usize)>,
    },
    /// Remove `node`.
    Remove {
        /// The node.
        node: NodeId,
    },
    /// Connect `source` into input `slot` of `destination`.
    Connect {
        /// Signal source.
        source: NodeId,
        /// Receiving node.
        destination: NodeId,
        /// Its input.
        slot: usize,
    },
    /// Cut input `slot` of `destination`.
    Disconnect {
        /// Receiving node.
        destination: NodeId,
        /// Its input.
        slot: usize,
    },
    /// Ramp parameter `index` of `node` to `target` over `ramp_samples`.
    Param {
        /// The node.
        node: NodeId,
        /// Parameter index.
        index: usize,
        /// New target, inside the parameter's range and distinct per edit.
        target: f32,
        /// Ramp length.
        ramp_samples: u32,
    },
}

impl Edit {
    /// The edit's kind.
    pub fn kind(&self) -> EditKind {
        match self {
            Edit::Add { .. } => EditKind::Add,
            Edit::Remove { .. } => EditKind::Remove,
            Edit::Connect { .. } => EditKind::Connect,
            Edit::Disconnect { .. } => EditKind::Disconnect,
            Edit::Param { .. } => EditKind::Param,
        }
    }
}

/// Why the graph refused an edit (it is then not sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The connection would have closed a cycle.
    Cycle,
    /// The graph is full.
    Full,
    /// Any other validation error (stale id, slot, parameter).
    Other,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::Cycle => "cycle",
            Rejection::Full => "graph full",
            Rejection::Other => "other",
        })
    }
}

impl From<&GraphError> for Rejection {
    fn from(error: &GraphError) -> Self {
        match error {
            GraphError::Cycle { .. } => Rejection::Cycle,
            _ => Rejection::Other,
        }
    }
}

/// Generates random edits from a seed, steering the node count around a target.
#[derive(Debug, Clone)]
pub struct EditGenerator {
    rng: SoakRng,
    target_nodes: usize,
    sequence: u64,
}

/// Attempts at finding a candidate before falling back to another edit kind.
const PICK_ATTEMPTS: usize = 16;

impl EditGenerator {
    /// A generator that keeps the patch near `target_nodes` nodes.
    pub fn new(seed: u64, target_nodes: usize) -> Self {
        EditGenerator {
            rng: SoakRng::new(seed),
            target_nodes,
            sequence: 0,
        }
    }

    /// The next edit for the patch as it is now. Never touches the protected path: no removal
    /// of a protected node, no parameter of one, no connect or disconnect of a protected input.
    /// Structural edits only ever cut a leaf (a node with no connected input) off the output, so
    /// the patch keeps about as many running nodes as it has nodes. Connections may close
    /// cycles (now and then the output is fed back on purpose): the graph must refuse those.
    pub fn next_edit(&mut self, patch: &SoakPatch, graph: &Graph) -> Edit {
        self.sequence += 1;
        let roll = self.rng.below(100);
        let preferred = if roll < 40 {
            EditKind::Param
        } else if roll < 60 {
            EditKind::Connect
        } else if roll < 70 {
            EditKind::Disconnect
        } else if patch.live().len() < self.target_nodes {
            if self.rng.chance(0.65) {
                EditKind::Add
            } else {
                EditKind::Remove
            }
        } else if self.rng.chance(0.65) {
            EditKind::Remove
        } else {
            EditKind::Add
        };
        let edit = match preferred {
            EditKind::Param => self.param(patch, graph),
            EditKind::Connect => self.connect(patch, graph),
            EditKind::Disconnect => self.disconnect(patch, graph),
            EditKind::Remove => self.remove(patch, graph),
            EditKind::Add => None,
        };
        if let Some(edit) = edit {
            return edit;
        }
        // No candidate for the preferred kind: add, unless the patch is already over its size.
        if patch.live().len() > self.target_nodes
            && let Some(edit) = self
                .remove(patch, graph)
                .or_else(|| self.param(patch, graph))
        {
            return edit;
        }
        self.add(patch, graph)
    }

    fn random_live(&mut self, patch: &SoakPatch) -> Option<NodeId> {
        let live = patch.live();
        live.get(self.rng.below(live.len())).copied()
    }

    /// A random unprotected node, if one turns up.
    fn random_unprotected(&mut self, patch: &SoakPatch) -> Option<NodeId> {
        (0..PICK_ATTEMPTS).find_map(|_| {
            let id = self.random_live(patch)?;
            let info = patch.info(id)?;
            (!info.protected).then_some(id)
        })
    }

    /// A random unprotected input slot that is empty or fed by a leaf (a node with no connected
    /// input), so re-wiring it cuts at most that one node off the output.
    fn random_free_input(&mut self, patch: &SoakPatch, graph: &Graph) -> Option<(NodeId, usize)> {
        (0..PICK_ATTEMPTS).find_map(|_| {
            let id = self.random_live(patch)?;
            let inputs = patch.info(id)?.kind.input_count();
            if inputs == 0 {
                return None;
            }
            let slot = self.rng.below(inputs);
            if patch.is_protected_input(id, slot) {
                return None;
            }
            let fed_by = graph.inputs(id)?.get(slot).copied().flatten();
            fed_by
                .is_none_or(|source| is_leaf(graph, source))
                .then_some((id, slot))
        })
    }

    fn add(&mut self, patch: &SoakPatch, graph: &Graph) -> Edit {
        let kind = NodeKind::ALL[self.rng.below(NodeKind::ALL.len())];
        let feed = if self.rng.chance(0.8) {
            self.random_free_input(patch, graph)
        } else {
            None
        };
        Edit::Add { kind, feed }
    }

    /// Removes an unprotected leaf, so no other node loses its way to the output; mostly one
    /// that no longer reaches the output (an orphan of earlier edits).
    fn remove(&mut self, patch: &SoakPatch, graph: &Graph) -> Option<Edit> {
        if self.rng.chance(0.7) {
            let orphans: Vec<NodeId> = unreachable(patch, graph)
                .into_iter()
                .filter(|&id| is_leaf(graph, id))
                .collect();
            if let Some(&node) = orphans.get(self.rng.below(orphans.len())) {
                return Some(Edit::Remove { node });
            }
        }
        (0..PICK_ATTEMPTS).find_map(|_| {
            let node = self.random_unprotected(patch)?;
            is_leaf(graph, node).then_some(Edit::Remove { node })
        })
    }

    fn connect(&mut self, patch: &SoakPatch, graph: &Graph) -> Option<Edit> {
        // Now and then feed the output back into the patch: almost always a cycle, which the
        // graph must refuse.
        let roll = self.rng.unit();
        let source = match patch.output() {
            Some(output) if roll < 0.15 => output,
            _ if roll < 0.6 => {
                // Re-attach a node that no longer reaches the output, if there is one.
                let orphans = unreachable(patch, graph);
                match orphans.get(self.rng.below(orphans.len())) {
                    Some(&orphan) => orphan,
                    None => self.random_live(patch)?,
                }
            }
            _ => self.random_live(patch)?,
        };
        let (destination, slot) = self.random_free_input(patch, graph)?;
        Some(Edit::Connect {
            source,
            destination,
            slot,
        })
    }

    fn disconnect(&mut self, patch: &SoakPatch, graph: &Graph) -> Option<Edit> {
        (0..PICK_ATTEMPTS).find_map(|_| {
            let destination = self.random_live(patch)?;
            let inputs = graph.inputs(destination)?;
            let connected: Vec<usize> = (0..MAX_INPUTS)
                .filter(|&slot| {
                    inputs[slot].is_some_and(|source| is_leaf(graph, source))
                        && !patch.is_protected_input(destination, slot)
                })
                .collect();
            let slot = *connected.get(self.rng.below(connected.len()))?;
            Some(Edit::Disconnect { destination, slot })
        })
    }

    fn param(&mut self, patch: &SoakPatch, graph: &Graph) -> Option<Edit> {
        let node = self.random_unprotected(patch)?;
        let metas = graph.params(node)?.metas();
        let index = self.rng.below(metas.len());
        let meta = metas.get(index)?;
        let (low, high) = soak_range(meta);
        Some(Edit::Param {
            node,
            index,
            target: distinct_target(self.sequence, low, high),
            ramp_samples: 64 * self.rng.below(4) as u32,
        })
    }
}

/// Live nodes whose signal does not reach the output (they are not scheduled), in the order of
/// [`SoakPatch::live`]. O(nodes + edges).
fn unreachable(patch: &SoakPatch, graph: &Graph) -> Vec<NodeId> {
    let mut reached: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<NodeId> = patch.output().into_iter().collect();
    while let Some(id) = stack.pop() {
        if !reached.insert(id) {
            continue;
        }
        if let Some(inputs) = graph.inputs(id) {
            stack.extend(inputs.iter().flatten().copied());
        }
    }
    patch
        .live()
        .iter()
        .copied()
        .filter(|id| !reached.contains(id))
        .collect()
}

/// `true` if no input of `id` is connected.
fn is_leaf(graph: &Graph, id: NodeId) -> bool {
    graph
        .inputs(id)
        .is_some_and(|inputs| inputs.iter().all(Option::is_none))
}

/// The part of a parameter's range the soak sets: the full range, except that gains stay at or
/// below unity (`gain*` at most 1, `gain_db` at most 0 dB) and resonance at most 4, so hundreds
/// of random edits cannot compound into an output of billions. Always inside the declared range.
pub fn soak_range(meta: &ParamMeta) -> (f32, f32) {
    let cap = if meta.name == "gain_db" {
        0.0
    } else if meta.name.starts_with("gain") {
        1.0
    } else if meta.name == "q" {
        4.0
    } else {
        meta.max
    };
    let high = cap.clamp(meta.min, meta.max);
    (meta.min, high)
}

/// A value inside `[min, max]` that differs from edit to edit: the golden-ratio sequence
/// (`sequence · φ mod 1`) never repeats, so a lost or reordered last edit leaves a visibly
/// different final value (up to `f32` rounding of the scaled value).
pub fn distinct_target(sequence: u64, min: f32, max: f32) -> f32 {
    const GOLDEN: f64 = 0.618_033_988_749_894_9;
    let fraction = (sequence as f64 * GOLDEN).fract();
    let value = f64::from(min) + (f64::from(max) - f64::from(min)) * fraction;
    (value as f32).clamp(min, max)
}

/// Applies `edit` to the graph and the model. `Err` means the graph refused it (nothing changed
/// and nothing will be sent).
pub fn apply_edit(graph: &mut Graph, patch: &mut SoakPatch, edit: &Edit) -> Result<(), Rejection> {
    match *edit {
        Edit::Add { kind, feed } => {
            let (node, mirror) = Observed::new(kind.build(patch.take_seed()));
            let id = graph
                .add_node(Box::new(node))
                .map_err(|_| Rejection::Full)?;
            patch.insert(id, kind, false, mirror);
            if let Some((destination, slot)) = feed {
                // A brand-new node feeds nothing, so this cannot close a cycle; a refusal (a
                // stale destination) still leaves a valid add.
                let _ = graph.connect(id, destination, slot);
            }
            Ok(())
        }
        Edit::Remove { node } => {
            graph
                .remove_node(node)
                .map_err(|error| Rejection::from(&error))?;
            patch.forget(node);
            Ok(())
        }
        Edit::Connect {
            source,
            destination,
            slot,
        } => graph
            .connect(source, destination, slot)
            .map(|_| ())
            .map_err(|error| Rejection::from(&error)),
        Edit::Disconnect { destination, slot } => graph
            .disconnect(destination, slot)
            .map(|_| ())
            .map_err(|error| Rejection::from(&error)),
        Edit::Param {
            node,
            index,
            target,
            ramp_samples,
        } => {
            graph
                .set_param(node, index, target, ramp_samples)
                .map_err(|error| Rejection::from(&error))?;
            patch.record_param(node, index, target);
            Ok(())
        }
    }
}

/// Edits attempted and refused, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EditCounts {
    attempted: [u64; 5],
    rejected_cycle: u64,
    rejected_full: u64,
    rejected_other: u64,
}

impl EditCounts {
    /// Counts one edit and its outcome.
    pub fn record(&mut self, kind: EditKind, outcome: Result<(), Rejection>) {
        self.attempted[kind.index()] += 1;
        match outcome {
            Ok(()) => {}
            Err(Rejection::Cycle) => self.rejected_cycle += 1,
            Err(Rejection::Full) => self.rejected_full += 1,
            Err(Rejection::Other) => self.rejected_other += 1,
        }
    }

    /// Edits of `kind` generated.
    pub fn attempted(&self, kind: EditKind) -> u64 {
        self.attempted[kind.index()]
    }

    /// Every edit generated.
    pub fn total(&self) -> u64 {
        self.attempted.iter().sum()
    }

    /// Edits the graph refused as cycles.
    pub fn rejected_cycle(&self) -> u64 {
        self.rejected_cycle
    }

    /// Edits refused for any reason (cycles, a full graph, other validation).
    pub fn rejected(&self) -> u64 {
        self.rejected_cycle + self.rejected_full + self.rejected_other
    }

    /// Edits the graph accepted.
    pub fn accepted(&self) -> u64 {
        self.total() - self.rejected()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(nodes: usize) -> (Graph, SoakPatch) {
        let mut graph = Graph::with_capacity(4 * nodes);
        let patch = SoakPatch::build(&mut graph, nodes, &mut SoakRng::new(3)).expect("patch");
        (graph, patch)
    }

    #[test]
    fn same_seed_same_edits() {
        let (graph, patch) = setup(100);
        let mut a = EditGenerator::new(42, 100);
        let mut b = EditGenerator::new(42, 100);
        for _ in 0..200 {
            assert_eq!(a.next_edit(&patch, &graph), b.next_edit(&patch, &graph));
        }
    }

    #[test]
    fn edits_cover_every_kind_keep_the_protected_path_and_get_cycles_refused() {
        let (mut graph, mut patch) = setup(200);
        let output = patch.output().expect("output");
        let mut generator = EditGenerator::new(9, 200);
        let mut counts = EditCounts::default();
        for _ in 0..3_000 {
            let edit = generator.next_edit(&patch, &graph);
            match edit {
                Edit::Remove { node } | Edit::Param { node, .. } => {
                    assert!(!patch.info(node).expect("live").protected, "{edit:?}");
                }
                Edit::Connect {
                    destination, slot, ..
                }
                | Edit::Disconnect { destination, slot } => {
                    assert!(!patch.is_protected_input(destination, slot), "{edit:?}");
                }
                Edit::Add { feed, .. } => {
                    if let Some((destination, slot)) = feed {
                        assert!(!patch.is_protected_input(destination, slot));
                    }
                }
            }
            let outcome = apply_edit(&mut graph, &mut patch, &edit);
            counts.record(edit.kind(), outcome);
        }
        for kind in EditKind::ALL {
            assert!(counts.attempted(kind) > 0, "no {} edits", kind.name());
        }
        assert!(
            counts.rejected_cycle() > 0,
            "random connections should hit cycles"
        );
        assert_eq!(counts.total(), 3_000);
        assert_eq!(counts.accepted() + counts.rejected(), 3_000);
        // The model matches the graph, and the output still hangs off the protected sine.
        assert_eq!(patch.live().len(), graph.node_count());
        assert_eq!(graph.output_node(), Some(output));
        for (&(node, index), &target) in patch.param_targets() {
            assert_eq!(graph.param_value(node, index), Some(target));
        }
        // The node count stays near the target.
        assert!(
            (100..=300).contains(&graph.node_count()),
            "{}",
            graph.node_count()
        );
    }

    #[test]
    fn distinct_targets_stay_in_range_and_differ() {
        let mut previous = f32::NAN;
        for sequence in 1..1_000 {
            let value = distinct_target(sequence, 0.0, 16.0);
            assert!((0.0..=16.0).contains(&value));
            assert_ne!(value, previous);
            previous = value;
        }
        assert_eq!(distinct_target(5, 3.0, 3.0), 3.0);
    }

    #[test]
    fn soak_ranges_cap_gains_and_resonance() {
        use aether_params::Unit;
        let meta = |name, min, max| ParamMeta::new(name, min, max, min, Unit::None);
        assert_eq!(soak_range(&meta("gain", 0.0, 16.0)), (0.0, 1.0));
        assert_eq!(soak_range(&meta("gain3", 0.0, 4.0)), (0.0, 1.0));
        assert_eq!(soak_range(&meta("gain_db", -24.0, 24.0)), (-24.0, 0.0));
        assert_eq!(soak_range(&meta("q", 0.1, 40.0)), (0.1, 4.0));
        assert_eq!(soak_range(&meta("freq", 0.0, 20_000.0)), (0.0, 20_000.0));
        assert_eq!(soak_range(&meta("gain", 2.0, 3.0)), (2.0, 2.0));
    }
}
