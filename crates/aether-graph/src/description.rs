//! A plain-data description of a graph: what patch files, diagrams and listings are made from.

use alloc::string::String;
use alloc::vec::Vec;

use crate::graph::Graph;
use crate::state::NodeState;

/// One parameter's name and current (latest requested) value.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ParamValue {
    /// The parameter's name as declared by the node.
    pub name: String,
    /// Its latest target value.
    pub value: f32,
}

/// One node of a [`GraphDescription`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NodeDescription {
    /// The node's id as [`NodeId::to_bits`](crate::NodeId::to_bits): stable while the node lives.
    pub id: u64,
    /// [`DspNode::type_name`](crate::DspNode::type_name).
    pub type_name: String,
    /// Parameter values in index order.
    pub params: Vec<ParamValue>,
    /// The node's settings ([`DspNode::save_state`](crate::DspNode::save_state)).
    pub state: NodeState,
}

/// One edge of a [`GraphDescription`]: `source`'s output feeds input `slot` of `destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EdgeDescription {
    /// Source node id bits.
    pub source: u64,
    /// Destination node id bits.
    pub destination: u64,
    /// Input slot of the destination.
    pub slot: u8,
}

/// The topology and parameter values of a [`Graph`], as plain data (no node instances).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GraphDescription {
    /// Nodes in slot order.
    pub nodes: Vec<NodeDescription>,
    /// Edges, grouped by destination in slot order.
    pub edges: Vec<EdgeDescription>,
    /// The output node's id bits, if any.
    pub output: Option<u64>,
}

impl Graph {
    /// Describes the graph as plain data. Allocates; control thread only.
    pub fn describe(&self) -> GraphDescription {
        let nodes = self
            .node_ids()
            .map(|id| {
                let params = self
                    .params(id)
                    .map(|block| {
                        (0..block.len())
                            .filter_map(|index| {
                                let meta = block.meta(index)?;
                                let value = self.param_value(id, index)?;
                                Some(ParamValue {
                                    name: meta.name.into(),
                                    value,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                NodeDescription {
                    id: id.to_bits(),
                    type_name: self.type_name(id).unwrap_or("").into(),
                    params,
                    state: self.node_state(id).cloned().unwrap_or_default(),
                }
            })
            .collect();
        let edges = self
            .edges()
            .map(|(source, destination, slot)| EdgeDescription {
                source: source.to_bits(),
                destination: destination.to_bits(),
                slot: slot as u8,
            })
            .collect();
        GraphDescription {
            nodes,
            edges,
            output: self.output_node().map(|id| id.to_bits()),
        }
    }
}
