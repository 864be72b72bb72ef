//! The AetherDSP audio graph: the [`DspNode`] trait, a cycle-free [`Graph`] edited on the
//! control thread, and its compilation into a flat [`Schedule`] for the audio thread.
//!
//! # Real-time contract
//!
//! Everything in this crate runs on the **control thread** and may allocate: graph edits,
//! cycle checks and [`Compiler::compile`]. The audio thread never touches a [`Graph`]; it only
//! reads a compiled [`Schedule`], whose invariants (buffer indices in range, no step writing a
//! buffer it reads, dependency order) are guaranteed by construction. The one piece of this
//! crate that runs on the audio thread is user code: [`DspNode::process`], whose contract is on
//! the trait.
//!
//! Edits never panic on bad input: unknown or stale ids, slots `>= MAX_INPUTS`, cycles and
//! invalid parameter values come back as a typed [`GraphError`] and leave the graph unchanged;
//! a full graph hands the refused node back.
//!
//! # Examples
//!
//! ```
//! use aether_graph::{Block, Compiler, DspNode, Graph, GraphError, Inputs};
//! use aether_params::ParamBlock;
//!
//! struct Source;
//! impl DspNode for Source {
//!     fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
//!         output.fill(1.0);
//!     }
//!     fn type_name(&self) -> &'static str { "Source" }
//! }
//!
//! let mut graph = Graph::with_capacity(16);
//! let a = graph.add_node(Box::new(Source)).unwrap();
//! let b = graph.add_node(Box::new(Source)).unwrap();
//! graph.connect(a, b, 0)?;
//! graph.set_output_node(b)?;
//!
//! // b feeds a would close a cycle: refused, with the cycle named.
//! let error = graph.connect(b, a, 0).unwrap_err();
//! assert!(matches!(error, GraphError::Cycle { .. }));
//!
//! let schedule = Compiler::new().compile(&graph);
//! assert_eq!(schedule.len(), 2);
//! assert!(schedule.buffer_count() <= 2);
//! # Ok::<(), GraphError>(())
//! ```

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod description;
mod error;
mod graph;
pub mod node;
pub mod registry;
mod sample_rate;
mod schedule;
pub mod state;

pub use aether_arena::{CapacityOverflow, Id as NodeId};
pub use description::{EdgeDescription, GraphDescription, NodeDescription, ParamValue};
pub use error::{AddNodeError, GraphError, GraphFull};
pub use graph::{Delivery, Graph, MAX_NODES, NewNode, ParamChange};
pub use node::{
    BUFFER_SIZE, Block, DEFAULT_COST_HINT_NS, DspNode, Inputs, MAX_INPUTS, Quarantined,
};
pub use registry::{Footprint, NodeConstructor, NodeRegistry, RegistryError};
pub use sample_rate::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SampleRateError, check_sample_rate};
pub use schedule::{
    Compiler, DEFAULT_GROUPING_THREADS, DEFAULT_TASK_TARGET_NS, NO_BUFFER, PathCost, Schedule,
    Step, TaskGraph, TaskGrouping,
};
pub use state::{NodeState, StateError, StateValue};
