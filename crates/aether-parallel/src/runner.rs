//! Running a compiled [`Schedule`]'s nodes on an [`Executor`], and the sequential reference.

use core::borrow::{Borrow, BorrowMut};

use aether_graph::{Block, DspNode, Inputs, MAX_INPUTS, NO_BUFFER, Schedule, Step};
use aether_params::ParamBlock;

use crate::executor::{Executor, RunError};

/// A node slot of an audio-side table: empty, or a node instance.
pub type NodeSlot = Option<Box<dyn DspNode>>;

/// Raw views of the tables one block works on, shared by the threads running its steps.
struct StepTables<'a, B> {
    steps: &'a [Step],
    nodes: *mut NodeSlot,
    params: *mut ParamBlock,
    buffers: *mut B,
    sample_rate: f32,
}

// The tables are reached only through `run_step`, whose contract gives each step's node,
// parameter block and output buffer to exactly one thread at a time and orders every read of a
// buffer after its write; the nodes (`Box<dyn DspNode>: Send`), parameter blocks and buffers
// (`B: Send + Sync`) may therefore be used from whichever thread runs the step.
// SAFETY: per `run_step`'s contract, each table entry is used by one thread at a time.
unsafe impl<B: Send + Sync> Sync for StepTables<'_, B> {}

impl<B: Borrow<Block> + BorrowMut<Block>> StepTables<'_, B> {
    /// Runs step `index` of the schedule: the node reads its input buffers and writes its output
    /// buffer (silence if its slot is empty).
    ///
    /// # Safety
    ///
    /// - every buffer index and node slot of the schedule is in range of the tables (checked by
    ///   [`check_tables`] before the block);
    /// - no other thread uses this step's node slot, parameter block or output buffer during the
    ///   call, and every step writing one of its input buffers finished before the call, with no
    ///   step writing that buffer concurrently.
    unsafe fn run_step(&self, index: usize) {
        let Some(step) = self.steps.get(index) else {
            return;
        };
        let mut inputs: Inputs<'_> = [None; MAX_INPUTS];
        let input_end = (step.input_end as usize).min(MAX_INPUTS);
        for (input, &buffer) in inputs.iter_mut().zip(&step.inputs[..input_end]) {
            if buffer != NO_BUFFER {
                // SAFETY: in range (contract), written by a finished step and written by no one
                // during this call: only shared references to it exist now.
                *input = Some(unsafe { (*self.buffers.add(buffer as usize)).borrow() });
            }
        }
        // SAFETY: in range and used by no other thread (contract); it is none of this step's
        // inputs (Schedule invariant), so this is the only reference to it.
        let output = unsafe { (*self.buffers.add(step.output as usize)).borrow_mut() };
        let slot = step.node.index() as usize;
        // SAFETY: in range and used by this step only (each node is scheduled once).
        let (node, params) = unsafe { (&mut *self.nodes.add(slot), &mut *self.params.add(slot)) };
        match node {
            Some(node) => node.process(&inputs, output, params, self.sample_rate),
            None => output.fill(0.0),
        }
    }
}

/// O(1) check that makes the unchecked accesses of `run_step` in range for any schedule the
/// compiler produced (its buffer indices are `< buffer_count`, its slots `< slot_bound`).
fn check_tables<B>(
    schedule: &Schedule,
    nodes: &[NodeSlot],
    params: &[ParamBlock],
    buffers: &[B],
) -> Result<(), RunError> {
    if schedule.buffer_count() > buffers.len()
        || schedule.slot_bound() > nodes.len()
        || schedule.slot_bound() > params.len()
    {
        return Err(RunError::TablesTooSmall);
    }
    Ok(())
}

/// Runs every step of a schedule built by `Compiler::compile_parallel` on `executor`: each
/// node `nodes[step.node.index()]` with its `params` entry, reading and writing `buffers`.
///
/// The result is bit-identical to [`run_sequential`] on the same schedule (and to running the
/// liveness-compiled schedule of the same graph): each node sees the same inputs and its own
/// state, only the thread differs.
///
/// Real-time safe (see [`Executor::run`]): O(1) checks, then the executor's block protocol.
/// Errors leave every table untouched except [`RunError::StepPanicked`].
pub fn run_parallel<B>(
    executor: &mut Executor,
    schedule: &Schedule,
    nodes: &mut [NodeSlot],
    params: &mut [ParamBlock],
    buffers: &mut [B],
    sample_rate: f32,
) -> Result<(), RunError>
where
    B: Borrow<Block> + BorrowMut<Block> + Send + Sync,
{
    let tasks = schedule.tasks().ok_or(RunError::NotParallel)?;
    check_tables(schedule, nodes, params, buffers)?;
    let tables = StepTables {
        steps: schedule.steps(),
        nodes: nodes.as_mut_ptr(),
        params: params.as_mut_ptr(),
        buffers: buffers.as_mut_ptr(),
        sample_rate,
    };
    // Why every `run_step` call the executor makes is sound: tables checked above. The schedule
    // comes from `compile_parallel` (`Schedule::check_tasks` lists what it guarantees), so every
    // step writes its own buffer and belongs to exactly one task, a task lists its steps in
    // schedule order (a dependency order), and every dependency between steps of different
    // tasks is a task edge; the executor runs each task exactly once per block, on one thread,
    // its steps in the listed order, and starts a task only after all its predecessor tasks
    // finished (their completion is published by the AcqRel dependency counters). Every step
    // that writes an input of step `s` is `s`'s predecessor, so it is either earlier in `s`'s
    // task or in a predecessor task: finished before `s` starts, and no other step writes that
    // buffer. Distinct steps have distinct node slots (a node is scheduled once).
    let run_step = |step: usize| {
        // SAFETY: tables checked above; one task per step, tasks in dependency order, each run once.
        unsafe { tables.run_step(step) }
    };
    executor.run(tasks, &run_step)
}

/// Runs every step of `schedule` (any compile mode) in order on the calling thread: the
/// sequential reference for [`run_parallel`]. Real-time safe: no allocation, O(steps).
pub fn run_sequential<B>(
    schedule: &Schedule,
    nodes: &mut [NodeSlot],
    params: &mut [ParamBlock],
    buffers: &mut [B],
    sample_rate: f32,
) -> Result<(), RunError>
where
    B: Borrow<Block> + BorrowMut<Block> + Send + Sync,
{
    check_tables(schedule, nodes, params, buffers)?;
    let tables = StepTables {
        steps: schedule.steps(),
        nodes: nodes.as_mut_ptr(),
        params: params.as_mut_ptr(),
        buffers: buffers.as_mut_ptr(),
        sample_rate,
    };
    for index in 0..schedule.len() {
        // SAFETY: tables checked above; one thread, steps in schedule order, so every input was
        // written by an earlier step and not overwritten since (Schedule invariant).
        unsafe { tables.run_step(index) };
    }
    Ok(())
}
