//! The audio thread's side of a parallel block never allocates or frees, including blocks where
//! the workers parked and must be woken. Only the calling (audio) thread is checked: the
//! forbidding allocator's guard is thread-local.

mod common;

use aether_graph::Compiler;
use aether_parallel::{Executor, ExecutorConfig, run_parallel, run_sequential};
use aether_params::ParamBlock;
use common::{buffers, build, chain, wide};

#[global_allocator]
static A: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

fn violations_during(f: impl FnOnce()) -> u32 {
    let before = assert_no_alloc::violation_count();
    assert_no_alloc::assert_no_alloc(f);
    assert_no_alloc::violation_count() - before
}

/// All checks in one test: the violation counter is global.
#[test]
fn parallel_blocks_do_not_allocate_on_the_audio_thread() {
    // The harness detects an allocation.
    assert!(violations_during(|| drop(Vec::<u8>::with_capacity(16))) > 0);

    let lead = Some(std::time::Duration::from_micros(200));
    for (dag, spin, wake_ahead) in [
        (wide(64), 10_000, None),
        (wide(64), 1, None),
        (chain(20), 1_000, None),
        // Wake-ahead pacing: the audio thread reads the clock and updates the period estimate.
        (wide(64), 1, lead),
    ] {
        let (graph, mut nodes) = build(&dag);
        let schedule = Compiler::new().compile_parallel(&graph);
        let mut params = vec![ParamBlock::new(); nodes.len()];
        let mut silenced: Vec<aether_graph::Quarantined> =
            (0..nodes.len()).map(|_| Default::default()).collect();
        let mut pool = buffers(schedule.buffer_count());
        let mut executor = Executor::new(ExecutorConfig {
            worker_threads: 2,
            max_tasks: 128,
            spin_iterations: spin,
            realtime_priority: None,
            wake_ahead,
        })
        .unwrap();
        // Warm-up block outside the check (thread-locals, lazy statics).
        run_parallel(
            &mut executor,
            &schedule,
            &mut nodes,
            &mut params,
            &mut silenced,
            &mut pool,
            48e3,
        )
        .unwrap();
        for _ in 0..3 {
            // Give workers time to park when the spin is short: the block must wake them.
            std::thread::sleep(std::time::Duration::from_millis(2));
            let count = violations_during(|| {
                for _ in 0..20 {
                    run_parallel(
                        &mut executor,
                        &schedule,
                        &mut nodes,
                        &mut params,
                        &mut silenced,
                        &mut pool,
                        48e3,
                    )
                    .unwrap();
                }
            });
            assert_eq!(count, 0, "parallel blocks allocated (spin {spin})");
        }
        if wake_ahead.is_some() {
            // Paced blocks (a pause before each, outside the check), so the period estimate
            // forms and workers sleep with timeouts, wake ahead and spin.
            for block in 0..30 {
                std::thread::sleep(std::time::Duration::from_millis(1));
                let count = violations_during(|| {
                    run_parallel(
                        &mut executor,
                        &schedule,
                        &mut nodes,
                        &mut params,
                        &mut silenced,
                        &mut pool,
                        48e3,
                    )
                    .unwrap();
                });
                assert_eq!(count, 0, "paced parallel block {block} allocated");
            }
        }
        let count = violations_during(|| {
            run_sequential(
                &schedule,
                &mut nodes,
                &mut params,
                &mut silenced,
                &mut pool,
                48e3,
            )
            .unwrap();
        });
        assert_eq!(count, 0, "sequential block allocated");
    }
}
