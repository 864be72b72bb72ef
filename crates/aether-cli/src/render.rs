//! `aether render`: offline rendering through the real-time engine's audio path.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aether_graph::{BUFFER_SIZE, MAX_NODES};
use aether_scheduler::{EngineConfig, engine};
use assert_no_alloc::{assert_no_alloc, violation_count};

use aether_cli::error::CliError;
use aether_cli::output::OutputFile;
use aether_cli::patch::{LoadedPatch, registry};
pub use aether_cli::wav::SampleFormat;
use aether_cli::wav::{SampleWriter, WavLayout};

/// The longest render `--seconds` accepts: 24 hours.
const MAX_SECONDS: f32 = 24.0 * 3600.0;

/// What to render and where.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Seconds of audio.
    pub seconds: f32,
    /// Sample rate; the patch's own when `None`.
    pub sample_rate: Option<f32>,
    /// Output file.
    pub output: PathBuf,
    /// WAV sample format.
    pub format: SampleFormat,
    /// Show a progress bar (only drawn on a terminal).
    pub progress: bool,
    /// What restoring the patch may cost (the node-state budget).
    pub limits: aether_state::RestoreLimits,
}

/// Measurements of one render.
#[derive(Debug, Clone)]
pub struct RenderReport {
    /// The patch's name.
    pub patch: String,
    /// Nodes in the patch.
    pub nodes: usize,
    /// Nodes the output depends on (the ones that run).
    pub scheduled: usize,
    /// Sample rate rendered at.
    pub sample_rate: f32,
    /// Blocks rendered.
    pub blocks: usize,
    /// Samples written.
    pub samples: usize,
    /// Wall time spent in the audio path.
    pub processing: Duration,
    /// Per-block times: median, 99th percentile, maximum.
    pub median: Duration,
    /// 99th percentile block time.
    pub p99: Duration,
    /// Slowest block.
    pub max: Duration,
    /// Blocks slower than the real-time deadline of one block.
    pub deadline_misses: usize,
    /// Allocations and frees counted on the render thread inside the audio path.
    pub allocations: u64,
    /// Non-finite samples replaced by the output guard.
    pub non_finite: u64,
    /// Samples clipped to [-1, 1] when writing integer formats.
    pub clipped: u64,
    /// Peak absolute sample value.
    pub peak: f32,
}

impl RenderReport {
    /// The block deadline: one block's duration at the sample rate.
    pub fn deadline(&self) -> Duration {
        Duration::from_secs_f64(BUFFER_SIZE as f64 / self.sample_rate as f64)
    }

    /// Audio seconds rendered per wall-clock second.
    pub fn speed(&self) -> f64 {
        let audio = self.samples as f64 / self.sample_rate as f64;
        audio / self.processing.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for RenderReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let deadline = us(self.deadline());
        writeln!(f, "patch:            {}", self.patch)?;
        writeln!(
            f,
            "nodes:            {} ({} reach the output)",
            self.nodes, self.scheduled
        )?;
        writeln!(
            f,
            "blocks:           {} x {} samples at {} Hz ({:.2} s)",
            self.blocks,
            BUFFER_SIZE,
            self.sample_rate,
            self.samples as f64 / self.sample_rate as f64
        )?;
        writeln!(f, "render speed:     {:.1}x real time", self.speed())?;
        writeln!(
            f,
            "block time:       median {:.1} us, p99 {:.1} us, max {:.1} us (deadline {:.1} us; max = {:.1}% of it)",
            us(self.median),
            us(self.p99),
            us(self.max),
            deadline,
            100.0 * us(self.max) / deadline
        )?;
        writeln!(f, "deadline misses:  {}", self.deadline_misses)?;
        writeln!(
            f,
            "allocations:      {} (on the render thread, inside the audio path)",
            self.allocations
        )?;
        writeln!(f, "non-finite:       {}", self.non_finite)?;
        let peak_db = 20.0 * self.peak.max(1e-10).log10();
        write!(
            f,
            "peak:             {:.1} dBFS ({} samples clipped)",
            peak_db, self.clipped
        )
    }
}

/// A finished render whose output is not in place yet: [`Rendered::keep`] finishes the file
/// (renames it over the target); dropping it instead leaves no trace of the run.
pub struct Rendered {
    /// The measurements.
    pub report: RenderReport,
    output: OutputFile,
}

impl Rendered {
    /// Puts the output in place (see [`OutputFile::finish`]).
    pub fn keep(self) -> Result<RenderReport, CliError> {
        self.output.finish()?;
        Ok(self.report)
    }
}

/// Renders `patch` as a WAV file, through the same `AudioProcessor::process_block` a real-time
/// callback uses, streaming each block to the output as it is rendered: memory stays flat
/// whatever `--seconds` is, and the report's statistics (block times, peak, clipping,
/// non-finite samples) are gathered on the way. Everything that can be refused (the duration,
/// the sample rate, the patch, a length beyond WAV's 4 GiB) is refused before the output is
/// opened. The output goes to a temporary file (see [`OutputFile`]) that only
/// [`Rendered::keep`] puts in place.
pub fn render(patch: &LoadedPatch, options: &RenderOptions) -> Result<Rendered, CliError> {
    if !(options.seconds.is_finite() && options.seconds > 0.0 && options.seconds <= MAX_SECONDS) {
        return Err(CliError::new(
            "--seconds",
            format!(
                "{} is not a duration between 0 and 24 hours",
                options.seconds
            ),
        ));
    }
    let sample_rate = options.sample_rate.unwrap_or(patch.snapshot.sample_rate);
    let rate_source = if options.sample_rate.is_some() {
        "--sample-rate"
    } else {
        patch.name.as_str()
    };
    let config = EngineConfig {
        node_capacity: MAX_NODES.max(patch.snapshot.nodes.len() + 16),
        ..EngineConfig::default()
    };
    let (mut control, mut audio) =
        engine(sample_rate, config).map_err(|error| CliError::new(rate_source, error))?;
    patch
        .snapshot
        .restore_within(&registry(), control.graph_mut(), options.limits)
        .map_err(|error| CliError::new(&patch.name, error))?;
    control
        .commit()
        .map_err(|error| CliError::new(&patch.name, error))?;
    // A large patch reaches the audio side a bounded number of nodes per block, as it would in
    // a live callback; the file starts once all of it is there (these blocks play the empty
    // graph and are not written, but their allocations are counted like every other block's).
    let mut allocations = 0u64;
    let mut preroll_blocks = 0u64;
    while control.has_pending_changes() || control.commands_in_flight() > 0 {
        let before = violation_count();
        assert_no_alloc(|| {
            audio.process_block();
        });
        allocations += u64::from(violation_count().saturating_sub(before));
        control.collect_garbage();
        if let Err(error) = control.commit()
            && !matches!(error, aether_scheduler::CommitError::Busy { .. })
        {
            return Err(CliError::new(&patch.name, error));
        }
        preroll_blocks += 1;
        if preroll_blocks > 1 << 20 {
            return Err(CliError::new(
                &patch.name,
                "the engine did not take the patch (its commands never drained)",
            ));
        }
    }
    let nodes = control.graph().node_count();
    let scheduled = aether_graph::Compiler::new().compile(control.graph()).len();

    let total_samples = (f64::from(options.seconds) * f64::from(sample_rate)).round() as u64;
    let blocks = total_samples.div_ceil(BUFFER_SIZE as u64);
    let layout = WavLayout {
        format: options.format,
        channels: 1,
        sample_rate: sample_rate.round() as u32,
        frames: total_samples,
    };
    let shown = options.output.display().to_string();
    let header = layout
        .header()
        .map_err(|error| CliError::new(&shown, error))?;

    let mut output = OutputFile::create(&options.output)?;
    let write_error = |error: std::io::Error| CliError::new(&shown, error);
    output.write_all(&header).map_err(write_error)?;
    let mut samples = SampleWriter::new(options.format);
    let progress = progress_bar(
        options.progress && blocks > 4 * 48_000 / BUFFER_SIZE as u64,
        blocks,
    );
    let (mut block_times, block_stats) = aether_telemetry::callback_stats();
    let period_ns = (BUFFER_SIZE as f64 * 1e9 / f64::from(sample_rate)) as u64;
    let mut processing = Duration::ZERO;
    let mut peak = 0.0f32;
    let mut block = [0.0f32; BUFFER_SIZE];
    let mut left = total_samples;
    for index in 0..blocks {
        let before = violation_count();
        let start = Instant::now();
        assert_no_alloc(|| block.copy_from_slice(audio.process_block()));
        let elapsed = start.elapsed();
        processing += elapsed;
        block_times.record(elapsed.as_nanos() as u64, period_ns);
        allocations += u64::from(violation_count().saturating_sub(before));
        // Lossless: at most one block.
        let count = left.min(BUFFER_SIZE as u64) as usize;
        left -= count as u64;
        let written = &block[..count];
        peak = written.iter().fold(peak, |peak, s| peak.max(s.abs()));
        samples.write(&mut output, written).map_err(write_error)?;
        if index % 256 == 0
            && let Some(bar) = &progress
        {
            bar.set_position(index);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    output.flush().map_err(write_error)?;
    let stats = control.stats();
    control.collect_garbage();
    let times = block_stats.snapshot();
    let report = RenderReport {
        patch: patch.name.clone(),
        nodes,
        scheduled,
        sample_rate,
        // Lossless: the duration bounds both far below usize::MAX.
        blocks: blocks as usize,
        samples: total_samples as usize,
        processing,
        median: Duration::from_nanos(times.median_ns()),
        p99: Duration::from_nanos(times.p99_ns()),
        max: Duration::from_nanos(times.max_ns()),
        deadline_misses: times.deadline_misses() as usize,
        allocations,
        non_finite: stats.non_finite_samples,
        clipped: samples.clipped,
        peak,
    };
    Ok(Rendered { report, output })
}

fn progress_bar(show: bool, blocks: u64) -> Option<indicatif::ProgressBar> {
    if !show || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(blocks);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("rendering [{bar:40}] {percent}% eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}
