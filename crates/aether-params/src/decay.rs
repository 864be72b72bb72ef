//! `exp(-1 / tau)` without `std`: the per-sample retention of a one-pole smoother.

use core::f64::consts::LN_2;

/// Above this many nepers per sample, `exp(-x)` is below `4e-18` and rounds to a
/// retention that empties the error in one sample.
const FULL_DECAY_NEPERS: f64 = 40.0;

/// Taylor terms for `exp(-r)`, `0 <= r < ln 2`: the 18th term is below `1e-18`.
const SERIES_TERMS: u32 = 18;

/// Fraction of the remaining distance kept after one sample, `exp(-1 / tau)`, for a
/// finite, positive time constant `tau` in samples.
///
/// Bounded work (at most 18 series terms and 58 halvings), no allocation, no panic.
pub(crate) fn retention_per_sample(time_constant_samples: f32) -> f32 {
    let nepers = 1.0 / f64::from(time_constant_samples);
    if nepers.is_nan() || nepers >= FULL_DECAY_NEPERS {
        return 0.0;
    }
    // exp(-x) = 2^-n * exp(-r) with x = n ln 2 + r, 0 <= r < ln 2. `as` saturates: no panic.
    let halvings = (nepers / LN_2) as u32;
    let reduced = (nepers - f64::from(halvings) * LN_2).max(0.0);
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    for i in 1..=SERIES_TERMS {
        term *= -reduced / f64::from(i);
        sum += term;
    }
    for _ in 0..halvings {
        sum *= 0.5;
    }
    sum as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_exp_across_the_range() {
        for tau in [
            0.001_f32,
            0.03,
            0.1,
            0.5,
            1.0,
            1.5,
            2.0,
            10.0,
            48.0,
            480.0,
            1.0e4,
            4_194_304.0,
        ] {
            let expected = (-1.0 / f64::from(tau)).exp() as f32;
            let got = retention_per_sample(tau);
            let ulps = (got.to_bits() as i64 - expected.to_bits() as i64).abs();
            assert!(ulps <= 1, "tau {tau}: got {got}, expected {expected}");
        }
    }

    #[test]
    fn retention_is_strictly_between_zero_and_one_for_ordinary_time_constants() {
        for tau in [1.0_f32, 64.0, 4_194_304.0] {
            let r = retention_per_sample(tau);
            assert!(r > 0.0 && r < 1.0, "tau {tau}: {r}");
        }
        // Below 1/40 sample the retention is under 4e-18: treated as 0 (a one-sample jump).
        assert_eq!(retention_per_sample(0.02), 0.0);
    }
}
