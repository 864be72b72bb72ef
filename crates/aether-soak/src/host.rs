//! The JACK host: an idle client that only counts xruns, and the engine client whose process
//! callback runs the [`SoakCallback`] under `assert_no_alloc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jack::{
    AsyncClient, AudioOut, Client, ClientOptions, Control, NotificationHandler, Port,
    ProcessHandler, ProcessScope,
};

use crate::callback::SoakCallback;
use crate::cli::{EDIT_INTERVAL_MS, SoakOptions};
use crate::error::SoakError;
use crate::forensics::InterruptSampler;
use crate::report::{AudioThreadCpu, SoakReport};
use crate::run::SoakRun;

/// Polls of 2 ms each allowed per stage of the final drain (4 s).
const DRAIN_POLLS: usize = 2_000;
/// Blocks rendered before the engine client starts (the initial patch is applied and every
/// node's memory touched once, as a host would before starting its stream).
const WARM_UP_BLOCKS: usize = 16;
/// Seconds between progress lines.
const PROGRESS_SECONDS: u64 = 10;

/// How long [`stop_and_deactivate`] waits for the process thread to acknowledge the stop and
/// then to exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// Tells a process callback to end its client's process thread before the client is
/// deactivated.
///
/// libjack (jack2) stops a client's process thread with an asynchronous `pthread_cancel` when
/// the client is deactivated. If the cancellation lands while the thread is inside the Rust
/// callback, the forced unwind meets the `catch_unwind` of the `jack` crate and the process
/// aborts ("FATAL: exception not rethrown"); the busier the callback, the likelier that is. So
/// the control thread first asks the callback to return [`Control::Quit`]: libjack then ends the
/// thread itself, between callbacks, and deactivation has no running callback to cancel.
#[derive(Debug, Default)]
struct StopSignal {
    /// Set by the control thread.
    requested: AtomicBool,
    /// Linux thread id of the process thread, stored by the callback when it returns `Quit`
    /// (0 until then).
    acknowledged_by: AtomicI64,
}

/// A process handler that returns [`Control::Quit`] once its [`StopSignal`] is raised.
struct Stoppable<P> {
    inner: P,
    stop: Arc<StopSignal>,
}

impl<P: ProcessHandler> ProcessHandler for Stoppable<P> {
    fn process(&mut self, client: &Client, scope: &ProcessScope) -> Control {
        if self.stop.requested.load(Ordering::Acquire) {
            self.stop
                .acknowledged_by
                .store(current_thread_id(), Ordering::Release);
            return Control::Quit;
        }
        self.inner.process(client, scope)
    }
}

/// The calling thread's kernel thread id (never 0 on Linux; 1 elsewhere, where only the
/// acknowledgement, not the thread's exit, can be awaited).
#[allow(unsafe_code)]
fn current_thread_id() -> i64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid(2) takes no arguments, cannot fail and touches no memory.
        i64::from(unsafe { libc::gettid() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        1
    }
}

/// Whether the thread with kernel id `thread_id` of this process still exists.
fn thread_alive(thread_id: i64) -> bool {
    cfg!(target_os = "linux")
        && std::path::Path::new(&format!("/proc/self/task/{thread_id}")).exists()
}

/// Raises `stop`, waits (at most [`STOP_TIMEOUT`] per stage) until the process callback has
/// returned `Quit` and libjack has ended its thread, then deactivates the client and returns
/// its handlers. Deactivation happens even if the waits time out (a dead server never calls
/// the callback again).
fn stop_and_deactivate<N, P>(
    active: AsyncClient<N, Stoppable<P>>,
    stop: &StopSignal,
    what: &str,
) -> Result<(N, P), SoakError>
where
    N: 'static + Send + Sync + NotificationHandler,
    P: 'static + Send + ProcessHandler,
{
    stop.requested.store(true, Ordering::Release);
    let deadline = Instant::now() + STOP_TIMEOUT;
    let mut thread_id = 0;
    while Instant::now() < deadline {
        thread_id = stop.acknowledged_by.load(Ordering::Acquire);
        if thread_id != 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if thread_id == 0 {
        eprintln!("aether-soak: the {what} client's callback did not stop within {STOP_TIMEOUT:?}");
    } else {
        let deadline = Instant::now() + STOP_TIMEOUT;
        while thread_alive(thread_id) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let (_client, notifications, process) = active.deactivate().map_err(|error| {
        SoakError::Jack(format!("cannot deactivate the {what} client: {error}"))
    })?;
    Ok((notifications, process.inner))
}

/// Counts the server's xrun notifications.
struct XrunCounter(Arc<AtomicU64>);

impl NotificationHandler for XrunCounter {
    fn xrun(&mut self, _: &Client) -> Control {
        self.0.fetch_add(1, Ordering::Relaxed);
        Control::Continue
    }
}

/// The engine client's notifications: counts xruns and, when its process thread starts, pins
/// that thread to the CPU the control side chose (see [`crate::affinity`]).
struct EngineNotifications {
    xruns: Arc<AtomicU64>,
    pin_to: Option<usize>,
    /// `PIN_NOT_TRIED`, the pinned CPU, or `-errno` - 1 if pinning failed.
    pin_outcome: Arc<AtomicI64>,
}

const PIN_NOT_TRIED: i64 = i64::MIN;

impl NotificationHandler for EngineNotifications {
    fn thread_init(&self, _: &Client) {
        // Once, when libjack starts the process thread, before any process callback.
        if let Some(cpu) = self.pin_to {
            let outcome = match crate::affinity::pin_current_thread(cpu) {
                Ok(()) => i64::try_from(cpu).unwrap_or(PIN_NOT_TRIED),
                Err(error) => -i64::from(error.raw_os_error().unwrap_or(0)) - 1,
            };
            self.pin_outcome.store(outcome, Ordering::Release);
        }
    }

    fn xrun(&mut self, _: &Client) -> Control {
        self.xruns.fetch_add(1, Ordering::Relaxed);
        Control::Continue
    }
}

/// What the engine's notifications reported about pinning.
fn audio_thread_cpu(pin_to: Option<usize>, chosen: bool, outcome: i64) -> AudioThreadCpu {
    match pin_to {
        None => AudioThreadCpu::Unpinned,
        Some(cpu) if outcome >= 0 => AudioThreadCpu::Pinned { cpu, chosen },
        Some(cpu) if outcome == PIN_NOT_TRIED => AudioThreadCpu::Failed {
            cpu,
            error: "the thread-init callback never ran".to_owned(),
        },
        Some(cpu) => AudioThreadCpu::Failed {
            cpu,
            error: std::io::Error::from_raw_os_error(i32::try_from(-(outcome + 1)).unwrap_or(0))
                .to_string(),
        },
    }
}

/// A client that does nothing in its process callback.
struct IdleProcess;

impl ProcessHandler for IdleProcess {
    fn process(&mut self, _: &Client, _: &ProcessScope) -> Control {
        Control::Continue
    }
}

/// The engine client's process callback.
struct EngineProcess {
    port: Port<AudioOut>,
    callback: SoakCallback,
}

impl ProcessHandler for EngineProcess {
    fn process(&mut self, _: &Client, scope: &ProcessScope) -> Control {
        // The violation counter is per thread: read it on this thread around the guarded work.
        let before = assert_no_alloc::violation_count();
        assert_no_alloc::assert_no_alloc(|| {
            let out = self.port.as_mut_slice(scope);
            self.callback.process(out);
        });
        let after = assert_no_alloc::violation_count();
        self.callback
            .counters()
            .add_alloc_violations(u64::from(after.wrapping_sub(before)));
        Control::Continue
    }
}

fn jack_error(context: &str) -> impl Fn(jack::Error) -> SoakError + '_ {
    move |error| SoakError::Jack(format!("{context}: {error}"))
}

fn open_client(name: &str) -> Result<Client, SoakError> {
    let (client, _status) = Client::new(name, ClientOptions::NO_START_SERVER)
        .map_err(jack_error("cannot connect to the JACK server"))?;
    Ok(client)
}

/// `Ok` if the JACK server named by `JACK_DEFAULT_SERVER` answers.
pub fn probe() -> Result<(), SoakError> {
    open_client("aether-soak-probe").map(drop)
}

/// Runs the whole soak against the running JACK server and returns its report.
pub fn run(options: &SoakOptions, seed: u64) -> Result<SoakReport, SoakError> {
    // Phase 1: only the idle client.
    let idle_xruns = Arc::new(AtomicU64::new(0));
    let idle_stop = Arc::new(StopSignal::default());
    let idle = open_client("aether-soak-idle")?
        .activate_async(
            XrunCounter(Arc::clone(&idle_xruns)),
            Stoppable {
                inner: IdleProcess,
                stop: Arc::clone(&idle_stop),
            },
        )
        .map_err(jack_error("cannot activate the idle client"))?;
    let idle_phase = Duration::from_secs_f64(options.idle_phase_seconds());
    println!(
        "idle-only phase: {:.1} s (measures the server's own xruns)",
        idle_phase.as_secs_f64()
    );
    std::thread::sleep(idle_phase);
    let idle_phase_xruns = idle_xruns.load(Ordering::Relaxed);

    // Phase 2: the engine.
    let client = open_client("aether-soak-engine")?;
    let sample_rate = client.sample_rate();
    let buffer_frames = client.buffer_size();
    if sample_rate == 0 {
        return Err(SoakError::SampleRate(sample_rate));
    }
    println!(
        "engine phase: {} nodes, {:.1} s, an edit every {EDIT_INTERVAL_MS} ms, server at {} Hz / {} frames",
        options.nodes, options.seconds, sample_rate, buffer_frames
    );
    let (mut soak, mut callback) = SoakRun::new(options.nodes, seed, sample_rate)?;
    callback.warm_up(WARM_UP_BLOCKS);
    callback.set_log_threshold(options.debug_log_over_ns);
    // The interrupt sampler runs from before the engine's first callback until after its last.
    let sampler = match InterruptSampler::start(Arc::clone(callback.counters())) {
        Ok(sampler) => Some(sampler),
        Err(error) => {
            eprintln!("aether-soak: cannot start the interrupt sampler: {error}");
            None
        }
    };
    let port = client
        .register_port("out", AudioOut::default())
        .map_err(jack_error("cannot register the output port"))?;
    let engine_xruns = Arc::new(AtomicU64::new(0));
    let idle_before_engine = idle_xruns.load(Ordering::Relaxed);
    let engine_stop = Arc::new(StopSignal::default());
    let pin_to = crate::affinity::resolve(options.audio_cpu).map_err(SoakError::AudioCpu)?;
    let pin_outcome = Arc::new(AtomicI64::new(PIN_NOT_TRIED));
    let active = client
        .activate_async(
            EngineNotifications {
                xruns: Arc::clone(&engine_xruns),
                pin_to,
                pin_outcome: Arc::clone(&pin_outcome),
            },
            Stoppable {
                inner: EngineProcess { port, callback },
                stop: Arc::clone(&engine_stop),
            },
        )
        .map_err(jack_error("cannot activate the engine client"))?;
    // Best effort: the dummy driver's playback ports make the engine a sink of the graph.
    let _ = active
        .as_client()
        .connect_ports_by_name("aether-soak-engine:out", "system:playback_1");

    let started = Instant::now();
    let interval = Duration::from_millis(EDIT_INTERVAL_MS);
    let length = Duration::from_secs_f64(options.seconds);
    let mut next_edit = started + interval;
    let mut next_progress = started + Duration::from_secs(PROGRESS_SECONDS);
    let mut last_stats = soak.callback_stats().snapshot();
    while started.elapsed() < length {
        let now = Instant::now();
        if next_edit > now {
            std::thread::sleep(next_edit - now);
        } else if now - next_edit > interval {
            // Fell behind (the machine is busy): skip the missed ticks rather than burst.
            next_edit = now;
        }
        next_edit += interval;
        soak.edit_once();
        if Instant::now() >= next_progress {
            next_progress += Duration::from_secs(PROGRESS_SECONDS);
            let stats = soak.callback_stats().snapshot();
            let engine = soak.engine_stats();
            println!(
                "t={:>4.0}s nodes={} edits={} sent={} applied={} | {}",
                started.elapsed().as_secs_f64(),
                soak.node_count(),
                soak.edits().total(),
                soak.commands_sent(),
                engine.commands_applied,
                stats.since(&last_stats)
            );
            last_stats = stats;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let check = soak.finish(DRAIN_POLLS, || {
        std::thread::sleep(Duration::from_millis(2));
    });

    // Stop the engine client; its callback (and the engine's nodes) is dropped here, off the
    // audio thread.
    let engine_phase_idle_xruns = idle_xruns.load(Ordering::Relaxed) - idle_before_engine;
    let (_notifications, process) = stop_and_deactivate(active, &engine_stop, "engine")?;
    drop(process);
    let sampled = sampler.map(InterruptSampler::stop);
    let mut report = soak.report(seconds, buffer_frames, check);
    report.evidence.debug_threshold_ns = options.debug_log_over_ns;
    report.audio_cpu = audio_thread_cpu(
        pin_to,
        options.audio_cpu == crate::affinity::AudioCpu::Auto,
        pin_outcome.load(Ordering::Acquire),
    );
    if let Some((windows, stats)) = sampled {
        report.evidence.windows = windows;
        report.evidence.sampler = Some(stats);
    }
    report.xruns.idle_phase_seconds = idle_phase.as_secs_f64();
    report.xruns.idle_phase = idle_phase_xruns;
    report.xruns.engine_phase_idle_client = engine_phase_idle_xruns;
    report.xruns.engine_phase_engine_client = engine_xruns.load(Ordering::Relaxed);
    stop_and_deactivate(idle, &idle_stop, "idle")?;
    Ok(report)
}
