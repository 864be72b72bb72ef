//! Behaviour of the recorder and the snapshots, including a recorder racing a reader.

use aether_telemetry::{CallbackStats, callback_stats};

const PERIOD_NS: u64 = 1_333_333;

#[test]
fn empty_snapshot_reads_zero() {
    let (_recorder, reader) = callback_stats();
    let stats = reader.snapshot();
    assert_eq!(stats.callbacks(), 0);
    assert_eq!(stats.median_ns(), 0);
    assert_eq!(stats.p99_ns(), 0);
    assert_eq!(stats.max_ns(), 0);
    assert_eq!(stats.cpu_load(), 0.0);
    assert_eq!(stats.mean_period_ns(), 0);
}

#[test]
fn counts_misses_load_and_exact_maximum() {
    let (mut recorder, reader) = callback_stats();
    recorder.record(100_000, PERIOD_NS);
    recorder.record(PERIOD_NS, PERIOD_NS); // exactly on time is not a miss
    recorder.record(PERIOD_NS + 1, PERIOD_NS);
    let stats = reader.snapshot();
    assert_eq!(stats.callbacks(), 3);
    assert_eq!(stats.deadline_misses(), 1);
    assert_eq!(stats.max_ns(), PERIOD_NS + 1);
    assert_eq!(stats.busy_ns_total(), 100_000 + 2 * PERIOD_NS + 1);
    assert_eq!(stats.period_ns_total(), 3 * PERIOD_NS);
    assert_eq!(stats.mean_period_ns(), PERIOD_NS);
    let expected_load = (100_000 + 2 * PERIOD_NS + 1) as f64 / (3 * PERIOD_NS) as f64;
    assert!((stats.cpu_load() - expected_load).abs() < 1e-12);
}

#[test]
fn percentiles_are_within_one_sixteenth_above_the_truth() {
    let (mut recorder, reader) = callback_stats();
    // 1000 callbacks of 1..=1000 us: the true median is 500 us, the true p99 990 us.
    for micros in 1..=1000u64 {
        recorder.record(micros * 1_000, PERIOD_NS);
    }
    let stats = reader.snapshot();
    for (fraction, truth) in [(0.5, 500_000u64), (0.99, 990_000), (0.1, 100_000)] {
        let reported = stats.percentile_ns(fraction);
        assert!(reported >= truth, "p{fraction}: {reported} < {truth}");
        assert!(
            reported * 16 <= truth * 17,
            "p{fraction}: {reported} too far above {truth}"
        );
    }
    assert_eq!(stats.percentile_ns(1.0), 1_000_000);
    assert_eq!(stats.percentile_ns(2.0), 1_000_000, "fractions are clamped");
    assert!(
        stats.percentile_ns(f64::NAN) <= 1_063,
        "NaN reads as the minimum"
    );
    assert_eq!(stats.max_ns(), 1_000_000);
    let histogram: Vec<(u64, u64)> = stats.histogram().collect();
    assert_eq!(histogram.iter().map(|&(_, count)| count).sum::<u64>(), 1000);
    assert!(
        histogram.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "ascending buckets"
    );
}

#[test]
fn percentile_never_exceeds_the_maximum() {
    let (mut recorder, reader) = callback_stats();
    recorder.record(1_000_001, PERIOD_NS);
    let stats = reader.snapshot();
    assert_eq!(stats.median_ns(), 1_000_001);
    assert_eq!(stats.p99_ns(), 1_000_001);
}

#[test]
fn interval_statistics_subtract_an_earlier_snapshot() {
    let (mut recorder, reader) = callback_stats();
    for _ in 0..10 {
        recorder.record(2_000_000, PERIOD_NS); // all misses
    }
    let earlier = reader.snapshot();
    for _ in 0..30 {
        recorder.record(10_000, PERIOD_NS);
    }
    let interval = reader.snapshot().since(&earlier);
    assert_eq!(interval.callbacks(), 30);
    assert_eq!(interval.deadline_misses(), 0);
    assert_eq!(interval.busy_ns_total(), 300_000);
    assert!(
        interval.p99_ns() < 11_000,
        "the earlier slow blocks are not in the interval"
    );
    assert_eq!(
        interval.max_ns(),
        2_000_000,
        "the maximum is the whole run's"
    );
}

#[test]
fn totals_saturate_instead_of_wrapping() {
    let (mut recorder, reader) = callback_stats();
    recorder.record(u64::MAX, u64::MAX);
    recorder.record(u64::MAX, 1);
    let stats = reader.snapshot();
    assert_eq!(stats.callbacks(), 2);
    assert_eq!(stats.busy_ns_total(), u64::MAX);
    assert_eq!(stats.deadline_misses(), 1);
    assert_eq!(stats.max_ns(), u64::MAX);
    assert_eq!(stats.percentile_ns(0.5), u64::MAX);
}

#[test]
fn display_is_one_line_in_microseconds() {
    let (mut recorder, reader) = callback_stats();
    recorder.record(40_000, PERIOD_NS);
    recorder.record(2_000_000, PERIOD_NS);
    let line = reader.snapshot().to_string();
    assert!(!line.contains('\n'));
    assert!(line.starts_with("callbacks 2, cpu "), "{line}");
    assert!(line.contains("max 2000.0 us"), "{line}");
    assert!(line.contains("(period 1333.3 us)"), "{line}");
    assert!(line.ends_with("deadline misses 1"), "{line}");
}

/// Every snapshot taken while another thread records must be a published state: the
/// histogram sums to the callback count and the totals belong to the same callbacks.
#[test]
fn snapshots_racing_the_recorder_are_consistent() {
    const RECORDS: u64 = 200_000;
    let (mut recorder, reader) = callback_stats();
    let writer = std::thread::spawn(move || {
        for index in 0..RECORDS {
            // Busy time 1000 + index % 7 ns, period 1003: a miss exactly when index % 7 > 3.
            recorder.record(1_000 + index % 7, 1_003);
        }
    });
    let mut last = CallbackStats::default();
    let mut snapshots = 0u64;
    while !writer.is_finished() || snapshots == 0 {
        let stats = reader.snapshot();
        check_published(&stats);
        assert!(
            stats.callbacks() >= last.callbacks(),
            "snapshots go forward"
        );
        last = stats;
        snapshots += 1;
    }
    writer.join().expect("recorder thread");
    let final_stats = reader.snapshot();
    check_published(&final_stats);
    assert_eq!(final_stats.callbacks(), RECORDS);
}

/// The state after `n` records of the pattern in `snapshots_racing_the_recorder_are_consistent`.
fn check_published(stats: &CallbackStats) {
    let n = stats.callbacks();
    let full_cycles = n / 7;
    let rest = n % 7;
    let busy: u64 = 1_000 * n + full_cycles * 21 + (0..rest).sum::<u64>();
    let misses = full_cycles * 3 + rest.saturating_sub(4);
    assert_eq!(stats.busy_ns_total(), busy, "busy total of {n} callbacks");
    assert_eq!(stats.period_ns_total(), 1_003 * n);
    assert_eq!(stats.deadline_misses(), misses, "misses of {n} callbacks");
    let histogram_total: u64 = stats.histogram().map(|(_, count)| count).sum();
    assert_eq!(histogram_total, n);
    if n > 0 {
        assert_eq!(stats.percentile_ns(1.0), stats.max_ns());
        assert!(stats.max_ns() <= 1_006);
    }
}
