//! Scheduler benchmarks: chains of noop and gain nodes, a wide mixer tree, the audio-side cost
//! of applying 32 commands and of a schedule swap, and control-side compile time.
//!
//! Run: `cargo xtask bench --bench scheduler`. Per-node figures are the block time divided by
//! the node count.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aether_graph::{BUFFER_SIZE, Block, Compiler, DspNode, Graph, Inputs, NodeId};
use aether_params::ParamBlock;
use aether_scheduler::{EngineConfig, Scheduler, engine};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};

/// Does nothing: measures the scheduler's own per-node cost.
struct Noop;
impl DspNode for Noop {
    fn process(&mut self, _: &Inputs<'_>, _: &mut Block, _: &mut ParamBlock, _: f32) {}
    fn type_name(&self) -> &'static str {
        "Noop"
    }
}

/// A gain node (the seed README's, without its per-call silence buffer).
struct Gain {
    amount: f32,
}
impl DspNode for Gain {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        match inputs[0] {
            Some(input) => {
                for (o, i) in output.iter_mut().zip(input.iter()) {
                    *o = i * self.amount;
                }
            }
            None => output.fill(0.0),
        }
    }
    fn type_name(&self) -> &'static str {
        "Gain"
    }
}

/// Sums its connected inputs.
struct Sum;
impl DspNode for Sum {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
        for input in inputs.iter().flatten() {
            for (o, i) in output.iter_mut().zip(input.iter()) {
                *o += i;
            }
        }
    }
    fn type_name(&self) -> &'static str {
        "Sum"
    }
}

fn chain(graph: &mut Graph, length: usize, make: impl Fn() -> Box<dyn DspNode>) -> NodeId {
    let mut previous = graph.add_node(make()).unwrap();
    for _ in 1..length {
        let next = graph.add_node(make()).unwrap();
        graph.connect(previous, next, 0).unwrap();
        previous = next;
    }
    graph.set_output_node(previous).unwrap();
    previous
}

/// `sources` gain nodes summed by a tree of 8-input mixers; returns the node count.
fn mixer_tree(graph: &mut Graph, sources: usize) -> usize {
    let mut layer: Vec<NodeId> = (0..sources)
        .map(|_| graph.add_node(Box::new(Gain { amount: 0.5 })).unwrap())
        .collect();
    let mut count = sources;
    while layer.len() > 1 {
        layer = layer
            .chunks(8)
            .map(|group| {
                let sum = graph.add_node(Box::new(Sum)).unwrap();
                count += 1;
                for (slot, &source) in group.iter().enumerate() {
                    graph.connect(source, sum, slot).unwrap();
                }
                sum
            })
            .collect();
    }
    graph.set_output_node(layer[0]).unwrap();
    count
}

fn bench_chains(c: &mut Criterion) {
    for (name, make) in [
        (
            "chain_noop",
            (|| Box::new(Noop) as Box<dyn DspNode>) as fn() -> Box<dyn DspNode>,
        ),
        ("chain_gain", || Box::new(Gain { amount: 0.999 })),
    ] {
        let mut group = c.benchmark_group(name);
        for length in [1usize, 10, 100, 1000] {
            let mut scheduler = Scheduler::new(48_000.0);
            chain(&mut scheduler.graph, length, make);
            scheduler.process_block(); // commit outside the measurement
            group.throughput(Throughput::Elements(length as u64));
            group.bench_with_input(BenchmarkId::from_parameter(length), &length, |b, _| {
                b.iter(|| black_box(scheduler.process_block()[0]))
            });
        }
        group.finish();
    }
}

/// The floor: the same 1000 boxed gain nodes called in a plain loop over two ping-pong buffers,
/// with no graph, schedule or parameter blocks.
fn bench_bare_loop(c: &mut Criterion) {
    let mut nodes: Vec<Box<dyn DspNode>> = (0..1000)
        .map(|_| Box::new(Gain { amount: 0.999 }) as Box<dyn DspNode>)
        .collect();
    let mut params = ParamBlock::new();
    let mut buffers = [[0.5f32; BUFFER_SIZE]; 2];
    let mut group = c.benchmark_group("chain_gain_bare_loop");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000", |b| {
        b.iter(|| {
            for (k, node) in nodes.iter_mut().enumerate() {
                let (first, second) = buffers.split_at_mut(1);
                let (input, output) = if k % 2 == 0 {
                    (&first[0], &mut second[0])
                } else {
                    (&second[0], &mut first[0])
                };
                let mut inputs: Inputs<'_> = [None; aether_graph::MAX_INPUTS];
                inputs[0] = Some(input);
                node.process(&inputs, output, &mut params, 48_000.0);
            }
            black_box(buffers[0][0])
        })
    });
    group.finish();
}

fn bench_wide(c: &mut Criterion) {
    let mut scheduler = Scheduler::new(48_000.0);
    let nodes = mixer_tree(&mut scheduler.graph, 1000);
    scheduler.process_block();
    let mut group = c.benchmark_group("wide_mixer_tree");
    group.throughput(Throughput::Elements(nodes as u64));
    group.bench_function("1000_sources", |b| {
        b.iter(|| black_box(scheduler.process_block()[0]))
    });
    group.finish();
}

fn bench_commands(c: &mut Criterion) {
    let mut group = c.benchmark_group("audio_side");
    // A block that applies 32 parameter commands (the per-tick limit) on a 100-node chain,
    // against the same block with no commands.
    {
        let (mut control, mut audio) = engine(48_000.0, EngineConfig::default()).unwrap();
        let mut ids = Vec::new();
        let mut previous: Option<NodeId> = None;
        for _ in 0..100 {
            let id = control.graph_mut().add_node(Box::new(ParamGain)).unwrap();
            if let Some(previous) = previous {
                control.graph_mut().connect(previous, id, 0).unwrap();
            }
            previous = Some(id);
            ids.push(id);
        }
        control.graph_mut().set_output_node(ids[99]).unwrap();
        control.commit().unwrap();
        audio.process_block();
        group.bench_function("block_100_nodes_no_commands", |b| {
            b.iter(|| black_box(audio.process_block()[0]))
        });
        group.bench_function("block_100_nodes_applying_32_commands", |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for i in 0..iterations {
                    for (k, &id) in ids.iter().take(32).enumerate() {
                        let target = 0.5 + ((i as usize + k) % 7) as f32 * 0.01;
                        control.graph_mut().set_param(id, 0, target, 64).unwrap();
                    }
                    control.commit().unwrap();
                    let start = Instant::now();
                    black_box(audio.process_block());
                    total += start.elapsed();
                }
                total
            })
        });
    }
    // A block that swaps in a new schedule (output toggled between two nodes) on a 2-node graph,
    // against a steady block of the same graph.
    {
        let (mut control, mut audio) = engine(48_000.0, EngineConfig::default()).unwrap();
        let a = control
            .graph_mut()
            .add_node(Box::new(Gain { amount: 1.0 }))
            .unwrap();
        let b_node = control
            .graph_mut()
            .add_node(Box::new(Gain { amount: 1.0 }))
            .unwrap();
        control.graph_mut().set_output_node(a).unwrap();
        control.commit().unwrap();
        audio.process_block();
        group.bench_function("block_2_nodes_steady", |b| {
            b.iter(|| black_box(audio.process_block()[0]))
        });
        group.bench_function("block_2_nodes_with_schedule_swap", |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for i in 0..iterations {
                    let output = if i % 2 == 0 { b_node } else { a };
                    control.graph_mut().set_output_node(output).unwrap();
                    control.commit().unwrap();
                    let start = Instant::now();
                    black_box(audio.process_block());
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

/// A gain whose amount is a smoothed parameter.
struct ParamGain;
const GAIN_PARAMS: [aether_params::ParamMeta; 1] = [aether_params::ParamMeta::new(
    "gain",
    0.0,
    2.0,
    1.0,
    aether_params::Unit::Ratio,
)];
impl DspNode for ParamGain {
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
        match inputs[0] {
            Some(input) => {
                for ((o, i), g) in output.iter_mut().zip(input).zip(gains) {
                    *o = i * g;
                }
            }
            None => output.copy_from_slice(&gains),
        }
    }
    fn type_name(&self) -> &'static str {
        "ParamGain"
    }
    fn param_specs(&self) -> &[aether_params::ParamMeta] {
        &GAIN_PARAMS
    }
}

fn bench_compile(c: &mut Criterion) {
    let mut graph = Graph::with_capacity(1000);
    chain(&mut graph, 1000, || Box::new(Noop));
    let mut compiler = Compiler::new();
    let schedule = compiler.compile(&graph);
    println!(
        "1000-node chain: {} buffers, {} bytes of audio buffers",
        schedule.buffer_count(),
        schedule.buffer_count() * BUFFER_SIZE * 4
    );
    let mut group = c.benchmark_group("control_side");
    group.bench_function("compile_chain_1000", |b| {
        b.iter(|| black_box(compiler.compile(&graph).len()))
    });
    let mut wide = Graph::with_capacity(1200);
    mixer_tree(&mut wide, 1000);
    group.bench_function("compile_mixer_tree_1000_sources", |b| {
        b.iter(|| black_box(compiler.compile(&wide).len()))
    });
    group.finish();
}

/// `criterion_group!` generates an undocumented public function; keep it in its own module.
mod group {
    #![allow(missing_docs)]
    use super::*;
    criterion::criterion_group!(
        benches,
        bench_chains,
        bench_bare_loop,
        bench_wide,
        bench_commands,
        bench_compile
    );
}
criterion_main!(group::benches);
