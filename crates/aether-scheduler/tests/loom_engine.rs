//! Loom model of the control/audio handoff: commit -> swap -> retire -> collect, and dropping
//! either half. Run by `cargo xtask loom` (release, `--cfg loom`, bounded preemptions).
//!
//! Bound: command ring of capacity 2, one structural commit (add a node, switch the output,
//! remove the old node) and one parameter change racing two audio blocks.
//!
//! Checked in every interleaving: the audio side sees either the old or the new graph, never a
//! mix and never going back; every command is applied exactly once; no node is dropped on the
//! audio thread (a node's `Drop` asserts it), whichever half is dropped first; every removed node
//! is dropped on the control thread once its receipt is collected.
#![cfg(loom)]

use std::cell::Cell;

use aether_graph::{Block, DspNode, Inputs};
use aether_params::{ParamBlock, ParamMeta, Unit};
use aether_scheduler::{AudioProcessor, Controller, EngineConfig, engine};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};

loom::thread_local! {
    static ON_AUDIO_THREAD: Cell<bool> = Cell::new(false);
}

struct Dc {
    level: f32,
    drops: Arc<AtomicUsize>,
}

const LEVEL: [ParamMeta; 1] = [ParamMeta::new("scale", 0.0, 4.0, 1.0, Unit::Ratio)];

impl DspNode for Dc {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, params: &mut ParamBlock, _: f32) {
        let scale = params.get_mut(0).map_or(1.0, |p| p.tick());
        output.fill(self.level * scale);
    }
    fn type_name(&self) -> &'static str {
        "Dc"
    }
    fn param_specs(&self) -> &[ParamMeta] {
        &LEVEL
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        assert!(
            !ON_AUDIO_THREAD.with(Cell::get),
            "a node was dropped on the audio thread"
        );
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// An engine playing one node, and the commands its first commit sent (an install batch and
/// the schedule swap).
fn small_engine(
    drops: &Arc<AtomicUsize>,
) -> (Controller, AudioProcessor, aether_graph::NodeId, u64) {
    let config = EngineConfig {
        node_capacity: 4,
        // Room for the first commit (2 commands) and a second one that adds and removes a
        // node (install, swap, retire) plus a parameter change.
        command_capacity: 6,
        max_commands_per_tick: 2,
        initial_buffers: 1,
        // These models check the command protocol; the executor has its own models.
        #[cfg(feature = "parallel")]
        parallel: aether_scheduler::ParallelConfig::disabled(),
    };
    let (mut control, audio) = engine(48_000.0, config).unwrap();
    let old = control
        .graph_mut()
        .add_node(Box::new(Dc {
            level: 1.0,
            drops: drops.clone(),
        }))
        .unwrap();
    control.graph_mut().set_output_node(old).unwrap();
    let sent = control.commit().unwrap().commands_sent as u64;
    (control, audio, old, sent)
}

fn run_audio(
    mut audio: AudioProcessor,
    blocks: usize,
) -> loom::thread::JoinHandle<(AudioProcessor, Vec<f32>)> {
    loom::thread::spawn(move || {
        // Allocated before the "callback" section.
        let mut seen = Vec::with_capacity(blocks);
        ON_AUDIO_THREAD.with(|flag| flag.set(true));
        for _ in 0..blocks {
            let block = audio.process_block();
            seen.push(block[0]);
        }
        ON_AUDIO_THREAD.with(|flag| flag.set(false));
        (audio, seen)
    })
}

#[test]
fn commit_swap_retire_collect() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut control, audio, old, first_sent) = small_engine(&drops);
        let audio_thread = run_audio(audio, 2);

        let new = control
            .graph_mut()
            .add_node(Box::new(Dc {
                level: 2.0,
                drops: drops.clone(),
            }))
            .unwrap();
        control.graph_mut().set_output_node(new).unwrap();
        control.graph_mut().remove_node(old).unwrap();
        // At most the first commit is in flight, so the ring (capacity 6) has room.
        let mut sent = first_sent + control.commit().unwrap().commands_sent as u64;
        if control.set_param(new, 0, 2.0, 0).is_ok() {
            sent += 1;
        }

        let (audio, seen) = audio_thread.join().unwrap();
        // Old graph (1.0) or new graph (2.0, or 4.0 once scaled), never silence or going back.
        for pair in seen.windows(2) {
            assert!(
                pair[0] <= pair[1],
                "the audio side went back to an older graph: {seen:?}"
            );
        }
        for &sample in &seen {
            assert!(
                sample == 1.0 || sample == 2.0 || sample == 4.0,
                "unexpected sample {sample}"
            );
        }
        control.collect_garbage();
        let stats = control.stats();
        assert_eq!(stats.blocks, 2);
        assert_eq!(stats.non_finite_samples, 0);
        // Exactly once: every command sent was either applied (and its receipt collected) or is
        // still waiting in the ring.
        assert_eq!(
            stats.commands_applied + control.commands_in_flight() as u64,
            sent
        );
        drop(audio);
        drop(control);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn dropping_the_controller_while_audio_runs() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut control, audio, old, _) = small_engine(&drops);
        let audio_thread = run_audio(audio, 2);
        control.graph_mut().remove_node(old).unwrap();
        let _ = control.commit();
        drop(control);
        let (audio, seen) = audio_thread.join().unwrap();
        for &sample in &seen {
            assert!(sample == 1.0 || sample == 0.0, "unexpected sample {sample}");
        }
        // The removed node (if the commit was sent) waits in the return ring; it is freed with
        // the processor, off the audio thread.
        drop(audio);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}

#[test]
fn dropping_the_audio_half_while_the_controller_commits() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut control, audio, old, _) = small_engine(&drops);
        let audio_thread = loom::thread::spawn(move || {
            let mut audio = audio;
            ON_AUDIO_THREAD.with(|flag| flag.set(true));
            audio.process_block();
            ON_AUDIO_THREAD.with(|flag| flag.set(false));
            drop(audio); // after the callback section: allowed to free
        });
        control.graph_mut().remove_node(old).unwrap();
        let _ = control.commit();
        audio_thread.join().unwrap();
        control.collect_garbage();
        drop(control);
        assert_eq!(drops.load(Ordering::Relaxed), 1);
    });
}
