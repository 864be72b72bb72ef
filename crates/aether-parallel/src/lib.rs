//! Real-time-safe parallel execution of AetherDSP schedules on pre-spawned worker threads.
//!
//! # Real-time contract
//!
//! - **Control thread only** (allocate, spawn, join): [`Executor::new`], dropping an
//!   [`Executor`], [`ParallelPolicy::decide`], and `Compiler::compile_parallel` (aether-graph),
//!   which gives every step its own buffer, fuses chains of steps into tasks and groups light
//!   independent tasks until a group's cost reaches a target (see `aether_graph::TaskGraph` and
//!   [`ParallelPolicy::grouping`]).
//! - **Audio thread**: [`Executor::run`], [`run_parallel`] and [`run_sequential`] never allocate,
//!   free, lock, print or panic (node panics are caught so no worker is left using the block).
//!   Per block: O(tasks) counter resets, a wake posted to parked workers (an atomic swap, and an
//!   `unpark` for a worker that sleeps), then the audio thread runs ready tasks itself and spins
//!   on the completion counter; that wait is bounded by the block's work. The ready queue is a
//!   pre-allocated bounded lock-free queue; a task becomes ready when its last predecessor
//!   finishes (`fetch_sub` to zero).
//! - **Workers** poll the ready queue, spin a bounded number of polls when it is empty, then park.
//!   With [`ExecutorConfig::wake_ahead`] (opt-in), the audio thread also reads the monotonic
//!   clock once per block to estimate the block period, and a worker about to park sleeps with
//!   a timeout instead, waking itself shortly before the predicted next block and spinning
//!   (bounded) until it arrives: no wake-up latency, at the cost of that spinning.
//!   With [`ExecutorConfig::realtime_priority`] set, each worker switches itself to `SCHED_FIFO`
//!   once, when it starts (never from the audio thread);
//!   [`promote_current_thread_to_realtime`] does the same for a host's own audio thread, once
//!   at set-up.
//!
//! Whether a schedule runs in parallel is decided on the control side by [`ParallelPolicy`]
//! (estimated total work, critical path and per-task overhead); the rule is documented there.
//!
//! # Examples
//!
//! ```
//! use aether_graph::{Block, Compiler, DspNode, Graph, Inputs};
//! use aether_parallel::{Executor, ExecutorConfig, NodeSlot, run_parallel};
//! use aether_params::ParamBlock;
//!
//! struct Dc(f32);
//! impl DspNode for Dc {
//!     fn process(&mut self, _: &Inputs<'_>, out: &mut Block, _: &mut ParamBlock, _: f32) {
//!         out.fill(self.0);
//!     }
//!     fn type_name(&self) -> &'static str { "Dc" }
//! }
//! struct Sum;
//! impl DspNode for Sum {
//!     fn process(&mut self, inputs: &Inputs<'_>, out: &mut Block, _: &mut ParamBlock, _: f32) {
//!         out.fill(0.0);
//!         for input in inputs.iter().flatten() {
//!             for (o, i) in out.iter_mut().zip(input.iter()) { *o += i; }
//!         }
//!     }
//!     fn type_name(&self) -> &'static str { "Sum" }
//! }
//!
//! let mut graph = Graph::with_capacity(8);
//! let a = graph.add_node(Box::new(Dc(0.25))).unwrap();
//! let b = graph.add_node(Box::new(Dc(0.5))).unwrap();
//! let sum = graph.add_node(Box::new(Sum)).unwrap();
//! graph.connect(a, sum, 0).unwrap();
//! graph.connect(b, sum, 1).unwrap();
//! graph.set_output_node(sum).unwrap();
//! let schedule = Compiler::new().compile_parallel(&graph);
//!
//! // Audio-side tables (the engine keeps these in its node table and buffer pool).
//! let mut nodes: Vec<NodeSlot> = (0..3).map(|_| None).collect();
//! nodes[a.index() as usize] = Some(Box::new(Dc(0.25)));
//! nodes[b.index() as usize] = Some(Box::new(Dc(0.5)));
//! nodes[sum.index() as usize] = Some(Box::new(Sum));
//! let mut params = vec![ParamBlock::new(); 3];
//! let mut quarantine: Vec<aether_graph::Quarantined> = (0..3).map(|_| Default::default()).collect();
//! let mut buffers = vec![[0.0f32; 64]; schedule.buffer_count()];
//!
//! let mut executor = Executor::new(ExecutorConfig { worker_threads: 1, ..Default::default() })?;
//! run_parallel(&mut executor, &schedule, &mut nodes, &mut params, &mut quarantine, &mut buffers, 48_000.0)?;
//! let out = schedule.output_buffer().unwrap() as usize;
//! assert!(buffers[out].iter().all(|&s| s == 0.75));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod executor;
mod pacing;
mod policy;
mod queue;
mod realtime;
mod runner;
mod sync;

/// Internals the loom models check on their own (`cfg(loom)` builds only; not part of the API).
#[cfg(loom)]
#[doc(hidden)]
pub mod loom_internals {
    pub use crate::queue::TaskQueue;
}

pub use executor::{Executor, ExecutorConfig, ExecutorError, RunError};
pub use policy::{DEFAULT_STEP_COST_NS, Decision, ParallelPolicy};
pub use realtime::{RealtimeError, promote_current_thread_to_realtime};
pub use runner::{NodeSlot, process_contained, run_parallel, run_sequential};
