//! A fixed amount of run-loop work for instruction counting: a 1000-node chain (noop or fixed
//! gain nodes) on a one-thread engine, run for a given number of blocks. Under callgrind the
//! difference between two block counts is the run loop's cost, independent of the machine's
//! load:
//!
//! ```sh
//! cargo bench -p aether-benches --bench chain_blocks --no-run
//! B=$(ls target/release/deps/chain_blocks-* | grep -v '\.d$' | head -1)
//! for n in 100 1100; do valgrind --tool=callgrind --callgrind-out-file=/dev/null $B noop $n; done
//! ```
//!
//! (instructions per block = difference of the two totals / 1000).

use aether_graph::{Block, DspNode, Inputs};
use aether_params::ParamBlock;
use aether_scheduler::{EngineConfig, ParallelConfig, engine};

/// Copies its input (or outputs silence).
struct Noop;
impl DspNode for Noop {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        match inputs[0] {
            Some(input) => output.copy_from_slice(input),
            None => output.fill(0.0),
        }
    }
    fn type_name(&self) -> &'static str {
        "Noop"
    }
}

/// Multiplies its input by a fixed gain (outputs 1.0 without one).
struct Gain;
impl DspNode for Gain {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        match inputs[0] {
            Some(input) => {
                for (out, sample) in output.iter_mut().zip(input) {
                    *out = sample * 0.999;
                }
            }
            None => output.fill(1.0),
        }
    }
    fn type_name(&self) -> &'static str {
        "Gain"
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let kind = args.next().unwrap_or_else(|| "noop".into());
    let blocks: usize = args.next().and_then(|b| b.parse().ok()).unwrap_or(10_000);
    let config = EngineConfig {
        parallel: ParallelConfig::disabled(),
        ..EngineConfig::default()
    };
    let (mut control, mut audio) = engine(48_000.0, config).expect("an engine");
    let mut previous = None;
    for _ in 0..1000 {
        let node: Box<dyn DspNode> = if kind == "gain" {
            Box::new(Gain)
        } else {
            Box::new(Noop)
        };
        let id = control.graph_mut().add_node(node).expect("room");
        if let Some(previous) = previous {
            control
                .graph_mut()
                .connect(previous, id, 0)
                .expect("a chain");
        }
        previous = Some(id);
    }
    if let Some(last) = previous {
        control.graph_mut().set_output_node(last).expect("a node");
    }
    control.commit().expect("room in the ring");
    let mut sum = 0.0f32;
    for _ in 0..blocks {
        sum += audio.process_block()[0];
    }
    println!("{sum}");
}
