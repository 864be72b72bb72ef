//! The soak's findings, the checks that decide pass or fail, and how they are printed.

use core::fmt::Write as _;

use aether_telemetry::CallbackStats;

use crate::callback::OutputCounts;
use crate::edits::{EditCounts, EditKind};
use crate::forensics::MissEvidence;

/// Engine block times, from the callback statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimingSummary {
    /// Callbacks timed.
    pub callbacks: u64,
    /// Callbacks whose engine time exceeded the period.
    pub deadline_misses: u64,
    /// Median engine time (histogram, within 1/16).
    pub median_ns: u64,
    /// 99th percentile engine time.
    pub p99_ns: u64,
    /// Longest engine time (exact).
    pub max_ns: u64,
    /// Engine time over period time.
    pub cpu_load: f64,
    /// Mean period.
    pub period_ns: u64,
}

impl From<&CallbackStats> for TimingSummary {
    fn from(stats: &CallbackStats) -> Self {
        TimingSummary {
            callbacks: stats.callbacks(),
            deadline_misses: stats.deadline_misses(),
            median_ns: stats.median_ns(),
            p99_ns: stats.p99_ns(),
            max_ns: stats.max_ns(),
            cpu_load: stats.cpu_load(),
            period_ns: stats.mean_period_ns(),
        }
    }
}

/// JACK's xrun counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct XrunCounts {
    /// Length of the idle-only phase (only the idle client running), in seconds.
    pub idle_phase_seconds: f64,
    /// Xruns the idle client saw during the idle-only phase.
    pub idle_phase: u64,
    /// Xruns the idle client saw while the engine ran.
    pub engine_phase_idle_client: u64,
    /// Xruns the engine client saw while it ran.
    pub engine_phase_engine_client: u64,
}

/// Where the engine's audio thread ran (see [`crate::affinity`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AudioThreadCpu {
    /// Not pinned: the host's scheduler could move it between CPUs (also the offline run).
    #[default]
    Unpinned,
    /// Pinned to `cpu` when its thread started; `chosen` if the soak picked the CPU (the one
    /// with the fewest device interrupts) rather than `--audio-cpu N`.
    Pinned {
        /// The CPU.
        cpu: usize,
        /// Picked by the soak.
        chosen: bool,
    },
    /// Pinning was asked for and refused; the thread ran unpinned.
    Failed {
        /// The CPU asked for.
        cpu: usize,
        /// The operating system's answer.
        error: String,
    },
}

impl AudioThreadCpu {
    fn describe(&self) -> String {
        match self {
            AudioThreadCpu::Unpinned => "not pinned".to_owned(),
            AudioThreadCpu::Pinned { cpu, chosen: true } => {
                format!("cpu{cpu} (fewest device irqs)")
            }
            AudioThreadCpu::Pinned { cpu, chosen: false } => format!("cpu{cpu} (--audio-cpu)"),
            AudioThreadCpu::Failed { cpu, error } => {
                format!("unpinned: cpu{cpu} refused ({error})")
            }
        }
    }

    fn key(&self) -> String {
        match self {
            AudioThreadCpu::Pinned { cpu, .. } => cpu.to_string(),
            AudioThreadCpu::Unpinned | AudioThreadCpu::Failed { .. } => "none".to_owned(),
        }
    }
}

/// Everything a soak run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SoakReport {
    /// Seed of the edit sequence (and the patch).
    pub seed: u64,
    /// Nodes the patch started with.
    pub nodes_requested: usize,
    /// Nodes at the end.
    pub nodes_final: usize,
    /// Nodes running at the end (reaching the output).
    pub running_nodes: u64,
    /// Length of the editing phase, in seconds.
    pub seconds: f64,
    /// Host sample rate.
    pub sample_rate: u32,
    /// Host buffer size in frames.
    pub buffer_frames: u32,
    /// Edits generated, per kind, and refusals.
    pub edits: EditCounts,
    /// Commands the controller sent (schedules + parameter changes), from its commit reports.
    pub commands_sent: u64,
    /// Commands the audio side applied, from the engine's counters.
    pub commands_applied: u64,
    /// `true` if every command was applied before the deadline at the end of the run.
    pub drained: bool,
    /// Parameter changes the audio side refused.
    pub param_changes_refused: u64,
    /// Parameters compared between the control side's graph and the audio side.
    pub params_checked: u64,
    /// Of those, parameters whose audio-side target differs.
    pub params_mismatched: u64,
    /// Edited parameters whose final value in the graph differs from the edit's value.
    pub edit_targets_mismatched: u64,
    /// Non-finite samples the engine replaced in its output guard.
    pub engine_non_finite: u64,
    /// What the callback saw.
    pub output: OutputCounts,
    /// Engine block times.
    pub timing: TimingSummary,
    /// JACK xruns.
    pub xruns: XrunCounts,
    /// The logged slow blocks and what the interrupt counters did around them (evidence only:
    /// no check reads it).
    pub evidence: MissEvidence,
    /// Where the engine's audio thread ran.
    pub audio_cpu: AudioThreadCpu,
}

impl SoakReport {
    /// Edits lost between the controller and the audio side: commands sent but not applied
    /// (negative numbers mean applied twice, reported as a difference either way).
    pub fn lost_commands(&self) -> u64 {
        self.commands_sent.abs_diff(self.commands_applied)
    }

    /// At least half the requested nodes still reach the output at the end, so the run really
    /// exercised a patch of about the requested size.
    pub fn enough_running(&self) -> bool {
        self.running_nodes.saturating_mul(2) >= self.nodes_requested as u64
    }

    /// Every failed check, as a sentence. Empty means the run passed.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut check = |ok: bool, message: String| {
            if !ok {
                failures.push(message);
            }
        };
        check(
            self.output.callbacks > 0,
            "the engine callback never ran".into(),
        );
        check(
            self.output.alloc_violations == 0,
            format!(
                "{} allocations/frees on the audio thread",
                self.output.alloc_violations
            ),
        );
        check(
            self.output.misses_on_cpu == 0,
            format!(
                "{} engine blocks slower than the period with the engine's thread on the CPU \
                 throughout (most CPU time in one block {:.1} us)",
                self.output.misses_on_cpu,
                self.output.max_cpu_ns as f64 / 1e3
            ),
        );
        check(
            self.drained && self.commands_sent == self.commands_applied,
            format!(
                "{} commands sent but {} applied{}",
                self.commands_sent,
                self.commands_applied,
                if self.drained {
                    ""
                } else {
                    " (ring did not drain)"
                }
            ),
        );
        check(
            self.param_changes_refused == 0,
            format!(
                "{} parameter changes refused by the audio side",
                self.param_changes_refused
            ),
        );
        check(
            self.params_mismatched == 0,
            format!(
                "{} of {} parameter targets differ between control and audio side",
                self.params_mismatched, self.params_checked
            ),
        );
        check(
            self.params_checked > 0,
            "no parameter could be compared with the audio side".into(),
        );
        check(
            self.edit_targets_mismatched == 0,
            format!(
                "{} edited parameters lost their edit's value in the graph",
                self.edit_targets_mismatched
            ),
        );
        check(
            self.enough_running(),
            format!(
                "only {} of {} nodes still reach the output: the patch fell apart",
                self.running_nodes, self.nodes_requested
            ),
        );
        check(
            self.edits.accepted() > 0,
            "no edit was accepted by the graph".into(),
        );
        check(
            self.engine_non_finite == 0 && self.output.non_finite_samples == 0,
            format!(
                "non-finite output: {} replaced by the engine, {} reached the host",
                self.engine_non_finite, self.output.non_finite_samples
            ),
        );
        check(
            self.output.sounding_blocks > 0,
            "the output never sounded".into(),
        );
        check(
            self.output.silent_blocks == 0,
            format!(
                "{} all-zero blocks while the protected voice was playing",
                self.output.silent_blocks
            ),
        );
        failures
    }

    /// `true` when the run failed only because the engine's thread used more CPU time than the
    /// period in some blocks: every other check (allocations, delivery, output) passed. On a
    /// shared virtual machine that check can be failed by the machine itself (interrupt and
    /// hypervisor time is charged to the running thread), so callers may treat it apart.
    pub fn only_timing_failed(&self) -> bool {
        self.output.misses_on_cpu > 0 && self.failures().len() == 1
    }

    /// `true` when no check failed.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The human-readable table.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        let us = |ns: u64| ns as f64 / 1e3;
        let mut row = |name: &str, value: String, verdict: &str| {
            let _ = writeln!(out, "  {name:<34} {value:>22}  {verdict}");
        };
        let verdict = |ok: bool| if ok { "ok" } else { "FAIL" };
        row("seed", self.seed.to_string(), "");
        row(
            "nodes (start -> end)",
            format!("{} -> {}", self.nodes_requested, self.nodes_final),
            "",
        );
        row(
            "nodes running at the end",
            self.running_nodes.to_string(),
            verdict(self.enough_running()),
        );
        row("editing time", format!("{:.1} s", self.seconds), "");
        row(
            "host",
            format!("{} Hz, {} frames", self.sample_rate, self.buffer_frames),
            "",
        );
        row(
            "callbacks",
            self.output.callbacks.to_string(),
            verdict(self.output.callbacks > 0),
        );
        row(
            "audio-thread allocations + frees",
            self.output.alloc_violations.to_string(),
            verdict(self.output.alloc_violations == 0),
        );
        row(
            "engine deadline misses (on CPU)",
            self.output.misses_on_cpu.to_string(),
            verdict(self.output.misses_on_cpu == 0),
        );
        row(
            "blocks late by the wall clock",
            format!(
                "{} ({} off CPU)",
                self.timing.deadline_misses, self.output.misses_off_cpu
            ),
            "",
        );
        row(
            "engine time median / p99 / max",
            format!(
                "{:.1} / {:.1} / {:.1} us",
                us(self.timing.median_ns),
                us(self.timing.p99_ns),
                us(self.timing.max_ns)
            ),
            "",
        );
        row(
            "audio-thread page faults (blocks)",
            format!(
                "{} ({})",
                self.output.page_faults, self.output.blocks_with_page_faults
            ),
            "",
        );
        row(
            "most CPU time in one block",
            format!("{:.1} us", us(self.output.max_cpu_ns)),
            "",
        );
        row(
            "slowest block at",
            format!(
                "callback {} ({:.2} s in)",
                self.output.slowest_at,
                self.output.slowest_at as f64 * f64::from(self.buffer_frames)
                    / f64::from(self.sample_rate.max(1))
            ),
            "",
        );
        row("engine thread CPU", self.audio_cpu.describe(), "");
        row(
            "period / engine load",
            format!(
                "{:.1} us / {:.1}%",
                us(self.timing.period_ns),
                self.timing.cpu_load * 100.0
            ),
            "",
        );
        let kinds: Vec<String> = EditKind::ALL
            .iter()
            .map(|&kind| self.edits.attempted(kind).to_string())
            .collect();
        row("edits generated", self.edits.total().to_string(), "");
        row("  add/remove/connect/disconnect/param", kinds.join("/"), "");
        row(
            "edits rejected by validation",
            format!(
                "{} ({} cycles)",
                self.edits.rejected(),
                self.edits.rejected_cycle()
            ),
            "",
        );
        row(
            "commands sent / applied",
            format!("{} / {}", self.commands_sent, self.commands_applied),
            verdict(self.drained && self.lost_commands() == 0),
        );
        row(
            "lost edits",
            self.lost_commands().to_string(),
            verdict(self.drained && self.lost_commands() == 0),
        );
        row(
            "parameter changes refused",
            self.param_changes_refused.to_string(),
            verdict(self.param_changes_refused == 0),
        );
        row(
            "param targets audio == control",
            format!(
                "{} of {}",
                self.params_checked - self.params_mismatched.min(self.params_checked),
                self.params_checked
            ),
            verdict(self.params_mismatched == 0 && self.params_checked > 0),
        );
        row(
            "edited params holding their value",
            format!("{} wrong", self.edit_targets_mismatched),
            verdict(self.edit_targets_mismatched == 0),
        );
        row(
            "non-finite samples (engine / host)",
            format!(
                "{} / {}",
                self.engine_non_finite, self.output.non_finite_samples
            ),
            verdict(self.engine_non_finite == 0 && self.output.non_finite_samples == 0),
        );
        row(
            "silent blocks while sounding",
            self.output.silent_blocks.to_string(),
            verdict(self.output.silent_blocks == 0 && self.output.sounding_blocks > 0),
        );
        row(
            "max jump within / across blocks",
            format!(
                "{:.4} / {:.4}",
                self.output.max_jump_within, self.output.max_jump_boundary
            ),
            "",
        );
        row("output peak", format!("{:.4}", self.output.peak), "");
        row(
            "JACK xruns (server-wide), idle-only",
            format!(
                "{} in {:.1} s",
                self.xruns.idle_phase, self.xruns.idle_phase_seconds
            ),
            "",
        );
        row(
            "JACK xruns (server-wide), engine",
            format!(
                "seen by engine {} / idle {}",
                self.xruns.engine_phase_engine_client, self.xruns.engine_phase_idle_client
            ),
            "",
        );
        out
    }

    /// The slow-block forensics: one line per logged block and the sampler's figures.
    pub fn render_evidence(&self) -> String {
        self.evidence.render(self.buffer_frames, self.sample_rate)
    }

    /// One `key=value` line for scripts; always the last line the soak prints.
    pub fn machine_line(&self) -> String {
        format!(
            "soak-result: status={} nodes={} seconds={:.1} seed={} callbacks={} alloc_violations={} \
             running_nodes={} engine_deadline_misses={} late_blocks={} late_blocks_off_cpu={} max_us={:.1} commands_sent={} commands_applied={} lost_edits={} \
             rejected={} param_mismatches={} non_finite={} silent_blocks={} xruns_idle_phase={} \
             xruns_engine_phase={} slow_blocks_logged={} slow_blocks_unlogged={} audio_cpu={}",
            if self.passed() { "pass" } else { "fail" },
            self.nodes_requested,
            self.seconds,
            self.seed,
            self.output.callbacks,
            self.output.alloc_violations,
            self.running_nodes,
            self.output.misses_on_cpu,
            self.timing.deadline_misses,
            self.output.misses_off_cpu,
            self.timing.max_ns as f64 / 1e3,
            self.commands_sent,
            self.commands_applied,
            self.lost_commands(),
            self.edits.rejected(),
            self.params_mismatched,
            self.engine_non_finite + self.output.non_finite_samples,
            self.output.silent_blocks,
            self.xruns.idle_phase,
            self.xruns.engine_phase_engine_client,
            self.evidence.records.len(),
            self.evidence.unlogged,
            self.audio_cpu.key(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::Rejection;

    fn passing() -> SoakReport {
        let mut edits = EditCounts::default();
        edits.record(EditKind::Param, Ok(()));
        edits.record(EditKind::Connect, Err(Rejection::Cycle));
        SoakReport {
            seed: 1,
            nodes_requested: 1_000,
            nodes_final: 990,
            seconds: 60.0,
            sample_rate: 48_000,
            buffer_frames: 64,
            edits,
            commands_sent: 10,
            commands_applied: 10,
            drained: true,
            params_checked: 500,
            running_nodes: 900,
            output: OutputCounts {
                callbacks: 45_000,
                sounding_blocks: 45_000,
                ..OutputCounts::default()
            },
            ..SoakReport::default()
        }
    }

    #[test]
    fn a_clean_run_passes_and_says_so() {
        let report = passing();
        assert_eq!(report.failures(), Vec::<String>::new());
        assert!(
            report
                .machine_line()
                .starts_with("soak-result: status=pass ")
        );
        assert!(report.machine_line().contains(" lost_edits=0 "));
        assert!(
            report
                .machine_line()
                .ends_with(" slow_blocks_logged=0 slow_blocks_unlogged=0 audio_cpu=none")
        );
        assert!(!report.machine_line().contains('\n'));
        assert!(report.render_table().contains("not pinned"));
        let pinned = SoakReport {
            audio_cpu: AudioThreadCpu::Pinned {
                cpu: 1,
                chosen: true,
            },
            ..passing()
        };
        assert!(pinned.machine_line().ends_with(" audio_cpu=1"));
        assert!(pinned.render_table().contains("cpu1 (fewest device irqs)"));
        let refused = SoakReport {
            audio_cpu: AudioThreadCpu::Failed {
                cpu: 3,
                error: "Invalid argument".to_owned(),
            },
            ..passing()
        };
        assert!(refused.machine_line().ends_with(" audio_cpu=none"));
        assert!(
            refused
                .render_table()
                .contains("cpu3 refused (Invalid argument)")
        );
        assert!(!report.only_timing_failed());
        let table = report.render_table();
        assert!(table.contains("edits rejected by validation"));
        assert!(!table.contains("FAIL"));
    }

    #[test]
    fn each_broken_promise_fails_the_run() {
        type Breakage = fn(&mut SoakReport);
        let cases: Vec<(Breakage, &str)> = vec![
            (|r| r.output.alloc_violations = 1, "allocations"),
            (|r| r.output.misses_on_cpu = 2, "slower than the period"),
            (|r| r.commands_applied = 9, "10 commands sent but 9 applied"),
            (|r| r.commands_applied = 11, "applied"),
            (|r| r.drained = false, "did not drain"),
            (|r| r.param_changes_refused = 1, "refused"),
            (|r| r.params_mismatched = 3, "differ"),
            (|r| r.params_checked = 0, "no parameter"),
            (|r| r.edit_targets_mismatched = 1, "lost their edit"),
            (|r| r.engine_non_finite = 4, "non-finite"),
            (|r| r.output.non_finite_samples = 4, "non-finite"),
            (|r| r.output.silent_blocks = 1, "all-zero"),
            (|r| r.output.sounding_blocks = 0, "never sounded"),
            (|r| r.output.callbacks = 0, "never ran"),
            (|r| r.edits = EditCounts::default(), "no edit"),
            (|r| r.running_nodes = 499, "fell apart"),
        ];
        for (breakage, expected) in cases {
            let mut report = passing();
            breakage(&mut report);
            let failures = report.failures();
            assert!(
                failures.iter().any(|failure| failure.contains(expected)),
                "{expected:?} not in {failures:?}"
            );
            assert!(
                report
                    .machine_line()
                    .starts_with("soak-result: status=fail ")
            );
            assert!(report.render_table().contains("FAIL") || expected == "no edit");
            assert_eq!(
                report.only_timing_failed(),
                expected == "slower than the period",
                "{expected}"
            );
        }
    }
}
