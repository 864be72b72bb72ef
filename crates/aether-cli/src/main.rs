//! `aether`: render AetherDSP patches offline, list them, and draw them.
//!
//! ```text
//! aether render [PATCH] [-o out.wav] [--seconds S] [--sample-rate R] [--format int16|int24|float32]
//! aether render --stress N
//! aether info PATCH
//! aether dot PATCH
//! ```
//!
//! Rendering goes through `AudioProcessor::process_block`, the call a real-time callback makes,
//! with a forbidding allocator around it: the report's allocation count is measured, not assumed.

use std::path::PathBuf;
use std::process::ExitCode;

use assert_no_alloc::AllocDisabler;
use clap::{Parser, Subcommand};

mod error;
mod inspect;
mod patch;
mod render;

use error::CliError;
use render::{RenderOptions, SampleFormat};

/// Counts every allocation and free made inside `assert_no_alloc(..)` (the audio path).
#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

#[derive(Parser)]
#[command(
    name = "aether",
    version,
    about = "Render, inspect and draw AetherDSP patches"
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
        /// Output WAV file.
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
    },
    /// Validate a patch and list its nodes, parameters and edges.
    Info {
        /// Patch file (JSON or binary).
        patch: PathBuf,
    },
    /// Print a patch as a Graphviz DOT diagram (`aether dot p.json | dot -Tpng > p.png`).
    Dot {
        /// Patch file (JSON or binary).
        patch: PathBuf,
    },
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
            };
            let report = render::render(&loaded, &options)?;
            println!("wrote {}", output.display());
            println!("{report}");
            if report.allocations > 0 {
                return Err(CliError::new(
                    "real-time check",
                    format!(
                        "{} allocations or frees on the audio path (must be 0)",
                        report.allocations
                    ),
                ));
            }
            if report.non_finite > 0 {
                return Err(CliError::new(
                    "output guard",
                    format!(
                        "{} non-finite samples were replaced by silence",
                        report.non_finite
                    ),
                ));
            }
            Ok(())
        }
        Command::Info { patch } => {
            print!("{}", inspect::info(&patch::load_file(&patch)?)?);
            Ok(())
        }
        Command::Dot { patch } => {
            print!("{}", inspect::dot(&patch::load_file(&patch)?)?);
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
