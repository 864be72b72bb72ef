//! Touches every re-export of the facade, so a renamed or dropped item fails here first.

use aether_core::{BUFFER_SIZE, MAX_COMMANDS_PER_TICK, MAX_INPUTS, MAX_NODES};

#[test]
fn constants_keep_their_seed_values() {
    assert_eq!(BUFFER_SIZE, 64);
    assert_eq!(MAX_INPUTS, 8);
    assert_eq!(MAX_COMMANDS_PER_TICK, 32);
    assert_eq!(MAX_NODES, 4096);
}

struct Dc;
impl aether_core::node::DspNode for Dc {
    fn process(
        &mut self,
        inputs: &aether_core::node::Inputs<'_>,
        output: &mut aether_core::node::Block,
        _: &mut aether_core::param::ParamBlock,
        _: f32,
    ) {
        assert_eq!(inputs.len(), aether_core::node::MAX_INPUTS);
        output.fill(0.5);
        assert_eq!(output.len(), aether_core::node::BUFFER_SIZE);
    }
    fn type_name(&self) -> &'static str {
        "Dc"
    }
}

#[test]
fn arena() {
    use aether_core::arena::{Arena, ArenaFull, CapacityOverflow, Id};
    let mut arena: Arena<u8> = Arena::with_capacity(1);
    let id: Id = arena.insert(1).unwrap();
    let full: ArenaFull<u8> = arena.insert(2).unwrap_err();
    assert_eq!(full.into_inner(), 2);
    let _: Option<CapacityOverflow> = arena.grow(1).err();
    assert_eq!(arena.remove(id), Some(1));
}

#[test]
fn param() {
    use aether_core::param::{MAX_PARAMS, Param, ParamBlock, ParamError, ParamMeta, Unit};
    let meta = ParamMeta::new("level", 0.0, 1.0, 0.5, Unit::Ratio);
    let mut block = ParamBlock::from_metas(&[meta]).unwrap();
    assert_eq!(block.len(), 1);
    let error: ParamError = block.set_target(0, f32::NAN, 0).unwrap_err();
    assert!(error.to_string().contains("NaN") || !error.to_string().is_empty());
    let mut param = Param::new(0.0).unwrap();
    param.set_target(1.0, 2).unwrap();
    assert_eq!(param.tick(), 0.5);
    assert_eq!(MAX_PARAMS, 8);
}

#[test]
fn command() {
    use aether_core::command::{
        AudioEnd, ChannelConfig, ConfigError, ControlEnd, SendError, channel,
    };
    let (mut control, mut audio): (ControlEnd<u32, u32>, AudioEnd<u32, u32>) = channel(1).unwrap();
    control.try_send(7).unwrap();
    let refused: SendError<u32> = control.try_send(8).unwrap_err();
    assert_eq!(refused.into_inner(), 8);
    assert_eq!(audio.drain_tick(|command| command + 1), 1);
    assert_eq!(control.collect_all(), 1);
    let Err(error) = ChannelConfig::new(0).build::<u8, u8>() else {
        panic!("capacity 0 must be refused")
    };
    let error: ConfigError = error;
    assert!(!error.to_string().is_empty());
}

#[test]
fn graph_scheduler_buffer_pool_and_state() {
    use aether_core::buffer_pool::{AlignedBlock, BufferPool};
    use aether_core::graph::{
        AddNodeError, Compiler, DEFAULT_GROUPING_THREADS, DEFAULT_TASK_TARGET_NS, Graph,
        GraphError, GraphFull, NO_BUFFER, NodeId, ParamChange, PathCost, Schedule, Step, TaskGraph,
        TaskGrouping,
    };
    use aether_core::scheduler::{
        AudioProcessor, CommitError, CommitReport, ControlError, Controller, EngineConfig,
        EngineError, EngineStats, ScheduleDecision, Scheduler, engine,
    };
    use aether_core::state::{GraphDescription, NodeRegistry, NodeState, StateValue};

    let mut graph = Graph::with_capacity(1);
    let id: NodeId = graph.add_node(Box::new(Dc)).unwrap();
    let full: AddNodeError = graph.add_node(Box::new(Dc)).unwrap_err();
    assert!(matches!(full, AddNodeError::Full(GraphFull(_))));
    let cycle: GraphError = graph.connect(id, id, 0).unwrap_err();
    assert!(matches!(cycle, GraphError::Cycle { .. }));
    graph.set_output_node(id).unwrap();
    let schedule: Schedule = Compiler::new().compile(&graph);
    let step: Step = schedule.steps()[0];
    let parallel_schedule = Compiler::new().compile_parallel(&graph);
    let tasks: &TaskGraph = parallel_schedule.tasks().unwrap();
    let cost: PathCost = tasks.critical_path(|_| 7);
    assert_eq!((cost.total, cost.critical), (7, 7));
    let grouping = TaskGrouping::for_threads(DEFAULT_GROUPING_THREADS);
    assert_eq!(grouping.target_ns, DEFAULT_TASK_TARGET_NS);
    let grouped = Compiler::new().compile_parallel_with(&graph, grouping);
    assert_eq!(grouped.tasks().map(TaskGraph::len), Some(1));
    assert_eq!(
        graph.cost_hint(id),
        Some(aether_core::node::DEFAULT_COST_HINT_NS)
    );
    assert_eq!(step.inputs, [NO_BUFFER; 8]);
    let _: Option<ParamChange> = None;
    let description: GraphDescription = graph.describe();
    assert_eq!(description.nodes.len(), 1);

    let pool = BufferPool::new(2);
    assert_eq!(pool.memory_bytes(), 2 * std::mem::size_of::<AlignedBlock>());

    let mut scheduler = Scheduler::new(48_000.0);
    let dc = scheduler.graph.add_node(Box::new(Dc)).unwrap();
    scheduler.graph.set_output_node(dc).unwrap();
    assert_eq!(scheduler.process_block()[0], 0.5);
    let stats: EngineStats = scheduler.stats();
    assert_eq!(stats.blocks, 1);

    let (mut control, mut audio): (Controller, AudioProcessor) =
        engine(48_000.0, EngineConfig::default()).unwrap();
    let report: CommitReport = control.commit().unwrap();
    assert!(report.schedule_sent);
    let _: Option<ScheduleDecision> = report.decision;
    assert!(!report.runs_parallel() || stats.parallel_blocks == 0);
    audio.process_block();
    let _: Option<CommitError> = None;
    let _: Option<ControlError> = None;
    let Err(invalid) = engine(f32::NAN, EngineConfig::default()) else {
        panic!("NaN sample rate must be refused")
    };
    let invalid: EngineError = invalid;
    assert!(invalid.to_string().contains("sample rate"));

    let registry = NodeRegistry::new();
    assert!(!registry.contains("Dc"));
    let state = NodeState::new().with("mode", StateValue::Text("lowpass".into()));
    assert_eq!(state.text("mode"), Ok("lowpass"));
}

#[cfg(feature = "serde")]
#[test]
fn snapshots() {
    use aether_core::state::{
        GraphSnapshot, NodeRegistry, SnapshotEdge, SnapshotError, SnapshotNode,
    };
    let mut graph = aether_core::graph::Graph::with_capacity(2);
    let id = graph.add_node(Box::new(Dc)).unwrap();
    graph.set_output_node(id).unwrap();
    let snapshot = GraphSnapshot::capture(&graph, 48_000.0);
    let node: &SnapshotNode = &snapshot.nodes[0];
    assert_eq!(node.type_name, "Dc");
    let _: Vec<SnapshotEdge> = snapshot.edges.clone();
    let error: SnapshotError = snapshot
        .restore(&NodeRegistry::new(), &mut graph)
        .unwrap_err();
    assert!(error.to_string().contains("Dc"));
    assert_eq!(
        GraphSnapshot::from_bytes(&snapshot.to_bytes()).unwrap(),
        snapshot
    );
}

#[cfg(feature = "parallel")]
#[test]
fn parallel() {
    use aether_core::parallel::{
        DEFAULT_STEP_COST_NS, Decision, MAX_PROBE_BLOCKS, MeasuredChoice, MeasuredPaths,
        ParallelConfig, ParallelPolicy, RealtimeError, ScheduleDecision,
        promote_current_thread_to_realtime,
    };
    use aether_core::scheduler::{EngineConfig, engine};

    assert_eq!(
        DEFAULT_STEP_COST_NS,
        aether_core::node::DEFAULT_COST_HINT_NS
    );
    let policy = ParallelPolicy::for_threads(2);
    let mut graph = aether_core::graph::Graph::with_capacity(1);
    let id = graph.add_node(Box::new(Dc)).unwrap();
    graph.set_output_node(id).unwrap();
    let schedule = aether_core::graph::Compiler::new().compile_parallel(&graph);
    let decision: Decision = policy.decide(schedule.tasks().unwrap(), |_| DEFAULT_STEP_COST_NS);
    assert!(!decision.parallel, "one light node stays sequential");

    let config = EngineConfig {
        parallel: ParallelConfig::always_parallel(1),
        ..EngineConfig::default()
    };
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    let dc = control.add_node(Box::new(Dc)).unwrap();
    control.set_output_node(dc).unwrap();
    let decision: ScheduleDecision = control.last_schedule_decision().unwrap();
    assert!(decision.parallel);
    assert_eq!(audio.process_block()[0], 0.5);
    assert_eq!(control.stats().parallel_blocks, 1);
    assert_eq!(ParallelConfig::disabled().worker_threads, 0);
    assert_eq!(audio.realtime_workers(), 0, "no priority was asked for");
    // Forced parallel measures nothing; the default settings check the rule by measurement.
    assert_eq!(control.stats().measured_paths, None::<MeasuredPaths>);
    let measured: Option<MeasuredChoice> = ParallelConfig::default().measured_choice;
    assert!(measured.is_some_and(|choice| usize::from(choice.probe_blocks) <= MAX_PROBE_BLOCKS));

    // Promotion works (as root) or is refused with a typed error, on a thread of its own.
    let promoted: Result<(), RealtimeError> =
        std::thread::spawn(|| promote_current_thread_to_realtime(1))
            .join()
            .unwrap();
    if let Err(error) = promoted {
        assert!(!error.to_string().is_empty());
    }
}
