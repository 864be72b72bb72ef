//! Fuzz harnesses for AetherDSP's hostile-input surfaces: patch files (JSON and binary), the
//! live-edit console, and the control API.
//!
//! Each target is one function taking the fuzzer's bytes. The `fuzz_targets/*.rs` binaries are
//! thin `fuzz_target!` wrappers around them (built by `cargo +nightly fuzz run <target>`), and
//! `tests/replay.rs` runs every file of `corpus/<target>/` and `artifacts/<target>/` through the
//! same functions on stable, so a committed reproducer stays a regression test.
//!
//! A target returns normally for every input the code under test handles correctly (refusing
//! bad input with a typed error counts as correct); it panics, which the fuzzer reports as a
//! crash, when the code under test panics or breaks one of the properties checked here.
//!
//! # Memory bound
//!
//! A `Delay` node allocates its whole line when it is built: up to
//! `aether_nodes::delay::MAX_LINE_SAMPLES` (2^24) samples, 64 MiB, from a few bytes of patch
//! text. The patch targets only decode (never validate or restore) a patch holding more than
//! [`MAX_DELAY_NODES`] `Delay` nodes, so one input can ask for at most about 256 MiB of delay
//! lines, well inside libFuzzer's default `-rss_limit_mb=2048`. `cargo xtask fuzz` also caps
//! inputs with `-max_len` (see `xtask/src/fuzz.rs`).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod control_model;

use std::time::Duration;

use aether_cli::console::{Request, Session};
use aether_cli::patch;
use aether_graph::{Graph, NodeRegistry};
use aether_scheduler::{EngineConfig, engine};
use aether_state::{GraphSnapshot, MAX_BINARY_BYTES};

pub use control_model::{Op, Value, control_model, run_ops};

/// Patches with more `Delay` nodes than this are decoded but not built (see the crate docs).
pub const MAX_DELAY_NODES: usize = 4;

/// Console lines run per input at most (each also renders one block).
pub const MAX_CONSOLE_LINES: usize = 256;

/// JSON patch decode, validation and restore: `GraphSnapshot::from_json` on the input (as
/// UTF-8), then [`check_snapshot`].
pub fn json_patch(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(snapshot) = GraphSnapshot::from_json(text) {
        check_snapshot(&snapshot);
    }
}

/// Binary patch decode, validation and restore: `GraphSnapshot::from_bytes` on the input, then
/// [`check_snapshot`].
pub fn binary_patch(data: &[u8]) {
    if let Ok(snapshot) = GraphSnapshot::from_bytes(data) {
        check_snapshot(&snapshot);
    }
}

/// Validates and restores a decoded snapshot against the node library, checking that:
///
/// - `validate` and `restore` agree (both succeed or both fail), and neither panics;
/// - a refused restore leaves the graph exactly as it was (a graph already holding a node);
/// - a successful restore holds exactly the snapshot's nodes, edges and output;
/// - the restored graph captures back into a snapshot that validates, and that survives the
///   binary and JSON encodings unchanged.
///
/// Snapshots with more than [`MAX_DELAY_NODES`] `Delay` nodes are skipped (memory bound).
pub fn check_snapshot(snapshot: &GraphSnapshot) {
    let delays = snapshot
        .nodes
        .iter()
        .filter(|node| node.type_name == "Delay")
        .count();
    if delays > MAX_DELAY_NODES {
        return;
    }
    let registry = patch::registry();
    let valid = snapshot.validate(&registry);

    let mut graph = Graph::with_capacity(4);
    let existing = registry
        .create("Sine", &Default::default())
        .expect("the node library has Sine");
    let existing = graph.add_node(existing).expect("an empty graph has room");
    graph
        .set_output_node(existing)
        .expect("the node was just added");
    let before = graph.describe();

    match snapshot.restore(&registry, &mut graph) {
        Err(error) => {
            assert!(
                valid.is_err(),
                "validate accepted a snapshot that restore refused: {error}"
            );
            let _ = error.to_string();
            assert_eq!(
                graph.describe(),
                before,
                "a refused restore changed the graph ({error})"
            );
        }
        Ok(restored) => {
            if let Err(error) = valid {
                panic!("restore accepted a snapshot that validate refused: {error}");
            }
            check_restored(snapshot, &registry, &graph, &restored);
        }
    }
}

fn check_restored(
    snapshot: &GraphSnapshot,
    registry: &NodeRegistry,
    graph: &Graph,
    restored: &aether_state::Restored,
) {
    assert_eq!(
        graph.node_count(),
        snapshot.nodes.len(),
        "restored node count"
    );
    for node in &snapshot.nodes {
        let id = restored
            .node(node.id)
            .unwrap_or_else(|| panic!("file node {} has no restored id", node.id));
        assert_eq!(
            graph.type_name(id),
            Some(node.type_name.as_str()),
            "type of file node {}",
            node.id
        );
    }
    for edge in &snapshot.edges {
        let (Some(from), Some(to)) = (restored.node(edge.from), restored.node(edge.to)) else {
            panic!("edge {edge:?} restored without its nodes");
        };
        let inputs = graph.inputs(to).expect("restored destination is live");
        assert_eq!(
            inputs.get(usize::from(edge.slot)).copied().flatten(),
            Some(from),
            "edge {edge:?}"
        );
    }
    assert_eq!(
        graph.edges().count(),
        snapshot.edges.len(),
        "restored edge count"
    );
    assert_eq!(
        graph.output_node(),
        snapshot.output.and_then(|output| restored.node(output)),
        "restored output"
    );

    let captured = GraphSnapshot::capture(graph, snapshot.sample_rate);
    if let Err(error) = captured.validate(registry) {
        panic!("a restored graph captures into a snapshot that does not validate: {error}");
    }
    let bytes = captured.to_bytes();
    if bytes.len() <= MAX_BINARY_BYTES {
        match GraphSnapshot::from_bytes(&bytes) {
            Ok(decoded) => assert_eq!(decoded, captured, "binary round trip"),
            Err(error) => panic!("to_bytes output does not decode: {error}"),
        }
    }
    match GraphSnapshot::from_json(&captured.to_json_pretty()) {
        Ok(decoded) => assert_eq!(decoded, captured, "JSON round trip"),
        Err(error) => panic!("to_json_pretty output does not parse: {error}"),
    }
}

/// Console command parsing and execution against a live engine: the built-in demo patch is
/// loaded into a fresh engine, then each line of the input (lossy UTF-8, at most
/// [`MAX_CONSOLE_LINES`]) goes to `Session::handle_line`, with one audio block rendered and the
/// session's housekeeping run after each.
///
/// `save` commands are not run (they would write files wherever the input says); the session's
/// snapshot, which `save` writes, is taken and encoded in their place. Checks that nothing
/// panics, every answer displays, every output sample is finite, and the running patch always
/// captures into a snapshot that validates.
///
/// The engine is single-threaded: this crate does not enable `aether-scheduler`'s `parallel`
/// feature, so `EngineConfig` has no workers to disable.
pub fn console(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let registry = patch::registry();
    let (control, mut audio) =
        engine(48_000.0, EngineConfig::default()).expect("the default engine builds");
    let demo = patch::demo();
    let mut session =
        Session::load(control, patch::registry(), &demo.snapshot).expect("the demo patch loads");
    // A full command ring is reported at once instead of being retried for half a second.
    session.set_commit_timeout(Duration::ZERO);
    check_block(audio.process_block());

    for line in text.lines().take(MAX_CONSOLE_LINES) {
        if let Ok(Some(Request::Save { .. })) = aether_cli::console::parse(line) {
            let snapshot = session.snapshot();
            let _ = snapshot.to_json_pretty();
            continue;
        }
        let quit = match session.handle_line(line) {
            Some(response) => {
                let _ = response.to_string();
                response.quit()
            }
            None => false,
        };
        check_block(audio.process_block());
        session.tick();
        if quit {
            break;
        }
    }

    let snapshot = session.snapshot();
    if let Err(error) = snapshot.validate(&registry) {
        panic!("the console's running patch does not validate: {error}");
    }
}

/// Panics unless every sample of `block` is finite.
fn check_block(block: &[f32]) {
    if let Some(sample) = block.iter().find(|sample| !sample.is_finite()) {
        panic!("the engine output a non-finite sample: {sample}");
    }
}
