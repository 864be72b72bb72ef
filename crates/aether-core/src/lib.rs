//! AetherDSP: a hard real-time modular DSP engine. Build a graph of nodes, edit it while audio
//! plays, and run it with no allocation, free, lock or wait on the audio thread.
//!
//! This crate is the facade: named re-exports of the member crates, which can also be used on
//! their own (`aether-arena`, `aether-params`, `aether-command`, `aether-graph`,
//! `aether-scheduler`).
//!
//! # Real-time contract
//!
//! - The audio thread calls only [`AudioProcessor::process`](scheduler::AudioProcessor::process)
//!   or [`process_block`](scheduler::AudioProcessor::process_block) (and, inside them, your
//!   [`DspNode::process`](node::DspNode::process)). These never allocate, free, lock, block, print
//!   or panic on anything the control side sends; per 64-sample block they apply at most
//!   [`MAX_COMMANDS_PER_TICK`] commands and run the schedule once.
//! - Everything else (graph edits, cycle checks, compilation, buffer-pool growth, dropping removed
//!   nodes) runs on the control thread and may allocate.
//! - With feature `parallel` (default), an engine spawns worker threads when it is built
//!   (available cores − 1 by default, see `parallel::ParallelConfig`) and joins them when its
//!   audio half is dropped, both on the control thread. At each commit the controller decides
//!   from the nodes' [`cost_hint`](node::DspNode::cost_hint)s whether the new schedule runs on
//!   them; the audio thread then shares each block's work with the workers without locking,
//!   allocating or waiting on a lock (it runs tasks itself and spins only while a worker
//!   finishes one).
//! - The single-threaded [`Scheduler`](scheduler::Scheduler) commits pending edits inside its
//!   process calls, so it may allocate there: use it offline and in tests, and
//!   [`Scheduler::split`](scheduler::Scheduler::split) or [`engine`](scheduler::engine) for a
//!   real-time callback.
//!
//! # Examples
//!
//! The original quick start, unchanged:
//!
//! ```
//! use aether_core::{
//!     scheduler::Scheduler,
//!     node::DspNode,
//!     param::ParamBlock,
//!     BUFFER_SIZE, MAX_INPUTS,
//! };
//!
//! struct Gain { amount: f32 }
//!
//! impl DspNode for Gain {
//!     fn process(
//!         &mut self,
//!         inputs: &[Option<&[f32; BUFFER_SIZE]>; MAX_INPUTS],
//!         output: &mut [f32; BUFFER_SIZE],
//!         _params: &mut ParamBlock,
//!         _sample_rate: f32,
//!     ) {
//!         let silence = [0.0f32; BUFFER_SIZE];
//!         let input = inputs[0].unwrap_or(&silence);
//!         for (o, i) in output.iter_mut().zip(input.iter()) {
//!             *o = i * self.amount;
//!         }
//!     }
//!     fn type_name(&self) -> &'static str { "Gain" }
//! }
//!
//! // Build a graph and run it
//! let mut sched = Scheduler::new(48_000.0);
//! let id = sched.graph.add_node(Box::new(Gain { amount: 0.5 })).unwrap();
//! sched.graph.set_output_node(id);
//! # let block = sched.process_block();
//! # assert!(block.iter().all(|&s| s == 0.0)); // no input connected: silence
//! ```
//!
//! Real-time use: the control half stays on your UI/control thread, the audio half moves into
//! the audio callback.
//!
//! ```
//! use aether_core::node::{Block, DspNode, Inputs};
//! use aether_core::param::{ParamBlock, ParamMeta, Unit};
//! use aether_core::scheduler::{engine, EngineConfig};
//!
//! struct Level;
//! const LEVEL: [ParamMeta; 1] = [ParamMeta::new("level", 0.0, 1.0, 0.0, Unit::Ratio)];
//! impl DspNode for Level {
//!     fn process(&mut self, _: &Inputs<'_>, out: &mut Block, params: &mut ParamBlock, _: f32) {
//!         match params.get_mut(0) {
//!             Some(level) => level.fill_buffer(out),
//!             None => out.fill(0.0),
//!         }
//!     }
//!     fn type_name(&self) -> &'static str { "Level" }
//!     fn param_specs(&self) -> &[ParamMeta] { &LEVEL }
//! }
//!
//! let (mut control, mut audio) = engine(48_000.0, EngineConfig::default()).expect("valid sample rate and sizes");
//! let level = control.add_node(Box::new(Level))?;
//! control.set_output_node(level)?;
//! control.set_param_by_name(level, "level", 0.5, 0)?; // a command, no recompilation
//!
//! let audio_thread = std::thread::spawn(move || {
//!     let mut out = vec![0.0f32; 2 * 128]; // allocated before the callback loop
//!     audio.process(&mut out, 2);          // the real-time call
//!     (audio, out)                         // drop the processor off the callback
//! });
//! let (_audio, out) = audio_thread.join().unwrap();
//! assert_eq!(out[255], 0.5);
//! control.collect_garbage();
//! # Ok::<(), aether_core::scheduler::ControlError>(())
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

/// Samples per processing block (64: 1.33 ms at 48 kHz).
pub const BUFFER_SIZE: usize = aether_graph::BUFFER_SIZE;
/// Input slots per node.
pub const MAX_INPUTS: usize = aether_graph::MAX_INPUTS;
/// Default node capacity of a graph.
pub const MAX_NODES: usize = aether_graph::MAX_NODES;
/// Commands the audio side applies per block at most, by default.
pub const MAX_COMMANDS_PER_TICK: usize = aether_command::MAX_COMMANDS_PER_TICK;

/// Generational arena: O(1) insert/remove, fixed capacity, stale ids never resolve.
pub mod arena {
    pub use aether_arena::{Arena, ArenaFull, CapacityOverflow, Id};
}

/// The DAG of nodes edited on the control thread, and its compilation to a [`Schedule`](graph::Schedule).
pub mod graph {
    pub use aether_graph::{
        AddNodeError, Compiler, DEFAULT_GROUPING_THREADS, DEFAULT_TASK_TARGET_NS, Graph,
        GraphError, GraphFull, NO_BUFFER, NodeId, ParamChange, PathCost, Schedule, Step, TaskGraph,
        TaskGrouping,
    };
}

/// The real-time scheduler: the control and audio halves, and the single-threaded `Scheduler`.
pub mod scheduler {
    pub use aether_scheduler::{
        AudioProcessor, CommitError, CommitReport, ControlError, Controller, EngineConfig,
        EngineError, EngineStats, ScheduleDecision, Scheduler, engine,
    };
}

/// Parallel execution (feature `parallel`): the engine's worker settings and the control-side
/// rule deciding, per commit, whether a schedule runs on the workers.
#[cfg(feature = "parallel")]
pub mod parallel {
    pub use aether_scheduler::parallel::{
        DEFAULT_STEP_COST_NS, Decision, MAX_PROBE_BLOCKS, MeasuredChoice, MeasuredPaths,
        ParallelConfig, ParallelPolicy, RealtimeError, ScheduleDecision,
        promote_current_thread_to_realtime,
    };
}

/// Pre-allocated, SIMD-aligned audio buffers.
pub mod buffer_pool {
    pub use aether_scheduler::{AlignedBlock, BufferPool};
}

/// Smoothed parameters with per-sample, sample-accurate interpolation.
pub mod param {
    pub use aether_params::{MAX_PARAMS, Param, ParamBlock, ParamError, ParamMeta, Unit};
}

/// The SPSC command ring between the control and audio threads.
pub mod command {
    pub use aether_command::{
        AudioEnd, ChannelConfig, ConfigError, ControlEnd, MAX_COMMANDS_PER_TICK, SendError, channel,
    };
}

/// The `DspNode` trait: implement it to create a processing node.
pub mod node {
    pub use aether_graph::{BUFFER_SIZE, Block, DEFAULT_COST_HINT_NS, DspNode, Inputs, MAX_INPUTS};
}

/// Save and restore: node state, the node registry, plain-data graph descriptions, and (feature
/// `serde`) versioned graph snapshots written as JSON patch files or compact binary.
pub mod state {
    pub use aether_graph::{
        EdgeDescription, GraphDescription, NodeConstructor, NodeDescription, NodeRegistry,
        NodeState, ParamValue, RegistryError, StateError, StateValue,
    };
    #[cfg(feature = "serde")]
    pub use aether_state::{GraphSnapshot, SnapshotEdge, SnapshotError, SnapshotNode};
}
