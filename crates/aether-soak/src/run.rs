//! The control side of a soak run: builds the engine and the patch, applies one edit per tick
//! through the [`Controller`], and at the end proves that everything sent was applied once.

use std::sync::Arc;

use aether_scheduler::{Controller, EngineConfig, engine};
use aether_telemetry::{StatsReader, callback_stats};

use crate::callback::{AudioCounters, SoakCallback};
use crate::edits::{EditCounts, EditGenerator, apply_edit};
use crate::error::SoakError;
use crate::forensics::MissEvidence;
use crate::patch::SoakPatch;
use crate::report::{SoakReport, TimingSummary};
use crate::rng::SoakRng;

/// Blocks every running node must process after the ring drained before its parameters are
/// compared (the first may have started before the last command was applied).
const SETTLE_BLOCKS: u64 = 2;

/// The control half of a soak run.
///
/// # Real-time contract
///
/// Control thread only: every method may allocate, compile the graph and block on nothing but
/// the `pump` closures it is given. The audio half is the [`SoakCallback`] returned by
/// [`SoakRun::new`].
pub struct SoakRun {
    controller: Controller,
    patch: SoakPatch,
    generator: EditGenerator,
    edits: EditCounts,
    commands_sent: u64,
    stats: StatsReader,
    counters: Arc<AudioCounters>,
    seed: u64,
    nodes: usize,
    sample_rate: u32,
}

impl core::fmt::Debug for SoakRun {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SoakRun")
            .field("seed", &self.seed)
            .field("nodes", &self.nodes)
            .field("commands_sent", &self.commands_sent)
            .finish_non_exhaustive()
    }
}

/// What [`SoakRun::finish`] established.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinalCheck {
    /// Every sent command was applied before the polls ran out.
    pub drained: bool,
    /// Parameters compared between the graph and the audio side.
    pub params_checked: u64,
    /// Of those, how many differ.
    pub params_mismatched: u64,
    /// Edited parameters whose graph value is not the edit's value.
    pub edit_targets_mismatched: u64,
    /// Nodes that ran (their block counter moved) at the end: the ones reaching the output.
    pub running_nodes: u64,
}

impl SoakRun {
    /// Builds an engine at `sample_rate`, a patch of `nodes` nodes from `seed`, and sends it.
    /// Returns the control half and the audio callback.
    pub fn new(
        nodes: usize,
        seed: u64,
        sample_rate: u32,
    ) -> Result<(SoakRun, SoakCallback), SoakError> {
        let config = EngineConfig {
            node_capacity: EngineConfig::default().node_capacity.max(nodes * 2),
            ..EngineConfig::default()
        };
        let (mut controller, processor) = engine(sample_rate as f32, config)?;
        let mut rng = SoakRng::new(seed);
        let patch = SoakPatch::build(controller.graph_mut(), nodes, &mut rng)?;
        let (recorder, stats) = callback_stats();
        let counters = Arc::new(AudioCounters::default());
        let callback = SoakCallback::new(
            processor,
            recorder,
            Arc::clone(&counters),
            f64::from(sample_rate),
        );
        let mut run = SoakRun {
            controller,
            patch,
            generator: EditGenerator::new(rng.next_u64(), nodes),
            edits: EditCounts::default(),
            commands_sent: 0,
            stats,
            counters,
            seed,
            nodes,
            sample_rate,
        };
        let report = run.controller.commit()?;
        run.count_sent(report);
        Ok((run, callback))
    }

    fn count_sent(&mut self, report: aether_scheduler::CommitReport) {
        self.commands_sent += report.commands_sent as u64;
    }

    /// Sends whatever is pending; `true` when nothing is left to send.
    fn commit_pending(&mut self) -> bool {
        if let Ok(report) = self.controller.commit() {
            self.count_sent(report);
        }
        !self.controller.has_pending_changes()
    }

    /// Generates one random edit, applies it to the graph (a refused edit is counted and not
    /// sent) and commits. A busy ring keeps the edit pending for the next commit.
    pub fn edit_once(&mut self) {
        let edit = self
            .generator
            .next_edit(&self.patch, self.controller.graph());
        let outcome = apply_edit(self.controller.graph_mut(), &mut self.patch, &edit);
        self.edits.record(edit.kind(), outcome);
        self.commit_pending();
    }

    /// Edits so far.
    pub fn edits(&self) -> &EditCounts {
        &self.edits
    }

    /// Commands sent so far.
    pub fn commands_sent(&self) -> u64 {
        self.commands_sent
    }

    /// Nodes in the graph now.
    pub fn node_count(&self) -> usize {
        self.controller.graph().node_count()
    }

    /// The engine's counters.
    pub fn engine_stats(&self) -> aether_scheduler::EngineStats {
        self.controller.stats()
    }

    /// The callback statistics reader.
    pub fn callback_stats(&self) -> &StatsReader {
        &self.stats
    }

    /// Ends the run: sends what is pending, waits (calling `pump` between polls, at most
    /// `max_polls` times per stage) until the audio side applied every command, then until every
    /// running node processed two more blocks, and compares every parameter target
    /// of those nodes on the audio side with the graph, and the graph with the edits' values.
    pub fn finish(&mut self, max_polls: usize, mut pump: impl FnMut()) -> FinalCheck {
        let mut check = FinalCheck::default();
        for _ in 0..max_polls {
            if self.commit_pending() {
                break;
            }
            pump();
        }
        for _ in 0..max_polls {
            if self.controller.stats().commands_applied >= self.commands_sent {
                check.drained = !self.controller.has_pending_changes();
                break;
            }
            pump();
        }
        self.controller.collect_garbage();

        // Nodes that run: their block counter moves. Wait for SETTLE_BLOCKS more blocks.
        let start: Vec<(aether_graph::NodeId, u64)> = self
            .patch
            .live()
            .iter()
            .filter_map(|&id| Some((id, self.patch.info(id)?.mirror.blocks())))
            .collect();
        let output_mirror = self
            .patch
            .output()
            .and_then(|id| self.patch.info(id))
            .map(|info| Arc::clone(&info.mirror));
        let output_start = output_mirror.as_ref().map_or(0, |mirror| mirror.blocks());
        for _ in 0..max_polls {
            match &output_mirror {
                Some(mirror) if mirror.blocks() > output_start + SETTLE_BLOCKS => break,
                _ => pump(),
            }
        }
        let graph = self.controller.graph();
        for (id, blocks_before) in start {
            let Some(info) = self.patch.info(id) else {
                continue;
            };
            if info.mirror.blocks() < blocks_before + SETTLE_BLOCKS {
                continue; // not reachable from the output: never runs
            }
            check.running_nodes += 1;
            let count = graph.params(id).map_or(0, |params| params.metas().len());
            for index in 0..count {
                check.params_checked += 1;
                let expected = graph.param_value(id, index);
                if expected != Some(info.mirror.target(index)) {
                    check.params_mismatched += 1;
                }
            }
        }
        for (&(id, index), &target) in self.patch.param_targets() {
            if graph.param_value(id, index) != Some(target) {
                check.edit_targets_mismatched += 1;
            }
        }
        check
    }

    /// The report for everything measured so far (xruns are filled in by the host).
    pub fn report(&self, seconds: f64, buffer_frames: u32, check: FinalCheck) -> SoakReport {
        let engine = self.controller.stats();
        SoakReport {
            seed: self.seed,
            nodes_requested: self.nodes,
            nodes_final: self.node_count(),
            seconds,
            sample_rate: self.sample_rate,
            buffer_frames,
            edits: self.edits,
            commands_sent: self.commands_sent,
            commands_applied: engine.commands_applied,
            drained: check.drained,
            param_changes_refused: engine.param_changes_refused,
            params_checked: check.params_checked,
            params_mismatched: check.params_mismatched,
            edit_targets_mismatched: check.edit_targets_mismatched,
            running_nodes: check.running_nodes,
            engine_non_finite: engine.non_finite_samples,
            output: self.counters.snapshot(),
            timing: TimingSummary::from(&self.stats.snapshot()),
            xruns: Default::default(),
            evidence: MissEvidence::from_log(self.counters.miss_log()),
            audio_cpu: crate::report::AudioThreadCpu::Unpinned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole soak, single-threaded: every edit is followed by two 64-frame callbacks.
    #[test]
    fn offline_soak_applies_every_edit_once_and_passes() {
        let (mut run, mut callback) = SoakRun::new(150, 11, 48_000).expect("run");
        let mut out = [0.0f32; 64];
        for _ in 0..400 {
            run.edit_once();
            callback.process(&mut out);
            callback.process(&mut out);
        }
        let check = run.finish(1_000, || callback.process(&mut out));
        let mut report = run.report(0.0, 64, check);
        // Block times (wall clock or CPU time) are not judged in a unit test.
        report.timing.deadline_misses = 0;
        report.output.misses_on_cpu = 0;
        assert_eq!(
            report.failures(),
            Vec::<String>::new(),
            "{}",
            report.render_table()
        );
        assert!(report.commands_sent > 100);
        assert_eq!(report.commands_sent, report.commands_applied);
        assert!(report.params_checked > 50);
        assert!(report.running_nodes > 100, "{}", report.running_nodes);
    }

    /// A command that never reaches the audio side is caught.
    #[test]
    fn a_lost_command_fails_the_check() {
        let (mut run, mut callback) = SoakRun::new(40, 5, 48_000).expect("run");
        let mut out = [0.0f32; 64];
        callback.process(&mut out);
        for _ in 0..50 {
            run.edit_once();
            callback.process(&mut out);
        }
        // Pretend one more command was sent than really was.
        run.commands_sent += 1;
        let check = run.finish(50, || callback.process(&mut out));
        let report = run.report(0.0, 64, check);
        assert!(!check.drained);
        assert!(
            report
                .failures()
                .iter()
                .any(|failure| failure.contains("did not drain"))
        );
    }
}
