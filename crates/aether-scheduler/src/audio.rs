//! The audio half: applies commands, runs the schedule, guards the output.

use aether_command::AudioEnd;
use aether_graph::{BUFFER_SIZE, Block, Inputs, MAX_INPUTS, NO_BUFFER, Schedule};

use crate::buffer_pool::BufferPool;
use crate::denormal::DenormalGuard;
use crate::message::{Command, NODE_MOVES_PER_BLOCK, NODES_PER_BATCH, NodeTable, Receipt};
use crate::stats::{BlockOutcome, SharedStats};
use crate::sync::Arc;

/// The state the audio thread owns: the running schedule, the nodes and the buffers.
pub(crate) struct AudioCore {
    schedule: Schedule,
    /// With a parallel `schedule`: the same graph compiled for one thread, run when the measured
    /// choice keeps the executor idle (see `Commit::in_order`).
    in_order: Option<Schedule>,
    pool: BufferPool,
    table: NodeTable,
    sample_rate: f32,
    /// Runs schedules compiled for parallel execution. Its workers were spawned on the control
    /// thread with the engine and are joined when this is dropped (with the `AudioProcessor`,
    /// off the real-time callback).
    #[cfg(feature = "parallel")]
    executor: Option<aether_parallel::Executor>,
    /// Which path a parallel schedule takes, block by block (see `ParallelConfig::measured_choice`).
    #[cfg(feature = "parallel")]
    chooser: crate::choice::PathChooser,
}

impl AudioCore {
    pub(crate) fn new(pool: BufferPool, table: NodeTable, sample_rate: f32) -> Self {
        AudioCore {
            schedule: Schedule::default(),
            in_order: None,
            pool,
            table,
            sample_rate,
            #[cfg(feature = "parallel")]
            executor: None,
            #[cfg(feature = "parallel")]
            chooser: crate::choice::PathChooser::new(None),
        }
    }

    /// Hands the core an executor and the measured-choice settings (control thread, at
    /// construction).
    #[cfg(feature = "parallel")]
    pub(crate) fn with_executor(
        mut self,
        executor: Option<aether_parallel::Executor>,
        measured_choice: Option<crate::MeasuredChoice>,
    ) -> Self {
        self.executor = executor;
        self.chooser = crate::choice::PathChooser::new(measured_choice);
        self
    }

    /// Applies one command and returns its receipt. O(1) for parameter changes and commits
    /// (pointer swaps), O(batch) for installs and retirements (at most
    /// [`NODES_PER_BATCH`](crate::message::NODES_PER_BATCH) nodes), O(table) for a table
    /// growth. Never allocates or frees: everything replaced is swapped into the command's
    /// box, which goes back as the receipt.
    fn apply(&mut self, command: Command) -> Receipt {
        match command {
            Command::SetParam(change) => {
                let slot = change.node.index() as usize;
                let applied = self.table.params.get_mut(slot).is_some_and(|params| {
                    params
                        .set_target_at(
                            change.index,
                            change.target,
                            change.ramp_samples,
                            change.offset_samples,
                        )
                        .is_ok()
                });
                if applied {
                    Receipt::ParamApplied
                } else {
                    Receipt::ParamRefused
                }
            }
            Command::Grow(mut table) => {
                self.grow(&mut table);
                Receipt::Grow(table)
            }
            Command::Install(mut batch) => {
                self.install(&mut batch);
                Receipt::Batch(batch)
            }
            Command::Commit(mut commit) => {
                if let Some(pool) = commit.pool.as_mut() {
                    core::mem::swap(&mut self.pool, pool);
                }
                core::mem::swap(&mut self.schedule, &mut commit.schedule);
                core::mem::swap(&mut self.in_order, &mut commit.in_order);
                Receipt::Commit(commit)
            }
            Command::Retire(mut batch) => {
                self.retire(&mut batch);
                Receipt::Batch(batch)
            }
        }
    }

    /// Moves every node (a pointer), parameter block and quarantined node into the larger
    /// `table`, then swaps tables: the emptied old one goes back.
    fn grow(&mut self, table: &mut NodeTable) {
        for (old, new) in self.table.nodes.iter_mut().zip(table.nodes.iter_mut()) {
            core::mem::swap(old, new);
        }
        for (old, new) in self.table.params.iter().zip(table.params.iter_mut()) {
            new.clone_from(old);
        }
        for (old, new) in self
            .table
            .quarantine
            .iter_mut()
            .zip(table.quarantine.iter_mut())
        {
            core::mem::swap(old, new);
        }
        core::mem::swap(&mut self.table, table);
    }

    /// Puts new nodes into their (empty) slots with their parameter blocks.
    fn install(&mut self, batch: &mut crate::message::NodeBatch) {
        for added in batch.added.iter_mut() {
            let index = added.id.index() as usize;
            if let (Some(slot), Some(params)) = (
                self.table.nodes.get_mut(index),
                self.table.params.get_mut(index),
            ) {
                core::mem::swap(slot, &mut added.node);
                params.clone_from(&added.params);
            }
        }
    }

    /// Takes removed nodes out of their slots, or out of quarantine for a node that panicked.
    fn retire(&mut self, batch: &mut crate::message::NodeBatch) {
        for removed in batch.removed.iter_mut() {
            let index = removed.id.index() as usize;
            if let Some(slot) = self.table.nodes.get_mut(index) {
                core::mem::swap(slot, &mut removed.node);
            }
            if removed.node.is_none()
                && let Some(quarantined) = self.table.quarantine.get_mut(index)
            {
                core::mem::swap(&mut quarantined.node, &mut removed.node);
                core::mem::swap(&mut quarantined.payload, &mut removed.payload);
            }
        }
    }

    /// Runs every step of the schedule once (on the executor for a schedule compiled for it,
    /// or in order on this thread) and copies the output node's block into `out`, replacing
    /// non-finite samples with silence.
    fn run(&mut self, out: &mut Block) -> BlockOutcome {
        if !fits(&self.schedule, &self.pool, &self.table) {
            out.fill(0.0);
            return BlockOutcome::default();
        }
        let mut outcome = BlockOutcome::default();
        #[cfg(feature = "parallel")]
        let output_buffer = self.run_chosen_path(&mut outcome);
        #[cfg(not(feature = "parallel"))]
        let output_buffer = self.run_in_order(false, &mut outcome);
        let source = output_buffer.and_then(|buffer| self.pool.block(buffer as usize));
        outcome.non_finite = match source {
            Some(block) => guard_copy(block, out),
            None => {
                out.fill(0.0);
                0
            }
        };
        outcome
    }

    /// Runs the schedule on the path the chooser picks for this block: on the executor (a schedule
    /// compiled for it, with an executor) or on this thread (the graph's one-thread schedule when
    /// the commit brought one); times the block when it is part of a probe. Returns the buffer
    /// holding the output node's block. O(1) besides the run itself.
    #[cfg(feature = "parallel")]
    fn run_chosen_path(&mut self, outcome: &mut BlockOutcome) -> Option<u32> {
        let capable = self.executor.is_some() && self.schedule.tasks().is_some();
        let path = self.chooser.next_block(capable);
        let started = path.timed.then(std::time::Instant::now);
        let output_buffer = if path.parallel && self.run_parallel(outcome) {
            self.schedule.output_buffer()
        } else {
            if path.timed
                && let Some(executor) = self.executor.as_mut()
            {
                // A probe alternates the executor with this thread block by block: without this,
                // wake-ahead pacing would see executor blocks two periods apart and wake its
                // workers at the wrong time, and the probe would time a handicapped executor.
                executor.note_block_start();
            }
            self.run_in_order(capable, outcome)
        };
        if let Some(started) = started {
            outcome.measured = self
                .chooser
                .record(outcome.parallel, crate::choice::elapsed_ns(started));
        }
        output_buffer
    }

    /// Runs on this thread: the one-thread schedule when `prefer_in_order` and the commit
    /// brought one that fits the tables, otherwise the main schedule (which `run` checked).
    /// Returns the buffer holding the output node's block.
    fn run_in_order(&mut self, prefer_in_order: bool, outcome: &mut BlockOutcome) -> Option<u32> {
        let schedule = match &self.in_order {
            Some(in_order) if prefer_in_order && fits(in_order, &self.pool, &self.table) => {
                in_order
            }
            _ => &self.schedule,
        };
        outcome.panicked_steps =
            run_steps(schedule, &mut self.pool, &mut self.table, self.sample_rate);
        schedule.output_buffer()
    }

    /// Runs a schedule compiled for parallel execution on the executor. Returns `false` (nothing
    /// ran) for any other schedule, without an executor, or if the executor refused the schedule.
    #[cfg(feature = "parallel")]
    fn run_parallel(&mut self, outcome: &mut BlockOutcome) -> bool {
        let Some(executor) = self.executor.as_mut() else {
            return false;
        };
        if self.schedule.tasks().is_none() {
            return false;
        }
        let result = aether_parallel::run_parallel(
            executor,
            &self.schedule,
            &mut self.table.nodes,
            &mut self.table.params,
            &mut self.table.quarantine,
            self.pool.blocks_mut(),
            self.sample_rate,
        );
        match result {
            Ok(()) => {}
            Err(aether_parallel::RunError::StepPanicked { count }) => {
                outcome.panicked_steps = count;
            }
            // Refused before running anything (more tasks than the executor holds, tables too
            // small): the sequential path runs the same schedule instead.
            Err(_) => return false,
        }
        outcome.parallel = true;
        true
    }
}

/// O(1) consistency check that makes the unchecked buffer and table accesses of a run sound
/// for any schedule the compiler produced (see `Schedule`'s invariants): every buffer index
/// is below `buffer_count`, every node slot below `slot_bound`, and every step's output
/// differs from its inputs.
fn fits(schedule: &Schedule, pool: &BufferPool, table: &NodeTable) -> bool {
    schedule.buffer_count() <= pool.len() && schedule.slot_bound() <= table.len()
}

/// Runs every step of `schedule` in order on this thread (nothing if it does not [`fits`] the
/// tables) and returns how many nodes panicked.
///
/// A node that panics gets the outcome every path gives it (the parallel executor's is
/// `aether_parallel::process_contained`): the panic is caught, the node's output for the block
/// is silence, the node moves to the table's quarantine (its slot is empty from then on, so it
/// is never called again, at no cost per block), and the run resumes at the next step. The
/// catch covers the whole block, not each step, so the normal path pays only for recording
/// which step is running. A panic is a bug in the node: the panic itself allocates its payload
/// and runs the process's panic hook (which prints, by default), which the engine cannot
/// prevent; the payload is then only moved (into the quarantine, back with the node when it is
/// removed), never freed here. Bounded: every panic moves the run past one more step.
fn run_steps(
    schedule: &Schedule,
    pool: &mut BufferPool,
    table: &mut NodeTable,
    sample_rate: f32,
) -> u32 {
    if !fits(schedule, pool, table) {
        return 0;
    }
    let mut panicked = 0u32;
    let mut next = 0usize;
    while next < schedule.len() {
        let mut running = next;
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_steps_from(schedule, pool, table, sample_rate, &mut running);
        }));
        let Err(payload) = run else {
            break;
        };
        panicked += 1;
        if let Some(step) = schedule.steps().get(running) {
            let slot = step.node.index() as usize;
            if let (Some(node), Some(quarantined)) =
                (table.nodes.get_mut(slot), table.quarantine.get_mut(slot))
            {
                // Both quarantine fields are empty (a node panics once: it is never called
                // again), so nothing is dropped here; the payload travels back with the node.
                core::mem::swap(node, &mut quarantined.node);
                let mut payload = Some(payload);
                core::mem::swap(&mut payload, &mut quarantined.payload);
                core::mem::forget(payload);
            } else {
                core::mem::forget(payload);
            }
            if let Some(output) = pool.block_mut(step.output as usize) {
                output.fill(0.0);
            }
        } else {
            core::mem::forget(payload);
        }
        next = running + 1;
    }
    panicked
}

/// Runs steps `*running..` of `schedule` (which [`fits`] the tables), keeping `*running` at the
/// step being run, so a panic that unwinds out of a node tells [`run_steps`] which one it was.
fn run_steps_from(
    schedule: &Schedule,
    pool: &mut BufferPool,
    table: &mut NodeTable,
    sample_rate: f32,
    running: &mut usize,
) {
    let buffers = pool.as_mut_ptr();
    let nodes = &mut table.nodes;
    let params_table = &mut table.params;
    let first = *running;
    for (index, step) in schedule.steps().iter().enumerate().skip(first) {
        *running = index;
        let slot = step.node.index() as usize;
        let mut inputs: Inputs<'_> = [None; MAX_INPUTS];
        let input_end = (step.input_end as usize).min(MAX_INPUTS);
        for (input, &buffer) in inputs.iter_mut().zip(&step.inputs[..input_end]) {
            if buffer != NO_BUFFER {
                // SAFETY: `buffer < buffer_count <= pool.len()` (Schedule invariant and
                // `fits`, checked by the caller), and no `&mut` to this buffer exists while
                // `inputs` lives: the only mutable borrow is `output`, a different buffer.
                *input = Some(unsafe { &(*buffers.add(buffer as usize)).0 });
            }
        }
        // SAFETY: `step.output < buffer_count <= pool.len()`, and it is none of this step's
        // input buffers, so this is the only live reference to that buffer.
        let output = unsafe { &mut (*buffers.add(step.output as usize)).0 };
        // SAFETY: `slot < slot_bound <= table.len()` (Schedule invariant: every step's node
        // index is below `slot_bound`; the caller checked the table length), and both tables
        // have `table.len()` entries.
        let (node, params) = unsafe {
            (
                nodes.get_unchecked_mut(slot),
                params_table.get_unchecked_mut(slot),
            )
        };
        match node {
            Some(node) => node.process(&inputs, output, params, sample_rate),
            None => output.fill(0.0),
        }
    }
}

/// Copies `source` into `out`, replacing NaN and infinities with 0.0; returns how many it replaced.
#[inline]
fn guard_copy(source: &Block, out: &mut Block) -> u64 {
    let mut replaced = 0u64;
    for (o, &s) in out.iter_mut().zip(source) {
        let finite = s.is_finite();
        replaced += u64::from(!finite);
        *o = if finite { s } else { 0.0 };
    }
    replaced
}

/// The audio half of an engine: owns the nodes, the running schedule and the buffers, and is fed
/// by a [`Controller`](crate::Controller) over the command ring.
///
/// # Real-time contract
///
/// [`process`](Self::process) and [`process_block`](Self::process_block) never allocate, free,
/// lock, block, print or panic on anything the control side can send, and their running time is
/// bounded: per 64-sample block at most the per-tick command limit of commands, each O(1) or one
/// batch of at most 64 node moves, and at most 512 node moves in all, however large a commit
/// (the one exception is a growth of the node table, which moves every node once: size
/// `EngineConfig::node_capacity` for the graph to avoid it); then one pass over the schedule. Everything replaced
/// (removed nodes, old schedules, old buffer pools and node tables) is handed back through the
/// return ring, whose room is guaranteed by the ring's protocol.
///
/// With feature `parallel` and workers configured, the processor owns the engine's parallel
/// executor: a block whose schedule was compiled for parallel execution posts its ready tasks to
/// the workers (an atomic swap per worker, plus an `unpark` system call for a worker that has
/// parked), runs tasks on the calling thread too, and returns when every task is done. It spins
/// (no lock, no sleep) only while a worker is finishing a task, so its running time is bounded by
/// the block's work, as long as the workers are scheduled (give them the audio thread's real-time
/// priority for hard deadlines: `ParallelConfig::realtime_priority`).
///
/// A node that panics in `process`, on either path, is contained: the block completes, the
/// node's output is silence, the node is not called again (it waits in quarantine until it is
/// removed), and the panic is counted ([`EngineStats::panicked_steps`](crate::EngineStats::panicked_steps)).
/// The panic itself allocates and runs the process's panic hook; that is the node's bug, and
/// it happens once per node. With the measured choice
/// (`ParallelConfig::measured_choice`) a probe block also reads the monotonic clock twice (a vDSO
/// call on Linux, no system call) and updates a few counters.
///
/// Dropping an `AudioProcessor` drops its nodes and buffers and stops and joins the worker
/// threads: do it after the audio stream has stopped, off the real-time callback (for example by
/// getting it back from the stream's closure), never inside it.
pub struct AudioProcessor {
    ring: AudioEnd<Command, Receipt>,
    core: AudioCore,
    stats: Arc<SharedStats>,
    /// The last block produced, partly consumed by `process`.
    carry: Block,
    /// How many samples of `carry` have been handed out (`BUFFER_SIZE` = all).
    carry_pos: usize,
}

impl AudioProcessor {
    pub(crate) fn new(
        ring: AudioEnd<Command, Receipt>,
        core: AudioCore,
        stats: Arc<SharedStats>,
    ) -> Self {
        AudioProcessor {
            ring,
            core,
            stats,
            carry: [0.0; BUFFER_SIZE],
            carry_pos: BUFFER_SIZE,
        }
    }

    /// The sample rate nodes are told they run at.
    pub fn sample_rate(&self) -> f32 {
        self.core.sample_rate
    }

    /// `true` while the [`Controller`](crate::Controller) exists.
    pub fn is_controller_connected(&self) -> bool {
        self.ring.is_control_connected()
    }

    /// How many parallel workers run with the real-time priority asked for in
    /// [`ParallelConfig::realtime_priority`](crate::ParallelConfig::realtime_priority) (feature
    /// `parallel`; 0 without workers or when it was `None`). Known when the engine is built.
    #[cfg(feature = "parallel")]
    pub fn realtime_workers(&self) -> usize {
        self.core
            .executor
            .as_ref()
            .map_or(0, aether_parallel::Executor::realtime_workers)
    }

    /// Why a parallel worker did not get real-time priority (feature `parallel`), usually
    /// `PermissionDenied`: `None` when every worker got it or none was asked to.
    #[cfg(feature = "parallel")]
    pub fn realtime_error(&self) -> Option<aether_parallel::RealtimeError> {
        self.core
            .executor
            .as_ref()
            .and_then(aether_parallel::Executor::realtime_error)
    }

    /// Applies pending commands (at most the per-tick limit) and renders one block of
    /// [`BUFFER_SIZE`] samples, returning the output node's block (silence without an output).
    ///
    /// Any samples [`process`](Self::process) had not handed out yet are discarded.
    pub fn process_block(&mut self) -> &Block {
        let _flush_denormals = DenormalGuard::new();
        self.render_block();
        self.carry_pos = BUFFER_SIZE;
        &self.carry
    }

    /// Fills `out`, an interleaved buffer of `channels` channels, with any number of frames,
    /// writing the mono output to every channel.
    ///
    /// Blocks of [`BUFFER_SIZE`] samples are rendered as needed and carried across calls, so no
    /// sample is dropped or repeated whatever the host's buffer size. Latency: none when the host
    /// asks for multiples of 64 frames; otherwise the samples of a block are handed out over two
    /// calls, so a command can take effect up to 63 samples later than on a 64-aligned host (never
    /// more than one block). A trailing partial frame (when `out.len()` is not a multiple of
    /// `channels`) and any `channels == 0` call are filled with silence / ignored.
    pub fn process(&mut self, out: &mut [f32], channels: usize) {
        if channels == 0 {
            return;
        }
        let _flush_denormals = DenormalGuard::new();
        let frames = out.len() / channels;
        let (whole_frames, partial_frame) = out.split_at_mut(frames * channels);
        partial_frame.fill(0.0);
        let mut remaining = whole_frames;
        while !remaining.is_empty() {
            if self.carry_pos >= BUFFER_SIZE {
                self.render_block();
                self.carry_pos = 0;
            }
            let available = &self.carry[self.carry_pos..];
            let count = available.len().min(remaining.len() / channels);
            let (now, later) = remaining.split_at_mut(count * channels);
            if channels == 1 {
                now.copy_from_slice(&available[..count]);
            } else {
                for (frame, &sample) in now.chunks_exact_mut(channels).zip(available) {
                    frame.fill(sample);
                }
            }
            self.carry_pos += count;
            remaining = later;
        }
    }

    fn render_block(&mut self) {
        self.apply_commands();
        let outcome = self.core.run(&mut self.carry);
        self.stats.add_block(outcome);
    }

    /// Applies queued commands, oldest first, within one block's budget: at most the ring's
    /// per-tick command limit, and no command once the node moves applied so far leave less
    /// than a full batch of room under [`NODE_MOVES_PER_BLOCK`]. Every command costs O(1) or
    /// one batch, except a table growth (see [`Command::Grow`]).
    pub(crate) fn apply_commands(&mut self) {
        let core = &mut self.core;
        let limit = self.ring.max_commands_per_tick();
        let (mut applied, mut refused, mut moves) = (0usize, 0u64, 0usize);
        while applied < limit && moves + NODES_PER_BATCH <= NODE_MOVES_PER_BLOCK {
            let drained = self.ring.drain(1, |command| {
                moves += command.moves();
                let receipt = core.apply(command);
                refused += u64::from(matches!(receipt, Receipt::ParamRefused));
                receipt
            });
            if drained == 0 {
                break;
            }
            applied += drained;
        }
        self.stats.add_commands(applied as u64, refused);
        self.stats.add_node_moves(moves as u64);
    }

    /// Commands waiting in the ring (for the one-thread `Scheduler`, which applies everything
    /// before it renders).
    pub(crate) fn pending_commands(&self) -> usize {
        self.ring.pending()
    }
}
