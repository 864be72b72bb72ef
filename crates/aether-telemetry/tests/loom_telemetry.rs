//! Loom model of the seqlock between the recorder (audio thread) and a reader (control thread).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release -p aether-telemetry --test loom_telemetry`
//!
//! Loom builds cut the histogram to four buckets (busy times 0..=2 ns exact, everything larger in
//! the last one). The model checks, for every interleaving within the preemption bound, that a
//! snapshot taken while the recorder writes is exactly one of the states the recorder published
//! (never a mix of two records), and that after the recorder is done the reader sees its last
//! state.
#![cfg(loom)]

use aether_telemetry::{CallbackStats, callback_stats};
use loom::thread;

/// (busy ns, period ns) of the records the model makes: one on time, one late.
const RECORDS: [(u64, u64); 2] = [(1, 2), (3, 2)];

/// (callbacks, misses, max, busy total, period total, histogram) after `n` records.
fn published(n: usize) -> (u64, u64, u64, u64, u64, Vec<(u64, u64)>) {
    let records = &RECORDS[..n];
    let mut histogram: Vec<(u64, u64)> = Vec::new();
    for &(busy, _) in records {
        let upper = if busy <= 2 { busy } else { u64::MAX };
        match histogram.iter_mut().find(|(bound, _)| *bound == upper) {
            Some((_, count)) => *count += 1,
            None => histogram.push((upper, 1)),
        }
    }
    histogram.sort_unstable();
    (
        n as u64,
        records
            .iter()
            .filter(|(busy, period)| busy > period)
            .count() as u64,
        records.iter().map(|&(busy, _)| busy).max().unwrap_or(0),
        records.iter().map(|&(busy, _)| busy).sum(),
        records.iter().map(|&(_, period)| period).sum(),
        histogram,
    )
}

fn observed(stats: &CallbackStats) -> (u64, u64, u64, u64, u64, Vec<(u64, u64)>) {
    (
        stats.callbacks(),
        stats.deadline_misses(),
        stats.max_ns(),
        stats.busy_ns_total(),
        stats.period_ns_total(),
        stats.histogram().collect(),
    )
}

#[test]
fn snapshots_see_only_published_states() {
    loom::model(|| {
        let (mut recorder, reader) = callback_stats();
        let audio = thread::spawn(move || {
            for (busy, period) in RECORDS {
                recorder.record(busy, period);
            }
        });
        // A single attempt, so the model needs no spinning: a failed attempt is allowed, a
        // successful one must be exact. (Two attempts make the model an order of magnitude slower.)
        if let Some(stats) = reader.try_snapshot() {
            let seen = observed(&stats);
            assert!(
                (0..=RECORDS.len()).any(|n| published(n) == seen),
                "torn snapshot: {seen:?}"
            );
        }
        audio.join().expect("recorder thread");
        let last = reader
            .try_snapshot()
            .expect("no record in progress after the recorder finished");
        assert_eq!(observed(&last), published(RECORDS.len()));
    });
}

#[test]
fn snapshots_from_a_second_reader_thread_are_consistent() {
    loom::model(|| {
        let (mut recorder, reader) = callback_stats();
        let second_reader = reader.clone();
        let audio = thread::spawn(move || recorder.record(RECORDS[0].0, RECORDS[0].1));
        let control = thread::spawn(move || {
            if let Some(stats) = second_reader.try_snapshot() {
                let seen = observed(&stats);
                assert!(
                    seen == published(0) || seen == published(1),
                    "torn: {seen:?}"
                );
            }
        });
        audio.join().expect("recorder thread");
        control.join().expect("reader thread");
        assert_eq!(observed(&reader.snapshot()), published(1));
    });
}
