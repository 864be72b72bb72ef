//! Counters the audio thread publishes and the control thread reads, without locks.

use crate::sync::{AtomicU64, Ordering};

/// Counters shared between the halves of an engine. The audio side only adds (relaxed atomic
/// adds: wait-free), the control side only reads.
#[derive(Debug, Default)]
pub(crate) struct SharedStats {
    blocks: AtomicU64,
    non_finite_samples: AtomicU64,
    commands_applied: AtomicU64,
    param_changes_refused: AtomicU64,
    parallel_blocks: AtomicU64,
    panicked_steps: AtomicU64,
    node_moves: AtomicU64,
    max_node_moves_per_block: AtomicU64,
    /// The last probe of the measured choice: the fastest block of each path, and one word
    /// with the choice (bits 0-1: 0 none yet, 1 sequential, 2 parallel), the executor's wins
    /// (bits 8-15) and the pairs (bits 16-23). Written together by the audio side once per
    /// probe; the control side may read a mix of two probes, each value itself whole.
    #[cfg(feature = "parallel")]
    measured_parallel_ns: AtomicU64,
    #[cfg(feature = "parallel")]
    measured_sequential_ns: AtomicU64,
    #[cfg(feature = "parallel")]
    measured_choice: AtomicU64,
    probes: AtomicU64,
}

/// A copy of the engine's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Blocks of [`BUFFER_SIZE`](aether_graph::BUFFER_SIZE) samples processed.
    pub blocks: u64,
    /// Output samples that were NaN or infinite and were replaced by silence.
    pub non_finite_samples: u64,
    /// Commands the audio side applied (commits and parameter changes).
    pub commands_applied: u64,
    /// Parameter changes the audio side could not apply (the parameter's queue of
    /// sample-offset changes was full).
    pub param_changes_refused: u64,
    /// Blocks whose schedule ran on the parallel executor (feature `parallel`; always 0
    /// without it).
    pub parallel_blocks: u64,
    /// Node `process` calls that panicked, on any path (one thread or the parallel executor).
    /// Every path contains the panic the same way: the engine keeps running, the node's output
    /// is silence from that block on, and the node is not called again (removing it hands it
    /// back as usual), so each panicking node counts once.
    pub panicked_steps: u64,
    /// Nodes installed into or taken out of the audio side's table so far (commits of many
    /// nodes are applied a bounded number of moves per block).
    pub node_moves: u64,
    /// The most node moves applied in one block: never more than the per-block budget
    /// (512), however large a commit.
    pub max_node_moves_per_block: u64,
    /// Probes of the measured choice completed so far (feature `parallel`, see
    /// `ParallelConfig::measured_choice`).
    pub probes: u64,
    /// The last probe's outcome: `None` before the first probe ends (and always without the
    /// feature or the setting). Each field is read atomically, but right after a new probe
    /// the fields may come from two consecutive probes.
    #[cfg(feature = "parallel")]
    pub measured_paths: Option<crate::MeasuredPaths>,
}

/// What one block did, for [`SharedStats::add_block`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BlockOutcome {
    /// Output samples replaced by silence.
    pub(crate) non_finite: u64,
    /// The schedule ran on the executor.
    pub(crate) parallel: bool,
    /// Steps that panicked (and were quarantined) in the block.
    pub(crate) panicked_steps: u32,
    /// A probe of the measured choice ended in this block.
    #[cfg(feature = "parallel")]
    pub(crate) measured: Option<crate::MeasuredPaths>,
}

impl SharedStats {
    pub(crate) fn add_block(&self, outcome: BlockOutcome) {
        self.blocks.fetch_add(1, Ordering::Relaxed);
        if outcome.non_finite > 0 {
            self.non_finite_samples
                .fetch_add(outcome.non_finite, Ordering::Relaxed);
        }
        if outcome.parallel {
            self.parallel_blocks.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.panicked_steps > 0 {
            self.panicked_steps
                .fetch_add(u64::from(outcome.panicked_steps), Ordering::Relaxed);
        }
        #[cfg(feature = "parallel")]
        if let Some(measured) = outcome.measured {
            self.measured_parallel_ns
                .store(measured.parallel_best_ns, Ordering::Relaxed);
            self.measured_sequential_ns
                .store(measured.sequential_best_ns, Ordering::Relaxed);
            let word = (1 + u64::from(measured.parallel_chosen))
                | (u64::from(measured.executor_wins.min(255)) << 8)
                | (u64::from(measured.pairs.min(255)) << 16);
            self.measured_choice.store(word, Ordering::Relaxed);
            self.probes.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn add_node_moves(&self, moves: u64) {
        if moves > 0 {
            self.node_moves.fetch_add(moves, Ordering::Relaxed);
            if moves > self.max_node_moves_per_block.load(Ordering::Relaxed) {
                self.max_node_moves_per_block
                    .store(moves, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn add_commands(&self, applied: u64, refused: u64) {
        if applied > 0 {
            self.commands_applied.fetch_add(applied, Ordering::Relaxed);
        }
        if refused > 0 {
            self.param_changes_refused
                .fetch_add(refused, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> EngineStats {
        EngineStats {
            blocks: self.blocks.load(Ordering::Relaxed),
            non_finite_samples: self.non_finite_samples.load(Ordering::Relaxed),
            commands_applied: self.commands_applied.load(Ordering::Relaxed),
            param_changes_refused: self.param_changes_refused.load(Ordering::Relaxed),
            parallel_blocks: self.parallel_blocks.load(Ordering::Relaxed),
            panicked_steps: self.panicked_steps.load(Ordering::Relaxed),
            node_moves: self.node_moves.load(Ordering::Relaxed),
            max_node_moves_per_block: self.max_node_moves_per_block.load(Ordering::Relaxed),
            probes: self.probes.load(Ordering::Relaxed),
            #[cfg(feature = "parallel")]
            measured_paths: match self.measured_choice.load(Ordering::Relaxed) {
                0 => None,
                word => Some(crate::MeasuredPaths {
                    pairs: ((word >> 16) & 0xff) as u32,
                    executor_wins: ((word >> 8) & 0xff) as u32,
                    parallel_best_ns: self.measured_parallel_ns.load(Ordering::Relaxed),
                    sequential_best_ns: self.measured_sequential_ns.load(Ordering::Relaxed),
                    parallel_chosen: word & 0b11 == 2,
                }),
            },
        }
    }
}
