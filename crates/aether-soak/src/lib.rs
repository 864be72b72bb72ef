//! AetherDSP soak test: a large patch of real nodes played by a JACK client while the control
//! thread edits it every 10 ms, checked for audio-thread allocations, deadline misses, lost
//! edits and broken output.
//!
//! # Real-time contract
//!
//! - **Audio thread**: [`SoakCallback::process`] runs the engine's
//!   [`AudioProcessor`](aether_scheduler::AudioProcessor) for one host buffer, times it into an
//!   [`aether_telemetry::StatsRecorder`] and checks the samples. It is wait-free apart from the
//!   engine itself (relaxed atomic counters, two wall-clock, two thread-CPU-clock, two
//!   `sched_getcpu` and two `getrusage` reads, and for a block over the period a few relaxed
//!   stores into the [`MissLog`] published with one release store) and never allocates, frees, locks, prints or panics. The JACK process callback (feature
//!   `jack`) wraps everything it does in `assert_no_alloc` and counts every allocation and free
//!   there; the soak fails if any happened. The [`Observed`] wrapper each node runs in publishes
//!   its parameter targets with relaxed atomic stores after the node's own (allocation-free)
//!   `process`, so the measured engine time includes that small cost.
//! - The only `unsafe` code is two `clock_gettime` calls ([`thread_cpu_ns`], [`monotonic_ns`]),
//!   one `getrusage` call ([`thread_usage`]), one `sched_getcpu` call ([`current_cpu`]) and, in
//!   the JACK host, one `gettid` call (to see the process thread exit before deactivation).
//! - **Control thread**: everything else ([`SoakRun`], [`SoakPatch`], [`EditGenerator`],
//!   [`SoakReport`]) allocates freely: edits, compilation, the final drain and the comparison of
//!   the audio side's parameter state with the graph. Nothing here is called from the callback.
//!
//! # Deadline misses: the engine's and the machine's
//!
//! Every block is timed twice: by the wall clock and by the audio thread's CPU clock. A block
//! that took longer than the period by the wall clock is *late*. If its thread also used more
//! CPU time than the period, the engine's own work was too slow: that is an **engine deadline
//! miss**, and one fails the soak. If its thread used less, it was not running for part of the
//! block (another thread or the hypervisor had the CPU): the block is reported as late
//! off-CPU, beside the xruns JACK reported to an idle client in the same run (and before the
//! engine started), which is the machine's share. Without a thread CPU clock every late block
//! counts as an engine miss.
//!
//! Every block over the period is also logged (wait-free, [`MissLog`], the first
//! [`MISS_LOG_CAPACITY`]) with its `CLOCK_MONOTONIC` span, CPU time, CPUs, faults and context
//! switches; in the JACK soak an [`InterruptSampler`] thread reads `/proc/softirqs` and
//! `/proc/interrupts` every 2 ms and reports, per logged block, the counters on its CPU that
//! rose more than usual around it ([`MissEvidence`]): evidence of whose CPU time a miss was,
//! not part of pass or fail.
//!
//! The `aether-soak` binary (feature `jack`) needs a running JACK server; `cargo xtask soak`
//! starts a private dummy-driver server, runs the binary and always stops the server.
//!
//! # Examples
//!
//! The whole soak without JACK: one thread edits and then plays two blocks per edit.
//!
//! ```
//! use aether_soak::SoakRun;
//!
//! let (mut run, mut callback) = SoakRun::new(64, 7, 48_000)?;
//! let mut out = [0.0f32; 64];
//! for _ in 0..50 {
//!     run.edit_once();
//!     callback.process(&mut out);
//!     callback.process(&mut out);
//! }
//! let check = run.finish(100, || callback.process(&mut out));
//! let report = run.report(0.0, 64, check);
//! assert!(check.drained);
//! assert_eq!(report.commands_sent, report.commands_applied);
//! assert_eq!(report.output.silent_blocks, 0);
//! println!("{}", report.render_table());
//! # Ok::<(), aether_soak::SoakError>(())
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]

pub mod affinity;
mod callback;
pub mod cli;
mod cpu_clock;
mod edits;
mod error;
mod forensics;
#[cfg(feature = "jack")]
pub mod host;
mod offline;
mod patch;
mod report;
mod rng;
mod run;

pub use callback::{
    AudioCounters, BufferCheck, MISS_LOG_CAPACITY, MissLog, MissRecord, OutputCounts, SoakCallback,
    check_buffer,
};
pub use cpu_clock::{
    ThreadUsage, current_cpu, monotonic_ns, thread_cpu_ns, thread_page_faults, thread_usage,
};
pub use edits::{
    Edit, EditCounts, EditGenerator, EditKind, Rejection, apply_edit, distinct_target, soak_range,
};
pub use error::SoakError;
pub use forensics::{
    CounterLine, CounterTable, Excess, InterruptSampler, LineDelta, MissEvidence, RING_SAMPLES,
    SAMPLE_INTERVAL, SampleRing, SamplerStats, TOP_LINES, Window, WindowDeltas, analyze_window,
    median,
};
pub use offline::{BlockCpu, OFFLINE_BLOCK_FRAMES, OFFLINE_SAMPLE_RATE, run_offline};
pub use patch::{
    MIN_NODES, MIXER_INPUTS, NodeInfo, NodeKind, Observed, ParamMirror, SoakPatch, mixer_count,
    voices_for,
};
pub use report::{AudioThreadCpu, SoakReport, TimingSummary, XrunCounts};
pub use rng::SoakRng;
pub use run::{FinalCheck, SoakRun};
