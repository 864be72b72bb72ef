//! AetherDSP's node library: real-time-safe mono oscillators, noise, filters, envelopes, a clock, a sequencer and a delay.
//!
//! Every node is a [`DspNode`] with declared parameters and, where it has settings, a validated
//! [`NodeState`]; [`register_all`] makes them all buildable by type name.
//!
//! # Real-time contract
//!
//! - **`process` never allocates, frees, locks, blocks, prints or panics**, on any input: any
//!   samples (NaN and infinities included), any connected or unconnected inputs, any
//!   parameter block (a parameter the block lacks reads as its default; values are clamped into
//!   the declared ranges) and any sample rate. Every loop is bounded by the block size (or a
//!   small constant). Each node writes every output sample. `tests/alloc.rs` proves the
//!   allocation part with a counting allocator, parameter ramps included.
//! - A sample rate that is not finite or is below [`MIN_SAMPLE_RATE`] makes the nodes that
//!   depend on time write silence and keep their state; frequencies are clamped to
//!   `[0, MAX_FREQUENCY_RATIO · sample_rate]`.
//! - Parameters are smoothed per sample ([`Param::fill_buffer`](aether_params::Param::fill_buffer)
//!   into a stack block), so ramps sent through the graph are sample-accurate.
//! - **Construction is control-thread work**: constructors and
//!   [`load_state`](DspNode::load_state) validate their [`NodeState`], may allocate (the
//!   [`Delay`] line, the [`Sequencer`] note list) and return a typed [`StateError`] for bad
//!   settings. [`save_state`](DspNode::save_state) allocates the returned state.
//!   [`reset`](DspNode::reset) allocates nothing; it is O(1) except for [`Delay`], which zeroes
//!   its line.
//! - The crate uses `std` for `f32`/`f64` math (`sin`, `tan`, `exp2`); it has no `unsafe`.
//!
//! # Nodes
//!
//! Every node's type name (for patch files and the [`NodeRegistry`]) is its struct name.
//! Unconnected signal inputs read as silence.
//!
//! | Node | Inputs | Parameters | State (key: type, default) |
//! |---|---|---|---|
//! | [`Sine`] | 0: freq Hz (replaces `freq`), 1: FM Hz | `freq` 0–20 000 Hz (440), `gain` 0–1 (1) | – |
//! | [`Saw`] | as [`Sine`] | as [`Sine`] | – |
//! | [`Square`] | as [`Sine`] | as [`Sine`], `width` 0.05–0.95 (0.5) | – |
//! | [`Triangle`] | as [`Sine`] | as [`Sine`] | – |
//! | [`WhiteNoise`] | – | `gain` 0–1 (1) | `seed`: int |
//! | [`PinkNoise`] | – | `gain` 0–1 (1) | `seed`: int |
//! | [`Gain`] | 0: signal | `gain` 0–16 (1) | – |
//! | [`Mixer`] | 0–7: signals | `gain0`..`gain7` 0–4 (1) | – |
//! | [`Multiply`] | 0–7: factors (missing = 1, none = silence) | – | – |
//! | [`Constant`] | – | `value` ±100 000 (0) | – |
//! | [`Biquad`] | 0: signal | `freq` 10–20 000 Hz (1 000), `q` 0.1–40 (0.707), `gain_db` ±24 (0) | `mode`: text, `"lowpass"` |
//! | [`Svf`] | 0: signal, 1: cutoff Hz (replaces `freq`) | `freq` 10–20 000 Hz (1 000), `q` 0.1–40 (0.707) | `mode`: text, `"lowpass"` |
//! | [`Adsr`] | 0: gate (> 0.5 = high) | `attack` (0.01), `decay` (0.1), `release` (0.2) 0–30 s, `sustain` 0–1 (0.7) | – |
//! | [`Gate`] | – | `rate` 0–100 Hz (2), `length` 0–1 (0.5) | – |
//! | [`Sequencer`] | 0: clock (rising edge = next step) | `rate` 0–100 Hz (4), `transpose` ±48 st (0) | `notes`: text, `"60 64 67 72"` |
//! | [`Delay`] | 0: signal | `time` 0–60 s (0.25), `feedback` 0–0.99 (0.3), `mix` 0–1 (0.5) | `max_seconds`: number, 2; `max_sample_rate`: number, 96 000 |
//!
//! Biquad modes: `lowpass`, `highpass`, `bandpass`, `notch`, `peaking`, `lowshelf`,
//! `highshelf`, `allpass` ([`BiquadMode`]). Svf modes: `lowpass`, `highpass`, `bandpass`,
//! `notch`, `allpass` ([`SvfMode`]).
//!
//! # Examples
//!
//! A patch that plays by itself: a clock drives a sequencer and an envelope; the sequencer
//! tunes a saw, a low-pass filter shapes it, the envelope opens a VCA, a delay echoes it.
//!
//! ```
//! use aether_graph::{NodeRegistry, NodeState, StateValue};
//! use aether_nodes::{Adsr, Biquad, BiquadMode, Delay, Gate, Multiply, Saw, Sequencer};
//! use aether_scheduler::Scheduler;
//!
//! let mut sched = Scheduler::new(48_000.0);
//! let graph = &mut sched.graph;
//! let clock = graph.add_node(Box::new(Gate::new()))?;
//! let notes = graph.add_node(Box::new(Sequencer::new("57 60 64 67")?))?;
//! let saw = graph.add_node(Box::new(Saw::new()))?;
//! let filter = graph.add_node(Box::new(Biquad::new(BiquadMode::Lowpass)))?;
//! let envelope = graph.add_node(Box::new(Adsr::new()))?;
//! let vca = graph.add_node(Box::new(Multiply::new()))?;
//! let echo = graph.add_node(Box::new(Delay::new(1.0, 48_000.0)?))?;
//! graph.connect(clock, notes, 0)?; // clock -> sequencer clock
//! graph.connect(notes, saw, 0)?; // sequencer Hz -> saw frequency
//! graph.connect(saw, filter, 0)?;
//! graph.connect(clock, envelope, 0)?; // clock -> envelope gate
//! graph.connect(filter, vca, 0)?;
//! graph.connect(envelope, vca, 1)?;
//! graph.connect(vca, echo, 0)?;
//! graph.set_output_node(echo)?;
//! graph.set_param_by_name(filter, "freq", 2_000.0, 0)?;
//! graph.set_param_by_name(saw, "gain", 0.3, 0)?;
//!
//! let block = sched.process_block();
//! assert!(block.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
//! assert!(block.iter().any(|&x| x != 0.0));
//!
//! // Saved patches are rebuilt by type name from each node's state.
//! let mut registry = NodeRegistry::new();
//! aether_nodes::register_all(&mut registry)?;
//! let state = NodeState::new().with("mode", StateValue::Text("notch".into()));
//! let notch = registry.create("Biquad", &state)?;
//! assert_eq!(notch.save_state(), state);
//! assert!(registry.create("Biquad", &NodeState::new().with("mode", StateValue::Int(3))).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;

use aether_graph::{DspNode, NodeConstructor, NodeRegistry, NodeState, RegistryError, StateError};

mod basic;
mod biquad;
mod clock;
mod delay;
mod envelope;
mod noise;
mod oscillator;
mod sequencer;
mod svf;
mod util;

pub use basic::{CONSTANT_PARAMS, Constant, GAIN_PARAMS, Gain, MIXER_PARAMS, Mixer, Multiply};
pub use biquad::{
    BIQUAD_FREQ_PARAM, BIQUAD_GAIN_DB_PARAM, BIQUAD_PARAMS, BIQUAD_Q_PARAM, BIQUAD_UPDATE_INTERVAL,
    Biquad, BiquadMode, MODE_KEY,
};
pub use clock::{GATE_LENGTH_PARAM, GATE_PARAMS, GATE_RATE_PARAM, Gate};
pub use delay::{
    DEFAULT_MAX_SAMPLE_RATE, DEFAULT_MAX_SECONDS, DELAY_FEEDBACK_PARAM, DELAY_MIX_PARAM,
    DELAY_PARAMS, DELAY_TIME_PARAM, Delay, MAX_DELAY_SECONDS, MAX_LINE_SAMPLES,
    MAX_SAMPLE_RATE_KEY, MAX_SECONDS_KEY,
};
pub use envelope::{
    ADSR_PARAMS, ATTACK_PARAM, Adsr, AdsrStage, DECAY_PARAM, RELEASE_PARAM, SUSTAIN_PARAM,
};
pub use noise::{DEFAULT_SEED, NOISE_GAIN_PARAM, NOISE_PARAMS, PinkNoise, SEED_KEY, WhiteNoise};
pub use oscillator::{
    FREQ_PARAM, GAIN_PARAM, OSCILLATOR_PARAMS, SQUARE_PARAMS, Saw, Sine, Square, Triangle,
    WIDTH_PARAM,
};
pub use sequencer::{
    A4_HZ, DEFAULT_NOTES, MAX_NOTES, NOTES_KEY, SEQUENCER_PARAMS, SEQUENCER_RATE_PARAM,
    SEQUENCER_TRANSPOSE_PARAM, Sequencer,
};
pub use svf::{SVF_FREQ_PARAM, SVF_PARAMS, SVF_Q_PARAM, Svf, SvfMode};
pub use util::{MAX_FREQUENCY_RATIO, MIN_SAMPLE_RATE, TINY};

/// Boxes a node built from a state, for the registry.
fn build<N: DspNode + 'static>(
    constructor: fn(&NodeState) -> Result<N, StateError>,
    state: &NodeState,
) -> Result<Box<dyn DspNode>, StateError> {
    Ok(Box::new(constructor(state)?))
}

macro_rules! node_table {
    ($($node:ident),* $(,)?) => {
        /// Every node type of this crate: its type name and its registry constructor.
        pub const NODE_TYPES: &[(&str, NodeConstructor)] = &[
            $(($node::TYPE_NAME, |state| build($node::from_state, state)),)*
        ];
    };
}

node_table!(
    Sine, Saw, Square, Triangle, WhiteNoise, PinkNoise, Gain, Mixer, Multiply, Constant, Biquad,
    Svf, Adsr, Gate, Sequencer, Delay,
);

/// Each node type's [`DspNode::cost_hint`]: nanoseconds per `process` call (one 64-sample block
/// at 48 kHz), the larger of its cost with no input and with every input connected, at default
/// parameters, measured by `cargo bench -p aether-benches --bench node_costs` on the development
/// machine (a shared 2-core x86-64 VM, SSE2 code) and rounded. A parallel engine decides from
/// these whether a schedule is worth spreading over threads; only their order of magnitude
/// matters.
pub const COST_HINTS_NS: &[(&str, u64)] = &[
    ("Sine", 380),
    ("Saw", 230),
    ("Square", 360),
    ("Triangle", 360),
    ("WhiteNoise", 140),
    ("PinkNoise", 250),
    ("Gain", 19),
    ("Mixer", 155),
    ("Multiply", 45),
    ("Constant", 16),
    ("Biquad", 330),
    ("Svf", 700),
    ("Adsr", 270),
    ("Gate", 110),
    ("Sequencer", 120),
    ("Delay", 360),
];

/// The hint of `type_name` in [`COST_HINTS_NS`], or the trait's default for a name not listed.
fn cost_hint_of(type_name: &str) -> u64 {
    COST_HINTS_NS
        .iter()
        .find(|(name, _)| *name == type_name)
        .map_or(aether_graph::DEFAULT_COST_HINT_NS, |&(_, hint)| hint)
}

/// The node types of this crate whose state can be large, with their
/// [`Footprint`](aether_graph::Footprint): [`register_all`] registers them with it, so patches
/// are held to a state budget before any of them is built, and listed without building them.
pub const NODE_FOOTPRINTS: &[(&str, aether_graph::Footprint)] = &[(
    Delay::TYPE_NAME,
    aether_graph::Footprint {
        state_bytes: Delay::state_bytes,
        params: &DELAY_PARAMS,
    },
)];

/// Registers every node type of this crate ([`NODE_TYPES`]) in `registry`, under its type name
/// (with its footprint, for those in [`NODE_FOOTPRINTS`]).
///
/// Control thread only (registering allocates).
///
/// # Errors
///
/// [`RegistryError::Duplicate`] for the first name `registry` already held; every other type is
/// still registered.
pub fn register_all(registry: &mut NodeRegistry) -> Result<(), RegistryError> {
    let mut first_error = None;
    for &(name, constructor) in NODE_TYPES {
        let footprint = NODE_FOOTPRINTS
            .iter()
            .find(|(sized, _)| *sized == name)
            .map(|&(_, footprint)| footprint);
        let registered = match footprint {
            Some(footprint) => registry.register_with_footprint(name, constructor, footprint),
            None => registry.register(name, constructor),
        };
        if let Err(error) = registered {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// A registry holding every node type of this crate.
#[must_use]
pub fn registry() -> NodeRegistry {
    let mut registry = NodeRegistry::new();
    // A fresh registry holds no name yet and NODE_TYPES names are distinct (tested), so this
    // cannot fail; an error would leave the duplicate out, never panic.
    let _ = register_all(&mut registry);
    registry
}
