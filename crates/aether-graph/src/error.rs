//! Typed errors of graph edits.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use aether_params::ParamError;

use crate::NodeId;
use crate::node::{DspNode, MAX_INPUTS};

/// Why a graph edit was refused. The graph is unchanged whenever an edit returns an error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GraphError {
    /// The id names no live node (it was removed, or never belonged to this graph).
    UnknownNode(NodeId),
    /// An input slot index was `>= MAX_INPUTS`.
    SlotOutOfRange {
        /// The node whose slot was addressed.
        node: NodeId,
        /// The slot index that was asked for.
        slot: usize,
    },
    /// The connection would close a cycle. `cycle` lists the nodes on it in signal-flow
    /// order, starting and ending with the destination of the refused edge.
    Cycle {
        /// Source of the refused edge.
        source: NodeId,
        /// Destination of the refused edge.
        destination: NodeId,
        /// The nodes on the cycle, in signal-flow order; first and last are `destination`.
        cycle: Vec<NodeId>,
    },
    /// A parameter change was refused.
    Param {
        /// The node whose parameter was addressed.
        node: NodeId,
        /// What was wrong with the change.
        error: ParamError,
    },
    /// No parameter of that name on the node.
    UnknownParam {
        /// The node that was addressed.
        node: NodeId,
        /// The name that matched none of its parameters.
        name: alloc::string::String,
    },
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::UnknownNode(id) => {
                write!(f, "node {id} does not exist (removed or never added)")
            }
            GraphError::SlotOutOfRange { node, slot } => write!(
                f,
                "input slot {slot} of node {node} is out of range (nodes have {MAX_INPUTS} inputs, 0..={})",
                MAX_INPUTS - 1
            ),
            GraphError::Cycle {
                source,
                destination,
                cycle,
            } => {
                write!(
                    f,
                    "connecting {source} -> {destination} would create a cycle: "
                )?;
                for (i, id) in cycle.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" -> ")?;
                    }
                    write!(f, "{id}")?;
                }
                Ok(())
            }
            GraphError::Param { node, error } => {
                write!(f, "parameter change on node {node} refused: {error}")
            }
            GraphError::UnknownParam { node, name } => {
                write!(f, "node {node} has no parameter named {name:?}")
            }
        }
    }
}

impl core::error::Error for GraphError {}

/// The graph is at capacity; the node that did not fit is handed back untouched.
pub struct GraphFull(pub Box<dyn DspNode>);

impl GraphFull {
    /// Takes back the node that was not added.
    pub fn into_inner(self) -> Box<dyn DspNode> {
        self.0
    }
}

impl fmt::Debug for GraphFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GraphFull")
            .field(&self.0.type_name())
            .finish()
    }
}

impl fmt::Display for GraphFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the graph is full; node {} was not added (grow the graph first)",
            self.0.type_name()
        )
    }
}

impl core::error::Error for GraphFull {}

/// Why [`Graph::add_node`](crate::Graph::add_node) refused a node. The node comes back in every case.
pub enum AddNodeError {
    /// The graph is at capacity.
    Full(GraphFull),
    /// The node declares more parameters than fit; the node is handed back.
    TooManyParams {
        /// The refused node.
        node: Box<dyn DspNode>,
        /// What the parameter block refused.
        error: ParamError,
    },
}

impl AddNodeError {
    /// Takes back the node that was not added.
    pub fn into_node(self) -> Box<dyn DspNode> {
        match self {
            AddNodeError::Full(full) => full.0,
            AddNodeError::TooManyParams { node, .. } => node,
        }
    }
}

impl fmt::Debug for AddNodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddNodeError::Full(full) => f.debug_tuple("Full").field(full).finish(),
            AddNodeError::TooManyParams { node, error } => f
                .debug_struct("TooManyParams")
                .field("node", &node.type_name())
                .field("error", error)
                .finish(),
        }
    }
}

impl fmt::Display for AddNodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddNodeError::Full(full) => fmt::Display::fmt(full, f),
            AddNodeError::TooManyParams { node, error } => {
                write!(
                    f,
                    "node type {} declares too many parameters: {error}",
                    node.type_name()
                )
            }
        }
    }
}

impl core::error::Error for AddNodeError {}
