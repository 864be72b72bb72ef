//! The scheduler's output equals a naive reference evaluator bit for bit, on random DAGs, for
//! any host buffer size, in single-threaded and split (real-time) use.

mod common;

use aether_graph::BUFFER_SIZE;
use aether_scheduler::{EngineConfig, Scheduler, engine};
use common::{Dag, build, dag, reference_blocks};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn scheduler_equals_reference(dag in dag(300), blocks in 1usize..5) {
        let mut scheduler = Scheduler::new(48_000.0);
        build(&mut scheduler.graph, &dag);
        let mut ours = Vec::new();
        for _ in 0..blocks {
            ours.extend_from_slice(scheduler.process_block());
        }
        let reference = reference_blocks(&dag, blocks, None);
        prop_assert_eq!(ours.len(), reference.len());
        for (i, (a, b)) in ours.iter().zip(&reference).enumerate() {
            prop_assert_eq!(a.to_bits(), b.to_bits(), "sample {} differs: {} vs {}", i, a, b);
        }
        prop_assert_eq!(scheduler.stats().non_finite_samples, 0);
    }

    #[test]
    fn any_host_buffer_size_gives_the_same_stream(
        dag in dag(40),
        chunks in prop::collection::vec(0usize..300, 1..12),
        channels in 1usize..4,
    ) {
        let total_frames: usize = chunks.iter().sum();
        let blocks = total_frames.div_ceil(BUFFER_SIZE).max(1);
        let reference = reference_blocks(&dag, blocks, None);
        let (mut control, mut audio) = engine(48_000.0, EngineConfig::default()).unwrap();
        build(control.graph_mut(), &dag);
        control.commit().unwrap();
        let mut frame = 0;
        for chunk in chunks {
            let mut out = vec![f32::NAN; chunk * channels];
            audio.process(&mut out, channels);
            for (k, samples) in out.chunks_exact(channels).enumerate() {
                for &sample in samples {
                    prop_assert_eq!(sample.to_bits(), reference[frame + k].to_bits());
                }
            }
            frame += chunk;
        }
    }
}

#[test]
fn parameter_changes_reach_the_audio_side_without_recompiling() {
    let dag = Dag {
        nodes: vec![(12345, 0.001), (999, 0.0)],
        edges: vec![(0, 1, 2)],
        output: 1,
    };
    let (mut control, mut audio) = engine(48_000.0, EngineConfig::default()).unwrap();
    let ids = build(control.graph_mut(), &dag);
    control.commit().unwrap();
    let version = control.graph().version();
    control.set_param(ids[1], 0, 0.5, 0).unwrap();
    assert_eq!(
        control.graph().version(),
        version,
        "a parameter change is not a structural edit"
    );
    let mut ours = Vec::new();
    for _ in 0..3 {
        ours.extend_from_slice(audio.process_block());
    }
    let reference = reference_blocks(&dag, 3, Some(0.5));
    assert_eq!(ours, reference);
    assert_eq!(
        control.stats().commands_applied,
        3,
        "one install batch, one schedule swap, one parameter change"
    );
}

#[test]
fn partial_host_buffers_never_drop_or_repeat_samples() {
    let dag = Dag {
        nodes: vec![(7, 0.003)],
        edges: vec![],
        output: 0,
    };
    let reference = reference_blocks(&dag, 10, None);
    let mut scheduler = Scheduler::new(48_000.0);
    build(&mut scheduler.graph, &dag);
    let mut ours = Vec::new();
    for chunk in [37usize, 64, 1, 100, 0, 127, 311] {
        let mut out = vec![0.0; chunk];
        scheduler.process(&mut out, 1);
        ours.extend(out);
    }
    assert_eq!(&ours[..], &reference[..ours.len()]);
}
