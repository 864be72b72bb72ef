//! Loom models of the command-channel protocol (two threads: control = the model's
//! main thread, audio = a spawned thread).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release -p aether-command --test loom_command`
//!
//! In a loom build each ring is a loom-visible fixed-capacity queue with ringbuf's
//! semantics; the connection flags and reference counts are loom's. See the crate
//! documentation for what is modelled and what is trusted to ringbuf.
#![cfg(loom)]

use std::cell::Cell;

use aether_command::{ChannelConfig, SendError};
use loom::thread;

loom::thread_local! {
    /// True while the model's audio thread is running its real-time part.
    static ON_AUDIO_THREAD: Cell<bool> = Cell::new(false);
    /// Items dropped on the thread that reads this counter.
    static DROPS_ON_THIS_THREAD: Cell<usize> = Cell::new(0);
}

/// A command/receipt that must never be dropped on the audio thread.
#[derive(Debug)]
struct Tracked(u32);

impl Drop for Tracked {
    fn drop(&mut self) {
        assert!(
            !ON_AUDIO_THREAD.with(Cell::get),
            "item {} was dropped on the audio thread",
            self.0
        );
        DROPS_ON_THIS_THREAD.with(|drops| drops.set(drops.get() + 1));
    }
}

fn drops_on_this_thread() -> usize {
    DROPS_ON_THIS_THREAD.with(Cell::get)
}

/// Sends `command`, collecting receipts into `receipts` while the channel is full.
/// Asserts every refusal hands back the very command that was offered.
fn send_retrying<C: PartialEq + core::fmt::Debug + Clone, R>(
    control: &mut aether_command::ControlEnd<C, R>,
    command: C,
    mut on_receipt: impl FnMut(R),
) -> usize {
    let mut refusals = 0;
    let mut offered = command;
    loop {
        let expected = offered.clone();
        match control.try_send(offered) {
            Ok(()) => return refusals,
            Err(SendError::Full(back)) => {
                assert_eq!(back, expected, "a refused command must come back intact");
                offered = back;
                refusals += 1;
                control.collect(&mut on_receipt);
                thread::yield_now();
            }
            Err(SendError::Disconnected(_)) => panic!("the audio end is still alive"),
        }
    }
}

/// (1) Send, bounded drain (1 per tick), retire, collect: every command applied
/// exactly once and in order, every receipt collected exactly once and in order.
#[test]
fn every_command_applied_once_in_order_and_every_receipt_collected_once() {
    loom::model(|| {
        const COMMANDS: u32 = 3;
        let (mut control, mut audio) = ChannelConfig::new(2)
            .with_max_commands_per_tick(1)
            .build::<u32, u32>()
            .expect("valid config");

        let audio_thread = thread::spawn(move || {
            let mut applied = Vec::new();
            while applied.len() < COMMANDS as usize {
                let count = audio.drain_tick(|command| {
                    applied.push(command);
                    command + 100
                });
                assert!(count <= 1, "drain_tick exceeded its limit");
                if count == 0 {
                    thread::yield_now();
                }
            }
            (applied, audio.return_stalls())
        });

        let mut receipts = Vec::new();
        for command in 0..COMMANDS {
            send_retrying(&mut control, command, |receipt| receipts.push(receipt));
        }
        let (applied, return_stalls) = audio_thread.join().expect("audio thread");
        control.collect(|receipt| receipts.push(receipt));

        assert_eq!(applied, [0, 1, 2]);
        assert_eq!(receipts, [100, 101, 102]);
        assert_eq!(control.in_flight(), 0);
        assert_eq!(return_stalls, 0);
    });
}

/// (2) The capacity bound, at capacity 1 and 2: the control side sends as fast as it
/// is allowed, the audio side drains everything it sees. The return ring never lacks
/// room (no stall), and refusals hand the command back.
#[test]
fn return_ring_never_lacks_room_when_sending_as_fast_as_allowed() {
    for capacity in [1_usize, 2] {
        loom::model(move || {
            const COMMANDS: u32 = 3;
            let (mut control, mut audio) =
                aether_command::channel::<u32, u32>(capacity).expect("valid capacity");

            let audio_thread = thread::spawn(move || {
                let mut applied = 0;
                while applied < COMMANDS {
                    let count = audio.drain(usize::MAX, |command| command);
                    if count == 0 {
                        thread::yield_now();
                    }
                    applied += u32::try_from(count).expect("tiny count");
                }
                audio.return_stalls()
            });

            let mut collected = 0;
            for command in 0..COMMANDS {
                send_retrying(&mut control, command, |_| collected += 1);
                assert!(control.in_flight() <= capacity);
            }
            let return_stalls = audio_thread.join().expect("audio thread");
            collected += control.collect_all();

            assert_eq!(return_stalls, 0, "the return ring lacked room");
            assert_eq!(collected, COMMANDS as usize);
            assert_eq!(control.in_flight(), 0);
        });
    }
}

/// (3a) The control end is sent one more command, collects and is dropped while the
/// audio side drains. The audio side drops nothing while it runs; its owner drops
/// the leftover receipts with the audio end, on the model's main thread.
#[test]
fn control_end_dropped_while_audio_drains_drops_nothing_on_the_audio_thread() {
    loom::model(|| {
        let (mut control, mut audio) =
            aether_command::channel::<Tracked, Tracked>(2).expect("valid capacity");
        control
            .try_send(Tracked(0))
            .map_err(SendError::into_inner)
            .expect("free slot");

        let audio_thread = thread::spawn(move || {
            ON_AUDIO_THREAD.with(|flag| flag.set(true));
            let mut applied = 0;
            loop {
                let control_gone = !audio.is_control_connected();
                applied += audio.drain(1, |command| command);
                if control_gone && audio.pending() == 0 {
                    break;
                }
                thread::yield_now();
            }
            ON_AUDIO_THREAD.with(|flag| flag.set(false));
            (audio, applied)
        });

        control
            .try_send(Tracked(1))
            .map_err(SendError::into_inner)
            .expect("second free slot");
        let collected = control.collect_all();
        drop(control);

        let (audio, applied) = audio_thread.join().expect("audio thread");
        assert_eq!(applied, 2);
        assert_eq!(audio.return_stalls(), 0);
        assert!(!audio.is_control_connected());
        assert_eq!(drops_on_this_thread(), collected);
        drop(audio);
        assert_eq!(drops_on_this_thread(), 2, "every item dropped exactly once");
    });
}

/// (3b) The audio end drains and is dropped on the audio thread while the control
/// end sends and collects. Nothing is dropped on the audio thread; the control end
/// gets refused commands back, collects what was returned and drops what was never
/// drained.
#[test]
fn audio_end_dropped_while_control_sends_drops_nothing_on_the_audio_thread() {
    loom::model(|| {
        let (mut control, mut audio) =
            aether_command::channel::<Tracked, Tracked>(2).expect("valid capacity");

        let audio_thread = thread::spawn(move || {
            ON_AUDIO_THREAD.with(|flag| flag.set(true));
            let applied = audio.drain(usize::MAX, |command| command);
            drop(audio);
            ON_AUDIO_THREAD.with(|flag| flag.set(false));
            applied
        });

        let mut sent = 0;
        for id in 0..2 {
            match control.try_send(Tracked(id)) {
                Ok(()) => sent += 1,
                Err(error) => {
                    assert!(error.is_disconnected(), "two slots cannot be full");
                    drop(error.into_inner());
                }
            }
        }
        control.collect_all();
        let applied = audio_thread.join().expect("audio thread");

        assert!(!control.is_audio_connected());
        let late = control
            .try_send(Tracked(2))
            .expect_err("the audio end is gone");
        assert!(late.is_disconnected());
        drop(late.into_inner());
        control.collect_all();
        assert_eq!(
            control.in_flight(),
            sent - applied,
            "undrained commands stay counted"
        );
        drop(control);
        assert_eq!(drops_on_this_thread(), 3, "every item dropped exactly once");
    });
}
