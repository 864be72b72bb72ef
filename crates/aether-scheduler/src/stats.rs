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
}

impl SharedStats {
    pub(crate) fn add_block(&self, non_finite: u64) {
        self.blocks.fetch_add(1, Ordering::Relaxed);
        if non_finite > 0 {
            self.non_finite_samples
                .fetch_add(non_finite, Ordering::Relaxed);
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
        }
    }
}
