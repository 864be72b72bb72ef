//! Both endpoint drop orders on real threads, with an item type that records which
//! thread drops it: nothing may ever be dropped on the audio thread.
#![cfg(not(loom))]

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use aether_command::channel;

thread_local! {
    /// Set by the thread playing the audio thread while it holds its end.
    static ON_AUDIO_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Per-test drop counts, split by the thread that dropped.
#[derive(Default)]
struct DropLog {
    on_audio_thread: AtomicUsize,
    elsewhere: AtomicUsize,
}

/// A command or receipt that logs its drop.
struct Tracked {
    id: usize,
    log: Arc<DropLog>,
}

impl Tracked {
    fn new(id: usize, log: &Arc<DropLog>) -> Self {
        Self {
            id,
            log: Arc::clone(log),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let counter = if ON_AUDIO_THREAD.with(Cell::get) {
            &self.log.on_audio_thread
        } else {
            &self.log.elsewhere
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}

fn audio_thread_scope<T>(body: impl FnOnce() -> T) -> T {
    ON_AUDIO_THREAD.with(|flag| flag.set(true));
    let result = body();
    ON_AUDIO_THREAD.with(|flag| flag.set(false));
    result
}

/// The audio end is dropped on the audio thread while the control end lives, with
/// commands still queued and receipts not yet collected.
#[test]
fn audio_end_dropped_first_drops_nothing_on_the_audio_thread() {
    let log = Arc::new(DropLog::default());
    let (mut control, mut audio) = channel::<Tracked, Tracked>(8).expect("valid capacity");
    for id in 0..6 {
        control
            .try_send(Tracked::new(id, &log))
            .map_err(|error| error.into_inner().id)
            .expect("free slot");
    }

    let applied = thread::spawn(move || {
        audio_thread_scope(move || {
            let applied = audio.drain(4, |command| command);
            drop(audio);
            applied
        })
    })
    .join()
    .expect("audio thread finished");
    assert_eq!(applied, 4);
    assert_eq!(log.on_audio_thread.load(Ordering::SeqCst), 0);
    assert_eq!(
        log.elsewhere.load(Ordering::SeqCst),
        0,
        "nothing dropped yet"
    );
    assert!(!control.is_audio_connected());

    // The four receipts come back and are dropped here.
    let mut receipt_ids = Vec::new();
    assert_eq!(control.collect(|receipt| receipt_ids.push(receipt.id)), 4);
    assert_eq!(receipt_ids, [0, 1, 2, 3]);
    assert_eq!(log.elsewhere.load(Ordering::SeqCst), 4);

    // The two commands never drained are dropped with the control end.
    drop(control);
    assert_eq!(log.elsewhere.load(Ordering::SeqCst), 6);
    assert_eq!(log.on_audio_thread.load(Ordering::SeqCst), 0);
}

/// The control end is dropped while the audio thread keeps draining: receipts
/// accumulate, and are dropped only when the audio end is dropped, off the audio
/// thread, after it stopped.
#[test]
fn control_end_dropped_first_leaves_receipts_for_the_audio_end_owner() {
    const CAPACITY: usize = 8;
    let log = Arc::new(DropLog::default());
    let (mut control, mut audio) = channel::<Tracked, Tracked>(CAPACITY).expect("valid capacity");

    let audio_thread = thread::spawn(move || {
        audio_thread_scope(move || {
            let mut applied = Vec::new();
            // Runs until the control end is gone and the queue is empty; each pass
            // applies at most 2 commands, like a block with a small per-tick limit.
            loop {
                let control_gone = !audio.is_control_connected();
                audio.drain(2, |command| {
                    applied.push(command.id);
                    command
                });
                if control_gone && audio.pending() == 0 {
                    break;
                }
                thread::yield_now();
            }
            (audio, applied)
        })
    });

    for id in 0..CAPACITY {
        control
            .try_send(Tracked::new(id, &log))
            .map_err(|error| error.into_inner().id)
            .expect("capacity is never exceeded: nothing is collected");
    }
    drop(control);

    let (audio, applied) = audio_thread.join().expect("audio thread finished");
    assert_eq!(applied, (0..CAPACITY).collect::<Vec<_>>());
    assert_eq!(audio.return_stalls(), 0);
    assert!(!audio.is_control_connected());
    assert_eq!(log.on_audio_thread.load(Ordering::SeqCst), 0);
    assert_eq!(log.elsewhere.load(Ordering::SeqCst), 0);

    // Stream stopped: the owner drops the audio end here, which drops the receipts.
    drop(audio);
    assert_eq!(log.elsewhere.load(Ordering::SeqCst), CAPACITY);
    assert_eq!(log.on_audio_thread.load(Ordering::SeqCst), 0);
}

/// Items refused by a full channel come back whole and are dropped by the sender.
#[test]
fn refused_commands_are_returned_not_dropped() {
    let log = Arc::new(DropLog::default());
    let (mut control, audio) = channel::<Tracked, Tracked>(1).expect("valid capacity");
    control
        .try_send(Tracked::new(0, &log))
        .map_err(|error| error.into_inner().id)
        .expect("free slot");
    let refused = control
        .try_send(Tracked::new(1, &log))
        .expect_err("full")
        .into_inner();
    assert_eq!(refused.id, 1);
    assert_eq!(log.elsewhere.load(Ordering::SeqCst), 0);
    drop(refused);
    drop(audio);
    drop(control);
    assert_eq!(log.elsewhere.load(Ordering::SeqCst), 2);
}
