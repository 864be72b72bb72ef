//! The [`DspNode`] trait: implement it to create a processing node.

use aether_params::{ParamBlock, ParamMeta};

use crate::state::{NodeState, StateError};

/// Samples per processing block. Every node processes exactly this many samples per call.
pub const BUFFER_SIZE: usize = 64;

/// Input slots per node. An input slot is fed by at most one source node.
pub const MAX_INPUTS: usize = 8;

/// The [`DspNode::cost_hint`] of a node that does not give one: 100 ns per 64-sample block, a
/// light node (a gain, a mixer input, a simple oscillator) on a current desktop core.
pub const DEFAULT_COST_HINT_NS: u64 = 100;

/// One block of mono audio.
pub type Block = [f32; BUFFER_SIZE];

/// The inputs handed to [`DspNode::process`]: `Some(block)` for a connected slot, `None` otherwise.
pub type Inputs<'a> = [Option<&'a Block>; MAX_INPUTS];

/// A mono audio processing node.
///
/// # Real-time contract
///
/// [`process`](DspNode::process) runs on the audio thread once per block. It must not allocate,
/// free, lock, block, print or do I/O, must finish in bounded time, and must not panic.
/// It must write **every** sample of `output`: the buffer is reused between nodes (buffers are
/// assigned by liveness), so it holds an earlier node's samples on entry.
///
/// Nodes are created on the control thread, moved to the audio thread when the graph is committed,
/// and moved back to the control thread to be dropped when removed: `Drop` never runs on the
/// audio thread.
///
/// The trait keeps the original `process` signature; everything added since has a default, so a
/// node written for the original compiles unchanged.
pub trait DspNode: Send {
    /// Produces one block of output from the connected inputs.
    ///
    /// `inputs[k]` is `Some` when input slot `k` is connected. `params` holds this node's
    /// parameters as declared by [`param_specs`](DspNode::param_specs); read them per sample with
    /// [`Param::tick`](aether_params::Param::tick) or per block with
    /// [`Param::fill_buffer`](aether_params::Param::fill_buffer).
    fn process(
        &mut self,
        inputs: &Inputs<'_>,
        output: &mut Block,
        params: &mut ParamBlock,
        sample_rate: f32,
    );

    /// A stable name for this node's type, used in error messages, patch files and diagrams.
    fn type_name(&self) -> &'static str;

    /// The parameters this node reads, in index order. The graph builds the node's
    /// [`ParamBlock`] from them when the node is added. At most
    /// [`MAX_PARAMS`](aether_params::MAX_PARAMS) entries are used.
    fn param_specs(&self) -> &[ParamMeta] {
        &[]
    }

    /// Estimated time of one [`process`](DspNode::process) call, in nanoseconds per 64-sample block
    /// at 48 kHz on a current desktop core. Default: [`DEFAULT_COST_HINT_NS`].
    ///
    /// Called once, on the control thread, when the node is added to a [`Graph`](crate::Graph),
    /// which keeps the value ([`Graph::cost_hint`](crate::Graph::cost_hint)): the audio-side
    /// instance is never asked. A parallel engine sums these estimates along the graph's paths to
    /// decide whether running a schedule on several threads pays for its scheduling overhead, so
    /// an order of magnitude is what matters: a biquad is ~100, a 64-voice oscillator bank or a
    /// convolution is thousands. A hint never changes the output, only where and when nodes run.
    fn cost_hint(&self) -> u64 {
        DEFAULT_COST_HINT_NS
    }

    /// Clears internal state (delay lines, filter memories, phases) without touching parameters.
    fn reset(&mut self) {}

    /// The node's settings that are not parameters (see [`NodeState`]), for patch files. Called
    /// on the control thread when the node is added to a graph. Default: none.
    fn save_state(&self) -> NodeState {
        NodeState::new()
    }

    /// Applies settings saved by [`save_state`](DspNode::save_state); called on the control
    /// thread before the node is added. Default: accepts only an empty state.
    fn load_state(&mut self, state: &NodeState) -> Result<(), StateError> {
        match state.0.keys().next() {
            None => Ok(()),
            Some(_) => Err(StateError::Invalid {
                key: "state",
                reason: alloc::format!("node type {} takes no state", self.type_name()),
            }),
        }
    }
}

/// A node that panicked in [`DspNode::process`], and what it panicked with: the audio side keeps
/// both (moving them is all it does; nothing is dropped there) until the node is removed, then
/// hands both back to the control side, where they are dropped.
#[derive(Default)]
pub struct Quarantined {
    /// The node, out of its slot so it is never called again.
    pub node: Option<alloc::boxed::Box<dyn DspNode>>,
    /// The panic's payload.
    pub payload: Option<alloc::boxed::Box<dyn core::any::Any + Send>>,
}

impl core::fmt::Debug for Quarantined {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Quarantined")
            .field("node", &self.node.as_ref().map(|node| node.type_name()))
            .field("payload", &self.payload.is_some())
            .finish()
    }
}
