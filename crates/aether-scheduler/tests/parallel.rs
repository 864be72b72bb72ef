//! The engine's parallel path (feature `parallel`): random DAGs forced onto the executor give
//! the same samples, bit for bit, as the sequential engine and the naive reference, across
//! structural edits that swap schedules; and the control-side policy picks parallel only where
//! its estimates say it pays.
#![cfg(feature = "parallel")]

mod common;

use aether_graph::{Block, DspNode, Inputs, MAX_INPUTS, NodeId};
use aether_parallel::ParallelPolicy;
use aether_params::ParamBlock;
use aether_scheduler::{
    CommitReport, Controller, EngineConfig, ParallelConfig, ScheduleDecision, Scheduler, engine,
};
use common::{Dag, build, build_with_costs, dag, make_node, reference_blocks};
use proptest::prelude::*;

/// A short worker spin: the test machine is shared.
const TEST_SPIN: u32 = 1_000;

fn config(parallel: ParallelConfig) -> EngineConfig {
    EngineConfig {
        node_capacity: 2_048,
        parallel: ParallelConfig {
            spin_iterations: TEST_SPIN,
            ..parallel
        },
        ..EngineConfig::default()
    }
}

fn forced() -> EngineConfig {
    config(ParallelConfig::always_parallel(2))
}

fn sequential() -> EngineConfig {
    config(ParallelConfig::disabled())
}

/// `forced()` grouping light tasks up to `task_target_ns` (0: no grouping).
fn forced_with_target(task_target_ns: u64) -> EngineConfig {
    let mut config = forced();
    config.parallel.policy = ParallelPolicy {
        task_target_ns,
        ..config.parallel.policy
    };
    config
}

/// Renders `blocks` blocks of `dag` on an engine built with `config`; after `edit_after` blocks
/// (if any) node 0 is removed and a new node is inserted in front of the output, forcing a new
/// schedule mid-stream. Returns the samples and how many blocks ran in parallel.
fn render(
    config: EngineConfig,
    dag: &Dag,
    blocks: usize,
    edit_after: Option<usize>,
) -> (Vec<u32>, u64) {
    render_with_costs(config, dag, &[], blocks, edit_after)
}

/// As [`render`], node `i` declaring the cost hint `costs[i]`.
fn render_with_costs(
    config: EngineConfig,
    dag: &Dag,
    costs: &[u64],
    blocks: usize,
    edit_after: Option<usize>,
) -> (Vec<u32>, u64) {
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    let ids = build_with_costs(control.graph_mut(), dag, costs);
    control.commit().unwrap();
    let mut samples = Vec::new();
    for block in 0..blocks {
        if edit_after == Some(block) {
            edit(&mut control, dag, &ids);
        }
        samples.extend(audio.process_block().iter().map(|s| s.to_bits()));
    }
    drop(audio);
    control.collect_garbage();
    (samples, control.stats().parallel_blocks)
}

fn edit(control: &mut Controller, dag: &Dag, ids: &[NodeId]) {
    let graph = control.graph_mut();
    if dag.output != 0 {
        graph.remove_node(ids[0]).unwrap();
    }
    let extra = graph
        .add_node(Box::new(make_node(0xdead_beef, 0.002)))
        .unwrap();
    graph.connect(ids[dag.output], extra, 3).unwrap();
    graph.set_output_node(extra).unwrap();
    control.commit().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn forced_parallel_engine_equals_sequential_engine(
        dag in dag(120),
        blocks in 1usize..5,
        edit_after in proptest::option::of(0usize..4),
        costs in prop::collection::vec(
            prop_oneof![4 => 0u64..300, 2 => 300u64..3_000, 1 => 3_000u64..20_000],
            120,
        ),
        task_target_ns in prop_oneof![
            Just(0u64),
            Just(aether_graph::DEFAULT_TASK_TARGET_NS),
            1u64..10_000,
        ],
    ) {
        // Tasks grouped by random cost hints and targets (hints never change the output).
        let (parallel, parallel_blocks) =
            render_with_costs(forced_with_target(task_target_ns), &dag, &costs, blocks, edit_after);
        let (sequential, sequential_parallel_blocks) = render(sequential(), &dag, blocks, edit_after);
        prop_assert_eq!(parallel.len(), sequential.len());
        for (i, (a, b)) in parallel.iter().zip(&sequential).enumerate() {
            prop_assert_eq!(a, b, "sample {} differs", i);
        }
        // Every block ran on the executor (the graph always has an output), none without workers.
        prop_assert_eq!(parallel_blocks, blocks as u64);
        prop_assert_eq!(sequential_parallel_blocks, 0);
        if edit_after.is_none() {
            let reference: Vec<u32> =
                reference_blocks(&dag, blocks, None).iter().map(|s| s.to_bits()).collect();
            prop_assert_eq!(parallel, reference);
        }
    }

    #[test]
    fn measured_choice_switching_paths_equals_sequential_engine(
        dag in dag(80),
        blocks in 4usize..40,
        edit_after in proptest::option::of(0usize..30),
        probe_blocks in 1u16..4,
        hold_blocks in 1u32..6,
    ) {
        // The policy forces parallel; the measured choice then switches every few blocks
        // between the executor and the in-order run of the same schedule, whatever it measures.
        let mut config = forced();
        config.parallel.measured_choice = Some(aether_scheduler::MeasuredChoice {
            probe_blocks,
            hold_blocks,
            min_gain_percent: 5,
        });
        let (mut control, mut audio) = engine(48_000.0, config).unwrap();
        let ids = build(control.graph_mut(), &dag);
        control.commit().unwrap();
        let mut measured = Vec::new();
        for block in 0..blocks {
            if edit_after == Some(block) {
                edit(&mut control, &dag, &ids);
            }
            measured.extend(audio.process_block().iter().map(|s| s.to_bits()));
        }
        drop(audio);
        control.collect_garbage();
        let stats = control.stats();
        let (sequential, _) = render(sequential(), &dag, blocks, edit_after);
        prop_assert_eq!(measured.len(), sequential.len());
        for (i, (a, b)) in measured.iter().zip(&sequential).enumerate() {
            prop_assert_eq!(a, b, "sample {} differs", i);
        }
        // A probe alternates the paths, starting on the executor.
        prop_assert!(stats.parallel_blocks >= 1);
        if blocks > 2 * usize::from(probe_blocks) && edit_after.is_none() {
            prop_assert!(stats.probes >= 1);
            prop_assert!(stats.measured_paths.is_some());
            prop_assert!(stats.parallel_blocks < blocks as u64, "the probe ran blocks in order");
        }
    }

    #[test]
    fn single_threaded_scheduler_runs_parallel_with_the_same_config(dag in dag(60), blocks in 1usize..4) {
        let mut scheduler = Scheduler::with_config(48_000.0, forced());
        build(&mut scheduler.graph, &dag);
        let mut ours = Vec::new();
        for _ in 0..blocks {
            ours.extend(scheduler.process_block().iter().map(|s| s.to_bits()));
        }
        let reference: Vec<u32> =
            reference_blocks(&dag, blocks, None).iter().map(|s| s.to_bits()).collect();
        prop_assert_eq!(ours, reference);
        prop_assert_eq!(scheduler.stats().parallel_blocks, blocks as u64);
    }
}

/// A source or mixer with a declared cost: writes a constant plus the sum of its inputs.
struct Costed {
    level: f32,
    cost_ns: u64,
}

impl DspNode for Costed {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(self.level);
        for input in inputs.iter().flatten() {
            for (o, i) in output.iter_mut().zip(input.iter()) {
                *o += i;
            }
        }
    }
    fn type_name(&self) -> &'static str {
        "Costed"
    }
    fn cost_hint(&self) -> u64 {
        self.cost_ns
    }
}

fn costed(cost_ns: u64) -> Box<dyn DspNode> {
    Box::new(Costed {
        level: 1.0 / 1024.0,
        cost_ns,
    })
}

/// Sums `sources` through a tree of default-cost mixers (8 inputs each); returns the root.
fn mixer_tree(control: &mut Controller, mut sources: Vec<NodeId>) -> NodeId {
    let graph = control.graph_mut();
    while sources.len() > 1 {
        sources = sources
            .chunks(MAX_INPUTS)
            .map(|group| {
                let mixer = graph
                    .add_node(costed(aether_graph::DEFAULT_COST_HINT_NS))
                    .unwrap();
                for (slot, &source) in group.iter().enumerate() {
                    graph.connect(source, mixer, slot).unwrap();
                }
                mixer
            })
            .collect();
    }
    sources[0]
}

/// An engine with one worker (two threads: the rule is the same on any machine) and the
/// default rule.
fn one_worker_engine() -> (Controller, aether_scheduler::AudioProcessor) {
    engine(48_000.0, config(ParallelConfig::with_workers(1))).unwrap()
}

fn independent_sources(control: &mut Controller, count: usize, cost_ns: u64) -> NodeId {
    let sources = (0..count)
        .map(|_| control.graph_mut().add_node(costed(cost_ns)).unwrap())
        .collect();
    let root = mixer_tree(control, sources);
    control.graph_mut().set_output_node(root).unwrap();
    root
}

fn decision(report: CommitReport) -> ScheduleDecision {
    assert!(report.schedule_sent);
    report
        .decision
        .expect("an engine with workers reports its decision")
}

#[test]
fn a_chain_runs_sequentially_whatever_its_cost() {
    let (mut control, mut audio) = one_worker_engine();
    let mut previous = None;
    for _ in 0..64 {
        let node = control.graph_mut().add_node(costed(2_000)).unwrap();
        if let Some(previous) = previous {
            control.graph_mut().connect(previous, node, 0).unwrap();
        }
        previous = Some(node);
    }
    control
        .graph_mut()
        .set_output_node(previous.unwrap())
        .unwrap();
    let decision = decision(control.commit().unwrap());
    assert!(!decision.parallel, "{decision:?}");
    assert_eq!(decision.tasks, 1, "a chain fuses into one task");
    assert_eq!(decision.sequential_ns, 64 * 2_000);
    assert_eq!(decision.critical_path_ns, decision.sequential_ns);
    audio.process_block();
    assert_eq!(control.stats().parallel_blocks, 0);
}

#[test]
fn sixty_four_heavy_independent_nodes_run_in_parallel() {
    let (mut control, mut audio) = one_worker_engine();
    independent_sources(&mut control, 64, 2_000);
    let report = control.commit().unwrap();
    assert!(report.runs_parallel());
    let decision = decision(report);
    // 64 sources + 8 mixers + 1 root = 73 steps, none fused (every mixer has 8 inputs). The
    // sources (at the 2 µs target) stay one task each; the 8 light mixers (0.8 µs) form one
    // group per thread.
    assert_eq!((decision.steps, decision.tasks), (73, 64 + 2 + 1));
    assert_eq!(decision.sequential_ns, 64 * 2_000 + 9 * 100);
    assert_eq!(decision.critical_path_ns, 2_000 + 4 * 100 + 100);
    // max(critical, total / 2 threads) + 67 tasks * 300 ns + 5 µs.
    assert_eq!(
        decision.estimated_parallel_ns,
        (64 * 2_000 + 9 * 100) / 2 + 67 * 300 + 5_000
    );
    assert_eq!(control.last_schedule_decision(), Some(decision));
    let out = *audio.process_block();
    assert!(out.iter().all(|&s| s == 73.0 / 1024.0), "{}", out[0]);
    assert_eq!(control.stats().parallel_blocks, 1);
}

#[test]
fn a_thousand_light_independent_nodes_stay_sequential_one_task_each() {
    // Grouping off: one task per node.
    let mut config = config(ParallelConfig::with_workers(1));
    config.parallel.policy.task_target_ns = 0;
    assert!(config.node_capacity >= 1_200);
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    independent_sources(&mut control, 1_000, aether_graph::DEFAULT_COST_HINT_NS);
    let decision = decision(control.commit().unwrap());
    // 1000 sources + 125 + 16 + 2 + 1 mixers: 1144 steps of 100 ns = 114.4 µs sequential, but
    // 1144 tasks * 300 ns of scheduling alone exceed it: the per-task overhead rules it out.
    assert_eq!((decision.steps, decision.tasks), (1_144, 1_144));
    assert_eq!(decision.sequential_ns, 114_400);
    assert_eq!(
        decision.estimated_parallel_ns,
        114_400 / 2 + 1_144 * 300 + 5_000
    );
    assert!(!decision.parallel, "{decision:?}");
    audio.process_block();
    assert_eq!(control.stats().parallel_blocks, 0);
}

#[test]
fn a_thousand_light_independent_nodes_are_grouped_and_run_in_parallel() {
    let (mut control, mut audio) = one_worker_engine();
    independent_sources(&mut control, 1_000, aether_graph::DEFAULT_COST_HINT_NS);
    let decision = decision(control.commit().unwrap());
    // The default rule groups: 50 groups of 20 sources (2 µs each), 6 groups of mixers, then
    // the three small levels keep one task per thread: 2 + 2 + 1.
    assert_eq!(
        (decision.steps, decision.tasks),
        (1_144, 50 + 6 + 2 + 2 + 1)
    );
    assert_eq!(decision.sequential_ns, 114_400);
    assert_eq!(
        decision.estimated_parallel_ns,
        114_400 / 2 + 61 * 300 + 5_000
    );
    assert!(decision.parallel, "{decision:?}");
    // 1 144 new nodes are more than one block installs: the old (empty) graph plays until the
    // whole commit has arrived.
    let mut blocks = 0;
    while control.commands_in_flight() > 0 {
        assert!(
            audio
                .process_block()
                .iter()
                .all(|&s| s == 0.0 || s == 1_144.0 / 1024.0)
        );
        control.collect_garbage();
        blocks += 1;
    }
    assert!(
        (2..=4).contains(&blocks),
        "{blocks} blocks to install 1 144 nodes"
    );
    let out = *audio.process_block();
    assert!(out.iter().all(|&s| s == 1_144.0 / 1024.0), "{}", out[0]);
    // The first blocks of the new schedule probe the executor against one thread.
    assert!(control.stats().parallel_blocks >= 1);
}

#[test]
fn light_work_stays_below_the_minimum() {
    let (mut control, _audio) = one_worker_engine();
    independent_sources(&mut control, 16, 1_000);
    let decision = decision(control.commit().unwrap());
    assert_eq!(decision.sequential_ns, 16 * 1_000 + 3 * 100);
    assert!(!decision.parallel, "below the 20 µs minimum: {decision:?}");
}

#[test]
fn without_workers_nothing_is_decided() {
    let (mut control, mut audio) = engine(48_000.0, sequential()).unwrap();
    independent_sources(&mut control, 64, 2_000);
    let report = control.commit().unwrap();
    assert!(report.schedule_sent);
    assert_eq!(report.decision, None);
    assert!(!report.runs_parallel());
    audio.process_block();
    assert_eq!(control.stats().parallel_blocks, 0);
}

#[test]
fn a_graph_grown_past_the_executor_runs_sequentially() {
    let config = EngineConfig {
        node_capacity: 4,
        ..forced()
    };
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    control.graph_mut().grow(12).unwrap();
    // Heavy sources: each stays a task of its own (light ones would be grouped into 3).
    independent_sources(&mut control, 8, 2_000);
    let decision = decision(control.commit().unwrap());
    assert!(
        decision.too_many_tasks && !decision.parallel,
        "{decision:?}"
    );
    let out = *audio.process_block();
    assert!(out.iter().all(|&s| s == 9.0 / 1024.0));
    assert_eq!(control.stats().parallel_blocks, 0);
    // Back within the executor's capacity: parallel again.
    control.graph_mut().clear();
    let source = control.graph_mut().add_node(costed(100)).unwrap();
    control.graph_mut().set_output_node(source).unwrap();
    assert!(control.commit().unwrap().runs_parallel());
    audio.process_block();
    assert_eq!(control.stats().parallel_blocks, 1);
}

#[test]
fn the_schedule_switches_between_sequential_and_parallel_as_the_graph_changes() {
    let (mut control, mut audio) = one_worker_engine();
    let light = control.graph_mut().add_node(costed(100)).unwrap();
    control.graph_mut().set_output_node(light).unwrap();
    assert!(!control.commit().unwrap().runs_parallel());
    audio.process_block();
    let heavy = (0..64)
        .map(|_| control.graph_mut().add_node(costed(2_000)).unwrap())
        .collect();
    let root = mixer_tree(&mut control, heavy);
    control.graph_mut().set_output_node(root).unwrap();
    assert!(control.commit().unwrap().runs_parallel());
    audio.process_block();
    control.graph_mut().set_output_node(light).unwrap();
    assert!(!control.commit().unwrap().runs_parallel());
    let out = *audio.process_block();
    assert!(out.iter().all(|&s| s == 1.0 / 1024.0));
    assert_eq!(control.stats().parallel_blocks, 1);
    assert_eq!(control.stats().blocks, 3);
}

#[test]
fn a_panicking_node_is_contained_and_counted() {
    struct Panics;
    impl DspNode for Panics {
        fn process(&mut self, _: &Inputs<'_>, _: &mut Block, _: &mut ParamBlock, _: f32) {
            panic!("node failure under test");
        }
        fn type_name(&self) -> &'static str {
            "Panics"
        }
    }
    let (mut control, mut audio) = engine(48_000.0, forced()).unwrap();
    let node = control.graph_mut().add_node(Box::new(Panics)).unwrap();
    control.graph_mut().set_output_node(node).unwrap();
    control.commit().unwrap();
    audio.process_block();
    let stats = control.stats();
    assert_eq!((stats.blocks, stats.panicked_steps), (1, 1));
}
