//! `aether render`: offline rendering through the real-time engine's audio path.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aether_graph::{BUFFER_SIZE, MAX_NODES};
use aether_scheduler::{EngineConfig, engine};
use assert_no_alloc::{assert_no_alloc, violation_count};

use crate::error::CliError;
use crate::patch::{LoadedPatch, registry};

/// WAV sample formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleFormat {
    /// 16-bit integer PCM.
    Int16,
    /// 24-bit integer PCM.
    Int24,
    /// 32-bit IEEE float.
    Float32,
}

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
    pub clipped: usize,
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

/// Renders `patch` to a WAV file, through the same `AudioProcessor::process_block` a real-time
/// callback uses. The file is written to a temporary name and renamed on success, so a failed
/// render leaves no partial file behind.
pub fn render(patch: &LoadedPatch, options: &RenderOptions) -> Result<RenderReport, CliError> {
    let sample_rate = options.sample_rate.unwrap_or(patch.snapshot.sample_rate);
    if !(options.seconds.is_finite() && options.seconds > 0.0 && options.seconds <= 24.0 * 3600.0) {
        return Err(CliError::new(
            "--seconds",
            format!(
                "{} is not a duration between 0 and 24 hours",
                options.seconds
            ),
        ));
    }
    let config = EngineConfig {
        node_capacity: MAX_NODES.max(patch.snapshot.nodes.len() + 16),
        ..EngineConfig::default()
    };
    let (mut control, mut audio) =
        engine(sample_rate, config).map_err(|error| CliError::new("--sample-rate", error))?;
    patch
        .snapshot
        .restore(&registry(), control.graph_mut())
        .map_err(|error| CliError::new(&patch.name, error))?;
    control
        .commit()
        .map_err(|error| CliError::new(&patch.name, error))?;
    let nodes = control.graph().node_count();
    let scheduled = aether_graph::Compiler::new().compile(control.graph()).len();

    let blocks =
        ((options.seconds as f64 * sample_rate as f64) / BUFFER_SIZE as f64).ceil() as usize;
    let total_samples = (options.seconds as f64 * sample_rate as f64).round() as usize;
    let mut samples: Vec<f32> = Vec::with_capacity(blocks * BUFFER_SIZE);
    let mut block_times: Vec<Duration> = Vec::with_capacity(blocks);
    let progress = progress_bar(
        options.progress && blocks > 4 * 48_000 / BUFFER_SIZE,
        blocks,
    );

    let mut allocations = 0u64;
    let mut block = [0.0f32; BUFFER_SIZE];
    for index in 0..blocks {
        let before = violation_count();
        let start = Instant::now();
        assert_no_alloc(|| block.copy_from_slice(audio.process_block()));
        block_times.push(start.elapsed());
        allocations += u64::from(violation_count().saturating_sub(before));
        samples.extend_from_slice(&block);
        if index % 256 == 0
            && let Some(bar) = &progress
        {
            bar.set_position(index as u64);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    samples.truncate(total_samples);
    let stats = control.stats();
    control.collect_garbage();

    let clipped = write_wav(&options.output, &samples, sample_rate, options.format)?;

    let processing: Duration = block_times.iter().sum();
    let deadline = Duration::from_secs_f64(BUFFER_SIZE as f64 / sample_rate as f64);
    let deadline_misses = block_times.iter().filter(|&&t| t > deadline).count();
    block_times.sort_unstable();
    let percentile = |p: f64| {
        block_times
            .get(((block_times.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(RenderReport {
        patch: patch.name.clone(),
        nodes,
        scheduled,
        sample_rate,
        blocks,
        samples: samples.len(),
        processing,
        median: percentile(0.5),
        p99: percentile(0.99),
        max: block_times.last().copied().unwrap_or_default(),
        deadline_misses,
        allocations,
        non_finite: stats.non_finite_samples,
        clipped,
        peak: samples.iter().fold(0.0f32, |peak, s| peak.max(s.abs())),
    })
}

fn progress_bar(show: bool, blocks: usize) -> Option<indicatif::ProgressBar> {
    if !show || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(blocks as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("rendering [{bar:40}] {percent}% eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// Writes mono `samples` to `path` via a temporary file that is renamed on success and removed
/// on failure. Returns how many samples were clipped (integer formats).
fn write_wav(
    path: &Path,
    samples: &[f32],
    sample_rate: f32,
    format: SampleFormat,
) -> Result<usize, CliError> {
    let context = path.display().to_string();
    let file_name = path
        .file_name()
        .ok_or_else(|| CliError::new(&context, "not a file name"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(".{}.partial", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let result = write_wav_to(&temporary, samples, sample_rate, format).and_then(|clipped| {
        std::fs::rename(&temporary, path)
            .map(|()| clipped)
            .map_err(hound::Error::IoError)
    });
    match result {
        Ok(clipped) => Ok(clipped),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(CliError::new(context, error))
        }
    }
}

fn write_wav_to(
    path: &Path,
    samples: &[f32],
    sample_rate: f32,
    format: SampleFormat,
) -> Result<usize, hound::Error> {
    let (bits_per_sample, sample_format) = match format {
        SampleFormat::Int16 => (16, hound::SampleFormat::Int),
        SampleFormat::Int24 => (24, hound::SampleFormat::Int),
        SampleFormat::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: sample_rate.round() as u32,
        bits_per_sample,
        sample_format,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    let mut clipped = 0;
    for &sample in samples {
        let limited = sample.clamp(-1.0, 1.0);
        match format {
            SampleFormat::Float32 => writer.write_sample(sample)?,
            SampleFormat::Int16 => {
                clipped += usize::from(limited != sample);
                writer.write_sample((limited * i16::MAX as f32).round() as i16)?
            }
            SampleFormat::Int24 => {
                clipped += usize::from(limited != sample);
                writer.write_sample((limited * 8_388_607.0).round() as i32)?
            }
        }
    }
    writer.finalize()?;
    Ok(clipped)
}
