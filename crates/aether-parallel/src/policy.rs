//! The control-side rule deciding whether a schedule runs in parallel.

use aether_graph::TaskGraph;

/// Cost assumed for a step with no better estimate, in nanoseconds per 64-sample block: a
/// light node (a gain, a mixer input, a simple oscillator). The same value as
/// [`DspNode::cost_hint`](aether_graph::DspNode::cost_hint)'s default.
pub const DEFAULT_STEP_COST_NS: u64 = aether_graph::DEFAULT_COST_HINT_NS;

/// The decision rule, evaluated on the control thread when a schedule is compiled.
///
/// With per-step cost estimates (nanoseconds per block) and the task graph:
///
/// - `sequential = total cost`;
/// - `parallel = max(critical path, total / threads) + tasks * task_overhead + block_overhead`;
/// - run in parallel only if `threads >= 2`, `sequential >= min_total_ns`, and
///   `sequential >= min_speedup * parallel`.
///
/// So a chain (critical path = total) never goes parallel, and many light nodes stay
/// sequential because their per-task overhead exceeds what they save.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParallelPolicy {
    /// Threads running a block: the workers plus the audio thread.
    pub threads: usize,
    /// Below this much work per block, waking workers is not worth it.
    pub min_total_ns: u64,
    /// Scheduling cost of one task (counter updates, queue push and pop, cache traffic).
    pub task_overhead_ns: u64,
    /// Fixed cost of a parallel block (publishing, waking workers, waiting for the last task).
    pub block_overhead_ns: u64,
    /// The estimated speed-up must reach this factor.
    pub min_speedup: f64,
}

impl ParallelPolicy {
    /// The rule for `threads` threads, with overheads measured on a 2-core x86-64 machine:
    /// 20 µs minimum work, 300 ns per task, 5 µs per block, speed-up at least 1.2.
    pub fn for_threads(threads: usize) -> Self {
        ParallelPolicy {
            threads,
            min_total_ns: 20_000,
            task_overhead_ns: 300,
            block_overhead_ns: 5_000,
            min_speedup: 1.2,
        }
    }

    /// A rule that always says parallel when there are at least two threads (zero thresholds and
    /// overheads, speed-up factor 0): for tests that must exercise the parallel path, and for
    /// benchmarks comparing both paths on the same graph.
    pub fn always_parallel(threads: usize) -> Self {
        ParallelPolicy {
            threads,
            min_total_ns: 0,
            task_overhead_ns: 0,
            block_overhead_ns: 0,
            min_speedup: 0.0,
        }
    }

    /// Applies the rule to `tasks` with `step_cost(step)` nanoseconds per step. O(steps + edges);
    /// allocates (control thread).
    pub fn decide(&self, tasks: &TaskGraph, step_cost: impl FnMut(usize) -> u64) -> Decision {
        let path = tasks.critical_path(step_cost);
        let threads = self.threads.max(1) as u64;
        let estimated_parallel_ns = path
            .critical
            .max(path.total.div_ceil(threads))
            .saturating_add((tasks.len() as u64).saturating_mul(self.task_overhead_ns))
            .saturating_add(self.block_overhead_ns);
        let parallel = self.threads >= 2
            && path.total >= self.min_total_ns
            && path.total as f64 >= self.min_speedup * estimated_parallel_ns as f64;
        Decision {
            parallel,
            sequential_ns: path.total,
            critical_path_ns: path.critical,
            estimated_parallel_ns,
        }
    }
}

/// The outcome of [`ParallelPolicy::decide`], with the estimates behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// `true`: run this schedule in parallel.
    pub parallel: bool,
    /// Estimated sequential time per block.
    pub sequential_ns: u64,
    /// Estimated time of the most expensive dependency chain.
    pub critical_path_ns: u64,
    /// Estimated parallel time per block, overheads included.
    pub estimated_parallel_ns: u64,
}
