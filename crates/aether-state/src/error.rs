//! Why a snapshot could not be decoded or restored.

use core::fmt;

use aether_graph::{CapacityOverflow, MAX_INPUTS, RegistryError, StateError};
use aether_params::ParamError;
use aether_scheduler::EngineError;

use crate::shown::Shown;
use crate::snapshot::{FORMAT, FORMAT_VERSION};

/// A node of a snapshot as error messages name it: its id in the file and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    /// The node's id in the file ([`SnapshotNode::id`](crate::SnapshotNode::id)).
    pub id: u32,
    /// The node's type name as written in the file.
    pub type_name: String,
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {} ({})", self.id, Shown(&self.type_name))
    }
}

/// Everything decoding or restoring a snapshot can refuse.
///
/// Each variant names its culprit (the file's node id and type, the parameter, the edge). A
/// restore that returns one of these has not touched the graph, except
/// [`SnapshotError::Build`], which validation makes unreachable in practice.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The JSON text is malformed or does not have the shape of a patch.
    #[error("patch JSON is invalid at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line of the error (0 if unknown).
        line: usize,
        /// 1-based column of the error (0 if unknown).
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The `format` field is not [`FORMAT`].
    #[error("unknown patch format \"{}\" (expected {FORMAT:?})", Shown(found))]
    UnknownFormat {
        /// The format name found.
        found: String,
    },
    /// The version is not one this build reads.
    #[error("unsupported patch version {found} (this build reads version {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        found: u32,
    },
    /// The bytes do not start with [`BINARY_MAGIC`](crate::BINARY_MAGIC).
    #[error("not an AetherDSP binary patch: the bytes do not start with the AETHER magic")]
    BadMagic,
    /// The bytes end before the patch does.
    #[error("binary patch is truncated: at least {missing} more bytes were expected")]
    Truncated {
        /// How many more bytes were needed at least.
        missing: usize,
    },
    /// The binary header's version differs from the version inside the body.
    #[error("binary patch is corrupt: header says version {header}, body says version {body}")]
    VersionMismatch {
        /// The version in the header.
        header: u32,
        /// The version in the decoded body.
        body: u32,
    },
    /// The bytes declare more content than [`MAX_BINARY_BYTES`](crate::MAX_BINARY_BYTES)
    /// (a corrupt length, or a patch too large for the binary encoding).
    #[error(
        "binary patch exceeds the {limit}-byte decode limit (a corrupt length or an oversized patch)"
    )]
    SizeLimit {
        /// The limit in bytes.
        limit: usize,
    },
    /// A JSON patch is longer than [`MAX_JSON_BYTES`](crate::MAX_JSON_BYTES).
    #[error("the patch is larger than the {limit}-byte limit for JSON patches")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is neither UTF-8 text (JSON) nor the binary form.
    #[error("not a patch: neither UTF-8 JSON nor the binary format")]
    NotAPatch,
    /// Reading the input failed.
    #[error("cannot read the patch: {reason}")]
    Read {
        /// What the operating system said.
        reason: String,
    },
    /// The bytes are not a valid encoding of a patch.
    #[error("binary patch is corrupt: {reason}")]
    Corrupt {
        /// What the decoder found.
        reason: String,
    },
    /// Bytes follow the end of the encoded patch.
    #[error("binary patch is corrupt: {count} unexpected bytes follow the end of the patch")]
    TrailingBytes {
        /// How many bytes are left over.
        count: usize,
    },
    /// The sample rate is outside the supported range
    /// ([`MIN_SAMPLE_RATE`](aether_graph::MIN_SAMPLE_RATE) to
    /// [`MAX_SAMPLE_RATE`](aether_graph::MAX_SAMPLE_RATE)).
    #[error("{}", aether_graph::SampleRateError { value: *value })]
    InvalidSampleRate {
        /// The rejected value.
        value: f32,
    },
    /// Two nodes share one id.
    #[error("{node} reuses id {id}, which an earlier node ({first_type}) already has", id = node.id)]
    DuplicateNodeId {
        /// The second node with that id.
        node: NodeRef,
        /// Type of the first node with that id.
        first_type: String,
    },
    /// No node type of that name is registered.
    #[error("{node} has an unknown type; registered types: {}", Names(known))]
    UnknownNodeType {
        /// The node.
        node: NodeRef,
        /// The registered type names.
        known: Vec<&'static str>,
    },
    /// The node type's constructor refused the saved state.
    #[error("{node}: the saved state was refused: {error}")]
    StateRefused {
        /// The node.
        node: NodeRef,
        /// What the constructor refused.
        error: StateError,
    },
    /// The node's state would take the patch's state over its budget
    /// ([`RestoreLimits::state_budget`](crate::RestoreLimits::state_budget)).
    #[error(
        "{node} asks for {requested} bytes of state, but only {} of the {budget}-byte state \
         budget are left",
        budget.saturating_sub(*used)
    )]
    StateBudget {
        /// The node that crossed the budget.
        node: NodeRef,
        /// The bytes it asked for.
        requested: usize,
        /// Bytes taken by the nodes before it.
        used: usize,
        /// The budget.
        budget: usize,
    },
    /// The registry failed to build the node for another reason.
    #[error("{node} could not be built: {error}")]
    Registry {
        /// The node.
        node: NodeRef,
        /// The registry's error.
        error: RegistryError,
    },
    /// The registered constructor built a node reporting a different type name.
    #[error("{node}: the registered constructor built a node of type {built:?} instead")]
    TypeMismatch {
        /// The node.
        node: NodeRef,
        /// The type name the built node reports.
        built: &'static str,
    },
    /// The node type declares parameters a graph cannot hold.
    #[error("{node} declares invalid parameters: {error}")]
    InvalidParamSpecs {
        /// The node.
        node: NodeRef,
        /// What the parameter block refused.
        error: ParamError,
    },
    /// The node type has no parameter of that name.
    #[error(
        "{node} has no parameter named \"{}\"; its parameters: {}",
        Shown(param),
        Names(known)
    )]
    UnknownParam {
        /// The node.
        node: NodeRef,
        /// The name that matched none of its parameters.
        param: String,
        /// The node type's parameter names.
        known: Vec<&'static str>,
    },
    /// A parameter value is NaN or infinite.
    #[error(
        "{node}: parameter \"{}\" has the non-finite value {value}",
        Shown(param)
    )]
    NonFiniteParam {
        /// The node.
        node: NodeRef,
        /// The parameter.
        param: String,
        /// The rejected value.
        value: f32,
    },
    /// A parameter value is outside the parameter's declared range (files are never clamped
    /// silently).
    #[error(
        "{node}: parameter \"{}\" = {value} is outside its range [{min}, {max}]",
        Shown(param)
    )]
    ParamOutOfRange {
        /// The node.
        node: NodeRef,
        /// The parameter.
        param: String,
        /// The rejected value.
        value: f32,
        /// Smallest allowed value.
        min: f32,
        /// Largest allowed value.
        max: f32,
    },
    /// An edge names a node id that no node of the file has.
    #[error(
        "edge #{edge} ({from} -> {to}, slot {slot}) refers to node {missing}, which is not in the patch"
    )]
    EdgeToMissingNode {
        /// Position of the edge in the file's edge list.
        edge: usize,
        /// The edge's source id.
        from: u32,
        /// The edge's destination id.
        to: u32,
        /// The edge's slot.
        slot: u8,
        /// The id that matched no node.
        missing: u32,
    },
    /// An edge feeds an input slot that does not exist.
    #[error(
        "edge #{edge} feeds input slot {slot} of {to}, but nodes have {MAX_INPUTS} inputs (0..={max})",
        max = MAX_INPUTS - 1
    )]
    SlotOutOfRange {
        /// Position of the edge in the file's edge list.
        edge: usize,
        /// The destination node.
        to: NodeRef,
        /// The slot asked for.
        slot: u8,
    },
    /// Two edges feed the same input slot.
    #[error("input slot {slot} of {to} is fed twice: by {first} and by {second}")]
    SlotTaken {
        /// The destination node.
        to: NodeRef,
        /// The slot.
        slot: u8,
        /// The source of the first edge into the slot.
        first: NodeRef,
        /// The source of the second edge into the slot.
        second: NodeRef,
    },
    /// The edges form a cycle.
    #[error("the edges form a cycle: {}", CycleDisplay(cycle))]
    Cycle {
        /// The nodes on the cycle in signal-flow order; the first is repeated at the end.
        cycle: Vec<NodeRef>,
    },
    /// The output names a node id that no node of the file has.
    #[error("the output is node {output}, which is not in the patch")]
    UnknownOutput {
        /// The missing id.
        output: u32,
    },
    /// The graph cannot grow to hold the patch.
    #[error("the graph cannot hold the patch's nodes: {0}")]
    Capacity(CapacityOverflow),
    /// The engine could not be built (for example an invalid sample rate override).
    #[error("cannot build the engine: {0}")]
    Engine(EngineError),
    /// The graph refused an edit that validation had accepted. Validation makes this
    /// unreachable; if it happens the graph has been cleared.
    #[error("the graph refused the validated patch: {reason}")]
    Build {
        /// What the graph refused.
        reason: String,
    },
}

/// Formats names as `a, b, c`, or `(none)`.
struct Names<'a>(&'a [&'static str]);

impl fmt::Display for Names<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(none)");
        }
        f.write_str(&self.0.join(", "))
    }
}

/// Formats a cycle as `node 0 (A) -> node 1 (B) -> node 0 (A)`.
struct CycleDisplay<'a>(&'a [NodeRef]);

impl fmt::Display for CycleDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, node) in self.0.iter().enumerate() {
            if position > 0 {
                f.write_str(" -> ")?;
            }
            write!(f, "{node}")?;
        }
        Ok(())
    }
}

impl From<serde_json::Error> for SnapshotError {
    fn from(error: serde_json::Error) -> Self {
        let (line, column) = (error.line(), error.column());
        let mut message = error.to_string();
        // serde_json appends the position; it is kept in its own fields instead.
        let suffix = format!(" at line {line} column {column}");
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
        SnapshotError::Json {
            line,
            column,
            message,
        }
    }
}

impl From<bincode::error::DecodeError> for SnapshotError {
    fn from(error: bincode::error::DecodeError) -> Self {
        use bincode::error::DecodeError;
        match error {
            DecodeError::UnexpectedEnd { additional } => SnapshotError::Truncated {
                missing: additional,
            },
            DecodeError::LimitExceeded => SnapshotError::SizeLimit {
                limit: crate::encoding::MAX_BINARY_BYTES,
            },
            other => SnapshotError::Corrupt {
                reason: decode_reason(&other),
            },
        }
    }
}

/// What a bincode decode error means, in plain words (its own `Display` is its `Debug` form).
fn decode_reason(error: &bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError;
    match error {
        DecodeError::Utf8 { .. } => "a text field is not valid UTF-8".into(),
        DecodeError::InvalidCharEncoding(_) => "a character is not valid UTF-8".into(),
        DecodeError::InvalidBooleanValue(value) => {
            format!("a true/false field holds the byte {value}")
        }
        DecodeError::UnexpectedVariant { found, .. } => {
            format!("a field holds the unknown choice number {found}")
        }
        DecodeError::InvalidIntegerType { .. } => "a number has the wrong width".into(),
        DecodeError::OutsideUsizeRange(value) => {
            format!("a length of {value} is too large for this machine")
        }
        DecodeError::ArrayLengthMismatch { required, found } => {
            format!("a list has {found} entries where {required} are required")
        }
        DecodeError::OtherString(text) => format!("{}", Shown(text)),
        DecodeError::Other(text) => (*text).into(),
        _ => "the bytes do not describe a patch".into(),
    }
}
