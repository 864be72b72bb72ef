//! The single-threaded, seed-style [`Scheduler`], and the constructors of the real-time split.

use core::fmt;

use aether_command::{ChannelConfig, ConfigError, MAX_COMMANDS_PER_TICK};
use aether_graph::{Block, Graph, MAX_NODES};

use crate::audio::{AudioCore, AudioProcessor};
use crate::buffer_pool::BufferPool;
use crate::control::{CommitError, CommitReport, Committer, Controller};
use crate::message::NodeTable;
#[cfg(feature = "parallel")]
use crate::plan::ParallelConfig;
use crate::plan::Planner;
use crate::stats::{EngineStats, SharedStats};
use crate::sync::Arc;

/// The most nodes [`EngineConfig::node_capacity`] may ask for (about 2 million). Each node slot
/// costs about a kilobyte on each side of the engine, so this bounds what a configuration can
/// make the engine allocate up front to a few gigabytes; a larger request is a typed
/// [`EngineError::ConfigOutOfRange`], never an abort.
pub const MAX_NODE_CAPACITY: usize = 1 << 21;

/// The most buffers [`EngineConfig::initial_buffers`] may ask for (65 536 blocks, 16 MiB). The
/// pool grows by itself when a schedule needs more.
pub const MAX_INITIAL_BUFFERS: usize = 1 << 16;

/// Sizes of an engine (and, with feature `parallel`, its worker threads and the rule choosing
/// parallel schedules). The defaults suit a large modular patch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineConfig {
    /// Nodes the graph holds before `add_node` refuses (the graph can be grown later). At most
    /// [`MAX_NODE_CAPACITY`].
    pub node_capacity: usize,
    /// Commands that can be in flight between the halves (also the return ring's size).
    pub command_capacity: usize,
    /// Commands the audio side applies per 64-sample block at most.
    pub max_commands_per_tick: usize,
    /// Audio buffers allocated up front (more are allocated by the control side when needed).
    /// At most [`MAX_INITIAL_BUFFERS`].
    pub initial_buffers: usize,
    /// Worker threads and the parallel decision rule (feature `parallel`). Default: available
    /// cores − 1 workers and [`ParallelPolicy::for_threads`](aether_parallel::ParallelPolicy::for_threads).
    #[cfg(feature = "parallel")]
    pub parallel: ParallelConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            node_capacity: MAX_NODES,
            command_capacity: 1024,
            max_commands_per_tick: MAX_COMMANDS_PER_TICK,
            initial_buffers: 16,
            #[cfg(feature = "parallel")]
            parallel: ParallelConfig::default(),
        }
    }
}

/// Why an engine could not be built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EngineError {
    /// The sample rate is outside the supported range
    /// ([`MIN_SAMPLE_RATE`](aether_graph::MIN_SAMPLE_RATE) to
    /// [`MAX_SAMPLE_RATE`](aether_graph::MAX_SAMPLE_RATE)).
    InvalidSampleRate(f32),
    /// The command ring could not be built with the configured sizes.
    CommandRing(ConfigError),
    /// A size in the [`EngineConfig`] is larger than the engine supports.
    ConfigOutOfRange {
        /// The field of [`EngineConfig`].
        setting: &'static str,
        /// The value asked for.
        value: usize,
        /// The largest value allowed.
        max: usize,
    },
    /// The operating system refused to start a parallel worker thread (feature `parallel`).
    SpawnWorker {
        /// Which worker (0-based).
        index: usize,
        /// The operating system's error kind.
        kind: std::io::ErrorKind,
    },
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::InvalidSampleRate(rate) => {
                fmt::Display::fmt(&aether_graph::SampleRateError { value: *rate }, f)
            }
            EngineError::CommandRing(error) => write!(f, "cannot build the command ring: {error}"),
            EngineError::ConfigOutOfRange {
                setting,
                value,
                max,
            } => write!(
                f,
                "engine setting {setting} = {value} is above its limit of {max}"
            ),
            EngineError::SpawnWorker { index, kind } => {
                write!(f, "cannot start parallel worker thread {index}: {kind}")
            }
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EngineError::CommandRing(error) => Some(error),
            EngineError::InvalidSampleRate(_)
            | EngineError::ConfigOutOfRange { .. }
            | EngineError::SpawnWorker { .. } => None,
        }
    }
}

/// Builds the two halves of a real-time engine: the [`Controller`] for the control thread and
/// the [`AudioProcessor`] for the audio callback. Allocates everything both halves need, and
/// (feature `parallel`) spawns the configured worker threads, which the `AudioProcessor` owns
/// and joins when it is dropped.
pub fn engine(
    sample_rate: f32,
    config: EngineConfig,
) -> Result<(Controller, AudioProcessor), EngineError> {
    Ok(Scheduler::try_with_config(sample_rate, config)?.split())
}

/// A graph and its processor in one value, for single-threaded use: offline rendering, tests,
/// and code written for the original API.
///
/// Edit [`graph`](Self::graph) directly; each [`process_block`](Self::process_block) first sends
/// pending edits through the same command path a real-time engine uses, then renders. This
/// means `process_block` may compile, allocate and free (when the graph changed): use
/// [`split`](Self::split) to run in a real-time callback.
pub struct Scheduler {
    /// The graph. Edits take effect at the next processed block.
    pub graph: Graph,
    committer: Committer,
    audio: AudioProcessor,
    stats: Arc<SharedStats>,
    sample_rate: f32,
}

impl core::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scheduler")
            .field("graph", &self.graph)
            .field("sample_rate", &self.sample_rate)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler with the default [`EngineConfig`].
    ///
    /// # Panics
    ///
    /// If `sample_rate` is outside the supported range
    /// ([`check_sample_rate`](aether_graph::check_sample_rate));
    /// [`try_with_config`](Self::try_with_config) returns an error instead.
    pub fn new(sample_rate: f32) -> Self {
        Self::with_config(sample_rate, EngineConfig::default())
    }

    /// A scheduler with explicit sizes.
    ///
    /// # Panics
    ///
    /// Where [`try_with_config`](Self::try_with_config) returns an error.
    pub fn with_config(sample_rate: f32, config: EngineConfig) -> Self {
        match Self::try_with_config(sample_rate, config) {
            Ok(scheduler) => scheduler,
            Err(error) => panic!("{error}"),
        }
    }

    /// A scheduler with explicit sizes, or a typed error for an invalid sample rate or ring size
    /// (or, feature `parallel`, a worker thread the system refused to start).
    pub fn try_with_config(sample_rate: f32, config: EngineConfig) -> Result<Self, EngineError> {
        aether_graph::check_sample_rate(sample_rate)
            .map_err(|error| EngineError::InvalidSampleRate(error.value))?;
        for (setting, value, max) in [
            ("node_capacity", config.node_capacity, MAX_NODE_CAPACITY),
            (
                "initial_buffers",
                config.initial_buffers,
                MAX_INITIAL_BUFFERS,
            ),
        ] {
            if value > max {
                return Err(EngineError::ConfigOutOfRange {
                    setting,
                    value,
                    max,
                });
            }
        }
        let graph = Graph::with_capacity(config.node_capacity);
        let (control_end, audio_end) = ChannelConfig::new(config.command_capacity)
            .with_max_commands_per_tick(config.max_commands_per_tick)
            .build()
            .map_err(EngineError::CommandRing)?;
        let stats = Arc::new(SharedStats::default());
        let table = NodeTable::new(graph.slot_count());
        let pool = BufferPool::new(config.initial_buffers);
        let (pool_len, table_len) = (pool.len(), table.len());
        let core = AudioCore::new(pool, table, sample_rate);
        #[cfg(feature = "parallel")]
        let (planner, core) = {
            let (planner, executor) = parallel_parts(&config.parallel, table_len)?;
            (
                planner,
                core.with_executor(executor, config.parallel.measured_choice),
            )
        };
        #[cfg(not(feature = "parallel"))]
        let planner = Planner::sequential();
        let committer = Committer::new(planner, control_end, pool_len, table_len);
        let audio = AudioProcessor::new(audio_end, core, Arc::clone(&stats));
        Ok(Scheduler {
            graph,
            committer,
            audio,
            stats,
            sample_rate,
        })
    }

    /// The sample rate nodes are told they run at.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// Sends pending edits to the processor now (also done by every process call).
    pub fn commit(&mut self) -> Result<CommitReport, CommitError> {
        self.committer.commit(&mut self.graph)
    }

    /// Sends pending edits and, since this scheduler is both halves, has the audio half apply
    /// every command before the block renders: an edit of any size takes effect at the next
    /// block, as the original API promises (a real-time `AudioProcessor` instead spreads a large
    /// commit over several blocks). Bounded: every round moves commands forward.
    fn sync(&mut self) {
        if !self.committer.is_dirty(&self.graph) {
            self.committer.collect_garbage();
            return;
        }
        loop {
            // A busy ring keeps new changes pending; applying what is in it makes room.
            let outcome = self.committer.commit(&mut self.graph);
            if matches!(outcome, Err(CommitError::Disconnected))
                || self.audio.pending_commands() == 0
            {
                break;
            }
            self.audio.apply_commands();
            self.committer.collect_garbage();
        }
    }

    /// Applies pending edits and renders one block of the output node (silence without one).
    pub fn process_block(&mut self) -> &Block {
        self.sync();
        self.audio.process_block()
    }

    /// Applies pending edits and fills an interleaved buffer of `channels` channels with any
    /// number of frames (see [`AudioProcessor::process`]).
    pub fn process(&mut self, out: &mut [f32], channels: usize) {
        self.sync();
        self.audio.process(out, channels);
    }

    /// The processor's counters.
    pub fn stats(&self) -> EngineStats {
        self.stats.snapshot()
    }

    /// Splits into a [`Controller`] and an [`AudioProcessor`] for real-time use. Edits not yet
    /// committed stay pending in the controller's graph.
    pub fn split(self) -> (Controller, AudioProcessor) {
        let Scheduler {
            graph,
            committer,
            audio,
            stats,
            sample_rate,
        } = self;
        (Controller::new(graph, committer, stats, sample_rate), audio)
    }
}

/// The planner and executor for `config`: none without workers; otherwise the workers are spawned
/// now (control thread) with room for `max_tasks` tasks (the engine's node slots: a task holds at
/// least one node).
#[cfg(feature = "parallel")]
fn parallel_parts(
    config: &ParallelConfig,
    max_tasks: usize,
) -> Result<(Planner, Option<aether_parallel::Executor>), EngineError> {
    if config.worker_threads == 0 {
        return Ok((Planner::sequential(), None));
    }
    let executor = aether_parallel::Executor::new(aether_parallel::ExecutorConfig {
        worker_threads: config.worker_threads,
        max_tasks: max_tasks.max(1),
        spin_iterations: config.spin_iterations,
        realtime_priority: config.realtime_priority,
        wake_ahead: config.wake_ahead,
    })
    .map_err(|error| match error {
        aether_parallel::ExecutorError::Spawn { index, source } => EngineError::SpawnWorker {
            index,
            kind: source.kind(),
        },
    })?;
    let planner = Planner::parallel(
        config.effective_policy(),
        executor.max_tasks(),
        config.measured_choice.is_some(),
    );
    Ok((planner, Some(executor)))
}
