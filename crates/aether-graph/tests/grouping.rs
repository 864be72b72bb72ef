//! Grouping light independent tasks (`Compiler::compile_parallel_with`): light tasks of the same
//! level are merged until a group's summed cost hints reach the target, heavy tasks stay alone,
//! dependent tasks are never merged, and the grouped task graph stays valid (every step in one
//! task, every cross-task dependency an edge, topological numbering) on random DAGs with random
//! cost hints, checked here independently of `Schedule::check`.

use std::collections::BTreeSet;

use aether_graph::{
    Block, Compiler, DEFAULT_COST_HINT_NS, DEFAULT_TASK_TARGET_NS, DspNode, Graph, Inputs,
    MAX_INPUTS, NodeId, Schedule, TaskGraph, TaskGrouping,
};
use aether_params::ParamBlock;
use proptest::prelude::*;

/// A node that only declares a cost (the compiler never runs nodes).
struct Costed(u64);
impl DspNode for Costed {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
    }
    fn type_name(&self) -> &'static str {
        "Costed"
    }
    fn cost_hint(&self) -> u64 {
        self.0
    }
}

fn add(graph: &mut Graph, cost: u64) -> NodeId {
    graph.add_node(Box::new(Costed(cost))).unwrap()
}

/// Sums `layer` through a tree of `fan_in`-input mixers of cost `mixer_cost`; returns the root.
fn mix(graph: &mut Graph, mut layer: Vec<NodeId>, fan_in: usize, mixer_cost: u64) -> NodeId {
    while layer.len() > 1 {
        layer = layer
            .chunks(fan_in)
            .map(|group| {
                let mixer = add(graph, mixer_cost);
                for (slot, &source) in group.iter().enumerate() {
                    graph.connect(source, mixer, slot).unwrap();
                }
                mixer
            })
            .collect();
    }
    layer[0]
}

/// `count` independent sources of `cost` into a tree of 8-input default-cost mixers.
fn wide(count: usize, cost: u64) -> Graph {
    let mut graph = Graph::with_capacity(count * 2 + 8);
    let sources = (0..count).map(|_| add(&mut graph, cost)).collect();
    let root = mix(&mut graph, sources, MAX_INPUTS, DEFAULT_COST_HINT_NS);
    graph.set_output_node(root).unwrap();
    graph
}

fn tasks(schedule: &Schedule) -> &TaskGraph {
    schedule.tasks().expect("compiled for parallel execution")
}

/// Index of the task holding step `step`.
fn task_of(tasks: &TaskGraph, step: usize) -> usize {
    (0..tasks.len())
        .find(|&task| tasks.steps(task).contains(&(step as u32)))
        .expect("every step is in a task")
}

#[test]
fn a_thousand_light_sources_become_a_few_dozen_tasks() {
    let graph = wide(1_000, DEFAULT_COST_HINT_NS);
    let mut compiler = Compiler::new();
    let chains = compiler.compile_parallel_with(&graph, TaskGrouping::chains_only());
    assert_eq!(
        tasks(&chains).len(),
        1_144,
        "no chains to fuse: one task per node"
    );

    let grouped = compiler.compile_parallel(&graph);
    grouped.check().unwrap();
    let tasks = tasks(&grouped);
    // Levels of 1000 sources, 125, 16, 2 and 1 mixers (100 ns each): 100 µs / 2 µs = 50 groups,
    // 12.5 µs / 2 µs = 6, then below the target but kept split for the two threads: 2, 2, 1.
    assert_eq!(tasks.len(), 50 + 6 + 2 + 2 + 1);
    let source_groups: Vec<usize> = (0..50).map(|task| tasks.steps(task).len()).collect();
    assert_eq!(source_groups, vec![20; 50], "equal costs give equal groups");
    assert_eq!(
        tasks
            .predecessor_counts()
            .iter()
            .filter(|&&count| count == 0)
            .count(),
        50
    );
    // The estimates the policy sees: the same total, a critical path of a few groups.
    let cost = tasks.critical_path(|step| {
        graph
            .cost_hint(grouped.steps()[step].node)
            .unwrap_or(DEFAULT_COST_HINT_NS)
    });
    assert_eq!(cost.total, 1_144 * 100);
    assert!(cost.critical < cost.total / 10, "{cost:?}");

    // More threads keep more groups on the levels below the target.
    let four = compiler.compile_parallel_with(&graph, TaskGrouping::for_threads(4));
    four.check().unwrap();
    assert_eq!(four.tasks().unwrap().len(), 50 + 6 + 4 + 2 + 1);
}

#[test]
fn heavy_tasks_are_never_merged() {
    // 64 sources at 2 µs (scenario a): each is at the target, so each stays a task of its own;
    // only the light mixers are grouped.
    let graph = wide(64, 2_000);
    let schedule = Compiler::new().compile_parallel(&graph);
    schedule.check().unwrap();
    let tasks = tasks(&schedule);
    for (step, _) in schedule
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, step)| graph.cost_hint(step.node) == Some(2_000))
    {
        assert_eq!(tasks.steps(task_of(tasks, step)), &[step as u32]);
    }
    // 64 sources + the 8 mixers of level 1 in 2 groups (0.8 µs, two threads) + the root.
    assert_eq!(tasks.len(), 64 + 2 + 1);

    // Just below the target they are grouped in pairs (each pair reaches it).
    let graph = wide(64, 1_999);
    let schedule = Compiler::new().compile_parallel(&graph);
    schedule.check().unwrap();
    assert_eq!(schedule.tasks().unwrap().len(), 32 + 2 + 1);
}

#[test]
fn dependent_tasks_are_never_merged() {
    // One light source feeds 40 light nodes (so nothing fuses); they feed a mixer tree. The
    // source, the 40 and the mixers are all light, but only tasks of one level may share a task.
    let mut graph = Graph::with_capacity(64);
    let source = add(&mut graph, 10);
    let middle: Vec<NodeId> = (0..40)
        .map(|_| {
            let node = add(&mut graph, 10);
            graph.connect(source, node, 0).unwrap();
            node
        })
        .collect();
    let root = mix(&mut graph, middle.clone(), MAX_INPUTS, 10);
    graph.set_output_node(root).unwrap();
    let schedule = Compiler::new().compile_parallel(&graph);
    schedule.check().unwrap();
    let tasks = tasks(&schedule);
    let step_of = |node: NodeId| {
        schedule
            .steps()
            .iter()
            .position(|step| step.node == node)
            .unwrap()
    };
    let source_task = task_of(tasks, step_of(source));
    assert_eq!(tasks.steps(source_task), &[step_of(source) as u32]);
    let middle_tasks: BTreeSet<usize> = middle
        .iter()
        .map(|&node| task_of(tasks, step_of(node)))
        .collect();
    // 40 × 10 ns is far below the target: one group per thread.
    assert_eq!(middle_tasks.len(), 2);
    assert!(!middle_tasks.contains(&task_of(tasks, step_of(root))));
}

#[test]
fn a_level_keeps_one_task_per_thread_counting_its_heavy_tasks() {
    // Level 0: one heavy source and 6 light ones (600 ns in all, below the target).
    let mut graph = Graph::with_capacity(16);
    let mut sources = vec![add(&mut graph, 5_000)];
    sources.extend((0..6).map(|_| add(&mut graph, DEFAULT_COST_HINT_NS)));
    let root = mix(&mut graph, sources, MAX_INPUTS, DEFAULT_COST_HINT_NS);
    graph.set_output_node(root).unwrap();
    let mut compiler = Compiler::new();
    let count = |compiler: &mut Compiler, threads: usize| {
        let schedule = compiler.compile_parallel_with(&graph, TaskGrouping::for_threads(threads));
        schedule.check().unwrap();
        schedule.tasks().unwrap().len() - 1 // without the root
    };
    // The heavy source takes one thread: 1 light group for 2 threads, 3 for 4, all 6 for 16.
    assert_eq!(count(&mut compiler, 1), 1 + 1);
    assert_eq!(count(&mut compiler, 2), 1 + 1);
    assert_eq!(count(&mut compiler, 4), 1 + 3);
    assert_eq!(count(&mut compiler, 16), 1 + 6);
    // Zero-cost hints are still split between the threads.
    let graph = wide(8, 0);
    let schedule = Compiler::new().compile_parallel_with(&graph, TaskGrouping::for_threads(3));
    schedule.check().unwrap();
    assert_eq!(schedule.tasks().unwrap().len(), 3 + 1);
}

#[test]
fn chains_only_and_a_huge_target_are_the_two_extremes() {
    let graph = wide(100, DEFAULT_COST_HINT_NS);
    let mut compiler = Compiler::new();
    let chains = compiler.compile_parallel_with(&graph, TaskGrouping::chains_only());
    assert_eq!(chains.tasks().unwrap().len(), chains.len());
    let one_per_level = compiler.compile_parallel_with(
        &graph,
        TaskGrouping {
            target_ns: u64::MAX,
            threads: 1,
        },
    );
    one_per_level.check().unwrap();
    // Levels: 100 sources, 13 mixers, 2 mixers, the root.
    assert_eq!(one_per_level.tasks().unwrap().len(), 4);
    assert_eq!(TaskGrouping::default().target_ns, DEFAULT_TASK_TARGET_NS);
}

/// A random DAG: per node a cost hint; edges (source, destination, slot) with source < destination.
#[derive(Debug, Clone)]
struct Dag {
    costs: Vec<u64>,
    edges: Vec<(usize, usize, usize)>,
    output: usize,
}

fn cost() -> impl Strategy<Value = u64> {
    prop_oneof![
        1 => Just(0u64),
        4 => 1u64..300,
        2 => 300u64..3_000,
        1 => 3_000u64..20_000,
    ]
}

fn dag(max_nodes: usize) -> impl Strategy<Value = Dag> {
    (1..=max_nodes)
        .prop_flat_map(|n| {
            let costs = prop::collection::vec(cost(), n);
            let edges = prop::collection::vec((0..n, 0..n, 0..MAX_INPUTS), 0..n * 3);
            (costs, edges, 0..n)
        })
        .prop_map(|(costs, raw_edges, output)| {
            let edges = raw_edges
                .into_iter()
                .filter(|(a, b, _)| a != b)
                .map(|(a, b, slot)| (a.min(b), a.max(b), slot))
                .collect();
            // Mostly the last node, so most of the graph is scheduled.
            let output = output.max(costs.len() - 1);
            Dag {
                costs,
                edges,
                output,
            }
        })
}

fn build(dag: &Dag) -> Graph {
    let mut graph = Graph::with_capacity(dag.costs.len());
    let ids: Vec<NodeId> = dag
        .costs
        .iter()
        .map(|&cost| add(&mut graph, cost))
        .collect();
    for &(source, destination, slot) in &dag.edges {
        graph.connect(ids[source], ids[destination], slot).unwrap();
    }
    graph.set_output_node(ids[dag.output]).unwrap();
    graph
}

fn grouping() -> impl Strategy<Value = TaskGrouping> {
    let target = prop_oneof![
        Just(0u64),
        Just(1u64),
        100u64..5_000,
        Just(DEFAULT_TASK_TARGET_NS),
        Just(u64::MAX),
    ];
    (target, 0usize..6).prop_map(|(target_ns, threads)| TaskGrouping { target_ns, threads })
}

/// Checks the task graph of `schedule` from scratch: the properties the executor relies on.
fn check_valid(schedule: &Schedule) -> Result<(), TestCaseError> {
    let tasks = tasks(schedule);
    let mut task_of = vec![usize::MAX; schedule.len()];
    let mut incoming = vec![0u32; tasks.len()];
    for task in 0..tasks.len() {
        let steps = tasks.steps(task);
        prop_assert!(!steps.is_empty(), "task {} is empty", task);
        prop_assert!(
            steps.windows(2).all(|pair| pair[0] < pair[1]),
            "task {} out of order",
            task
        );
        for &step in steps {
            prop_assert_eq!(
                task_of[step as usize],
                usize::MAX,
                "step {} in two tasks",
                step
            );
            task_of[step as usize] = task;
        }
        let successors = tasks.successors(task);
        let distinct: BTreeSet<u32> = successors.iter().copied().collect();
        prop_assert_eq!(
            distinct.len(),
            successors.len(),
            "task {} lists an edge twice",
            task
        );
        for &successor in successors {
            prop_assert!(
                successor as usize > task,
                "edge {} -> {} is not forward",
                task,
                successor
            );
            incoming[successor as usize] += 1;
        }
    }
    prop_assert!(
        task_of.iter().all(|&task| task != usize::MAX),
        "a step is in no task"
    );
    prop_assert_eq!(incoming.as_slice(), tasks.predecessor_counts());
    for step in 0..schedule.len() {
        for &successor in schedule.successors(step) {
            let (from, to) = (task_of[step], task_of[successor as usize]);
            prop_assert!(
                from == to || tasks.successors(from).contains(&(to as u32)),
                "step {} -> {} crosses tasks {} -> {} without an edge",
                step,
                successor,
                from,
                to
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn grouped_task_graphs_are_valid_coarsenings_of_the_chains(
        dag in dag(60),
        grouping in grouping(),
    ) {
        let graph = build(&dag);
        let mut compiler = Compiler::new();
        let chains = compiler.compile_parallel_with(&graph, TaskGrouping::chains_only());
        let grouped = compiler.compile_parallel_with(&graph, grouping);
        prop_assert!(grouped.check().is_ok(), "{:?}", grouped.check());
        check_valid(&grouped)?;
        check_valid(&chains)?;
        prop_assert_eq!(grouped.steps(), chains.steps());

        let chain_tasks = tasks(&chains);
        let grouped_tasks = tasks(&grouped);
        let step_cost = |step: u32| graph.cost_hint(chains.steps()[step as usize].node).unwrap();
        let chain_cost: Vec<u64> = (0..chain_tasks.len())
            .map(|task| chain_tasks.steps(task).iter().map(|&step| step_cost(step)).sum())
            .collect();
        // Each chain lies within one grouped task.
        let mut group_of_chain = vec![0usize; chain_tasks.len()];
        for (chain, group) in group_of_chain.iter_mut().enumerate() {
            let first = chain_tasks.steps(chain)[0] as usize;
            *group = (0..grouped_tasks.len())
                .find(|&task| grouped_tasks.steps(task).contains(&(first as u32)))
                .unwrap();
            for &step in chain_tasks.steps(chain) {
                prop_assert!(grouped_tasks.steps(*group).contains(&step), "a chain was split");
            }
        }
        // Reachability between chains (tasks are numbered topologically).
        let n = chain_tasks.len();
        let mut reaches = vec![vec![false; n]; n];
        for task in (0..n).rev() {
            for &successor in chain_tasks.successors(task) {
                let from_successor = reaches[successor as usize].clone();
                reaches[task][successor as usize] = true;
                for (reached, via) in reaches[task].iter_mut().zip(from_successor) {
                    *reached |= via;
                }
            }
        }
        // Levels (longest path from a chain without predecessors).
        let mut level = vec![0usize; n];
        for task in 0..n {
            for &successor in chain_tasks.successors(task) {
                level[successor as usize] = level[successor as usize].max(level[task] + 1);
            }
        }
        for group in 0..grouped_tasks.len() {
            let members: Vec<usize> = (0..n).filter(|&chain| group_of_chain[chain] == group).collect();
            if members.len() < 2 {
                continue;
            }
            prop_assert!(grouping.target_ns > 0, "grouping is off but chains were merged");
            for &a in &members {
                prop_assert!(chain_cost[a] < grouping.target_ns, "a heavy chain was merged");
                prop_assert_eq!(level[a], level[members[0]]);
                for &b in &members {
                    prop_assert!(!reaches[a][b], "dependent chains {} and {} merged", a, b);
                }
            }
        }
        // The number of groups per level follows the rule.
        if grouping.target_ns > 0 {
            let levels = level.iter().max().map_or(0, |&max| max + 1);
            for at in 0..levels {
                let chains_here: Vec<usize> = (0..n).filter(|&chain| level[chain] == at).collect();
                let heavy = chains_here.iter().filter(|&&c| chain_cost[c] >= grouping.target_ns).count();
                let light: Vec<usize> = chains_here.iter().copied().filter(|&c| chain_cost[c] < grouping.target_ns).collect();
                if light.is_empty() {
                    continue;
                }
                // Light chains weigh at least 1 ns.
                let weight = |chain: usize| chain_cost[chain].max(1);
                // Runs closed on reaching the target (a remainder joins the last run).
                let mut by_target = 0usize;
                let mut open = 0u64;
                for &chain in &light {
                    open = open.saturating_add(weight(chain));
                    if open >= grouping.target_ns {
                        by_target += 1;
                        open = 0;
                    }
                }
                let by_target = by_target.max(1);
                let for_threads = grouping.threads.saturating_sub(heavy).min(light.len());
                let groups: BTreeSet<usize> = light.iter().map(|&c| group_of_chain[c]).collect();
                prop_assert_eq!(groups.len(), by_target.max(for_threads), "level {}", at);
                if by_target >= for_threads && by_target > 1 {
                    for &group in &groups {
                        let group_cost: u64 = light
                            .iter()
                            .filter(|&&c| group_of_chain[c] == group)
                            .map(|&c| weight(c))
                            .sum();
                        prop_assert!(group_cost >= grouping.target_ns, "a group below the target");
                    }
                }
            }
        } else {
            prop_assert_eq!(grouped_tasks, chain_tasks);
        }
    }
}
