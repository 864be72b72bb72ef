//! The control half: edits the graph, compiles, and sends the audio side what changed.

use core::fmt;

use aether_command::ControlEnd;
use aether_graph::{AddNodeError, DspNode, Graph, GraphError, NodeId, Schedule};

use std::collections::VecDeque;

use aether_command::SendError;

use crate::buffer_pool::BufferPool;
use crate::message::{
    AddedNode, Command, Commit, NODES_PER_BATCH, NodeBatch, NodeTable, Receipt, RemovedNode,
};
use crate::plan::{Planner, ScheduleDecision};
use crate::stats::{EngineStats, SharedStats};
use crate::sync::Arc;

/// Why a commit did not reach the audio side. Nothing is lost: the graph keeps its pending
/// changes and a later [`Controller::commit`] sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommitError {
    /// The command ring has no room: the audio side has not caught up (or its receipts have not
    /// been collected yet). Try again after the next audio block.
    Busy {
        /// Commands in flight.
        in_flight: usize,
        /// The ring's capacity.
        capacity: usize,
    },
    /// The audio half was dropped.
    Disconnected,
}

impl fmt::Display for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommitError::Busy {
                in_flight,
                capacity,
            } => write!(
                f,
                "the command ring is full ({in_flight} of {capacity} commands in flight); \
                 changes stay pending, retry after the audio side processes a block"
            ),
            CommitError::Disconnected => f.write_str("the audio half of the engine was dropped"),
        }
    }
}

impl std::error::Error for CommitError {}

/// What a successful [`Controller::commit`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitReport {
    /// A new schedule (with node changes) was compiled and queued for the audio side.
    pub schedule_sent: bool,
    /// Commands pushed into the ring by this call: a structural change travels as several
    /// (node installs in batches, the schedule swap, node retirements in batches), possibly
    /// over several calls; parameter changes are one each.
    pub commands_sent: usize,
    /// Commands of a structural change still waiting for room in the ring; later commits
    /// (or [`Controller::commit`] again after the audio side processed a block) send them.
    /// Nothing else is sent before them.
    pub commands_queued: usize,
    /// Parameter changes sent.
    pub params_sent: usize,
    /// Parameter changes still queued because the ring filled up; a later commit sends them.
    pub params_pending: usize,
    /// How the schedule sent runs (parallel or not) and the estimates behind it: `Some` when a
    /// schedule was sent by an engine with parallel workers (feature `parallel`), `None`
    /// otherwise (no schedule sent, or every schedule runs on the audio thread alone).
    pub decision: Option<ScheduleDecision>,
}

impl CommitReport {
    /// `true` if the schedule sent runs on the parallel executor.
    pub fn runs_parallel(&self) -> bool {
        self.decision.is_some_and(|decision| decision.parallel)
    }
}

/// Everything that turns graph edits into commands: the compiler, the ring's control end, and
/// what the control side knows about the audio side's tables.
pub(crate) struct Committer {
    planner: Planner,
    /// The decision behind the schedule last sent.
    last_decision: Option<ScheduleDecision>,
    ring: ControlEnd<Command, Receipt>,
    /// Commands of structural changes not yet in the ring, in order.
    outbox: VecDeque<Command>,
    /// The graph version whose schedule was last sent.
    sent_version: Option<u64>,
    /// Buffers in the pool the audio side has (or will have once queued commits apply).
    audio_pool_len: usize,
    /// Slots in the audio side's node table.
    audio_table_len: usize,
}

impl Committer {
    pub(crate) fn new(
        planner: Planner,
        ring: ControlEnd<Command, Receipt>,
        audio_pool_len: usize,
        audio_table_len: usize,
    ) -> Self {
        Committer {
            planner,
            last_decision: None,
            ring,
            outbox: VecDeque::new(),
            sent_version: None,
            audio_pool_len,
            audio_table_len,
        }
    }

    /// Drops everything the audio side handed back. Returns the number of receipts collected.
    pub(crate) fn collect_garbage(&mut self) -> usize {
        self.ring.collect_all()
    }

    /// `true` if the graph has changes the audio side has not been sent.
    pub(crate) fn is_dirty(&self, graph: &Graph) -> bool {
        self.needs_schedule(graph) || graph.pending_param_count() > 0 || !self.outbox.is_empty()
    }

    /// Moves queued commands into the ring, in order, as far as it has room. Returns how many
    /// were sent, or `Disconnected`.
    fn flush(&mut self) -> Result<usize, CommitError> {
        let mut sent = 0;
        while let Some(command) = self.outbox.pop_front() {
            match self.ring.try_send(command) {
                Ok(()) => sent += 1,
                Err(SendError::Full(command)) => {
                    self.outbox.push_front(command);
                    break;
                }
                Err(SendError::Disconnected(command)) => {
                    self.outbox.push_front(command);
                    return Err(CommitError::Disconnected);
                }
            }
        }
        Ok(sent)
    }

    fn needs_schedule(&self, graph: &Graph) -> bool {
        self.sent_version != Some(graph.version()) || graph.has_pending_delivery()
    }

    pub(crate) fn commit(&mut self, graph: &mut Graph) -> Result<CommitReport, CommitError> {
        self.collect_garbage();
        if !self.ring.is_audio_connected() {
            return Err(CommitError::Disconnected);
        }
        let mut report = CommitReport {
            commands_sent: self.flush()?,
            ..CommitReport::default()
        };
        let room =
            |ring: &ControlEnd<Command, Receipt>| ring.capacity().saturating_sub(ring.in_flight());
        if self.needs_schedule(graph) {
            // A new change waits until the previous one is wholly in the ring (so nothing
            // overtakes it), and for room to start: otherwise it stays pending in the graph.
            if !self.outbox.is_empty() || room(&self.ring) == 0 {
                return Err(CommitError::Busy {
                    in_flight: self.ring.in_flight(),
                    capacity: self.ring.capacity(),
                });
            }
            let decision = self.queue_structural_change(graph);
            report.commands_sent += self.flush()?;
            report.schedule_sent = true;
            report.decision = decision;
            self.last_decision = decision;
        }
        // Parameter changes go only behind every queued structural command.
        if self.outbox.is_empty() {
            let room_left = room(&self.ring);
            let mut sent = 0;
            for change in graph.take_param_changes(room_left) {
                if self.ring.try_send(Command::SetParam(change)).is_ok() {
                    sent += 1;
                }
            }
            report.params_sent = sent;
            report.commands_sent += sent;
        }
        report.params_pending = graph.pending_param_count();
        report.commands_queued = self.outbox.len();
        Ok(report)
    }

    /// Compiles the graph and queues the commands that take the audio side to it: a larger
    /// node table if needed, the new nodes in batches, the schedule swap, the removed nodes in
    /// batches (see [`Command`]).
    fn queue_structural_change(&mut self, graph: &mut Graph) -> Option<ScheduleDecision> {
        let (schedule, in_order, decision) = self.planner.compile(graph);
        debug_assert_eq!(schedule.check(), Ok(()));
        debug_assert!(in_order.as_ref().is_none_or(|s| s.check().is_ok()));
        let delivery = graph.take_delivery();
        // One pool for both schedules: the parallel one needs the most buffers.
        let buffers_needed = schedule
            .buffer_count()
            .max(in_order.as_ref().map_or(0, Schedule::buffer_count));
        let pool = (buffers_needed > self.audio_pool_len).then(|| {
            // Grow geometrically so a graph growing one node at a time reallocates rarely.
            let len = buffers_needed.max(self.audio_pool_len * 2);
            self.audio_pool_len = len;
            BufferPool::new(len)
        });
        if graph.slot_count() > self.audio_table_len {
            self.audio_table_len = graph.slot_count();
            self.outbox
                .push_back(Command::Grow(Box::new(NodeTable::new(graph.slot_count()))));
        }
        let mut added = delivery.added.into_iter().peekable();
        while added.peek().is_some() {
            let batch: Vec<AddedNode> = added
                .by_ref()
                .take(NODES_PER_BATCH)
                .map(|new| AddedNode {
                    id: new.id,
                    node: Some(new.node),
                    params: new.params,
                })
                .collect();
            self.outbox.push_back(Command::Install(Box::new(NodeBatch {
                added: batch,
                removed: Vec::new(),
            })));
        }
        self.sent_version = Some(graph.version());
        self.outbox.push_back(Command::Commit(Box::new(Commit {
            schedule,
            in_order,
            pool,
        })));
        for chunk in delivery.removed.chunks(NODES_PER_BATCH) {
            self.outbox.push_back(Command::Retire(Box::new(NodeBatch {
                added: Vec::new(),
                removed: chunk
                    .iter()
                    .map(|&id| RemovedNode {
                        id,
                        node: None,
                        payload: None,
                    })
                    .collect(),
            })));
        }
        decision
    }

    pub(crate) fn last_decision(&self) -> Option<ScheduleDecision> {
        self.last_decision
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.ring.in_flight()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.ring.capacity()
    }
}

/// The control half of an engine: owns the [`Graph`], compiles it and sends the audio half
/// what changed. Lives on a normal (non-real-time) thread.
///
/// # Real-time contract
///
/// Everything here may allocate and is meant for the control thread. Edits go to the graph
/// ([`graph_mut`](Self::graph_mut) or the shortcuts); [`commit`](Self::commit) compiles the graph
/// (when its structure changed) and sends the new nodes, the schedule, the removed nodes and
/// parameter changes in order; nothing reaches the audio side before a commit. A structural
/// change travels as batches of at most 64 nodes around one schedule swap, and the audio side
/// applies at most 512 node moves per block, so a commit of any size costs each block a bounded
/// amount of work (except a growth of the node table past `EngineConfig::node_capacity`, which
/// moves every node once): the old graph plays until the whole change has arrived, then the new
/// one takes over at once. Commands that do not fit the ring wait in the controller and go with
/// the next commits ([`CommitReport::commands_queued`]; [`has_pending_changes`](Self::has_pending_changes)
/// stays `true` until they are sent). Every commit first drops what the
/// audio side handed back (removed nodes, old schedules and pools), so those are freed here.
///
/// In an engine with parallel workers (feature `parallel`), each structural commit also compiles
/// the graph for parallel execution and applies the engine's rule to it; the schedule chosen is
/// the one sent, and the choice is reported ([`CommitReport::decision`],
/// [`last_schedule_decision`](Self::last_schedule_decision)).
pub struct Controller {
    graph: Graph,
    committer: Committer,
    stats: Arc<SharedStats>,
    sample_rate: f32,
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("graph", &self.graph)
            .field("in_flight", &self.committer.in_flight())
            .field("sample_rate", &self.sample_rate)
            .finish()
    }
}

impl Controller {
    pub(crate) fn new(
        graph: Graph,
        committer: Committer,
        stats: Arc<SharedStats>,
        sample_rate: f32,
    ) -> Self {
        Controller {
            graph,
            committer,
            stats,
            sample_rate,
        }
    }

    /// The graph as edited so far (including uncommitted edits).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The graph, for edits. They take effect at the next [`commit`](Self::commit).
    pub fn graph_mut(&mut self) -> &mut Graph {
        &mut self.graph
    }

    /// The engine's sample rate.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// Sends every pending change to the audio side: a new schedule (with added and removed
    /// nodes, and a larger buffer pool or node table when needed) if the structure changed, then
    /// queued parameter changes, in the order they were made, as far as the ring has room. With
    /// parallel workers, the schedule is the parallel or the sequential compilation of the graph,
    /// as the engine's rule decides (reported in [`CommitReport::decision`]).
    pub fn commit(&mut self) -> Result<CommitReport, CommitError> {
        self.committer.commit(&mut self.graph)
    }

    /// Commits, and reports a busy ring as an error if anything stayed pending (the shortcuts
    /// promise that their edit was sent).
    fn commit_everything(&mut self) -> Result<CommitReport, CommitError> {
        let report = self.commit()?;
        if report.params_pending > 0 || report.commands_queued > 0 {
            return Err(CommitError::Busy {
                in_flight: self.committer.in_flight(),
                capacity: self.committer.capacity(),
            });
        }
        Ok(report)
    }

    /// `true` if there are edits not yet sent.
    pub fn has_pending_changes(&self) -> bool {
        self.committer.is_dirty(&self.graph)
    }

    /// Drops what the audio side handed back (also done by every commit). Returns the number of
    /// receipts collected.
    pub fn collect_garbage(&mut self) -> usize {
        self.committer.collect_garbage()
    }

    /// How the schedule last sent runs (parallel or not) and the estimates behind the choice;
    /// `None` before the first schedule and for engines without parallel workers.
    pub fn last_schedule_decision(&self) -> Option<ScheduleDecision> {
        self.committer.last_decision()
    }

    /// Commands sent whose receipts have not been collected yet.
    pub fn commands_in_flight(&self) -> usize {
        self.committer.in_flight()
    }

    /// The audio side's counters (blocks, replaced non-finite samples, applied commands).
    pub fn stats(&self) -> EngineStats {
        self.stats.snapshot()
    }

    /// Adds a node and commits.
    ///
    /// If the node was added but the commit could not be sent (the ring is busy, or the audio
    /// side is gone), the error is [`ControlError::AddedNotSent`] carrying the new node's id:
    /// the node is in the graph and goes with the next successful [`commit`](Self::commit).
    /// Do not add it again; call `commit` after the audio side has processed a block.
    pub fn add_node(&mut self, node: Box<dyn DspNode>) -> Result<NodeId, ControlError> {
        let id = self.graph.add_node(node).map_err(ControlError::AddNode)?;
        self.commit_everything()
            .map_err(|error| ControlError::AddedNotSent { id, error })?;
        Ok(id)
    }

    /// Removes a node and commits.
    pub fn remove_node(&mut self, id: NodeId) -> Result<(), ControlError> {
        self.graph.remove_node(id)?;
        self.commit_everything()?;
        Ok(())
    }

    /// Connects `source` to input `slot` of `destination` and commits.
    pub fn connect(
        &mut self,
        source: NodeId,
        destination: NodeId,
        slot: usize,
    ) -> Result<Option<NodeId>, ControlError> {
        let previous = self.graph.connect(source, destination, slot)?;
        self.commit_everything()?;
        Ok(previous)
    }

    /// Disconnects input `slot` of `destination` and commits.
    pub fn disconnect(
        &mut self,
        destination: NodeId,
        slot: usize,
    ) -> Result<Option<NodeId>, ControlError> {
        let previous = self.graph.disconnect(destination, slot)?;
        self.commit_everything()?;
        Ok(previous)
    }

    /// Sets the output node and commits.
    pub fn set_output_node(&mut self, id: NodeId) -> Result<(), ControlError> {
        self.graph.set_output_node(id)?;
        self.commit_everything()?;
        Ok(())
    }

    /// Ramps a parameter to `target` over `ramp_samples` and commits (a cheap command, no
    /// recompilation). Non-finite targets are refused; finite ones are clamped to the range.
    pub fn set_param(
        &mut self,
        id: NodeId,
        index: usize,
        target: f32,
        ramp_samples: u32,
    ) -> Result<(), ControlError> {
        self.set_param_at(id, index, target, ramp_samples, 0)
    }

    /// Like [`set_param`](Self::set_param), starting `offset_samples` into the next block the
    /// audio side processes (sample-accurate automation).
    pub fn set_param_at(
        &mut self,
        id: NodeId,
        index: usize,
        target: f32,
        ramp_samples: u32,
        offset_samples: u32,
    ) -> Result<(), ControlError> {
        self.graph
            .set_param_at(id, index, target, ramp_samples, offset_samples)?;
        self.commit_everything()?;
        Ok(())
    }

    /// Sets a parameter by name and commits.
    pub fn set_param_by_name(
        &mut self,
        id: NodeId,
        name: &str,
        target: f32,
        ramp_samples: u32,
    ) -> Result<(), ControlError> {
        let index = self.graph.param_index(id, name)?;
        self.set_param(id, index, target, ramp_samples)
    }

    /// Removes every node and commits.
    pub fn clear(&mut self) -> Result<(), ControlError> {
        self.graph.clear();
        self.commit_everything()?;
        Ok(())
    }
}

/// Why a [`Controller`] shortcut failed. The shortcuts return `Ok` only once their edit was
/// sent to the audio side.
///
/// On [`ControlError::Commit`] or [`ControlError::AddedNotSent`] the edit **was made**: it is in
/// the graph and stays pending. The caller must not repeat it; it calls
/// [`Controller::commit`] again once the audio side has processed a block (a `Busy` ring drains
/// one command per receipt collected).
#[derive(Debug)]
#[non_exhaustive]
pub enum ControlError {
    /// The edit was refused; the graph is unchanged.
    Graph(GraphError),
    /// The node was not added; it is handed back inside.
    AddNode(AddNodeError),
    /// The edit was made but could not be sent yet; it stays pending for the next commit.
    Commit(CommitError),
    /// The node was added (this is its id) but could not be sent yet; it stays pending for the
    /// next commit. Adding it again would add a second node.
    AddedNotSent {
        /// The id of the node that was added.
        id: NodeId,
        /// Why the commit was not sent.
        error: CommitError,
    },
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::Graph(error) => fmt::Display::fmt(error, f),
            ControlError::AddNode(error) => fmt::Display::fmt(error, f),
            ControlError::Commit(error) => write!(f, "edit made but not sent yet: {error}"),
            ControlError::AddedNotSent { id, error } => {
                write!(f, "node {id} added but not sent yet: {error}")
            }
        }
    }
}

impl std::error::Error for ControlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ControlError::Graph(error) => Some(error),
            ControlError::AddNode(error) => Some(error),
            ControlError::Commit(error) | ControlError::AddedNotSent { error, .. } => Some(error),
        }
    }
}

impl From<GraphError> for ControlError {
    fn from(error: GraphError) -> Self {
        ControlError::Graph(error)
    }
}

impl From<CommitError> for ControlError {
    fn from(error: CommitError) -> Self {
        ControlError::Commit(error)
    }
}
