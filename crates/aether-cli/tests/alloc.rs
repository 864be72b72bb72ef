//! The playback callback allocates and frees nothing: in steady state, for any host buffer
//! size and sample format, and while every kind of console edit is applied.
//!
//! One `#[test]` so nothing else runs on the counter concurrently.

use aether_cli::callback::PlaybackCallback;
use aether_cli::console::Session;
use aether_cli::patch::{demo, registry};
use aether_scheduler::{EngineConfig, engine};
use assert_no_alloc::{AllocDisabler, assert_no_alloc, violation_count};

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

/// Allocations and frees counted while `run` runs inside `assert_no_alloc`.
fn violations(run: impl FnOnce()) -> u32 {
    let before = violation_count();
    assert_no_alloc(run);
    violation_count().wrapping_sub(before)
}

#[test]
fn the_playback_callback_never_allocates() {
    // The harness detects an allocation.
    let caught = violations(|| {
        let buffer = Vec::<u8>::with_capacity(16);
        std::hint::black_box(&buffer);
    });
    assert!(caught > 0, "the counting allocator must see an allocation");

    // Set-up (allocates, outside the checks): the demo patch, a console, a stereo callback.
    let (control, audio) = engine(48_000.0, EngineConfig::default()).unwrap();
    let mut session = Session::load(control, registry(), &demo().snapshot).unwrap();
    let (mut callback, monitor) = PlaybackCallback::new(audio, 2, 64).unwrap();
    session.attach_monitor(monitor.clone());
    let mut stereo_64 = vec![0.0f32; 2 * 64];
    let mut stereo_37 = vec![0.0f32; 2 * 37];
    let mut stereo_1000 = vec![0.0f32; 2 * 1000];
    let mut odd_length = vec![0.0f32; 2 * 5 + 1];
    let mut int16 = vec![0i16; 2 * 64];
    let mut uint16 = vec![0u16; 2 * 5000]; // larger than the conversion buffer: chunked
    let mut int32 = vec![0i32; 2 * 100];
    let mut float64 = vec![0.0f64; 2 * 64];
    let mut uint8 = vec![0u8; 2 * 64];
    let mut callbacks = 0u64;

    // The first callback (the patch's commit is applied in it) and steady state.
    for _ in 0..200 {
        assert_eq!(violations(|| callback.render_f32(&mut stereo_64)), 0);
        callbacks += 1;
    }
    assert!(
        stereo_64.iter().any(|&sample| sample != 0.0),
        "the demo plays"
    );

    // Any buffer size, any sample format.
    let mut render_every_shape = |callback: &mut PlaybackCallback| {
        let mut counted = 0;
        counted += violations(|| callback.render_f32(&mut stereo_37));
        counted += violations(|| callback.render_f32(&mut stereo_1000));
        counted += violations(|| callback.render_f32(&mut odd_length));
        counted += violations(|| callback.render_f32(&mut []));
        counted += violations(|| callback.render(&mut int16));
        counted += violations(|| callback.render(&mut uint16));
        counted += violations(|| callback.render(&mut int32));
        counted += violations(|| callback.render(&mut float64));
        counted += violations(|| callback.render(&mut uint8));
        counted
    };
    assert_eq!(render_every_shape(&mut callback), 0);
    callbacks += 9;

    // Every kind of edit, each followed by callbacks that apply it.
    let edits = [
        "set master gain 0.5",
        "set master gain 0.25 50",
        "add Sine probe",
        "add Delay echo2",
        "connect probe echo2 0",
        "connect echo2 22 4",
        "set probe freq 220 10",
        "disconnect 22 4",
        "output probe",
        "output 24",
        "remove echo2",
        "remove probe",
        "set 22 gain0 0",
    ];
    for edit in edits {
        let answer = session.handle_line(edit).unwrap();
        assert!(answer.to_string().starts_with("ok"), "{edit}: {answer}");
        for _ in 0..4 {
            assert_eq!(
                violations(|| callback.render_f32(&mut stereo_64)),
                0,
                "while applying {edit:?}"
            );
            callbacks += 1;
        }
        assert_eq!(render_every_shape(&mut callback), 0, "after {edit:?}");
        callbacks += 9;
        session.tick(); // the control thread drops what came back
    }

    assert!(int16.iter().any(|&sample| sample != 0), "converted output");

    // The callback's own counter agrees, and every call was recorded.
    assert_eq!(monitor.allocations(), 0);
    assert_eq!(monitor.callback_stats().callbacks(), callbacks);
    let report = session.report().unwrap();
    assert_eq!(report.allocations, 0);
    assert!(report.engine.commands_applied >= edits.len() as u64);
    assert_eq!(report.engine.non_finite_samples, 0);
}
