//! Replays every committed fuzz input through its target's library function, on stable:
//! the seed corpus (`corpus/<target>/`) and the minimised reproducers of fixed crashes
//! (`artifacts/<target>/`). One test per target; each fails if its directories hold no file,
//! so a replay that checks nothing cannot pass.

use std::fs;
use std::path::{Path, PathBuf};

/// Files directly inside `corpus/<target>/` and `artifacts/<target>/`, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs every input of `target` through `run`, naming the file if one panics.
fn replay(target: &str, run: fn(&[u8])) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no inputs in fuzz/corpus/{target}/ or fuzz/artifacts/{target}/"
    );
    for path in &files {
        let data = fs::read(path).expect("readable input");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target} failed on {}", path.display());
    }
    println!("replayed {} {target} inputs", files.len());
}

#[test]
fn json_patch() {
    replay("json_patch", aether_fuzz::json_patch);
}

#[test]
fn binary_patch() {
    replay("binary_patch", aether_fuzz::binary_patch);
}

#[test]
fn console() {
    replay("console", aether_fuzz::console);
}

#[test]
fn control_model() {
    replay("control_model", aether_fuzz::control_model);
}
