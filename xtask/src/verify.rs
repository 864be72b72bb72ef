//! `cargo xtask verify`: every check in order, then one summary table.

use crate::counts::TestCounts;
use crate::step::{StepReport, format_duration};
use crate::system::AudioSupport;
use crate::workspace::Workspace;
use crate::{alloc, clippy, doc, fmt, fuzz, loom, test};

/// Runs fmt, clippy, test, doc, loom, alloc and fuzz-replay in that order, carrying on after
/// a failure so the summary is complete, then prints the summary.
///
/// Features that need the audio packages (ALSA, JACK) are checked only when the machine has
/// them; the summary says which were checked or skipped.
///
/// Returns whether every step passed (loom, alloc and fuzz-replay fail themselves when they
/// ran zero tests).
pub fn run(workspace: &Workspace, preemptions: u32) -> bool {
    let audio = AudioSupport::detect(workspace);
    println!("{}", audio.summary_line());
    let reports = vec![
        fmt::run(workspace),
        clippy::run(workspace, &audio),
        test::run(workspace, &audio),
        doc::run(workspace, &audio),
        loom::run(workspace, preemptions),
        alloc::run(workspace),
        fuzz::replay(workspace),
    ];
    println!();
    print!(
        "{}",
        render_summary(&reports, preemptions, &audio.summary_line())
    );
    reports.iter().all(|report| report.ok)
}

/// The summary table and the closing lines (`audio_line` says which audio features were
/// checked); the last line is always `verify: N passed, M failed` with totals over every step
/// that ran tests.
pub fn render_summary(reports: &[StepReport], preemptions: u32, audio_line: &str) -> String {
    let mut out = String::new();
    out.push_str("verify summary\n");
    out.push_str(&format!(
        "{:<11} {:<7} {:>10} {:>7} {:>7} {:>8}  {}\n",
        "step", "result", "time", "passed", "failed", "ignored", "note"
    ));
    let mut total = TestCounts::default();
    for report in reports {
        let (passed, failed, ignored) = match report.counts {
            Some(counts) => {
                total += counts;
                (
                    counts.passed.to_string(),
                    counts.failed.to_string(),
                    counts.ignored.to_string(),
                )
            }
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        let line = format!(
            "{:<11} {:<7} {:>10} {:>7} {:>7} {:>8}  {}",
            report.name,
            report.status_word(),
            format_duration(report.duration),
            passed,
            failed,
            ignored,
            report.note.as_deref().unwrap_or("")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }

    let failed_steps: Vec<&str> = reports
        .iter()
        .filter(|report| !report.ok)
        .map(|report| report.name)
        .collect();
    if failed_steps.is_empty() {
        out.push_str(&format!("steps: all {} ok\n", reports.len()));
    } else {
        out.push_str(&format!(
            "steps FAILED: {} of {} ({})\n",
            failed_steps.len(),
            reports.len(),
            failed_steps.join(", ")
        ));
    }
    out.push_str(audio_line);
    out.push('\n');
    if let Some(loom_report) = reports.iter().find(|report| report.name == "loom") {
        out.push_str(&loom::models_run_line(loom_report, preemptions));
        out.push('\n');
    }
    if let Some(alloc_report) = reports.iter().find(|report| report.name == "alloc") {
        out.push_str(&alloc::passed_line(alloc_report));
        out.push('\n');
    }
    if let Some(replay_report) = reports.iter().find(|report| report.name == "fuzz-replay") {
        out.push_str(&fuzz::replayed_line(replay_report));
        out.push('\n');
    }
    out.push_str(&format!(
        "verify: {} passed, {} failed\n",
        total.passed, total.failed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn report(name: &'static str, ok: bool, counts: Option<(u64, u64, u64)>) -> StepReport {
        StepReport {
            name,
            ok,
            duration: Duration::from_millis(1_234),
            counts: counts.map(|(passed, failed, ignored)| TestCounts {
                passed,
                failed,
                ignored,
            }),
            note: None,
        }
    }

    #[test]
    fn summary_totals_tests_across_steps_and_ends_with_verify_line() {
        let reports = vec![
            report("fmt", true, None),
            report("clippy", false, None),
            report("test", false, Some((40, 2, 1))),
            report("doc", true, None),
            report("loom", true, Some((5, 0, 0))),
            report("alloc", true, Some((3, 0, 0))),
        ];
        let summary = render_summary(&reports, 3, "audio features: checked (aether-cli/play)");
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines.last(), Some(&"verify: 48 passed, 2 failed"));
        assert_eq!(lines[lines.len() - 2], "allocation tests passed: 3");
        assert_eq!(
            lines[lines.len() - 3],
            "loom models run: 5 (LOOM_MAX_PREEMPTIONS=3)"
        );
        assert!(summary.contains("steps FAILED: 2 of 6 (clippy, test)"));
        assert_eq!(
            lines[lines.len() - 4],
            "audio features: checked (aether-cli/play)"
        );
        let test_row = lines
            .iter()
            .find(|line| line.starts_with("test "))
            .expect("test row");
        assert_eq!(
            test_row.split_whitespace().collect::<Vec<_>>(),
            ["test", "FAILED", "1.2s", "40", "2", "1"]
        );
        let fmt_row = lines
            .iter()
            .find(|line| line.starts_with("fmt "))
            .expect("fmt row");
        assert_eq!(
            fmt_row.split_whitespace().collect::<Vec<_>>(),
            ["fmt", "ok", "1.2s", "-", "-", "-"]
        );
    }

    #[test]
    fn summary_shows_notes_and_zero_loom_models() {
        let reports = vec![
            report("test", true, Some((7, 0, 0))),
            report("loom", true, Some((0, 0, 0))).fail_with_note("no loom models found"),
            report("alloc", true, Some((2, 0, 0))),
        ];
        let summary = render_summary(&reports, 2, "audio features: skipped x/y");
        assert!(summary.contains("no loom models found"));
        assert!(summary.contains("loom models run: 0 (LOOM_MAX_PREEMPTIONS=2)"));
        assert!(summary.contains("steps FAILED: 1 of 3 (loom)"));
        assert!(summary.ends_with("verify: 9 passed, 0 failed\n"));
    }

    #[test]
    fn summary_counts_fuzz_replay_and_names_it() {
        let reports = vec![
            report("alloc", true, Some((2, 0, 0))),
            report("fuzz-replay", false, Some((3, 1, 0))),
        ];
        let summary = render_summary(&reports, 3, "audio features: checked (none found)");
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines.last(), Some(&"verify: 5 passed, 1 failed"));
        assert_eq!(
            lines[lines.len() - 2],
            "fuzz targets replayed: 3 of 4 (1 failed)"
        );
        assert!(summary.contains("steps FAILED: 1 of 2 (fuzz-replay)"));
        let row = lines
            .iter()
            .find(|line| line.starts_with("fuzz-replay "))
            .expect("fuzz-replay row");
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            ["fuzz-replay", "FAILED", "1.2s", "3", "1", "0"]
        );
    }

    #[test]
    fn all_ok_summary_says_so() {
        let reports = vec![
            report("fmt", true, None),
            report("test", true, Some((1, 0, 0))),
        ];
        let summary = render_summary(&reports, 3, "audio features: checked (none found)");
        assert!(summary.contains("steps: all 2 ok"));
        assert!(summary.ends_with("verify: 1 passed, 0 failed\n"));
    }
}
