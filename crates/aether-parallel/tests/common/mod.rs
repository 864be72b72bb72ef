//! Test nodes and graph builders shared by the test binaries.
#![allow(dead_code)]

use aether_graph::{BUFFER_SIZE, Block, DspNode, Graph, Inputs, MAX_INPUTS, NodeId};
use aether_parallel::NodeSlot;
use aether_params::ParamBlock;

/// A stateful node: a weighted sum of its inputs plus a drifting offset.
#[derive(Clone)]
pub struct Mix {
    pub weights: [f32; MAX_INPUTS],
    pub drift: f32,
    pub state: f32,
}

impl Mix {
    pub fn new(seed: u32, drift: f32) -> Self {
        let mut weights = [0.0; MAX_INPUTS];
        for (slot, weight) in weights.iter_mut().enumerate() {
            *weight = ((seed.rotate_left(slot as u32 * 4) & 0xff) as f32 / 255.0) - 0.5;
        }
        Mix {
            weights,
            drift,
            state: seed as f32 * 1e-9,
        }
    }
}

impl DspNode for Mix {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        for (i, sample) in output.iter_mut().enumerate() {
            let mut sum = self.state;
            for (weight, input) in self.weights.iter().zip(inputs) {
                if let Some(input) = input {
                    sum += weight * input[i];
                }
            }
            *sample = sum;
            self.state += self.drift;
        }
    }
    fn type_name(&self) -> &'static str {
        "Mix"
    }
}

/// A random DAG: per node (seed, drift); edges (source, destination, slot), source < destination.
#[derive(Debug, Clone)]
pub struct Dag {
    pub nodes: Vec<(u32, f32)>,
    pub edges: Vec<(usize, usize, usize)>,
    pub output: usize,
}

/// A graph-side [`Mix`] that declares a cost hint (the compiler groups tasks by it).
pub struct Hinted {
    pub mix: Mix,
    pub cost_ns: u64,
}

impl DspNode for Hinted {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        rate: f32,
    ) {
        self.mix.process(inputs, output, params, rate);
    }
    fn type_name(&self) -> &'static str {
        "Hinted"
    }
    fn cost_hint(&self) -> u64 {
        self.cost_ns
    }
}

/// Builds the control-side graph and the audio-side node table for `dag`.
pub fn build(dag: &Dag) -> (Graph, Vec<NodeSlot>) {
    build_with_costs(dag, &[])
}

/// As [`build`], node `i` declaring the cost hint `costs[i]` (ns per block) to the graph; nodes
/// past the end of `costs` keep the default hint. The audio-side table is the same as `build`'s.
pub fn build_with_costs(dag: &Dag, costs: &[u64]) -> (Graph, Vec<NodeSlot>) {
    let mut graph = Graph::with_capacity(dag.nodes.len().max(1));
    let mut ids: Vec<NodeId> = Vec::new();
    for (index, &(seed, drift)) in dag.nodes.iter().enumerate() {
        let mix = Mix::new(seed, drift);
        let node: Box<dyn DspNode> = match costs.get(index) {
            Some(&cost_ns) => Box::new(Hinted { mix, cost_ns }),
            None => Box::new(mix),
        };
        ids.push(graph.add_node(node).unwrap());
    }
    for &(source, destination, slot) in &dag.edges {
        // Duplicated slots just replace the edge; refused edges (none here) are skipped.
        let _ = graph.connect(ids[source], ids[destination], slot);
    }
    graph.set_output_node(ids[dag.output]).unwrap();
    (graph, table(dag, &ids))
}

/// A fresh audio-side node table for `dag` (same initial state as `build`'s).
pub fn table(dag: &Dag, ids: &[NodeId]) -> Vec<NodeSlot> {
    let slots = ids
        .iter()
        .map(|id| id.index() as usize + 1)
        .max()
        .unwrap_or(0);
    let mut nodes: Vec<NodeSlot> = (0..slots).map(|_| None).collect();
    for (&(seed, drift), id) in dag.nodes.iter().zip(ids) {
        nodes[id.index() as usize] = Some(Box::new(Mix::new(seed, drift)));
    }
    nodes
}

/// Node ids of `build`'s graph, in insertion order (a fresh graph assigns slots 0, 1, ...).
pub fn ids(graph: &Graph) -> Vec<NodeId> {
    let mut ids: Vec<NodeId> = graph.node_ids().collect();
    ids.sort_by_key(|id| id.index());
    ids
}

pub fn buffers(count: usize) -> Vec<Block> {
    vec![[0.0; BUFFER_SIZE]; count]
}

/// `width` independent sources feeding a tree of mixers (4 inputs each) down to one output.
pub fn wide(width: usize) -> Dag {
    let mut nodes: Vec<(u32, f32)> = (0..width).map(|i| (i as u32 * 7919, 1e-4)).collect();
    let mut edges = Vec::new();
    let mut layer: Vec<usize> = (0..width).collect();
    while layer.len() > 1 {
        let mut next = Vec::new();
        for group in layer.chunks(MAX_INPUTS.min(4)) {
            let mixer = nodes.len();
            nodes.push((mixer as u32, 0.0));
            for (slot, &source) in group.iter().enumerate() {
                edges.push((source, mixer, slot));
            }
            next.push(mixer);
        }
        layer = next;
    }
    let output = nodes.len() - 1;
    Dag {
        nodes,
        edges,
        output,
    }
}

/// A chain of `length` nodes.
pub fn chain(length: usize) -> Dag {
    Dag {
        nodes: (0..length).map(|i| (i as u32, 1e-4)).collect(),
        edges: (1..length).map(|i| (i - 1, i, 0)).collect(),
        output: length - 1,
    }
}
