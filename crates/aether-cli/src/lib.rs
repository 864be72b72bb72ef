//! The library behind the `aether` command: patch loading, the live-edit console and the
//! real-time playback callback that `aether play` drives through cpal.
//!
//! # Real-time contract
//!
//! - [`callback::PlaybackCallback`] is the only part that runs on the audio thread. Its render
//!   methods never allocate, free, lock, block, print or panic: they call
//!   `AudioProcessor::process` inside `assert_no_alloc` (counting any allocation instead of
//!   assuming there is none), convert samples through a buffer sized when the callback is
//!   built, and publish the callback's busy time through a wait-free `StatsRecorder`.
//! - Everything else is control-thread code and allocates: [`patch`] (loading files),
//!   [`console::Session`] (parsing commands, editing and committing the graph, saving), and
//!   [`callback::PlaybackMonitor`] (lock-free reads of the callback's statistics).
//! - The audio device itself (cpal, behind the `play` feature) lives in the binary.
//!
//! # Examples
//!
//! A console session on the built-in demo patch, with the engine run by hand where a sound card
//! would run it:
//!
//! ```
//! use aether_cli::callback::PlaybackCallback;
//! use aether_cli::console::Session;
//! use aether_cli::patch::{demo, registry};
//! use aether_scheduler::{EngineConfig, engine};
//!
//! let patch = demo();
//! let (control, audio) = engine(48_000.0, EngineConfig::default()).unwrap();
//! let mut session = Session::load(control, registry(), &patch.snapshot).unwrap();
//! let (mut callback, monitor) = PlaybackCallback::new(audio, 2, 64).unwrap();
//! session.attach_monitor(monitor);
//!
//! let mut buffer = [0.0f32; 2 * 64];
//! callback.render_f32(&mut buffer); // the audio callback
//!
//! let answer = session.handle_line("set master gain 0.5 10").unwrap();
//! assert_eq!(answer.to_string(), "ok 24 \"master\" (Gain) gain = 0.5 over 10 ms");
//! let answer = session.handle_line("connect 24 23 0").unwrap();
//! assert!(answer.to_string().starts_with("error: connecting 24 \"master\" (Gain) -> 23 \"echo\""));
//!
//! callback.render_f32(&mut buffer);
//! let report = session.report().unwrap();
//! assert_eq!(report.callbacks.callbacks(), 2);
//! assert_eq!(report.allocations, 0);
//! ```

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![forbid(unsafe_code)]

pub mod callback;
pub mod console;
pub mod error;
pub mod output;
pub mod patch;
pub mod wav;
