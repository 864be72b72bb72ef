//! Per-block forensics for the worst-block check of `parallel_targets`: what the threads did
//! during each timed block, so a slow block can be told apart as the engine's own slowness or
//! time the machine took away from one of its threads.
//!
//! Read around every block, outside its timed window: the measuring (audio) thread's CPU time
//! (its thread CPU clock) and involuntary context switches (`getrusage(RUSAGE_THREAD)`), and
//! the CPU time of every executor worker in the process (one `clock_gettime` per worker on its
//! thread CPU clock). On a paravirtualised VM, time the hypervisor did not run a virtual CPU (steal) is
//! not counted as CPU time, so a thread's CPU time falls short of the wall time both when the
//! guest preempted it and when the host did not run its CPU. Linux only; elsewhere every reading
//! is `None` and the report says so.

/// What one thread-set reading holds (nanoseconds of CPU time, switch counts).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// The measuring thread's CPU time.
    pub audio_cpu_ns: u64,
    /// The measuring thread's involuntary context switches so far.
    pub audio_involuntary: u64,
    /// The summed CPU time of every executor worker.
    pub workers_cpu_ns: u64,
}

/// One timed block: its wall time and what the threads did during it.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlockSample {
    /// Wall time of the block.
    pub wall_ns: u64,
    /// The measuring thread's CPU time during the block (plus the reading's own calls).
    pub audio_cpu_ns: u64,
    /// Involuntary context switches of the measuring thread during the block.
    pub audio_involuntary: u64,
    /// CPU time of all executor workers together during the block.
    pub workers_cpu_ns: u64,
}

impl BlockSample {
    /// The difference of two readings taken around a block of `wall_ns`.
    pub fn between(before: Reading, after: Reading, wall_ns: u64) -> BlockSample {
        BlockSample {
            wall_ns,
            audio_cpu_ns: after.audio_cpu_ns.saturating_sub(before.audio_cpu_ns),
            audio_involuntary: after
                .audio_involuntary
                .saturating_sub(before.audio_involuntary),
            workers_cpu_ns: after.workers_cpu_ns.saturating_sub(before.workers_cpu_ns),
        }
    }
}

/// Why a slow block was slow, judged by where its time beyond the median went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The measuring thread was preempted by the guest kernel during the block.
    AudioPreempted,
    /// The measuring thread was off its CPU for at least half of the excess without a context
    /// switch: the hypervisor not running the virtual CPU, or interrupts on a kernel that
    /// accounts their time apart (`CONFIG_IRQ_TIME_ACCOUNTING`).
    AudioStalled,
    /// The measuring thread ran throughout, but the worker was off its CPU for at least half
    /// of the excess (a late wake-up, preemption or a stalled virtual CPU), so the measuring
    /// thread waited for it or did its share.
    WorkerOffCpu,
    /// Every thread that had to run did run, on its CPU, for the whole block: the slowness is
    /// in the work itself (caches, memory, the engine).
    OnCpu,
}

impl Cause {
    /// Every cause, in report order.
    pub const ALL: [Cause; 4] = [
        Cause::AudioPreempted,
        Cause::AudioStalled,
        Cause::WorkerOffCpu,
        Cause::OnCpu,
    ];

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Cause::AudioPreempted => "audio preempted",
            Cause::AudioStalled => "audio off CPU",
            Cause::WorkerOffCpu => "worker off CPU",
            Cause::OnCpu => "all on CPU",
        }
    }

    /// Classifies `sample`, a block slower than usual, against the side's `median_ns`.
    /// `parallel`: whether the side's blocks use one worker (else worker time is not looked
    /// at). The workers' clocks are summed, so this assumes the other executors' workers were
    /// parked (as they are in the check: only one side runs at a time, and a side's workers
    /// park within about a millisecond after its chunk).
    pub fn of(sample: &BlockSample, median_ns: u64, parallel: bool) -> Cause {
        let excess = sample.wall_ns.saturating_sub(median_ns);
        let audio_missing = sample.wall_ns.saturating_sub(sample.audio_cpu_ns);
        if sample.audio_involuntary > 0 {
            Cause::AudioPreempted
        } else if audio_missing >= excess / 2 {
            Cause::AudioStalled
        } else if parallel && sample.wall_ns.saturating_sub(sample.workers_cpu_ns) >= excess / 2 {
            Cause::WorkerOffCpu
        } else {
            Cause::OnCpu
        }
    }
}

/// Reads the measuring thread's and the workers' clocks. Build it on the measuring thread after
/// every executor was started (workers are found by thread name).
pub struct ThreadClocks {
    /// Thread CPU clock ids (`clockid_t`) of the workers found.
    worker_clocks: Vec<i32>,
}

impl ThreadClocks {
    /// Finds every thread of this process named `aether-worker-*` (`/proc/self/task/*/comm`).
    #[cfg(target_os = "linux")]
    pub fn find_workers() -> ThreadClocks {
        let mut worker_clocks = Vec::new();
        if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
            for task in tasks.flatten() {
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                let tid = task
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok());
                if let (true, Some(tid)) = (comm.starts_with("aether-worker"), tid) {
                    // The kernel's encoding of another thread's CPU-time clock (what glibc's
                    // `pthread_getcpuclockid` returns): the bitwise complement of the thread
                    // id shifted left by 3, ORed with CPUCLOCK_PERTHREAD (4) | CPUCLOCK_SCHED
                    // (2).
                    worker_clocks.push((!tid << 3) | 6);
                }
            }
        }
        ThreadClocks { worker_clocks }
    }

    /// Elsewhere no worker clock can be read.
    #[cfg(not(target_os = "linux"))]
    pub fn find_workers() -> ThreadClocks {
        ThreadClocks {
            worker_clocks: Vec::new(),
        }
    }

    /// How many worker clocks are read.
    pub fn workers(&self) -> usize {
        self.worker_clocks.len()
    }

    /// One reading; `None` where a clock cannot be read.
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    pub fn read(&self) -> Option<Reading> {
        // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
        let mut usage: libc::rusage = unsafe { core::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable `rusage` that outlives the call.
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
            return None;
        }
        // `ru_utime` and `ru_stime` are apportioned from scheduler ticks (milliseconds apart):
        // the thread's CPU clock is exact.
        let audio_cpu_ns = cpu_clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)?;
        let mut workers_cpu_ns = 0u64;
        for &clock in &self.worker_clocks {
            workers_cpu_ns += cpu_clock_ns(clock as libc::clockid_t)?;
        }
        Some(Reading {
            audio_cpu_ns,
            audio_involuntary: u64::try_from(usage.ru_nivcsw).unwrap_or(0),
            workers_cpu_ns,
        })
    }

    /// Elsewhere: no reading.
    #[cfg(not(target_os = "linux"))]
    pub fn read(&self) -> Option<Reading> {
        None
    }
}

/// The CPU time on `clock` in nanoseconds; `None` if it cannot be read (for instance a worker
/// clock whose thread exited).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn cpu_clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `timespec` that outlives the call; an invalid clock id
    // makes the call fail, not misbehave.
    if unsafe { libc::clock_gettime(clock, &mut time) } != 0 {
        return None;
    }
    Some(u64::try_from(time.tv_sec).ok()? * 1_000_000_000 + u64::try_from(time.tv_nsec).ok()?)
}

/// A fixed amount of pure arithmetic on one thread: a chain of dependent multiply-adds with no
/// memory traffic, the least a block of that length can be exposed to. Its worst-to-median
/// ratio is the machine's floor for the worst-block check.
pub fn busy_work(iterations: u32) -> f32 {
    let mut x = std::hint::black_box(0.5f32);
    for _ in 0..iterations {
        x = x * 0.999_999 + 1e-7;
    }
    std::hint::black_box(x)
}

/// Iterations of [`busy_work`] that take about `target_ns` here (median of several timings).
pub fn busy_iterations_for(target_ns: u64) -> u32 {
    let probe = 10_000u32;
    let mut times: Vec<u64> = (0..31)
        .map(|_| {
            let start = std::time::Instant::now();
            busy_work(probe);
            start.elapsed().as_nanos() as u64
        })
        .collect();
    times.sort_unstable();
    let per_iteration = times[times.len() / 2].max(1) as f64 / f64::from(probe);
    (target_ns as f64 / per_iteration).clamp(1.0, f64::from(u32::MAX)) as u32
}
