//! The `control_model` target: random sequences of control-API calls on a live engine,
//! checked against a plain model of what the graph must hold.

use std::collections::BTreeMap;

use aether_graph::{MAX_INPUTS, NodeId, NodeRegistry};
use aether_scheduler::{AudioProcessor, ControlError, Controller, EngineConfig, engine};
use arbitrary::{Arbitrary, Unstructured};

/// Nodes the engine's graph holds: small, so "graph full" refusals happen.
const NODE_CAPACITY: usize = 12;
/// Commands in flight at most: small, so the shortcuts' "edit made, not sent" errors happen.
const COMMAND_CAPACITY: usize = 4;
/// Operations run per input at most.
const MAX_OPS: usize = 200;
/// Blocks one [`Op::Process`] renders at most.
const MAX_BLOCKS_PER_OP: u8 = 8;
/// Blocks the final drain may take to deliver everything still in flight.
const MAX_DRAIN_BLOCKS: usize = 256;

/// A parameter target, with the non-finite values made as likely as any other.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum Value {
    /// Any `f32` bit pattern (mostly finite, often far outside the parameter's range).
    Bits(f32),
    /// NaN.
    Nan,
    /// Positive infinity.
    Infinity,
    /// Negative infinity.
    NegativeInfinity,
}

impl Value {
    fn get(self) -> f32 {
        match self {
            Value::Bits(value) => value,
            Value::Nan => f32::NAN,
            Value::Infinity => f32::INFINITY,
            Value::NegativeInfinity => f32::NEG_INFINITY,
        }
    }
}

/// One control-side call. Node operands index the ids handed out so far (removed ones
/// included, so stale ids are exercised); an index past them names an id that never existed.
#[derive(Debug, Clone, Arbitrary)]
pub enum Op {
    /// `Controller::add_node` with a library node (type index into the registry's names).
    Add {
        /// Index into the sorted type names (taken modulo their count).
        type_index: u8,
    },
    /// `Controller::remove_node`.
    Remove {
        /// Node operand.
        node: u8,
    },
    /// `Controller::connect` (slots up to 255: most are out of range).
    Connect {
        /// Source operand.
        source: u8,
        /// Destination operand.
        destination: u8,
        /// Input slot.
        slot: u8,
    },
    /// `Controller::disconnect`.
    Disconnect {
        /// Destination operand.
        destination: u8,
        /// Input slot.
        slot: u8,
    },
    /// `Controller::set_param`.
    SetParam {
        /// Node operand.
        node: u8,
        /// Parameter index (out of range for most nodes above a handful).
        index: u8,
        /// Target.
        value: Value,
        /// Ramp length in samples.
        ramp: u16,
    },
    /// `Controller::set_output_node`.
    SetOutput {
        /// Node operand.
        node: u8,
    },
    /// `Controller::commit`.
    Commit,
    /// `AudioProcessor::process_block`, `blocks` times (at most 8).
    Process {
        /// Blocks to render.
        blocks: u8,
    },
    /// `Controller::clear`.
    Clear,
}

/// What the model knows of one live node.
#[derive(Debug, Clone)]
struct ModelNode {
    type_name: &'static str,
    inputs: [Option<NodeId>; MAX_INPUTS],
    /// `(min, max, value)` per parameter.
    params: Vec<(f32, f32, f32)>,
}

/// The graph as it must be after every call.
#[derive(Debug, Default)]
struct Model {
    nodes: BTreeMap<NodeId, ModelNode>,
    output: Option<NodeId>,
}

impl Model {
    /// `true` if `source` already depends on `destination` (so the edge would close a cycle).
    fn would_cycle(&self, source: NodeId, destination: NodeId) -> bool {
        let mut stack = vec![source];
        let mut seen = Vec::new();
        while let Some(node) = stack.pop() {
            if node == destination {
                return true;
            }
            if seen.contains(&node) {
                continue;
            }
            seen.push(node);
            if let Some(entry) = self.nodes.get(&node) {
                stack.extend(entry.inputs.iter().flatten().copied());
            }
        }
        false
    }

    fn remove(&mut self, id: NodeId) {
        self.nodes.remove(&id);
        for node in self.nodes.values_mut() {
            for input in &mut node.inputs {
                if *input == Some(id) {
                    *input = None;
                }
            }
        }
        if self.output == Some(id) {
            self.output = None;
        }
    }

    /// Panics unless the controller's graph holds exactly what the model holds.
    fn check(&self, controller: &Controller, after: &Op) {
        let graph = controller.graph();
        let ids: Vec<NodeId> = graph.node_ids().collect();
        let mut sorted = ids.clone();
        sorted.sort();
        let expected: Vec<NodeId> = self.nodes.keys().copied().collect();
        assert_eq!(sorted, expected, "live ids after {after:?}");
        for (&id, node) in &self.nodes {
            assert_eq!(
                graph.type_name(id),
                Some(node.type_name),
                "type after {after:?}"
            );
            assert_eq!(
                graph.inputs(id),
                Some(&node.inputs),
                "inputs of {id:?} after {after:?}"
            );
            for (index, &(_, _, value)) in node.params.iter().enumerate() {
                let actual = graph.param_value(id, index);
                assert!(
                    actual.is_some_and(|actual| actual.to_bits() == value.to_bits()),
                    "param {index} of {id:?} after {after:?}: graph {actual:?}, model {value}"
                );
            }
        }
        assert_eq!(graph.output_node(), self.output, "output after {after:?}");
    }
}

/// How a shortcut call ended, as the model sees it.
enum Outcome {
    /// Sent to the audio side.
    Sent,
    /// Made but not sent (`ControlError::Commit`): pending for a later commit.
    Pending,
    /// Refused; nothing changed.
    Refused,
}

/// `Graph` and `AddNode` errors are refusals; every other error (`Commit`, and `add_node`'s
/// "added, not sent" error, which carries the new id) means the edit was made.
fn outcome<T>(result: &Result<T, ControlError>) -> Outcome {
    match result {
        Ok(_) => Outcome::Sent,
        Err(ControlError::Graph(_) | ControlError::AddNode(_)) => Outcome::Refused,
        Err(_) => Outcome::Pending,
    }
}

/// Random sequences of [`Op`]s (decoded with `arbitrary`) on a small engine, checked after each
/// call against a model of the live ids, each node's input slots and parameter values, and the
/// output node:
///
/// - a refused edit leaves the graph equal to the model; an accepted one changes it as the
///   model says (an edit "made but not sent" counts as made);
/// - every block is finite and counted in `EngineStats::blocks`;
/// - after the last op, committing and rendering delivers everything: no pending changes, no
///   command in flight, and at least as many commands applied as sent by calls that succeeded.
pub fn control_model(data: &[u8]) {
    let mut input = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < MAX_OPS && !input.is_empty() {
        match Op::arbitrary(&mut input) {
            Ok(op) => ops.push(op),
            Err(_) => break,
        }
    }
    run_ops(&ops);
}

/// Runs `ops` on a fresh engine against the model (see [`control_model`]).
pub fn run_ops(ops: &[Op]) {
    let registry = aether_cli::patch::registry();
    let type_names: Vec<&'static str> = registry.type_names().collect();
    let config = EngineConfig {
        node_capacity: NODE_CAPACITY,
        command_capacity: COMMAND_CAPACITY,
        ..EngineConfig::default()
    };
    let (mut controller, mut audio) = engine(48_000.0, config).expect("a small engine builds");
    let mut model = Model::default();
    let mut handed_out: Vec<NodeId> = Vec::new();
    let mut blocks = 0_u64;
    // Commands that calls which returned `Ok` certainly sent (a lower bound).
    let mut sent = 0_u64;

    for op in ops {
        let pick = |operand: u8| {
            handed_out
                .get(usize::from(operand))
                .copied()
                .unwrap_or(NodeId::from_bits(u64::MAX - u64::from(operand)))
        };
        match *op {
            Op::Add { type_index } => {
                let type_name = type_names[usize::from(type_index) % type_names.len()];
                add(
                    &mut controller,
                    &registry,
                    type_name,
                    &mut model,
                    &mut handed_out,
                    &mut sent,
                );
            }
            Op::Remove { node } => {
                let id = pick(node);
                let live = model.nodes.contains_key(&id);
                let result = controller.remove_node(id);
                expect_refusal(!live, &result, op);
                if live {
                    model.remove(id);
                    sent += u64::from(matches!(outcome(&result), Outcome::Sent));
                }
            }
            Op::Connect {
                source,
                destination,
                slot,
            } => {
                let (source, destination, slot) =
                    (pick(source), pick(destination), usize::from(slot));
                let allowed = model.nodes.contains_key(&source)
                    && model.nodes.contains_key(&destination)
                    && slot < MAX_INPUTS
                    && !model.would_cycle(source, destination);
                let previous = model
                    .nodes
                    .get(&destination)
                    .and_then(|node| node.inputs.get(slot).copied().flatten());
                let result = controller.connect(source, destination, slot);
                expect_refusal(!allowed, &result, op);
                if let Ok(returned) = &result {
                    assert_eq!(*returned, previous, "previous source after {op:?}");
                }
                if allowed {
                    if let Some(node) = model.nodes.get_mut(&destination) {
                        node.inputs[slot] = Some(source);
                    }
                    sent += u64::from(matches!(outcome(&result), Outcome::Sent));
                }
            }
            Op::Disconnect { destination, slot } => {
                let (destination, slot) = (pick(destination), usize::from(slot));
                let allowed = model.nodes.contains_key(&destination) && slot < MAX_INPUTS;
                let result = controller.disconnect(destination, slot);
                expect_refusal(!allowed, &result, op);
                if allowed && let Some(node) = model.nodes.get_mut(&destination) {
                    let previous = node.inputs[slot].take();
                    if let Ok(returned) = &result {
                        assert_eq!(*returned, previous, "previous source after {op:?}");
                    }
                }
            }
            Op::SetParam {
                node,
                index,
                value,
                ramp,
            } => {
                let (id, index, target) = (pick(node), usize::from(index), value.get());
                let param = model
                    .nodes
                    .get(&id)
                    .and_then(|node| node.params.get(index).copied());
                let allowed = param.is_some() && target.is_finite();
                let result = controller.set_param(id, index, target, u32::from(ramp));
                expect_refusal(!allowed, &result, op);
                if allowed
                    && let Some(slot) = model
                        .nodes
                        .get_mut(&id)
                        .and_then(|node| node.params.get_mut(index))
                {
                    slot.2 = target.clamp(slot.0, slot.1);
                }
            }
            Op::SetOutput { node } => {
                let id = pick(node);
                let live = model.nodes.contains_key(&id);
                let result = controller.set_output_node(id);
                expect_refusal(!live, &result, op);
                if live {
                    model.output = Some(id);
                }
            }
            Op::Commit => {
                if let Ok(report) = controller.commit() {
                    sent += u64::from(report.schedule_sent) + report.params_sent as u64;
                }
            }
            Op::Process { blocks: count } => {
                for _ in 0..count.min(MAX_BLOCKS_PER_OP) {
                    render(&mut audio, &mut blocks, &controller);
                }
            }
            Op::Clear => {
                let result = controller.clear();
                expect_refusal(false, &result, op);
                model.nodes.clear();
                model.output = None;
                sent += u64::from(matches!(outcome(&result), Outcome::Sent));
            }
        }
        model.check(&controller, op);
    }

    drain(&mut controller, &mut audio, &mut blocks, sent);
}

/// Adds a `type_name` node through `Controller::add_node` and updates the model.
fn add(
    controller: &mut Controller,
    registry: &NodeRegistry,
    type_name: &'static str,
    model: &mut Model,
    handed_out: &mut Vec<NodeId>,
    sent: &mut u64,
) {
    let node = registry
        .create(type_name, &Default::default())
        .expect("every library type builds from its default state");
    let params: Vec<(f32, f32, f32)> = node
        .param_specs()
        .iter()
        .map(|meta| (meta.min, meta.max, meta.default))
        .collect();
    // The graph's capacity, not NODE_CAPACITY: the slot of a removed node that the audio side
    // still holds may stay unavailable until the removal is delivered.
    let capacity = controller.graph().capacity();
    assert!(
        capacity <= NODE_CAPACITY,
        "capacity {capacity} above {NODE_CAPACITY}"
    );
    let room = model.nodes.len() < capacity;
    let result = controller.add_node(node);
    let id = match (&result, outcome(&result)) {
        (Ok(id), _) => {
            *sent += 1;
            Some(*id)
        }
        // The node went in but was not sent: its id is the one live id the model lacks (the
        // graph is compared, not the error's id field, so this builds whichever variant the
        // scheduler reports it with).
        (Err(_), Outcome::Pending) => {
            let new: Vec<NodeId> = controller
                .graph()
                .node_ids()
                .filter(|id| !model.nodes.contains_key(id))
                .collect();
            assert_eq!(
                new.len(),
                1,
                "one new node after a pending add_node: {result:?}"
            );
            Some(new[0])
        }
        (_, _) => None,
    };
    assert_eq!(
        id.is_some(),
        room,
        "add_node with {} nodes, capacity {capacity}: {result:?}",
        model.nodes.len()
    );
    if let Some(id) = id {
        assert!(!handed_out.contains(&id), "id {id:?} handed out twice");
        handed_out.push(id);
        model.nodes.insert(
            id,
            ModelNode {
                type_name,
                inputs: [None; MAX_INPUTS],
                params,
            },
        );
    }
}

/// Panics unless `result` is a refusal exactly when `refused` is expected.
fn expect_refusal<T: std::fmt::Debug>(refused: bool, result: &Result<T, ControlError>, op: &Op) {
    let was_refused = matches!(outcome(result), Outcome::Refused);
    assert_eq!(was_refused, refused, "{op:?} returned {result:?}");
    if let Err(error) = result {
        let _ = error.to_string();
    }
}

/// Renders one block and checks it.
fn render(audio: &mut AudioProcessor, blocks: &mut u64, controller: &Controller) {
    let block = audio.process_block();
    if let Some(sample) = block.iter().find(|sample| !sample.is_finite()) {
        panic!("the engine output a non-finite sample: {sample}");
    }
    *blocks += 1;
    assert_eq!(controller.stats().blocks, *blocks, "blocks counted");
}

/// Commits and renders until nothing is pending or in flight, then checks the audio side
/// applied at least the `sent` commands.
fn drain(controller: &mut Controller, audio: &mut AudioProcessor, blocks: &mut u64, sent: u64) {
    let mut sent = sent;
    for _ in 0..MAX_DRAIN_BLOCKS {
        if controller.has_pending_changes()
            && let Ok(report) = controller.commit()
        {
            sent += u64::from(report.schedule_sent) + report.params_sent as u64;
        }
        render(audio, blocks, controller);
        controller.collect_garbage();
        if !controller.has_pending_changes() && controller.commands_in_flight() == 0 {
            break;
        }
    }
    assert!(
        !controller.has_pending_changes(),
        "changes still pending after {MAX_DRAIN_BLOCKS} blocks"
    );
    assert_eq!(
        controller.commands_in_flight(),
        0,
        "commands still in flight after {MAX_DRAIN_BLOCKS} blocks"
    );
    assert_eq!(
        controller.graph().capacity(),
        NODE_CAPACITY,
        "capacity once every removal was delivered"
    );
    let applied = controller.stats().commands_applied;
    assert!(
        applied >= sent,
        "the audio side applied {applied} commands, calls that succeeded sent at least {sent}"
    );
}
