//! Validation of a snapshot against the registered node types, and rebuilding the graph.

use std::collections::{BTreeMap, HashMap};

use aether_graph::{
    DspNode, Graph, MAX_INPUTS, MAX_NODES, NodeId, NodeRegistry, NodeState, RegistryError,
};
use aether_params::{ParamBlock, ParamMeta};
use aether_scheduler::{EngineConfig, Scheduler};

use crate::encoding::check_format;
use crate::error::{NodeRef, SnapshotError};
use crate::snapshot::{GraphSnapshot, SnapshotNode};

/// What a successful restore built: the graph id of every file node, and the output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// File node id ([`SnapshotNode::id`]) -> the node's id in the restored graph.
    pub ids: BTreeMap<u32, NodeId>,
    /// The restored output node, if the snapshot has one.
    pub output: Option<NodeId>,
}

impl Restored {
    /// The graph id of the node the file calls `file_id`.
    pub fn node(&self, file_id: u32) -> Option<NodeId> {
        self.ids.get(&file_id).copied()
    }
}

/// The default [`RestoreLimits::state_budget`]: 1 GiB of node state.
pub const DEFAULT_STATE_BUDGET: usize = 1 << 30;

/// What a restore may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreLimits {
    /// Bytes of node state (delay lines and other buffers, as the node types'
    /// [`Footprint`](aether_graph::Footprint)s declare them) that the patch's nodes may
    /// allocate together. Checked for the whole patch before any node is built.
    pub state_budget: usize,
}

impl Default for RestoreLimits {
    /// [`DEFAULT_STATE_BUDGET`].
    fn default() -> Self {
        RestoreLimits {
            state_budget: DEFAULT_STATE_BUDGET,
        }
    }
}

/// One node of a validated patch, as [`GraphSnapshot::inspect`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct InspectedNode {
    /// The node's id in the file.
    pub file_id: u32,
    /// Its type name.
    pub type_name: String,
    /// Its label in the file.
    pub label: Option<String>,
    /// Its construction settings: as the node reports them, or as the file has them for types
    /// listed without being built (those registered with a footprint).
    pub state: NodeState,
    /// Bytes of state the node allocates when it is built, by its type's footprint (0 for
    /// types without one).
    pub state_bytes: usize,
    /// Every declared parameter with the value the patch gives it (or its default).
    pub params: Vec<(ParamMeta, f32)>,
}

/// A file node that passed validation, with its parameter values by index. Types registered
/// with a footprint are not built by validation (`instance` stays `None` until the patch is
/// restored); others are, since building one is how their parameters are learnt.
struct PlannedNode {
    position: usize,
    file_id: u32,
    instance: Option<Box<dyn DspNode>>,
    /// The footprint's parameters, for a node not built yet.
    declared: Option<&'static [ParamMeta]>,
    state_bytes: usize,
    params: Vec<(usize, f32)>,
}

/// A snapshot that passed validation, ready to be applied to a graph. Node references are
/// positions in `nodes` (file order).
struct Plan {
    nodes: Vec<PlannedNode>,
    /// `(source, destination, slot)`.
    edges: Vec<(usize, usize, usize)>,
    output: Option<usize>,
}

fn node_ref(node: &SnapshotNode) -> NodeRef {
    NodeRef {
        id: node.id,
        type_name: node.type_name.clone(),
    }
}

impl GraphSnapshot {
    /// Checks the whole snapshot against `registry` without touching any graph: everything
    /// [`restore`](Self::restore) checks, including building every node from its saved state
    /// (the nodes are dropped afterwards). Allocates; control thread only.
    ///
    /// Node types registered with a [`Footprint`](aether_graph::Footprint) (the library's
    /// `Delay`) are checked through it and not built, so validating allocates none of their
    /// buffers. The patch's state must fit the default [`RestoreLimits`].
    pub fn validate(&self, registry: &NodeRegistry) -> Result<(), SnapshotError> {
        self.plan(registry, RestoreLimits::default()).map(drop)
    }

    /// Validates the snapshot like [`validate`](Self::validate) within `limits` and lists its
    /// nodes in file order with their settings and parameter values (for `aether info` and
    /// `dot`). Builds no node whose type has a footprint. Allocates; control thread only.
    pub fn inspect(
        &self,
        registry: &NodeRegistry,
        limits: RestoreLimits,
    ) -> Result<Vec<InspectedNode>, SnapshotError> {
        let plan = self.plan(registry, limits)?;
        let listed = plan
            .nodes
            .into_iter()
            .filter_map(|planned| {
                let node = self.nodes.get(planned.position)?;
                let (metas, state): (&[ParamMeta], NodeState) = match &planned.instance {
                    Some(instance) => (instance.param_specs(), instance.save_state()),
                    None => (planned.declared.unwrap_or(&[]), node.state.clone()),
                };
                let mut params: Vec<(ParamMeta, f32)> =
                    metas.iter().map(|meta| (*meta, meta.default)).collect();
                for &(index, value) in &planned.params {
                    if let Some(entry) = params.get_mut(index) {
                        entry.1 = value;
                    }
                }
                Some(InspectedNode {
                    file_id: planned.file_id,
                    type_name: node.type_name.clone(),
                    label: node.label.clone(),
                    state,
                    state_bytes: planned.state_bytes,
                    params,
                })
            })
            .collect();
        Ok(listed)
    }

    /// Replaces the contents of `graph` with this snapshot's nodes, parameter values, edges and
    /// output, and returns the new ids.
    ///
    /// Everything is validated **before** the graph is touched, so an error leaves it exactly as
    /// it was: an unknown format or version, an invalid sample rate, a duplicate node id, an
    /// unknown node type, a state the type's constructor refuses, an unknown parameter name, a
    /// non-finite or out-of-range parameter value (never clamped), an edge to a missing node, a
    /// slot `>= MAX_INPUTS`, two edges into one slot, a cycle, or an output naming a missing
    /// node. Each is a [`SnapshotError`] naming the file node and its type.
    ///
    /// On success the previous nodes are removed (delivered ones come back from the audio side
    /// after the next commit, as with [`Graph::clear`]) and the graph grows if it is too small.
    /// Parameters are set as jumps (no ramp) before the nodes are delivered, so restored nodes
    /// start at their saved targets from their first sample. On a running engine, call
    /// [`Controller::commit`](aether_scheduler::Controller::commit) afterwards: the whole new
    /// graph goes to the audio side as one command.
    ///
    /// Allocates (node construction, the graph's edits); control thread only.
    ///
    /// The nodes' state must fit the default [`RestoreLimits`] (see
    /// [`restore_within`](Self::restore_within)).
    pub fn restore(
        &self,
        registry: &NodeRegistry,
        graph: &mut Graph,
    ) -> Result<Restored, SnapshotError> {
        self.restore_within(registry, graph, RestoreLimits::default())
    }

    /// [`restore`](Self::restore) within `limits`: the bytes of state the patch's nodes declare
    /// through their types' footprints are added up and checked against
    /// [`RestoreLimits::state_budget`] before any node is built; over budget is
    /// [`SnapshotError::StateBudget`], naming the node that crossed it and the bytes it asked
    /// for.
    pub fn restore_within(
        &self,
        registry: &NodeRegistry,
        graph: &mut Graph,
        limits: RestoreLimits,
    ) -> Result<Restored, SnapshotError> {
        let mut plan = self.plan(registry, limits)?;
        self.instantiate(&mut plan, registry)?;
        build(plan, graph)
    }

    /// Validates the snapshot, then builds a single-threaded [`Scheduler`] holding it, at
    /// `sample_rate` or, if `None`, the snapshot's own rate. The scheduler has room for
    /// [`MAX_NODES`] nodes or the snapshot's count, whichever is larger; the restored edits are
    /// sent with its first processed block (or [`Scheduler::commit`]). Use
    /// [`Scheduler::split`] for real-time use. Allocates; control thread only.
    pub fn restore_into_scheduler(
        &self,
        registry: &NodeRegistry,
        sample_rate: Option<f32>,
    ) -> Result<Scheduler, SnapshotError> {
        let mut plan = self.plan(registry, RestoreLimits::default())?;
        self.instantiate(&mut plan, registry)?;
        let config = EngineConfig {
            node_capacity: MAX_NODES.max(plan.nodes.len()),
            ..EngineConfig::default()
        };
        let mut scheduler =
            Scheduler::try_with_config(sample_rate.unwrap_or(self.sample_rate), config)
                .map_err(SnapshotError::Engine)?;
        build(plan, &mut scheduler.graph)?;
        Ok(scheduler)
    }

    /// Builds the nodes validation left unbuilt (types with a footprint). Touches no graph, so
    /// a constructor refusing what its footprint accepted still changes nothing.
    fn instantiate(&self, plan: &mut Plan, registry: &NodeRegistry) -> Result<(), SnapshotError> {
        for planned in &mut plan.nodes {
            if planned.instance.is_some() {
                continue;
            }
            let Some(node) = self.nodes.get(planned.position) else {
                continue;
            };
            planned.instance = Some(build_node(node, registry)?);
        }
        Ok(())
    }

    /// Validates everything (the state budget included) and builds every node instance whose
    /// type has no footprint; touches no graph.
    fn plan(&self, registry: &NodeRegistry, limits: RestoreLimits) -> Result<Plan, SnapshotError> {
        check_format(&self.format, self.version)?;
        aether_graph::check_sample_rate(self.sample_rate)
            .map_err(|error| SnapshotError::InvalidSampleRate { value: error.value })?;

        let mut positions: HashMap<u32, usize> = HashMap::with_capacity(self.nodes.len());
        for (position, node) in self.nodes.iter().enumerate() {
            if let Some(first) = positions.get(&node.id).and_then(|&at| self.nodes.get(at)) {
                return Err(SnapshotError::DuplicateNodeId {
                    node: node_ref(node),
                    first_type: first.type_name.clone(),
                });
            }
            positions.insert(node.id, position);
        }
        let reference = |position: usize| self.nodes.get(position).map(node_ref);

        let mut nodes = Vec::with_capacity(self.nodes.len());
        let mut state_used = 0usize;
        for (position, node) in self.nodes.iter().enumerate() {
            let planned = plan_node(position, node, registry)?;
            let total = state_used.saturating_add(planned.state_bytes);
            if total > limits.state_budget {
                return Err(SnapshotError::StateBudget {
                    node: node_ref(node),
                    requested: planned.state_bytes,
                    used: state_used,
                    budget: limits.state_budget,
                });
            }
            state_used = total;
            nodes.push(planned);
        }

        // inputs[destination][slot] = source, as positions.
        let mut inputs: Vec<[Option<usize>; MAX_INPUTS]> = vec![[None; MAX_INPUTS]; nodes.len()];
        let mut edges = Vec::with_capacity(self.edges.len());
        for (index, edge) in self.edges.iter().enumerate() {
            let position = |id: u32| {
                positions
                    .get(&id)
                    .copied()
                    .ok_or(SnapshotError::EdgeToMissingNode {
                        edge: index,
                        from: edge.from,
                        to: edge.to,
                        slot: edge.slot,
                        missing: id,
                    })
            };
            let from = position(edge.from)?;
            let to = position(edge.to)?;
            let slot = usize::from(edge.slot);
            let destination_ref = || reference(to).unwrap_or_else(|| missing_ref(edge.to));
            let Some(input) = inputs.get_mut(to).and_then(|slots| slots.get_mut(slot)) else {
                return Err(SnapshotError::SlotOutOfRange {
                    edge: index,
                    to: destination_ref(),
                    slot: edge.slot,
                });
            };
            if let Some(first) = *input {
                return Err(SnapshotError::SlotTaken {
                    to: destination_ref(),
                    slot: edge.slot,
                    first: reference(first).unwrap_or_else(|| missing_ref(u32::MAX)),
                    second: reference(from).unwrap_or_else(|| missing_ref(edge.from)),
                });
            }
            *input = Some(from);
            edges.push((from, to, slot));
        }

        if let Some(cycle) = find_cycle(&inputs) {
            return Err(SnapshotError::Cycle {
                cycle: cycle.into_iter().filter_map(reference).collect(),
            });
        }

        let output = match self.output {
            Some(id) => Some(
                positions
                    .get(&id)
                    .copied()
                    .ok_or(SnapshotError::UnknownOutput { output: id })?,
            ),
            None => None,
        };

        Ok(Plan {
            nodes,
            edges,
            output,
        })
    }
}

/// A stand-in reference for a position that validation guarantees exists.
fn missing_ref(id: u32) -> NodeRef {
    NodeRef {
        id,
        type_name: String::from("?"),
    }
}

/// Builds one node from its saved state through the registry, checking what it built.
fn build_node(
    node: &SnapshotNode,
    registry: &NodeRegistry,
) -> Result<Box<dyn DspNode>, SnapshotError> {
    let instance = registry
        .create(&node.type_name, &node.state)
        .map_err(|error| match error {
            RegistryError::State { error, .. } => SnapshotError::StateRefused {
                node: node_ref(node),
                error,
            },
            other => SnapshotError::Registry {
                node: node_ref(node),
                error: other,
            },
        })?;
    if instance.type_name() != node.type_name {
        return Err(SnapshotError::TypeMismatch {
            node: node_ref(node),
            built: instance.type_name(),
        });
    }
    Ok(instance)
}

/// Checks one node: its type, its saved state (through the type's footprint when it has one,
/// otherwise by building the node) and its parameter values against the declared parameters.
fn plan_node(
    position: usize,
    node: &SnapshotNode,
    registry: &NodeRegistry,
) -> Result<PlannedNode, SnapshotError> {
    if !registry.contains(&node.type_name) {
        return Err(SnapshotError::UnknownNodeType {
            node: node_ref(node),
            known: registry.type_names().collect(),
        });
    }
    let (instance, declared, state_bytes) = match registry.footprint(&node.type_name) {
        Some(footprint) => {
            let bytes = (footprint.state_bytes)(&node.state).map_err(|error| {
                SnapshotError::StateRefused {
                    node: node_ref(node),
                    error,
                }
            })?;
            (None, Some(footprint.params), bytes)
        }
        None => (Some(build_node(node, registry)?), None, 0),
    };
    let specs: &[ParamMeta] = match (&instance, declared) {
        (Some(instance), _) => instance.param_specs(),
        (None, Some(declared)) => declared,
        (None, None) => &[],
    };
    // Building a block checks the declared parameters (count, ranges); a node without any
    // has nothing to check.
    if !specs.is_empty() {
        ParamBlock::from_metas(specs).map_err(|error| SnapshotError::InvalidParamSpecs {
            node: node_ref(node),
            error,
        })?;
    }
    let mut params = Vec::with_capacity(node.params.len());
    for (name, &value) in &node.params {
        let Some((index, meta)) = specs.iter().enumerate().find(|(_, meta)| meta.name == name)
        else {
            return Err(SnapshotError::UnknownParam {
                node: node_ref(node),
                param: name.clone(),
                known: specs.iter().map(|meta| meta.name).collect(),
            });
        };
        if !value.is_finite() {
            return Err(SnapshotError::NonFiniteParam {
                node: node_ref(node),
                param: name.clone(),
                value,
            });
        }
        if value < meta.min || value > meta.max {
            return Err(SnapshotError::ParamOutOfRange {
                node: node_ref(node),
                param: name.clone(),
                value,
                min: meta.min,
                max: meta.max,
            });
        }
        params.push((index, value));
    }
    Ok(PlannedNode {
        position,
        file_id: node.id,
        instance,
        declared,
        state_bytes,
        params,
    })
}

/// A cycle among the nodes, in signal-flow order with the first node repeated at the end, or
/// `None` if the edges form a DAG. `inputs[node][slot]` is the node feeding that slot.
///
/// Kahn's algorithm removes every node not on or behind a cycle; from any node left, following
/// inputs that are also left must revisit a node within `n` steps, and that loop is the cycle.
fn find_cycle(inputs: &[[Option<usize>; MAX_INPUTS]]) -> Option<Vec<usize>> {
    let count = inputs.len();
    let mut unresolved_inputs: Vec<usize> = inputs
        .iter()
        .map(|slots| slots.iter().flatten().count())
        .collect();
    // Each node's readers as compressed rows: `readers[offsets[n]..offsets[n + 1]]`.
    let mut offsets: Vec<usize> = vec![0; count + 1];
    for slots in inputs {
        for &source in slots.iter().flatten() {
            if let Some(offset) = offsets.get_mut(source + 1) {
                *offset += 1;
            }
        }
    }
    for node in 0..count {
        offsets[node + 1] += offsets[node];
    }
    let mut fill = offsets.clone();
    let mut readers: Vec<usize> = vec![0; offsets[count]];
    for (destination, slots) in inputs.iter().enumerate() {
        for &source in slots.iter().flatten() {
            if let Some(at) = fill.get_mut(source) {
                if let Some(reader) = readers.get_mut(*at) {
                    *reader = destination;
                }
                *at += 1;
            }
        }
    }
    let mut ready: Vec<usize> = (0..count)
        .filter(|&node| unresolved_inputs.get(node) == Some(&0))
        .collect();
    let mut left = vec![true; count];
    while let Some(node) = ready.pop() {
        if let Some(flag) = left.get_mut(node) {
            *flag = false;
        }
        let row =
            offsets.get(node).copied().unwrap_or(0)..offsets.get(node + 1).copied().unwrap_or(0);
        for &destination in readers.get(row).unwrap_or(&[]) {
            if let Some(remaining) = unresolved_inputs.get_mut(destination) {
                *remaining = remaining.saturating_sub(1);
                if *remaining == 0 {
                    ready.push(destination);
                }
            }
        }
    }

    let start = left.iter().position(|&is_left| is_left)?;
    // Walk against signal flow; `step_of[node]` is where `node` appears in `path`.
    let mut step_of: Vec<Option<usize>> = vec![None; count];
    let mut path = Vec::new();
    let mut current = start;
    for _ in 0..=count {
        if let Some(first) = step_of.get(current).copied().flatten() {
            // path[first..] runs against signal flow and its last node is fed by path[first].
            let mut cycle: Vec<usize> = path.get(first..)?.iter().rev().copied().collect();
            cycle.push(*cycle.first()?);
            return Some(cycle);
        }
        if let Some(step) = step_of.get_mut(current) {
            *step = Some(path.len());
        }
        path.push(current);
        current = inputs
            .get(current)?
            .iter()
            .flatten()
            .copied()
            .find(|&source| left.get(source) == Some(&true))?;
    }
    None
}

/// Applies a validated plan: replaces the graph's contents. Only a graph refusing what
/// validation accepted can fail here; the graph is then cleared.
fn build(plan: Plan, graph: &mut Graph) -> Result<Restored, SnapshotError> {
    let needed = plan.nodes.len();
    if graph.capacity() < needed {
        graph
            .grow(needed - graph.capacity())
            .map_err(SnapshotError::Capacity)?;
    }
    graph.clear();
    // Clearing can retire slots whose generation ran out; make up for them.
    let free = graph.capacity().saturating_sub(graph.node_count());
    if free < needed {
        graph.grow(needed - free).map_err(SnapshotError::Capacity)?;
    }
    populate(plan, graph).inspect_err(|_| graph.clear())
}

fn populate(plan: Plan, graph: &mut Graph) -> Result<Restored, SnapshotError> {
    let refused = |reason: String| SnapshotError::Build { reason };
    let mut restored = Restored::default();
    let mut ids = Vec::with_capacity(plan.nodes.len());
    for node in plan.nodes {
        let Some(instance) = node.instance else {
            return Err(refused("a node was not built".into()));
        };
        let id = graph
            .add_node(instance)
            .map_err(|error| refused(error.to_string()))?;
        for (index, value) in node.params {
            graph
                .set_param(id, index, value, 0)
                .map_err(|error| refused(error.to_string()))?;
        }
        ids.push(id);
        restored.ids.insert(node.file_id, id);
    }
    // One check of the whole graph for all edges (validation already refused cycles), instead
    // of one per edge.
    let mut edges = Vec::with_capacity(plan.edges.len());
    for (source, destination, slot) in plan.edges {
        let (Some(&source), Some(&destination)) = (ids.get(source), ids.get(destination)) else {
            return Err(refused("an edge names a node that was not built".into()));
        };
        edges.push((source, destination, slot));
    }
    graph
        .connect_all(&edges)
        .map_err(|error| refused(error.to_string()))?;
    if let Some(output) = plan.output {
        let Some(&id) = ids.get(output) else {
            return Err(refused("the output names a node that was not built".into()));
        };
        graph
            .set_output_node(id)
            .map_err(|error| refused(error.to_string()))?;
        restored.output = Some(id);
    }
    Ok(restored)
}
