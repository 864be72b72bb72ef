//! `cargo xtask doc`: build the API docs with rustdoc warnings as errors.

use std::time::Instant;

use crate::runner::{CargoCommand, append_flags, run_captured};
use crate::step::{StepReport, announce};
use crate::system::AudioSupport;
use crate::workspace::Workspace;

/// Runs `RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features`
/// (`-D warnings` is appended to any `RUSTDOCFLAGS` already set); without the audio packages
/// the features that need them are left out (see [`AudioSupport::all_features_runs`]).
pub fn run(workspace: &Workspace, audio: &AudioSupport) -> StepReport {
    announce("doc");
    let started = Instant::now();
    let (flags_var, flags) = append_flags(
        "RUSTDOCFLAGS",
        "CARGO_ENCODED_RUSTDOCFLAGS",
        &["-D", "warnings"],
    );
    let mut all_ok = true;
    for args in audio.all_features_runs("doc", &["--no-deps"], &[]) {
        let command = CargoCommand::new(args).env(flags_var, flags.clone());
        all_ok &= run_captured(workspace, &command).success;
    }
    StepReport::without_tests("doc", all_ok, started)
}
