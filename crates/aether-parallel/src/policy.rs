//! The control-side rule deciding whether a schedule runs in parallel.

use aether_graph::{DEFAULT_TASK_TARGET_NS, TaskGraph, TaskGrouping};

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
/// So a chain (critical path = total) never goes parallel. Light nodes do not each pay a task's
/// overhead: the task graph the rule is applied to comes from
/// `Compiler::compile_parallel_with(graph, policy.grouping())`, which fuses chains and groups
/// light independent tasks of the same dependency level until a group's summed cost hints
/// reach [`task_target_ns`](Self::task_target_ns) (2 µs by default), never merging a task that
/// is already at the target and keeping one task per thread on each level that has them (the
/// rule is on `aether_graph::TaskGraph`). 1000 light nodes of 100 ns each become about 60
/// tasks instead of 1000, so the per-task overhead no longer eats what the threads gain.
///
/// The estimates are only as good as the nodes' cost hints: a graph whose hints overstate its
/// work (light nodes left at the 100 ns default that really take under 10 ns) can be sent to
/// the workers when one thread would be faster.
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
    /// The summed cost a group of light independent tasks should reach when the schedule is
    /// compiled ([`TaskGrouping::target_ns`], see [`grouping`](Self::grouping)); `0` turns
    /// grouping off.
    pub task_target_ns: u64,
}

impl ParallelPolicy {
    /// The rule for `threads` threads, with overheads measured on a 2-core x86-64 machine:
    /// 20 µs minimum work, 300 ns per task, 5 µs per block, speed-up at least 1.2; light tasks
    /// grouped up to [`DEFAULT_TASK_TARGET_NS`] (2 µs).
    ///
    /// Re-measured with task grouping (two threads on a shared 2-vCPU x86-64 machine, the
    /// `parallel_targets` harness and forced-parallel blocks through `run_parallel`) and kept:
    /// - per task, blocks back to back: 0 to 50 ns of wall time beyond the work for tasks of
    ///   about 1.4 µs, 50 to 160 ns for tasks of 0.2 to 0.3 µs; 300 ns stays an upper bound;
    /// - per block, back to back (workers still spinning): one task cost 0.4 to 0.7 µs more than
    ///   sequential (up to 2.3 µs in runs disturbed by other load). But when workers park
    ///   between blocks, as they do between audio callbacks (one block every 1.33 ms), 64
    ///   independent nodes of 2 µs took a median 134 µs in parallel against 132 µs sequential:
    ///   the parked worker woke too late to help. There the fixed cost of a parallel block is
    ///   far above 5 µs; back to back it is far below;
    /// - 20 µs minimum: a 16-voice patch (17 µs) ran 1.6 to 1.8 times faster in parallel back to
    ///   back, but 16% slower with parked workers (19.7 µs against 17.0 µs).
    pub fn for_threads(threads: usize) -> Self {
        ParallelPolicy {
            threads,
            min_total_ns: 20_000,
            task_overhead_ns: 300,
            block_overhead_ns: 5_000,
            min_speedup: 1.2,
            task_target_ns: DEFAULT_TASK_TARGET_NS,
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
            task_target_ns: DEFAULT_TASK_TARGET_NS,
        }
    }

    /// How schedules for this rule group light tasks: [`task_target_ns`](Self::task_target_ns)
    /// for [`threads`](Self::threads) threads. The engine compiles with
    /// `Compiler::compile_parallel_with(graph, policy.grouping())` and then applies
    /// [`decide`](Self::decide) to the grouped task graph, so the per-task overhead is counted
    /// for the tasks that actually run.
    pub fn grouping(&self) -> TaskGrouping {
        TaskGrouping {
            target_ns: self.task_target_ns,
            threads: self.threads,
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
