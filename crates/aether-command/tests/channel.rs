//! Single-threaded behaviour of the command channel: configuration errors, refusals,
//! ordering, per-tick limits, the in-flight bound and disconnection.
#![cfg(not(loom))]

use aether_command::{
    ChannelConfig, ConfigError, MAX_CAPACITY, MAX_COMMANDS_PER_TICK, SendError, channel,
};

#[test]
fn zero_capacity_is_a_typed_error() {
    let result = channel::<u32, ()>(0);
    assert_eq!(result.err(), Some(ConfigError::ZeroCapacity));
}

#[test]
fn zero_tick_limit_is_a_typed_error() {
    let result = ChannelConfig::new(4)
        .with_max_commands_per_tick(0)
        .build::<u32, ()>();
    assert_eq!(result.err(), Some(ConfigError::ZeroTickLimit));
}

#[test]
fn capacity_above_the_maximum_is_a_typed_error() {
    let result = channel::<(), ()>(MAX_CAPACITY + 1);
    assert_eq!(
        result.err(),
        Some(ConfigError::CapacityTooLarge {
            requested: MAX_CAPACITY + 1,
            max: MAX_CAPACITY,
        })
    );
}

#[test]
fn unallocatable_capacity_is_a_typed_error() {
    let result = channel::<[u8; 1024], ()>(MAX_CAPACITY);
    assert_eq!(
        result.err(),
        Some(ConfigError::AllocationFailed {
            capacity: MAX_CAPACITY
        })
    );
}

#[test]
fn config_errors_describe_themselves() {
    let message = ConfigError::CapacityTooLarge {
        requested: 10,
        max: 5,
    }
    .to_string();
    assert!(message.contains("10") && message.contains('5'), "{message}");
    assert!(ConfigError::ZeroCapacity.to_string().contains("at least 1"));
    let boxed: Box<dyn core::error::Error> = Box::new(ConfigError::ZeroTickLimit);
    assert!(boxed.to_string().contains("max_commands_per_tick"));
}

#[test]
fn full_channel_hands_the_command_back() {
    let (mut control, _audio) = channel::<String, ()>(2).expect("valid capacity");
    control.try_send("a".to_owned()).expect("slot 1 is free");
    control.try_send("b".to_owned()).expect("slot 2 is free");
    let error = control
        .try_send("c".to_owned())
        .expect_err("both slots are in flight");
    assert!(error.is_full());
    assert!(!error.is_disconnected());
    assert!(error.to_string().contains("full"), "{error}");
    assert_eq!(format!("{error:?}"), "Full(..)");
    assert_eq!(error.into_inner(), "c");
    assert_eq!(control.in_flight(), 2);
    assert_eq!(control.available_slots(), 0);
}

#[test]
fn send_error_is_a_std_error_for_any_command_type() {
    struct NotDebug;
    let error: SendError<NotDebug> = SendError::Disconnected(NotDebug);
    let boxed: Box<dyn core::error::Error> = Box::new(error);
    assert!(boxed.to_string().contains("disconnected"));
}

#[test]
fn commands_and_receipts_keep_their_order() {
    let (mut control, mut audio) = channel::<u32, u32>(8).expect("valid capacity");
    for command in 0..8 {
        control
            .try_send(command)
            .expect("in_flight stays below capacity");
    }
    let mut applied = Vec::new();
    let drained = audio.drain(usize::MAX, |command| {
        applied.push(command);
        command * 10
    });
    assert_eq!(drained, 8);
    assert_eq!(applied, (0..8).collect::<Vec<_>>());

    let mut receipts = Vec::new();
    assert_eq!(control.collect(|receipt| receipts.push(receipt)), 8);
    assert_eq!(receipts, (0..8).map(|c| c * 10).collect::<Vec<_>>());
    assert_eq!(control.in_flight(), 0);
}

#[test]
fn order_is_kept_across_ring_wrap_around() {
    let (mut control, mut audio) = channel::<u32, u32>(3).expect("valid capacity");
    let mut next_command = 0;
    let mut applied = Vec::new();
    let mut receipts = Vec::new();
    for _round in 0..10 {
        while control.try_send(next_command).is_ok() {
            next_command += 1;
        }
        audio.drain(2, |command| {
            applied.push(command);
            command
        });
        control.collect(|receipt| receipts.push(receipt));
    }
    audio.drain(usize::MAX, |command| {
        applied.push(command);
        command
    });
    control.collect(|receipt| receipts.push(receipt));
    assert_eq!(applied, (0..next_command).collect::<Vec<_>>());
    assert_eq!(receipts, applied);
}

#[test]
fn drain_tick_respects_the_configured_limit() {
    let (mut control, mut audio) = ChannelConfig::new(16)
        .with_max_commands_per_tick(3)
        .build::<u32, ()>()
        .expect("valid config");
    for command in 0..8 {
        control.try_send(command).expect("capacity 16");
    }
    assert_eq!(audio.pending(), 8);
    let mut per_tick = Vec::new();
    for _tick in 0..4 {
        per_tick.push(audio.drain_tick(|_| ()));
    }
    assert_eq!(per_tick, [3, 3, 2, 0]);
    assert_eq!(audio.pending(), 0);
}

#[test]
fn drain_tick_defaults_to_max_commands_per_tick() {
    let capacity = MAX_COMMANDS_PER_TICK * 2 + 5;
    let (mut control, mut audio) = channel::<usize, ()>(capacity).expect("valid capacity");
    for command in 0..capacity {
        control
            .try_send(command)
            .expect("exactly capacity commands fit");
    }
    assert_eq!(audio.max_commands_per_tick(), MAX_COMMANDS_PER_TICK);
    assert_eq!(audio.drain_tick(|_| ()), MAX_COMMANDS_PER_TICK);
    assert_eq!(audio.drain_tick(|_| ()), MAX_COMMANDS_PER_TICK);
    assert_eq!(audio.drain_tick(|_| ()), 5);
}

#[test]
fn drain_with_zero_max_applies_nothing() {
    let (mut control, mut audio) = channel::<u32, ()>(2).expect("valid capacity");
    control.try_send(1).expect("free slot");
    assert_eq!(audio.drain(0, |_| ()), 0);
    assert_eq!(audio.pending(), 1);
}

/// The in-flight bound, exercised exactly at capacity: every slot in flight, every
/// command drained with no collect in between, so the return ring is completely full.
#[test]
fn return_ring_has_room_exactly_at_the_bound() {
    const CAPACITY: usize = 4;
    let (mut control, mut audio) = channel::<usize, usize>(CAPACITY).expect("valid capacity");
    for command in 0..CAPACITY {
        control.try_send(command).expect("below capacity");
    }
    assert!(
        control
            .try_send(CAPACITY)
            .expect_err("at capacity")
            .is_full()
    );

    // Drain everything with no collect: all CAPACITY receipts fit.
    assert_eq!(audio.drain(usize::MAX, |command| command), CAPACITY);
    assert_eq!(audio.pending(), 0);
    assert_eq!(audio.return_stalls(), 0);

    // Nothing was collected, so the control end still refuses.
    let refused = control.try_send(CAPACITY).expect_err("still at capacity");
    assert!(refused.is_full());
    assert_eq!(refused.into_inner(), CAPACITY);

    // Collect exactly one receipt: exactly one more command fits.
    let mut collected = Vec::new();
    assert_eq!(
        control.collect_at_most(1, |receipt| collected.push(receipt)),
        1
    );
    assert_eq!(collected, [0]);
    assert_eq!(control.in_flight(), CAPACITY - 1);
    control.try_send(CAPACITY).expect("one slot was freed");
    assert!(
        control
            .try_send(CAPACITY + 1)
            .expect_err("full again")
            .is_full()
    );

    // Its receipt also fits: the return ring held CAPACITY - 1 receipts.
    assert_eq!(audio.drain(usize::MAX, |command| command), 1);
    assert_eq!(audio.return_stalls(), 0);
    assert_eq!(control.collect(|receipt| collected.push(receipt)), CAPACITY);
    assert_eq!(collected, [0, 1, 2, 3, 4]);
    assert_eq!(control.in_flight(), 0);
}

#[test]
fn collect_at_most_zero_collects_nothing() {
    let (mut control, mut audio) = channel::<u32, u32>(2).expect("valid capacity");
    control.try_send(1).expect("free slot");
    audio.drain_tick(|command| command);
    assert_eq!(control.collect_at_most(0, drop), 0);
    assert_eq!(control.collect_all(), 1);
}

#[test]
fn dropping_the_audio_end_disconnects_the_control_end() {
    let (mut control, mut audio) = channel::<String, String>(4).expect("valid capacity");
    assert!(control.is_audio_connected());
    control.try_send("applied".to_owned()).expect("free slot");
    control
        .try_send("never drained".to_owned())
        .expect("free slot");
    assert_eq!(audio.drain(1, |command| command), 1);
    drop(audio);

    assert!(!control.is_audio_connected());
    let error = control
        .try_send("late".to_owned())
        .expect_err("the audio end is gone");
    assert!(error.is_disconnected());
    assert_eq!(error.into_inner(), "late");

    // The receipt returned before the drop can still be collected.
    let mut receipts = Vec::new();
    assert_eq!(control.collect(|receipt| receipts.push(receipt)), 1);
    assert_eq!(receipts, ["applied"]);
    assert_eq!(
        control.in_flight(),
        1,
        "the undrained command stays counted"
    );
}

#[test]
fn dropping_the_control_end_leaves_the_audio_end_working() {
    let (mut control, mut audio) = channel::<u32, u32>(4).expect("valid capacity");
    assert!(audio.is_control_connected());
    for command in 0..4 {
        control.try_send(command).expect("free slot");
    }
    drop(control);

    assert!(!audio.is_control_connected());
    assert_eq!(audio.pending(), 4);
    assert_eq!(audio.drain(usize::MAX, |command| command), 4);
    assert_eq!(audio.return_stalls(), 0);
    assert_eq!(audio.drain(usize::MAX, |command| command), 0);
}

#[test]
fn zero_sized_commands_and_receipts_work() {
    let (mut control, mut audio) = channel::<(), ()>(3).expect("valid capacity");
    for _ in 0..3 {
        control.try_send(()).expect("free slot");
    }
    assert!(control.try_send(()).is_err());
    assert_eq!(audio.drain_tick(|()| ()), 3);
    assert_eq!(control.collect_all(), 3);
    assert_eq!(control.available_slots(), 3);
    assert_eq!(audio.capacity(), 3);
}
