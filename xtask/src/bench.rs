//! `cargo xtask bench [args]`: the criterion benchmarks (not part of `verify`).

use std::ffi::OsString;

use crate::runner::{CargoCommand, run_inherited};
use crate::workspace::Workspace;

/// Runs `cargo bench -p aether-benches <args...>` with the terminal attached;
/// returns whether it succeeded.
pub fn run(workspace: &Workspace, args: &[OsString]) -> bool {
    let mut cargo_args: Vec<OsString> = ["bench", "-p", "aether-benches"]
        .into_iter()
        .map(OsString::from)
        .collect();
    cargo_args.extend(args.iter().cloned());
    run_inherited(workspace, &CargoCommand::new(cargo_args))
}
