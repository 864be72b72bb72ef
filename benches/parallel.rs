//! Criterion view of parallel against sequential execution of the same graphs: (a) 64 heavy
//! independent nodes into a mixer tree, (b) 1000 light nodes in a wide graph, (c) a chain,
//! (d) 16 synth voices (see `support/parallel_scenarios.rs`). "engine" runs what the
//! control-side `ParallelPolicy` picks; "forced_parallel" always runs the task graph on the
//! executor; the `scheduler_*` rows run the same graphs through `Scheduler::process_block` with
//! feature `parallel`; "rayon_levels" is the rayon comparison point (one fork-join per
//! dependency level, not real-time-safe: `support/rayon_levels.rs`). The target table (speed-ups within one run, sides interleaved, worst block against
//! the median) is the `parallel_targets` benchmark.
//!
//! Run: `cargo bench -p aether-benches --bench parallel -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use aether_parallel::{Executor, ExecutorConfig};
use criterion::{Criterion, criterion_main};

#[path = "support/rayon_levels.rs"]
mod rayon_levels;
#[path = "support/parallel_scenarios.rs"]
mod scenarios;

use rayon_levels::RayonLevels;

use scenarios::{Kind, Prepared, SchedulerSides, Side};

fn bench(c: &mut Criterion) {
    let mut executor = Executor::new(ExecutorConfig::default()).expect("workers start");
    let threads = executor.worker_threads() + 1;
    println!("threads: {threads} (workers + audio thread)");
    for kind in Kind::ALL {
        let mut prepared = Prepared::new(kind, threads);
        let (steps, tasks) = prepared.shape();
        println!(
            "{}: {steps} steps, {tasks} tasks, decision {:?}",
            kind.name(),
            prepared.decision
        );
        let mut group = c.benchmark_group(kind.name());
        for side in Side::ALL {
            group.bench_function(side.name(), |b| {
                b.iter(|| {
                    black_box(
                        prepared
                            .run(&mut executor, side)
                            .expect("scenario tables match their schedules")[0],
                    )
                })
            });
        }
        // The comparison point: rayon, one fork-join per level (not real-time-safe).
        let mut donor = Prepared::new(kind, threads);
        let mut rayon = RayonLevels::new(&donor.parallel, &mut donor.scenario.nodes, 48e3);
        group.bench_function("rayon_levels", |b| b.iter(|| black_box(rayon.run()[0])));
        // The same graph through the whole engine (`Scheduler::process_block`, feature
        // `parallel`), one scheduler per side.
        let mut engine = SchedulerSides::new(kind);
        for side in Side::ALL {
            group.bench_function(format!("scheduler_{}", side.name()), |b| {
                b.iter(|| black_box(engine.run(side)[0]))
            });
        }
        group.finish();
    }
}

fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
}

criterion_main!(benches);
