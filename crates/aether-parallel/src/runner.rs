//! Running a compiled [`Schedule`]'s nodes on an [`Executor`], and the sequential reference.

use core::borrow::{Borrow, BorrowMut};
use std::panic::{AssertUnwindSafe, catch_unwind};

use aether_graph::{Block, DspNode, Inputs, MAX_INPUTS, NO_BUFFER, Quarantined, Schedule, Step};
use aether_params::ParamBlock;

use crate::executor::{Executor, RunError};
use crate::sync::{AtomicU32, Ordering};

/// A node slot of an audio-side table: empty, or a node instance.
pub type NodeSlot = Option<Box<dyn DspNode>>;

/// Raw views of the tables one block works on, shared by the threads running its steps.
struct StepTables<'a, B> {
    steps: &'a [Step],
    nodes: *mut NodeSlot,
    params: *mut ParamBlock,
    quarantine: *mut Quarantined,
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
    /// buffer (silence if its slot is empty). Returns `true` if the node panicked: the panic is
    /// contained, the step's output is silence, and the node is moved to its quarantine slot,
    /// so its own slot is empty and it is not called again.
    ///
    /// # Safety
    ///
    /// - every buffer index and node slot of the schedule is in range of the tables (checked by
    ///   [`check_tables`] before the block);
    /// - no other thread uses this step's node slot, parameter block or output buffer during the
    ///   call, and every step writing one of its input buffers finished before the call, with no
    ///   step writing that buffer concurrently.
    unsafe fn run_step(&self, index: usize) -> bool {
        let Some(step) = self.steps.get(index) else {
            return false;
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
        let (node, params, quarantine) = unsafe {
            (
                &mut *self.nodes.add(slot),
                &mut *self.params.add(slot),
                &mut *self.quarantine.add(slot),
            )
        };
        process_contained(node, quarantine, &inputs, output, params, self.sample_rate)
    }
}

/// Runs one node on one block, containing a panic: the outcome every path of the engine gives a
/// panicking node. An empty slot outputs silence. A node that panics gets silence for this
/// block's output and is moved from `node` into `quarantine` (a slot of the same table kept
/// empty for it) with the panic's payload, so its own slot is empty and it is never called
/// again; the call returns `true` so the caller counts it. Whoever removes the node later takes
/// both from `quarantine` and drops them off the audio thread.
///
/// Real-time: on the normal path this is the node's `process` call. A panic is a bug in the
/// node: the panic itself allocates its payload and runs the process's panic hook (which
/// prints, by default), neither of which the engine controls; the payload is then only moved,
/// never freed here.
#[inline]
pub fn process_contained(
    node: &mut NodeSlot,
    quarantine: &mut Quarantined,
    inputs: &Inputs<'_>,
    output: &mut Block,
    params: &mut ParamBlock,
    sample_rate: f32,
) -> bool {
    let Some(running) = node else {
        output.fill(0.0);
        return false;
    };
    let run = catch_unwind(AssertUnwindSafe(|| {
        running.process(inputs, output, params, sample_rate);
    }));
    match run {
        Ok(()) => false,
        Err(payload) => {
            // Both quarantine fields are empty (a node panics once: it is never called again),
            // so these replace nothing that would need dropping.
            core::mem::swap(node, &mut quarantine.node);
            let mut payload = Some(payload);
            core::mem::swap(&mut payload, &mut quarantine.payload);
            core::mem::forget(payload);
            output.fill(0.0);
            true
        }
    }
}

/// O(1) check that makes the unchecked accesses of `run_step` in range for any schedule the
/// compiler produced (its buffer indices are `< buffer_count`, its slots `< slot_bound`).
fn check_tables<B>(
    schedule: &Schedule,
    nodes: &[NodeSlot],
    params: &[ParamBlock],
    quarantine: &[Quarantined],
    buffers: &[B],
) -> Result<(), RunError> {
    if schedule.buffer_count() > buffers.len()
        || schedule.slot_bound() > nodes.len()
        || schedule.slot_bound() > params.len()
        || schedule.slot_bound() > quarantine.len()
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
/// `quarantine` is a table of the same length as `nodes`, holding nodes that panicked (empty
/// slots otherwise). A node that panics in this block is contained by [`process_contained`]:
/// its output is silence, it is moved to its quarantine slot (so it is not called again), the
/// block completes, and the count comes back as [`RunError::StepPanicked`].
///
/// Real-time safe (see [`Executor::run`]): O(1) checks, then the executor's block protocol.
/// Errors leave every table untouched except [`RunError::StepPanicked`].
pub fn run_parallel<B>(
    executor: &mut Executor,
    schedule: &Schedule,
    nodes: &mut [NodeSlot],
    params: &mut [ParamBlock],
    quarantine: &mut [Quarantined],
    buffers: &mut [B],
    sample_rate: f32,
) -> Result<(), RunError>
where
    B: Borrow<Block> + BorrowMut<Block> + Send + Sync,
{
    let tasks = schedule.tasks().ok_or(RunError::NotParallel)?;
    check_tables(schedule, nodes, params, quarantine, buffers)?;
    let tables = StepTables {
        steps: schedule.steps(),
        nodes: nodes.as_mut_ptr(),
        params: params.as_mut_ptr(),
        quarantine: quarantine.as_mut_ptr(),
        buffers: buffers.as_mut_ptr(),
        sample_rate,
    };
    let panicked = AtomicU32::new(0);
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
        if unsafe { tables.run_step(step) } {
            panicked.fetch_add(1, Ordering::Relaxed);
        }
    };
    executor.run(tasks, &run_step)?;
    // Every task finished (the executor's completion count is AcqRel), so every increment is
    // visible here.
    match panicked.load(Ordering::Relaxed) {
        0 => Ok(()),
        count => Err(RunError::StepPanicked { count }),
    }
}

/// Runs every step of `schedule` (any compile mode) in order on the calling thread: the
/// sequential reference for [`run_parallel`], with the same treatment of panicking nodes. Real-time safe: no allocation, O(steps).
pub fn run_sequential<B>(
    schedule: &Schedule,
    nodes: &mut [NodeSlot],
    params: &mut [ParamBlock],
    quarantine: &mut [Quarantined],
    buffers: &mut [B],
    sample_rate: f32,
) -> Result<(), RunError>
where
    B: Borrow<Block> + BorrowMut<Block> + Send + Sync,
{
    check_tables(schedule, nodes, params, quarantine, buffers)?;
    let tables = StepTables {
        steps: schedule.steps(),
        nodes: nodes.as_mut_ptr(),
        params: params.as_mut_ptr(),
        quarantine: quarantine.as_mut_ptr(),
        buffers: buffers.as_mut_ptr(),
        sample_rate,
    };
    let mut panicked = 0u32;
    for index in 0..schedule.len() {
        // SAFETY: tables checked above; one thread, steps in schedule order, so every input was
        // written by an earlier step and not overwritten since (Schedule invariant).
        panicked += u32::from(unsafe { tables.run_step(index) });
    }
    match panicked {
        0 => Ok(()),
        count => Err(RunError::StepPanicked { count }),
    }
}
