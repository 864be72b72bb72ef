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
    // (2 000 nodes travel as 32 install batches through an 8-slot ring: a few blocks.)
    for _ in 0..50 {
        audio.process_block();
        let _ = control.commit();
    }
    assert!(!control.has_pending_changes());
    assert_eq!(control.stats().node_moves, 2_000);
}

#[test]
fn a_commit_of_any_size_costs_each_block_a_bounded_amount_of_work() {
    const NODES: usize = 100_000;
    let config = EngineConfig {
        node_capacity: NODES,
        ..EngineConfig::default()
    };
    let (mut control, mut audio) = engine(48_000.0, config).unwrap();
    let ids: Vec<_> = (0..NODES)
        .map(|_| control.graph_mut().add_node(Box::new(Silence)).unwrap())
        .collect();
    control.graph_mut().set_output_node(ids[0]).unwrap();
    let report = control.commit().unwrap();
    assert!(report.schedule_sent);
    // Count the work, block by block, until the whole commit has arrived.
    let mut blocks = 0u64;
    let mut last_moves = 0;
    while control.has_pending_changes() || control.commands_in_flight() > 0 {
        audio.process_block();
        control.collect_garbage();
        let _ = control.commit();
        let moves = control.stats().node_moves;
        assert!(
            moves - last_moves <= 512,
            "one block moved {} nodes",
            moves - last_moves
        );
        last_moves = moves;
        blocks += 1;
        assert!(blocks < 10_000);
    }
    let stats = control.stats();
    assert_eq!(stats.node_moves, NODES as u64);
    assert_eq!(stats.max_node_moves_per_block, 512);
    assert!(blocks >= (NODES / 512) as u64, "{blocks} blocks");

    // Clearing them all is bounded the same way, and every node comes back.
    control.graph_mut().clear();
    control.commit().unwrap();
    while control.has_pending_changes() || control.commands_in_flight() > 0 {
        audio.process_block();
        control.collect_garbage();
        let _ = control.commit();
    }
    let stats = control.stats();
    assert_eq!(stats.node_moves, 2 * NODES as u64);
    assert_eq!(stats.max_node_moves_per_block, 512);
    assert_eq!(control.graph().node_count(), 0);
}
