//! `cargo xtask alloc`: run every crate's allocation tests (`tests/alloc.rs`).

use std::time::Instant;

use crate::counts::TestCounts;
use crate::runner::{CargoCommand, run_captured};
use crate::step::{StepReport, announce};
use crate::workspace::{Workspace, discover_alloc_tests};

/// Runs `cargo test -p <crate> --test alloc -- --test-threads=1` for every crate
/// with `tests/alloc.rs`.
///
/// This is a debug build on purpose: `assert_no_alloc` with `warn_debug` only
/// counts violations in debug builds. One test thread keeps tests from
/// disturbing each other's reading of the global violation counter.
///
/// The step fails if any test fails, or if no allocation test ran at all.
pub fn run(workspace: &Workspace) -> StepReport {
    announce("alloc");
    let started = Instant::now();
    let targets = match discover_alloc_tests(&workspace.crates_dir()) {
        Ok(targets) => targets,
        Err(error) => {
            return StepReport::with_tests("alloc", false, started, TestCounts::default())
                .fail_with_note(format!("cannot search crates/*/tests: {error}"));
        }
    };
    if targets.is_empty() {
        println!("alloc: no crates/*/tests/alloc.rs found");
        return StepReport::with_tests("alloc", false, started, TestCounts::default())
            .fail_with_note("no allocation tests found (crates/*/tests/alloc.rs)");
    }

    let mut all_ok = true;
    let mut counts = TestCounts::default();
    for target in &targets {
        let command = CargoCommand::new([
            "test",
            "-p",
            &target.package,
            "--test",
            &target.test,
            "--",
            "--test-threads=1",
        ]);
        let outcome = run_captured(workspace, &command);
        all_ok &= outcome.success;
        counts += outcome.counts;
    }

    let report = StepReport::with_tests("alloc", all_ok, started, counts);
    if counts.ran() == 0 {
        report.fail_with_note(format!(
            "{} tests/alloc.rs file(s) found but 0 allocation tests ran",
            targets.len()
        ))
    } else {
        report
    }
}

/// `allocation tests passed: Y`.
pub fn passed_line(report: &StepReport) -> String {
    let passed = report.counts.map_or(0, |counts| counts.passed);
    format!("allocation tests passed: {passed}")
}
