//! Parallel execution is bit-identical to sequential execution, on random DAGs; the task graph
//! and the decision rule behave as documented; bad input gets a typed error, never a hang.

mod common;

use aether_graph::{Block, Compiler, DspNode, Inputs, MAX_INPUTS, TaskGrouping};
use aether_parallel::{
    DEFAULT_STEP_COST_NS, Executor, ExecutorConfig, NodeSlot, ParallelPolicy, RunError,
    run_parallel, run_sequential,
};
use aether_params::ParamBlock;
use common::{Dag, buffers, build, build_with_costs, chain, wide};
use proptest::prelude::*;
use std::time::Duration;

fn executor(workers: usize) -> Executor {
    Executor::new(ExecutorConfig {
        worker_threads: workers,
        max_tasks: 256,
        spin_iterations: 200,
        realtime_priority: None,
        wake_ahead: None,
    })
    .unwrap()
}

/// Output buffer contents over `blocks` blocks: sequential on the liveness schedule.
fn sequential_output(dag: &Dag, blocks: usize) -> Vec<Vec<u32>> {
    let (graph, mut nodes) = build(dag);
    let schedule = Compiler::new().compile(&graph);
    schedule.check().unwrap();
    let mut params = vec![ParamBlock::new(); nodes.len()];
    let mut pool = buffers(schedule.buffer_count());
    let out = schedule.output_buffer().unwrap() as usize;
    (0..blocks)
        .map(|_| {
            run_sequential(
                &schedule,
                &mut nodes,
                &mut params,
                &mut empty_slots(1 << 16),
                &mut pool,
                48_000.0,
            )
            .unwrap();
            pool[out].iter().map(|s| s.to_bits()).collect()
        })
        .collect()
}

fn parallel_output(dag: &Dag, blocks: usize, executor: &mut Executor) -> Vec<Vec<u32>> {
    parallel_output_grouped(dag, &[], TaskGrouping::default(), blocks, executor)
}

/// As [`parallel_output`], with cost hints `costs` on the graph's nodes and light tasks grouped
/// as `grouping` says.
fn parallel_output_grouped(
    dag: &Dag,
    costs: &[u64],
    grouping: TaskGrouping,
    blocks: usize,
    executor: &mut Executor,
) -> Vec<Vec<u32>> {
    let (graph, mut nodes) = build_with_costs(dag, costs);
    let schedule = Compiler::new().compile_parallel_with(&graph, grouping);
    schedule.check().unwrap();
    let mut params = vec![ParamBlock::new(); nodes.len()];
    let mut pool = buffers(schedule.buffer_count());
    let out = schedule.output_buffer().unwrap() as usize;
    (0..blocks)
        .map(|_| {
            run_parallel(
                executor,
                &schedule,
                &mut nodes,
                &mut params,
                &mut empty_slots(1 << 16),
                &mut pool,
                48_000.0,
            )
            .unwrap();
            pool[out].iter().map(|s| s.to_bits()).collect()
        })
        .collect()
}

fn dag(max_nodes: usize) -> impl Strategy<Value = Dag> {
    (1..=max_nodes)
        .prop_flat_map(|n| {
            let nodes = prop::collection::vec((any::<u32>(), -0.01f32..0.01), n);
            let edges = prop::collection::vec((0..n, 0..n, 0..MAX_INPUTS), 0..n * 3);
            (nodes, edges, 0..n)
        })
        .prop_map(|(nodes, raw_edges, output)| {
            let edges = raw_edges
                .into_iter()
                .filter(|(a, b, _)| a != b)
                .map(|(a, b, slot)| (a.min(b), a.max(b), slot))
                .collect();
            let output = output.max(nodes.len() - 1);
            Dag {
                nodes,
                edges,
                output,
            }
        })
}

/// Cost hints for up to `max_nodes` nodes: mostly light, some heavy, a few zero.
fn costs(max_nodes: usize) -> impl Strategy<Value = Vec<u64>> {
    let cost = prop_oneof![
        1 => Just(0u64),
        4 => 1u64..300,
        2 => 300u64..3_000,
        1 => 3_000u64..20_000,
    ];
    prop::collection::vec(cost, max_nodes)
}

/// Grouping settings: off, the default target, small and huge targets, 1 to 4 threads.
fn grouping() -> impl Strategy<Value = TaskGrouping> {
    let target = prop_oneof![
        Just(0u64),
        Just(aether_graph::DEFAULT_TASK_TARGET_NS),
        1u64..5_000,
        Just(u64::MAX),
    ];
    (target, 1usize..5).prop_map(|(target_ns, threads)| TaskGrouping { target_ns, threads })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn parallel_equals_sequential_bit_for_bit(
        dag in dag(40),
        workers in 0usize..3,
        costs in costs(40),
        grouping in grouping(),
    ) {
        let mut executor = executor(workers);
        let expected = sequential_output(&dag, 3);
        prop_assert_eq!(&expected, &parallel_output(&dag, 3, &mut executor));
        // Grouped by random cost hints (the sequential reference does not depend on them).
        prop_assert_eq!(
            &expected,
            &parallel_output_grouped(&dag, &costs, grouping, 3, &mut executor)
        );
    }

    #[test]
    fn parallel_schedule_is_sequential_schedule_with_own_buffers(dag in dag(40)) {
        let (graph, _) = build(&dag);
        let sequential = Compiler::new().compile(&graph);
        let parallel = Compiler::new().compile_parallel(&graph);
        prop_assert!(sequential.tasks().is_none());
        prop_assert_eq!(parallel.len(), sequential.len());
        prop_assert_eq!(parallel.buffer_count(), parallel.len());
        prop_assert_eq!(parallel.predecessor_counts(), sequential.predecessor_counts());
        for (a, b) in parallel.steps().iter().zip(sequential.steps()) {
            prop_assert_eq!(a.node, b.node);
        }
        prop_assert!(parallel.check().is_ok());
    }
}

#[test]
fn chains_fuse_into_one_task() {
    let (graph, _) = build(&chain(50));
    let schedule = Compiler::new().compile_parallel(&graph);
    let tasks = schedule.tasks().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks.steps(0).len(), 50);
    assert_eq!(tasks.predecessor_counts(), &[0]);
}

#[test]
fn diamond_gives_four_tasks() {
    let dag = Dag {
        nodes: vec![(1, 0.0); 4],
        edges: vec![(0, 1, 0), (0, 2, 0), (1, 3, 0), (2, 3, 1)],
        output: 3,
    };
    let (graph, _) = build(&dag);
    let schedule = Compiler::new().compile_parallel(&graph);
    let tasks = schedule.tasks().unwrap();
    assert_eq!(tasks.len(), 4);
    assert_eq!(tasks.predecessor_counts(), &[0, 1, 1, 2]);
    assert_eq!(tasks.successors(0).len(), 2);
    assert!(tasks.successors(3).is_empty());
}

#[test]
fn voices_fuse_per_voice() {
    // 4 voices of 3 chained nodes into one mixer: 4 voice tasks + 1 mixer task.
    let mut dag = Dag {
        nodes: vec![(2, 0.0); 13],
        edges: Vec::new(),
        output: 12,
    };
    for voice in 0..4 {
        dag.edges.push((voice * 3, voice * 3 + 1, 0));
        dag.edges.push((voice * 3 + 1, voice * 3 + 2, 0));
        dag.edges.push((voice * 3 + 2, 12, voice));
    }
    let (graph, _) = build(&dag);
    let tasks = Compiler::new()
        .compile_parallel_with(&graph, TaskGrouping::chains_only())
        .tasks()
        .unwrap()
        .clone();
    assert_eq!(tasks.len(), 5);
    assert!((0..4).all(|task| tasks.steps(task).len() == 3));
    // Grouped (the default): the four light voices (300 ns each, below the target) form one
    // group per thread, each group running whole voices.
    let grouped = Compiler::new().compile_parallel(&graph);
    grouped.check().unwrap();
    let tasks = grouped.tasks().unwrap();
    assert_eq!(tasks.len(), 3);
    assert!((0..2).all(|task| tasks.steps(task).len() == 6));
}

#[test]
fn policy_picks_parallel_only_where_it_pays() {
    let policy = ParallelPolicy::for_threads(2);
    let mut compiler = Compiler::new();

    // 64 heavy sources (2 µs each) into a mixer tree: parallel.
    let (graph, _) = build(&wide(64));
    let heavy = compiler.compile_parallel(&graph);
    let decision = policy.decide(heavy.tasks().unwrap(), |step| {
        if heavy.predecessor_counts()[step] == 0 {
            2_000
        } else {
            DEFAULT_STEP_COST_NS
        }
    });
    assert!(decision.parallel, "{decision:?}");

    // The same graph with light nodes: overhead exceeds the gain, sequential.
    let light = policy.decide(heavy.tasks().unwrap(), |_| DEFAULT_STEP_COST_NS);
    assert!(!light.parallel, "{light:?}");

    // 1000 light nodes (100 ns each) in a wide graph: one task per node, the per-task overhead
    // exceeds the gain: sequential.
    let (graph, _) = build(&wide(1000));
    let per_node = compiler.compile_parallel_with(&graph, TaskGrouping::chains_only());
    assert_eq!(per_node.tasks().unwrap().len(), per_node.len());
    assert!(
        !policy
            .decide(per_node.tasks().unwrap(), |_| DEFAULT_STEP_COST_NS)
            .parallel
    );
    // Grouped the way the policy asks, 133 µs of work in a few dozen tasks: parallel pays.
    let grouped = compiler.compile_parallel_with(&graph, policy.grouping());
    let tasks = grouped.tasks().unwrap();
    assert!(tasks.len() < 100, "{} tasks", tasks.len());
    let decision = policy.decide(tasks, |_| DEFAULT_STEP_COST_NS);
    assert!(decision.parallel, "{decision:?}");

    // A chain, however heavy: sequential (critical path = total).
    let (graph, _) = build(&chain(100));
    let chain_schedule = compiler.compile_parallel(&graph);
    let chain_decision = policy.decide(chain_schedule.tasks().unwrap(), |_| 10_000);
    assert!(!chain_decision.parallel);
    assert_eq!(
        chain_decision.critical_path_ns,
        chain_decision.sequential_ns
    );

    // One thread: never parallel.
    assert!(
        !ParallelPolicy::for_threads(1)
            .decide(heavy.tasks().unwrap(), |_| 10_000)
            .parallel
    );
}

#[test]
fn bad_input_gets_typed_errors() {
    let mut executor = Executor::new(ExecutorConfig {
        worker_threads: 1,
        max_tasks: 4,
        spin_iterations: 10,
        realtime_priority: None,
        wake_ahead: None,
    })
    .unwrap();
    let (graph, mut nodes) = build(&wide(16));
    let mut params = vec![ParamBlock::new(); nodes.len()];
    let mut compiler = Compiler::new();

    let sequential = compiler.compile(&graph);
    let mut pool = buffers(sequential.buffer_count());
    assert_eq!(
        run_parallel(
            &mut executor,
            &sequential,
            &mut nodes,
            &mut params,
            &mut empty_slots(1 << 16),
            &mut pool,
            48e3
        ),
        Err(RunError::NotParallel)
    );

    let parallel = compiler.compile_parallel(&graph);
    let mut pool = buffers(parallel.buffer_count());
    let error = run_parallel(
        &mut executor,
        &parallel,
        &mut nodes,
        &mut params,
        &mut empty_slots(1 << 16),
        &mut pool,
        48e3,
    );
    assert!(matches!(
        error,
        Err(RunError::TooManyTasks { max_tasks: 4, .. })
    ));
    assert!(error.unwrap_err().to_string().contains("at most 4"));

    let mut big = Executor::new(ExecutorConfig {
        worker_threads: 1,
        max_tasks: 64,
        spin_iterations: 10,
        realtime_priority: None,
        wake_ahead: None,
    })
    .unwrap();
    let mut small_pool = buffers(parallel.buffer_count() - 1);
    assert_eq!(
        run_parallel(
            &mut big,
            &parallel,
            &mut nodes,
            &mut params,
            &mut empty_slots(1 << 16),
            &mut small_pool,
            48e3
        ),
        Err(RunError::TablesTooSmall)
    );
    assert_eq!(
        run_parallel(
            &mut big,
            &parallel,
            &mut nodes[..1],
            &mut params,
            &mut empty_slots(1 << 16),
            &mut pool,
            48e3
        ),
        Err(RunError::TablesTooSmall)
    );
    assert_eq!(
        run_parallel(
            &mut big,
            &parallel,
            &mut nodes,
            &mut params,
            &mut empty_slots(1 << 16),
            &mut pool,
            48e3
        ),
        Ok(())
    );
}

/// An empty quarantine table of `count` slots.
fn empty_slots(count: usize) -> Vec<aether_graph::Quarantined> {
    (0..count).map(|_| Default::default()).collect()
}

struct Panics;
impl DspNode for Panics {
    fn process(&mut self, _: &Inputs<'_>, _: &mut Block, _: &mut ParamBlock, _: f32) {
        panic!("node failure under test");
    }
    fn type_name(&self) -> &'static str {
        "Panics"
    }
}

#[test]
fn a_panicking_node_is_contained_and_reported() {
    let (graph, mut nodes) = build(&wide(8));
    let schedule = Compiler::new().compile_parallel(&graph);
    nodes[0] = Some(Box::new(Panics));
    nodes[5] = Some(Box::new(Panics));
    let mut params = vec![ParamBlock::new(); nodes.len()];
    let mut pool = buffers(schedule.buffer_count());
    let mut executor = executor(2);
    let mut quarantine = empty_slots(nodes.len());
    assert_eq!(
        run_parallel(
            &mut executor,
            &schedule,
            &mut nodes,
            &mut params,
            &mut quarantine,
            &mut pool,
            48e3
        ),
        Err(RunError::StepPanicked { count: 2 })
    );
    // Both are quarantined: the next blocks run clean, with silence in their place.
    assert!(quarantine[0].node.is_some() && quarantine[5].node.is_some());
    assert!(quarantine[0].payload.is_some() && quarantine[5].payload.is_some());
    assert!(nodes[0].is_none() && nodes[5].is_none());
    assert_eq!(
        quarantine.iter().filter(|slot| slot.node.is_some()).count(),
        2
    );
    for _ in 0..2 {
        assert_eq!(
            run_parallel(
                &mut executor,
                &schedule,
                &mut nodes,
                &mut params,
                &mut quarantine,
                &mut pool,
                48e3
            ),
            Ok(())
        );
    }
    // The executor keeps working afterwards.
    let mut fresh: Vec<NodeSlot> = build(&wide(8)).1;
    assert_eq!(
        run_parallel(
            &mut executor,
            &schedule,
            &mut fresh,
            &mut params,
            &mut empty_slots(1 << 16),
            &mut pool,
            48e3
        ),
        Ok(())
    );
}

#[test]
fn a_panicking_step_does_not_stop_the_other_steps_of_its_task() {
    // 8 light sources are grouped; node 0 panics, the other steps of its group still run.
    let dag = wide(8);
    let (graph, mut nodes) = build(&dag);
    let schedule = Compiler::new().compile_parallel(&graph);
    let tasks = schedule.tasks().unwrap();
    let step_of = |slot: usize| {
        schedule
            .steps()
            .iter()
            .position(|step| step.node.index() as usize == slot)
            .unwrap() as u32
    };
    let group = (0..tasks.len())
        .find(|&task| tasks.steps(task).contains(&step_of(0)))
        .unwrap();
    let companions: Vec<u32> = tasks
        .steps(group)
        .iter()
        .copied()
        .filter(|&step| step != step_of(0))
        .collect();
    assert!(!companions.is_empty(), "node 0 shares its task");
    // Expected outputs of the companions: the same schedule run in order without the panic.
    let mut params = vec![ParamBlock::new(); nodes.len()];
    let mut expected = buffers(schedule.buffer_count());
    run_sequential(
        &schedule,
        &mut build(&dag).1,
        &mut params,
        &mut empty_slots(1 << 16),
        &mut expected,
        48e3,
    )
    .unwrap();

    nodes[0] = Some(Box::new(Panics));
    let mut params = vec![ParamBlock::new(); nodes.len()];
    let mut pool = buffers(schedule.buffer_count());
    assert_eq!(
        run_parallel(
            &mut executor(1),
            &schedule,
            &mut nodes,
            &mut params,
            &mut empty_slots(1 << 16),
            &mut pool,
            48e3
        ),
        Err(RunError::StepPanicked { count: 1 })
    );
    for step in companions {
        let buffer = schedule.steps()[step as usize].output as usize;
        assert_eq!(pool[buffer], expected[buffer], "step {step} did not run");
    }
}

#[test]
fn workers_park_and_wake_across_blocks() {
    // A spin of 1 poll makes workers park between blocks; every block must still complete.
    let mut executor = Executor::new(ExecutorConfig {
        worker_threads: 2,
        max_tasks: 64,
        spin_iterations: 1,
        realtime_priority: None,
        wake_ahead: None,
    })
    .unwrap();
    let dag = wide(32);
    let expected = sequential_output(&dag, 50);
    assert_eq!(parallel_output(&dag, 50, &mut executor), expected);
    std::thread::sleep(std::time::Duration::from_millis(5));
    assert_eq!(
        parallel_output(&dag, 2, &mut executor),
        expected[..2].to_vec()
    );
    drop(executor); // joins parked workers
}

#[test]
fn wake_ahead_paced_blocks_match_sequential() {
    // Blocks with pauses between them, as from an audio callback, with wake-ahead pacing: the
    // workers sleep with timeouts, wake before the predicted block, spin, or park without
    // timeout when a block is late. Outputs must be bit-identical to sequential whatever the
    // timing (nothing here depends on it).
    let dags = [wide(32), chain(6), {
        let mut diamonds = wide(12);
        diamonds.edges.push((0, 5, 1));
        diamonds.edges.push((2, 7, 2));
        diamonds
    }];
    // Mostly a steady 1 ms period, with back-to-back blocks, a late block and a long pause.
    let pause_us = |block: usize| match block % 50 {
        17 => 0,
        31 => 3_000,
        49 => 12_000,
        _ => 1_000,
    };
    for lead in [
        Duration::from_micros(200),
        Duration::from_millis(5), // longer than the period: workers never sleep in between
        Duration::MAX,            // clamped
    ] {
        for dag in &dags {
            let blocks = 120;
            let expected = sequential_output(dag, blocks);
            let mut executor = Executor::new(ExecutorConfig {
                worker_threads: 2,
                max_tasks: 64,
                spin_iterations: 1,
                realtime_priority: None,
                wake_ahead: Some(lead),
            })
            .unwrap();
            let (graph, mut nodes) = build(dag);
            let schedule = Compiler::new().compile_parallel(&graph);
            let mut params = vec![ParamBlock::new(); nodes.len()];
            let mut pool = buffers(schedule.buffer_count());
            let out = schedule.output_buffer().unwrap() as usize;
            for (block, expected) in expected.iter().enumerate() {
                std::thread::sleep(Duration::from_micros(pause_us(block)));
                run_parallel(
                    &mut executor,
                    &schedule,
                    &mut nodes,
                    &mut params,
                    &mut empty_slots(1 << 16),
                    &mut pool,
                    48_000.0,
                )
                .unwrap();
                let got: Vec<u32> = pool[out].iter().map(|s| s.to_bits()).collect();
                assert_eq!(&got, expected, "block {block}, lead {lead:?}");
            }
            drop(executor); // joins workers, whether parked, sleeping with a timeout or spinning
        }
    }
}
