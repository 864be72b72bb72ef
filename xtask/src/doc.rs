//! `cargo xtask doc`: build the API docs with rustdoc warnings as errors.

use std::time::Instant;

use crate::runner::{CargoCommand, append_flags, run_captured};
use crate::step::{StepReport, announce};
use crate::workspace::Workspace;

/// Runs `RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features`
/// (`-D warnings` is appended to any `RUSTDOCFLAGS` already set).
pub fn run(workspace: &Workspace) -> StepReport {
    announce("doc");
    let started = Instant::now();
    let (flags_var, flags) = append_flags(
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        &["-D", "warnings"],
    );
    let outcome = run_captured(
        workspace,
        &CargoCommand::new(["doc", "--workspace", "--no-deps", "--all-features"])
            .env(flags_var, flags),
    );
    StepReport::without_tests("doc", outcome.success, started)
}
