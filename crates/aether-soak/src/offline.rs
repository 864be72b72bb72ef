//! The soak without a server: one thread alternates edits and blocks as fast as it can, so each
//! block's CPU time is the engine's own cost, free of any server, device or other thread.

use crate::cli::{EDIT_INTERVAL_MS, SoakOptions};
use crate::cpu_clock::thread_cpu_ns;
use crate::error::SoakError;
use crate::report::SoakReport;
use crate::run::SoakRun;

/// Frames per block the offline soak renders (the engine's block size, as JACK gives it in the
/// live soak).
pub const OFFLINE_BLOCK_FRAMES: usize = aether_graph::BUFFER_SIZE;
/// Sample rate of the offline soak.
pub const OFFLINE_SAMPLE_RATE: u32 = 48_000;
/// Polls of the final drain (each renders one block).
const DRAIN_POLLS: usize = 2_000;

/// CPU time per block of an offline run, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockCpu {
    /// Blocks timed.
    pub blocks: u64,
    /// Median CPU time of a block.
    pub median_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// The most CPU time one block used.
    pub max_ns: u64,
    /// Blocks whose CPU time exceeded the period.
    pub over_period: u64,
    /// The period, in nanoseconds.
    pub period_ns: u64,
}

impl BlockCpu {
    /// Summarizes `times` (sorted in place).
    pub fn from_times(times: &mut [u64], period_ns: u64) -> BlockCpu {
        if times.is_empty() {
            return BlockCpu {
                period_ns,
                ..BlockCpu::default()
            };
        }
        times.sort_unstable();
        let at =
            |fraction: f64| times[((times.len() as f64 * fraction) as usize).min(times.len() - 1)];
        BlockCpu {
            blocks: times.len() as u64,
            median_ns: at(0.5),
            p99_ns: at(0.99),
            p999_ns: at(0.999),
            max_ns: times[times.len() - 1],
            over_period: times.iter().filter(|&&time| time > period_ns).count() as u64,
            period_ns,
        }
    }

    /// One line for people.
    pub fn line(&self) -> String {
        let us = |ns: u64| ns as f64 / 1e3;
        format!(
            "engine CPU time per block over {} blocks: median {:.1} us, p99 {:.1} us, p99.9 {:.1} us, \
             max {:.1} us ({:.1}x the median), {} over the {:.1} us period",
            self.blocks,
            us(self.median_ns),
            us(self.p99_ns),
            us(self.p999_ns),
            us(self.max_ns),
            self.max_ns as f64 / self.median_ns.max(1) as f64,
            self.over_period,
            us(self.period_ns)
        )
    }
}

/// Renders `options.seconds` of audio of an `options.nodes`-node patch on the calling thread,
/// with an edit every [`EDIT_INTERVAL_MS`] of audio time, timing every block by the thread's CPU
/// clock. Returns the usual report (its wall-clock timing is that of blocks rendered back to
/// back) and the CPU-time summary.
///
/// Control and audio halves run on one thread here, so this measures cost, not real-time
/// behaviour; the live soak does that.
pub fn run_offline(options: &SoakOptions, seed: u64) -> Result<(SoakReport, BlockCpu), SoakError> {
    let (mut soak, mut callback) = SoakRun::new(options.nodes, seed, OFFLINE_SAMPLE_RATE)?;
    let mut out = [0.0f32; OFFLINE_BLOCK_FRAMES];
    callback.warm_up(16);
    let frames_per_edit = OFFLINE_SAMPLE_RATE as u64 * EDIT_INTERVAL_MS / 1_000;
    let blocks = (options.seconds * f64::from(OFFLINE_SAMPLE_RATE) / OFFLINE_BLOCK_FRAMES as f64)
        .ceil() as usize;
    let mut times = Vec::with_capacity(blocks);
    let mut frames_since_edit = 0u64;
    let started = std::time::Instant::now();
    for _ in 0..blocks {
        if frames_since_edit >= frames_per_edit {
            frames_since_edit -= frames_per_edit;
            soak.edit_once();
        }
        // Allocations are counted as in the JACK callback (the count works where the program's
        // global allocator is `assert_no_alloc::AllocDisabler`, as in the `aether-soak` binary).
        let violations_before = assert_no_alloc::violation_count();
        let before = thread_cpu_ns();
        assert_no_alloc::assert_no_alloc(|| callback.process(&mut out));
        if let (Some(before), Some(after)) = (before, thread_cpu_ns()) {
            times.push(after.saturating_sub(before));
        }
        let violations = assert_no_alloc::violation_count().wrapping_sub(violations_before);
        callback
            .counters()
            .add_alloc_violations(u64::from(violations));
        frames_since_edit += OFFLINE_BLOCK_FRAMES as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let check = soak.finish(DRAIN_POLLS, || callback.process(&mut out));
    let mut report = soak.report(seconds, OFFLINE_BLOCK_FRAMES as u32, check);
    // Back-to-back blocks on a thread that also edits: wall-clock lateness means nothing here,
    // and the CPU-time summary below replaces it.
    report.timing.deadline_misses = 0;
    let period_ns = OFFLINE_BLOCK_FRAMES as u64 * 1_000_000_000 / u64::from(OFFLINE_SAMPLE_RATE);
    let cpu = BlockCpu::from_times(&mut times, period_ns);
    report.output.misses_on_cpu = cpu.over_period;
    report.output.misses_off_cpu = 0;
    // Blocks logged as slow by the wall clock mean nothing here either (no sampler runs).
    report.evidence = Default::default();
    Ok((report, cpu))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizes_block_times() {
        let mut times: Vec<u64> = (1..=1_000).collect();
        let cpu = BlockCpu::from_times(&mut times, 990);
        assert_eq!(cpu.blocks, 1_000);
        assert_eq!(cpu.median_ns, 501);
        assert_eq!(cpu.max_ns, 1_000);
        assert_eq!(cpu.over_period, 10);
        assert!(cpu.line().contains("10 over the"));
        assert_eq!(BlockCpu::from_times(&mut [], 5).blocks, 0);
    }

    #[test]
    fn an_offline_run_edits_and_passes_its_checks() {
        let options = SoakOptions {
            seconds: 0.5,
            nodes: 60,
            offline: true,
            ..SoakOptions::default()
        };
        let (report, cpu) = run_offline(&options, 3).expect("runs");
        assert_eq!(cpu.blocks, 375);
        // Block times are not judged in a unit test.
        let failures: Vec<String> = report
            .failures()
            .into_iter()
            .filter(|failure| !failure.contains("slower than the period"))
            .collect();
        assert_eq!(failures, Vec::<String>::new(), "{}", report.render_table());
        assert!(report.edits.total() >= 49, "{}", report.edits.total());
        assert_eq!(report.commands_sent, report.commands_applied);
    }
}
