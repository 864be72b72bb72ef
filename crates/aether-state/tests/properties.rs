//! Property tests: round trips render bit-identical audio; decoding never panics.

mod common;

use aether_state::{BINARY_HEADER_LEN, BINARY_MAGIC, GraphSnapshot};
use common::{SAMPLE_RATE, build, graph_spec, registry, render, small_scheduler};
use proptest::prelude::*;

const BLOCKS: usize = 8;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random graph -> capture -> JSON / bytes -> restore into a fresh scheduler renders the same
    /// samples, bit for bit, as the original rendered from its start.
    #[test]
    fn restored_graphs_render_bit_identical_audio(spec in graph_spec()) {
        let registry = registry();
        let mut original = small_scheduler();
        build(&spec, &mut original.graph, &registry);
        let snapshot = GraphSnapshot::capture(&original.graph, SAMPLE_RATE);
        let expected = render(&mut original, BLOCKS);

        let from_json = GraphSnapshot::from_json(&snapshot.to_json_pretty()).unwrap();
        prop_assert_eq!(&from_json, &snapshot);
        let from_bytes = GraphSnapshot::from_bytes(&snapshot.to_bytes()).unwrap();
        prop_assert_eq!(&from_bytes, &snapshot);

        for decoded in [from_json, from_bytes] {
            let mut restored = decoded.restore_into_scheduler(&registry, None).unwrap();
            prop_assert_eq!(
                &GraphSnapshot::capture(&restored.graph, restored.sample_rate()),
                &snapshot
            );
            prop_assert_eq!(&render(&mut restored, BLOCKS), &expected);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(snapshot) = GraphSnapshot::from_bytes(&bytes) {
            let _ = snapshot.validate(&registry());
        }
    }

    /// Random bodies behind a valid header reach the bincode decoder and the validator.
    #[test]
    fn random_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = BINARY_MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&body);
        if let Ok(snapshot) = GraphSnapshot::from_bytes(&bytes) {
            let _ = snapshot.validate(&registry());
        }
    }

    #[test]
    fn truncated_encodings_are_refused(spec in graph_spec(), cut in any::<prop::sample::Index>()) {
        let registry = registry();
        let mut scheduler = small_scheduler();
        build(&spec, &mut scheduler.graph, &registry);
        let bytes = GraphSnapshot::capture(&scheduler.graph, SAMPLE_RATE).to_bytes();
        let cut = cut.index(bytes.len());
        prop_assert!(GraphSnapshot::from_bytes(&bytes[..cut]).is_err());
    }

    /// Bit flips and overwritten bytes of a valid encoding: a typed error or a snapshot that the
    /// validator then checks; never a panic.
    #[test]
    fn mutated_encodings_never_panic(
        spec in graph_spec(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
        overwrite in proptest::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let registry = registry();
        let mut scheduler = small_scheduler();
        build(&spec, &mut scheduler.graph, &registry);
        let mut bytes = GraphSnapshot::capture(&scheduler.graph, SAMPLE_RATE).to_bytes();
        for (position, bit) in flips {
            let position = position.index(bytes.len());
            bytes[position] ^= 1 << bit;
        }
        if let Some((position, value)) = overwrite {
            // Past the header, so the decoder itself is exercised.
            let body = bytes.len() - BINARY_HEADER_LEN;
            let position = BINARY_HEADER_LEN + position.index(body);
            bytes[position] = value;
        }
        if let Ok(snapshot) = GraphSnapshot::from_bytes(&bytes) {
            let _ = snapshot.validate(&registry);
            let _ = snapshot.restore(&registry, &mut small_scheduler().graph);
        }
    }

    #[test]
    fn random_strings_never_panic(text in "\\PC{0,256}") {
        if let Ok(snapshot) = GraphSnapshot::from_json(&text) {
            let _ = snapshot.validate(&registry());
        }
    }

    /// Valid patch text with characters replaced, inserted or removed: errors carry positions,
    /// whatever parses goes through the validator; never a panic.
    #[test]
    fn mutated_json_never_panics(
        spec in graph_spec(),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(
                vec!["", "0", "9", "-", "1e40", "\"", "{", "}", "[", "]", ",", ":", "null", "x"],
            )),
            1..4,
        ),
    ) {
        let registry = registry();
        let mut scheduler = small_scheduler();
        build(&spec, &mut scheduler.graph, &registry);
        let mut text = GraphSnapshot::capture(&scheduler.graph, SAMPLE_RATE).to_json_pretty();
        for (position, replacement) in edits {
            // The text is ASCII, so every byte index is a char boundary.
            let position = position.index(text.len());
            text.replace_range(position..position + 1, replacement);
        }
        match GraphSnapshot::from_json(&text) {
            Ok(snapshot) => {
                let _ = snapshot.validate(&registry);
                let _ = snapshot.restore(&registry, &mut small_scheduler().graph);
            }
            Err(aether_state::SnapshotError::Json { line, .. }) => prop_assert!(line > 0),
            Err(_) => {}
        }
    }
}
