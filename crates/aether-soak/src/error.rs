//! Typed errors of the soak run.

use aether_graph::GraphError;
use aether_scheduler::{CommitError, EngineError};

/// Why a soak run could not be set up or finished.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoakError {
    /// The patch would be smaller than the protected voice and its mixer.
    #[error("a soak patch needs at least {minimum} nodes, {requested} were asked for")]
    TooFewNodes {
        /// Nodes asked for.
        requested: usize,
        /// The smallest patch.
        minimum: usize,
    },
    /// The graph refused a node because it is full.
    #[error("the graph is full: raise the engine's node capacity")]
    GraphFull,
    /// The graph refused an edit while the patch was being built.
    #[error("building the patch failed: {0}")]
    Graph(#[from] GraphError),
    /// The engine could not be built.
    #[error("cannot build the engine: {0}")]
    Engine(#[from] EngineError),
    /// The initial patch could not be sent to the audio side.
    #[error("cannot send the patch to the audio side: {0}")]
    Commit(#[from] CommitError),
    /// The JACK server refused something.
    #[error("JACK: {0}")]
    Jack(String),
    /// The JACK server reports a sample rate the engine cannot use.
    #[error("the JACK server runs at {0} Hz, which the engine cannot use")]
    SampleRate(u32),
    /// `--audio-cpu N` named a CPU this process may not use.
    #[error("cannot pin the engine's audio thread: {0}")]
    AudioCpu(std::io::Error),
}
