//! `cargo xtask fmt`: check formatting of the whole workspace.

use std::time::Instant;

use crate::runner::{CargoCommand, run_captured};
use crate::step::{StepReport, announce};
use crate::workspace::Workspace;

/// Runs `cargo fmt --all -- --check`.
pub fn run(workspace: &Workspace) -> StepReport {
    announce("fmt");
    let started = Instant::now();
    let outcome = run_captured(
        workspace,
        &CargoCommand::new(["fmt", "--all", "--", "--check"]),
    );
    StepReport::without_tests("fmt", outcome.success, started)
}
