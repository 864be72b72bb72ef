//! `aether`: render AetherDSP patches offline, play them live with a console for edits, list
//! them, and draw them.
//!
//! ```text
//! aether render [PATCH] [-o out.wav] [--seconds S] [--sample-rate R] [--format int16|int24|float32]
//! aether render --stress N
//! aether play [PATCH] [--backend auto|alsa|jack] [--device NAME] [--buffer 64] [--seconds S]
//!             [--sample-rate R]          (feature `play`)
//! aether play --list-devices
//! aether info PATCH
//! aether dot PATCH
//! ```
//!
//! Rendering goes through `AudioProcessor::process_block`, the call a real-time callback makes,
//! with a forbidding allocator around it: the report's allocation count is measured, not assumed.

use std::path::PathBuf;
use std::process::ExitCode;

use assert_no_alloc::AllocDisabler;
use clap::{Args, Parser, Subcommand, ValueEnum};

mod inspect;
#[cfg(feature = "play")]
mod play;
mod render;

use aether_cli::{error, patch};
use error::CliError;
use render::{RenderOptions, SampleFormat};

/// Counts every allocation and free made inside `assert_no_alloc(..)` (the audio path).
#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[derive(Parser)]
#[command(
    name = "aether",
    version,
    about = "Render, play, inspect and draw AetherDSP patches"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a patch (or the built-in demo) to a WAV file through the real-time audio path.
    Render {
        /// Patch file (JSON or binary). Without it, the built-in demo patch.
        patch: Option<PathBuf>,
        /// Output WAV file; `-` writes it to standard output. A symbolic link is followed, a
        /// FIFO or character device is written as a stream, a regular file is replaced only
        /// when the render succeeds.
        #[arg(short, long, default_value = "out.wav")]
        output: PathBuf,
        /// Seconds of audio to render.
        #[arg(long, default_value_t = 8.0)]
        seconds: f32,
        /// Sample rate in Hz (default: the patch's).
        #[arg(long)]
        sample_rate: Option<f32>,
        /// WAV sample format.
        #[arg(long, value_enum, default_value_t = SampleFormat::Int16)]
        format: SampleFormat,
        /// Render a generated patch of about N nodes instead (load test).
        #[arg(long, value_name = "N", conflicts_with = "patch")]
        stress: Option<usize>,
        /// Don't draw a progress bar.
        #[arg(long)]
        quiet: bool,
        /// Most memory the patch's node state (delay lines) may take, in MiB; checked before
        /// any node is built.
        #[arg(long, value_name = "MIB", default_value_t = DEFAULT_STATE_BUDGET_MIB)]
        state_budget: u64,
    },
    /// Play a patch live (ALSA or JACK) and edit it from a console on stdin.
    ///
    /// Every console command answers with one status line starting with `ok` or `error:`
    /// (`help` lists the commands). End of input stops playback, unless --seconds is given.
    /// Needs a build with `--features play`.
    Play(PlayArgs),
    /// Validate a patch and list its nodes, parameters and edges.
    Info {
        /// Patch file (JSON or binary).
        patch: PathBuf,
        /// Most memory the patch's node state (delay lines) may take, in MiB; checked before
        /// any node is built.
        #[arg(long, value_name = "MIB", default_value_t = DEFAULT_STATE_BUDGET_MIB)]
        state_budget: u64,
    },
    /// Print a patch as a Graphviz DOT diagram (`aether dot p.json | dot -Tpng > p.png`).
    Dot {
        /// Patch file (JSON or binary).
        patch: PathBuf,
        /// Most memory the patch's node state (delay lines) may take, in MiB; checked before
        /// any node is built.
        #[arg(long, value_name = "MIB", default_value_t = DEFAULT_STATE_BUDGET_MIB)]
        state_budget: u64,
    },
}

/// Audio backends of `aether play`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// JACK if a JACK server answers, else ALSA.
    Auto,
    /// ALSA (the sound card directly, or ALSA's `default` plugin).
    Alsa,
    /// A running JACK server (`JACK_DEFAULT_SERVER` selects a named one).
    Jack,
}

/// Arguments of `aether play`.
#[derive(Debug, Clone, Args)]
#[cfg_attr(not(feature = "play"), allow(dead_code))]
pub struct PlayArgs {
    /// Patch file (JSON or binary). Without it, the built-in demo patch.
    patch: Option<PathBuf>,
    /// Audio backend.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// Output device, by name or id (see --list-devices). Default: the backend's default.
    #[arg(long)]
    device: Option<String>,
    /// Buffer size to request, in frames; the device's default is used if it is refused.
    #[arg(long, default_value_t = 64)]
    buffer: u32,
    /// Stop after this many seconds (end of input then no longer stops playback).
    #[arg(long)]
    seconds: Option<f64>,
    /// Sample rate to request in Hz (JACK always runs at the server's rate).
    #[arg(long)]
    sample_rate: Option<u32>,
    /// List the output devices of the backend (or of ALSA and JACK) and exit.
    #[arg(long)]
    list_devices: bool,
    /// Most memory the patch's node state (delay lines) may take, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_STATE_BUDGET_MIB)]
    state_budget: u64,
}

/// The default `--state-budget`: [`aether_state::DEFAULT_STATE_BUDGET`] in MiB.
const DEFAULT_STATE_BUDGET_MIB: u64 = (aether_state::DEFAULT_STATE_BUDGET >> 20) as u64;

/// The restore limits for `--state-budget MIB`.
fn limits(state_budget_mib: u64) -> Result<aether_state::RestoreLimits, CliError> {
    let bytes = state_budget_mib
        .checked_mul(1 << 20)
        .and_then(|bytes| usize::try_from(bytes).ok())
        .ok_or_else(|| {
            CliError::new(
                "--state-budget",
                format!("{state_budget_mib} MiB is more than this machine can address"),
            )
        })?;
    Ok(aether_state::RestoreLimits {
        state_budget: bytes,
    })
}

#[cfg(feature = "play")]
fn run_play(args: &PlayArgs) -> Result<(), CliError> {
    if args.list_devices {
        print!("{}", play::list_devices(args.backend)?);
        return Ok(());
    }
    let loaded = match &args.patch {
        Some(path) => patch::load_file(path)?,
        None => patch::demo(),
    };
    let outcome = play::play(&loaded, args)?;
    println!("playback report: {}", loaded.name);
    println!("{}", outcome.report);
    println!("host xruns:       {}", outcome.host_xruns);
    if outcome.report.allocations > 0 {
        return Err(CliError::new(
            "real-time check",
            format!(
                "{} allocations or frees in the audio callback (must be 0)",
                outcome.report.allocations
            ),
        ));
    }
    Ok(())
}

#[cfg(not(feature = "play"))]
fn run_play(_: &PlayArgs) -> Result<(), CliError> {
    Err(CliError::new(
        "play",
        "this build has no audio output: rebuild with `cargo build -p aether-cli --features play` \
         (needs the system packages libasound2-dev and libjack-jackd2-dev)",
    ))
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Render {
            patch,
            output,
            seconds,
            sample_rate,
            format,
            stress,
            quiet,
            state_budget,
        } => {
            let loaded = match (patch, stress) {
                (_, Some(nodes)) => {
                    if nodes == 0 || nodes > 1_000_000 {
                        return Err(CliError::new(
                            "--stress",
                            format!("{nodes} nodes: choose 1 to 1000000"),
                        ));
                    }
                    patch::stress(nodes, sample_rate.unwrap_or(48_000.0))
                }
                (Some(path), None) => patch::load_file(&path)?,
                (None, None) => patch::demo(),
            };
            let options = RenderOptions {
                seconds,
                sample_rate,
                output: output.clone(),
                format,
                progress: !quiet,
                limits: limits(state_budget)?,
            };
            let rendered = render::render(&loaded, &options)?;
            // With `-o -` the WAV goes to standard output, so the report goes to stderr.
            let to_stdout = output.as_os_str() != "-";
            let say = |text: &str| {
                if to_stdout {
                    println!("{text}");
                } else {
                    eprintln!("{text}");
                }
            };
            let report = &rendered.report;
            let refusal = if report.allocations > 0 {
                Some(CliError::new(
                    "real-time check",
                    format!(
                        "{} allocations or frees on the audio path (must be 0); no output written",
                        report.allocations
                    ),
                ))
            } else if report.non_finite > 0 {
                Some(CliError::new(
                    "output guard",
                    format!(
                        "{} non-finite samples were replaced by silence; no output written",
                        report.non_finite
                    ),
                ))
            } else {
                None
            };
            if let Some(refusal) = refusal {
                // Dropping `rendered` removes the temporary file; an existing output stays.
                say(&report.to_string());
                return Err(refusal);
            }
            let report = rendered.keep()?;
            say(&format!("wrote {}", output.display()));
            say(&report.to_string());
            Ok(())
        }
        Command::Play(args) => run_play(&args),
        Command::Info {
            patch,
            state_budget,
        } => {
            let limits = limits(state_budget)?;
            print!("{}", inspect::info(&patch::load_file(&patch)?, limits)?);
            Ok(())
        }
        Command::Dot {
            patch,
            state_budget,
        } => {
            let limits = limits(state_budget)?;
            print!("{}", inspect::dot(&patch::load_file(&patch)?, limits)?);
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
