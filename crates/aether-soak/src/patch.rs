//! The soak patch: a tree of real nodes from `aether-nodes` (oscillators into filters into
//! gains into mixers) with one protected voice that always reaches the output, and the control
//! side's model of it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aether_graph::{Block, DspNode, Graph, GraphError, Inputs, NodeId, NodeState, StateError};
use aether_nodes::{
    Biquad, BiquadMode, Gain, Mixer, PinkNoise, Saw, Sine, Square, Svf, SvfMode, Triangle,
    WhiteNoise,
};
use aether_params::{MAX_PARAMS, ParamBlock, ParamMeta};

use crate::error::SoakError;
use crate::rng::SoakRng;

/// Inputs a mixer has (and so the fan-in of the mixer tree).
pub const MIXER_INPUTS: usize = 8;

/// Smallest patch: the protected voice (oscillator, filter, gain) and one mixer.
pub const MIN_NODES: usize = 4;

/// The node types the soak uses, all from `aether-nodes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// [`Sine`] oscillator.
    Sine,
    /// [`Saw`] oscillator.
    Saw,
    /// [`Square`] oscillator.
    Square,
    /// [`Triangle`] oscillator.
    Triangle,
    /// [`WhiteNoise`].
    WhiteNoise,
    /// [`PinkNoise`].
    PinkNoise,
    /// [`Biquad`] low-pass.
    BiquadLowpass,
    /// [`Biquad`] peaking.
    BiquadPeaking,
    /// [`Svf`] low-pass.
    SvfLowpass,
    /// [`Svf`] band-pass.
    SvfBandpass,
    /// [`Gain`].
    Gain,
    /// [`Mixer`] of [`MIXER_INPUTS`] inputs.
    Mixer,
}

impl NodeKind {
    /// Signal sources.
    pub const SOURCES: [NodeKind; 6] = [
        NodeKind::Sine,
        NodeKind::Saw,
        NodeKind::Square,
        NodeKind::Triangle,
        NodeKind::WhiteNoise,
        NodeKind::PinkNoise,
    ];
    /// Filters.
    pub const FILTERS: [NodeKind; 4] = [
        NodeKind::BiquadLowpass,
        NodeKind::BiquadPeaking,
        NodeKind::SvfLowpass,
        NodeKind::SvfBandpass,
    ];
    /// Every kind, for random additions.
    pub const ALL: [NodeKind; 12] = [
        NodeKind::Sine,
        NodeKind::Saw,
        NodeKind::Square,
        NodeKind::Triangle,
        NodeKind::WhiteNoise,
        NodeKind::PinkNoise,
        NodeKind::BiquadLowpass,
        NodeKind::BiquadPeaking,
        NodeKind::SvfLowpass,
        NodeKind::SvfBandpass,
        NodeKind::Gain,
        NodeKind::Mixer,
    ];

    /// A new instance (control thread: allocates the box).
    pub fn build(self, seed: u64) -> Box<dyn DspNode> {
        match self {
            NodeKind::Sine => Box::new(Sine::new()),
            NodeKind::Saw => Box::new(Saw::new()),
            NodeKind::Square => Box::new(Square::new()),
            NodeKind::Triangle => Box::new(Triangle::new()),
            NodeKind::WhiteNoise => Box::new(WhiteNoise::with_seed(seed)),
            NodeKind::PinkNoise => Box::new(PinkNoise::with_seed(seed)),
            NodeKind::BiquadLowpass => Box::new(Biquad::new(BiquadMode::Lowpass)),
            NodeKind::BiquadPeaking => Box::new(Biquad::new(BiquadMode::Peaking)),
            NodeKind::SvfLowpass => Box::new(Svf::new(SvfMode::Lowpass)),
            NodeKind::SvfBandpass => Box::new(Svf::new(SvfMode::Bandpass)),
            NodeKind::Gain => Box::new(Gain::new()),
            NodeKind::Mixer => Box::new(Mixer::new()),
        }
    }

    /// Input slots the node reads (connections are only made to these).
    pub fn input_count(self) -> usize {
        match self {
            NodeKind::Sine | NodeKind::Saw | NodeKind::Square | NodeKind::Triangle => 2,
            NodeKind::WhiteNoise | NodeKind::PinkNoise => 0,
            NodeKind::BiquadLowpass | NodeKind::BiquadPeaking | NodeKind::Gain => 1,
            NodeKind::SvfLowpass | NodeKind::SvfBandpass => 2,
            NodeKind::Mixer => MIXER_INPUTS,
        }
    }
}

/// The latest parameter targets a node saw on the audio side, published after each of its
/// blocks, so the control side can compare the engine's parameter state with its own model.
#[derive(Debug)]
pub struct ParamMirror {
    targets: [AtomicU32; MAX_PARAMS],
    blocks: AtomicU64,
}

impl ParamMirror {
    fn new() -> Self {
        ParamMirror {
            targets: core::array::from_fn(|_| AtomicU32::new(f32::NAN.to_bits())),
            blocks: AtomicU64::new(0),
        }
    }

    /// The target of parameter `index` as of the node's last block (`NaN` before its first).
    pub fn target(&self, index: usize) -> f32 {
        self.targets.get(index).map_or(f32::NAN, |bits| {
            f32::from_bits(bits.load(Ordering::Relaxed))
        })
    }

    /// Blocks the node has processed.
    pub fn blocks(&self) -> u64 {
        self.blocks.load(Ordering::Acquire)
    }
}

/// A real node plus a [`ParamMirror`]: processing is the inner node's, unchanged; afterwards
/// the parameter targets are published with relaxed atomic stores (wait-free, no allocation).
pub struct Observed {
    inner: Box<dyn DspNode>,
    mirror: Arc<ParamMirror>,
}

impl Observed {
    /// Wraps `inner`; returns the node and the mirror the control side keeps.
    pub fn new(inner: Box<dyn DspNode>) -> (Self, Arc<ParamMirror>) {
        let mirror = Arc::new(ParamMirror::new());
        (
            Observed {
                inner,
                mirror: Arc::clone(&mirror),
            },
            mirror,
        )
    }
}

impl DspNode for Observed {
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    ) {
        self.inner.process(inputs, output, params, sample_rate);
        for (slot, param) in self.mirror.targets.iter().zip(params.params()) {
            slot.store(param.target().to_bits(), Ordering::Relaxed);
        }
        // Single writer (the audio thread): a load and a store, no read-modify-write.
        let blocks = self.mirror.blocks.load(Ordering::Relaxed);
        self.mirror.blocks.store(blocks + 1, Ordering::Release);
    }

    fn type_name(&self) -> &'static str {
        self.inner.type_name()
    }

    fn param_specs(&self) -> &[ParamMeta] {
        self.inner.param_specs()
    }

    fn cost_hint(&self) -> u64 {
        self.inner.cost_hint()
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    fn save_state(&self) -> NodeState {
        self.inner.save_state()
    }

    fn load_state(&mut self, state: &NodeState) -> Result<(), StateError> {
        self.inner.load_state(state)
    }
}

/// What the control side knows about one live node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Its type.
    pub kind: NodeKind,
    /// Part of the protected voice or the mixer path from it to the output: never removed,
    /// disconnected or re-parametrised, so the output always sounds.
    pub protected: bool,
    /// Its audio-side parameter targets.
    pub mirror: Arc<ParamMirror>,
}

/// The control side's model of the patch: live nodes, the protected path, and the last
/// parameter target set through an edit.
#[derive(Debug, Default)]
pub struct SoakPatch {
    live: Vec<NodeId>,
    info: HashMap<NodeId, NodeInfo>,
    protected_inputs: HashSet<(NodeId, usize)>,
    param_targets: HashMap<(NodeId, usize), f32>,
    output: Option<NodeId>,
    next_seed: u64,
}

impl SoakPatch {
    /// Builds a patch of exactly `nodes` nodes (at least [`MIN_NODES`]) into `graph` and sets its
    /// output. Voices (a source, a filter, a gain) feed a tree of mixers; the few nodes left over
    /// become a chain of unity gains after the root mixer. Voice 0 is a sine and is protected,
    /// with every mixer on its way to the output.
    pub fn build(graph: &mut Graph, nodes: usize, rng: &mut SoakRng) -> Result<Self, SoakError> {
        if nodes < MIN_NODES {
            return Err(SoakError::TooFewNodes {
                requested: nodes,
                minimum: MIN_NODES,
            });
        }
        let voices = voices_for(nodes);
        let tree_nodes = 3 * voices + mixer_count(voices);
        let mut patch = SoakPatch {
            next_seed: rng.next_u64(),
            ..SoakPatch::default()
        };

        // Voices.
        let mut level: Vec<NodeId> = Vec::with_capacity(voices);
        for voice in 0..voices {
            let protected = voice == 0;
            let (source_kind, filter_kind) = if protected {
                (NodeKind::Sine, NodeKind::BiquadLowpass)
            } else {
                (
                    NodeKind::SOURCES[rng.below(NodeKind::SOURCES.len())],
                    NodeKind::FILTERS[rng.below(NodeKind::FILTERS.len())],
                )
            };
            let source = patch.add(graph, source_kind, protected)?;
            let filter = patch.add(graph, filter_kind, protected)?;
            let gain = patch.add(graph, NodeKind::Gain, protected)?;
            patch.connect(graph, source, filter, 0, protected)?;
            patch.connect(graph, filter, gain, 0, protected)?;
            if protected {
                graph.set_param_by_name(source, "freq", 220.0, 0)?;
                graph.set_param_by_name(source, "gain", 0.5, 0)?;
                graph.set_param_by_name(filter, "freq", 5_000.0, 0)?;
            } else {
                if source_kind != NodeKind::WhiteNoise && source_kind != NodeKind::PinkNoise {
                    let freq = 50.0 + 1_950.0 * rng.unit() as f32;
                    graph.set_param_by_name(source, "freq", freq, 0)?;
                }
                graph.set_param_by_name(source, "gain", 0.05, 0)?;
            }
            level.push(gain);
        }

        // Mixer tree: the first input of the first mixer of each level carries the protected voice.
        debug_assert!(tree_nodes <= nodes);
        loop {
            let mut next = Vec::with_capacity(level.len().div_ceil(MIXER_INPUTS));
            for (group_index, group) in level.chunks(MIXER_INPUTS).enumerate() {
                let protected = group_index == 0;
                let mixer = patch.add(graph, NodeKind::Mixer, protected)?;
                for (slot, &member) in group.iter().enumerate() {
                    patch.connect(graph, member, mixer, slot, protected && slot == 0)?;
                }
                next.push(mixer);
            }
            level = next;
            if level.len() <= 1 {
                break;
            }
        }

        // Unity gains for the remainder.
        let mut output = *level.first().ok_or(SoakError::GraphFull)?;
        while graph.node_count() < nodes {
            let gain = patch.add(graph, NodeKind::Gain, true)?;
            patch.connect(graph, output, gain, 0, true)?;
            output = gain;
        }
        graph.set_output_node(output)?;
        patch.output = Some(output);
        Ok(patch)
    }

    fn add(
        &mut self,
        graph: &mut Graph,
        kind: NodeKind,
        protected: bool,
    ) -> Result<NodeId, SoakError> {
        let seed = self.next_seed;
        self.next_seed = self.next_seed.wrapping_add(1);
        let (node, mirror) = Observed::new(kind.build(seed));
        let id = graph
            .add_node(Box::new(node))
            .map_err(|_| SoakError::GraphFull)?;
        self.insert(id, kind, protected, mirror);
        Ok(id)
    }

    fn connect(
        &mut self,
        graph: &mut Graph,
        source: NodeId,
        destination: NodeId,
        slot: usize,
        protected: bool,
    ) -> Result<(), GraphError> {
        graph.connect(source, destination, slot)?;
        if protected {
            self.protected_inputs.insert((destination, slot));
        }
        Ok(())
    }

    /// Records a node the graph just accepted.
    pub fn insert(
        &mut self,
        id: NodeId,
        kind: NodeKind,
        protected: bool,
        mirror: Arc<ParamMirror>,
    ) {
        self.live.push(id);
        self.info.insert(
            id,
            NodeInfo {
                kind,
                protected,
                mirror,
            },
        );
    }

    /// Forgets a node the graph just removed.
    pub fn forget(&mut self, id: NodeId) {
        if let Some(position) = self.live.iter().position(|&live| live == id) {
            self.live.swap_remove(position);
        }
        self.info.remove(&id);
        self.param_targets.retain(|&(node, _), _| node != id);
    }

    /// Records the target an edit set.
    pub fn record_param(&mut self, id: NodeId, index: usize, target: f32) {
        self.param_targets.insert((id, index), target);
    }

    /// A seed for the next noise node.
    pub fn take_seed(&mut self) -> u64 {
        let seed = self.next_seed;
        self.next_seed = self.next_seed.wrapping_add(1);
        seed
    }

    /// Live node ids, in no particular order.
    pub fn live(&self) -> &[NodeId] {
        &self.live
    }

    /// What is known about `id`.
    pub fn info(&self, id: NodeId) -> Option<&NodeInfo> {
        self.info.get(&id)
    }

    /// `true` if input `slot` of `destination` carries the protected voice.
    pub fn is_protected_input(&self, destination: NodeId, slot: usize) -> bool {
        self.protected_inputs.contains(&(destination, slot))
    }

    /// The output node.
    pub fn output(&self) -> Option<NodeId> {
        self.output
    }

    /// Every parameter target set by an edit, by node and index.
    pub fn param_targets(&self) -> &HashMap<(NodeId, usize), f32> {
        &self.param_targets
    }
}

/// Mixers in a tree over `voices` leaves with fan-in [`MIXER_INPUTS`] (at least one).
pub fn mixer_count(voices: usize) -> usize {
    let mut count = 0;
    let mut level = voices;
    loop {
        level = level.div_ceil(MIXER_INPUTS).max(1);
        count += level;
        if level == 1 {
            return count;
        }
    }
}

/// The most voices whose tree (3 nodes per voice plus mixers) fits in `nodes` (at least one).
pub fn voices_for(nodes: usize) -> usize {
    let mut voices = 1;
    while 3 * (voices + 1) + mixer_count(voices + 1) <= nodes {
        voices += 1;
    }
    voices
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_sizes() {
        assert_eq!(mixer_count(1), 1);
        assert_eq!(mixer_count(8), 1);
        assert_eq!(mixer_count(9), 3);
        assert_eq!(mixer_count(64), 9);
        assert_eq!(voices_for(4), 1);
        let voices = voices_for(1_000);
        assert!(3 * voices + mixer_count(voices) <= 1_000);
        assert!(3 * (voices + 1) + mixer_count(voices + 1) > 1_000);
    }

    #[test]
    fn builds_exactly_the_requested_size_with_a_protected_path() {
        for nodes in [4, 5, 37, 1_000] {
            let mut graph = Graph::with_capacity(2 * nodes);
            let mut rng = SoakRng::new(1);
            let patch = SoakPatch::build(&mut graph, nodes, &mut rng).expect("patch builds");
            assert_eq!(graph.node_count(), nodes);
            assert_eq!(patch.live().len(), nodes);
            let output = patch.output().expect("has output");
            assert_eq!(graph.output_node(), Some(output));
            // Walk back from the output along protected inputs: it must reach a protected sine.
            let mut current = output;
            loop {
                let info = patch.info(current).expect("known node");
                assert!(info.protected);
                let inputs = graph.inputs(current).expect("live");
                let next = (0..MIXER_INPUTS)
                    .find(|&slot| patch.is_protected_input(current, slot))
                    .and_then(|slot| inputs[slot]);
                match next {
                    Some(source) => current = source,
                    None => break,
                }
            }
            assert_eq!(
                patch.info(current).map(|info| info.kind),
                Some(NodeKind::Sine)
            );
        }
        let mut graph = Graph::new();
        assert!(matches!(
            SoakPatch::build(&mut graph, 3, &mut SoakRng::new(0)),
            Err(SoakError::TooFewNodes { .. })
        ));
    }
}
