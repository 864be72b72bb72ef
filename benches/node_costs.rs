//! Measured cost of one `process` call (one 64-sample block at 48 kHz) of every node type of
//! `aether-nodes` and of the nodes the parallel scenarios use, beside the `cost_hint` each one
//! declares. The parallel policy decides from those hints, so they should be within a small
//! factor of what this prints.
//!
//! Each node is measured twice: with no input connected, and with all eight inputs connected to
//! blocks of noise (the slots a node does not use are ignored by it). Its parameters are the
//! defaults the graph gives it. Figure: median over rounds of the mean time per call in a batch
//! of calls; the two cases are interleaved.
//!
//! Run: `cargo bench -p aether-benches --bench node_costs [-- --rounds 21]`.

use std::hint::black_box;
use std::time::Instant;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Graph, Inputs, MAX_INPUTS, NodeState};
use aether_params::ParamBlock;

#[path = "support/parallel_scenarios.rs"]
mod scenarios;

/// Calls per timed batch.
const BATCH: usize = 2_000;
/// Calls before timing starts.
const WARM_UP: usize = 2_000;

/// One node under measurement, with the parameter block the graph built for it.
struct Subject {
    name: String,
    node: Box<dyn DspNode>,
    params: ParamBlock,
    hint: u64,
}

impl Subject {
    /// `make` is called twice: one instance goes into a graph (which builds its parameter
    /// block and keeps its hint), the other is measured.
    fn new(name: &str, make: impl Fn() -> Box<dyn DspNode>) -> Subject {
        let mut graph = Graph::with_capacity(1);
        let id = graph.add_node(make()).expect("an empty graph takes a node");
        Subject {
            name: name.to_owned(),
            params: graph.params(id).cloned().unwrap_or_else(ParamBlock::new),
            hint: graph.cost_hint(id).unwrap_or_default(),
            node: make(),
        }
    }

    /// Mean ns per call over one batch.
    fn batch(&mut self, inputs: &Inputs<'_>, output: &mut Block) -> f64 {
        let start = Instant::now();
        for _ in 0..BATCH {
            self.node
                .process(inputs, output, &mut self.params, 48_000.0);
            black_box(&mut *output);
        }
        start.elapsed().as_nanos() as f64 / BATCH as f64
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let mut rounds = 21usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            rounds = args
                .next()
                .and_then(|value| value.parse().ok())
                .unwrap_or(rounds)
                .max(1);
        }
    }

    // Eight blocks of deterministic noise in [-0.5, 0.5).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<Block> = (0..MAX_INPUTS)
        .map(|_| {
            let mut block = [0.0f32; BUFFER_SIZE];
            for sample in &mut block {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *sample = (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            }
            block
        })
        .collect();
    let connected: Inputs<'_> = std::array::from_fn(|slot| Some(&noise[slot]));
    let unconnected: Inputs<'_> = [None; MAX_INPUTS];

    let registry = aether_nodes::registry();
    let mut names: Vec<&str> = registry.type_names().collect();
    names.sort_unstable();
    let mut subjects: Vec<Subject> = names
        .iter()
        .map(|&name| {
            Subject::new(name, || {
                registry
                    .create(name, &NodeState::default())
                    .expect("every registered type builds from an empty state")
            })
        })
        .collect();
    subjects.push(Subject::new("bench Heavy", || {
        Box::new(scenarios::Heavy::new())
    }));
    subjects.push(Subject::new("bench Light", || {
        Box::new(scenarios::Light(0.5))
    }));
    subjects.push(Subject::new("bench Sum", || Box::new(scenarios::Sum)));
    subjects.push(Subject::new("bench Osc", || {
        Box::new(scenarios::Osc::new(0.01))
    }));
    subjects.push(Subject::new("bench Biquad", || {
        Box::new(scenarios::Biquad::new())
    }));

    println!(
        "ns per process call (64 samples, 48 kHz), median of {rounds} rounds of {BATCH} calls"
    );
    println!(
        "{:<14} {:>12} {:>12} {:>10} {:>14}",
        "node", "no inputs", "8 inputs", "hint", "hint/measured"
    );
    let mut output = [0.0f32; BUFFER_SIZE];
    for subject in &mut subjects {
        for _ in 0..WARM_UP {
            subject
                .node
                .process(&connected, &mut output, &mut subject.params, 48_000.0);
        }
        let mut times = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
        for round in 0..rounds {
            for k in 0..2 {
                let case = (round + k) % 2;
                let inputs = if case == 0 { &unconnected } else { &connected };
                times[case].push(subject.batch(inputs, &mut output));
            }
        }
        let [alone, fed] = times.each_mut().map(|t| median(t));
        let measured = alone.max(fed);
        println!(
            "{:<14} {:>12.1} {:>12.1} {:>10} {:>13.2}x",
            subject.name,
            alone,
            fed,
            subject.hint,
            subject.hint as f64 / measured.max(0.1)
        );
    }
}
