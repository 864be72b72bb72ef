//! `cargo xtask test`: the workspace tests (doctests included) with default features, again
//! with no default features, and with the audio features when the machine has their packages.

use std::time::Instant;

use crate::counts::TestCounts;
use crate::runner::{CargoCommand, run_captured};
use crate::step::{StepReport, announce};
use crate::system::AudioSupport;
use crate::workspace::Workspace;

/// Runs `cargo test --workspace --no-fail-fast`, then the same with
/// `--no-default-features`, then [`AudioSupport::extra_test_runs`] (e.g.
/// `cargo test -p aether-cli --features play` when the audio packages are installed). All
/// runs happen; the step fails if any fails.
///
/// `--no-fail-fast` keeps cargo going past a failing test binary, so the
/// counts cover every test rather than stopping at the first failure.
pub fn run(workspace: &Workspace, audio: &AudioSupport) -> StepReport {
    announce("test");
    let started = Instant::now();
    let mut all_ok = true;
    let mut counts = TestCounts::default();
    let excluded = audio.excluded_from_default_runs();
    let feature_sets: [&[&str]; 2] = [&[], &["--no-default-features"]];
    let mut runs: Vec<Vec<String>> = Vec::new();
    for (index, extra) in feature_sets.into_iter().enumerate() {
        let mut args: Vec<String> = ["test", "--workspace", "--no-fail-fast"]
            .map(str::to_owned)
            .to_vec();
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        if index == 0 {
            for package in &excluded {
                args.extend(["--exclude".to_owned(), package.clone()]);
            }
        }
        runs.push(args);
    }
    runs.extend(audio.extra_test_runs());
    for args in runs {
        let outcome = run_captured(workspace, &CargoCommand::new(args));
        all_ok &= outcome.success;
        counts += outcome.counts;
    }
    StepReport::with_tests("test", all_ok, started, counts)
}
