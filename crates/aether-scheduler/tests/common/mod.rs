//! Test nodes, random DAGs and the naive reference evaluator shared by the test binaries.
#![allow(dead_code)]

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, MAX_INPUTS, NodeId};
use aether_params::{ParamBlock, ParamMeta, Unit};
use proptest::prelude::*;

/// A stateful test node: a weighted sum of its inputs plus an offset that drifts every sample,
/// scaled by a smoothed parameter.
#[derive(Clone)]
pub struct Mix {
    weights: [f32; MAX_INPUTS],
    drift: f32,
    state: f32,
}

const MIX_PARAMS: [ParamMeta; 1] = [ParamMeta::new("gain", -2.0, 2.0, 1.0, Unit::Ratio)];

impl Mix {
    fn compute(
        &mut self,
        inputs: &[Option<&Block>; MAX_INPUTS],
        output: &mut Block,
        gains: &Block,
    ) {
        for i in 0..BUFFER_SIZE {
            let mut sum = self.state;
            for (weight, input) in self.weights.iter().zip(inputs) {
                if let Some(input) = input {
                    sum += weight * input[i];
                }
            }
            output[i] = sum * gains[i];
            self.state += self.drift;
        }
    }
}

impl DspNode for Mix {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        _: f32,
    ) {
        let mut gains = [1.0; BUFFER_SIZE];
        if let Some(gain) = params.get_mut(0) {
            gain.fill_buffer(&mut gains);
        }
        self.compute(inputs, output, &gains);
    }
    fn type_name(&self) -> &'static str {
        "Mix"
    }
    fn param_specs(&self) -> &[ParamMeta] {
        &MIX_PARAMS
    }
}

#[derive(Debug, Clone)]
pub struct Dag {
    /// Per node: (weights seed, drift)
    pub nodes: Vec<(u32, f32)>,
    /// (source, destination, slot) with source < destination
    pub edges: Vec<(usize, usize, usize)>,
    pub output: usize,
}

pub fn dag(max_nodes: usize) -> impl Strategy<Value = Dag> {
    (1..=max_nodes)
        .prop_flat_map(|n| {
            let nodes = prop::collection::vec((any::<u32>(), -0.01f32..0.01), n);
            let edges = prop::collection::vec((0..n, 0..n, 0..MAX_INPUTS), 0..n * 3);
            (nodes, edges, 0..n)
        })
        .prop_map(|(nodes, raw_edges, output)| {
            let edges = raw_edges
                .into_iter()
                .filter(|(a, b, _)| a != b)
                .map(|(a, b, slot)| (a.min(b), a.max(b), slot))
                .collect();
            Dag {
                nodes,
                edges,
                output,
            }
        })
}

pub fn make_node(seed: u32, drift: f32) -> Mix {
    let mut weights = [0.0; MAX_INPUTS];
    for (k, weight) in weights.iter_mut().enumerate() {
        *weight = (((seed >> (k * 3)) & 7) as f32 - 3.5) * 0.25;
    }
    Mix {
        weights,
        drift,
        state: (seed % 97) as f32 * 0.01,
    }
}

/// The naive reference: every block, evaluate each node whose inputs are ready, each into its
/// own buffer, until the output node is done. Only the output's ancestors run (as in the engine).
pub fn reference_blocks(dag: &Dag, blocks: usize, gain_of_output: Option<f32>) -> Vec<f32> {
    let n = dag.nodes.len();
    let mut nodes: Vec<Mix> = dag
        .nodes
        .iter()
        .map(|&(seed, drift)| make_node(seed, drift))
        .collect();
    // Effective inputs: a later edge to the same slot replaces an earlier one.
    let mut inputs: Vec<[Option<usize>; MAX_INPUTS]> = vec![[None; MAX_INPUTS]; n];
    for &(source, destination, slot) in &dag.edges {
        inputs[destination][slot] = Some(source);
    }
    let mut needed = vec![false; n];
    let mut stack = vec![dag.output];
    while let Some(at) = stack.pop() {
        if !needed[at] {
            needed[at] = true;
            stack.extend(inputs[at].iter().flatten());
        }
    }
    let mut out = Vec::new();
    for _ in 0..blocks {
        let mut buffers: Vec<Option<Block>> = vec![None; n];
        while buffers[dag.output].is_none() {
            for node in 0..n {
                if !needed[node] || buffers[node].is_some() {
                    continue;
                }
                if inputs[node]
                    .iter()
                    .flatten()
                    .all(|&source| buffers[source].is_some())
                {
                    let input_refs: [Option<&Block>; MAX_INPUTS] = std::array::from_fn(|k| {
                        inputs[node][k].map(|source| buffers[source].as_ref().unwrap())
                    });
                    let gain = if node == dag.output {
                        gain_of_output.unwrap_or(1.0)
                    } else {
                        1.0
                    };
                    let mut block = [0.0; BUFFER_SIZE];
                    nodes[node].compute(&input_refs, &mut block, &[gain; BUFFER_SIZE]);
                    buffers[node] = Some(block);
                }
            }
        }
        out.extend_from_slice(buffers[dag.output].as_ref().unwrap());
    }
    out
}

/// A [`Mix`] that declares a cost hint (the parallel compiler groups tasks by it); it computes
/// exactly what the `Mix` does.
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
        sample_rate: f32,
    ) {
        self.mix.process(inputs, output, params, sample_rate);
    }
    fn type_name(&self) -> &'static str {
        "Hinted"
    }
    fn param_specs(&self) -> &[ParamMeta] {
        self.mix.param_specs()
    }
    fn cost_hint(&self) -> u64 {
        self.cost_ns
    }
}

pub fn build(graph: &mut aether_graph::Graph, dag: &Dag) -> Vec<NodeId> {
    build_with_costs(graph, dag, &[])
}

/// As [`build`], node `i` declaring the cost hint `costs[i]` (nodes past the end of `costs` keep
/// the default hint). The output is the same as `build`'s.
pub fn build_with_costs(graph: &mut aether_graph::Graph, dag: &Dag, costs: &[u64]) -> Vec<NodeId> {
    let ids: Vec<NodeId> = dag
        .nodes
        .iter()
        .enumerate()
        .map(|(index, &(seed, drift))| {
            let mix = make_node(seed, drift);
            let node: Box<dyn DspNode> = match costs.get(index) {
                Some(&cost_ns) => Box::new(Hinted { mix, cost_ns }),
                None => Box::new(mix),
            };
            graph.add_node(node).unwrap()
        })
        .collect();
    for &(source, destination, slot) in &dag.edges {
        graph.connect(ids[source], ids[destination], slot).unwrap();
    }
    graph.set_output_node(ids[dag.output]).unwrap();
    ids
}
