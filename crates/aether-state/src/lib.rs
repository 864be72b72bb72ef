//! Save and restore for AetherDSP: a versioned, validated [`GraphSnapshot`] of a graph, written
//! as a human-editable JSON patch file or as compact binary.
//!
//! # Real-time contract
//!
//! Nothing in this crate runs on the audio thread, and everything in it allocates: call it from
//! the control thread only.
//!
//! - [`GraphSnapshot::capture`] reads only a [`Graph`](aether_graph::Graph). On a running engine
//!   pass [`Controller::graph`](aether_scheduler::Controller::graph) (or use
//!   [`GraphSnapshot::capture_engine`]): the audio side keeps playing and is never touched.
//! - [`GraphSnapshot::restore`] validates the whole snapshot first, then replaces the graph's
//!   contents; a failed restore changes nothing. On a running engine the restored graph reaches
//!   the audio side with the next commit, as one command; old nodes come back to the control
//!   thread to be dropped.
//! - Decoding ([`GraphSnapshot::from_json`], [`GraphSnapshot::from_bytes`]) never panics on any
//!   input and bounds what a corrupt binary length can allocate ([`MAX_BINARY_BYTES`]).
//!
//! # What is captured
//!
//! Captured: every node's type name, its construction settings (the
//! [`NodeState`](aether_graph::NodeState) the node reported when it was added) and its parameter
//! targets from the control-side mirror (the latest value set, committed or not); every edge;
//! the output node; the sample rate.
//!
//! Not captured: running DSP state such as oscillator phases, filter memories, delay-line
//! contents and parameter ramps in progress, which live on the audio thread. A restored graph
//! starts from reset state with every parameter at its saved target, so a patch restored into a
//! fresh engine renders exactly what the original rendered from its start.
//!
//! # File format
//!
//! A patch file is JSON. Node ids are the file's own (captures number them `0..n`); edges and
//! the output refer to them. `params` maps parameter names to values, which must lie within the
//! parameter's declared range (files are never clamped silently); parameters left out keep
//! their defaults. `state` holds the node's construction settings as typed values (`Bool`,
//! `Int`, `Float`, `Text`). `params`, `state`, `label`, `edges` and `output` may be omitted;
//! unknown fields are refused, so a misspelt field name is an error rather than silently
//! ignored. Errors carry the line and column.
//!
//! The binary form ([`GraphSnapshot::to_bytes`]) is [`BINARY_MAGIC`] (`AETHER\0`), the format
//! version as a little-endian `u32`, then the same structure in bincode's standard
//! configuration.
//!
//! # Examples
//!
//! ```
//! use aether_graph::{Block, DspNode, Inputs, NodeRegistry, NodeState, StateError};
//! use aether_params::{ParamBlock, ParamMeta, Unit};
//! use aether_state::{GraphSnapshot, SnapshotError};
//!
//! // A source with one parameter and one construction setting.
//! struct Dc { polarity: f32 }
//! const DC_PARAMS: [ParamMeta; 1] = [ParamMeta::new("level", 0.0, 1.0, 1.0, Unit::None)];
//! impl DspNode for Dc {
//!     fn process(&mut self, _: &Inputs<'_>, out: &mut Block, params: &mut ParamBlock, _: f32) {
//!         for sample in out.iter_mut() {
//!             let level = params.get_mut(0).map_or(0.0, |level| level.tick());
//!             *sample = self.polarity * level;
//!         }
//!     }
//!     fn type_name(&self) -> &'static str { "Dc" }
//!     fn param_specs(&self) -> &[ParamMeta] { &DC_PARAMS }
//!     fn save_state(&self) -> NodeState {
//!         NodeState::new().with("polarity", aether_graph::StateValue::Int(self.polarity as i64))
//!     }
//! }
//! fn dc(state: &NodeState) -> Result<Box<dyn DspNode>, StateError> {
//!     let polarity = if state.is_empty() { 1 } else { state.int("polarity")? };
//!     Ok(Box::new(Dc { polarity: if polarity < 0 { -1.0 } else { 1.0 } }))
//! }
//!
//! let mut registry = NodeRegistry::new();
//! registry.register("Dc", dc).unwrap();
//!
//! let patch = r#"{
//!   "format": "aetherdsp-patch",
//!   "version": 1,
//!   "sample_rate": 48000.0,
//!   "nodes": [
//!     { "id": 0, "type_name": "Dc", "params": { "level": 0.25 },
//!       "state": { "polarity": { "Int": -1 } }, "label": "bias" }
//!   ],
//!   "edges": [],
//!   "output": 0
//! }"#;
//! let snapshot = GraphSnapshot::from_json(patch)?;
//! let mut scheduler = snapshot.restore_into_scheduler(&registry, None)?;
//! assert!(scheduler.process_block().iter().all(|&sample| sample == -0.25));
//!
//! // Capture it again and round-trip through both encodings.
//! let captured = GraphSnapshot::capture(&scheduler.graph, scheduler.sample_rate());
//! assert_eq!(captured.nodes[0].params["level"], 0.25);
//! assert_eq!(GraphSnapshot::from_json(&captured.to_json_pretty())?, captured);
//! assert_eq!(GraphSnapshot::from_bytes(&captured.to_bytes())?, captured);
//!
//! // Out-of-range values are refused, naming the node, the parameter and the range.
//! let error = GraphSnapshot::from_json(&patch.replace("0.25", "1.5"))?
//!     .restore_into_scheduler(&registry, None)
//!     .unwrap_err();
//! assert!(matches!(error, SnapshotError::ParamOutOfRange { .. }));
//! assert_eq!(
//!     error.to_string(),
//!     "node 0 (Dc): parameter \"level\" = 1.5 is outside its range [0, 1]"
//! );
//! # Ok::<(), SnapshotError>(())
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

mod encoding;
mod error;
mod restore;
mod shown;
mod snapshot;

pub use encoding::{BINARY_HEADER_LEN, BINARY_MAGIC, MAX_BINARY_BYTES, MAX_JSON_BYTES};
pub use error::{NodeRef, SnapshotError};
pub use restore::{DEFAULT_STATE_BUDGET, InspectedNode, RestoreLimits, Restored};
pub use shown::{MAX_SHOWN_CHARS, Shown, write_escaped};
pub use snapshot::{FORMAT, FORMAT_VERSION, GraphSnapshot, SnapshotEdge, SnapshotNode};
