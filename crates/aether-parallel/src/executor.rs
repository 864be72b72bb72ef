//! The executor: pre-spawned workers, dependency counting, a bounded ready queue, completion
//! counting and the spin-then-park wake protocol, with optional wake-ahead pacing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use aether_graph::TaskGraph;

use crate::pacing::{Pacing, PeriodEstimator, Rest};
use crate::queue::TaskQueue;
use crate::realtime::{RealtimeError, promote_current_thread_to_realtime};
use crate::sync::{
    Arc, AtomicPtr, AtomicU32, AtomicU64, Ordering, park_timeout, spin_hint, thread,
};

/// Worker state: looking for work.
const RUNNING: u32 = 0;
/// Worker state: parked or about to park; whoever moves it away must unpark the worker.
const SLEEPING: u32 = 1;
/// Worker state: work was posted since the worker last looked.
const NOTIFIED: u32 = 2;
/// Worker state: the executor is being dropped; the worker exits when it sees this.
const SHUTDOWN: u32 = 3;

/// One completed task in `Shared::finished`.
const COMPLETED_ONE: u64 = 1;
/// One panicked step in `Shared::finished`.
const PANICKED_ONE: u64 = 1 << 32;
/// In a wake-ahead spin window, the clock is read once every this many empty polls.
const POLLS_PER_CLOCK_READ: u32 = 32;

/// Settings for [`Executor::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Worker threads to spawn besides the audio thread (0 is allowed: the audio thread then
    /// runs every task itself).
    pub worker_threads: usize,
    /// The largest task graph [`Executor::run`] accepts; sizes the pre-allocated counters and
    /// ready queue.
    pub max_tasks: usize,
    /// How many empty polls of the ready queue a worker makes before it parks (a count, not a
    /// time: see [`with_default_threads`](Self::with_default_threads) for what the default
    /// lasts).
    pub spin_iterations: u32,
    /// `Some(priority)`: each worker, when it starts and before it takes any task, switches
    /// itself to `SCHED_FIFO` at `priority` (clamped to the operating system's range, 1 to 99 on
    /// Linux). `None` (the default): workers keep the policy they inherit from the thread calling
    /// [`Executor::new`] (normal priority, unless that thread is real-time itself).
    ///
    /// The audio thread waits for the last task of a block, so a worker preempted mid-task by
    /// an ordinary thread delays the whole block: for hard deadlines on a loaded machine, pass
    /// the priority the audio thread itself runs at: read it on that thread, or with
    /// `ps -eLo tid,cls,rtprio,comm` (a JACK client's process thread runs a few steps below the
    /// server's `jackd -P` priority; cpal/ALSA callback threads vary by back-end and set-up; a
    /// host's own audio thread can be set with
    /// [`promote_current_thread_to_realtime`](crate::promote_current_thread_to_realtime)).
    /// Not above it: a worker spinning for work must not keep the audio thread off a core.
    ///
    /// Off by default because it needs a privilege (`CAP_SYS_NICE` or an `RLIMIT_RTPRIO`
    /// limit on Linux) and because real-time threads starve ordinary ones while they spin.
    /// Failure does not fail [`Executor::new`]: see [`Executor::realtime_workers`] and
    /// [`Executor::realtime_error`].
    pub realtime_priority: Option<u8>,
    /// `Some(lead)`: wake-ahead pacing for a host that calls [`Executor::run`] at a steady
    /// period (an audio callback). The audio thread reads the monotonic clock at the start of
    /// each block and keeps an estimate of the period between block starts; a worker that is
    /// about to park sleeps with a timeout instead, wakes itself `lead` before the predicted
    /// start of the next block, and spins (polling the ready queue) until the block arrives or
    /// until `lead` past the predicted start, then parks as usual. The block then finds its
    /// workers already awake and does not pay the wake-up latency of a parked thread (`unpark`,
    /// a futex wake and, on a VM, an inter-processor interrupt: tens of microseconds).
    ///
    /// **Cost**: every worker then runs for about `lead` + the block's time + the
    /// [`spin_iterations`](Self::spin_iterations) spin in every period instead of only while
    /// the block runs: CPU time the rest of the system no longer gets (and at real-time priority
    /// a spinning worker starves ordinary threads on its core). Pick `lead` above the
    /// operating system's timer slack and wake-up jitter (normal-priority threads on Linux
    /// have 50 µs of timer slack; 100-200 µs is a reasonable start) and well below the block
    /// period.
    ///
    /// Until two blocks have given a period estimate, when the estimate's prediction has
    /// passed (the host stopped calling, or called late), and with `None` (the default),
    /// workers park without timeout and are woken by the block, exactly as without pacing. A
    /// block is never delayed by pacing: it always wakes a sleeping worker itself.
    pub wake_ahead: Option<Duration>,
}

impl ExecutorConfig {
    /// One worker per core besides the audio thread's (cores - 1, at least 0), room for 4096
    /// tasks, and a spin of 20 000 polls before parking. Each poll includes a spin-loop hint
    /// (`pause` on x86, which costs tens of cycles on recent cores), so the spin lasts about
    /// 0.5 ms on the development machine (2.45 GHz AMD EPYC): long enough that a worker does not
    /// park between blocks rendered back to back, nor while it waits for a dependency inside a
    /// block (a parked worker is only woken by the next block).
    pub fn with_default_threads() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        ExecutorConfig {
            worker_threads: cores.saturating_sub(1),
            max_tasks: 4096,
            spin_iterations: 20_000,
            realtime_priority: None,
            wake_ahead: None,
        }
    }
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self::with_default_threads()
    }
}

/// Why [`Executor::new`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The operating system refused to start a worker thread.
    #[error("could not spawn executor worker thread {index}: {source}")]
    Spawn {
        /// Which worker (0-based).
        index: usize,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Why [`Executor::run`] did not run a task graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The graph has more tasks than the executor was built for; nothing ran.
    #[error("task graph has {tasks} tasks but the executor holds at most {max_tasks}")]
    TooManyTasks {
        /// Tasks in the graph.
        tasks: usize,
        /// [`ExecutorConfig::max_tasks`].
        max_tasks: usize,
    },
    /// The schedule has no task graph (it was not built by `Compiler::compile_parallel`).
    #[error("the schedule was not compiled for parallel execution")]
    NotParallel,
    /// The buffers or node tables handed in are smaller than the schedule needs; nothing ran.
    #[error("buffers or node tables are smaller than the schedule needs")]
    TablesTooSmall,
    /// A step panicked. Every step still ran (each panic was contained, so no thread is left
    /// using the block's data and the other steps of its task ran too), but the outputs of the
    /// panicking steps are unspecified.
    #[error("{count} step(s) panicked during the block")]
    StepPanicked {
        /// How many steps panicked.
        count: u32,
    },
}

/// What workers need to run one block's tasks. Lives on the stack of [`Executor::run`].
struct Job<'a> {
    tasks: &'a TaskGraph,
    run_step: &'a (dyn Fn(usize) + Sync),
}

struct Shared {
    queue: TaskQueue,
    /// Per task: predecessors not finished yet in the current block.
    pending: Box<[AtomicU32]>,
    /// The current block's progress in one word, so one load reads both: tasks finished (low
    /// 32 bits) and steps that panicked (high 32 bits).
    finished: AtomicU64,
    /// The current block's `Job`, type-erased; dereferenced only between popping a task and
    /// counting it completed.
    job: AtomicPtr<()>,
    /// Per worker: `RUNNING`, `SLEEPING`, `NOTIFIED` or `SHUTDOWN`.
    worker_states: Box<[AtomicU32]>,
    spin_iterations: u32,
    /// Wake-ahead pacing (`ExecutorConfig::wake_ahead`; inert when that is `None`).
    pacing: Pacing,
}

impl Shared {
    /// Runs `task` of the current block, releases its successors and counts it complete.
    ///
    /// # Safety
    ///
    /// `task` was popped from the queue in the current block, so the `job` pointer (stored
    /// before any of the block's tasks were pushed) is valid until this task is counted
    /// complete, which is the last thing this function does.
    unsafe fn execute(&self, task: u32) {
        // SAFETY: see the function's contract: the `Job` outlives every task of its block,
        // because `Executor::run` returns only after all of them were counted complete.
        let job = unsafe { &*(self.job.load(Ordering::Acquire) as *const Job<'_>) };
        let task = task as usize;
        // Each step on its own, so a panicking step does not keep the other steps of its task
        // (a chain, or a group of independent steps) from running.
        let mut panicked = 0u64;
        for &step in job.tasks.steps(task) {
            if catch_unwind(AssertUnwindSafe(|| (job.run_step)(step as usize))).is_err() {
                panicked += 1;
            }
        }
        for &successor in job.tasks.successors(task) {
            if let Some(pending) = self.pending.get(successor as usize)
                && pending.fetch_sub(1, Ordering::AcqRel) == 1
            {
                // Within the queue's capacity: each task is pushed at most once per block, the
                // queue holds `max_tasks`, and every pop of earlier blocks has finished.
                self.queue.push(successor);
            }
        }
        self.finished
            .fetch_add(COMPLETED_ONE + panicked * PANICKED_ONE, Ordering::AcqRel);
    }

    fn worker_loop(&self, index: usize) {
        let Some(state) = self.worker_states.get(index) else {
            return;
        };
        let mut idle_polls = 0u32;
        loop {
            if let Some(task) = self.queue.pop() {
                // SAFETY: popped in the current block (a task stays in the queue only until the
                // block that pushed it completes).
                unsafe { self.execute(task) };
                idle_polls = 0;
                continue;
            }
            if idle_polls < self.spin_iterations {
                idle_polls += 1;
                spin_hint();
                continue;
            }
            idle_polls = 0;
            // Without wake-ahead pacing (or without a prediction) this is always `Park`.
            let rest = self.pacing.rest();
            if let Rest::SpinUntil(end) = rest
                && state.load(Ordering::Acquire) == RUNNING
            {
                // Around the predicted start of the next block: keep looking for it (bounded
                // by `end`), then come back here (by then the window has passed: `Park`).
                self.spin_window(state, end);
                continue;
            }
            // Park unless work or shutdown was posted since we last looked (then it is consumed
            // below). All on one atomic, so no wake can be lost.
            //
            // A timed park changes nothing in that argument. `park_timeout` returning on its
            // timeout is, to this protocol, a spurious wakeup (which `park` may have anyway):
            // the swap below then finds SLEEPING (nobody posted; nobody will unpark for this
            // sleep, since only a poster that moves the word away from SLEEPING unparks), sets
            // RUNNING, and the loop looks at the queue again and decides anew. A post racing with
            // the timeout either moves SLEEPING to NOTIFIED before the swap (the swap sees
            // NOTIFIED; the poster's `unpark` leaves a token that makes a later park return at
            // once: one more spurious return) or finds RUNNING after it and does not unpark (the
            // worker is awake and polls the queue, where the work was pushed before the post).
            let parked = state
                .compare_exchange(RUNNING, SLEEPING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if parked {
                match rest {
                    Rest::ParkFor(timeout) => park_timeout(timeout),
                    Rest::Park | Rest::SpinUntil(_) => thread::park(),
                }
            }
            if state.swap(RUNNING, Ordering::AcqRel) == SHUTDOWN {
                return;
            }
            if !parked {
                // A post found this worker awake: it set NOTIFIED without unparking, and the
                // worker has usually run that block's tasks already (it spins through every
                // block when blocks come back to back or it woke ahead of one). Consumed above;
                // the loop looks at the queue once more and, if it is empty, rests without a
                // second full spin. (A second spin here made a wake-ahead worker spin for about
                // 90% of each period instead of the lead, its tasks and one spin.)
                idle_polls = self.spin_iterations;
            }
        }
    }

    /// Wake-ahead spin: polls the ready queue until a task was run, something was posted to
    /// `state` (a block or shutdown: the caller's park path consumes it), or the clock passes
    /// `end`. Bounded by `end`: the clock is read every [`POLLS_PER_CLOCK_READ`] polls.
    fn spin_window(&self, state: &AtomicU32, end: u64) {
        let mut polls = 0u32;
        loop {
            if let Some(task) = self.queue.pop() {
                // SAFETY: popped in the current block (a task stays in the queue only until the
                // block that pushed it completes).
                unsafe { self.execute(task) };
                return;
            }
            if state.load(Ordering::Acquire) != RUNNING {
                return;
            }
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(POLLS_PER_CLOCK_READ) && self.pacing.now_ns() >= end {
                return;
            }
            spin_hint();
        }
    }
}

struct Worker {
    thread: thread::Thread,
    handle: Option<thread::JoinHandle<()>>,
    /// `None`: real-time priority was not asked for; otherwise whether the worker got it.
    realtime: Option<Result<(), RealtimeError>>,
}

/// Runs [`TaskGraph`]s on pre-spawned worker threads plus the calling (audio) thread.
///
/// # Real-time contract
///
/// [`new`](Self::new) spawns the workers and allocates every counter and the ready queue;
/// dropping the executor stops and joins them: both on the control thread only.
///
/// [`run`](Self::run), on the audio thread, never allocates, frees, locks or blocks on another
/// thread's lock: it resets one counter per task (O(tasks)), pushes the ready tasks, posts a wake
/// to parked workers (an atomic swap, plus an `unpark` system call for a worker that actually
/// sleeps), and then runs tasks itself until all are complete. Its wait is bounded by the work:
/// it spins only while some task is being run by a worker (if that worker is preempted, the wait
/// lasts until it resumes, as with any thread sharing a block's work).
///
/// Workers spin [`ExecutorConfig::spin_iterations`] empty polls, then park until the next block.
/// With [`ExecutorConfig::wake_ahead`], `run` also reads the monotonic clock once (a vDSO call
/// on Linux, no system call) to update the block-period estimate, and workers sleep with a
/// timeout and wake themselves just before the predicted next block.
pub struct Executor {
    shared: Arc<Shared>,
    workers: Vec<Worker>,
    max_tasks: usize,
    /// The period between block starts, for wake-ahead pacing (audio thread, in `run`).
    period: PeriodEstimator,
}

impl core::fmt::Debug for Executor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Executor")
            .field("worker_threads", &self.workers.len())
            .field("realtime_workers", &self.realtime_workers())
            .field("max_tasks", &self.max_tasks)
            .finish()
    }
}

impl Executor {
    /// Spawns `config.worker_threads` workers and pre-allocates room for `config.max_tasks`
    /// tasks. Allocates and spawns: control thread only.
    ///
    /// With [`ExecutorConfig::realtime_priority`] set, each worker tries to switch itself to
    /// real-time priority before it takes any task, and this waits until every worker has
    /// reported whether it succeeded (one system call each). Failing to get the priority does
    /// not fail `new`; [`realtime_workers`](Self::realtime_workers) tells.
    pub fn new(config: ExecutorConfig) -> Result<Executor, ExecutorError> {
        let shared = Arc::new(Shared {
            queue: TaskQueue::new(config.max_tasks),
            pending: (0..config.max_tasks).map(|_| AtomicU32::new(0)).collect(),
            finished: AtomicU64::new(0),
            job: AtomicPtr::new(core::ptr::null_mut()),
            worker_states: (0..config.worker_threads)
                .map(|_| AtomicU32::new(RUNNING))
                .collect(),
            spin_iterations: config.spin_iterations,
            pacing: Pacing::new(config.wake_ahead),
        });
        let mut executor = Executor {
            shared,
            workers: Vec::with_capacity(config.worker_threads),
            max_tasks: config.max_tasks.min(u32::MAX as usize),
            period: PeriodEstimator::default(),
        };
        let (report, reports) = std::sync::mpsc::channel();
        for index in 0..config.worker_threads {
            let shared = Arc::clone(&executor.shared);
            let report = report.clone();
            let priority = config.realtime_priority;
            let body = move || {
                if let Some(priority) = priority {
                    // The receiver lives until every worker has reported: the send succeeds
                    // (and if `new` gave up on a spawn error, nobody needs the report).
                    let _ = report.send((index, promote_current_thread_to_realtime(priority)));
                }
                drop(report);
                shared.worker_loop(index);
            };
            let handle = spawn_worker(index, body)
                .map_err(|source| ExecutorError::Spawn { index, source })?;
            executor.workers.push(Worker {
                thread: handle.thread().clone(),
                handle: Some(handle),
                realtime: None,
            });
        }
        drop(report);
        if config.realtime_priority.is_some() {
            executor.collect_realtime_reports(&reports);
        }
        Ok(executor)
    }

    /// Records each worker's report of its real-time promotion (control thread, in `new`).
    #[cfg(not(loom))]
    fn collect_realtime_reports(
        &mut self,
        reports: &std::sync::mpsc::Receiver<(usize, Result<(), RealtimeError>)>,
    ) {
        for _ in 0..self.workers.len() {
            // Every worker sends exactly one report before its loop; a receive error means
            // every sender is gone, so no report is missing that could still arrive.
            let Ok((index, outcome)) = reports.recv() else {
                break;
            };
            if let Some(worker) = self.workers.get_mut(index) {
                worker.realtime = Some(outcome);
            }
        }
    }

    /// Loom models never make the system call and cannot block on a std channel: every worker
    /// counts as refused.
    #[cfg(loom)]
    fn collect_realtime_reports(
        &mut self,
        _reports: &std::sync::mpsc::Receiver<(usize, Result<(), RealtimeError>)>,
    ) {
        for worker in &mut self.workers {
            worker.realtime = Some(Err(RealtimeError::Unsupported));
        }
    }

    /// How many workers run with the real-time priority asked for in
    /// [`ExecutorConfig::realtime_priority`] (0 when it was `None`). Every worker has reported
    /// by the time [`new`](Self::new) returns. Control side; O(workers).
    pub fn realtime_workers(&self) -> usize {
        self.workers
            .iter()
            .filter(|worker| matches!(worker.realtime, Some(Ok(()))))
            .count()
    }

    /// Why a worker did not get real-time priority (the first failing worker's error; all
    /// workers ask the same of the same process, so they usually fail alike). `None` when every
    /// worker got it or none was asked to. Control side.
    pub fn realtime_error(&self) -> Option<RealtimeError> {
        self.workers
            .iter()
            .find_map(|worker| worker.realtime.and_then(Result::err))
    }

    /// Tells wake-ahead pacing that a block started which does not run on the executor (a host
    /// that alternates between the executor and rendering on its own thread). The period
    /// estimate then follows the host's block period rather than the gaps between executor
    /// blocks, and workers wake ahead of the next block whichever way it runs. Without
    /// [`ExecutorConfig::wake_ahead`] it does nothing. Audio thread: one clock read and a
    /// relaxed store, no allocation, no lock, no system call.
    pub fn note_block_start(&mut self) {
        let shared = &*self.shared;
        if shared.pacing.enabled() {
            let next_start = self.period.block_started(shared.pacing.now_ns());
            shared.pacing.publish(next_start);
        }
    }

    /// Number of worker threads (the audio thread comes on top).
    pub fn worker_threads(&self) -> usize {
        self.workers.len()
    }

    /// The largest task graph [`run`](Self::run) accepts.
    pub fn max_tasks(&self) -> usize {
        self.max_tasks
    }

    /// Runs every step of `tasks` once, calling `run_step(step)` for each step of a task in
    /// order, a task only after all its predecessor tasks finished, tasks on any thread. Returns
    /// when all are done. Real-time safe (see the type's contract); `O(tasks)` bookkeeping.
    ///
    /// `run_step` must be callable from several threads at once for *different* steps.
    pub fn run(
        &mut self,
        tasks: &TaskGraph,
        run_step: &(dyn Fn(usize) + Sync),
    ) -> Result<(), RunError> {
        let task_count = tasks.len();
        if task_count > self.max_tasks {
            return Err(RunError::TooManyTasks {
                tasks: task_count,
                max_tasks: self.max_tasks,
            });
        }
        if task_count == 0 {
            return Ok(());
        }
        // One clock read and a relaxed store: the workers' next wake-ahead target.
        self.note_block_start();
        let shared = &*self.shared;
        let job = Job { tasks, run_step };
        // Every task of the previous block completed (we waited for it), so no thread reads
        // these until the first push below, which publishes them (Release/Acquire through the
        // queue cells).
        shared
            .job
            .store(&job as *const Job<'_> as *mut (), Ordering::Release);
        shared.finished.store(0, Ordering::Relaxed);
        // Tasks without predecessors never have their counter read: only successors are
        // counted down.
        for (pending, &count) in shared.pending.iter().zip(tasks.predecessor_counts()) {
            if count != 0 {
                pending.store(count, Ordering::Relaxed);
            }
        }
        for (task, &count) in tasks.predecessor_counts().iter().enumerate() {
            if count == 0 {
                shared.queue.push(task as u32);
            }
        }
        for (worker, state) in self.workers.iter().zip(shared.worker_states.iter()) {
            if state.swap(NOTIFIED, Ordering::AcqRel) == SLEEPING {
                worker.thread.unpark();
            }
        }
        let total = task_count as u64;
        loop {
            let finished = shared.finished.load(Ordering::Acquire);
            if finished & u64::from(u32::MAX) >= total {
                return match (finished >> 32) as u32 {
                    0 => Ok(()),
                    count => Err(RunError::StepPanicked { count }),
                };
            }
            match shared.queue.pop() {
                // SAFETY: popped during this block; `job` lives until this function returns,
                // after every task was counted complete.
                Some(task) => unsafe { shared.execute(task) },
                None => spin_hint(),
            }
        }
    }
}

impl Drop for Executor {
    /// Stops and joins the workers: control thread only.
    fn drop(&mut self) {
        for (worker, state) in self.workers.iter().zip(self.shared.worker_states.iter()) {
            if state.swap(SHUTDOWN, Ordering::AcqRel) == SLEEPING {
                worker.thread.unpark();
            }
        }
        for worker in &mut self.workers {
            if let Some(handle) = worker.handle.take() {
                // A worker never panics (task panics are caught); nothing to report.
                let _ = handle.join();
            }
        }
    }
}

#[cfg(not(loom))]
fn spawn_worker(
    index: usize,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<thread::JoinHandle<()>> {
    thread::Builder::new()
        .name(format!("aether-worker-{index}"))
        .spawn(body)
}

#[cfg(loom)]
fn spawn_worker(
    _index: usize,
    body: impl FnOnce() + Send + 'static,
) -> std::io::Result<thread::JoinHandle<()>> {
    Ok(thread::spawn(body))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn executor(wake_ahead: Option<Duration>) -> Executor {
        Executor::new(ExecutorConfig {
            worker_threads: 0,
            max_tasks: 4,
            spin_iterations: 0,
            realtime_priority: None,
            wake_ahead,
        })
        .expect("no worker to spawn")
    }

    #[test]
    fn blocks_noted_off_the_executor_feed_the_period_estimate() {
        let mut paced = executor(Some(Duration::from_micros(150)));
        paced.note_block_start();
        assert_eq!(paced.period.period_ns(), 0, "one block gives no period");
        std::thread::sleep(Duration::from_millis(1));
        paced.note_block_start();
        assert_ne!(paced.period.period_ns(), 0, "two blocks give a period");

        let mut unpaced = executor(None);
        unpaced.note_block_start();
        std::thread::sleep(Duration::from_millis(1));
        unpaced.note_block_start();
        assert_eq!(
            unpaced.period.period_ns(),
            0,
            "without wake-ahead nothing is estimated"
        );
    }
}
