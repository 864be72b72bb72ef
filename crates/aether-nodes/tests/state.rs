//! Every node type: registry round trips give identical output, bad settings give typed errors,
//! parameter specs are valid, and every output sample is written.

mod common;

use aether_graph::{DspNode, NodeRegistry, NodeState, RegistryError, StateError, StateValue};
use aether_nodes::*;
use aether_params::{MAX_PARAMS, ParamBlock};
use common::*;

fn text(value: &str) -> StateValue {
    StateValue::Text(value.into())
}

/// A state for each node type, including non-default settings.
fn sample_states() -> Vec<(&'static str, NodeState)> {
    let mut states: Vec<(&'static str, NodeState)> = NODE_TYPES
        .iter()
        .map(|&(name, _)| (name, NodeState::new()))
        .collect();
    for mode in BiquadMode::ALL {
        states.push(("Biquad", NodeState::new().with(MODE_KEY, text(mode.name()))));
    }
    for mode in SvfMode::ALL {
        states.push(("Svf", NodeState::new().with(MODE_KEY, text(mode.name()))));
    }
    states.push((
        "WhiteNoise",
        NodeState::new().with(SEED_KEY, StateValue::Int(-42)),
    ));
    states.push((
        "PinkNoise",
        NodeState::new().with(SEED_KEY, StateValue::Int(99)),
    ));
    states.push((
        "Sequencer",
        NodeState::new().with(NOTES_KEY, text("50, 52.5 55")),
    ));
    states.push((
        "Delay",
        NodeState::new()
            .with(MAX_SECONDS_KEY, StateValue::Float(0.05))
            .with(MAX_SAMPLE_RATE_KEY, StateValue::Int(44_100)),
    ));
    states
}

/// Input signals: slot 0 alternates a gate-like level with a tone, slot 1 wanders in the audio
/// range (usable as a frequency), the rest are small tones.
fn test_inputs(samples: usize) -> Vec<Vec<f32>> {
    (0..8)
        .map(|slot| {
            (0..samples)
                .map(|n| {
                    let t = n as f32 / SR;
                    match slot {
                        0 => f32::from(u8::from(n % 700 < 300)) + 0.2 * (t * 2_000.0).sin(),
                        1 => 500.0 + 300.0 * (t * 3.0).sin(),
                        _ => 0.1 * (t * 100.0 * slot as f32).sin(),
                    }
                })
                .collect()
        })
        .collect()
}

/// A parameter block for `node` with a ramp in flight on every parameter.
fn moving_params(node: &dyn DspNode) -> ParamBlock {
    let mut params = params_for(node);
    for index in 0..params.len() {
        let meta = *params.meta(index).unwrap();
        let target = meta.min + (meta.max - meta.min) * 0.3;
        params.set_target(index, target, 1_000).unwrap();
    }
    params
}

#[test]
fn save_state_then_registry_create_gives_identical_output() {
    let registry = registry();
    let samples = 3_000;
    let signals = test_inputs(samples);
    for (name, state) in sample_states() {
        let mut original = registry.create(name, &state).unwrap();
        assert_eq!(original.type_name(), name);
        let saved = original.save_state();
        let mut rebuilt = registry.create(name, &saved).unwrap();
        assert_eq!(rebuilt.save_state(), saved, "{name}: state round trip");
        assert_eq!(rebuilt.param_specs(), original.param_specs());
        for connected in [0, 1, 2, 8] {
            let inputs: Vec<Option<&[f32]>> = signals
                .iter()
                .take(connected)
                .map(|s| Some(s.as_slice()))
                .collect();
            let mut params_a = moving_params(original.as_ref());
            let mut params_b = params_a.clone();
            original.reset();
            rebuilt.reset();
            let a = render_inputs(original.as_mut(), &mut params_a, &inputs, samples, SR);
            let b = render_inputs(rebuilt.as_mut(), &mut params_b, &inputs, samples, SR);
            assert!(
                a.iter().all(|v| v.is_finite()),
                "{name} {state:?}: non-finite output"
            );
            let same = a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{name} {state:?} with {connected} inputs: outputs differ"
            );
        }
    }
}

#[test]
fn direct_constructors_match_their_saved_state() {
    let registry = registry();
    let nodes: Vec<Box<dyn DspNode>> = vec![
        Box::new(WhiteNoise::with_seed(12_345)),
        Box::new(PinkNoise::with_seed(u64::MAX)),
        Box::new(Biquad::new(BiquadMode::HighShelf)),
        Box::new(Svf::new(SvfMode::Notch)),
        Box::new(Sequencer::new("40 47").unwrap()),
        Box::new(Delay::new(0.02, 48_000.0).unwrap()),
    ];
    let signals = test_inputs(2_000);
    let inputs = [Some(signals[0].as_slice())];
    for mut node in nodes {
        let mut copy = registry
            .create(node.type_name(), &node.save_state())
            .unwrap();
        let mut params_a = moving_params(node.as_ref());
        let mut params_b = params_a.clone();
        let a = render_inputs(node.as_mut(), &mut params_a, &inputs, 2_000, SR);
        let b = render_inputs(copy.as_mut(), &mut params_b, &inputs, 2_000, SR);
        assert_eq!(a, b, "{}", node.type_name());
    }
}

#[test]
fn registry_holds_every_type_once_under_its_type_name() {
    let mut registry = NodeRegistry::new();
    register_all(&mut registry).unwrap();
    let mut expected: Vec<&str> = NODE_TYPES.iter().map(|&(name, _)| name).collect();
    expected.sort_unstable();
    let registered: Vec<&str> = registry.type_names().collect();
    assert_eq!(registered, expected);
    assert_eq!(expected.len(), 16);
    for name in expected {
        assert_eq!(
            registry
                .create(name, &NodeState::new())
                .unwrap()
                .type_name(),
            name
        );
    }
    // A second registration reports the duplicate and changes nothing.
    assert!(matches!(
        register_all(&mut registry),
        Err(RegistryError::Duplicate(_))
    ));
    assert_eq!(registry.type_names().count(), 16);
}

#[test]
fn param_specs_are_valid_unique_and_within_capacity() {
    for &(name, constructor) in NODE_TYPES {
        let node = constructor(&NodeState::new()).unwrap();
        let specs = node.param_specs();
        assert!(specs.len() <= MAX_PARAMS, "{name}");
        for spec in specs {
            spec.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        ParamBlock::from_metas(specs).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(MIXER_PARAMS.len(), 8);
    assert_eq!(MIXER_PARAMS[7].name, "gain7");
}

fn create_error(name: &str, state: NodeState) -> StateError {
    match registry().create(name, &state) {
        Err(RegistryError::State { error, .. }) => error,
        Err(other) => panic!("{name}: unexpected {other}"),
        Ok(_) => panic!("{name}: {state:?} was accepted"),
    }
}

#[test]
fn bad_states_are_refused_with_typed_descriptive_errors() {
    // Unknown entries, for stateless and stateful nodes alike.
    for &(name, _) in NODE_TYPES {
        let error = create_error(name, NodeState::new().with("bogus", StateValue::Bool(true)));
        let message = error.to_string();
        assert!(
            matches!(error, StateError::Invalid { .. }),
            "{name}: {error:?}"
        );
        assert!(
            message.contains("bogus") && message.contains(name),
            "{message}"
        );
    }
    // Wrong types.
    for (name, key, value) in [
        ("Biquad", MODE_KEY, StateValue::Int(1)),
        ("Svf", MODE_KEY, StateValue::Bool(false)),
        ("WhiteNoise", SEED_KEY, StateValue::Float(1.5)),
        ("PinkNoise", SEED_KEY, text("7")),
        ("Sequencer", NOTES_KEY, StateValue::Int(60)),
        ("Delay", MAX_SECONDS_KEY, text("2")),
    ] {
        let error = create_error(name, NodeState::new().with(key, value));
        assert!(
            matches!(error, StateError::WrongType { key: k, .. } if k == key),
            "{name}: {error:?}"
        );
    }
    // Invalid values.
    for (name, key, value, needle) in [
        ("Biquad", MODE_KEY, text("bandstop"), "lowpass, highpass"),
        ("Svf", MODE_KEY, text("peaking"), "expected one of"),
        ("Sequencer", NOTES_KEY, text(""), "no notes"),
        ("Sequencer", NOTES_KEY, text("60 200"), "outside 0 to 127"),
        ("Delay", MAX_SECONDS_KEY, StateValue::Float(0.0), "outside"),
        (
            "Delay",
            MAX_SECONDS_KEY,
            StateValue::Float(f64::NAN),
            "outside",
        ),
        ("Delay", MAX_SECONDS_KEY, StateValue::Float(1e9), "outside"),
        (
            "Delay",
            MAX_SAMPLE_RATE_KEY,
            StateValue::Float(10.0),
            "outside",
        ),
    ] {
        let error = create_error(name, NodeState::new().with(key, value));
        let message = error.to_string();
        assert!(
            matches!(error, StateError::Invalid { key: k, .. } if k == key),
            "{name}: {error:?}"
        );
        assert!(message.contains(needle), "{name}: {message}");
    }
}

#[test]
fn load_state_replaces_settings_or_leaves_the_node_unchanged() {
    let mut filter = Biquad::new(BiquadMode::Lowpass);
    filter
        .load_state(&NodeState::new().with(MODE_KEY, text("notch")))
        .unwrap();
    assert_eq!(filter.mode(), BiquadMode::Notch);
    assert!(
        filter
            .load_state(&NodeState::new().with(MODE_KEY, text("nope")))
            .is_err()
    );
    assert_eq!(filter.mode(), BiquadMode::Notch);

    let mut delay = Delay::new(1.0, 48_000.0).unwrap();
    delay
        .load_state(&NodeState::new().with(MAX_SECONDS_KEY, StateValue::Float(0.5)))
        .unwrap();
    assert_eq!(delay.line_len(), 48_001);

    let mut sine = Sine::new();
    assert!(sine.load_state(&NodeState::new()).is_ok());
    assert!(
        sine.load_state(&NodeState::new().with("x", StateValue::Int(1)))
            .is_err()
    );
}

#[test]
fn every_node_writes_every_sample_without_and_with_inputs() {
    let registry = registry();
    let signals = test_inputs(640);
    for (name, state) in sample_states() {
        let mut node = registry.create(name, &state).unwrap();
        let mut params = params_for(node.as_ref());
        for connected in [0, 8] {
            let inputs: Vec<Option<&[f32]>> = signals
                .iter()
                .take(connected)
                .map(|s| Some(s.as_slice()))
                .collect();
            // `render_inputs` hands the node a NaN-filled output buffer.
            let y = render_inputs(node.as_mut(), &mut params, &inputs, 640, SR);
            assert!(
                y.iter().all(|v| v.is_finite()),
                "{name} {state:?} left samples unwritten"
            );
        }
        // A parameter block that is not the node's own: missing parameters read as defaults.
        let mut empty = ParamBlock::new();
        let y = render_inputs(node.as_mut(), &mut empty, &[], 128, SR);
        assert!(
            y.iter().all(|v| v.is_finite()),
            "{name} with an empty parameter block"
        );
    }
}

#[test]
fn utility_nodes_follow_their_documented_rules() {
    let a: Vec<f32> = (0..128).map(|n| n as f32 * 0.01).collect();
    let b: Vec<f32> = (0..128).map(|n| 1.0 - n as f32 * 0.005).collect();

    let mut multiply = Multiply::new();
    let mut params = params_for(&multiply);
    assert!(
        render_inputs(&mut multiply, &mut params, &[], 128, SR)
            .iter()
            .all(|&v| v == 0.0)
    );
    let lone = render_inputs(&mut multiply, &mut params, &[None, Some(&b)], 128, SR);
    assert_eq!(lone, b, "a lone input passes (missing inputs count as 1.0)");
    let product = render_inputs(&mut multiply, &mut params, &[Some(&a), Some(&b)], 128, SR);
    for n in 0..128 {
        assert_eq!(product[n], a[n] * b[n]);
    }

    let mut mixer = Mixer::new();
    let mut params = params_for(&mixer);
    set(&mut params, "gain1", 0.5);
    set(&mut params, "gain3", 2.0);
    let mixed = render_inputs(
        &mut mixer,
        &mut params,
        &[None, Some(&a), None, Some(&b)],
        128,
        SR,
    );
    for n in 0..128 {
        assert!((mixed[n] - (0.5 * a[n] + 2.0 * b[n])).abs() < 1e-6);
    }

    let mut gain = Gain::new();
    let mut params = params_for(&gain);
    set(&mut params, "gain", 3.0);
    let scaled = render_inputs(&mut gain, &mut params, &[Some(&a)], 128, SR);
    assert!(scaled.iter().zip(&a).all(|(y, x)| *y == 3.0 * x));
    assert!(
        render_inputs(&mut gain, &mut params, &[], 64, SR)
            .iter()
            .all(|&v| v == 0.0)
    );

    let mut constant = Constant::new();
    let mut params = params_for(&constant);
    params.set_target(0, 64.0, 64).unwrap();
    let ramp = render(&mut constant, &mut params, 128);
    assert_eq!(ramp[0], 1.0);
    assert_eq!(ramp[63], 64.0);
    assert!(ramp[64..].iter().all(|&v| v == 64.0));
}

/// Every node type declares its measured cost hint (not the trait's default), and the graph
/// keeps it.
#[test]
fn every_node_type_declares_its_measured_cost_hint() {
    let registry = aether_nodes::registry();
    let mut graph = aether_graph::Graph::with_capacity(aether_nodes::NODE_TYPES.len());
    for &(name, _) in aether_nodes::NODE_TYPES {
        let (_, hint) = aether_nodes::COST_HINTS_NS
            .iter()
            .find(|(listed, _)| *listed == name)
            .unwrap_or_else(|| panic!("{name} has no entry in COST_HINTS_NS"));
        let node = registry
            .create(name, &aether_graph::NodeState::default())
            .expect("builds from an empty state");
        assert_eq!(node.cost_hint(), *hint, "{name}");
        let id = graph.add_node(node).expect("capacity");
        assert_eq!(graph.cost_hint(id), Some(*hint), "{name}");
    }
    assert_eq!(
        aether_nodes::COST_HINTS_NS.len(),
        aether_nodes::NODE_TYPES.len(),
        "a hint for a type that does not exist"
    );
}

#[test]
fn footprints_agree_with_what_the_constructors_build() {
    let registry = registry();
    let float = StateValue::Float;
    let states = [
        NodeState::new(),
        NodeState::new().with("max_seconds", float(0.5)),
        NodeState::new()
            .with("max_seconds", float(40.0))
            .with("max_sample_rate", float(384_000.0)),
        NodeState::new().with("max_seconds", float(0.0)),
        NodeState::new().with("max_seconds", float(61.0)),
        NodeState::new().with("max_sample_rate", float(10.0)),
        NodeState::new().with("max_seconds", StateValue::Text("long".into())),
        NodeState::new().with("typo", float(1.0)),
        NodeState::new()
            .with("max_seconds", float(60.0))
            .with("max_sample_rate", float(384_000.0)),
    ];
    for &(name, footprint) in NODE_FOOTPRINTS {
        let registered = registry
            .footprint(name)
            .expect("registered with its footprint");
        assert_eq!(registered.params, footprint.params);
        for state in &states {
            let declared = (footprint.state_bytes)(state);
            let built = Delay::from_state(state);
            match (declared, built) {
                (Ok(bytes), Ok(delay)) => assert_eq!(bytes, delay.line_len() * 4, "{state:?}"),
                (Err(declared), Err(built)) => assert_eq!(declared, built, "{state:?}"),
                (declared, built) => panic!(
                    "{state:?}: the footprint says {declared:?}, the constructor {:?}",
                    built.map(|delay| delay.line_len())
                ),
            }
        }
        let node = registry.create(name, &NodeState::new()).unwrap();
        assert_eq!(node.param_specs(), footprint.params);
    }
}
