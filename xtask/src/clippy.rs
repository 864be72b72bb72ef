//! `cargo xtask clippy`: lint every target of every crate, warnings as errors.

use std::time::Instant;

use crate::runner::{CargoCommand, run_captured};
use crate::step::{StepReport, announce};
use crate::system::AudioSupport;
use crate::workspace::Workspace;

/// Runs `cargo clippy --workspace --all-targets --all-features -- -D warnings`; without the
/// audio packages the features that need them are left out (see
/// [`AudioSupport::all_features_runs`]).
pub fn run(workspace: &Workspace, audio: &AudioSupport) -> StepReport {
    announce("clippy");
    let started = Instant::now();
    let mut all_ok = true;
    for args in audio.all_features_runs("clippy", &["--all-targets"], &["--", "-D", "warnings"]) {
        all_ok &= run_captured(workspace, &CargoCommand::new(args)).success;
    }
    StepReport::without_tests("clippy", all_ok, started)
}
