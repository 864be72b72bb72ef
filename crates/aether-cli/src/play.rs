//! `aether play`: live playback through cpal (ALSA or JACK) with a console on stdin for edits.
//!
//! The audio callback is a [`PlaybackCallback`]: the engine call, timed and allocation-checked,
//! nothing else. This thread runs the console: it reads lines from a reader thread through a
//! channel, answers each command, and every 20 ms drops what the audio side handed back and
//! checks the stream's error reports and the `--seconds` limit.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use aether_cli::callback::{MAX_CONVERSION_FRAMES, PlaybackCallback, PlaybackReport};
use aether_cli::console::Session;
use aether_graph::MAX_NODES;
use aether_scheduler::{EngineConfig, engine};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{BufferSize, ErrorKind, SampleFormat, StreamConfig, SupportedBufferSize};

use crate::error::CliError;
use crate::patch::{LoadedPatch, registry};
use crate::{Backend, PlayArgs};

/// How often the control loop does its housekeeping while no command arrives.
const TICK: Duration = Duration::from_millis(20);
/// How long playback stays paused before the stream is dropped (several periods at any usual
/// buffer size), so the callback has left the engine.
const STOP_GRACE: Duration = Duration::from_millis(30);

/// Conversion buffer size when the host does not say how large its buffers get.
const UNKNOWN_MAX_FRAMES: usize = 4_096;

/// What a playback session ends with: the measurements and the host's xrun reports.
pub struct PlayOutcome {
    /// Callback timing, engine counters, allocations, console commands.
    pub report: PlaybackReport,
    /// Under- and overruns the host reported through cpal's error callback.
    pub host_xruns: u64,
}

/// Error reports from cpal's error callback, passed to the control thread.
///
/// The error callback is not the data callback, but a host may call it from its audio thread
/// (ALSA reports xruns there): xruns are therefore only counted (one relaxed atomic add); other
/// errors, which end or disturb the stream and are rare, are formatted and sent over a channel.
#[derive(Clone)]
struct ErrorSink {
    xruns: Arc<AtomicU64>,
    errors: Sender<(ErrorKind, String)>,
}

impl ErrorSink {
    fn report(&self, error: cpal::Error) {
        if error.kind() == ErrorKind::Xrun {
            self.xruns.fetch_add(1, Ordering::Relaxed);
        } else {
            let _ = self.errors.send((error.kind(), error.to_string()));
        }
    }
}

fn audio_error(context: &str, error: impl std::fmt::Display) -> CliError {
    CliError::new(context, error.to_string())
}

/// Opens the host `backend` names; for [`Backend::Auto`], JACK if a server answers, else ALSA.
fn open_host(backend: Backend) -> Result<(cpal::Host, &'static str), CliError> {
    let jack = || -> Result<cpal::Host, CliError> {
        let host =
            cpal::host_from_id(cpal::HostId::Jack).map_err(|error| audio_error("JACK", error))?;
        if host.default_output_device().is_none() {
            return Err(CliError::new(
                "JACK",
                "no JACK server answers (start one, e.g. `jackd -d alsa`; \
                 JACK_DEFAULT_SERVER selects a named server)",
            ));
        }
        Ok(host)
    };
    let alsa =
        || cpal::host_from_id(cpal::HostId::Alsa).map_err(|error| audio_error("ALSA", error));
    match backend {
        Backend::Jack => Ok((jack()?, "jack")),
        Backend::Alsa => Ok((alsa()?, "alsa")),
        Backend::Auto => match jack() {
            Ok(host) => Ok((host, "jack")),
            Err(_) => Ok((alsa()?, "alsa")),
        },
    }
}

fn device_name(device: &cpal::Device) -> String {
    device
        .description()
        .map(|description| description.name().to_string())
        .unwrap_or_else(|_| "(unnamed)".into())
}

fn device_id(device: &cpal::Device) -> String {
    device
        .id()
        .map(|id| id.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The output device called `name` (its name or its id), or the host's default.
fn find_device(host: &cpal::Host, name: Option<&str>) -> Result<cpal::Device, CliError> {
    let Some(name) = name else {
        return host
            .default_output_device()
            .ok_or_else(|| CliError::new("--device", "the host has no default output device"));
    };
    let devices: Vec<cpal::Device> = host
        .output_devices()
        .map_err(|error| audio_error("listing devices", error))?
        .collect();
    if let Some(device) = devices
        .iter()
        .find(|device| device_name(device) == name || device_id(device) == name)
    {
        return Ok(device.clone());
    }
    let known: Vec<String> = devices.iter().map(device_id).collect();
    Err(CliError::new(
        "--device",
        format!(
            "no output device {name:?} (available: {}; see --list-devices)",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ),
    ))
}

/// `aether play --list-devices`: every output device of the ALSA and JACK hosts.
pub fn list_devices(backend: Backend) -> Result<String, CliError> {
    let mut out = String::new();
    let hosts: &[(cpal::HostId, &str)] = match backend {
        Backend::Alsa => &[(cpal::HostId::Alsa, "alsa")],
        Backend::Jack => &[(cpal::HostId::Jack, "jack")],
        Backend::Auto => &[(cpal::HostId::Alsa, "alsa"), (cpal::HostId::Jack, "jack")],
    };
    for &(id, label) in hosts {
        out.push_str(label);
        out.push_str(":\n");
        let host = match cpal::host_from_id(id) {
            Ok(host) => host,
            Err(error) => {
                out.push_str(&format!("  unavailable: {error}\n"));
                continue;
            }
        };
        let default = host.default_output_device();
        let devices: Vec<cpal::Device> = match host.output_devices() {
            Ok(devices) => devices.collect(),
            Err(error) => {
                out.push_str(&format!("  cannot list devices: {error}\n"));
                continue;
            }
        };
        if devices.is_empty() {
            out.push_str(if id == cpal::HostId::Jack {
                "  no output devices (no JACK server answers)\n"
            } else {
                "  no output devices\n"
            });
        }
        for device in &devices {
            let config = device
                .default_output_config()
                .map(|config| {
                    format!(
                        "{} ch, {} Hz, {}",
                        config.channels(),
                        config.sample_rate(),
                        config.sample_format()
                    )
                })
                .unwrap_or_else(|error| format!("no default config: {error}"));
            let mark = if default.as_ref() == Some(device) {
                " [default]"
            } else {
                ""
            };
            out.push_str(&format!(
                "  {}{mark}\n      id {} ({config})\n",
                device_name(device),
                device_id(device)
            ));
        }
    }
    Ok(out)
}

/// Picks the stream format: the device's default, at `--sample-rate` if given (preferring the
/// default's channel count and sample format, then f32).
fn choose_config(
    device: &cpal::Device,
    sample_rate: Option<u32>,
) -> Result<cpal::SupportedStreamConfig, CliError> {
    let default = device
        .default_output_config()
        .map_err(|error| audio_error("output config", error))?;
    let Some(rate) = sample_rate.filter(|&rate| rate != default.sample_rate()) else {
        return Ok(default);
    };
    let ranges: Vec<cpal::SupportedStreamConfigRange> = device
        .supported_output_configs()
        .map_err(|error| audio_error("output configs", error))?
        .collect();
    let score = |range: &cpal::SupportedStreamConfigRange| {
        (
            range.channels() == default.channels(),
            range.sample_format() == default.sample_format(),
            range.sample_format() == SampleFormat::F32,
        )
    };
    let best = ranges
        .iter()
        .filter(|range| (range.min_sample_rate()..=range.max_sample_rate()).contains(&rate))
        .max_by_key(|range| score(range));
    match best {
        Some(range) => Ok(range.with_sample_rate(rate)),
        None => {
            let offered: Vec<String> = ranges
                .iter()
                .map(|range| format!("{}-{} Hz", range.min_sample_rate(), range.max_sample_rate()))
                .collect();
            Err(CliError::new(
                "--sample-rate",
                format!(
                    "the device does not play {rate} Hz (it offers {})",
                    offered.join(", ")
                ),
            ))
        }
    }
}

/// Builds the stream of `format`, moving `callback` into it.
fn build_stream(
    device: &cpal::Device,
    config: StreamConfig,
    format: SampleFormat,
    mut callback: PlaybackCallback,
    sink: ErrorSink,
) -> Result<cpal::Stream, cpal::Error> {
    let on_error = move |error: cpal::Error| sink.report(error);
    macro_rules! converted {
        ($sample:ty) => {
            device.build_output_stream(
                config,
                move |data: &mut [$sample], _: &cpal::OutputCallbackInfo| callback.render(data),
                on_error,
                None,
            )
        };
    }
    match format {
        SampleFormat::F32 => device.build_output_stream(
            config,
            move |data: &mut [f32], _: &cpal::OutputCallbackInfo| callback.render_f32(data),
            on_error,
            None,
        ),
        SampleFormat::F64 => converted!(f64),
        SampleFormat::I8 => converted!(i8),
        SampleFormat::I16 => converted!(i16),
        SampleFormat::I32 => converted!(i32),
        SampleFormat::I64 => converted!(i64),
        SampleFormat::U8 => converted!(u8),
        SampleFormat::U16 => converted!(u16),
        SampleFormat::U32 => converted!(u32),
        SampleFormat::U64 => converted!(u64),
        other => Err(cpal::Error::with_message(
            ErrorKind::UnsupportedConfig,
            format!(
                "sample format {other} is not supported (use a device offering f32, f64 or 8/16/32/64-bit integers)"
            ),
        )),
    }
}

/// Largest callback the conversion buffer should cover without chunking.
fn max_frames(buffer: BufferSize, supported: &SupportedBufferSize) -> usize {
    match (buffer, supported) {
        (BufferSize::Fixed(frames), _) => frames as usize,
        (BufferSize::Default, SupportedBufferSize::Range { max, .. }) => *max as usize,
        (BufferSize::Default, SupportedBufferSize::Unknown) => UNKNOWN_MAX_FRAMES,
    }
    .clamp(1, MAX_CONVERSION_FRAMES)
}

/// A stream that plays, and the console session editing its engine.
struct Playing {
    stream: cpal::Stream,
    session: Session,
    buffer: BufferSize,
}

/// Builds an engine holding `patch`, its console session and the stream, at `buffer`.
fn start(
    patch: &LoadedPatch,
    device: &cpal::Device,
    supported: &cpal::SupportedStreamConfig,
    buffer: BufferSize,
    sink: &ErrorSink,
    limits: aether_state::RestoreLimits,
) -> Result<Playing, CliError> {
    let config = StreamConfig {
        channels: supported.channels(),
        sample_rate: supported.sample_rate(),
        buffer_size: buffer,
    };
    let engine_config = EngineConfig {
        node_capacity: MAX_NODES.max(patch.snapshot.nodes.len() + 16),
        ..EngineConfig::default()
    };
    let (control, audio) = engine(config.sample_rate as f32, engine_config)
        .map_err(|error| CliError::new("engine", error))?;
    let mut session = Session::load_within(control, registry(), &patch.snapshot, limits)
        .map_err(|error| CliError::new(&patch.name, error))?;
    let (callback, monitor) = PlaybackCallback::new(
        audio,
        usize::from(config.channels),
        max_frames(buffer, supported.buffer_size()),
    )
    .map_err(|error| CliError::new("output stream", error))?;
    session.attach_monitor(monitor);
    let stream = build_stream(
        device,
        config,
        supported.sample_format(),
        callback,
        sink.clone(),
    )
    .map_err(|error| audio_error("output stream", error))?;
    Ok(Playing {
        stream,
        session,
        buffer,
    })
}

/// Reads stdin line by line on its own thread (a blocking read cannot be interrupted), so the
/// control loop stays responsive. The channel closes at end of input.
fn spawn_stdin_reader() -> Receiver<String> {
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match input.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&bytes).trim_end().to_string();
                    if lines.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    received
}

/// Plays `patch` until `quit`, end of input (without `--seconds`), the `--seconds` limit, or a
/// fatal stream error; returns the measurements.
pub fn play(patch: &LoadedPatch, args: &PlayArgs) -> Result<PlayOutcome, CliError> {
    let limits = crate::limits(args.state_budget)?;
    if let Some(seconds) = args.seconds
        && !(seconds.is_finite() && seconds > 0.0 && seconds <= 7.0 * 24.0 * 3600.0)
    {
        return Err(CliError::new(
            "--seconds",
            format!("{seconds} is not a duration between 0 and a week"),
        ));
    }
    if !(1..=8_192).contains(&args.buffer) {
        return Err(CliError::new(
            "--buffer",
            format!("{} frames: choose 1 to 8192", args.buffer),
        ));
    }
    let (host, backend) = open_host(args.backend)?;
    let device = find_device(&host, args.device.as_deref())?;
    let supported = choose_config(&device, args.sample_rate)?;

    let xruns = Arc::new(AtomicU64::new(0));
    let (errors, stream_errors) = mpsc::channel();
    let sink = ErrorSink {
        xruns: Arc::clone(&xruns),
        errors,
    };
    let requested = BufferSize::Fixed(args.buffer);
    let refused = match supported.buffer_size() {
        SupportedBufferSize::Range { min, max } if !(*min..=*max).contains(&args.buffer) => {
            Some(format!("the device takes {min} to {max} frames"))
        }
        _ => None,
    };
    let playing = match refused {
        Some(reason) => {
            eprintln!(
                "buffer of {} frames refused ({reason}); using the device's default",
                args.buffer
            );
            start(
                patch,
                &device,
                &supported,
                BufferSize::Default,
                &sink,
                limits,
            )?
        }
        None => match start(patch, &device, &supported, requested, &sink, limits) {
            Ok(playing) => playing,
            Err(error) => {
                eprintln!(
                    "could not open the stream with a {}-frame buffer ({error}); \
                     retrying with the device's default buffer",
                    args.buffer
                );
                start(
                    patch,
                    &device,
                    &supported,
                    BufferSize::Default,
                    &sink,
                    limits,
                )?
            }
        },
    };
    let Playing {
        stream,
        mut session,
        buffer,
    } = playing;
    stream
        .play()
        .map_err(|error| audio_error("starting the stream", error))?;

    let actual_buffer = stream
        .buffer_size()
        .map(|frames| format!("{frames} frames"))
        .unwrap_or_else(|_| "unknown".into());
    let requested_note = match buffer {
        BufferSize::Fixed(_) => String::new(),
        BufferSize::Default => format!(", {} requested", args.buffer),
    };
    eprintln!(
        "playing {} through {backend} device {:?}: {} ch, {} Hz, {}, buffer {actual_buffer}{requested_note}; \
         `help` lists the commands",
        patch.name,
        device_name(&device),
        supported.channels(),
        supported.sample_rate(),
        supported.sample_format(),
    );

    let failure = control_loop(&mut session, args.seconds, &stream_errors);
    // Stop the callback before reading the final numbers; the engine is dropped with the
    // stream, here on the control thread. Pause first and let a few periods pass: cpal then only
    // writes silence in its callback, so when the JACK backend deactivates its client (libjack
    // cancels the process thread asynchronously, and a cancellation inside Rust code aborts
    // the program) the thread is almost never inside the engine.
    if stream.pause().is_ok() {
        std::thread::sleep(STOP_GRACE);
    }
    drop(stream);
    session.tick();
    let report = session
        .report()
        .ok_or_else(|| CliError::new("playback", "no statistics were attached"))?;
    if let Some(message) = failure {
        eprintln!("{message}");
    }
    Ok(PlayOutcome {
        report,
        host_xruns: xruns.load(Ordering::Relaxed),
    })
}

/// Runs the console until it is told to stop. Returns a message if the stream failed.
fn control_loop(
    session: &mut Session,
    seconds: Option<f64>,
    stream_errors: &Receiver<(ErrorKind, String)>,
) -> Option<String> {
    let started = Instant::now();
    let limit = seconds.map(Duration::from_secs_f64);
    let interactive = std::io::stdin().is_terminal();
    let lines = spawn_stdin_reader();
    let mut input_open = true;
    let prompt = || {
        if interactive {
            eprint!("> ");
            let _ = std::io::stderr().flush();
        }
    };
    prompt();
    loop {
        let elapsed = started.elapsed();
        if limit.is_some_and(|limit| elapsed >= limit) {
            return None;
        }
        let wait = limit.map_or(TICK, |limit| TICK.min(limit.saturating_sub(elapsed)));
        if input_open {
            match lines.recv_timeout(wait) {
                Ok(line) => {
                    if let Some(response) = session.handle_line(&line) {
                        let mut stdout = std::io::stdout().lock();
                        let _ = writeln!(stdout, "{response}");
                        let _ = stdout.flush();
                        if response.quit() {
                            return None;
                        }
                    }
                    prompt();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // End of input ends the session, unless a play time was given.
                    if limit.is_none() {
                        break None;
                    }
                    input_open = false;
                }
            }
        } else {
            std::thread::sleep(wait);
        }
        session.tick();
        while let Ok((kind, message)) = stream_errors.try_recv() {
            match kind {
                ErrorKind::StreamInvalidated | ErrorKind::DeviceNotAvailable => {
                    return Some(format!("the audio stream ended: {message}"));
                }
                _ => eprintln!("audio stream: {message}"),
            }
        }
    }
}
