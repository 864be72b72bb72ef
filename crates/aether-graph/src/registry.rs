//! Maps node type names to constructors, so saved graphs can be rebuilt into live nodes.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt;

use crate::node::DspNode;
use crate::state::{NodeState, StateError};

/// Builds a node of one type from its saved [`NodeState`] (empty for a new node with defaults).
pub type NodeConstructor = fn(&NodeState) -> Result<Box<dyn DspNode>, StateError>;

/// Node types by name. The node library registers its types; third-party crates register theirs
/// the same way ([`NodeRegistry::register`]).
///
/// # Real-time contract
///
/// Control thread only: registering allocates and constructors allocate the node.
#[derive(Clone, Default)]
pub struct NodeRegistry {
    constructors: BTreeMap<&'static str, NodeConstructor>,
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
        if self.constructors.contains_key(type_name) {
            return Err(RegistryError::Duplicate(type_name));
        }
        self.constructors.insert(type_name, constructor);
        Ok(())
    }

    /// Builds a node of type `type_name` from `state`.
    pub fn create(
        &self,
        type_name: &str,
        state: &NodeState,
    ) -> Result<Box<dyn DspNode>, RegistryError> {
        let constructor = self
            .constructors
            .get(type_name)
            .ok_or_else(|| RegistryError::UnknownType(type_name.into()))?;
        constructor(state).map_err(|error| RegistryError::State {
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
