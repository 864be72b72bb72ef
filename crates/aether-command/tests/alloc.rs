//! Allocation checks: the audio end's drain (including the retire push of receipts
//! that own heap memory) and drop-while-the-control-end-lives neither allocate nor
//! free, and `try_send` of a plain command does not allocate.
//!
//! Everything is in one `#[test]` because the violation counter is shared state.
//! `assert_no_alloc` counts violations only in debug builds (in release it would
//! abort), so this binary is empty in release builds.
#![cfg(all(not(loom), debug_assertions))]

use assert_no_alloc::{AllocDisabler, assert_no_alloc, violation_count};
use std::hint::black_box;

use aether_command::ChannelConfig;

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

/// Runs `body` with allocation forbidden and returns how many allocations or
/// deallocations it made.
fn violations_in<T>(body: impl FnOnce() -> T) -> (u32, T) {
    let before = violation_count();
    let result = assert_no_alloc(body);
    (violation_count() - before, result)
}

#[derive(Clone, Copy)]
enum Command {
    SetGain(f32),
    RemoveNode(usize),
}

enum Receipt {
    Applied,
    Removed(Box<[f32]>),
}

const CAPACITY: usize = 64;
const PER_TICK: usize = 8;

#[test]
fn audio_side_never_allocates_or_frees() {
    // The harness itself: an allocation (and its free) inside the closure is counted.
    let (detected, ()) = violations_in(|| {
        black_box(Vec::<u8>::with_capacity(16));
    });
    assert!(
        detected > 0,
        "the allocation checker must detect an allocation"
    );

    // Set-up, allowed to allocate.
    let (mut control, mut audio) = ChannelConfig::new(CAPACITY)
        .with_max_commands_per_tick(PER_TICK)
        .build::<Command, Receipt>()
        .expect("valid config");
    let mut nodes: Vec<Option<Box<[f32]>>> = (0..CAPACITY)
        .map(|_| Some(vec![0.0; 64].into_boxed_slice()))
        .collect();
    let mut gain = 1.0_f32;

    // try_send of plain commands, more than one tick's worth, half of them removals.
    let (sent_violations, sent) = violations_in(|| {
        let mut sent = 0;
        for index in 0..CAPACITY / 2 {
            sent += usize::from(control.try_send(Command::SetGain(0.5)).is_ok());
            sent += usize::from(control.try_send(Command::RemoveNode(index)).is_ok());
        }
        sent
    });
    assert_eq!(sent_violations, 0, "try_send allocated");
    assert_eq!(sent, CAPACITY);

    // A refused try_send (full channel) does not allocate either.
    let (refused_violations, refused) =
        violations_in(|| control.try_send(Command::SetGain(0.25)).is_err());
    assert_eq!(refused_violations, 0, "a refused try_send allocated");
    assert!(refused);

    let mut apply = |command: Command| match command {
        Command::SetGain(new_gain) => {
            gain = new_gain;
            Receipt::Applied
        }
        Command::RemoveNode(index) => match nodes.get_mut(index).and_then(Option::take) {
            Some(buffer) => Receipt::Removed(buffer),
            None => Receipt::Applied,
        },
    };

    // drain_tick with far more queued than the per-tick limit; the receipts carrying
    // boxes are pushed to the return ring, not freed.
    let (tick_violations, (applied, pending)) =
        violations_in(|| (audio.drain_tick(&mut apply), audio.pending()));
    assert_eq!(tick_violations, 0, "drain_tick allocated or freed");
    assert_eq!(applied, PER_TICK);
    assert_eq!(pending, CAPACITY - PER_TICK);

    // drain of everything left, filling the return ring to capacity (no collect yet).
    let (drain_violations, applied) = violations_in(|| audio.drain(usize::MAX, &mut apply));
    assert_eq!(drain_violations, 0, "drain allocated or freed");
    assert_eq!(applied, CAPACITY - PER_TICK);

    // An empty drain and the audio-side queries.
    let (idle_violations, (applied, connected)) = violations_in(|| {
        (
            audio.drain_tick(&mut apply),
            audio.is_control_connected() && audio.return_stalls() == 0,
        )
    });
    assert_eq!(idle_violations, 0);
    assert_eq!(applied, 0);
    assert!(connected);
    assert_eq!(gain, 0.5);

    // Dropping the audio end while the control end lives frees nothing.
    let (drop_violations, ()) = violations_in(move || drop(audio));
    assert_eq!(drop_violations, 0, "dropping the audio end freed memory");

    // The garbage is dropped here, on the control side (allowed to free).
    let mut removed = 0;
    let collected = control.collect(|receipt| {
        if let Receipt::Removed(buffer) = receipt {
            removed += buffer.len();
        }
    });
    assert_eq!(collected, CAPACITY);
    assert_eq!(removed, (CAPACITY / 2) * 64);
}
