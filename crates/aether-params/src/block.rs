//! A node's fixed-capacity set of parameters.

use core::fmt;

use crate::MAX_PARAMS;
use crate::error::ParamError;
use crate::meta::{ParamMeta, Unit};
use crate::param::{Param, Smoothing};

/// Placeholder in unused slots; never visible through the public API.
const UNUSED_META: ParamMeta = ParamMeta::new("", 0.0, 0.0, 0.0, Unit::None);
const UNUSED_PARAM: Param = Param::constant(0.0, 0.0, 0.0);

/// Up to [`MAX_PARAMS`] parameters with their metadata, stored inline (no heap), so a
/// node engine can keep one per node.
///
/// Indices are assigned in the order parameters are added, starting at 0.
///
/// # Real-time contract
///
/// Nothing here allocates, locks or panics. Lookups (`get`, `meta`, `index_of`) and the
/// setters are O([`MAX_PARAMS`]) at most; `add` and `from_metas` are meant for the
/// control thread while the node is built, but are allocation-free too.
pub struct ParamBlock {
    params: [Param; MAX_PARAMS],
    metas: [ParamMeta; MAX_PARAMS],
    len: usize,
}

impl Clone for ParamBlock {
    fn clone(&self) -> Self {
        let mut block = Self::new();
        block.clone_from(self);
        block
    }

    /// Copies only the slots either block uses (unused slots always hold the same
    /// placeholder), so installing a node with two parameters copies two, not
    /// [`MAX_PARAMS`]. Real-time safe: no allocation, O(parameters used).
    fn clone_from(&mut self, source: &Self) {
        let used = self.len.max(source.len).min(MAX_PARAMS);
        self.params[..used].clone_from_slice(&source.params[..used]);
        self.metas[..used].copy_from_slice(&source.metas[..used]);
        self.len = source.len;
    }
}

impl ParamBlock {
    /// An empty block.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            params: [UNUSED_PARAM; MAX_PARAMS],
            metas: [UNUSED_META; MAX_PARAMS],
            len: 0,
        }
    }

    /// A block holding one parameter per entry of `metas`, in order.
    ///
    /// # Errors
    ///
    /// [`ParamError::CapacityFull`] for more than [`MAX_PARAMS`] entries, or the first
    /// error [`add`](Self::add) reports.
    pub fn from_metas(metas: &[ParamMeta]) -> Result<Self, ParamError> {
        if metas.len() > MAX_PARAMS {
            return Err(ParamError::CapacityFull {
                capacity: MAX_PARAMS,
            });
        }
        let mut block = Self::new();
        for meta in metas {
            block.add(*meta)?;
        }
        Ok(block)
    }

    /// Adds a parameter starting at `meta.default`; returns its index.
    ///
    /// # Errors
    ///
    /// [`ParamError::InvalidMeta`] if [`ParamMeta::validate`] refuses `meta`,
    /// [`ParamError::DuplicateName`] if a parameter of that name exists,
    /// [`ParamError::CapacityFull`] if the block already holds [`MAX_PARAMS`]. The block
    /// is unchanged on error.
    pub fn add(&mut self, meta: ParamMeta) -> Result<usize, ParamError> {
        let param = Param::from_meta(&meta)?;
        if self.index_of(meta.name).is_some() {
            return Err(ParamError::DuplicateName { name: meta.name });
        }
        let index = self.len;
        match (self.params.get_mut(index), self.metas.get_mut(index)) {
            (Some(param_slot), Some(meta_slot)) => {
                *param_slot = param;
                *meta_slot = meta;
                self.len += 1;
                Ok(index)
            }
            _ => Err(ParamError::CapacityFull {
                capacity: MAX_PARAMS,
            }),
        }
    }

    /// How many parameters the block holds.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// `true` if the block holds no parameter.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The parameter at `index`, or `None` past the end.
    #[must_use]
    pub fn get(&self, index: usize) -> Option<&Param> {
        self.params().get(index)
    }

    /// The parameter at `index` for ticking or retargeting, or `None` past the end.
    #[must_use]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut Param> {
        self.params_mut().get_mut(index)
    }

    /// The metadata of the parameter at `index`, or `None` past the end.
    #[must_use]
    pub fn meta(&self, index: usize) -> Option<&ParamMeta> {
        self.metas().get(index)
    }

    /// The index of the parameter called `name`. O([`MAX_PARAMS`]) string comparisons.
    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.metas().iter().position(|meta| meta.name == name)
    }

    /// The metadata of every parameter, in index order.
    #[must_use]
    pub fn metas(&self) -> &[ParamMeta] {
        self.metas.get(..self.len).unwrap_or(&[])
    }

    /// Every parameter, in index order.
    #[must_use]
    pub fn params(&self) -> &[Param] {
        self.params.get(..self.len).unwrap_or(&[])
    }

    /// Every parameter, in index order, for ticking or retargeting.
    #[must_use]
    pub fn params_mut(&mut self) -> &mut [Param] {
        self.params.get_mut(..self.len).unwrap_or(&mut [])
    }

    /// `(metadata, parameter)` pairs in index order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&ParamMeta, &Param)> + '_ {
        self.metas().iter().zip(self.params().iter())
    }

    /// `(metadata, parameter)` pairs in index order, parameters mutable.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&ParamMeta, &mut Param)> + '_ {
        let len = self.len;
        let metas = self.metas.get(..len).unwrap_or(&[]);
        let params = self.params.get_mut(..len).unwrap_or(&mut []);
        metas.iter().zip(params.iter_mut())
    }

    /// [`Param::set_target`] on the parameter at `index` (target clamped into its range).
    ///
    /// # Errors
    ///
    /// [`ParamError::IndexOutOfRange`] or [`ParamError::NonFinite`]; nothing changes on error.
    pub fn set_target(
        &mut self,
        index: usize,
        target: f32,
        ramp_samples: u32,
    ) -> Result<(), ParamError> {
        self.param_at(index)?.set_target(target, ramp_samples)
    }

    /// [`Param::set_target_at`] on the parameter at `index`.
    ///
    /// # Errors
    ///
    /// [`ParamError::IndexOutOfRange`], [`ParamError::NonFinite`] or
    /// [`ParamError::QueueFull`]; nothing changes on error.
    pub fn set_target_at(
        &mut self,
        index: usize,
        target: f32,
        ramp_samples: u32,
        offset_samples: u32,
    ) -> Result<(), ParamError> {
        self.param_at(index)?
            .set_target_at(target, ramp_samples, offset_samples)
    }

    /// [`Param::schedule`] on the parameter at `index`.
    ///
    /// # Errors
    ///
    /// [`ParamError::IndexOutOfRange`], [`ParamError::NonFinite`],
    /// [`ParamError::InvalidTimeConstant`] or [`ParamError::QueueFull`]; nothing changes
    /// on error.
    pub fn schedule(
        &mut self,
        index: usize,
        target: f32,
        smoothing: Smoothing,
        offset_samples: u32,
    ) -> Result<(), ParamError> {
        self.param_at(index)?
            .schedule(target, smoothing, offset_samples)
    }

    fn param_at(&mut self, index: usize) -> Result<&mut Param, ParamError> {
        let len = self.len;
        self.get_mut(index)
            .ok_or(ParamError::IndexOutOfRange { index, len })
    }
}

impl Default for ParamBlock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ParamBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(meta, param)| (meta.name, param)))
            .finish()
    }
}
