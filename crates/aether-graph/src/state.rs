//! Node state for save and restore: a node's construction-time settings as named, typed values.

use alloc::collections::BTreeMap;
use alloc::string::String;
use core::fmt;

/// One value of a [`NodeState`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum StateValue {
    /// A flag.
    Bool(bool),
    /// An integer (sizes, seeds, modes).
    Int(i64),
    /// A real number.
    Float(f64),
    /// Text (a mode name, a file name).
    Text(String),
}

/// A node's settings that are not parameters (a delay line's maximum length, a filter's mode, a
/// noise seed): named, typed values that patch files store beside the parameters.
///
/// A node reports it with [`DspNode::save_state`](crate::DspNode::save_state) and takes it back
/// with [`DspNode::load_state`](crate::DspNode::load_state). The graph records a node's state
/// when the node is added, on the control thread (nodes live on the audio thread afterwards), so a
/// snapshot never touches the audio side. Nothing is ever reinterpreted from raw bytes.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct NodeState(pub BTreeMap<String, StateValue>);

impl NodeState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `key`, returning `self` for chaining.
    pub fn with(mut self, key: &str, value: StateValue) -> Self {
        self.0.insert(key.into(), value);
        self
    }

    /// `true` if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&StateValue> {
        self.0.get(key)
    }

    /// The integer under `key`, or a typed error naming what is missing or mistyped.
    pub fn int(&self, key: &'static str) -> Result<i64, StateError> {
        match self.0.get(key) {
            Some(StateValue::Int(value)) => Ok(*value),
            Some(_) => Err(StateError::WrongType {
                key,
                expected: "integer",
            }),
            None => Err(StateError::Missing { key }),
        }
    }

    /// The number under `key` (integers are accepted), or a typed error.
    pub fn float(&self, key: &'static str) -> Result<f64, StateError> {
        match self.0.get(key) {
            Some(StateValue::Float(value)) => Ok(*value),
            Some(StateValue::Int(value)) => Ok(*value as f64),
            Some(_) => Err(StateError::WrongType {
                key,
                expected: "number",
            }),
            None => Err(StateError::Missing { key }),
        }
    }

    /// The text under `key`, or a typed error.
    pub fn text(&self, key: &'static str) -> Result<&str, StateError> {
        match self.0.get(key) {
            Some(StateValue::Text(value)) => Ok(value),
            Some(_) => Err(StateError::WrongType {
                key,
                expected: "text",
            }),
            None => Err(StateError::Missing { key }),
        }
    }

    /// The flag under `key`, or a typed error.
    pub fn bool(&self, key: &'static str) -> Result<bool, StateError> {
        match self.0.get(key) {
            Some(StateValue::Bool(value)) => Ok(*value),
            Some(_) => Err(StateError::WrongType {
                key,
                expected: "bool",
            }),
            None => Err(StateError::Missing { key }),
        }
    }
}

/// Why a node refused a [`NodeState`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StateError {
    /// A required entry is missing.
    Missing {
        /// The entry's key.
        key: &'static str,
    },
    /// An entry has the wrong type.
    WrongType {
        /// The entry's key.
        key: &'static str,
        /// What the node expected.
        expected: &'static str,
    },
    /// An entry's value is out of range or unknown.
    Invalid {
        /// The entry's key.
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Missing { key } => write!(f, "state entry {key:?} is missing"),
            StateError::WrongType { key, expected } => {
                write!(f, "state entry {key:?} must be a {expected}")
            }
            StateError::Invalid { key, reason } => {
                write!(f, "state entry {key:?} is invalid: {reason}")
            }
        }
    }
}

impl core::error::Error for StateError {}
