//! Capture, restore and every refusal, with hand-written bad JSON and mutated bytes.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aether_graph::{
    Block, DspNode, Graph, Inputs, NodeRegistry, NodeState, StateError, StateValue,
};
use aether_params::{ParamBlock, ParamMeta, Unit};
use aether_scheduler::{EngineConfig, engine};
use aether_state::{
    BINARY_HEADER_LEN, BINARY_MAGIC, FORMAT, FORMAT_VERSION, GraphSnapshot, MAX_BINARY_BYTES,
    NodeRef, SnapshotEdge, SnapshotError, SnapshotNode,
};
use common::{SAMPLE_RATE, fixed_graph, registry, render};

/// The fixed patch, captured.
fn base() -> GraphSnapshot {
    let mut graph = Graph::with_capacity(8);
    fixed_graph(&mut graph, &registry());
    GraphSnapshot::capture(&graph, SAMPLE_RATE)
}

fn node(id: u32, type_name: &str) -> NodeRef {
    NodeRef {
        id,
        type_name: type_name.into(),
    }
}

/// Restores `snapshot` into a graph holding another patch, and checks that the refusal left that
/// graph exactly as it was.
fn refused(snapshot: &GraphSnapshot) -> SnapshotError {
    let registry = registry();
    let mut graph = Graph::with_capacity(8);
    let osc = graph
        .add_node(registry.create("Osc", &NodeState::new()).unwrap())
        .unwrap();
    graph.set_output_node(osc).unwrap();
    let before = GraphSnapshot::capture(&graph, SAMPLE_RATE);
    let version = graph.version();
    let error = snapshot.restore(&registry, &mut graph).unwrap_err();
    assert_eq!(GraphSnapshot::capture(&graph, SAMPLE_RATE), before);
    assert_eq!(graph.version(), version, "a refused restore made an edit");
    // Debug, not PartialEq: errors may carry NaN.
    assert_eq!(
        format!("{:?}", snapshot.validate(&registry).unwrap_err()),
        format!("{error:?}")
    );
    error
}

fn json_error(text: &str) -> SnapshotError {
    GraphSnapshot::from_json(text).unwrap_err()
}

#[test]
fn capture_numbers_nodes_densely_and_maps_edges() {
    let snapshot = base();
    assert_eq!(snapshot.format, FORMAT);
    assert_eq!(snapshot.version, FORMAT_VERSION);
    assert_eq!(snapshot.sample_rate, SAMPLE_RATE);
    let ids: Vec<u32> = snapshot.nodes.iter().map(|node| node.id).collect();
    assert_eq!(ids, [0, 1, 2, 3]);
    let types: Vec<&str> = snapshot
        .nodes
        .iter()
        .map(|node| node.type_name.as_str())
        .collect();
    assert_eq!(types, ["Osc", "Gain", "Noise", "Delay"]);
    assert_eq!(snapshot.nodes[0].params["freq"], 440.0);
    assert_eq!(
        snapshot.nodes[0].params["level"], 0.5,
        "defaults are captured"
    );
    assert_eq!(
        snapshot.nodes[0].state.get("shape"),
        Some(&StateValue::Text("square".into()))
    );
    assert_eq!(
        snapshot.nodes[3].state.get("samples"),
        Some(&StateValue::Int(10))
    );
    assert_eq!(
        snapshot.edges,
        [
            SnapshotEdge {
                from: 0,
                to: 1,
                slot: 0
            },
            SnapshotEdge {
                from: 2,
                to: 1,
                slot: 1
            },
            SnapshotEdge {
                from: 1,
                to: 3,
                slot: 0
            },
        ]
    );
    assert_eq!(snapshot.output, Some(3));
}

#[test]
fn capture_after_removals_stays_dense() {
    let registry = registry();
    let mut graph = Graph::with_capacity(8);
    let [osc, ..] = fixed_graph(&mut graph, &registry);
    graph.remove_node(osc).unwrap();
    let snapshot = GraphSnapshot::capture(&graph, SAMPLE_RATE);
    let ids: Vec<u32> = snapshot.nodes.iter().map(|node| node.id).collect();
    assert_eq!(ids, [0, 1, 2]);
    assert_eq!(snapshot.edges.len(), 2);
    let restored = snapshot
        .restore(&registry, &mut Graph::with_capacity(8))
        .unwrap();
    assert_eq!(restored.ids.len(), 3);
    assert!(restored.output.is_some());
}

#[test]
fn json_has_the_documented_shape() {
    let json = base().to_json_pretty();
    for field in [
        "\"format\": \"aetherdsp-patch\"",
        "\"version\": 1",
        "\"sample_rate\": 48000.0",
        "\"type_name\": \"Delay\"",
        "\"freq\": 440.0",
        "\"shape\": {\n          \"Text\": \"square\"",
        "\"from\": 2",
        "\"output\": 3",
    ] {
        assert!(json.contains(field), "{field} missing from\n{json}");
    }
}

#[test]
fn minimal_json_uses_defaults() {
    let snapshot = GraphSnapshot::from_json(
        r#"{"format": "aetherdsp-patch", "version": 1, "sample_rate": 44100,
            "nodes": [{"id": 7, "type_name": "Gain"}]}"#,
    )
    .unwrap();
    assert!(snapshot.edges.is_empty());
    assert_eq!(snapshot.output, None);
    let mut graph = Graph::with_capacity(2);
    let restored = snapshot.restore(&registry(), &mut graph).unwrap();
    let id = restored.node(7).unwrap();
    assert_eq!(graph.param_value(id, 0), Some(1.0));
    assert_eq!(graph.output_node(), None);
}

#[test]
fn restore_replaces_the_graph_and_grows_it() {
    let registry = registry();
    let snapshot = base();
    let mut graph = Graph::with_capacity(1);
    let old = graph
        .add_node(registry.create("Gain", &NodeState::new()).unwrap())
        .unwrap();
    let restored = snapshot.restore(&registry, &mut graph).unwrap();
    assert!(!graph.contains(old));
    assert!(graph.capacity() >= 4);
    assert_eq!(graph.node_count(), 4);
    assert_eq!(GraphSnapshot::capture(&graph, SAMPLE_RATE), snapshot);
    assert_eq!(graph.output_node(), restored.output);
    assert_eq!(restored.output, restored.node(3));
    assert_eq!(graph.type_name(restored.node(2).unwrap()), Some("Noise"));
}

#[test]
fn a_changed_parameter_changes_the_audio() {
    // Guards the round-trip property against passing vacuously.
    let registry = registry();
    let snapshot = base();
    let expected = render(
        &mut snapshot.restore_into_scheduler(&registry, None).unwrap(),
        4,
    );
    assert!(expected.iter().any(|&bits| f32::from_bits(bits) != 0.0));
    let mut changed = snapshot.clone();
    changed.nodes[1].params.insert("gain".into(), 0.5);
    let actual = render(
        &mut changed.restore_into_scheduler(&registry, None).unwrap(),
        4,
    );
    assert_ne!(actual, expected);
}

#[test]
fn restore_into_scheduler_takes_a_sample_rate_override() {
    let registry = registry();
    let scheduler = base()
        .restore_into_scheduler(&registry, Some(96_000.0))
        .unwrap();
    assert_eq!(scheduler.sample_rate(), 96_000.0);
    let error = base()
        .restore_into_scheduler(&registry, Some(0.0))
        .unwrap_err();
    assert!(matches!(error, SnapshotError::Engine(_)), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("sample rate 0 Hz is outside the supported range"),
        "{error}"
    );
}

// ---- JSON refusals ----

#[test]
fn malformed_json_reports_line_and_column() {
    let error = json_error("{\n  \"format\": \"aetherdsp-patch\",\n  \"version\": 1,,\n}");
    let SnapshotError::Json {
        line,
        column,
        message,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((*line, *column), (3, 16));
    assert!(!message.contains("line 3"), "position kept once: {message}");
    assert!(
        error
            .to_string()
            .starts_with("patch JSON is invalid at line 3, column 16: "),
        "{error}"
    );
}

#[test]
fn json_shape_errors_are_refused() {
    let base = base().to_json_pretty();
    // A misspelt field is refused, not ignored.
    let error = json_error(&base.replacen("\"params\"", "\"parmas\"", 1));
    assert!(
        error.to_string().contains("unknown field `parmas`"),
        "{error}"
    );
    // A parameter named twice.
    let error = json_error(&base.replacen("\"freq\": 440.0", "\"freq\": 440.0, \"freq\": 1.0", 1));
    assert!(
        error
            .to_string()
            .contains("the name \"freq\" appears twice"),
        "{error}"
    );
    // A slot beyond u8.
    let error = json_error(&base.replacen("\"slot\": 0", "\"slot\": 300", 1));
    assert!(matches!(error, SnapshotError::Json { .. }), "{error:?}");
    // A missing required field.
    let error = json_error(r#"{"format": "aetherdsp-patch", "version": 1}"#);
    assert!(error.to_string().contains("sample_rate"), "{error}");
}

#[test]
fn unknown_format_is_refused() {
    let text = base()
        .to_json_pretty()
        .replace("aetherdsp-patch", "other-patch");
    assert_eq!(
        json_error(&text),
        SnapshotError::UnknownFormat {
            found: "other-patch".into()
        }
    );
    let mut snapshot = base();
    snapshot.format = "x".into();
    assert!(matches!(
        refused(&snapshot),
        SnapshotError::UnknownFormat { .. }
    ));
}

#[test]
fn unknown_version_is_refused_before_the_layout() {
    // A future version with a different layout reports the version, not a shape error.
    let error = json_error(r#"{"format": "aetherdsp-patch", "version": 2, "graph": {}}"#);
    assert_eq!(error, SnapshotError::UnsupportedVersion { found: 2 });
    assert_eq!(
        error.to_string(),
        "unsupported patch version 2 (this build reads version 1)"
    );
    let mut snapshot = base();
    snapshot.version = 0;
    assert_eq!(
        refused(&snapshot),
        SnapshotError::UnsupportedVersion { found: 0 }
    );
}

#[test]
fn invalid_sample_rates_are_refused() {
    for value in [
        0.0,
        0.4,
        -48_000.0,
        f32::NAN,
        f32::INFINITY,
        1e9,
        1e12,
        3e38,
    ] {
        let mut snapshot = base();
        snapshot.sample_rate = value;
        let error = refused(&snapshot);
        assert!(
            matches!(error, SnapshotError::InvalidSampleRate { value: v } if v.to_bits() == value.to_bits()),
            "{error:?}"
        );
    }
    let text = base().to_json_pretty().replace("48000.0", "-1.0");
    let error = refused(&GraphSnapshot::from_json(&text).unwrap());
    assert_eq!(
        error.to_string(),
        "sample rate -1 Hz is outside the supported range 1000 to 768000 Hz"
    );
}

// ---- node refusals ----

#[test]
fn duplicate_node_ids_are_refused() {
    let mut snapshot = base();
    snapshot.nodes[2].id = 0;
    let error = refused(&snapshot);
    assert_eq!(
        error,
        SnapshotError::DuplicateNodeId {
            node: node(0, "Noise"),
            first_type: "Osc".into(),
        }
    );
    assert_eq!(
        error.to_string(),
        "node 0 (Noise) reuses id 0, which an earlier node (Osc) already has"
    );
}

#[test]
fn unknown_node_types_are_refused() {
    let mut snapshot = base();
    snapshot.nodes[1].type_name = "Reverb".into();
    let error = refused(&snapshot);
    assert!(
        matches!(&error, SnapshotError::UnknownNodeType { node: n, .. } if *n == node(1, "Reverb")),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "node 1 (Reverb) has an unknown type; registered types: Delay, Gain, Noise, Osc"
    );
}

#[test]
fn states_the_constructor_refuses_are_refused() {
    let mut snapshot = base();
    snapshot.nodes[3]
        .state
        .0
        .insert("samples".into(), StateValue::Int(100_000));
    let error = refused(&snapshot);
    assert!(
        matches!(
            &error,
            SnapshotError::StateRefused { node: n, error: StateError::Invalid { key: "samples", .. } }
                if *n == node(3, "Delay")
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "node 3 (Delay): the saved state was refused: state entry \"samples\" is invalid: 100000 is not in 1..=256"
    );

    // Wrong type, and state on a type that takes none.
    let mut snapshot = base();
    snapshot.nodes[0]
        .state
        .0
        .insert("shape".into(), StateValue::Int(3));
    assert!(matches!(
        refused(&snapshot),
        SnapshotError::StateRefused {
            error: StateError::WrongType { key: "shape", .. },
            ..
        }
    ));
    let mut snapshot = base();
    snapshot.nodes[1].state = NodeState::new().with("extra", StateValue::Bool(true));
    assert!(matches!(
        refused(&snapshot),
        SnapshotError::StateRefused { .. }
    ));
}

/// A node type registered under a name its nodes do not report.
fn liar(_: &NodeState) -> Result<Box<dyn DspNode>, StateError> {
    Ok(Box::new(common::Gain))
}

/// A node type declaring more parameters than a block holds.
struct Crowded;
const CROWDED: [ParamMeta; 9] = {
    let meta = ParamMeta::new("p", 0.0, 1.0, 0.0, Unit::None);
    [meta; 9]
};
impl DspNode for Crowded {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
    }
    fn type_name(&self) -> &'static str {
        "Crowded"
    }
    fn param_specs(&self) -> &[ParamMeta] {
        &CROWDED
    }
}
fn crowded(_: &NodeState) -> Result<Box<dyn DspNode>, StateError> {
    Ok(Box::new(Crowded))
}

#[test]
fn misbehaving_node_types_are_refused() {
    let mut registry = registry();
    registry.register("Liar", liar).unwrap();
    registry.register("Crowded", crowded).unwrap();
    let mut snapshot = GraphSnapshot::new(SAMPLE_RATE);
    snapshot.nodes.push(SnapshotNode {
        id: 5,
        type_name: "Liar".into(),
        params: Default::default(),
        state: NodeState::new(),
        label: None,
    });
    let error = snapshot.validate(&registry).unwrap_err();
    assert_eq!(
        error,
        SnapshotError::TypeMismatch {
            node: node(5, "Liar"),
            built: "Gain"
        }
    );
    assert_eq!(
        error.to_string(),
        "node 5 (Liar): the registered constructor built a node of type \"Gain\" instead"
    );

    snapshot.nodes[0].type_name = "Crowded".into();
    let error = snapshot.validate(&registry).unwrap_err();
    assert!(
        matches!(error, SnapshotError::InvalidParamSpecs { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("node 5 (Crowded) declares invalid parameters")
    );
}

// ---- parameter refusals ----

#[test]
fn unknown_parameters_are_refused() {
    let mut snapshot = base();
    snapshot.nodes[0].params.insert("detune".into(), 0.0);
    let error = refused(&snapshot);
    assert_eq!(
        error,
        SnapshotError::UnknownParam {
            node: node(0, "Osc"),
            param: "detune".into(),
            known: vec!["freq", "level"],
        }
    );
    assert_eq!(
        error.to_string(),
        "node 0 (Osc) has no parameter named \"detune\"; its parameters: freq, level"
    );
}

#[test]
fn out_of_range_parameters_are_refused_not_clamped() {
    let text = base()
        .to_json_pretty()
        .replacen("\"gain\": 0.75", "\"gain\": 2.5", 1);
    let error = refused(&GraphSnapshot::from_json(&text).unwrap());
    assert_eq!(
        error,
        SnapshotError::ParamOutOfRange {
            node: node(1, "Gain"),
            param: "gain".into(),
            value: 2.5,
            min: 0.0,
            max: 2.0,
        }
    );
    assert_eq!(
        error.to_string(),
        "node 1 (Gain): parameter \"gain\" = 2.5 is outside its range [0, 2]"
    );
    // The bounds themselves are inside.
    let mut snapshot = base();
    snapshot.nodes[0].params.insert("freq".into(), 4000.0);
    snapshot.nodes[0].params.insert("level".into(), 0.0);
    snapshot.validate(&registry()).unwrap();
}

#[test]
fn non_finite_parameters_are_refused() {
    for value in [f32::NAN, f32::NEG_INFINITY] {
        let mut snapshot = base();
        snapshot.nodes[3].params.insert("mix".into(), value);
        // Through bytes, which carry non-finite floats.
        let snapshot = GraphSnapshot::from_bytes(&snapshot.to_bytes()).unwrap();
        let error = refused(&snapshot);
        assert!(
            matches!(&error, SnapshotError::NonFiniteParam { node: n, param, .. }
                if *n == node(3, "Delay") && param == "mix"),
            "{error:?}"
        );
    }
    // JSON numbers beyond f32 are refused as written, never turned into infinity.
    let text = base()
        .to_json_pretty()
        .replacen("\"mix\": 0.25", "\"mix\": 1e40", 1);
    let error = GraphSnapshot::from_json(&text).unwrap_err().to_string();
    assert!(
        error.contains("the number 1e40 is too large for a 32-bit float"),
        "{error}"
    );
    let text = base().to_json_pretty().replace("48000.0", "3e39");
    let error = GraphSnapshot::from_json(&text).unwrap_err().to_string();
    assert!(error.contains("the number 3e39 is too large"), "{error}");
}

// ---- edge and output refusals ----

#[test]
fn edges_to_missing_nodes_are_refused() {
    let mut snapshot = base();
    snapshot.edges[1].from = 42;
    let error = refused(&snapshot);
    assert_eq!(
        error,
        SnapshotError::EdgeToMissingNode {
            edge: 1,
            from: 42,
            to: 1,
            slot: 1,
            missing: 42
        }
    );
    assert_eq!(
        error.to_string(),
        "edge #1 (42 -> 1, slot 1) refers to node 42, which is not in the patch"
    );
}

#[test]
fn slots_out_of_range_are_refused() {
    let text = base()
        .to_json_pretty()
        .replacen("\"slot\": 1", "\"slot\": 8", 1);
    let error = refused(&GraphSnapshot::from_json(&text).unwrap());
    assert_eq!(
        error,
        SnapshotError::SlotOutOfRange {
            edge: 1,
            to: node(1, "Gain"),
            slot: 8
        }
    );
    assert_eq!(
        error.to_string(),
        "edge #1 feeds input slot 8 of node 1 (Gain), but nodes have 8 inputs (0..=7)"
    );
}

#[test]
fn two_edges_into_one_slot_are_refused() {
    let mut snapshot = base();
    snapshot.edges.push(SnapshotEdge {
        from: 0,
        to: 3,
        slot: 0,
    });
    let error = refused(&snapshot);
    assert_eq!(
        error,
        SnapshotError::SlotTaken {
            to: node(3, "Delay"),
            slot: 0,
            first: node(1, "Gain"),
            second: node(0, "Osc"),
        }
    );
    assert_eq!(
        error.to_string(),
        "input slot 0 of node 3 (Delay) is fed twice: by node 1 (Gain) and by node 0 (Osc)"
    );
}

#[test]
fn cycles_are_refused_and_spelled_out() {
    // Delay feeds back into Osc: Osc -> Gain -> Delay -> Osc.
    let mut snapshot = base();
    snapshot.edges.push(SnapshotEdge {
        from: 3,
        to: 0,
        slot: 0,
    });
    let error = refused(&snapshot);
    let SnapshotError::Cycle { cycle } = &error else {
        panic!("{error:?}");
    };
    let ids: Vec<u32> = cycle.iter().map(|node| node.id).collect();
    assert_eq!(ids.first(), ids.last());
    assert_eq!(ids.len(), 4);
    // Every consecutive pair is an edge of the file.
    for pair in ids.windows(2) {
        assert!(
            snapshot
                .edges
                .iter()
                .any(|edge| edge.from == pair[0] && edge.to == pair[1]),
            "{pair:?} is not an edge"
        );
    }
    assert!(
        error
            .to_string()
            .starts_with("the edges form a cycle: node "),
        "{error}"
    );

    // A node feeding itself.
    let mut snapshot = base();
    snapshot.edges.push(SnapshotEdge {
        from: 2,
        to: 2,
        slot: 0,
    });
    let error = refused(&snapshot);
    assert_eq!(
        error.to_string(),
        "the edges form a cycle: node 2 (Noise) -> node 2 (Noise)"
    );

    // A cycle downstream of acyclic nodes (Noise -> Gain <-> Delay).
    let mut snapshot = base();
    snapshot.edges.push(SnapshotEdge {
        from: 3,
        to: 1,
        slot: 2,
    });
    let error = refused(&snapshot);
    assert_eq!(
        error.to_string(),
        "the edges form a cycle: node 3 (Delay) -> node 1 (Gain) -> node 3 (Delay)"
    );
}

#[test]
fn missing_outputs_are_refused() {
    let mut snapshot = base();
    snapshot.output = Some(9);
    let error = refused(&snapshot);
    assert_eq!(error, SnapshotError::UnknownOutput { output: 9 });
    assert_eq!(
        error.to_string(),
        "the output is node 9, which is not in the patch"
    );
}

// ---- binary refusals ----

#[test]
fn binary_round_trips_and_is_compact() {
    let snapshot = base();
    let bytes = snapshot.to_bytes();
    assert_eq!(&bytes[..BINARY_MAGIC.len()], b"AETHER\0");
    assert_eq!(
        &bytes[BINARY_MAGIC.len()..BINARY_HEADER_LEN],
        &FORMAT_VERSION.to_le_bytes()
    );
    assert!(bytes.len() < snapshot.to_json_pretty().len() / 2);
    assert_eq!(GraphSnapshot::from_bytes(&bytes).unwrap(), snapshot);
}

#[test]
fn wrong_magic_is_refused() {
    let mut bytes = base().to_bytes();
    bytes[0] = b'X';
    assert_eq!(
        GraphSnapshot::from_bytes(&bytes),
        Err(SnapshotError::BadMagic)
    );
    let json = base().to_json_pretty();
    assert_eq!(
        GraphSnapshot::from_bytes(json.as_bytes()),
        Err(SnapshotError::BadMagic)
    );
}

#[test]
fn unknown_binary_versions_are_refused() {
    let mut bytes = base().to_bytes();
    bytes[BINARY_MAGIC.len()..BINARY_HEADER_LEN].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(
        GraphSnapshot::from_bytes(&bytes),
        Err(SnapshotError::UnsupportedVersion { found: 7 })
    );
    // A header that disagrees with the body.
    let mut snapshot = base();
    snapshot.version = 2;
    let mut bytes = snapshot.to_bytes();
    bytes[BINARY_MAGIC.len()..BINARY_HEADER_LEN].copy_from_slice(&1u32.to_le_bytes());
    assert_eq!(
        GraphSnapshot::from_bytes(&bytes),
        Err(SnapshotError::VersionMismatch { header: 1, body: 2 })
    );
}

#[test]
fn truncated_bytes_are_refused() {
    let bytes = base().to_bytes();
    assert_eq!(
        GraphSnapshot::from_bytes(&[]),
        Err(SnapshotError::Truncated {
            missing: BINARY_HEADER_LEN
        })
    );
    assert_eq!(
        GraphSnapshot::from_bytes(&bytes[..5]),
        Err(SnapshotError::Truncated { missing: 6 })
    );
    for cut in [BINARY_HEADER_LEN, BINARY_HEADER_LEN + 3, bytes.len() - 1] {
        let error = GraphSnapshot::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(error, SnapshotError::Truncated { .. }),
            "{cut}: {error:?}"
        );
        assert!(error.to_string().starts_with("binary patch is truncated"));
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = base().to_bytes();
    bytes.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        GraphSnapshot::from_bytes(&bytes),
        Err(SnapshotError::TrailingBytes { count: 3 })
    );
}

fn header() -> Vec<u8> {
    let mut bytes = BINARY_MAGIC.to_vec();
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes
}

#[test]
fn corrupt_lengths_hit_the_decode_limit() {
    // The format string claims 2^40 bytes (varint marker 253, then a u64).
    let mut bytes = header();
    bytes.push(253);
    bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
    let error = GraphSnapshot::from_bytes(&bytes).unwrap_err();
    assert_eq!(
        error,
        SnapshotError::SizeLimit {
            limit: MAX_BINARY_BYTES
        }
    );
    // Input longer than the limit is refused before decoding.
    let mut bytes = header();
    bytes.resize(MAX_BINARY_BYTES + 1, 0);
    assert_eq!(
        GraphSnapshot::from_bytes(&bytes),
        Err(SnapshotError::SizeLimit {
            limit: MAX_BINARY_BYTES
        })
    );
}

#[test]
fn corrupt_bodies_are_refused() {
    // The format string is not UTF-8.
    let mut bytes = header();
    bytes.extend_from_slice(&[3, 0xff, 0xfe, 0xfd]);
    let error = GraphSnapshot::from_bytes(&bytes).unwrap_err();
    assert!(matches!(error, SnapshotError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().starts_with("binary patch is corrupt: "));

    // A body whose format field names another format.
    let mut snapshot = base();
    snapshot.format = "other".into();
    assert_eq!(
        GraphSnapshot::from_bytes(&snapshot.to_bytes()),
        Err(SnapshotError::UnknownFormat {
            found: "other".into()
        })
    );

    // An enum tag out of range (StateValue has four variants): find the Osc shape's tag.
    let bytes = base().to_bytes();
    let text_tag = bytes
        .windows(7)
        .position(|window| window == [3, 6, b's', b'q', b'u', b'a', b'r'])
        .expect("the Osc state's Text tag and string");
    let mut corrupt = bytes.clone();
    corrupt[text_tag] = 9;
    let error = GraphSnapshot::from_bytes(&corrupt).unwrap_err();
    assert!(matches!(error, SnapshotError::Corrupt { .. }), "{error:?}");
}

// ---- a playing engine ----

#[test]
fn capture_while_the_audio_thread_plays() {
    let registry = registry();
    let config = EngineConfig {
        node_capacity: 16,
        command_capacity: 64,
        ..EngineConfig::default()
    };
    let (mut controller, mut audio) = engine(SAMPLE_RATE, config).unwrap();
    let ids = fixed_graph(controller.graph_mut(), &registry);
    controller.commit().unwrap();
    let before = GraphSnapshot::capture_engine(&controller);
    assert_eq!(before, base());

    let stop = Arc::new(AtomicBool::new(false));
    let player = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut blocks = 0u64;
            let mut peak = 0.0f32;
            // Bounded: stops when told, or after a generous number of blocks.
            while !stop.load(Ordering::Relaxed) && blocks < 2_000_000 {
                peak = audio
                    .process_block()
                    .iter()
                    .fold(peak, |peak, sample| peak.max(sample.abs()));
                blocks += 1;
            }
            (audio, blocks, peak)
        })
    };

    // Capture repeatedly while blocks are processed; wait until some have been.
    let mut captures = 0;
    while (controller.stats().blocks < 64 || captures < 16) && !player.is_finished() {
        assert_eq!(GraphSnapshot::capture_engine(&controller), before);
        captures += 1;
        std::thread::yield_now();
    }

    // Parameter changes show up as new targets.
    controller
        .set_param_by_name(ids[1], "gain", 1.5, 480)
        .unwrap();
    controller
        .set_param_by_name(ids[0], "freq", 110.0, 0)
        .unwrap();
    let after = GraphSnapshot::capture_engine(&controller);
    assert_eq!(after.nodes[1].params["gain"], 1.5);
    assert_eq!(after.nodes[0].params["freq"], 110.0);
    let mut expected = before.clone();
    expected.nodes[1].params.insert("gain".into(), 1.5);
    expected.nodes[0].params.insert("freq".into(), 110.0);
    assert_eq!(after, expected);

    // Restoring another patch into the playing engine swaps the graph in one commit.
    let mut other = before.clone();
    other.nodes.truncate(1);
    other.edges.clear();
    other.output = Some(0);
    let restored = other.restore(&registry, controller.graph_mut()).unwrap();
    controller.commit().unwrap();
    assert_eq!(GraphSnapshot::capture_engine(&controller), other);
    let blocks_at_swap = controller.stats().blocks;
    while controller.stats().blocks < blocks_at_swap + 64 && !player.is_finished() {
        controller.collect_garbage();
        std::thread::yield_now();
    }

    stop.store(true, Ordering::Relaxed);
    let (_audio, blocks, peak) = player.join().unwrap();
    assert!(blocks >= 128);
    assert!(peak > 0.0, "the engine played sound");
    assert_eq!(controller.stats().non_finite_samples, 0);
    assert!(restored.output.is_some());
}

/// A registry without the types a patch needs refuses it with every type listed.
#[test]
fn an_empty_registry_names_no_types() {
    let error = base().validate(&NodeRegistry::new()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "node 0 (Osc) has an unknown type; registered types: (none)"
    );
}

// ---- names from files are safe to print ----

#[test]
fn control_characters_and_long_names_never_reach_a_terminal_raw() {
    let mut snapshot = base();
    snapshot.nodes[0].type_name = "Evil\u{1b}]0;owned\u{7}\r\u{9b}2J".into();
    let message = refused(&snapshot).to_string();
    assert!(!message.chars().any(char::is_control), "{message:?}");
    assert!(
        message.contains("Evil\\u{1b}]0;owned\\u{7}\\u{d}\\u{9b}2J"),
        "{message}"
    );

    let mut snapshot = base();
    snapshot.nodes[0].type_name = "T".repeat(10_000_000);
    let message = refused(&snapshot).to_string();
    assert!(
        message.len() < 2_000,
        "a 10 MB name made a {} byte error",
        message.len()
    );
    assert!(message.contains("TTT…"), "{message}");

    let mut snapshot = base();
    snapshot.nodes[3].params.insert("mi\u{1b}[31mx".into(), 0.5);
    let message = refused(&snapshot).to_string();
    assert!(!message.chars().any(char::is_control), "{message:?}");
}

#[test]
fn binary_decode_errors_are_plain_words() {
    let mut snapshot = base();
    snapshot.nodes[0].type_name = "Sine".into();
    let mut bytes = snapshot.to_bytes();
    // Corrupt the first byte of the type name "Sine" into an invalid UTF-8 lead byte.
    let at = bytes
        .windows(4)
        .position(|window| window == b"Sine")
        .unwrap();
    bytes[at] = 0xff;
    let message = GraphSnapshot::from_bytes(&bytes).unwrap_err().to_string();
    assert_eq!(
        message,
        "binary patch is corrupt: a text field is not valid UTF-8"
    );
}

#[test]
fn node_settings_survive_a_json_save_and_load_bit_for_bit() {
    // Found by the binary_patch fuzz target: without serde_json's exact float parsing this
    // setting came back one unit in the last place low.
    let mut snapshot = base();
    snapshot.nodes[3].state = aether_graph::NodeState::new().with(
        "max_seconds",
        aether_graph::StateValue::Float(2.000_000_000_001_364_2),
    );
    let decoded = GraphSnapshot::from_json(&snapshot.to_json_pretty()).unwrap();
    assert_eq!(decoded, snapshot);
    for bits in [
        0x4000_0000_0000_0c00_u64,
        0x3fb9_9999_9999_999a,
        0x4059_0000_0000_0001,
    ] {
        snapshot.nodes[3].state = aether_graph::NodeState::new().with(
            "max_seconds",
            aether_graph::StateValue::Float(f64::from_bits(bits)),
        );
        let decoded = GraphSnapshot::from_json(&snapshot.to_json_pretty()).unwrap();
        assert_eq!(decoded, snapshot, "{bits:#x}");
    }
}
