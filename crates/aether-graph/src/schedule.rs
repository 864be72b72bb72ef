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
        match self.output_buffer {
            Some(buffer) if buffer >= count => Err("output buffer out of range"),
            _ => Ok(()),
        }
    }
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
            let output_buffer = self.free_buffers.pop().unwrap_or_else(|| {
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
