//! The parallel executor's performance targets, measured within one run with the sides
//! interleaved, printed as a table with PASS/FAIL per target:
//!
//! - (a) 64 heavy independent nodes into a mixer: the engine (what the policy picks) at least
//!   1.7× faster than sequential;
//! - (b) 1000 light nodes in a wide graph and (c) a chain: the engine never more than 5% slower
//!   than sequential;
//! - (d) 16 synth voices: reported, no target;
//! - worst block over 100 000 blocks of (a) on the engine at most 3× its median block.
//!
//! Two paths are measured, each with its own table and worst-block check: aether-parallel
//! directly (`run_sequential` / `run_parallel` on one executor) and the whole engine
//! (`Scheduler::process_block`, feature `parallel`, one scheduler per side: no workers, the
//! default rule, a rule that always goes parallel).
//!
//! Method: before timing, fresh copies of every scenario render one block on every side and the
//! outputs must be bit-identical. Each side renders the same warm-up blocks; then in every round
//! each side renders a batch of consecutive blocks (batch sized to about 1 ms of sequential
//! work), the starting side rotating between rounds; before each batch the harness busy-waits
//! 2 ms (so the workers of the side before have parked) and renders one untimed block (waking
//! this side's workers); a side's figure is the median over rounds of its mean
//! block time in the batch, and ratios compare medians from the same run. The worst-block check
//! times every block individually, in chunks alternating between the sides.
//!
//! Run (the figures depend on a quiet machine):
//! `cargo bench -p aether-benches --bench parallel_targets -- [--rounds 41]
//! [--worst-blocks 100000] [--chunk 10000] [--path direct|scheduler|both] [--paced]`.
//! `--paced` starts each block of the worst-block check one block period (1.33 ms) after the
//! previous one, as an audio callback would (100 000 blocks then take over 2 minutes per side).
//! The worst-block table also gives the whole process's CPU time per block while each side ran
//! (every thread: the measuring thread and spinning or parked workers; `/proc/self/stat`).
//! Beside the scenario's two sides it times a third, the machine's floor: a loop of dependent
//! multiply-adds on the measuring thread alone, no memory traffic, sized to the engine's median
//! block: its slow blocks come from the machine alone. Around every block the measuring
//! thread's CPU clock, its involuntary context switches and every worker's CPU clock are read
//! (outside the timed window), and each block over 3x its side's median is put down to a cause:
//! the measuring thread preempted, the measuring thread off its CPU without a switch (on a VM:
//! the host did not run the virtual CPU), a worker off its CPU (so the measuring thread waited
//! for its task), or every thread on its CPU throughout (the work itself was slow). The three
//! slowest blocks per side are listed. A fourth row, the two-thread floor, runs the same loop
//! in two halves as two tasks on the executor, joined by an empty step: a block two threads
//! share is exposed on both CPUs and pays the executor's fork and join.
//! `--wake-ahead MICROSECONDS` turns on the executors' wake-ahead pacing (workers wake
//! themselves that long before the predicted next block instead of being woken by it).
//! Between paced blocks the measuring thread sleeps. `--realtime PRIORITY` runs the measuring
//! thread and every executor worker at `SCHED_FIFO` `PRIORITY`, as a host runs its audio thread
//! (needs the privilege; use it with `--paced`: real-time threads rendering back to back would
//! run into the kernel's real-time throttling).

use std::hint::black_box;
use std::time::Instant;

use aether_parallel::{Executor, ExecutorConfig, promote_current_thread_to_realtime};

#[path = "support/block_forensics.rs"]
mod forensics;
#[path = "support/rayon_levels.rs"]
mod rayon_levels;
#[path = "support/parallel_scenarios.rs"]
mod scenarios;

use forensics::{BlockSample, Cause, ThreadClocks};
use rayon_levels::RayonLevels;

use scenarios::{Kind, Prepared, SchedulerSides, Side};

/// Sequential work per timed batch, in nanoseconds.
const BATCH_TARGET_NS: f64 = 1e6;
/// Busy wait before each timed batch, so the workers of the side that ran before have parked: on
/// the whole-engine path each side is a separate engine with its own worker, and a worker still
/// spinning after its own batch would take a core from the next side's (three busy threads on
/// two cores), penalising whichever side follows a parallel one.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(2);
/// Blocks each side renders before timing starts.
const WARM_UP_BLOCKS: usize = 32;

/// Which way blocks are rendered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// aether-parallel's `run_sequential` / `run_parallel` on one executor.
    Direct,
    /// `Scheduler::process_block` with feature `parallel`.
    Scheduler,
}

impl Path {
    fn title(self) -> &'static str {
        match self {
            Path::Direct => "aether-parallel directly (run_sequential / run_parallel)",
            Path::Scheduler => "whole engine (Scheduler::process_block, feature parallel)",
        }
    }
}

struct Options {
    rounds: usize,
    worst_blocks: usize,
    chunk: usize,
    paced: bool,
    realtime_priority: Option<u8>,
    wake_ahead: Option<std::time::Duration>,
    paths: Vec<Path>,
}

impl Options {
    /// No real-time priority, no wake-ahead (the output check's fresh runners).
    fn plain() -> Options {
        Options {
            rounds: 0,
            worst_blocks: 0,
            chunk: 0,
            paced: false,
            realtime_priority: None,
            wake_ahead: None,
            paths: Vec::new(),
        }
    }
}

fn parse_options() -> Options {
    let mut options = Options {
        rounds: 41,
        worst_blocks: 100_000,
        chunk: 10_000,
        paced: false,
        realtime_priority: None,
        wake_ahead: None,
        paths: vec![Path::Direct, Path::Scheduler],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut number = |default: usize| {
            args.next()
                .and_then(|value| value.parse::<usize>().ok())
                .unwrap_or(default)
                .max(1)
        };
        match flag.as_str() {
            "--rounds" => options.rounds = number(options.rounds),
            "--worst-blocks" => options.worst_blocks = number(options.worst_blocks),
            "--chunk" => options.chunk = number(options.chunk),
            "--paced" => options.paced = true,
            "--wake-ahead" => {
                options.wake_ahead = Some(std::time::Duration::from_micros(number(150) as u64));
            }
            "--realtime" => {
                options.realtime_priority =
                    Some(u8::try_from(number(70)).unwrap_or(u8::MAX).min(99));
            }
            "--path" => {
                options.paths = match args.next().as_deref() {
                    Some("direct") => vec![Path::Direct],
                    Some("scheduler") => vec![Path::Scheduler],
                    _ => vec![Path::Direct, Path::Scheduler],
                }
            }
            // `cargo bench` passes `--bench`; criterion-style flags are ignored too.
            _ => {}
        }
    }
    options
}

/// What a scenario's row is checked against.
#[derive(Clone, Copy)]
enum Target {
    /// `sequential / engine >= factor`.
    SpeedUp(f64),
    /// `engine / sequential <= factor`.
    NoSlowerThan(f64),
    /// Reported only.
    None,
}

fn target_for(kind: Kind) -> Target {
    match kind {
        Kind::HeavyIntoMixer => Target::SpeedUp(1.7),
        Kind::WideLight | Kind::Chain => Target::NoSlowerThan(1.05),
        Kind::Voices => Target::None,
    }
}

/// One scenario ready to render on any side, by either path.
enum Runner {
    Direct(Box<Prepared>),
    Scheduler(Box<SchedulerSides>),
}

impl Runner {
    fn new(path: Path, kind: Kind, threads: usize, options: &Options) -> Self {
        match path {
            Path::Direct => Runner::Direct(Box::new(Prepared::new(kind, threads))),
            Path::Scheduler => Runner::Scheduler(Box::new(SchedulerSides::with_worker_settings(
                kind,
                options.realtime_priority,
                options.wake_ahead,
            ))),
        }
    }

    /// Renders one block of `side`; returns its output.
    fn run(&mut self, executor: &mut Executor, side: Side) -> [f32; 64] {
        match self {
            Runner::Direct(prepared) => match prepared.run(executor, side) {
                Ok(block) => *block,
                Err(error) => panic!("{}: {error}", prepared.scenario.kind.name()),
            },
            Runner::Scheduler(sides) => *sides.run(side),
        }
    }

    /// The engine side's measured choice (whole-engine path only): the last probe's outcome
    /// and how many probes ended.
    fn measured(&self) -> Option<(aether_scheduler::MeasuredPaths, u64)> {
        match self {
            Runner::Direct(_) => None,
            Runner::Scheduler(sides) => {
                let stats = sides.engine_stats();
                stats.measured_paths.map(|paths| (paths, stats.probes))
            }
        }
    }

    /// Whether the engine side runs in parallel, and the schedule's steps and tasks.
    fn decision(&self) -> (bool, usize, usize) {
        match self {
            Runner::Direct(prepared) => {
                let (steps, tasks) = prepared.shape();
                (prepared.decision.parallel, steps, tasks)
            }
            Runner::Scheduler(sides) => sides
                .decision
                .map_or((false, 0, 0), |d| (d.parallel, d.steps, d.tasks)),
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Fresh copies render one block on every side; the outputs must be bit-identical.
fn check_outputs(path: Path, executor: &mut Executor, threads: usize) -> bool {
    let mut all_equal = true;
    for kind in Kind::ALL {
        let outputs = Side::ALL
            .map(|side| Runner::new(path, kind, threads, &Options::plain()).run(executor, side));
        let equal = outputs.iter().all(|output| {
            output
                .iter()
                .zip(&outputs[0])
                .all(|(a, b)| a.to_bits() == b.to_bits())
        });
        if !equal {
            println!("{}: the sides' outputs differ", kind.name());
        }
        all_equal &= equal;
    }
    all_equal
}

/// Median block time per side (ns), interleaved rounds; and the batch size.
fn measure_speed(runner: &mut Runner, executor: &mut Executor, rounds: usize) -> ([f64; 3], usize) {
    for side in Side::ALL {
        for _ in 0..WARM_UP_BLOCKS {
            black_box(runner.run(executor, side));
        }
    }
    let calibration = 16;
    let start = Instant::now();
    for _ in 0..calibration {
        black_box(runner.run(executor, Side::Sequential));
    }
    let per_block = start.elapsed().as_nanos() as f64 / calibration as f64;
    let batch = (BATCH_TARGET_NS / per_block.max(1.0)).clamp(5.0, 5_000.0) as usize;

    let mut times: [Vec<f64>; 3] = std::array::from_fn(|_| Vec::with_capacity(rounds));
    for round in 0..rounds {
        for k in 0..Side::ALL.len() {
            let index = (round + k) % Side::ALL.len();
            let side = Side::ALL[index];
            // Let the workers of the side that ran before park (their spin lasts about 0.5 ms
            // here), so they do not take a core from this side's batch, then wake this side's.
            // A busy wait, not a sleep: after a sleep the measuring thread may wake on the
            // worker's CPU, and a worker woken from there at normal priority can wait behind
            // it for milliseconds (see docs/BENCHMARKS.md).
            let settle_start = Instant::now();
            while settle_start.elapsed() < SETTLE {
                std::hint::spin_loop();
            }
            black_box(runner.run(executor, side));
            let start = Instant::now();
            for _ in 0..batch {
                black_box(runner.run(executor, side));
            }
            times[index].push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
    }
    (times.each_mut().map(|t| median(t)), batch)
}

/// What the worst-block check times: the scenario's two sides and a pure-arithmetic loop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WorstSide {
    /// The scenario on one thread.
    Sequential,
    /// The scenario as the engine runs it (the executor, here).
    Engine,
    /// [`forensics::busy_work`] sized to the engine's median block: the machine's floor.
    BusyLoop,
    /// The same busy loop cut in two halves, run as two tasks on the executor: the floor of a
    /// two-thread block (both CPUs exposed, plus the executor's fork and join).
    SplitBusyLoop,
}

impl WorstSide {
    const ALL: [WorstSide; 4] = [
        WorstSide::Sequential,
        WorstSide::Engine,
        WorstSide::BusyLoop,
        WorstSide::SplitBusyLoop,
    ];

    fn name(self) -> &'static str {
        match self {
            WorstSide::Sequential => "sequential",
            WorstSide::Engine => "engine",
            WorstSide::BusyLoop => "busy loop",
            WorstSide::SplitBusyLoop => "busy x2 exec",
        }
    }
}

impl WorstSide {
    /// Whether this side's blocks run on the executor's workers too.
    fn uses_workers(self) -> bool {
        matches!(self, WorstSide::Engine | WorstSide::SplitBusyLoop)
    }
}

/// [`forensics::busy_work`] in two equal halves, as two tasks on the executor, joined by an
/// empty step: the least a block that two threads share can be exposed to.
struct SplitBusyLoop {
    schedule: aether_graph::Schedule,
    /// Per step of `schedule`: whether it runs half of the busy loop (the two sources).
    busy: Vec<bool>,
    half_iterations: u32,
}

impl SplitBusyLoop {
    /// Two heavy sources into a sum, compiled for the executor; `iterations` split between them.
    fn new(iterations: u32) -> Self {
        let mut graph = aether_graph::Graph::with_capacity(3);
        let mut add = |node: Box<dyn aether_graph::DspNode>| {
            graph.add_node(node).expect("three nodes fit the graph")
        };
        let halves = [
            add(Box::new(scenarios::Heavy::new())),
            add(Box::new(scenarios::Heavy::new())),
        ];
        let join = add(Box::new(scenarios::Sum));
        for (slot, &half) in halves.iter().enumerate() {
            graph.connect(half, join, slot).expect("valid edge");
        }
        graph.set_output_node(join).expect("the join exists");
        let schedule = aether_graph::Compiler::new().compile_parallel(&graph);
        let busy = schedule
            .steps()
            .iter()
            .map(|step| halves.contains(&step.node))
            .collect();
        SplitBusyLoop {
            schedule,
            busy,
            half_iterations: iterations / 2,
        }
    }

    fn run(&self, executor: &mut Executor) {
        let tasks = self
            .schedule
            .tasks()
            .expect("compile_parallel builds a task graph");
        let run_step = |step: usize| {
            if self.busy.get(step).copied().unwrap_or(false) {
                black_box(forensics::busy_work(self.half_iterations));
            }
        };
        if let Err(error) = executor.run(tasks, &run_step) {
            panic!("split busy loop: {error}");
        }
    }
}

struct WorstRow {
    side: WorstSide,
    median_ns: u64,
    p99_ns: u64,
    p999_ns: u64,
    worst_ns: u64,
    over_3x_median: usize,
    /// CPU time of the whole process (every thread) per block while this side ran, in
    /// nanoseconds; `None` where `/proc/self/stat` cannot be read.
    cpu_per_block_ns: Option<f64>,
    /// The blocks over 3x the median, counted by cause (in [`Cause::ALL`] order); `None` where
    /// the thread clocks cannot be read.
    causes: Option<[usize; 4]>,
    /// Blocks (of any length) in which the workers ran for less than half of the block: the
    /// measuring thread did most of the work itself. Only for sides that use workers.
    worker_absent: Option<usize>,
    /// The slowest blocks, slowest first, with their cause (`None`: no clock readings).
    slowest: Vec<(BlockSample, Option<Cause>)>,
}

/// CPU time the whole process has used (user + system, every thread), from `/proc/self/stat`
/// (clock ticks, usually 10 ms each); `None` where that file does not exist.
fn process_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux builds for every common architecture.
    Some((utime + stime) * 10_000_000)
}

/// How many of each side's slowest blocks the worst-block report lists.
const SLOWEST_SHOWN: usize = 3;

/// Real time of one 64-sample block at 48 kHz, in nanoseconds.
const BLOCK_PERIOD_NS: u128 = 1_333_333;

/// Median wall time of the engine side's block, back to back (sizes the busy loop).
fn engine_median_ns(runner: &mut Runner, executor: &mut Executor) -> u64 {
    let mut times: Vec<u64> = (0..201)
        .map(|_| {
            let start = Instant::now();
            black_box(runner.run(executor, Side::Engine));
            start.elapsed().as_nanos() as u64
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

/// Times every one of `blocks` blocks per side, alternating chunks of `chunk` blocks. `paced`:
/// each block starts one block period (1.33 ms) after the previous one, as in an audio callback,
/// so idle workers park between blocks and every parallel block pays their wake-up. Around
/// every block, outside its timed window, the threads' clocks are read (see
/// `support/block_forensics.rs`).
fn measure_worst(
    runner: &mut Runner,
    executor: &mut Executor,
    blocks: usize,
    chunk: usize,
    paced: bool,
) -> ([WorstRow; 4], usize) {
    let sides = WorstSide::ALL;
    for side in [Side::Sequential, Side::Engine] {
        for _ in 0..WARM_UP_BLOCKS {
            black_box(runner.run(executor, side));
        }
    }
    let busy_iterations = forensics::busy_iterations_for(engine_median_ns(runner, executor));
    let split = SplitBusyLoop::new(busy_iterations);
    let clocks = ThreadClocks::find_workers();
    let mut samples: [Vec<BlockSample>; 4] = std::array::from_fn(|_| Vec::with_capacity(blocks));
    // False once any reading failed: then no block is classified.
    let mut clocks_read = true;
    let mut cpu_ns = [Some(0u64); 4];
    while samples[3].len() < blocks {
        for (index, side) in sides.into_iter().enumerate() {
            let count = chunk.min(blocks - samples[index].len());
            let cpu_before = process_cpu_ns();
            for _ in 0..count {
                let before = clocks.read();
                let start = Instant::now();
                match side {
                    WorstSide::Sequential => {
                        black_box(runner.run(executor, Side::Sequential));
                    }
                    WorstSide::Engine => {
                        black_box(runner.run(executor, Side::Engine));
                    }
                    WorstSide::BusyLoop => {
                        black_box(forensics::busy_work(busy_iterations));
                    }
                    WorstSide::SplitBusyLoop => split.run(executor),
                }
                let wall_ns = start.elapsed().as_nanos() as u64;
                let after = clocks.read();
                samples[index].push(match (before, after) {
                    (Some(before), Some(after)) => BlockSample::between(before, after, wall_ns),
                    _ => {
                        clocks_read = false;
                        BlockSample {
                            wall_ns,
                            ..BlockSample::default()
                        }
                    }
                });
                // The thread sleeps until the next period starts, as an audio thread blocks
                // between callbacks (spinning instead would keep a SCHED_FIFO thread on the CPU
                // and run into the kernel's real-time throttling).
                if paced {
                    let period = std::time::Duration::from_nanos(BLOCK_PERIOD_NS as u64);
                    if let Some(rest) = period.checked_sub(start.elapsed()) {
                        std::thread::sleep(rest);
                    }
                }
            }
            cpu_ns[index] = match (cpu_ns[index], cpu_before, process_cpu_ns()) {
                (Some(total), Some(before), Some(after)) => {
                    Some(total + after.saturating_sub(before))
                }
                _ => None,
            };
        }
    }
    let mut index = 0;
    let rows = samples.map(|side_samples| {
        let side = sides[index];
        let cpu_per_block_ns = cpu_ns[index].map(|total| total as f64 / side_samples.len() as f64);
        index += 1;
        worst_row(side, side_samples, cpu_per_block_ns, clocks_read)
    });
    (rows, clocks.workers())
}
/// Sorts `samples` by wall time and sums them up.
fn worst_row(
    side: WorstSide,
    mut samples: Vec<BlockSample>,
    cpu_per_block_ns: Option<f64>,
    clocks_read: bool,
) -> WorstRow {
    samples.sort_unstable_by_key(|sample| sample.wall_ns);
    let n = samples.len();
    let at = |fraction: usize| samples[(n * fraction / 1000).min(n - 1)].wall_ns;
    let median_ns = samples[n / 2].wall_ns;
    let slow = samples
        .iter()
        .rev()
        .take_while(|sample| sample.wall_ns > 3 * median_ns);
    let cause = |sample: &BlockSample| {
        clocks_read.then(|| Cause::of(sample, median_ns, side.uses_workers()))
    };
    let causes = clocks_read.then(|| {
        let mut counts = [0usize; 4];
        for sample in slow.clone() {
            if let Some(cause) = cause(sample)
                && let Some(position) = Cause::ALL.iter().position(|&c| c == cause)
            {
                counts[position] += 1;
            }
        }
        counts
    });
    let worker_absent = (clocks_read && side.uses_workers()).then(|| {
        samples
            .iter()
            .filter(|sample| sample.workers_cpu_ns < sample.wall_ns / 2)
            .count()
    });
    WorstRow {
        side,
        median_ns,
        worker_absent,
        p99_ns: at(990),
        p999_ns: at(999),
        worst_ns: samples[n - 1].wall_ns,
        over_3x_median: slow.count(),
        cpu_per_block_ns,
        causes,
        slowest: samples
            .iter()
            .rev()
            .take(SLOWEST_SHOWN)
            .map(|sample| (*sample, cause(sample)))
            .collect(),
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass { "PASS" } else { "FAIL" }
}

/// Targets met and checked.
#[derive(Default)]
struct Tally {
    met: usize,
    checked: usize,
}

impl Tally {
    fn record(&mut self, pass: Option<bool>) -> &'static str {
        let Some(pass) = pass else { return "-" };
        self.checked += 1;
        self.met += usize::from(pass);
        verdict(pass)
    }
}

fn report_path(
    path: Path,
    options: &Options,
    executor: &mut Executor,
    threads: usize,
    tally: &mut Tally,
) {
    println!();
    println!("== {}", path.title());
    let outputs_equal = check_outputs(path, executor, threads);
    println!(
        "outputs of the sides: {}",
        if outputs_equal {
            "bit-identical"
        } else {
            "DIFFER"
        }
    );
    tally.record(Some(outputs_equal));
    println!(
        "{:<18} {:<10} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>10} {:>10}  {:<20} result",
        "scenario",
        "policy",
        "steps",
        "tasks",
        "batch",
        "seq us",
        "engine us",
        "forced us",
        "seq/engine",
        "seq/forced",
        "target"
    );
    let mut heavy = None;
    for kind in Kind::ALL {
        let mut runner = Runner::new(path, kind, threads, options);
        let ([sequential, engine, forced], batch) =
            measure_speed(&mut runner, executor, options.rounds);
        let (parallel_chosen, steps, tasks) = runner.decision();
        let (target, pass) = match target_for(kind) {
            Target::SpeedUp(factor) => (
                format!("seq/engine >= {factor:.2}"),
                Some(sequential / engine >= factor),
            ),
            Target::NoSlowerThan(factor) => (
                format!("engine/seq <= {factor:.2}"),
                Some(engine / sequential <= factor),
            ),
            Target::None => ("(report only)".to_string(), None),
        };
        println!(
            "{:<18} {:<10} {:>5} {:>5} {:>5} {:>10.2} {:>10.2} {:>10.2} {:>9.2}x {:>9.2}x  {:<20} {}",
            kind.name(),
            if parallel_chosen {
                "parallel"
            } else {
                "sequential"
            },
            steps,
            tasks,
            batch,
            sequential / 1e3,
            engine / 1e3,
            forced / 1e3,
            sequential / engine,
            sequential / forced,
            target,
            tally.record(pass)
        );
        if let Some((paths, probes)) = runner.measured() {
            println!(
                "{:<18} engine's measured choice: executor faster in {} of {} block pairs (best blocks: executor {:.2} us, in order {:.2} us; {} probes) -> {}",
                "",
                paths.executor_wins,
                paths.pairs,
                paths.parallel_best_ns as f64 / 1e3,
                paths.sequential_best_ns as f64 / 1e3,
                probes,
                if paths.parallel_chosen {
                    "executor"
                } else {
                    "in order"
                }
            );
        }
        if kind == Kind::HeavyIntoMixer {
            heavy = Some(runner);
        }
    }

    let Some(mut runner) = heavy else { return };
    let (rows, workers_watched) = measure_worst(
        &mut runner,
        executor,
        options.worst_blocks,
        options.chunk,
        options.paced,
    );
    println!(
        "worst block, a_64_heavy: {} blocks per side, each timed, in alternating chunks of {}{}",
        options.worst_blocks,
        options.chunk,
        if options.paced {
            ", one block every 1.33 ms"
        } else {
            ", back to back"
        }
    );
    println!(
        "(busy loop: dependent multiply-adds on the measuring thread alone, no memory traffic, \
         sized to the engine's median block: the machine's floor for this check; busy x2 exec: \
         the same loop in two halves, two tasks on the executor joined by an empty step: the \
         floor of a block two threads share)"
    );
    println!(
        "{:<12} {:>10} {:>10} {:>10} {:>10} {:>12} {:>10} {:>11}  {:<20} result",
        "side",
        "median us",
        "p99 us",
        "p99.9 us",
        "worst us",
        "worst/median",
        ">3x median",
        "cpu us/blk",
        "target"
    );
    for row in &rows {
        let ratio = row.worst_ns as f64 / row.median_ns.max(1) as f64;
        let (target, pass) = match row.side {
            WorstSide::Engine => ("worst/median <= 3.00", Some(ratio <= 3.0)),
            WorstSide::Sequential => ("(reference)", None),
            WorstSide::BusyLoop => ("(machine floor)", None),
            WorstSide::SplitBusyLoop => ("(2-thread floor)", None),
        };
        println!(
            "{:<12} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>11.2}x {:>10} {:>11}  {:<20} {}",
            row.side.name(),
            row.median_ns as f64 / 1e3,
            row.p99_ns as f64 / 1e3,
            row.p999_ns as f64 / 1e3,
            row.worst_ns as f64 / 1e3,
            ratio,
            row.over_3x_median,
            row.cpu_per_block_ns
                .map_or("-".to_owned(), |ns| format!("{:.0}", ns / 1e3)),
            target,
            tally.record(pass)
        );
    }
    report_causes(&rows, workers_watched);
}

/// Where the slow blocks' time went: blocks over 3x the median by cause, and the slowest few.
fn report_causes(rows: &[WorstRow], workers_watched: usize) {
    if rows.iter().any(|row| row.causes.is_none()) {
        println!("blocks over 3x median by cause: thread clocks unavailable here");
        return;
    }
    println!(
        "blocks over 3x median by cause (the measuring thread's and {workers_watched} \
         workers' clocks read around each block; see benches/support/block_forensics.rs):"
    );
    print!("{:<12}", "side");
    for cause in Cause::ALL {
        print!(" {:>16}", cause.name());
    }
    println!("   all blocks with workers < half");
    for row in rows {
        print!("{:<12}", row.side.name());
        for count in row.causes.unwrap_or_default() {
            print!(" {count:>16}");
        }
        println!(
            "   {}",
            row.worker_absent
                .map_or("-".to_owned(), |count| count.to_string())
        );
    }
    println!(
        "slowest blocks: wall us / measuring thread's CPU us, its involuntary switches / \
         workers' CPU us -> cause"
    );
    for row in rows {
        let blocks: Vec<String> = row
            .slowest
            .iter()
            .map(|(sample, cause)| {
                format!(
                    "{:.0}/{:.0},{}/{:.0} -> {}",
                    sample.wall_ns as f64 / 1e3,
                    sample.audio_cpu_ns as f64 / 1e3,
                    sample.audio_involuntary,
                    sample.workers_cpu_ns as f64 / 1e3,
                    cause.map_or("?", Cause::name)
                )
            })
            .collect();
        println!("{:<12} {}", row.side.name(), blocks.join("   "));
    }
}

/// The rayon comparison (not real-time-safe; see `support/rayon_levels.rs`): each scenario's
/// parallel schedule run level by level with `par_iter_mut`, against sequential execution and
/// the engine's executor, interleaved rounds. The first block must equal sequential bit for bit.
fn report_rayon(options: &Options, executor: &mut Executor, threads: usize, tally: &mut Tally) {
    println!();
    println!(
        "== rayon comparison: one par_iter_mut fork-join per dependency level, {} pool threads \
         (blocks on a latch, may allocate: not real-time-safe)",
        rayon::current_num_threads()
    );
    println!(
        "{:<18} {:>6} {:>10} {:>10} {:>10} {:>11} {:>13}  outputs",
        "scenario", "levels", "seq us", "engine us", "rayon us", "seq/rayon", "rayon/engine"
    );
    for kind in Kind::ALL {
        let mut prepared = Prepared::new(kind, threads);
        let mut donor = Prepared::new(kind, threads);
        let mut rayon = RayonLevels::new(&donor.parallel, &mut donor.scenario.nodes, 48e3);
        let first_sequential = *prepared
            .run(executor, Side::Sequential)
            .expect("scenario tables match their schedules");
        let first_rayon = *rayon.run();
        let equal = first_sequential
            .iter()
            .zip(&first_rayon)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        tally.record(Some(equal));
        for _ in 0..WARM_UP_BLOCKS {
            black_box(rayon.run());
            black_box(
                prepared
                    .run(executor, Side::Engine)
                    .map(|block| block[0])
                    .ok(),
            );
        }
        let start = Instant::now();
        for _ in 0..16 {
            black_box(
                prepared
                    .run(executor, Side::Sequential)
                    .map(|block| block[0])
                    .ok(),
            );
        }
        let per_block = start.elapsed().as_nanos() as f64 / 16.0;
        let batch = (BATCH_TARGET_NS / per_block.max(1.0)).clamp(5.0, 5_000.0) as usize;
        let mut times: [Vec<f64>; 3] = std::array::from_fn(|_| Vec::with_capacity(options.rounds));
        for round in 0..options.rounds {
            for k in 0..3 {
                let index = (round + k) % 3;
                let start = Instant::now();
                for _ in 0..batch {
                    match index {
                        0 => black_box(prepared.run(executor, Side::Sequential).map(|b| b[0]).ok()),
                        1 => black_box(prepared.run(executor, Side::Engine).map(|b| b[0]).ok()),
                        _ => black_box(Some(rayon.run()[0])),
                    };
                }
                times[index].push(start.elapsed().as_nanos() as f64 / batch as f64);
            }
        }
        let [sequential, engine, rayon_ns] = times.each_mut().map(|t| median(t));
        println!(
            "{:<18} {:>6} {:>10.2} {:>10.2} {:>10.2} {:>10.2}x {:>12.2}x  {}",
            kind.name(),
            rayon.level_count(),
            sequential / 1e3,
            engine / 1e3,
            rayon_ns / 1e3,
            sequential / rayon_ns,
            rayon_ns / engine,
            if equal { "bit-identical" } else { "DIFFER" }
        );
    }
}

fn main() {
    let options = parse_options();
    let mut executor = Executor::new(ExecutorConfig {
        realtime_priority: options.realtime_priority,
        wake_ahead: options.wake_ahead,
        ..ExecutorConfig::default()
    })
    .expect("workers start");
    let threads = executor.worker_threads() + 1;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "parallel targets: {cores} cores, {threads} threads (workers + audio thread), \
         {} interleaved rounds per scenario; times are per 64-sample block",
        options.rounds
    );
    if let Some(lead) = options.wake_ahead {
        println!(
            "wake-ahead pacing: workers wake {} us before the predicted block",
            lead.as_micros()
        );
    }
    if let Some(priority) = options.realtime_priority {
        let main_thread = match promote_current_thread_to_realtime(priority) {
            Ok(()) => "yes".to_owned(),
            Err(error) => format!("no ({error})"),
        };
        let workers = match executor.realtime_error() {
            None => "yes".to_owned(),
            Some(error) => format!("no ({error})"),
        };
        println!(
            "SCHED_FIFO {priority}: measuring thread {main_thread}, direct-path workers {workers}"
        );
    }
    let mut tally = Tally::default();
    for &path in &options.paths {
        report_path(path, &options, &mut executor, threads, &mut tally);
    }
    if options.paths.contains(&Path::Direct) {
        report_rayon(&options, &mut executor, threads, &mut tally);
    }
    println!();
    println!(
        "checks passed: {} of {} (output equality and targets)",
        tally.met, tally.checked
    );
}
