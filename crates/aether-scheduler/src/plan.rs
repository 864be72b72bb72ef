//! Choosing, on the control side, how a graph is compiled: a liveness schedule for one thread,
//! or (feature `parallel`) a hazard-free schedule with its task graph when the policy says
//! running it on the engine's workers pays.

use aether_graph::{Compiler, Graph, Schedule};

#[cfg(feature = "parallel")]
pub use parallel_config::ParallelConfig;

/// How a committed schedule runs, with the estimates behind the choice (from the node's
/// [`cost_hint`](aether_graph::DspNode::cost_hint)s, in nanoseconds per 64-sample block).
///
/// Reported by [`CommitReport::decision`](crate::CommitReport::decision) and
/// [`Controller::last_schedule_decision`](crate::Controller::last_schedule_decision) for engines
/// that have parallel workers (feature `parallel`, `ParallelConfig::worker_threads` > 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScheduleDecision {
    /// `true`: the schedule was compiled for and runs on the parallel executor.
    pub parallel: bool,
    /// Steps (scheduled nodes).
    pub steps: usize,
    /// Tasks of the task graph (chains of steps fused, light independent tasks grouped; see
    /// `aether_graph::TaskGraph`); the executor's unit of work.
    pub tasks: usize,
    /// Estimated time of one block on one thread.
    pub sequential_ns: u64,
    /// Estimated time of the most expensive dependency chain: no thread count beats it.
    pub critical_path_ns: u64,
    /// Estimated time of one parallel block, scheduling overheads included.
    pub estimated_parallel_ns: u64,
    /// The graph has more tasks than the executor was built for (the graph grew past the engine's
    /// node capacity), so the schedule runs sequentially whatever the estimates say.
    pub too_many_tasks: bool,
}

/// Compiles graphs the way the engine's configuration asks.
#[derive(Debug, Default)]
pub(crate) struct Planner {
    compiler: Compiler,
    #[cfg(feature = "parallel")]
    parallel: Option<ParallelPlan>,
}

/// What the control side knows of the audio side's executor.
#[cfg(feature = "parallel")]
#[derive(Debug, Clone, Copy)]
struct ParallelPlan {
    /// The rule, with `threads` = workers + the audio thread.
    policy: aether_parallel::ParallelPolicy,
    /// The executor's task capacity.
    max_tasks: usize,
    /// Also compile the one-thread schedule of a graph that runs in parallel (for the audio
    /// side's measured choice).
    with_in_order: bool,
}

impl Planner {
    /// Always compiles for one thread.
    pub(crate) fn sequential() -> Self {
        Planner::default()
    }

    /// Consults `policy` at every compilation; the executor holds at most `max_tasks` tasks.
    #[cfg(feature = "parallel")]
    pub(crate) fn parallel(
        policy: aether_parallel::ParallelPolicy,
        max_tasks: usize,
        with_in_order: bool,
    ) -> Self {
        Planner {
            compiler: Compiler::new(),
            parallel: Some(ParallelPlan {
                policy,
                max_tasks,
                with_in_order,
            }),
        }
    }

    /// Compiles `graph`: a parallel schedule (with its task graph) if the policy chooses it,
    /// otherwise a liveness schedule; with a parallel schedule and the measured choice on, also
    /// the liveness schedule of the same graph (what the audio side runs when the executor does
    /// not pay). The decision is `None` for an engine without workers. Allocates: control
    /// thread only.
    pub(crate) fn compile(
        &mut self,
        graph: &Graph,
    ) -> (Schedule, Option<Schedule>, Option<ScheduleDecision>) {
        #[cfg(feature = "parallel")]
        if let Some(plan) = self.parallel {
            let parallel = self
                .compiler
                .compile_parallel_with(graph, plan.policy.grouping());
            if let Some(tasks) = parallel.tasks() {
                let steps = parallel.steps();
                let estimate = plan.policy.decide(tasks, |step| {
                    steps
                        .get(step)
                        .and_then(|step| graph.cost_hint(step.node))
                        .unwrap_or(aether_parallel::DEFAULT_STEP_COST_NS)
                });
                let too_many_tasks = tasks.len() > plan.max_tasks;
                let decision = ScheduleDecision {
                    parallel: estimate.parallel && !too_many_tasks,
                    steps: parallel.len(),
                    tasks: tasks.len(),
                    sequential_ns: estimate.sequential_ns,
                    critical_path_ns: estimate.critical_path_ns,
                    estimated_parallel_ns: estimate.estimated_parallel_ns,
                    too_many_tasks,
                };
                if decision.parallel {
                    let in_order = plan.with_in_order.then(|| self.compiler.compile(graph));
                    return (parallel, in_order, Some(decision));
                }
                return (self.compiler.compile(graph), None, Some(decision));
            }
        }
        (self.compiler.compile(graph), None, None)
    }
}

#[cfg(feature = "parallel")]
mod parallel_config {
    use aether_parallel::ParallelPolicy;

    /// The parallel part of an [`EngineConfig`](crate::EngineConfig) (feature `parallel`).
    ///
    /// The engine spawns [`worker_threads`](Self::worker_threads) workers when it is built
    /// ([`engine`](crate::engine), [`Scheduler::try_with_config`](crate::Scheduler::try_with_config))
    /// and joins them when its audio half is dropped: both on the control thread. At every commit
    /// that changes the graph's structure, [`policy`](Self::policy) decides from the nodes' cost
    /// hints and the task graph whether the new schedule runs on the workers.
    ///
    /// # In an audio callback
    ///
    /// The defaults suit blocks rendered back to back (offline). In a host callback, blocks come
    /// one period apart and the workers park in between. Then waking them costs tens of
    /// microseconds per block at real-time priority; at normal priority a woken worker often
    /// does not run before the block ends at all (on the development VM, 5 000 paced blocks of
    /// two 37 µs tasks, the worker's CPU clock read around each: it ran for less than half of
    /// the block in 4 993 of them; rendering back to back after a pause, a worker woken on the
    /// audio thread's CPU got no CPU time for a whole millisecond of blocks). On that VM, 64
    /// nodes of 2 µs, one block per 1.33 ms, 20 000 blocks
    /// (`benches/parallel_targets.rs --paced`), the parallel block's median against 133 µs
    /// sequential was:
    /// - 135–144 µs with the defaults (no faster than sequential);
    /// - 92–101 µs with [`realtime_priority`](Self::realtime_priority) at the audio thread's
    ///   priority;
    /// - 73–75 µs with [`wake_ahead`](Self::wake_ahead) of 150 µs, with or without real-time
    ///   priority (worst block 2.4–2.7x the median).
    ///
    /// A real-time host should set both. Wake-ahead keeps a worker spinning for the lead, the
    /// block and one spin in every period (about 60% of a 1.33 ms period with the default
    /// spin, on that VM), though only while parallel schedules run.
    ///
    /// # Examples
    ///
    /// ```
    /// use aether_graph::{Block, DspNode, Inputs};
    /// use aether_params::ParamBlock;
    /// use aether_scheduler::{EngineConfig, ParallelConfig, engine};
    ///
    /// struct Voice;
    /// impl DspNode for Voice {
    ///     fn process(&mut self, inputs: &Inputs<'_>, out: &mut Block, _: &mut ParamBlock, _: f32) {
    ///         out.fill(0.125);
    ///         for input in inputs.iter().flatten() {
    ///             for (o, i) in out.iter_mut().zip(input.iter()) { *o += i; }
    ///         }
    ///     }
    ///     fn type_name(&self) -> &'static str { "Voice" }
    ///     fn cost_hint(&self) -> u64 { 5_000 } // ns per block: a heavy node
    /// }
    ///
    /// let config = EngineConfig {
    ///     parallel: ParallelConfig::with_workers(1),
    ///     ..EngineConfig::default()
    /// };
    /// let (mut control, mut audio) = engine(48_000.0, config)?;
    /// let graph = control.graph_mut();
    /// let mix = graph.add_node(Box::new(Voice))?;
    /// for slot in 0..8 {
    ///     let voice = graph.add_node(Box::new(Voice))?;
    ///     graph.connect(voice, mix, slot)?;
    /// }
    /// graph.set_output_node(mix)?;
    /// let report = control.commit()?;
    /// // 45 µs of independent work on 2 threads: the rule chooses parallel.
    /// assert!(report.runs_parallel(), "{:?}", report.decision);
    /// assert_eq!(audio.process_block()[0], 9.0 * 0.125);
    /// assert_eq!(control.stats().parallel_blocks, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct ParallelConfig {
        /// Worker threads besides the audio thread. `0`: never parallel, and no thread is
        /// spawned. Default: available cores − 1.
        pub worker_threads: usize,
        /// Empty polls of the ready queue a worker makes before it parks until the next parallel
        /// block (each poll includes a spin-loop hint; the default 20 000 polls last about
        /// 0.5 ms on the development machine, see `aether_parallel::ExecutorConfig`).
        pub spin_iterations: u32,
        /// The decision rule. Its `threads` field is ignored: the engine sets it to
        /// `worker_threads + 1` (the workers and the audio thread).
        pub policy: ParallelPolicy,
        /// `Some(priority)`: each worker switches itself to `SCHED_FIFO` at `priority` when it
        /// starts (see `aether_parallel::ExecutorConfig::realtime_priority`). Pass the priority
        /// the host's audio thread runs at, so a worker holding part of a block is not preempted
        /// by ordinary threads while the audio thread waits for it. Default `None`: workers run
        /// at normal priority, as a process without the privilege would anyway. A refusal does
        /// not fail the engine:
        /// [`AudioProcessor::realtime_workers`](crate::AudioProcessor::realtime_workers) tells
        /// how many workers got it.
        pub realtime_priority: Option<u8>,
        /// `Some(lead)`: wake-ahead pacing for hosts that call the engine at a steady period
        /// (see `aether_parallel::ExecutorConfig::wake_ahead`). The audio thread estimates the
        /// period between parallel blocks from one clock read per block (during a probe of the
        /// measured choice, every block counts, whichever path it runs on); a worker that would
        /// park until the next block instead sleeps with a timeout, wakes `lead` before the
        /// predicted start and spins until the block arrives (or until `lead` after the
        /// prediction), so the block does not pay the tens of microseconds of waking a parked
        /// thread.
        ///
        /// The trade-off: each worker then spins for about `lead` + the block's time (+ the
        /// [`spin_iterations`](Self::spin_iterations) spin) in every period, CPU time other
        /// threads do not get, in exchange for no wake-up latency. 100-200 µs is a reasonable
        /// start (above the 50 µs timer slack of normal-priority Linux threads, well below a
        /// block period). Default `None`: workers park until a block wakes them.
        pub wake_ahead: Option<std::time::Duration>,
        /// `Some(settings)` (the default): the audio side checks the rule's choice where it
        /// runs. A commit that runs in parallel also carries the graph's one-thread schedule
        /// (compiled on the control side, buffers by liveness); the audio side times the
        /// parallel schedule on the executor and the one-thread schedule on the audio thread in
        /// pairs of neighbouring blocks (a probe of `probe_blocks` pairs), keeps the executor
        /// only if it is at least `min_gain_percent` faster in more than half of the pairs,
        /// holds that choice for `hold_blocks` blocks and probes again. Both paths give the
        /// same samples. This is what makes the default settings safe in an audio callback:
        /// with parked workers (no [`wake_ahead`](Self::wake_ahead), no real-time priority)
        /// waking them can cost what the parallelism saves, and then the audio thread runs
        /// alone; it also catches cost hints that are far off. Cost: a second compilation per
        /// parallel commit (control side), two clock reads per probe block and, during a probe,
        /// half of its blocks on the slower path. The last probe's outcome is in
        /// [`EngineStats::measured_paths`](crate::EngineStats::measured_paths). `None`: every
        /// parallel schedule runs on the executor (as [`always_parallel`](Self::always_parallel)
        /// sets).
        pub measured_choice: Option<crate::MeasuredChoice>,
    }

    impl ParallelConfig {
        /// One worker per core besides the audio thread's (available cores − 1) and the measured
        /// default rule ([`ParallelPolicy::for_threads`]).
        pub fn with_default_threads() -> Self {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            Self::with_workers(cores.saturating_sub(1))
        }

        /// `worker_threads` workers and the measured default rule.
        pub fn with_workers(worker_threads: usize) -> Self {
            ParallelConfig {
                worker_threads,
                spin_iterations: aether_parallel::ExecutorConfig::with_default_threads()
                    .spin_iterations,
                policy: ParallelPolicy::for_threads(worker_threads + 1),
                realtime_priority: None,
                wake_ahead: None,
                measured_choice: Some(crate::MeasuredChoice::default()),
            }
        }

        /// No workers: every schedule runs on the audio thread alone.
        pub fn disabled() -> Self {
            Self::with_workers(0)
        }

        /// `worker_threads` workers, a rule that always chooses parallel
        /// ([`ParallelPolicy::always_parallel`]) and no measured choice: every block runs on
        /// the executor. For tests and comparisons.
        pub fn always_parallel(worker_threads: usize) -> Self {
            ParallelConfig {
                policy: ParallelPolicy::always_parallel(worker_threads + 1),
                measured_choice: None,
                ..Self::with_workers(worker_threads)
            }
        }

        /// The rule with `threads` set to what the engine runs.
        pub(crate) fn effective_policy(&self) -> ParallelPolicy {
            ParallelPolicy {
                threads: self.worker_threads.saturating_add(1),
                ..self.policy
            }
        }
    }

    impl Default for ParallelConfig {
        fn default() -> Self {
            Self::with_default_threads()
        }
    }
}
