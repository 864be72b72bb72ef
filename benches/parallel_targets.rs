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
//! outputs must be bit-identical. Each side renders the same warm-up blocks; then in every round each side
//! renders a batch of consecutive blocks (batch sized to about 1 ms of sequential work), the
//! starting side rotating between rounds; a side's figure is the median over rounds of its mean
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
//! `--wake-ahead MICROSECONDS` turns on the executors' wake-ahead pacing (workers wake
//! themselves that long before the predicted next block instead of being woken by it).
//! Between paced blocks the measuring thread sleeps. `--realtime PRIORITY` runs the measuring
//! thread and every executor worker at `SCHED_FIFO` `PRIORITY`, as a host runs its audio thread
//! (needs the privilege; use it with `--paced`: real-time threads rendering back to back would
//! run into the kernel's real-time throttling).

use std::hint::black_box;
use std::time::Instant;

use aether_parallel::{Executor, ExecutorConfig, promote_current_thread_to_realtime};

#[path = "support/rayon_levels.rs"]
mod rayon_levels;
#[path = "support/parallel_scenarios.rs"]
mod scenarios;

use rayon_levels::RayonLevels;

use scenarios::{Kind, Prepared, SchedulerSides, Side};

/// Sequential work per timed batch, in nanoseconds.
const BATCH_TARGET_NS: f64 = 1e6;
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
            let start = Instant::now();
            for _ in 0..batch {
                black_box(runner.run(executor, side));
            }
            times[index].push(start.elapsed().as_nanos() as f64 / batch as f64);
        }
    }
    (times.each_mut().map(|t| median(t)), batch)
}

struct WorstRow {
    side: Side,
    median_ns: u64,
    p99_ns: u64,
    p999_ns: u64,
    worst_ns: u64,
    over_3x_median: usize,
    /// CPU time of the whole process (every thread) per block while this side ran, in
    /// nanoseconds; `None` where `/proc/self/stat` cannot be read.
    cpu_per_block_ns: Option<f64>,
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

/// Real time of one 64-sample block at 48 kHz, in nanoseconds.
const BLOCK_PERIOD_NS: u128 = 1_333_333;

/// Times every one of `blocks` blocks per side, alternating chunks of `chunk` blocks. `paced`:
/// each block starts one block period (1.33 ms) after the previous one, as in an audio callback,
/// so idle workers park between blocks and every parallel block pays their wake-up.
fn measure_worst(
    runner: &mut Runner,
    executor: &mut Executor,
    blocks: usize,
    chunk: usize,
    paced: bool,
) -> [WorstRow; 2] {
    let sides = [Side::Sequential, Side::Engine];
    let mut times: [Vec<u64>; 2] = std::array::from_fn(|_| Vec::with_capacity(blocks));
    for side in sides {
        for _ in 0..WARM_UP_BLOCKS {
            black_box(runner.run(executor, side));
        }
    }
    let mut cpu_ns = [Some(0u64); 2];
    while times[1].len() < blocks {
        for (index, side) in sides.into_iter().enumerate() {
            let count = chunk.min(blocks - times[index].len());
            let cpu_before = process_cpu_ns();
            for _ in 0..count {
                let start = Instant::now();
                black_box(runner.run(executor, side));
                let elapsed = start.elapsed().as_nanos();
                times[index].push(elapsed as u64);
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
    times.map(|mut t| {
        t.sort_unstable();
        let n = t.len();
        let median = t[n / 2];
        let row = WorstRow {
            side: sides[index],
            median_ns: median,
            p99_ns: t[(n * 99 / 100).min(n - 1)],
            p999_ns: t[(n * 999 / 1000).min(n - 1)],
            worst_ns: t[n - 1],
            over_3x_median: t.iter().filter(|&&x| x > 3 * median).count(),
            cpu_per_block_ns: cpu_ns[index].map(|total| total as f64 / n as f64),
        };
        index += 1;
        row
    })
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
    let rows = measure_worst(
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
    for row in rows {
        let ratio = row.worst_ns as f64 / row.median_ns.max(1) as f64;
        let (target, pass) = if row.side == Side::Engine {
            ("worst/median <= 3.00", Some(ratio <= 3.0))
        } else {
            ("(reference)", None)
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
