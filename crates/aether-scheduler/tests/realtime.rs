//! `ParallelConfig::realtime_priority` reaches the engine's workers, and the audio half reports
//! how many got it (all of them, or none with the reason, in a process without the privilege).
#![cfg(feature = "parallel")]

use std::io::ErrorKind;

use aether_scheduler::{EngineConfig, ParallelConfig, engine};

fn engine_config(workers: usize, realtime_priority: Option<u8>) -> EngineConfig {
    EngineConfig {
        node_capacity: 64,
        parallel: ParallelConfig {
            spin_iterations: 100,
            realtime_priority,
            ..ParallelConfig::with_workers(workers)
        },
        ..EngineConfig::default()
    }
}

#[test]
fn workers_get_the_configured_realtime_priority_or_say_why_not() {
    let (_control, audio) = engine(48_000.0, engine_config(2, Some(10))).unwrap();
    match audio.realtime_error() {
        None => assert_eq!(audio.realtime_workers(), 2),
        Some(error) if cfg!(unix) => {
            assert_eq!(audio.realtime_workers(), 0);
            assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
        }
        Some(error) => assert_eq!(error.kind(), ErrorKind::Unsupported, "{error}"),
    }
}

#[test]
fn realtime_priority_is_off_by_default() {
    assert_eq!(ParallelConfig::default().realtime_priority, None);
    assert_eq!(ParallelConfig::with_workers(1).realtime_priority, None);
    let (_control, audio) = engine(48_000.0, engine_config(1, None)).unwrap();
    assert_eq!(audio.realtime_workers(), 0);
    assert_eq!(audio.realtime_error(), None);
    let (_control, audio) = engine(48_000.0, engine_config(0, Some(10))).unwrap();
    assert_eq!(
        audio.realtime_workers(),
        0,
        "no workers, nothing to promote"
    );
    assert_eq!(audio.realtime_error(), None);
}
