//! Maps node type names to constructors, so saved graphs can be rebuilt into live nodes.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt;

use aether_params::ParamMeta;

use crate::node::DspNode;
use crate::state::{NodeState, StateError};

/// Builds a node of one type from its saved [`NodeState`] (empty for a new node with defaults).
pub type NodeConstructor = fn(&NodeState) -> Result<Box<dyn DspNode>, StateError>;

/// What building a node of one type will cost, known without building it: for node types whose
/// state can be large (delay lines, sample buffers), so that a patch can be checked against a
/// memory budget, listed and drawn before (or instead of) allocating anything.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    /// Checks a saved state exactly as the type's constructor does and returns how many bytes
    /// of state (buffers on the heap) the constructor will allocate for it. Must not allocate
    /// those bytes itself.
    pub state_bytes: fn(&NodeState) -> Result<usize, StateError>,
    /// The parameters every node of the type declares ([`DspNode::param_specs`]).
    pub params: &'static [ParamMeta],
}

/// One registered type.
#[derive(Clone, Copy)]
struct Entry {
    construct: NodeConstructor,
    footprint: Option<Footprint>,
}

/// Node types by name. The node library registers its types; third-party crates register theirs
/// the same way ([`NodeRegistry::register`]).
///
/// # Real-time contract
///
/// Control thread only: registering allocates and constructors allocate the node.
#[derive(Clone, Default)]
pub struct NodeRegistry {
    constructors: BTreeMap<&'static str, Entry>,
}

impl fmt::Debug for NodeRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.constructors.keys()).finish()
    }
}

/// Why a registry could not build a node.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RegistryError {
    /// No constructor is registered under that type name.
    UnknownType(String),
    /// The constructor refused the saved state.
    State {
        /// The node type.
        type_name: String,
        /// What was wrong.
        error: StateError,
    },
    /// A constructor is already registered under that name.
    Duplicate(&'static str),
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::UnknownType(name) => write!(f, "unknown node type {name:?}"),
            RegistryError::State { type_name, error } => {
                write!(f, "node type {type_name:?}: {error}")
            }
            RegistryError::Duplicate(name) => write!(f, "node type {name:?} is already registered"),
        }
    }
}

impl core::error::Error for RegistryError {}

impl NodeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `constructor` under `type_name` (which must equal the nodes'
    /// [`DspNode::type_name`]). A name registered twice is refused.
    pub fn register(
        &mut self,
        type_name: &'static str,
        constructor: NodeConstructor,
    ) -> Result<(), RegistryError> {
        self.insert(type_name, constructor, None)
    }

    /// Like [`register`](Self::register), with the type's [`Footprint`]: what its nodes'
    /// state costs and which parameters they declare, known without building one. Types that
    /// allocate large buffers should register this way, so that restoring a patch checks them
    /// against a memory budget first and listing a patch builds none of them.
    pub fn register_with_footprint(
        &mut self,
        type_name: &'static str,
        constructor: NodeConstructor,
        footprint: Footprint,
    ) -> Result<(), RegistryError> {
        self.insert(type_name, constructor, Some(footprint))
    }

    fn insert(
        &mut self,
        type_name: &'static str,
        construct: NodeConstructor,
        footprint: Option<Footprint>,
    ) -> Result<(), RegistryError> {
        if self.constructors.contains_key(type_name) {
            return Err(RegistryError::Duplicate(type_name));
        }
        self.constructors.insert(
            type_name,
            Entry {
                construct,
                footprint,
            },
        );
        Ok(())
    }

    /// The [`Footprint`] `type_name` was registered with, if any.
    pub fn footprint(&self, type_name: &str) -> Option<Footprint> {
        self.constructors.get(type_name)?.footprint
    }

    /// Builds a node of type `type_name` from `state`.
    pub fn create(
        &self,
        type_name: &str,
        state: &NodeState,
    ) -> Result<Box<dyn DspNode>, RegistryError> {
        let entry = self
            .constructors
            .get(type_name)
            .ok_or_else(|| RegistryError::UnknownType(type_name.into()))?;
        (entry.construct)(state).map_err(|error| RegistryError::State {
            type_name: type_name.into(),
            error,
        })
    }

    /// `true` if `type_name` is registered.
    pub fn contains(&self, type_name: &str) -> bool {
        self.constructors.contains_key(type_name)
    }

    /// Registered type names, sorted.
    pub fn type_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.constructors.keys().copied()
    }
}
