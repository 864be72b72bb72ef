//! The snapshot types and [`GraphSnapshot::capture`].

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use aether_graph::{Graph, NodeState};
use aether_scheduler::Controller;
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The value of [`GraphSnapshot::format`]: identifies an AetherDSP patch.
pub const FORMAT: &str = "aetherdsp-patch";

/// The snapshot format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A versioned, plain-data snapshot of a graph: nodes with their type, parameter values and
/// settings, the edges between them, and the output node.
///
/// Node ids in a snapshot are the file's own: [`capture`](Self::capture) numbers nodes densely
/// `0..n` in the graph's slot order. A hand-edited file may use any distinct ids.
///
/// See the [crate documentation](crate) for what is captured and the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSnapshot {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version ([`FORMAT_VERSION`] for snapshots this build writes).
    pub version: u32,
    /// The sample rate the patch was captured at, in Hz.
    #[serde(deserialize_with = "float32")]
    pub sample_rate: f32,
    /// The nodes.
    #[serde(default)]
    pub nodes: Vec<SnapshotNode>,
    /// The edges.
    #[serde(default)]
    pub edges: Vec<SnapshotEdge>,
    /// The id of the node whose output the engine plays, if any.
    #[serde(default)]
    pub output: Option<u32>,
}

/// One node of a [`GraphSnapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotNode {
    /// The node's id in this file (edges and the output refer to it).
    pub id: u32,
    /// The registered type name ([`DspNode::type_name`](aether_graph::DspNode::type_name)).
    pub type_name: String,
    /// Parameter targets by name. Parameters left out keep their defaults on restore.
    #[serde(default, deserialize_with = "unique_params")]
    pub params: BTreeMap<String, f32>,
    /// The node's construction settings, handed to its registered constructor on restore.
    #[serde(default, deserialize_with = "unique_state")]
    pub state: NodeState,
    /// A free-form name for editors; ignored by restore.
    #[serde(default)]
    pub label: Option<String>,
}

/// One edge of a [`GraphSnapshot`]: node `from`'s output feeds input `slot` of node `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotEdge {
    /// Source node id (file id).
    pub from: u32,
    /// Destination node id (file id).
    pub to: u32,
    /// Input slot of the destination, `0..MAX_INPUTS`.
    pub slot: u8,
}

impl GraphSnapshot {
    /// An empty snapshot (no nodes, no output) of the current format at `sample_rate`.
    pub fn new(sample_rate: f32) -> Self {
        GraphSnapshot {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            sample_rate,
            nodes: Vec::new(),
            edges: Vec::new(),
            output: None,
        }
    }

    /// Captures `graph`: every node's type, construction settings ([`NodeState`], as the node
    /// reported when it was added) and parameter targets from the control-side mirror
    /// ([`Graph::param_value`]: the latest target set, including edits not yet committed),
    /// every edge, and the output node.
    ///
    /// Not captured: running DSP state such as oscillator phases, filter memories and ramps
    /// in progress, which live on the audio thread; a restored graph starts from reset state
    /// with every parameter at its target.
    ///
    /// Reads only the [`Graph`], so it works on an engine that is playing: pass
    /// [`Controller::graph`] (or use [`capture_engine`](Self::capture_engine)); the audio side is
    /// never touched. Allocates; control thread only.
    pub fn capture(graph: &Graph, sample_rate: f32) -> Self {
        let description = graph.describe();
        let mut file_ids: BTreeMap<u64, u32> = BTreeMap::new();
        let mut nodes = Vec::with_capacity(description.nodes.len());
        for (file_id, node) in (0u32..).zip(description.nodes) {
            file_ids.insert(node.id, file_id);
            nodes.push(SnapshotNode {
                id: file_id,
                type_name: node.type_name,
                params: node
                    .params
                    .into_iter()
                    .map(|param| (param.name, param.value))
                    .collect(),
                state: node.state,
                label: None,
            });
        }
        let edges = description
            .edges
            .iter()
            .filter_map(|edge| {
                Some(SnapshotEdge {
                    from: *file_ids.get(&edge.source)?,
                    to: *file_ids.get(&edge.destination)?,
                    slot: edge.slot,
                })
            })
            .collect();
        let output = description
            .output
            .and_then(|bits| file_ids.get(&bits).copied());
        GraphSnapshot {
            nodes,
            edges,
            output,
            ..GraphSnapshot::new(sample_rate)
        }
    }

    /// [`capture`](Self::capture) of a running engine's graph at the engine's sample rate.
    /// Reads only the controller's graph; the audio side keeps playing untouched.
    pub fn capture_engine(controller: &Controller) -> Self {
        Self::capture(controller.graph(), controller.sample_rate())
    }
}

/// Deserializes a map with string keys, refusing a key that appears twice (a JSON object
/// would otherwise keep the last one silently).
fn unique_map<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct UniqueMap<V>(PhantomData<V>);

    impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueMap<V> {
        type Value = BTreeMap<String, V>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a map with distinct names")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut map = BTreeMap::new();
            while let Some((key, value)) = access.next_entry::<String, V>()? {
                if map.contains_key(&key) {
                    return Err(A::Error::custom(format_args!(
                        "the name {key:?} appears twice"
                    )));
                }
                map.insert(key, value);
            }
            Ok(map)
        }
    }

    deserializer.deserialize_map(UniqueMap(PhantomData))
}

fn unique_params<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, f32>, D::Error> {
    let map: BTreeMap<String, Float32> = unique_map(deserializer)?;
    Ok(map
        .into_iter()
        .map(|(name, value)| (name, value.0))
        .collect())
}

/// An `f32` that, read from text, refuses a number too large for 32 bits instead of turning it
/// into infinity, quoting the number as written (in scientific notation when large).
struct Float32(f32);

impl<'de> Deserialize<'de> for Float32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            return f32::deserialize(deserializer).map(Float32);
        }
        let value = f64::deserialize(deserializer)?;
        if value.is_finite() && value.abs() > f64::from(f32::MAX) {
            return Err(D::Error::custom(format_args!(
                "the number {value:e} is too large for a 32-bit float (largest {:e})",
                f32::MAX
            )));
        }
        // In range (or already non-finite, which validation reports): the nearest f32.
        Ok(Float32(value as f32))
    }
}

fn float32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
    Float32::deserialize(deserializer).map(|value| value.0)
}

fn unique_state<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NodeState, D::Error> {
    unique_map(deserializer).map(NodeState)
}
