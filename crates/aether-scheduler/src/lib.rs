//! The AetherDSP scheduler: runs compiled graphs on the audio thread without allocating,
//! freeing, locking or waiting, fed by a control half over a command ring.
//!
//! # Real-time contract
//!
//! An engine is two halves built by [`engine`] (or [`Scheduler::split`]):
//!
//! - [`Controller`] (control thread): edits the [`Graph`](aether_graph::Graph), compiles it into
//!   a [`Schedule`](aether_graph::Schedule), and sends the schedule together with new node
//!   instances, and a larger buffer pool or node table when needed, as **one** command. Parameter
//!   changes are separate small commands that need no recompilation. It allocates freely.
//! - [`AudioProcessor`] (audio thread, `Send`): per 64-sample block it applies at most the
//!   per-tick limit of commands (a commit is O(nodes added + removed) pointer swaps, O(1) for the
//!   schedule and pool), runs the schedule, and copies the output through a guard that replaces
//!   NaN and infinities with silence and counts them. It never allocates, frees, locks, blocks,
//!   prints or panics on anything the control side can send: every replaced schedule, pool and
//!   removed node goes back over the return ring, whose room is guaranteed by the ring's
//!   one-receipt-per-command protocol, and the controller drops them. Processing runs with
//!   denormals flushed to zero (x86_64, aarch64) and restores the caller's floating-point state.
//!
//! **Parallel execution** (feature `parallel`): `EngineConfig::parallel` sets the worker
//! threads (default: available cores − 1; 0 = never parallel) and the decision rule. The workers
//! are spawned when the engine is built and joined when the [`AudioProcessor`] (which owns them)
//! is dropped: both on the control thread, never in the callback. At each commit that changes
//! the structure, the controller compiles the graph and asks the rule, from the nodes'
//! [`cost_hint`](aether_graph::DspNode::cost_hint)s and the task graph, whether a parallel
//! schedule (one buffer per step, chains fused into tasks) pays; it then sends that schedule or
//! the usual liveness schedule in the same single commit, and reports the choice
//! ([`CommitReport::decision`], [`ScheduleDecision`]). The audio thread runs whichever schedule
//! it holds: a parallel one by posting its ready tasks to the workers, running tasks itself and
//! spinning only while a worker finishes one, with no allocation, free or lock; a schedule it
//! replaces goes back over the return ring like any other.
//!
//! [`Scheduler`] keeps both halves in one value for single-threaded use (offline rendering,
//! tests, the original API); its process calls also commit, so they may allocate.
//!
//! Counters ([`EngineStats`], including how many blocks ran in parallel) travel from the audio side through relaxed atomics: no locks.
//!
//! # Examples
//!
//! ```
//! use aether_graph::{Block, DspNode, Inputs};
//! use aether_params::ParamBlock;
//! use aether_scheduler::{engine, EngineConfig};
//!
//! struct Dc(f32);
//! impl DspNode for Dc {
//!     fn process(&mut self, _: &Inputs<'_>, out: &mut Block, _: &mut ParamBlock, _: f32) {
//!         out.fill(self.0);
//!     }
//!     fn type_name(&self) -> &'static str { "Dc" }
//! }
//!
//! let (mut control, mut audio) = engine(48_000.0, EngineConfig::default()).unwrap();
//! let dc = control.add_node(Box::new(Dc(0.25))).unwrap();
//! control.set_output_node(dc).unwrap();
//!
//! // In a real program `audio` moves into the audio callback.
//! let mut out = [0.0f32; 2 * 37]; // 37 stereo frames: any host buffer size works
//! audio.process(&mut out, 2);
//! assert!(out.iter().all(|&s| s == 0.25));
//! assert_eq!(control.stats().blocks, 1);
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod audio;
pub mod buffer_pool;
#[cfg(feature = "parallel")]
mod choice;
mod control;
mod denormal;
mod message;
mod plan;
mod scheduler;
mod stats;
mod sync;

pub use audio::AudioProcessor;
pub use buffer_pool::{AlignedBlock, BufferPool};
#[cfg(feature = "parallel")]
pub use choice::{MAX_HOLD_DOUBLINGS, MAX_PROBE_BLOCKS, MeasuredChoice, MeasuredPaths};
pub use control::{CommitError, CommitReport, ControlError, Controller};
pub use message::{NODE_MOVES_PER_BLOCK, NODES_PER_BATCH};
#[cfg(feature = "parallel")]
pub use plan::ParallelConfig;
pub use plan::ScheduleDecision;
pub use scheduler::{
    EngineConfig, EngineError, MAX_INITIAL_BUFFERS, MAX_NODE_CAPACITY, Scheduler, engine,
};
pub use stats::EngineStats;

/// The parallel executor's decision rule and settings (feature `parallel`), re-exported from
/// `aether-parallel` so an engine can be configured without depending on it.
#[cfg(feature = "parallel")]
pub mod parallel {
    pub use crate::choice::{MAX_HOLD_DOUBLINGS, MAX_PROBE_BLOCKS, MeasuredChoice, MeasuredPaths};
    pub use crate::plan::{ParallelConfig, ScheduleDecision};
    pub use aether_parallel::{
        DEFAULT_STEP_COST_NS, Decision, ParallelPolicy, RealtimeError,
        promote_current_thread_to_realtime,
    };
}
