//! Static description of a parameter: name, range, default and unit.

use crate::error::{MetaProblem, ParamError};

/// The physical unit a parameter is expressed in, for display and host automation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Unit {
    /// A plain number (gain factor, mix amount, index).
    #[default]
    None,
    /// Frequency in hertz.
    Hertz,
    /// Level in decibels.
    Decibels,
    /// Time in seconds.
    Seconds,
    /// Time in milliseconds.
    Milliseconds,
    /// A ratio such as a compressor's 4:1, written as `4`.
    Ratio,
    /// A percentage, 0 to 100.
    Percent,
    /// Pitch offset in equal-tempered semitones.
    Semitones,
    /// Pitch offset in cents (hundredths of a semitone).
    Cents,
}

impl Unit {
    /// The short symbol shown after a value (`"Hz"`, `"dB"`, ...); empty for [`Unit::None`].
    ///
    /// Real-time safe: returns a static string.
    #[must_use]
    pub const fn symbol(self) -> &'static str {
        match self {
            Unit::None => "",
            Unit::Hertz => "Hz",
            Unit::Decibels => "dB",
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Ratio => ":1",
            Unit::Percent => "%",
            Unit::Semitones => "st",
            Unit::Cents => "ct",
        }
    }
}

/// Declaration of one parameter: its name, inclusive range `[min, max]`, default and unit.
///
/// Build it in a `const` with [`ParamMeta::new`]; check it with [`ParamMeta::validate`]
/// ([`Param::from_meta`](crate::Param::from_meta) and
/// [`ParamBlock::add`](crate::ParamBlock::add) do so for you).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamMeta {
    /// Name used to look the parameter up ([`ParamBlock::index_of`](crate::ParamBlock::index_of)).
    pub name: &'static str,
    /// Smallest value a target is clamped to.
    pub min: f32,
    /// Largest value a target is clamped to.
    pub max: f32,
    /// Value the parameter starts at.
    pub default: f32,
    /// Unit the value is expressed in.
    pub unit: Unit,
}

impl ParamMeta {
    /// Describes a parameter. Does not check anything; see [`validate`](Self::validate).
    #[must_use]
    pub const fn new(name: &'static str, min: f32, max: f32, default: f32, unit: Unit) -> Self {
        Self {
            name,
            min,
            max,
            default,
            unit,
        }
    }

    /// Checks that both bounds are finite, `min <= max`, and `default` is finite and
    /// inside `[min, max]`. `min == max` (a fixed parameter) is allowed.
    ///
    /// Real-time safe: a handful of comparisons, no allocation.
    ///
    /// # Errors
    ///
    /// [`ParamError::InvalidMeta`] naming the parameter and the [`MetaProblem`].
    pub const fn validate(&self) -> Result<(), ParamError> {
        let problem = if !self.min.is_finite() || !self.max.is_finite() {
            MetaProblem::NonFiniteBound {
                min: self.min,
                max: self.max,
            }
        } else if self.min > self.max {
            MetaProblem::MinAboveMax {
                min: self.min,
                max: self.max,
            }
        } else if !self.default.is_finite() {
            MetaProblem::NonFiniteDefault {
                default: self.default,
            }
        } else if self.default < self.min || self.default > self.max {
            MetaProblem::DefaultOutOfRange {
                default: self.default,
                min: self.min,
                max: self.max,
            }
        } else {
            return Ok(());
        };
        Err(ParamError::InvalidMeta {
            name: self.name,
            problem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem_of(meta: ParamMeta) -> MetaProblem {
        match meta.validate() {
            Err(ParamError::InvalidMeta { problem, .. }) => problem,
            other => panic!("expected InvalidMeta, got {other:?}"),
        }
    }

    #[test]
    fn valid_meta_passes_including_a_fixed_range() {
        assert_eq!(
            ParamMeta::new("gain", 0.0, 1.0, 0.5, Unit::None).validate(),
            Ok(())
        );
        assert_eq!(
            ParamMeta::new("fixed", 2.0, 2.0, 2.0, Unit::None).validate(),
            Ok(())
        );
        assert_eq!(
            ParamMeta::new("edge", -1.0, 1.0, 1.0, Unit::None).validate(),
            Ok(())
        );
    }

    #[test]
    fn min_above_max_is_rejected() {
        assert_eq!(
            problem_of(ParamMeta::new("x", 1.0, 0.0, 0.5, Unit::None)),
            MetaProblem::MinAboveMax { min: 1.0, max: 0.0 }
        );
    }

    #[test]
    fn non_finite_bounds_are_rejected() {
        for (min, max) in [
            (f32::NAN, 1.0),
            (0.0, f32::NAN),
            (f32::NEG_INFINITY, 1.0),
            (0.0, f32::INFINITY),
        ] {
            assert!(matches!(
                problem_of(ParamMeta::new("x", min, max, 0.5, Unit::None)),
                MetaProblem::NonFiniteBound { .. }
            ));
        }
    }

    #[test]
    fn default_outside_range_or_non_finite_is_rejected() {
        assert_eq!(
            problem_of(ParamMeta::new("x", 0.0, 1.0, 1.5, Unit::None)),
            MetaProblem::DefaultOutOfRange {
                default: 1.5,
                min: 0.0,
                max: 1.0
            }
        );
        assert!(matches!(
            problem_of(ParamMeta::new("x", 0.0, 1.0, -0.1, Unit::None)),
            MetaProblem::DefaultOutOfRange { .. }
        ));
        assert!(matches!(
            problem_of(ParamMeta::new("x", 0.0, 1.0, f32::NAN, Unit::None)),
            MetaProblem::NonFiniteDefault { .. }
        ));
    }

    #[test]
    fn error_message_names_the_parameter_and_problem() {
        let err = ParamMeta::new("cutoff", 20.0, 20_000.0, 30_000.0, Unit::Hertz)
            .validate()
            .unwrap_err();
        let text = std::format!("{err}");
        assert!(text.contains("\"cutoff\""), "{text}");
        assert!(
            text.contains("default 30000 lies outside [20, 20000]"),
            "{text}"
        );
    }

    #[test]
    fn unit_symbols() {
        assert_eq!(Unit::None.symbol(), "");
        assert_eq!(Unit::Hertz.symbol(), "Hz");
        assert_eq!(Unit::Decibels.symbol(), "dB");
        assert_eq!(Unit::Milliseconds.symbol(), "ms");
        assert_eq!(Unit::Percent.symbol(), "%");
        assert_eq!(Unit::default(), Unit::None);
    }
}
