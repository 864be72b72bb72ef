//! The audio half never allocates or frees: in steady state, and in a block that applies each
//! kind of change (add, remove, connect, disconnect, set output, parameter change, clear, a
//! schedule swap, a buffer-pool swap, a node-table swap), and with the return ring full at its
//! bound. Run in a debug build: `assert_no_alloc` (feature `warn_debug`) counts every allocation
//! and deallocation made inside `assert_no_alloc(..)` on this thread.

use std::sync::Mutex;

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, NodeId};
use aether_params::{ParamBlock, ParamMeta, Unit};
use aether_scheduler::{AudioProcessor, Controller, EngineConfig, engine};
use assert_no_alloc::{AllocDisabler, assert_no_alloc, violation_count};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

/// The violation counter is global: tests in this binary take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// Allocations plus frees made by `f` on this thread.
fn heap_events<R>(f: impl FnOnce() -> R) -> (R, u32) {
    let before = violation_count();
    let result = assert_no_alloc(f);
    (result, violation_count() - before)
}

struct Osc {
    phase: f32,
    // Heap state, so a drop on the audio thread would be counted.
    _table: Vec<f32>,
}
const OSC_PARAMS: [ParamMeta; 1] = [ParamMeta::new("freq", 0.0, 20_000.0, 440.0, Unit::Hertz)];
impl DspNode for Osc {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        let mut freq = [0.0; BUFFER_SIZE];
        if let Some(param) = params.get_mut(0) {
            param.fill_buffer(&mut freq);
        }
        for (i, (o, f)) in output.iter_mut().zip(freq).enumerate() {
            self.phase = (self.phase + f / sample_rate).fract();
            let modulation = inputs[0].map_or(0.0, |input| input[i]);
            *o = self.phase + modulation;
        }
    }
    fn type_name(&self) -> &'static str {
        "Osc"
    }
    fn param_specs(&self) -> &[ParamMeta] {
        &OSC_PARAMS
    }
}

fn osc() -> Box<dyn DspNode> {
    Box::new(Osc {
        phase: 0.0,
        _table: vec![0.0; 32],
    })
}

fn setup(config: EngineConfig) -> (Controller, AudioProcessor, Vec<NodeId>) {
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(control.graph_mut().add_node(osc()).unwrap());
    }
    for pair in ids.windows(2) {
        control.graph_mut().connect(pair[0], pair[1], 0).unwrap();
    }
    control.graph_mut().set_output_node(ids[3]).unwrap();
    control.commit().unwrap();
    audio.process_block();
    control.collect_garbage();
    (control, audio, ids)
}

/// Runs one audio block under the allocation checker and asserts nothing was allocated or freed.
fn audio_block_is_heap_free(audio: &mut AudioProcessor, what: &str) {
    let (_, events) = heap_events(|| {
        audio.process_block();
    });
    assert_eq!(
        events, 0,
        "{what}: the audio block allocated or freed {events} time(s)"
    );
}

#[test]
fn the_checker_detects_allocations_and_frees() {
    let _serial = SERIAL.lock().unwrap();
    let (buffer, events) = heap_events(|| Vec::<u8>::with_capacity(16));
    assert!(
        events >= 1,
        "an allocation inside the checker must be counted"
    );
    let (_, events) = heap_events(move || drop(buffer));
    assert!(events >= 1, "a free inside the checker must be counted");
}

#[test]
fn steady_state_and_every_kind_of_change() {
    let _serial = SERIAL.lock().unwrap();
    let (mut control, mut audio, ids) = setup(EngineConfig {
        node_capacity: 1024,
        ..EngineConfig::default()
    });

    let mut out = vec![0.0f32; 2 * 500];
    let (_, events) = heap_events(|| {
        for _ in 0..50 {
            audio.process(&mut out, 2);
        }
    });
    assert_eq!(events, 0, "steady state allocated or freed");

    // Add (a schedule swap with a new node moving in).
    let added = control.graph_mut().add_node(osc()).unwrap();
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "add node");

    // Connect.
    control.graph_mut().connect(added, ids[0], 0).unwrap();
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "connect");

    // Disconnect.
    control.graph_mut().disconnect(ids[0], 0).unwrap();
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "disconnect");

    // Parameter change, immediate and sample-offset.
    control.set_param(ids[3], 0, 880.0, 64).unwrap();
    audio_block_is_heap_free(&mut audio, "parameter ramp");
    control.set_param_at(ids[2], 0, 220.0, 0, 17).unwrap();
    audio_block_is_heap_free(&mut audio, "parameter change at a sample offset");

    // Set output.
    control.graph_mut().set_output_node(ids[2]).unwrap();
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "set output");

    // Remove (the node, with heap state, goes back to the control thread).
    control.graph_mut().remove_node(ids[1]).unwrap();
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "remove node");

    // Buffer-pool swap: a three-level tree of 8-input nodes keeps 7 + 7 + 8 + 1 = 23 buffers
    // live at its peak, more than the 16 the engine starts with.
    fn tree(control: &mut Controller, depth: u32) -> NodeId {
        let node = control.graph_mut().add_node(osc()).unwrap();
        if depth > 0 {
            for slot in 0..8 {
                let child = tree(control, depth - 1);
                control.graph_mut().connect(child, node, slot).unwrap();
            }
        }
        node
    }
    let root = tree(&mut control, 3);
    control.graph_mut().set_output_node(root).unwrap();
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "buffer-pool swap");

    // Node-table swap: grow the graph and fill the new slots.
    let capacity = control.graph().capacity();
    control.graph_mut().grow(capacity).unwrap();
    while control.graph().node_count() < capacity + 5 {
        control.graph_mut().add_node(osc()).unwrap();
    }
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "node-table swap");

    // The rest of that large commit (a table growth, then install batches) is
    // applied a bounded number of node moves per block; every one of those blocks is checked.
    let mut blocks = 0;
    while control.commands_in_flight() > 0 || control.has_pending_changes() {
        audio_block_is_heap_free(&mut audio, "installing a large commit");
        control.collect_garbage();
        let _ = control.commit();
        blocks += 1;
        assert!(blocks < 100, "the large commit never finished");
    }

    // Clear (every node goes back, in retirement batches over several blocks).
    let cleared = control.graph().node_count() as u64;
    let moves_before = control.stats().node_moves;
    control.graph_mut().clear();
    control.commit().unwrap();
    audio_block_is_heap_free(&mut audio, "clear");
    audio_block_is_heap_free(&mut audio, "silence after clear");
    let mut retiring_blocks = 2;
    while control.commands_in_flight() > 0 || control.has_pending_changes() {
        control.collect_garbage();
        let _ = control.commit();
        audio_block_is_heap_free(&mut audio, "retiring a large clear");
        retiring_blocks += 1;
    }
    let stats = control.stats();
    assert_eq!(stats.node_moves - moves_before, cleared, "{stats:?}");
    // More nodes than one block may move: the clear took several blocks.
    assert!(
        cleared > 512 && retiring_blocks >= 3,
        "{cleared} nodes in {retiring_blocks} blocks"
    );
    assert!(stats.max_node_moves_per_block <= 512, "{stats:?}");

    // All the garbage is freed here, on the control thread.
    control.collect_garbage();
    assert_eq!(control.commands_in_flight(), 0);
}

#[test]
fn a_full_return_ring_at_its_bound() {
    let _serial = SERIAL.lock().unwrap();
    let capacity = 8;
    let config = EngineConfig {
        command_capacity: capacity,
        ..EngineConfig::default()
    };
    let (mut control, mut audio, ids) = setup(config);

    // Queue more parameter changes than fit; one commit sends exactly `capacity` of them.
    for k in 0..capacity + 3 {
        control
            .graph_mut()
            .set_param(ids[3], 0, 100.0 + k as f32, 0)
            .unwrap();
    }
    let report = control.commit().unwrap();
    assert_eq!(report.params_sent, capacity);
    assert_eq!(report.params_pending, 3);
    assert_eq!(control.commands_in_flight(), capacity);

    // The audio side applies all of them; the return ring ends up holding `capacity` receipts,
    // exactly full, without allocating or freeing.
    audio_block_is_heap_free(&mut audio, "draining a full ring into a full return ring");
    assert_eq!(control.stats().param_changes_refused, 0);

    // A structural edit now waits: nothing is lost, it stays pending.
    control.graph_mut().remove_node(ids[0]).unwrap();
    assert!(control.has_pending_changes());
    audio_block_is_heap_free(&mut audio, "blocks keep running with the ring full");
    let report = control.commit().unwrap(); // collects the receipts first, then sends
    assert!(report.schedule_sent);
    assert_eq!(report.params_pending, 0);
    audio_block_is_heap_free(&mut audio, "after the backlog is sent");
    control.collect_garbage();
}

#[test]
fn dropping_the_controller_frees_nothing_on_the_audio_thread() {
    let _serial = SERIAL.lock().unwrap();
    let (mut control, mut audio, ids) = setup(EngineConfig::default());
    control.graph_mut().remove_node(ids[0]).unwrap();
    control.commit().unwrap();
    drop(control);
    assert!(!audio.is_controller_connected());
    audio_block_is_heap_free(&mut audio, "applying a commit after the controller is gone");
    audio_block_is_heap_free(&mut audio, "running without a controller");
}

/// A heavy-looking source: its cost hint makes the policy choose parallel for many of them.
#[cfg(feature = "parallel")]
struct Heavy(f32);

#[cfg(feature = "parallel")]
impl DspNode for Heavy {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(self.0);
        for input in inputs.iter().flatten() {
            for (o, i) in output.iter_mut().zip(input.iter()) {
                *o += i;
            }
        }
    }
    fn type_name(&self) -> &'static str {
        "Heavy"
    }
    fn cost_hint(&self) -> u64 {
        2_000
    }
}

#[cfg(feature = "parallel")]
#[test]
fn parallel_blocks_and_swaps_between_sequential_and_parallel_schedules() {
    parallel_blocks_and_swaps(None);
}

/// The same with wake-ahead pacing: the audio thread reads the clock and updates the period
/// estimate each parallel block, and paced blocks find the worker sleeping with a timeout or
/// spinning ahead of them.
#[cfg(feature = "parallel")]
#[test]
fn parallel_blocks_with_wake_ahead_pacing() {
    parallel_blocks_and_swaps(Some(std::time::Duration::from_micros(200)));
}

#[cfg(feature = "parallel")]
fn parallel_blocks_and_swaps(wake_ahead: Option<std::time::Duration>) {
    use aether_scheduler::ParallelConfig;

    let _serial = SERIAL.lock().unwrap();
    let (mut control, mut audio, ids) = setup(EngineConfig {
        node_capacity: 256,
        // One worker: the rule's estimates are the same on any machine.
        parallel: ParallelConfig {
            spin_iterations: 1_000,
            wake_ahead,
            ..ParallelConfig::with_workers(1)
        },
        ..EngineConfig::default()
    });
    assert_eq!(
        control.stats().parallel_blocks,
        0,
        "a chain runs sequentially"
    );
    audio_block_is_heap_free(&mut audio, "sequential steady state");

    // 64 heavy sources summed by 8 heavy mixers and one root: the policy says parallel. This
    // block swaps the sequential schedule for the parallel one (with a larger buffer pool: one
    // buffer per step) and installs 73 nodes, then runs them on the executor.
    let mut mixers = Vec::new();
    for _ in 0..8 {
        let mixer = control.graph_mut().add_node(Box::new(Heavy(0.0))).unwrap();
        for slot in 0..8 {
            let source = control.graph_mut().add_node(Box::new(Heavy(0.25))).unwrap();
            control.graph_mut().connect(source, mixer, slot).unwrap();
        }
        mixers.push(mixer);
    }
    let root = control.graph_mut().add_node(Box::new(Heavy(0.0))).unwrap();
    for (slot, &mixer) in mixers.iter().enumerate() {
        control.graph_mut().connect(mixer, root, slot).unwrap();
    }
    control.graph_mut().set_output_node(root).unwrap();
    assert!(control.commit().unwrap().runs_parallel());
    audio_block_is_heap_free(&mut audio, "swap sequential -> parallel");
    assert_eq!(control.stats().parallel_blocks, 1);

    let mut out = vec![0.0f32; 2 * 500];
    let (_, events) = heap_events(|| {
        for _ in 0..20 {
            audio.process(&mut out, 2);
        }
    });
    assert_eq!(events, 0, "parallel steady state allocated or freed");
    assert!(out.iter().all(|&s| s == 16.0), "64 sources of 0.25");
    // The measured choice (on by default) timed both paths and decided inside those blocks.
    assert!(
        control.stats().probes >= 1,
        "a probe ended under the checker"
    );
    // Paced blocks (a pause before each, outside the checker), as from an audio callback.
    for block in 0..30 {
        std::thread::sleep(std::time::Duration::from_millis(1));
        audio_block_is_heap_free(&mut audio, &format!("paced parallel block {block}"));
    }

    // Structural edits while parallel: a parameter change, a removal (the node goes back).
    control.set_param(ids[3], 0, 330.0, 32).unwrap();
    audio_block_is_heap_free(&mut audio, "parameter change while parallel");
    control.graph_mut().remove_node(mixers[0]).unwrap();
    assert!(control.commit().unwrap().runs_parallel());
    audio_block_is_heap_free(&mut audio, "parallel -> parallel with a removed node");
    assert_eq!(audio.process_block()[0], 14.0);

    // Back to the chain: the parallel schedule goes back over the return ring.
    control.graph_mut().set_output_node(ids[3]).unwrap();
    assert!(!control.commit().unwrap().runs_parallel());
    let parallel_blocks = control.stats().parallel_blocks;
    audio_block_is_heap_free(&mut audio, "swap parallel -> sequential");
    audio_block_is_heap_free(&mut audio, "sequential again");
    assert_eq!(control.stats().parallel_blocks, parallel_blocks);

    // And parallel once more, re-using the larger pool.
    control.graph_mut().set_output_node(root).unwrap();
    assert!(control.commit().unwrap().runs_parallel());
    audio_block_is_heap_free(&mut audio, "swap sequential -> parallel again");
    assert_eq!(control.stats().parallel_blocks, parallel_blocks + 1);

    control.collect_garbage();
    assert_eq!(control.commands_in_flight(), 0);
    // Dropping the audio half joins the worker: here, off the checked blocks.
    drop(audio);
}
