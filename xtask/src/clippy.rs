//! `cargo xtask clippy`: lint every target of every crate, warnings as errors.

use std::time::Instant;

use crate::runner::{CargoCommand, run_captured};
use crate::step::{StepReport, announce};
use crate::workspace::Workspace;

/// Runs `cargo clippy --workspace --all-targets --all-features -- -D warnings`.
pub fn run(workspace: &Workspace) -> StepReport {
    announce("clippy");
    let started = Instant::now();
    let outcome = run_captured(
        workspace,
        &CargoCommand::new([
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    );
    StepReport::without_tests("clippy", outcome.success, started)
}
