//! A node that panics in `process` gets the same outcome on every path the engine runs it on
//! (one thread, or the parallel executor): the engine keeps running, the node's output is
//! silence from that block on, the node is not called again, the panic is counted once in
//! `EngineStats::panicked_steps`, and removing the node hands it back to the control side.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use aether_graph::{Block, DspNode, Inputs};
use aether_params::ParamBlock;
use aether_scheduler::{EngineConfig, engine};

/// Outputs a constant, and panics on its `panic_on`-th call (counting from 1).
struct Flaky {
    level: f32,
    panic_on: u32,
    calls: Arc<AtomicU32>,
    dropped: Arc<AtomicBool>,
}

impl Drop for Flaky {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::Relaxed);
    }
}

impl DspNode for Flaky {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        // Half-written output before the panic: the engine must not let it through.
        output[..32].fill(self.level);
        if call == self.panic_on {
            panic!("node failure under test");
        }
        output.fill(self.level);
    }
    fn type_name(&self) -> &'static str {
        "Flaky"
    }
}

/// Sums its first two inputs.
struct Sum;
impl DspNode for Sum {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        for (index, sample) in output.iter_mut().enumerate() {
            *sample = inputs[..2].iter().flatten().map(|input| input[index]).sum();
        }
    }
    fn type_name(&self) -> &'static str {
        "Sum"
    }
}

fn check_path(config: EngineConfig, path: &str) {
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let flaky = control
        .graph_mut()
        .add_node(Box::new(Flaky {
            level: 0.5,
            panic_on: 2,
            calls: Arc::clone(&calls),
            dropped: Arc::clone(&dropped),
        }))
        .unwrap();
    let steady = control
        .graph_mut()
        .add_node(Box::new(Flaky {
            level: 0.25,
            panic_on: u32::MAX,
            calls: Arc::new(AtomicU32::new(0)),
            dropped: Arc::new(AtomicBool::new(false)),
        }))
        .unwrap();
    let sum = control.graph_mut().add_node(Box::new(Sum)).unwrap();
    control.graph_mut().connect(flaky, sum, 0).unwrap();
    control.graph_mut().connect(steady, sum, 1).unwrap();
    control.graph_mut().set_output_node(sum).unwrap();
    control.commit().unwrap();

    assert!(audio.process_block().iter().all(|&s| s == 0.75), "{path}");
    // The panicking block: the flaky node's half-written output is replaced by silence.
    assert!(audio.process_block().iter().all(|&s| s == 0.25), "{path}");
    for _ in 0..5 {
        assert!(audio.process_block().iter().all(|&s| s == 0.25), "{path}");
    }
    let stats = control.stats();
    assert_eq!((stats.blocks, stats.panicked_steps), (7, 1), "{path}");
    assert_eq!(
        calls.load(Ordering::Relaxed),
        2,
        "{path}: a silenced node was called again"
    );

    // Removed (the slot is held until the removal is delivered), then a new node in the
    // same slot plays again.
    control.graph_mut().remove_node(flaky).unwrap();
    control.commit().unwrap();
    assert!(audio.process_block().iter().all(|&s| s == 0.25), "{path}");
    let replacement = control
        .graph_mut()
        .add_node(Box::new(Flaky {
            level: 0.5,
            panic_on: u32::MAX,
            calls: Arc::new(AtomicU32::new(0)),
            dropped: Arc::new(AtomicBool::new(false)),
        }))
        .unwrap();
    assert_eq!(replacement.index(), flaky.index(), "the slot is reused");
    control.graph_mut().connect(replacement, sum, 0).unwrap();
    control.commit().unwrap();
    assert!(audio.process_block().iter().all(|&s| s == 0.75), "{path}");
    assert_eq!(control.stats().panicked_steps, 1, "{path}");
    // The panicked node came back from quarantine with its removal's receipt and was dropped
    // on the control side (by the commits' garbage collection), not leaked on the audio side.
    control.collect_garbage();
    assert!(
        dropped.load(Ordering::Relaxed),
        "{path}: the removed node never came back"
    );
}

#[test]
fn a_panicking_node_is_silenced_and_counted_on_the_one_thread_path() {
    #[cfg(feature = "parallel")]
    let config = EngineConfig {
        parallel: aether_scheduler::ParallelConfig::disabled(),
        ..EngineConfig::default()
    };
    #[cfg(not(feature = "parallel"))]
    let config = EngineConfig::default();
    check_path(config, "one thread");
}

#[cfg(feature = "parallel")]
#[test]
fn a_panicking_node_is_silenced_and_counted_on_the_parallel_path() {
    let mut parallel = aether_scheduler::ParallelConfig::always_parallel(2);
    parallel.spin_iterations = 1_000;
    parallel.measured_choice = None;
    let config = EngineConfig {
        parallel,
        ..EngineConfig::default()
    };
    check_path(config, "parallel");
}
