//! Parallel versus sequential execution of the same graphs in one run: (a) 64 heavy independent
//! nodes into a mixer tree, (b) 1000 light nodes in a wide graph, (c) a chain, (d) 16 synth
//! voices. "engine" runs what the control-side `ParallelPolicy` picks; "forced_parallel" always
//! runs the task graph on the executor. A plain harness then prints the worst block time against
//! the median over many blocks of (a).
//!
//! Run: `cargo bench -p aether-benches --bench parallel -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::time::Instant;

use aether_graph::{BUFFER_SIZE, Block, Compiler, DspNode, Graph, Inputs, NodeId, Schedule};
use aether_parallel::{
    DEFAULT_STEP_COST_NS, Executor, ExecutorConfig, NodeSlot, ParallelPolicy, run_parallel,
    run_sequential,
};
use aether_params::ParamBlock;
use criterion::{Criterion, criterion_main};

/// About 2 µs of arithmetic per block (a cascade of one-pole filters over the block).
struct Heavy {
    state: [f32; 8],
}
impl DspNode for Heavy {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        let mut x = 0.5f32;
        for sample in output.iter_mut() {
            for state in &mut self.state {
                *state += 0.01 * (x - *state);
                x = *state * 0.999 + 1e-3;
            }
            *sample = x;
        }
    }
    fn type_name(&self) -> &'static str {
        "Heavy"
    }
}

/// A light node: a gain of its first input (or a constant).
struct Light(f32);
impl DspNode for Light {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        match inputs[0] {
            Some(input) => output
                .iter_mut()
                .zip(input)
                .for_each(|(o, i)| *o = i * self.0),
            None => output.fill(self.0),
        }
    }
    fn type_name(&self) -> &'static str {
        "Light"
    }
}

/// Sums its inputs.
struct Sum;
impl DspNode for Sum {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
        for input in inputs.iter().flatten() {
            output
                .iter_mut()
                .zip(input.iter())
                .for_each(|(o, i)| *o += i);
        }
    }
    fn type_name(&self) -> &'static str {
        "Sum"
    }
}

/// A sine oscillator.
struct Osc {
    phase: f32,
    step: f32,
}
impl DspNode for Osc {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        for sample in output.iter_mut() {
            *sample = (self.phase * core::f32::consts::TAU).sin();
            self.phase = (self.phase + self.step).fract();
        }
    }
    fn type_name(&self) -> &'static str {
        "Osc"
    }
}

/// A biquad low-pass.
struct Biquad {
    z: [f32; 2],
}
impl DspNode for Biquad {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        let (b0, b1, b2, a1, a2) = (0.02, 0.04, 0.02, -1.56, 0.64);
        let Some(input) = inputs[0] else {
            output.fill(0.0);
            return;
        };
        for (o, &x) in output.iter_mut().zip(input) {
            let y = b0 * x + self.z[0];
            self.z[0] = b1 * x - a1 * y + self.z[1];
            self.z[1] = b2 * x - a2 * y;
            *o = y;
        }
    }
    fn type_name(&self) -> &'static str {
        "Biquad"
    }
}

/// A scenario: the graph, its audio-side tables and a cost hint per node slot.
struct Scenario {
    name: &'static str,
    graph: Graph,
    nodes: Vec<NodeSlot>,
    cost_ns: Vec<u64>,
}

impl Scenario {
    fn new(name: &'static str, capacity: usize) -> Self {
        Scenario {
            name,
            graph: Graph::with_capacity(capacity),
            nodes: Vec::new(),
            cost_ns: Vec::new(),
        }
    }

    /// Adds a node: `make` is called twice (control-side graph and audio-side table).
    fn add(&mut self, cost_ns: u64, make: impl Fn() -> Box<dyn DspNode>) -> NodeId {
        let id = self.graph.add_node(make()).unwrap();
        let slot = id.index() as usize;
        if self.nodes.len() <= slot {
            self.nodes.resize_with(slot + 1, || None);
            self.cost_ns.resize(slot + 1, DEFAULT_STEP_COST_NS);
        }
        self.nodes[slot] = Some(make());
        self.cost_ns[slot] = cost_ns;
        id
    }

    /// Mixes `sources` down through a tree of 8-input sums; returns the root.
    fn mix(&mut self, mut layer: Vec<NodeId>) -> NodeId {
        while layer.len() > 1 {
            let mut next = Vec::new();
            for group in layer.chunks(8) {
                let sum = self.add(DEFAULT_STEP_COST_NS, || Box::new(Sum));
                for (slot, &source) in group.iter().enumerate() {
                    self.graph.connect(source, sum, slot).unwrap();
                }
                next.push(sum);
            }
            layer = next;
        }
        layer[0]
    }
}

fn heavy_into_mixer() -> Scenario {
    let mut s = Scenario::new("a_64_heavy", 128);
    let sources = (0..64)
        .map(|i| {
            s.add(2_000, move || {
                Box::new(Heavy {
                    state: [i as f32 * 0.01; 8],
                })
            })
        })
        .collect();
    let out = s.mix(sources);
    s.graph.set_output_node(out).unwrap();
    s
}

fn wide_light() -> Scenario {
    let mut s = Scenario::new("b_1000_light_wide", 1200);
    let sources = (0..1000)
        .map(|i| {
            s.add(DEFAULT_STEP_COST_NS, move || {
                Box::new(Light(i as f32 * 1e-3))
            })
        })
        .collect();
    let out = s.mix(sources);
    s.graph.set_output_node(out).unwrap();
    s
}

fn chain() -> Scenario {
    let mut s = Scenario::new("c_chain_64_heavy", 64);
    let mut previous = s.add(2_000, || Box::new(Heavy { state: [0.1; 8] }));
    for _ in 1..64 {
        let next = s.add(2_000, || Box::new(Light(0.999)));
        s.graph.connect(previous, next, 0).unwrap();
        previous = next;
    }
    s.graph.set_output_node(previous).unwrap();
    s
}

fn voices() -> Scenario {
    let mut s = Scenario::new("d_16_voices", 64);
    let outputs = (0..16)
        .map(|voice| {
            let osc = s.add(800, move || {
                Box::new(Osc {
                    phase: 0.0,
                    step: 0.005 + voice as f32 * 1e-3,
                })
            });
            let filter = s.add(300, || Box::new(Biquad { z: [0.0; 2] }));
            let amp = s.add(DEFAULT_STEP_COST_NS, || Box::new(Light(0.1)));
            s.graph.connect(osc, filter, 0).unwrap();
            s.graph.connect(filter, amp, 0).unwrap();
            amp
        })
        .collect();
    let out = s.mix(outputs);
    s.graph.set_output_node(out).unwrap();
    s
}

/// Compiled forms of a scenario and the policy's choice.
struct Prepared {
    sequential: Schedule,
    parallel: Schedule,
    parallel_chosen: bool,
}

fn prepare(s: &Scenario, threads: usize) -> Prepared {
    let mut compiler = Compiler::new();
    let sequential = compiler.compile(&s.graph);
    let parallel = compiler.compile_parallel(&s.graph);
    let decision = ParallelPolicy::for_threads(threads).decide(parallel.tasks().unwrap(), |step| {
        s.cost_ns[parallel.steps()[step].node.index() as usize]
    });
    println!(
        "{}: {} steps, {} tasks, decision {decision:?}",
        s.name,
        parallel.len(),
        parallel.tasks().unwrap().len()
    );
    Prepared {
        sequential,
        parallel,
        parallel_chosen: decision.parallel,
    }
}

fn bench(c: &mut Criterion) {
    let mut executor = Executor::new(ExecutorConfig::default()).unwrap();
    let threads = executor.worker_threads() + 1;
    println!("threads: {threads} (workers + audio thread)");
    for mut s in [heavy_into_mixer(), wide_light(), chain(), voices()] {
        let p = prepare(&s, threads);
        let mut params = vec![ParamBlock::new(); s.nodes.len()];
        let mut seq_pool = vec![[0.0f32; BUFFER_SIZE]; p.sequential.buffer_count()];
        let mut par_pool = vec![[0.0f32; BUFFER_SIZE]; p.parallel.buffer_count()];
        let mut group = c.benchmark_group(s.name);
        group.bench_function("sequential", |b| {
            b.iter(|| {
                run_sequential(
                    &p.sequential,
                    &mut s.nodes,
                    &mut params,
                    &mut seq_pool,
                    48e3,
                )
                .unwrap();
                black_box(&seq_pool);
            })
        });
        group.bench_function("engine", |b| {
            b.iter(|| {
                if p.parallel_chosen {
                    run_parallel(
                        &mut executor,
                        &p.parallel,
                        &mut s.nodes,
                        &mut params,
                        &mut par_pool,
                        48e3,
                    )
                    .unwrap();
                } else {
                    run_sequential(
                        &p.sequential,
                        &mut s.nodes,
                        &mut params,
                        &mut seq_pool,
                        48e3,
                    )
                    .unwrap();
                }
                black_box(&par_pool);
            })
        });
        group.bench_function("forced_parallel", |b| {
            b.iter(|| {
                run_parallel(
                    &mut executor,
                    &p.parallel,
                    &mut s.nodes,
                    &mut params,
                    &mut par_pool,
                    48e3,
                )
                .unwrap();
                black_box(&par_pool);
            })
        });
        group.finish();
    }
}

/// Worst block against the median over many consecutive blocks of (a), both ways.
fn worst_block() {
    let blocks = std::env::var("AETHER_WORST_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000usize);
    let mut executor = Executor::new(ExecutorConfig::default()).unwrap();
    let mut s = heavy_into_mixer();
    let p = prepare(&s, executor.worker_threads() + 1);
    let mut params = vec![ParamBlock::new(); s.nodes.len()];
    let mut pool = vec![[0.0f32; BUFFER_SIZE]; p.parallel.buffer_count()];
    let mut seq_pool = vec![[0.0f32; BUFFER_SIZE]; p.sequential.buffer_count()];
    for parallel in [false, true] {
        let mut times: Vec<u64> = Vec::with_capacity(blocks);
        for _ in 0..blocks {
            let start = Instant::now();
            if parallel {
                run_parallel(
                    &mut executor,
                    &p.parallel,
                    &mut s.nodes,
                    &mut params,
                    &mut pool,
                    48e3,
                )
                .unwrap();
            } else {
                run_sequential(
                    &p.sequential,
                    &mut s.nodes,
                    &mut params,
                    &mut seq_pool,
                    48e3,
                )
                .unwrap();
            }
            times.push(start.elapsed().as_nanos() as u64);
        }
        times.sort_unstable();
        let median = times[blocks / 2];
        let p999 = times[blocks * 999 / 1000];
        let worst = times[blocks - 1];
        println!(
            "worst-block a_64_heavy {}: {blocks} blocks, median {:.1} us, p99.9 {:.1} us, worst {:.1} us, worst/median {:.2}",
            if parallel { "parallel" } else { "sequential" },
            median as f64 / 1e3,
            p999 as f64 / 1e3,
            worst as f64 / 1e3,
            worst as f64 / median as f64
        );
    }
}

fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    worst_block();
}

criterion_main!(benches);
