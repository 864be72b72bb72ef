//! The parallel-versus-sequential scenarios shared by the `parallel` (criterion) and
//! `parallel_targets` (target table) benchmarks:
//!
//! - (a) `a_64_heavy`: 64 heavy independent nodes (about 2 µs of work each per block) into a
//!   tree of 8-input mixers;
//! - (b) `b_1000_light_wide`: 1000 light nodes (a constant) into a mixer tree;
//! - (c) `c_chain_64`: a chain of 64 nodes (one heavy source, then gains): no parallelism possible;
//! - (d) `d_16_voices`: a synth patch of 16 voices (sine oscillator, biquad low-pass, amplifier)
//!   into a mixer tree.
//!
//! Two ways to run them:
//! - [`Prepared`]: aether-parallel directly. The scenario is built as a control-side [`Graph`]
//!   plus the audio-side node table, compiled both ways (liveness schedule for one thread,
//!   hazard-free schedule with its task graph for the executor); "engine" is what
//!   [`ParallelPolicy`] picks from the nodes' [`DspNode::cost_hint`]s.
//! - [`SchedulerSides`]: the whole engine, `Scheduler::process_block` with feature `parallel`,
//!   one scheduler per side (no workers; the default rule; a rule that always goes parallel).

// Each benchmark target uses a subset of these items.
#![allow(dead_code)]

use aether_graph::{BUFFER_SIZE, Block, Compiler, DspNode, Graph, Inputs, NodeId, Schedule};
use aether_parallel::{
    DEFAULT_STEP_COST_NS, Decision, Executor, NodeSlot, ParallelPolicy, RunError, run_parallel,
    run_sequential,
};
use aether_params::ParamBlock;
use aether_scheduler::{EngineConfig, ParallelConfig, ScheduleDecision, Scheduler};

/// Cost estimate of a heavy node, ns per block.
pub const HEAVY_COST_NS: u64 = 2_000;
/// Cost estimate of an oscillator, ns per block.
pub const OSC_COST_NS: u64 = 800;
/// Cost estimate of a biquad, ns per block.
pub const BIQUAD_COST_NS: u64 = 300;

/// Cost estimate of a [`Light`] node, ns per block (measured about 5 ns by the `node_costs`
/// bench on the development machine).
pub const LIGHT_COST_NS: u64 = 5;
/// Cost estimate of an 8-input [`Sum`], ns per block (measured about 50 ns).
pub const SUM_COST_NS: u64 = 50;

/// About 2 µs of arithmetic per block (a cascade of eight one-pole filters per sample).
pub struct Heavy {
    state: [f32; 8],
}
impl Heavy {
    /// A cascade starting from rest.
    pub fn new() -> Self {
        Heavy { state: [0.0; 8] }
    }
}
impl DspNode for Heavy {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        let mut x = 0.5f32;
        for sample in output.iter_mut() {
            for state in &mut self.state {
                *state += 0.01 * (x - *state);
                x = *state * 0.999 + 1e-3;
            }
            *sample = x;
        }
    }
    fn type_name(&self) -> &'static str {
        "Heavy"
    }
    fn cost_hint(&self) -> u64 {
        HEAVY_COST_NS
    }
}

/// A light node: a gain of its first input, or a constant without one.
pub struct Light(pub f32);
impl DspNode for Light {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        match inputs[0] {
            Some(input) => output
                .iter_mut()
                .zip(input)
                .for_each(|(o, i)| *o = i * self.0),
            None => output.fill(self.0),
        }
    }
    fn type_name(&self) -> &'static str {
        "Light"
    }
    fn cost_hint(&self) -> u64 {
        LIGHT_COST_NS
    }
}

/// Sums its connected inputs.
pub struct Sum;
impl DspNode for Sum {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
        for input in inputs.iter().flatten() {
            output
                .iter_mut()
                .zip(input.iter())
                .for_each(|(o, i)| *o += i);
        }
    }
    fn type_name(&self) -> &'static str {
        "Sum"
    }
    fn cost_hint(&self) -> u64 {
        SUM_COST_NS
    }
}

/// A sine oscillator.
pub struct Osc {
    phase: f32,
    step: f32,
}
impl Osc {
    /// Starts at phase 0 and advances `step` cycles per sample.
    pub fn new(step: f32) -> Self {
        Osc { phase: 0.0, step }
    }
}
impl DspNode for Osc {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        for sample in output.iter_mut() {
            *sample = (self.phase * core::f32::consts::TAU).sin();
            self.phase = (self.phase + self.step).fract();
        }
    }
    fn type_name(&self) -> &'static str {
        "Osc"
    }
    fn cost_hint(&self) -> u64 {
        OSC_COST_NS
    }
}

/// A biquad low-pass of its first input.
pub struct Biquad {
    z: [f32; 2],
}
impl Biquad {
    /// A filter at rest.
    pub fn new() -> Self {
        Biquad { z: [0.0; 2] }
    }
}
impl DspNode for Biquad {
    fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        let (b0, b1, b2, a1, a2) = (0.02, 0.04, 0.02, -1.56, 0.64);
        let Some(input) = inputs[0] else {
            output.fill(0.0);
            return;
        };
        for (o, &x) in output.iter_mut().zip(input) {
            let y = b0 * x + self.z[0];
            self.z[0] = b1 * x - a1 * y + self.z[1];
            self.z[1] = b2 * x - a2 * y;
            *o = y;
        }
    }
    fn type_name(&self) -> &'static str {
        "Biquad"
    }
    fn cost_hint(&self) -> u64 {
        BIQUAD_COST_NS
    }
}

/// The four scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// (a) 64 heavy independent nodes into a mixer tree.
    HeavyIntoMixer,
    /// (b) 1000 light nodes (constants) into a mixer tree.
    WideLight,
    /// (c) A chain of 64 nodes: one heavy source, then 63 gains.
    Chain,
    /// (d) 16 synth voices (oscillator, low-pass, amplifier) into a mixer tree.
    Voices,
}

impl Kind {
    /// Every scenario, in report order.
    pub const ALL: [Kind; 4] = [
        Kind::HeavyIntoMixer,
        Kind::WideLight,
        Kind::Chain,
        Kind::Voices,
    ];

    /// Short name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::HeavyIntoMixer => "a_64_heavy",
            Kind::WideLight => "b_1000_light_wide",
            Kind::Chain => "c_chain_64",
            Kind::Voices => "d_16_voices",
        }
    }

    /// Nodes the scenario adds.
    fn capacity(self) -> usize {
        match self {
            Kind::HeavyIntoMixer => 128,
            Kind::WideLight => 1200,
            Kind::Chain | Kind::Voices => 64,
        }
    }

    /// Builds the scenario in a graph of its own, with the audio-side node table.
    pub fn build(self) -> Scenario {
        self.build_in(Graph::with_capacity(self.capacity()))
    }

    /// Builds the scenario into `graph` (which should be empty).
    pub fn build_in(self, graph: Graph) -> Scenario {
        let mut s = Scenario {
            kind: self,
            graph,
            nodes: Vec::new(),
        };
        let output = match self {
            Kind::HeavyIntoMixer => {
                let sources = (0..64)
                    .map(|i| {
                        s.add(move || {
                            Box::new(Heavy {
                                state: [i as f32 * 0.01; 8],
                            })
                        })
                    })
                    .collect();
                s.mix(sources)
            }
            Kind::WideLight => {
                let sources = (0..1000)
                    .map(|i| s.add(move || Box::new(Light(i as f32 * 1e-3))))
                    .collect();
                s.mix(sources)
            }
            Kind::Chain => {
                let mut previous = s.add(|| Box::new(Heavy { state: [0.1; 8] }));
                for _ in 1..64 {
                    let next = s.add(|| Box::new(Light(0.999)));
                    s.connect(previous, next, 0);
                    previous = next;
                }
                previous
            }
            Kind::Voices => {
                let outputs = (0..16)
                    .map(|voice| {
                        let osc = s.add(move || {
                            Box::new(Osc {
                                phase: 0.0,
                                step: 0.005 + voice as f32 * 1e-3,
                            })
                        });
                        let filter = s.add(|| Box::new(Biquad { z: [0.0; 2] }));
                        let amp = s.add(|| Box::new(Light(0.1)));
                        s.connect(osc, filter, 0);
                        s.connect(filter, amp, 0);
                        amp
                    })
                    .collect();
                s.mix(outputs)
            }
        };
        s.graph
            .set_output_node(output)
            .expect("the output node exists");
        s
    }
}

/// A scenario: the control-side graph and the audio-side node table (indexed by node slot).
pub struct Scenario {
    /// Which scenario.
    pub kind: Kind,
    /// The control-side graph; it keeps every node's cost hint.
    pub graph: Graph,
    /// The audio-side node table, indexed by node slot.
    pub nodes: Vec<NodeSlot>,
}

impl Scenario {
    /// Adds a node: `make` is called twice (control-side graph and audio-side table).
    fn add(&mut self, make: impl Fn() -> Box<dyn DspNode>) -> NodeId {
        let id = self
            .graph
            .add_node(make())
            .expect("scenario graphs fit their capacity");
        let slot = id.index() as usize;
        if self.nodes.len() <= slot {
            self.nodes.resize_with(slot + 1, || None);
        }
        self.nodes[slot] = Some(make());
        id
    }

    fn connect(&mut self, from: NodeId, to: NodeId, slot: usize) {
        self.graph
            .connect(from, to, slot)
            .expect("scenario edges are valid");
    }

    /// Mixes `layer` down through a tree of 8-input sums; returns the root.
    fn mix(&mut self, mut layer: Vec<NodeId>) -> NodeId {
        while layer.len() > 1 {
            let mut next = Vec::new();
            for group in layer.chunks(8) {
                let sum = self.add(|| Box::new(Sum));
                for (slot, &source) in group.iter().enumerate() {
                    self.connect(source, sum, slot);
                }
                next.push(sum);
            }
            layer = next;
        }
        layer[0]
    }
}

/// How to run one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Always on the calling (audio) thread alone.
    Sequential,
    /// Whatever the policy decided.
    Engine,
    /// Always the task graph on the executor.
    ForcedParallel,
}

impl Side {
    /// Every side, in report order.
    pub const ALL: [Side; 3] = [Side::Sequential, Side::Engine, Side::ForcedParallel];

    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Side::Sequential => "sequential",
            Side::Engine => "engine",
            Side::ForcedParallel => "forced_parallel",
        }
    }
}

/// A scenario compiled both ways for aether-parallel, with its buffers and the policy's choice.
pub struct Prepared {
    /// The scenario (its node table is shared by both ways of running it).
    pub scenario: Scenario,
    /// Liveness schedule for one thread.
    pub sequential: Schedule,
    /// Hazard-free schedule with its task graph.
    pub parallel: Schedule,
    /// What [`ParallelPolicy::for_threads`] decided from the nodes' cost hints.
    pub decision: Decision,
    params: Vec<ParamBlock>,
    quarantine: Vec<aether_graph::Quarantined>,
    sequential_pool: Vec<Block>,
    parallel_pool: Vec<Block>,
}

impl Prepared {
    /// Builds `kind`, compiles it both ways and asks the policy for `threads` threads (workers +
    /// the audio thread).
    pub fn new(kind: Kind, threads: usize) -> Self {
        let scenario = kind.build();
        let mut compiler = Compiler::new();
        let sequential = compiler.compile(&scenario.graph);
        let parallel = compiler.compile_parallel(&scenario.graph);
        let tasks = parallel
            .tasks()
            .expect("compile_parallel always builds a task graph");
        let decision = ParallelPolicy::for_threads(threads).decide(tasks, |step| {
            parallel
                .steps()
                .get(step)
                .and_then(|step| scenario.graph.cost_hint(step.node))
                .unwrap_or(DEFAULT_STEP_COST_NS)
        });
        Prepared {
            params: vec![ParamBlock::new(); scenario.nodes.len()],
            quarantine: (0..scenario.nodes.len())
                .map(|_| Default::default())
                .collect(),
            sequential_pool: vec![[0.0; BUFFER_SIZE]; sequential.buffer_count()],
            parallel_pool: vec![[0.0; BUFFER_SIZE]; parallel.buffer_count()],
            scenario,
            sequential,
            parallel,
            decision,
        }
    }

    /// Steps and tasks of the parallel schedule.
    pub fn shape(&self) -> (usize, usize) {
        (
            self.parallel.len(),
            self.parallel.tasks().map_or(0, |tasks| tasks.len()),
        )
    }

    /// Renders one block the way `side` says; returns the output block.
    pub fn run(&mut self, executor: &mut Executor, side: Side) -> Result<&Block, RunError> {
        let parallel = match side {
            Side::Sequential => false,
            Side::Engine => self.decision.parallel,
            Side::ForcedParallel => true,
        };
        let (schedule, pool) = if parallel {
            run_parallel(
                executor,
                &self.parallel,
                &mut self.scenario.nodes,
                &mut self.params,
                &mut self.quarantine,
                &mut self.parallel_pool,
                48e3,
            )?;
            (&self.parallel, &self.parallel_pool)
        } else {
            run_sequential(
                &self.sequential,
                &mut self.scenario.nodes,
                &mut self.params,
                &mut self.quarantine,
                &mut self.sequential_pool,
                48e3,
            )?;
            (&self.sequential, &self.sequential_pool)
        };
        Ok(schedule
            .output_buffer()
            .and_then(|buffer| pool.get(buffer as usize))
            .unwrap_or(&SILENCE))
    }
}

static SILENCE: Block = [0.0; BUFFER_SIZE];

/// The whole engine: one `Scheduler` (feature `parallel`) per side, each holding the scenario.
/// Sequential has no workers, engine has the default workers and rule, forced parallel has the
/// default workers and a rule that always goes parallel.
pub struct SchedulerSides {
    /// Which scenario.
    pub kind: Kind,
    schedulers: [Scheduler; 3],
    /// What the engine side's rule decided (from its commit report).
    pub decision: Option<ScheduleDecision>,
}

impl SchedulerSides {
    /// Builds `kind` into three schedulers and commits each (outside any measurement).
    pub fn new(kind: Kind) -> Self {
        Self::with_realtime_workers(kind, None)
    }

    /// As [`SchedulerSides::new`], with the parallel sides' workers at `SCHED_FIFO`
    /// `realtime_priority` when it is `Some` (see `ParallelConfig::realtime_priority`).
    pub fn with_realtime_workers(kind: Kind, realtime_priority: Option<u8>) -> Self {
        Self::with_worker_settings(kind, realtime_priority, None)
    }

    /// As [`SchedulerSides::with_realtime_workers`], with the parallel sides' wake-ahead pacing
    /// (see `ParallelConfig::wake_ahead`).
    pub fn with_worker_settings(
        kind: Kind,
        realtime_priority: Option<u8>,
        wake_ahead: Option<std::time::Duration>,
    ) -> Self {
        let workers = ParallelConfig::with_default_threads().worker_threads;
        let configs = [
            ParallelConfig::disabled(),
            ParallelConfig {
                realtime_priority,
                wake_ahead,
                ..ParallelConfig::with_default_threads()
            },
            ParallelConfig {
                realtime_priority,
                wake_ahead,
                ..ParallelConfig::always_parallel(workers)
            },
        ];
        let mut decisions = [None; 3];
        let schedulers = std::array::from_fn(|index| {
            let mut scheduler = Scheduler::with_config(
                48_000.0,
                EngineConfig {
                    parallel: configs[index],
                    ..EngineConfig::default()
                },
            );
            // Build into the scheduler's own graph (moved out and back in).
            let graph = core::mem::replace(&mut scheduler.graph, Graph::with_capacity(0));
            scheduler.graph = kind.build_in(graph).graph;
            let report = scheduler
                .commit()
                .expect("an empty ring takes the schedule");
            decisions[index] = report.decision;
            scheduler
        });
        let decision = decisions[1];
        SchedulerSides {
            kind,
            schedulers,
            decision,
        }
    }

    /// The engine side's counters (its measured choice among them).
    pub fn engine_stats(&self) -> aether_scheduler::EngineStats {
        self.schedulers[1].stats()
    }

    /// Renders one block on `side`'s scheduler; returns the output block.
    pub fn run(&mut self, side: Side) -> &Block {
        let index = match side {
            Side::Sequential => 0,
            Side::Engine => 1,
            Side::ForcedParallel => 2,
        };
        self.schedulers[index].process_block()
    }
}
