//! Loading patches: files (JSON or binary), the built-in demo, and generated stress patches.

use std::path::Path;

use aether_graph::NodeRegistry;
use aether_state::{GraphSnapshot, SnapshotEdge, SnapshotNode};

use crate::error::CliError;

/// The built-in demo patch (also `examples/patches/demo.json`).
pub const DEMO_PATCH: &str = include_str!("../../../examples/patches/demo.json");

/// A patch and where it came from (for messages).
pub struct LoadedPatch {
    /// The snapshot.
    pub snapshot: GraphSnapshot,
    /// A human name: the file path, "demo (built in)" or "stress N".
    pub name: String,
}

/// Every node type this tool knows: the node library.
pub fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    aether_nodes::register_all(&mut registry).expect("the node library registers each type once");
    registry
}

/// Reads a patch file: JSON, or the binary encoding (recognised by its magic header). Regular
/// files, streams and devices alike are read only up to the format's size limit
/// ([`aether_state::MAX_JSON_BYTES`], [`aether_state::MAX_BINARY_BYTES`]), so memory stays
/// bounded whatever the path names.
pub fn load_file(path: &Path) -> Result<LoadedPatch, CliError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|error| CliError::new(&name, error))?;
    if file.metadata().is_ok_and(|metadata| metadata.is_dir()) {
        return Err(CliError::new(&name, "is a directory, not a patch file"));
    }
    let snapshot = GraphSnapshot::read_from(std::io::BufReader::new(file))
        .map_err(|error| CliError::new(&name, error))?;
    Ok(LoadedPatch { snapshot, name })
}

/// The built-in demo patch.
pub fn demo() -> LoadedPatch {
    let snapshot =
        GraphSnapshot::from_json(DEMO_PATCH).expect("the built-in demo patch is valid (tested)");
    LoadedPatch {
        snapshot,
        name: "demo (built in)".into(),
    }
}

/// A generated patch of about `nodes` nodes for load tests: sine oscillators at spread
/// frequencies, each through a gain, summed by a tree of 8-input mixers into a master gain.
pub fn stress(nodes: usize, sample_rate: f32) -> LoadedPatch {
    let mut snapshot = GraphSnapshot::new(sample_rate);
    let mut next_id = 0u32;
    let mut add = |snapshot: &mut GraphSnapshot, type_name: &str, params: &[(&str, f32)]| {
        let id = next_id;
        next_id += 1;
        snapshot.nodes.push(SnapshotNode {
            id,
            type_name: type_name.into(),
            params: params
                .iter()
                .map(|&(name, value)| (name.to_string(), value))
                .collect(),
            state: Default::default(),
            label: None,
        });
        id
    };
    // voices * 2 (osc + gain) + mixers (~voices / 7) + master ≈ nodes
    let voices = (nodes.saturating_sub(1) * 7 / 15).max(1);
    let mut layer: Vec<u32> = Vec::with_capacity(voices);
    for voice in 0..voices {
        let freq = 55.0 * 2f32.powf((voice % 60) as f32 / 12.0);
        let osc = add(&mut snapshot, "Sine", &[("freq", freq), ("gain", 1.0)]);
        let gain = add(&mut snapshot, "Gain", &[("gain", 1.0 / voices as f32)]);
        snapshot.edges.push(SnapshotEdge {
            from: osc,
            to: gain,
            slot: 0,
        });
        layer.push(gain);
    }
    while layer.len() > 1 {
        let mut next = Vec::with_capacity(layer.len().div_ceil(8));
        for group in layer.chunks(8) {
            let mixer = add(&mut snapshot, "Mixer", &[]);
            for (slot, &source) in group.iter().enumerate() {
                snapshot.edges.push(SnapshotEdge {
                    from: source,
                    to: mixer,
                    slot: slot as u8,
                });
            }
            next.push(mixer);
        }
        layer = next;
    }
    let master = add(&mut snapshot, "Gain", &[("gain", 0.5)]);
    snapshot.edges.push(SnapshotEdge {
        from: layer[0],
        to: master,
        slot: 0,
    });
    snapshot.output = Some(master);
    LoadedPatch {
        snapshot,
        name: format!("stress {nodes}"),
    }
}
