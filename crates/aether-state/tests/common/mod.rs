//! Test node types with parameters and construction settings, their registry, and random graphs
//! built from them.

#![allow(dead_code)]

use aether_graph::{
    Block, DspNode, Graph, Inputs, MAX_INPUTS, NodeId, NodeRegistry, NodeState, StateError,
    StateValue,
};
use aether_params::{Param, ParamBlock, ParamMeta, Unit};
use aether_scheduler::{EngineConfig, Scheduler};
use proptest::prelude::*;

pub const SAMPLE_RATE: f32 = 48_000.0;

fn tick(params: &mut ParamBlock, index: usize) -> f32 {
    params.get_mut(index).map_or(0.0, Param::tick)
}

fn input(inputs: &Inputs<'_>, slot: usize, sample: usize) -> f32 {
    inputs
        .get(slot)
        .copied()
        .flatten()
        .and_then(|block| block.get(sample))
        .copied()
        .unwrap_or(0.0)
}

/// An oscillator (saw, square or triangle) whose input 0 is added at half level.
pub struct Osc {
    shape: &'static str,
    phase: f32,
}

pub const OSC_PARAMS: [ParamMeta; 2] = [
    ParamMeta::new("freq", 1.0, 4000.0, 220.0, Unit::Hertz),
    ParamMeta::new("level", 0.0, 1.0, 0.5, Unit::None),
];

pub const SHAPES: [&str; 3] = ["saw", "square", "triangle"];

impl DspNode for Osc {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        for (index, sample) in output.iter_mut().enumerate() {
            let freq = tick(params, 0);
            let level = tick(params, 1);
            self.phase += freq / sample_rate;
            self.phase -= self.phase.floor();
            let wave = match self.shape {
                "square" => {
                    if self.phase < 0.5 {
                        1.0
                    } else {
                        -1.0
                    }
                }
                "triangle" => 4.0 * (self.phase - 0.5).abs() - 1.0,
                _ => 2.0 * self.phase - 1.0,
            };
            *sample = wave * level + 0.5 * input(inputs, 0, index);
        }
    }

    fn type_name(&self) -> &'static str {
        "Osc"
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &OSC_PARAMS
    }

    fn save_state(&self) -> NodeState {
        NodeState::new().with("shape", StateValue::Text(self.shape.into()))
    }
}

fn osc(state: &NodeState) -> Result<Box<dyn DspNode>, StateError> {
    let shape = if state.is_empty() {
        "saw"
    } else {
        let name = state.text("shape")?;
        SHAPES
            .iter()
            .copied()
            .find(|shape| *shape == name)
            .ok_or_else(|| StateError::Invalid {
                key: "shape",
                reason: format!("{name:?} is not one of saw, square, triangle"),
            })?
    };
    Ok(Box::new(Osc { shape, phase: 0.0 }))
}

/// Sums every input and scales it.
pub struct Gain;

pub const GAIN_PARAMS: [ParamMeta; 1] = [ParamMeta::new("gain", 0.0, 2.0, 1.0, Unit::Ratio)];

impl DspNode for Gain {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        _: f32,
    ) {
        for (index, sample) in output.iter_mut().enumerate() {
            let sum: f32 = (0..MAX_INPUTS).map(|slot| input(inputs, slot, index)).sum();
            *sample = sum * tick(params, 0);
        }
    }

    fn type_name(&self) -> &'static str {
        "Gain"
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &GAIN_PARAMS
    }
}

fn gain(state: &NodeState) -> Result<Box<dyn DspNode>, StateError> {
    let mut node = Gain;
    node.load_state(state)?;
    Ok(Box::new(node))
}

/// Xorshift noise from a seed, plus input 0.
pub struct Noise {
    seed: u32,
    state: u32,
}

pub const NOISE_PARAMS: [ParamMeta; 1] = [ParamMeta::new("level", 0.0, 1.0, 0.1, Unit::None)];

impl DspNode for Noise {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        _: f32,
    ) {
        for (index, sample) in output.iter_mut().enumerate() {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 17;
            self.state ^= self.state << 5;
            let white = (self.state as f32 / u32::MAX as f32) * 2.0 - 1.0;
            *sample = white * tick(params, 0) + input(inputs, 0, index);
        }
    }

    fn type_name(&self) -> &'static str {
        "Noise"
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &NOISE_PARAMS
    }

    fn save_state(&self) -> NodeState {
        NodeState::new().with("seed", StateValue::Int(i64::from(self.seed)))
    }
}

fn noise(state: &NodeState) -> Result<Box<dyn DspNode>, StateError> {
    let seed = if state.is_empty() {
        1
    } else {
        state.int("seed")?
    };
    let seed = u32::try_from(seed)
        .ok()
        .filter(|&seed| seed != 0)
        .ok_or_else(|| StateError::Invalid {
            key: "seed",
            reason: format!("{seed} is not in 1..={}", u32::MAX),
        })?;
    Ok(Box::new(Noise { seed, state: seed }))
}

/// A feedforward delay of input 0, mixed with the dry input; other inputs are added.
pub struct Delay {
    line: Vec<f32>,
    write: usize,
}

pub const DELAY_PARAMS: [ParamMeta; 1] = [ParamMeta::new("mix", 0.0, 1.0, 0.5, Unit::None)];

impl DspNode for Delay {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        _: f32,
    ) {
        let length = self.line.len();
        for (index, sample) in output.iter_mut().enumerate() {
            let dry = input(inputs, 0, index);
            let wet = self.line.get(self.write).copied().unwrap_or(0.0);
            if let Some(cell) = self.line.get_mut(self.write) {
                *cell = dry;
            }
            self.write = (self.write + 1) % length.max(1);
            let mix = tick(params, 0);
            let rest: f32 = (1..MAX_INPUTS).map(|slot| input(inputs, slot, index)).sum();
            *sample = wet * mix + dry * (1.0 - mix) + rest;
        }
    }

    fn type_name(&self) -> &'static str {
        "Delay"
    }

    fn param_specs(&self) -> &[ParamMeta] {
        &DELAY_PARAMS
    }

    fn reset(&mut self) {
        self.line.fill(0.0);
    }

    fn save_state(&self) -> NodeState {
        NodeState::new().with("samples", StateValue::Int(self.line.len() as i64))
    }
}

fn delay(state: &NodeState) -> Result<Box<dyn DspNode>, StateError> {
    let samples = if state.is_empty() {
        16
    } else {
        state.int("samples")?
    };
    if !(1..=256).contains(&samples) {
        return Err(StateError::Invalid {
            key: "samples",
            reason: format!("{samples} is not in 1..=256"),
        });
    }
    Ok(Box::new(Delay {
        line: vec![0.0; samples as usize],
        write: 0,
    }))
}

pub const TYPES: [&str; 4] = ["Osc", "Gain", "Noise", "Delay"];

/// A registry of the four test node types.
pub fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    registry.register("Osc", osc).unwrap();
    registry.register("Gain", gain).unwrap();
    registry.register("Noise", noise).unwrap();
    registry.register("Delay", delay).unwrap();
    registry
}

/// The construction settings of a node of type `kind` for a random `choice`.
pub fn state_for(kind: usize, choice: u32) -> NodeState {
    match TYPES[kind % TYPES.len()] {
        "Osc" => NodeState::new().with(
            "shape",
            StateValue::Text(SHAPES[choice as usize % SHAPES.len()].into()),
        ),
        "Noise" => NodeState::new().with("seed", StateValue::Int(i64::from(choice % 100_000 + 1))),
        "Delay" => NodeState::new().with("samples", StateValue::Int(i64::from(choice % 256 + 1))),
        _ => NodeState::new(),
    }
}

pub fn params_of(type_name: &str) -> &'static [ParamMeta] {
    match type_name {
        "Osc" => &OSC_PARAMS,
        "Gain" => &GAIN_PARAMS,
        "Noise" => &NOISE_PARAMS,
        _ => &DELAY_PARAMS,
    }
}

/// One node of a random graph.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub kind: usize,
    pub state_choice: u32,
    /// Per parameter: `None` keeps the default, `Some(f)` sets `min + f * (max - min)`.
    pub params: Vec<Option<f32>>,
}

/// A random DAG: edges go from a lower to a higher rank; nodes are added in `order`.
#[derive(Debug, Clone)]
pub struct GraphSpec {
    pub nodes: Vec<NodeSpec>,
    /// `(source rank, destination rank, slot)`; later edges into a taken slot are skipped.
    pub edges: Vec<(usize, usize, usize)>,
    /// Insertion order: `order[k]` is the rank of the k-th node added.
    pub order: Vec<usize>,
    pub output: Option<usize>,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (
        0..TYPES.len(),
        any::<u32>(),
        proptest::collection::vec(
            prop_oneof![
                Just(None),
                (0.0f32..=1.0).prop_map(Some),
                Just(Some(0.0)),
                Just(Some(1.0))
            ],
            2,
        ),
    )
        .prop_map(|(kind, state_choice, params)| NodeSpec {
            kind,
            state_choice,
            params,
        })
}

pub fn graph_spec() -> impl Strategy<Value = GraphSpec> {
    (1usize..=7)
        .prop_flat_map(|count| {
            (
                proptest::collection::vec(node_spec(), count),
                proptest::collection::vec((0..count, 0..count, 0..MAX_INPUTS), 0..=12),
                Just((0..count).collect::<Vec<_>>()).prop_shuffle(),
                proptest::option::weighted(0.9, 0..count),
            )
        })
        .prop_map(|(nodes, edges, order, output)| GraphSpec {
            nodes,
            edges: edges
                .into_iter()
                .filter(|(a, b, _)| a != b)
                .map(|(a, b, slot)| (a.min(b), a.max(b), slot))
                .collect(),
            order,
            output,
        })
}

/// Builds `spec` into `graph` through the registry; returns the ids by rank.
pub fn build(spec: &GraphSpec, graph: &mut Graph, registry: &NodeRegistry) -> Vec<NodeId> {
    let mut ids: Vec<Option<NodeId>> = vec![None; spec.nodes.len()];
    for &rank in &spec.order {
        let node = &spec.nodes[rank];
        let type_name = TYPES[node.kind];
        let instance = registry
            .create(type_name, &state_for(node.kind, node.state_choice))
            .unwrap();
        let id = graph.add_node(instance).unwrap();
        for (index, (meta, fraction)) in params_of(type_name).iter().zip(&node.params).enumerate() {
            if let Some(fraction) = fraction {
                let value = (meta.min + fraction * (meta.max - meta.min)).clamp(meta.min, meta.max);
                graph.set_param(id, index, value, 0).unwrap();
            }
        }
        ids[rank] = Some(id);
    }
    let ids: Vec<NodeId> = ids.into_iter().map(Option::unwrap).collect();
    for &(source, destination, slot) in &spec.edges {
        if graph.inputs(ids[destination]).unwrap()[slot].is_none() {
            graph.connect(ids[source], ids[destination], slot).unwrap();
        }
    }
    if let Some(output) = spec.output {
        graph.set_output_node(ids[output]).unwrap();
    }
    ids
}

/// A scheduler with room for a few nodes (cheap to build in property tests).
pub fn small_scheduler() -> Scheduler {
    Scheduler::with_config(
        SAMPLE_RATE,
        EngineConfig {
            node_capacity: 16,
            command_capacity: 16,
            initial_buffers: 4,
            ..EngineConfig::default()
        },
    )
}

/// Renders `blocks` blocks and returns the samples' bit patterns.
pub fn render(scheduler: &mut Scheduler, blocks: usize) -> Vec<u32> {
    let mut bits = Vec::with_capacity(blocks * aether_graph::BUFFER_SIZE);
    for _ in 0..blocks {
        bits.extend(
            scheduler
                .process_block()
                .iter()
                .map(|sample| sample.to_bits()),
        );
    }
    bits
}

/// A fixed patch: Osc(square) -> Gain slot 0, Noise -> Gain slot 1, Gain -> Delay, output Delay.
pub fn fixed_graph(graph: &mut Graph, registry: &NodeRegistry) -> [NodeId; 4] {
    let osc = graph
        .add_node(registry.create("Osc", &state_for(0, 1)).unwrap())
        .unwrap();
    let gain = graph
        .add_node(registry.create("Gain", &NodeState::new()).unwrap())
        .unwrap();
    let noise = graph
        .add_node(registry.create("Noise", &state_for(2, 41)).unwrap())
        .unwrap();
    let delay = graph
        .add_node(registry.create("Delay", &state_for(3, 9)).unwrap())
        .unwrap();
    graph.set_param_by_name(osc, "freq", 440.0, 0).unwrap();
    graph.set_param_by_name(gain, "gain", 0.75, 0).unwrap();
    graph.set_param_by_name(delay, "mix", 0.25, 0).unwrap();
    graph.connect(osc, gain, 0).unwrap();
    graph.connect(noise, gain, 1).unwrap();
    graph.connect(gain, delay, 0).unwrap();
    graph.set_output_node(delay).unwrap();
    [osc, gain, noise, delay]
}
