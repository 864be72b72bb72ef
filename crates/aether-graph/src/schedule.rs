//! Compilation of a [`Graph`] into a flat [`Schedule`] the audio thread can run.

use alloc::vec::Vec;

use crate::NodeId;
use crate::graph::Graph;
use crate::node::MAX_INPUTS;

/// Marks an unconnected input in [`Step::inputs`].
pub const NO_BUFFER: u32 = u32::MAX;

/// One node's work in a [`Schedule`]: which node runs, which buffers it reads, which it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The node that runs; `node.index()` is its slot in audio-side tables.
    pub node: NodeId,
    /// Index of the buffer the node writes.
    pub output: u32,
    /// For each input slot, the buffer it reads, or [`NO_BUFFER`].
    pub inputs: [u32; MAX_INPUTS],
    /// One past the highest connected input slot: slots `input_end..` are all unconnected.
    pub input_end: u8,
}

/// A compiled, immutable execution plan: nodes in dependency order with their buffers.
///
/// Only [`Compiler::compile`] builds one, and it guarantees the invariants the audio side
/// relies on (see [`Schedule::check`]):
/// - every buffer index is `< buffer_count()`;
/// - a step's output buffer is none of its input buffers;
/// - a step reads only buffers written by earlier steps and not overwritten since
///   (buffers are assigned by liveness: a buffer is reused once its last reader has run).
///
/// Only the nodes the output node depends on are scheduled: a node whose signal cannot reach
/// the output is not run. With no output node the schedule is empty and the engine plays silence.
///
/// For a parallel executor the schedule also carries, per step, the number of distinct
/// predecessor steps and the list of successor steps (compressed sparse rows). Buffer reuse
/// adds write-after-read hazards between steps that are independent in the graph; an executor
/// that runs steps concurrently must account for them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    steps: Vec<Step>,
    buffer_count: u32,
    output_buffer: Option<u32>,
    slot_bound: u32,
    predecessor_counts: Vec<u32>,
    successor_offsets: Vec<u32>,
    successors: Vec<u32>,
    graph_version: u64,
    /// Present only for [`Compiler::compile_parallel`] output.
    tasks: Option<TaskGraph>,
}

impl Schedule {
    /// The steps in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// `true` if nothing runs (no output node).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Number of audio buffers the schedule needs.
    pub fn buffer_count(&self) -> usize {
        self.buffer_count as usize
    }

    /// The buffer holding the output node's block after the last step, if there is an output.
    pub fn output_buffer(&self) -> Option<u32> {
        self.output_buffer
    }

    /// One past the highest node slot index any step uses: audio-side node tables must have at
    /// least this many entries.
    pub fn slot_bound(&self) -> usize {
        self.slot_bound as usize
    }

    /// For each step, how many distinct earlier steps feed it.
    pub fn predecessor_counts(&self) -> &[u32] {
        &self.predecessor_counts
    }

    /// The distinct steps fed by step `step`.
    pub fn successors(&self, step: usize) -> &[u32] {
        let start = self.successor_offsets.get(step).copied().unwrap_or(0) as usize;
        let end = self.successor_offsets.get(step + 1).copied().unwrap_or(0) as usize;
        self.successors.get(start..end).unwrap_or(&[])
    }

    /// The [`Graph::version`] this schedule was compiled from.
    pub fn graph_version(&self) -> u64 {
        self.graph_version
    }

    /// The task graph for parallel execution: `Some` only for a schedule built by
    /// [`Compiler::compile_parallel`], whose buffers are hazard-free (every step writes its own
    /// buffer, so any order consistent with the dependency edges computes the same result).
    pub fn tasks(&self) -> Option<&TaskGraph> {
        self.tasks.as_ref()
    }

    /// Verifies the invariants listed on [`Schedule`]. `Compiler` output always passes; the
    /// engine re-checks every schedule on the control side before sending it, as defence in depth.
    pub fn check(&self) -> Result<(), &'static str> {
        let count = self.buffer_count;
        let mut written = alloc::vec![false; count as usize];
        for step in &self.steps {
            if step.output >= count {
                return Err("output buffer out of range");
            }
            if step.node.index() >= self.slot_bound {
                return Err("node slot out of range");
            }
            for (slot, &input) in step.inputs.iter().enumerate() {
                if input == NO_BUFFER {
                    continue;
                }
                if slot >= step.input_end as usize {
                    return Err("connected input past input_end");
                }
                if input >= count {
                    return Err("input buffer out of range");
                }
                if input == step.output {
                    return Err("a step's output aliases one of its inputs");
                }
                if !written[input as usize] {
                    return Err("a step reads a buffer no earlier step wrote");
                }
            }
            written[step.output as usize] = true;
        }
        if let Some(buffer) = self.output_buffer
            && buffer >= count
        {
            return Err("output buffer out of range");
        }
        match &self.tasks {
            Some(tasks) => self.check_tasks(tasks),
            None => Ok(()),
        }
    }

    /// The extra invariants of a parallel schedule: every buffer is written by exactly one step,
    /// every step belongs to exactly one task, tasks list their steps in schedule order, and
    /// every dependency between steps of different tasks is an edge of the task graph.
    fn check_tasks(&self, tasks: &TaskGraph) -> Result<(), &'static str> {
        let mut writer = alloc::vec![NO_STEP; self.buffer_count as usize];
        for (index, step) in self.steps.iter().enumerate() {
            match writer.get_mut(step.output as usize) {
                Some(slot) if *slot == NO_STEP => *slot = index as u32,
                _ => return Err("a parallel schedule reuses a buffer"),
            }
        }
        if tasks.predecessor_counts.len() != tasks.len()
            || tasks.successor_offsets.len() != tasks.len() + 1
            || tasks.step_offsets.len() != tasks.len() + 1
        {
            return Err("task graph arrays disagree in length");
        }
        let mut task_of = alloc::vec![NO_STEP; self.steps.len()];
        for task in 0..tasks.len() {
            let mut previous = None;
            for &step in tasks.steps(task) {
                match task_of.get_mut(step as usize) {
                    Some(slot) if *slot == NO_STEP => *slot = task as u32,
                    _ => return Err("a step is in no task or in two"),
                }
                if previous.is_some_and(|previous| previous >= step) {
                    return Err("a task lists its steps out of schedule order");
                }
                previous = Some(step);
            }
            for &successor in tasks.successors(task) {
                if successor as usize <= task || successor as usize >= tasks.len() {
                    return Err("a task edge does not point forward");
                }
            }
        }
        if task_of.contains(&NO_STEP) {
            return Err("a step is in no task or in two");
        }
        let mut incoming = alloc::vec![0u32; tasks.len()];
        for task in 0..tasks.len() {
            for &successor in tasks.successors(task) {
                incoming[successor as usize] += 1;
            }
        }
        if incoming != tasks.predecessor_counts {
            return Err("task predecessor counts disagree with the successor lists");
        }
        for (index, step) in self.steps.iter().enumerate() {
            let task = task_of[index];
            for &input in &step.inputs {
                if input == NO_BUFFER {
                    continue;
                }
                let source_task = task_of[writer[input as usize] as usize];
                if source_task != task && !tasks.successors(source_task as usize).contains(&task) {
                    return Err("a cross-task dependency is not a task edge");
                }
            }
        }
        Ok(())
    }
}

/// How a compiled schedule's steps are grouped into tasks for a parallel executor, with the
/// dependencies between tasks (compressed sparse rows). Built by [`Compiler::compile_parallel`].
///
/// Chains are fused: a step whose only predecessor has it as its only successor joins that
/// predecessor's task, so a task is a chain of steps run in order by one thread. Fusing a chain
/// never removes parallelism (its steps could not run concurrently anyway) and saves the
/// per-task scheduling cost. Tasks are numbered in topological order (a task's successors have
/// higher numbers), and the steps of a task are listed in schedule order.
///
/// Plain data: reading it never allocates, so executors read it on the audio thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskGraph {
    step_offsets: Vec<u32>,
    steps: Vec<u32>,
    predecessor_counts: Vec<u32>,
    successor_offsets: Vec<u32>,
    successors: Vec<u32>,
}

impl TaskGraph {
    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.predecessor_counts.len()
    }

    /// `true` if there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.predecessor_counts.is_empty()
    }

    /// The step indices task `task` runs, in order (empty for an out-of-range task). O(1).
    pub fn steps(&self, task: usize) -> &[u32] {
        csr_row(&self.step_offsets, &self.steps, task)
    }

    /// For each task, how many tasks must finish before it may start.
    pub fn predecessor_counts(&self) -> &[u32] {
        &self.predecessor_counts
    }

    /// The tasks that depend on task `task` (empty for an out-of-range task). O(1).
    pub fn successors(&self, task: usize) -> &[u32] {
        csr_row(&self.successor_offsets, &self.successors, task)
    }

    /// The length, in summed step costs, of the most expensive dependency path, and the total
    /// cost of all steps, for a cost per step given by `step_cost`. The ratio of the two bounds
    /// the speed-up any number of threads can reach. O(steps + edges); allocates one array.
    pub fn critical_path(&self, mut step_cost: impl FnMut(usize) -> u64) -> PathCost {
        let mut finish = alloc::vec![0u64; self.len()];
        let mut start = alloc::vec![0u64; self.len()];
        let mut total = 0u64;
        let mut critical = 0u64;
        for task in 0..self.len() {
            let cost: u64 = self
                .steps(task)
                .iter()
                .map(|&step| step_cost(step as usize))
                .fold(0u64, u64::saturating_add);
            total = total.saturating_add(cost);
            finish[task] = start[task].saturating_add(cost);
            critical = critical.max(finish[task]);
            for &successor in self.successors(task) {
                if let Some(successor_start) = start.get_mut(successor as usize) {
                    *successor_start = (*successor_start).max(finish[task]);
                }
            }
        }
        PathCost { total, critical }
    }

    fn build(schedule: &Schedule) -> TaskGraph {
        let step_count = schedule.len();
        let mut task_of = alloc::vec![NO_STEP; step_count];
        let mut single_predecessor = alloc::vec![NO_STEP; step_count];
        for step in 0..step_count {
            for &successor in schedule.successors(step) {
                if schedule.predecessor_counts()[successor as usize] == 1 {
                    single_predecessor[successor as usize] = step as u32;
                }
            }
        }
        // Fuse chains: tasks as linked lists of steps, then flattened.
        let mut task_first: Vec<u32> = Vec::new();
        let mut next_in_task = alloc::vec![NO_STEP; step_count];
        let mut task_last: Vec<u32> = Vec::new();
        for step in 0..step_count {
            let predecessor = single_predecessor[step];
            let fused =
                predecessor != NO_STEP && schedule.successors(predecessor as usize).len() == 1;
            if fused {
                let task = task_of[predecessor as usize];
                task_of[step] = task;
                next_in_task[predecessor as usize] = step as u32;
                task_last[task as usize] = step as u32;
            } else {
                task_of[step] = task_first.len() as u32;
                task_first.push(step as u32);
                task_last.push(step as u32);
            }
        }
        let task_count = task_first.len();
        let mut graph = TaskGraph {
            step_offsets: Vec::with_capacity(task_count + 1),
            steps: Vec::with_capacity(step_count),
            predecessor_counts: alloc::vec![0; task_count],
            successor_offsets: Vec::with_capacity(task_count + 1),
            successors: Vec::new(),
        };
        graph.step_offsets.push(0);
        graph.successor_offsets.push(0);
        for task in 0..task_count {
            let mut step = task_first[task];
            while step != NO_STEP {
                graph.steps.push(step);
                step = next_in_task[step as usize];
            }
            graph.step_offsets.push(graph.steps.len() as u32);
            // Only a chain's last step has successors outside the task, each the first step of
            // its own task (a fused step's only predecessor is inside its task), all distinct.
            for &successor in schedule.successors(task_last[task] as usize) {
                let successor_task = task_of[successor as usize];
                if successor_task as usize != task
                    && !graph.successors[graph.successor_offsets[task] as usize..]
                        .contains(&successor_task)
                {
                    graph.successors.push(successor_task);
                    graph.predecessor_counts[successor_task as usize] += 1;
                }
            }
            graph.successor_offsets.push(graph.successors.len() as u32);
        }
        graph
    }
}

/// Summed step costs of a [`TaskGraph`]: all of it, and along its most expensive path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathCost {
    /// Sum over every step: the sequential cost.
    pub total: u64,
    /// Sum along the most expensive dependency path: the parallel cost with unlimited threads.
    pub critical: u64,
}

fn csr_row<'a>(offsets: &[u32], values: &'a [u32], row: usize) -> &'a [u32] {
    let start = offsets.get(row).copied().unwrap_or(0) as usize;
    let end = offsets.get(row + 1).copied().unwrap_or(0) as usize;
    values.get(start..end).unwrap_or(&[])
}

/// Compiles graphs into schedules, reusing its scratch memory between compilations.
///
/// # Algorithm
///
/// 1. An iterative depth-first walk from the output node along inputs emits nodes in post-order
///    (every node after all its sources): a topological order restricted to the nodes the output
///    depends on. No recursion, so deep chains cannot overflow the stack. Depth-first order keeps
///    few buffers live at once (a mixer tree of 1000 sources needs a handful, where a
///    breadth-first order would hold all 1000).
/// 2. Buffers by liveness: walking the steps, a node's output takes a free buffer (or a new one);
///    then each input whose last reader this was frees its buffer. Taking the output before
///    freeing the inputs keeps a node's output distinct from its inputs.
/// 3. Predecessor counts and successor lists for parallel executors.
///
/// Cycles cannot occur: [`Graph::connect`] refuses them.
///
/// Allocates (the schedule's arrays): control thread only.
#[derive(Debug, Default)]
pub struct Compiler {
    /// Per slot: 0 = unvisited, 1 = expanding, 2 = emitted.
    visit_state: Vec<u8>,
    /// Per slot: the step index of the node, if scheduled.
    step_of: Vec<u32>,
    /// Per slot: remaining reads of the node's output.
    readers_left: Vec<u32>,
    /// DFS stack of (slot id, next input slot to look at).
    stack: Vec<(NodeId, u8)>,
    free_buffers: Vec<u32>,
}

const UNVISITED: u8 = 0;
const EXPANDING: u8 = 1;
const EMITTED: u8 = 2;
const NO_STEP: u32 = u32::MAX;

impl Compiler {
    /// A compiler with empty scratch memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles `graph` into a schedule. Allocates; control thread only.
    pub fn compile(&mut self, graph: &Graph) -> Schedule {
        self.compile_with(graph, false)
    }

    /// Compiles `graph` into a schedule safe to run in parallel, with its [`TaskGraph`]
    /// ([`Schedule::tasks`]). Allocates; control thread only.
    ///
    /// Same steps in the same order as [`compile`](Self::compile), but every step writes a
    /// buffer of its own (no reuse by liveness): reuse would add write-after-read hazards
    /// between steps that are independent in the graph. The cost is memory, one block
    /// (256 bytes) per scheduled node: 256 KiB for 1000 nodes, where liveness needs a handful.
    /// So compile this way only for graphs that will actually run in parallel.
    pub fn compile_parallel(&mut self, graph: &Graph) -> Schedule {
        let mut schedule = self.compile_with(graph, true);
        schedule.tasks = Some(TaskGraph::build(&schedule));
        schedule
    }

    fn compile_with(&mut self, graph: &Graph, exclusive_buffers: bool) -> Schedule {
        let slots = graph.slot_count();
        self.visit_state.clear();
        self.visit_state.resize(slots, UNVISITED);
        self.step_of.clear();
        self.step_of.resize(slots, NO_STEP);
        self.readers_left.clear();
        self.readers_left.resize(slots, 0);
        self.stack.clear();
        self.free_buffers.clear();

        let mut schedule = Schedule {
            graph_version: graph.version(),
            ..Schedule::default()
        };
        let Some(output) = graph.output_node() else {
            return schedule;
        };
        if !graph.contains(output) {
            return schedule;
        }

        // 1. Iterative DFS post-order.
        let mut order: Vec<NodeId> = Vec::new();
        self.visit_state[output.index() as usize] = EXPANDING;
        self.stack.push((output, 0));
        while let Some(&mut (node, ref mut next_slot)) = self.stack.last_mut() {
            let inputs = graph.entry_inputs(node);
            let mut descend = None;
            while (*next_slot as usize) < MAX_INPUTS {
                let slot = *next_slot as usize;
                *next_slot += 1;
                if let Some(Some(source)) = inputs.map(|inputs| inputs[slot])
                    && self.visit_state[source.index() as usize] == UNVISITED
                {
                    descend = Some(source);
                    break;
                }
            }
            match descend {
                Some(source) => {
                    self.visit_state[source.index() as usize] = EXPANDING;
                    self.stack.push((source, 0));
                }
                None => {
                    self.stack.pop();
                    self.visit_state[node.index() as usize] = EMITTED;
                    self.step_of[node.index() as usize] = order.len() as u32;
                    order.push(node);
                }
            }
        }

        // Reader counts (one per edge) among scheduled nodes.
        for &node in &order {
            for source in graph.entry_inputs(node).into_iter().flatten().flatten() {
                self.readers_left[source.index() as usize] += 1;
            }
        }

        // 2. Buffers by liveness.
        let mut buffer_of = alloc::vec![NO_BUFFER; slots];
        let mut next_new_buffer = 0u32;
        schedule.steps.reserve_exact(order.len());
        let mut slot_bound = 0u32;
        for &node in &order {
            let reused = if exclusive_buffers {
                None
            } else {
                self.free_buffers.pop()
            };
            let output_buffer = reused.unwrap_or_else(|| {
                next_new_buffer += 1;
                next_new_buffer - 1
            });
            buffer_of[node.index() as usize] = output_buffer;
            let mut step = Step {
                node,
                output: output_buffer,
                inputs: [NO_BUFFER; MAX_INPUTS],
                input_end: 0,
            };
            if let Some(inputs) = graph.entry_inputs(node) {
                for (slot, source) in inputs.iter().enumerate() {
                    let Some(source) = source else { continue };
                    let source_slot = source.index() as usize;
                    step.inputs[slot] = buffer_of[source_slot];
                    step.input_end = slot as u8 + 1;
                    self.readers_left[source_slot] -= 1;
                    if self.readers_left[source_slot] == 0 {
                        self.free_buffers.push(buffer_of[source_slot]);
                    }
                }
            }
            slot_bound = slot_bound.max(node.index() + 1);
            schedule.steps.push(step);
        }
        schedule.buffer_count = next_new_buffer;
        schedule.output_buffer = Some(buffer_of[output.index() as usize]);
        schedule.slot_bound = slot_bound;

        // 3. Predecessor counts and successor lists (distinct steps), as compressed sparse rows.
        let step_count = order.len();
        let distinct_sources = |node: NodeId| {
            let mut sources = [NO_STEP; MAX_INPUTS];
            let mut count = 0;
            for source in graph.entry_inputs(node).into_iter().flatten().flatten() {
                let source_step = self.step_of[source.index() as usize];
                if !sources[..count].contains(&source_step) {
                    sources[count] = source_step;
                    count += 1;
                }
            }
            (sources, count)
        };
        schedule.predecessor_counts = alloc::vec![0; step_count];
        let mut offsets = alloc::vec![0u32; step_count + 1];
        for (step_index, &node) in order.iter().enumerate() {
            let (sources, count) = distinct_sources(node);
            schedule.predecessor_counts[step_index] = count as u32;
            for &source_step in &sources[..count] {
                offsets[source_step as usize + 1] += 1;
            }
        }
        for i in 0..step_count {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets.clone();
        schedule.successors = alloc::vec![0; offsets[step_count] as usize];
        for (step_index, &node) in order.iter().enumerate() {
            let (sources, count) = distinct_sources(node);
            for &source_step in &sources[..count] {
                let at = &mut cursor[source_step as usize];
                schedule.successors[*at as usize] = step_index as u32;
                *at += 1;
            }
        }
        schedule.successor_offsets = offsets;
        schedule
    }
}
