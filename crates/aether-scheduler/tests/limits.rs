//! Control-side answers to hostile or careless use: sizes and sample rates out of range get a
//! typed error instead of a panic or an abort, and a busy ring never loses a new node's id.

use aether_graph::{Block, DspNode, Inputs, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use aether_params::ParamBlock;
use aether_scheduler::{
    CommitError, ControlError, EngineConfig, EngineError, MAX_INITIAL_BUFFERS, MAX_NODE_CAPACITY,
    engine,
};

struct Silence;
impl DspNode for Silence {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
    }
    fn type_name(&self) -> &'static str {
        "Silence"
    }
}

#[test]
fn sample_rates_outside_the_supported_range_are_refused() {
    for rate in [
        0.0,
        0.3,
        -48_000.0,
        f32::NAN,
        f32::INFINITY,
        MIN_SAMPLE_RATE - 1.0,
        MAX_SAMPLE_RATE * 1.5,
        1e9,
        1e12,
        3e38,
    ] {
        match engine(rate, EngineConfig::default()) {
            Err(EngineError::InvalidSampleRate(value)) => {
                assert!(value == rate || (value.is_nan() && rate.is_nan()));
            }
            other => panic!(
                "rate {rate}: expected InvalidSampleRate, got {:?}",
                other.err()
            ),
        }
    }
    let message = engine(0.3, EngineConfig::default())
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        message,
        "sample rate 0.3 Hz is outside the supported range 1000 to 768000 Hz"
    );
    for rate in [
        MIN_SAMPLE_RATE,
        44_100.0,
        48_000.0,
        96_000.0,
        MAX_SAMPLE_RATE,
    ] {
        assert!(engine(rate, EngineConfig::default()).is_ok(), "{rate}");
    }
}

#[test]
fn oversized_configurations_are_typed_errors() {
    let cases = [
        (
            EngineConfig {
                node_capacity: u32::MAX as usize + 1,
                ..EngineConfig::default()
            },
            "node_capacity",
            MAX_NODE_CAPACITY,
        ),
        (
            EngineConfig {
                initial_buffers: 1 << 40,
                ..EngineConfig::default()
            },
            "initial_buffers",
            MAX_INITIAL_BUFFERS,
        ),
    ];
    for (config, expected_setting, expected_max) in cases {
        match engine(48_000.0, config) {
            Err(EngineError::ConfigOutOfRange { setting, max, .. }) => {
                assert_eq!(setting, expected_setting);
                assert_eq!(max, expected_max);
            }
            other => panic!("expected ConfigOutOfRange, got {:?}", other.err()),
        }
    }
}

#[test]
fn a_busy_ring_never_loses_a_new_nodes_id() {
    let config = EngineConfig {
        node_capacity: 4096,
        command_capacity: 8,
        ..EngineConfig::default()
    };
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    let mut ids = Vec::new();
    let mut not_sent = 0;
    for _ in 0..2_000 {
        match control.add_node(Box::new(Silence)) {
            Ok(id) => ids.push(id),
            Err(ControlError::AddedNotSent {
                id,
                error: CommitError::Busy { .. },
            }) => {
                not_sent += 1;
                ids.push(id);
            }
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(
        not_sent > 0,
        "the ring never filled; the test proves nothing"
    );
    // Every call added exactly one node, and every id is distinct and live.
    assert_eq!(control.graph().node_count(), ids.len());
    let distinct: std::collections::BTreeSet<_> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len());
    assert!(ids.iter().all(|&id| control.graph().contains(id)));
    // What stayed pending goes with a later commit once the audio side catches up.
    for _ in 0..4 {
        audio.process_block();
        let _ = control.commit();
    }
    assert!(!control.has_pending_changes());
}
