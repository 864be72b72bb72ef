//! `cargo xtask loom`: run every loom model (`crates/*/tests/loom_*.rs`) in
//! release mode with a bounded number of preemptions.

use std::time::Instant;

use crate::counts::TestCounts;
use crate::runner::{CargoCommand, append_flags, run_captured};
use crate::step::{StepReport, announce};
use crate::workspace::{Workspace, discover_loom_models};

/// Preemption bound used when `--preemptions` is not given.
pub const DEFAULT_PREEMPTIONS: u32 = 3;

/// Runs `cargo test --release -p <crate> --test <loom_name>` for each model with
/// `--cfg loom` appended to `RUSTFLAGS`, `LOOM_MAX_PREEMPTIONS=<preemptions>` and
/// the separate target dir `target/loom` (so the normal build cache survives).
///
/// The step fails if any model fails, or if no model ran at all.
pub fn run(workspace: &Workspace, preemptions: u32) -> StepReport {
    announce("loom");
    println!("loom: LOOM_MAX_PREEMPTIONS={preemptions}");
    let started = Instant::now();
    let models = match discover_loom_models(&workspace.crates_dir()) {
        Ok(models) => models,
        Err(error) => {
            return StepReport::with_tests("loom", false, started, TestCounts::default())
                .fail_with_note(format!("cannot search crates/*/tests: {error}"));
        }
    };
    if models.is_empty() {
        println!("loom: no crates/*/tests/loom_*.rs found");
        return StepReport::with_tests("loom", false, started, TestCounts::default())
            .fail_with_note("no loom models found (crates/*/tests/loom_*.rs)");
    }

    let (flags_var, flags) =
        append_flags("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", &["--cfg", "loom"]);
    let loom_target_dir = workspace.target_dir().join("loom");
    let mut all_ok = true;
    let mut counts = TestCounts::default();
    for model in &models {
        let command = CargoCommand::new([
            "test",
            "--release",
            "-p",
            &model.package,
            "--test",
            &model.test,
        ])
        .env(flags_var, flags.clone())
        .env("LOOM_MAX_PREEMPTIONS", preemptions.to_string())
        .env("CARGO_TARGET_DIR", loom_target_dir.clone());
        let outcome = run_captured(workspace, &command);
        all_ok &= outcome.success;
        counts += outcome.counts;
    }

    let report = StepReport::with_tests("loom", all_ok, started, counts);
    if counts.ran() == 0 {
        report.fail_with_note(format!(
            "{} loom test file(s) found but 0 models ran",
            models.len()
        ))
    } else {
        report
    }
}

/// `loom models run: X (LOOM_MAX_PREEMPTIONS=N)`.
pub fn models_run_line(report: &StepReport, preemptions: u32) -> String {
    let models_run = report.counts.map_or(0, |counts| counts.ran());
    format!("loom models run: {models_run} (LOOM_MAX_PREEMPTIONS={preemptions})")
}
