//! `cargo xtask test`: the workspace tests (doctests included) with default
//! features and again with no default features.

use std::time::Instant;

use crate::counts::TestCounts;
use crate::runner::{CargoCommand, run_captured};
use crate::step::{StepReport, announce};
use crate::workspace::Workspace;

/// Runs `cargo test --workspace --no-fail-fast`, then the same with
/// `--no-default-features`. Both always run; the step fails if either fails.
///
/// `--no-fail-fast` keeps cargo going past a failing test binary, so the
/// counts cover every test rather than stopping at the first failure.
pub fn run(workspace: &Workspace) -> StepReport {
    announce("test");
    let started = Instant::now();
    let mut all_ok = true;
    let mut counts = TestCounts::default();
    let feature_sets: [&[&str]; 2] = [&[], &["--no-default-features"]];
    for extra in feature_sets {
        let mut args = vec!["test", "--workspace", "--no-fail-fast"];
        args.extend_from_slice(extra);
        let outcome = run_captured(workspace, &CargoCommand::new(args));
        all_ok &= outcome.success;
        counts += outcome.counts;
    }
    StepReport::with_tests("test", all_ok, started, counts)
}
