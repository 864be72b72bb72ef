//! The outcome of one check (`fmt`, `clippy`, `test`, ...) and how it is shown.

use std::time::{Duration, Instant};

use crate::counts::TestCounts;

/// What one step of `cargo xtask verify` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// Step name, as typed after `cargo xtask`.
    pub name: &'static str,
    /// Whether the step passed.
    pub ok: bool,
    /// Wall-clock time the step took.
    pub duration: Duration,
    /// Tests counted, for steps that run tests; `None` for `fmt`, `clippy`, `doc`.
    pub counts: Option<TestCounts>,
    /// Why the step failed when no command output says so (e.g. "no loom models found").
    pub note: Option<String>,
}

impl StepReport {
    /// A report for a step that ran no tests.
    pub fn without_tests(name: &'static str, ok: bool, started: Instant) -> Self {
        Self {
            name,
            ok,
            duration: started.elapsed(),
            counts: None,
            note: None,
        }
    }

    /// A report for a step that ran tests.
    pub fn with_tests(name: &'static str, ok: bool, started: Instant, counts: TestCounts) -> Self {
        Self {
            name,
            ok,
            duration: started.elapsed(),
            counts: Some(counts),
            note: None,
        }
    }

    /// Marks the step failed and records why.
    pub fn fail_with_note(mut self, note: impl Into<String>) -> Self {
        self.ok = false;
        self.note = Some(note.into());
        self
    }

    /// `ok` or `FAILED`.
    pub fn status_word(&self) -> &'static str {
        if self.ok { "ok" } else { "FAILED" }
    }

    /// One line for a stand-alone subcommand, e.g.
    /// `test: ok in 12.3s (40 passed, 0 failed, 1 ignored)`.
    pub fn one_line(&self) -> String {
        let mut line = format!(
            "{}: {} in {}",
            self.name,
            self.status_word(),
            format_duration(self.duration)
        );
        if let Some(counts) = self.counts {
            line.push_str(&format!(
                " ({} passed, {} failed, {} ignored)",
                counts.passed, counts.failed, counts.ignored
            ));
        }
        if let Some(note) = &self.note {
            line.push_str(&format!(": {note}"));
        }
        line
    }
}

/// The process exit code for a stand-alone step: 0 when it passed, 1 otherwise.
pub fn exit_code(report: &StepReport) -> u8 {
    u8::from(!report.ok)
}

/// Prints a banner before a step starts, so logs show where each step begins.
pub fn announce(name: &str) {
    println!();
    println!("==> xtask {name}");
}

/// `0.4s`, `12.3s`, `3m 07.5s`.
pub fn format_duration(duration: Duration) -> String {
    let tenths = duration.as_millis() / 100;
    let minutes = tenths / 600;
    let seconds = (tenths % 600) / 10;
    let tenth = tenths % 10;
    if minutes == 0 {
        format!("{seconds}.{tenth}s")
    } else {
        format!("{minutes}m {seconds:02}.{tenth}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(Duration::from_millis(0)), "0.0s");
        assert_eq!(format_duration(Duration::from_millis(429)), "0.4s");
        assert_eq!(format_duration(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(format_duration(Duration::from_millis(187_560)), "3m 07.5s");
    }

    #[test]
    fn one_line_shows_counts_and_note() {
        let report = StepReport {
            name: "loom",
            ok: true,
            duration: Duration::from_millis(1_500),
            counts: Some(TestCounts::default()),
            note: None,
        }
        .fail_with_note("no loom models found");
        assert!(!report.ok);
        assert_eq!(exit_code(&report), 1);
        assert_eq!(
            report.one_line(),
            "loom: FAILED in 1.5s (0 passed, 0 failed, 0 ignored): no loom models found"
        );
    }
}
