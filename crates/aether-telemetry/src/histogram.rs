//! The bucket layout of the block-time histogram: log-linear, 16 buckets per power of two.
//!
//! Values below 16 ns have a bucket each. Above, a value `v` with highest set bit `e` falls in
//! one of 16 equal sub-buckets of `[2^e, 2^(e+1))`, so every bucket is at most 1/16 of its lower
//! bound wide: a percentile read off the histogram is within 6.25% of the true value. Values of
//! `2^MAX_EXPONENT` ns (about 17 s) and more share the last bucket.

/// Sub-buckets per power of two (a power of two itself).
const SUB_BUCKETS: u64 = 16;
/// log2 of [`SUB_BUCKETS`].
const SUB_BUCKET_BITS: u32 = 4;
/// Values at or above `2^MAX_EXPONENT` nanoseconds go to the last bucket.
const MAX_EXPONENT: u32 = 34;

/// Buckets of the full layout.
const LAYOUT_BUCKETS: usize =
    (SUB_BUCKETS + (MAX_EXPONENT - SUB_BUCKET_BITS) as u64 * SUB_BUCKETS) as usize;

/// Buckets in the shared histogram. Loom builds keep four so the models stay small (every
/// value of 4 ns or more lands in the last one).
#[cfg(not(loom))]
pub(crate) const BUCKETS: usize = LAYOUT_BUCKETS;
#[cfg(loom)]
pub(crate) const BUCKETS: usize = 4;

/// The bucket `nanos` is counted in. Total: every `u64` maps to a bucket below [`BUCKETS`].
pub(crate) fn bucket_of(nanos: u64) -> usize {
    let index = if nanos < SUB_BUCKETS {
        nanos as usize
    } else {
        let exponent = u64::BITS - 1 - nanos.leading_zeros();
        if exponent >= MAX_EXPONENT {
            LAYOUT_BUCKETS - 1
        } else {
            let shift = exponent - SUB_BUCKET_BITS;
            let sub_bucket = (nanos >> shift) & (SUB_BUCKETS - 1);
            (SUB_BUCKETS + u64::from(shift) * SUB_BUCKETS + sub_bucket) as usize
        }
    };
    index.min(BUCKETS - 1)
}

/// The largest value counted in `bucket` (for the last bucket: `u64::MAX`).
pub(crate) fn bucket_upper_bound(bucket: usize) -> u64 {
    if bucket + 1 >= BUCKETS {
        return u64::MAX;
    }
    let bucket = bucket as u64;
    if bucket < SUB_BUCKETS {
        return bucket;
    }
    let shift = (bucket - SUB_BUCKETS) / SUB_BUCKETS;
    let sub_bucket = (bucket - SUB_BUCKETS) % SUB_BUCKETS;
    let lower = (SUB_BUCKETS + sub_bucket) << shift;
    lower + (1u64 << shift) - 1
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact() {
        for nanos in 0..SUB_BUCKETS {
            assert_eq!(bucket_of(nanos), nanos as usize);
            assert_eq!(bucket_upper_bound(nanos as usize), nanos);
        }
    }

    #[test]
    fn buckets_cover_every_value_in_order() {
        // Consecutive buckets are adjacent: the value after a bucket's upper bound opens the next.
        for bucket in 0..BUCKETS - 1 {
            let upper = bucket_upper_bound(bucket);
            assert_eq!(bucket_of(upper), bucket, "upper bound of {bucket}");
            assert_eq!(
                bucket_of(upper + 1),
                bucket + 1,
                "value after bucket {bucket}"
            );
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(1 << MAX_EXPONENT), BUCKETS - 1);
    }

    #[test]
    fn relative_width_is_at_most_one_sixteenth() {
        for bucket in SUB_BUCKETS as usize..BUCKETS - 1 {
            let upper = bucket_upper_bound(bucket);
            let lower = bucket_upper_bound(bucket - 1) + 1;
            assert!(
                (upper - lower + 1) * SUB_BUCKETS <= lower,
                "bucket {bucket}: {lower}..={upper}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn every_value_lies_within_its_bucket(nanos in 0u64..(1 << MAX_EXPONENT)) {
            let bucket = bucket_of(nanos);
            proptest::prop_assert!(nanos <= bucket_upper_bound(bucket));
            if bucket > 0 {
                proptest::prop_assert!(nanos > bucket_upper_bound(bucket - 1));
            }
        }
    }
}
