//! The live-edit console of `aether play`: parses one command per line and applies it to a
//! running engine through its [`Controller`].
//!
//! # Protocol
//!
//! Every command gets exactly one **status line**, starting with `ok` or `error:`. Commands that
//! list things (`help`, `nodes`, `types`) print their listing first, each line indented by two
//! spaces, so a program driving the console reads lines until the status line. Empty lines and
//! lines starting with `#` are ignored (no answer). Arguments are separated by spaces; double
//! quotes group words (`set "lead filter" freq 900`).
//!
//! Nodes are addressed by their console id (the patch file's id for nodes loaded from it, the
//! next free number for nodes added live; `nodes` and `add` print them) or by their name (the
//! patch's `label`, or the name given to `add`).
//!
//! # Real-time contract
//!
//! Everything here runs on the control thread and allocates. Edits reach the audio side as
//! commands through the engine's ring; nothing here waits on the audio thread except a bounded
//! retry (1 ms sleeps, [`DEFAULT_COMMIT_TIMEOUT`] at most) when the ring is momentarily full.

use crate::error::CliError;
use aether_state::Shown;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aether_graph::{GraphError, MAX_INPUTS, NodeId, NodeRegistry, NodeState, RegistryError};
use aether_scheduler::{CommitError, Controller};
use aether_state::{GraphSnapshot, SnapshotError};

use crate::callback::{EditCounts, PlaybackMonitor, PlaybackReport};

/// How long an edit may wait for room in the command ring before it is reported as pending.
pub const DEFAULT_COMMIT_TIMEOUT: Duration = Duration::from_millis(500);

/// Longest parameter ramp `set` accepts, in milliseconds.
pub const MAX_RAMP_MS: f32 = 60_000.0;

/// Every command: name, arguments, what it does.
const COMMANDS: [(&str, &str, &str); 13] = [
    ("help", "", "this list"),
    (
        "nodes",
        "",
        "list nodes: id, name, type, parameters, inputs",
    ),
    ("types", "", "list the node types `add` knows"),
    (
        "set",
        "<node> <param> <value> [ramp_ms]",
        "set a parameter, optionally ramping over ramp_ms",
    ),
    (
        "add",
        "<Type> [name]",
        "add a node (unconnected); prints its id",
    ),
    (
        "connect",
        "<source> <destination> <slot>",
        "feed source into input slot of destination",
    ),
    (
        "disconnect",
        "<destination> <slot>",
        "empty input slot of destination",
    ),
    ("remove", "<node>", "remove a node and its edges"),
    ("output", "<node>", "play this node's output"),
    ("save", "<path>", "write the running patch as JSON"),
    (
        "stats",
        "",
        "callback load, block times, misses, commands applied",
    ),
    ("quit", "", "stop playing (end of input does the same)"),
    ("#", "...", "a comment (ignored)"),
];

/// One parsed console command. Node references stay text until they are resolved against the
/// session (ids or names).
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `help`.
    Help,
    /// `nodes`.
    Nodes,
    /// `types`.
    Types,
    /// `set <node> <param> <value> [ramp_ms]`.
    Set {
        /// Node id or name.
        node: String,
        /// Parameter name.
        param: String,
        /// Target value (finite).
        value: f32,
        /// Ramp length in milliseconds, `0..=MAX_RAMP_MS`.
        ramp_ms: f32,
    },
    /// `add <Type> [name]`.
    Add {
        /// Registered node type.
        type_name: String,
        /// Optional name to address the node by.
        name: Option<String>,
    },
    /// `connect <source> <destination> <slot>`.
    Connect {
        /// Source node id or name.
        source: String,
        /// Destination node id or name.
        destination: String,
        /// Input slot of the destination.
        slot: usize,
    },
    /// `disconnect <destination> <slot>`.
    Disconnect {
        /// Destination node id or name.
        destination: String,
        /// Input slot to empty.
        slot: usize,
    },
    /// `remove <node>`.
    Remove {
        /// Node id or name.
        node: String,
    },
    /// `output <node>`.
    Output {
        /// Node id or name.
        node: String,
    },
    /// `save <path>`.
    Save {
        /// Where to write the JSON patch.
        path: PathBuf,
    },
    /// `stats`.
    Stats,
    /// `quit` (or `exit`).
    Quit,
}

/// Why a console command failed. Each message names what was wrong and, where it helps, what
/// would be accepted. The engine is unchanged unless the message says otherwise.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsoleError {
    /// The first word is no command.
    #[error("unknown command {command:?} (`help` lists the commands)")]
    UnknownCommand {
        /// The word.
        command: String,
    },
    /// Wrong number of arguments.
    #[error("usage: {usage}")]
    Usage {
        /// The command's usage line.
        usage: String,
    },
    /// A `"` was opened and not closed.
    #[error("unterminated quote in {line:?}")]
    UnterminatedQuote {
        /// The line.
        line: String,
    },
    /// A number did not parse (or was not finite).
    #[error("{text:?} is not a valid {what}")]
    BadNumber {
        /// What the number was for.
        what: &'static str,
        /// The text given.
        text: String,
    },
    /// No node has that id or name.
    #[error("no node {node:?} (`nodes` lists ids and names)")]
    UnknownNode {
        /// The reference given.
        node: String,
    },
    /// Several nodes carry that name.
    #[error("the name {name:?} is ambiguous (nodes {ids:?} carry it): use an id")]
    AmbiguousName {
        /// The name.
        name: String,
        /// The ids of the nodes carrying it.
        ids: Vec<u32>,
    },
    /// The node has no parameter of that name.
    #[error("node {node} has no parameter {param:?} ({known})")]
    UnknownParam {
        /// The node, described.
        node: String,
        /// The name given.
        param: String,
        /// The parameters it has.
        known: String,
    },
    /// The value is outside the parameter's declared range (never clamped silently).
    #[error("node {node}: {param} = {value} is outside its range [{min}, {max}]")]
    ParamOutOfRange {
        /// The node, described.
        node: String,
        /// The parameter.
        param: String,
        /// The value given.
        value: f32,
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// The ramp length is negative or too long.
    #[error("a ramp of {ramp_ms} ms is out of range (0 to {MAX_RAMP_MS} ms)")]
    BadRamp {
        /// The ramp given.
        ramp_ms: f32,
    },
    /// The input slot does not exist.
    #[error("input slot {slot} of node {node} is out of range (nodes have inputs 0 to {})", MAX_INPUTS - 1)]
    SlotOutOfRange {
        /// The node, described.
        node: String,
        /// The slot given.
        slot: usize,
    },
    /// The connection would close a cycle.
    #[error("connecting {from} -> {to} would create a cycle: {cycle}")]
    Cycle {
        /// The source of the refused edge, described.
        from: String,
        /// The destination of the refused edge, described.
        to: String,
        /// The nodes on the cycle, in signal-flow order.
        cycle: String,
    },
    /// No node type of that name.
    #[error("unknown node type {type_name:?} (known: {known})")]
    UnknownType {
        /// The name given.
        type_name: String,
        /// The registered types.
        known: String,
    },
    /// The name given to `add` is used already.
    #[error("the name {name:?} is taken by node {id}")]
    NameTaken {
        /// The name.
        name: String,
        /// The node carrying it.
        id: u32,
    },
    /// The name given to `add` cannot address a node (empty, or a number).
    #[error("{name:?} cannot name a node: a name must be non-empty and not a number")]
    BadName {
        /// The name.
        name: String,
    },
    /// The graph refused the edit for another reason (for example, it is full).
    #[error("{message}")]
    Refused {
        /// The graph's or registry's message.
        message: String,
    },
    /// The command ring stayed full: the edit is made and stays pending; it is retried.
    #[error(
        "the audio side took no commands for {waited_ms} ms; the edit stays pending and is retried"
    )]
    Busy {
        /// How long the console waited.
        waited_ms: u64,
    },
    /// The audio side is gone.
    #[error("the audio engine has stopped; edits cannot reach it")]
    AudioStopped,
    /// `save` could not write the file.
    #[error("cannot save {path}: {message}")]
    Save {
        /// The path given.
        path: String,
        /// The file system's message.
        message: String,
    },
}

fn usage(command: &str) -> ConsoleError {
    let arguments = COMMANDS
        .iter()
        .find(|(name, _, _)| *name == command)
        .map_or("", |(_, arguments, _)| arguments);
    ConsoleError::Usage {
        usage: format!("{command} {arguments}").trim_end().to_string(),
    }
}

/// Splits a line into words; double quotes group words and are removed.
fn tokenize(line: &str) -> Result<Vec<String>, ConsoleError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(ConsoleError::UnterminatedQuote { line: line.into() });
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn number(text: &str, what: &'static str) -> Result<f32, ConsoleError> {
    text.parse::<f32>()
        .ok()
        .filter(|value| value.is_finite())
        .ok_or_else(|| ConsoleError::BadNumber {
            what,
            text: text.into(),
        })
}

fn slot(text: &str) -> Result<usize, ConsoleError> {
    text.parse::<usize>().map_err(|_| ConsoleError::BadNumber {
        what: "input slot (a whole number)",
        text: text.into(),
    })
}

/// Parses one console line. `Ok(None)` for an empty line or a `#` comment.
pub fn parse(line: &str) -> Result<Option<Request>, ConsoleError> {
    let words = tokenize(line)?;
    let Some(command) = words.first() else {
        return Ok(None);
    };
    if command.starts_with('#') {
        return Ok(None);
    }
    let command = command.to_ascii_lowercase();
    let arguments: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let request = match (command.as_str(), arguments.as_slice()) {
        ("help" | "?", []) => Request::Help,
        ("nodes" | "ls", []) => Request::Nodes,
        ("types", []) => Request::Types,
        ("set", [node, param, value]) | ("set", [node, param, value, _]) => {
            let ramp_ms = match arguments.get(3) {
                Some(text) => number(text, "ramp in milliseconds")?,
                None => 0.0,
            };
            if !(0.0..=MAX_RAMP_MS).contains(&ramp_ms) {
                return Err(ConsoleError::BadRamp { ramp_ms });
            }
            Request::Set {
                node: (*node).into(),
                param: (*param).into(),
                value: number(value, "parameter value")?,
                ramp_ms,
            }
        }
        ("add", [type_name]) => Request::Add {
            type_name: (*type_name).into(),
            name: None,
        },
        ("add", [type_name, name]) => Request::Add {
            type_name: (*type_name).into(),
            name: Some((*name).into()),
        },
        ("connect", [source, destination, input]) => Request::Connect {
            source: (*source).into(),
            destination: (*destination).into(),
            slot: slot(input)?,
        },
        ("disconnect", [destination, input]) => Request::Disconnect {
            destination: (*destination).into(),
            slot: slot(input)?,
        },
        ("remove" | "rm", [node]) => Request::Remove {
            node: (*node).into(),
        },
        ("output", [node]) => Request::Output {
            node: (*node).into(),
        },
        ("save", [path]) => Request::Save {
            path: PathBuf::from(path),
        },
        ("stats", []) => Request::Stats,
        ("quit" | "exit", []) => Request::Quit,
        (
            known @ ("help" | "nodes" | "types" | "set" | "add" | "connect" | "disconnect"
            | "remove" | "output" | "save" | "stats" | "quit"),
            _,
        ) => return Err(usage(known)),
        _ => {
            return Err(ConsoleError::UnknownCommand {
                command: words[0].clone(),
            });
        }
    };
    Ok(Some(request))
}

/// What a successful command answers: listing lines, then the `ok` status text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// Listing lines (printed indented, before the status line).
    pub details: Vec<String>,
    /// The text after `ok`.
    pub summary: String,
    /// The session should end.
    pub quit: bool,
}

impl Answer {
    fn ok(summary: impl Into<String>) -> Self {
        Answer {
            summary: summary.into(),
            ..Answer::default()
        }
    }
}

/// The console's answer to one line: listing lines, then one status line (`ok ...` or
/// `error: ...`), as its [`Display`](fmt::Display) prints them.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The command's outcome.
    pub outcome: Result<Answer, ConsoleError>,
}

impl Response {
    /// `true` if the session should end.
    pub fn quit(&self) -> bool {
        self.outcome.as_ref().is_ok_and(|answer| answer.quit)
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Ok(answer) => {
                for line in &answer.details {
                    writeln!(f, "  {line}")?;
                }
                if answer.summary.is_empty() {
                    f.write_str("ok")
                } else {
                    write!(f, "ok {}", answer.summary)
                }
            }
            // Messages are one line: fold any newline a cause might carry.
            Err(error) => write!(f, "error: {}", error.to_string().replace('\n', " ")),
        }
    }
}

/// A node the console knows: its engine id and its name, if it has one.
#[derive(Debug, Clone)]
struct ConsoleNode {
    id: NodeId,
    name: Option<String>,
    /// Bytes of state its type's footprint declares (0 without one), for the state budget.
    state_bytes: usize,
}

/// A console session on a running engine: the [`Controller`], the node registry for `add`, the
/// console's node ids and names, and (when playing) the callback's [`PlaybackMonitor`].
///
/// # Real-time contract
///
/// Control thread only; everything allocates. [`tick`](Self::tick) should run regularly (every
/// few tens of milliseconds) so what the audio side hands back is dropped here promptly.
pub struct Session {
    controller: Controller,
    registry: NodeRegistry,
    nodes: BTreeMap<u32, ConsoleNode>,
    next_id: u32,
    monitor: Option<PlaybackMonitor>,
    edits: EditCounts,
    commit_timeout: Duration,
    /// The node-state budget, held for every node the console adds as for the loaded patch.
    limits: aether_state::RestoreLimits,
    /// Bytes of state the session's nodes declare, summed.
    state_bytes: usize,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("nodes", &self.nodes.len())
            .field("edits", &self.edits)
            .finish_non_exhaustive()
    }
}

/// The bytes of state a node of `type_name` with `state` declares through its type's footprint
/// (0 for types without one, or a state the footprint refuses: building it reports that).
fn footprint_bytes(registry: &NodeRegistry, type_name: &str, state: &NodeState) -> usize {
    registry
        .footprint(type_name)
        .and_then(|footprint| (footprint.state_bytes)(state).ok())
        .unwrap_or(0)
}

impl Session {
    /// Restores `patch` into the controller's graph (replacing what it held) and commits it.
    /// Console ids are the patch's node ids; names are their labels.
    pub fn load(
        controller: Controller,
        registry: NodeRegistry,
        patch: &GraphSnapshot,
    ) -> Result<Self, SnapshotError> {
        Self::load_within(
            controller,
            registry,
            patch,
            aether_state::RestoreLimits::default(),
        )
    }

    /// [`load`](Self::load) within `limits` (the patch's node-state budget).
    pub fn load_within(
        mut controller: Controller,
        registry: NodeRegistry,
        patch: &GraphSnapshot,
        limits: aether_state::RestoreLimits,
    ) -> Result<Self, SnapshotError> {
        let restored = patch.restore_within(&registry, controller.graph_mut(), limits)?;
        let nodes: BTreeMap<u32, ConsoleNode> = patch
            .nodes
            .iter()
            .filter_map(|node| {
                let id = restored.node(node.id)?;
                Some((
                    node.id,
                    ConsoleNode {
                        id,
                        name: node.label.clone(),
                        state_bytes: footprint_bytes(&registry, &node.type_name, &node.state),
                    },
                ))
            })
            .collect();
        let state_bytes = nodes.values().map(|node| node.state_bytes).sum();
        let next_id = nodes
            .last_key_value()
            .map_or(0, |(&last, _)| last.saturating_add(1));
        let mut session = Session {
            controller,
            registry,
            nodes,
            next_id,
            monitor: None,
            edits: EditCounts::default(),
            commit_timeout: DEFAULT_COMMIT_TIMEOUT,
            limits,
            state_bytes,
        };
        // A fresh engine has room; if not, the edits stay pending and `tick` retries.
        let _ = session.controller.commit();
        Ok(session)
    }

    /// Attaches the playback callback's monitor, for `stats` and [`report`](Self::report).
    pub fn attach_monitor(&mut self, monitor: PlaybackMonitor) {
        self.monitor = Some(monitor);
    }

    /// How long an edit waits for room in the command ring (default
    /// [`DEFAULT_COMMIT_TIMEOUT`]).
    pub fn set_commit_timeout(&mut self, timeout: Duration) {
        self.commit_timeout = timeout;
    }

    /// The engine's control half.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Console commands that succeeded and failed so far.
    pub fn edits(&self) -> EditCounts {
        self.edits
    }

    /// The full measurement report, if a monitor is attached.
    pub fn report(&self) -> Option<PlaybackReport> {
        self.monitor
            .as_ref()
            .map(|monitor| monitor.report(self.controller.stats(), self.edits))
    }

    /// Housekeeping for the control loop: drops what the audio side handed back and retries
    /// edits a full ring left pending.
    pub fn tick(&mut self) {
        self.controller.collect_garbage();
        if self.controller.has_pending_changes() {
            let _ = self.controller.commit();
        }
    }

    /// Parses and runs one line. `None` for an empty line or a comment.
    pub fn handle_line(&mut self, line: &str) -> Option<Response> {
        let outcome = match parse(line) {
            Ok(None) => return None,
            Ok(Some(request)) => self.execute(request),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(_) => self.edits.succeeded += 1,
            Err(_) => self.edits.failed += 1,
        }
        Some(Response { outcome })
    }

    /// Runs one command.
    pub fn execute(&mut self, request: Request) -> Result<Answer, ConsoleError> {
        match request {
            Request::Help => Ok(self.help()),
            Request::Nodes => Ok(self.list_nodes()),
            Request::Types => {
                let details: Vec<String> = self.registry.type_names().map(str::to_string).collect();
                let summary = format!("{} node types", details.len());
                Ok(Answer {
                    details,
                    summary,
                    quit: false,
                })
            }
            Request::Set {
                node,
                param,
                value,
                ramp_ms,
            } => self.set(&node, &param, value, ramp_ms),
            Request::Add { type_name, name } => self.add(&type_name, name),
            Request::Connect {
                source,
                destination,
                slot,
            } => self.connect(&source, &destination, slot),
            Request::Disconnect { destination, slot } => self.disconnect(&destination, slot),
            Request::Remove { node } => self.remove(&node),
            Request::Output { node } => {
                let (console_id, id) = self.resolve(&node)?;
                self.controller
                    .graph_mut()
                    .set_output_node(id)
                    .map_err(|error| self.graph_error(error))?;
                self.commit()?;
                Ok(Answer::ok(format!(
                    "output is {}",
                    self.describe(console_id)
                )))
            }
            Request::Save { path } => {
                let snapshot = self.snapshot();
                let display = path.display().to_string();
                let saved = (|| {
                    let mut file = crate::output::OutputFile::create(&path)?;
                    std::io::Write::write_all(&mut file, snapshot.to_json_pretty().as_bytes())
                        .and_then(|()| std::io::Write::write_all(&mut file, b"\n"))
                        .map_err(|error| CliError::new(&display, error))?;
                    file.finish()
                })();
                saved.map_err(|error| ConsoleError::Save {
                    path: display.clone(),
                    message: error.cause(),
                })?;
                Ok(Answer::ok(format!(
                    "saved {} nodes and {} edges to {display}",
                    snapshot.nodes.len(),
                    snapshot.edges.len()
                )))
            }
            Request::Stats => Ok(Answer::ok(match self.report() {
                Some(report) => report.one_line(),
                None => {
                    let stats = self.controller.stats();
                    format!(
                        "blocks {}, non-finite {}, commands applied {}",
                        stats.blocks, stats.non_finite_samples, stats.commands_applied
                    )
                }
            })),
            Request::Quit => Ok(Answer {
                quit: true,
                ..Answer::ok("bye")
            }),
        }
    }

    /// The running patch as a snapshot, numbered with the console's ids and carrying its names,
    /// so a saved file reloads with the same ids.
    pub fn snapshot(&self) -> GraphSnapshot {
        let mut snapshot = GraphSnapshot::capture_engine(&self.controller);
        let description = self.controller.graph().describe();
        let mut renumbered: BTreeMap<u32, u32> = BTreeMap::new();
        let mut spare = self.next_id;
        for (node, described) in snapshot.nodes.iter_mut().zip(&description.nodes) {
            let id = NodeId::from_bits(described.id);
            let console_id = match self.nodes.iter().find(|(_, known)| known.id == id) {
                Some((&console_id, known)) => {
                    node.label = known.name.clone();
                    console_id
                }
                None => {
                    spare = spare.saturating_add(1);
                    spare
                }
            };
            renumbered.insert(node.id, console_id);
            node.id = console_id;
        }
        let map = |file_id: u32| renumbered.get(&file_id).copied().unwrap_or(file_id);
        for edge in &mut snapshot.edges {
            edge.from = map(edge.from);
            edge.to = map(edge.to);
        }
        snapshot.output = snapshot.output.map(map);
        snapshot
    }

    fn help(&self) -> Answer {
        let details = COMMANDS
            .iter()
            .map(|(name, arguments, text)| format!("{:<44} {text}", format!("{name} {arguments}")))
            .collect();
        Answer {
            details,
            summary: format!("{} commands", COMMANDS.len()),
            quit: false,
        }
    }

    fn list_nodes(&self) -> Answer {
        let graph = self.controller.graph();
        let output = graph.output_node();
        let mut details = Vec::with_capacity(self.nodes.len());
        let mut edges = 0;
        for (&console_id, node) in &self.nodes {
            let mut line = self.describe(console_id);
            if output == Some(node.id) {
                line.push_str(" [output]");
            }
            if let Some(params) = graph.params(node.id) {
                let values: Vec<String> = (0..params.len())
                    .filter_map(|index| {
                        let meta = params.meta(index)?;
                        let value = graph.param_value(node.id, index)?;
                        Some(format!("{}={value}{}", meta.name, meta.unit.symbol()))
                    })
                    .collect();
                if !values.is_empty() {
                    line.push_str(": ");
                    line.push_str(&values.join(" "));
                }
            }
            if let Some(inputs) = graph.inputs(node.id) {
                let connected: Vec<String> = inputs
                    .iter()
                    .enumerate()
                    .filter_map(|(slot, source)| {
                        Some(format!("{slot}<-{}", self.console_id((*source)?)?))
                    })
                    .collect();
                edges += connected.len();
                if !connected.is_empty() {
                    line.push_str("; inputs ");
                    line.push_str(&connected.join(" "));
                }
            }
            details.push(line);
        }
        let output = output
            .and_then(|id| self.console_id(id))
            .map_or_else(|| "none".to_string(), |id| id.to_string());
        Answer {
            summary: format!("{} nodes, {edges} edges, output {output}", details.len()),
            details,
            quit: false,
        }
    }

    fn set(
        &mut self,
        node: &str,
        param: &str,
        value: f32,
        ramp_ms: f32,
    ) -> Result<Answer, ConsoleError> {
        let (console_id, id) = self.resolve(node)?;
        let graph = self.controller.graph();
        let unknown_param = || {
            let known: Vec<&str> = graph
                .params(id)
                .map(|params| params.metas().iter().map(|meta| meta.name).collect())
                .unwrap_or_default();
            ConsoleError::UnknownParam {
                node: self.describe(console_id),
                param: param.into(),
                known: if known.is_empty() {
                    "it has none".into()
                } else {
                    format!("it has: {}", known.join(", "))
                },
            }
        };
        let index = graph.param_index(id, param).map_err(|_| unknown_param())?;
        let meta = *graph
            .params(id)
            .and_then(|params| params.meta(index))
            .ok_or_else(unknown_param)?;
        if !(meta.min..=meta.max).contains(&value) {
            return Err(ConsoleError::ParamOutOfRange {
                node: self.describe(console_id),
                param: param.into(),
                value,
                min: meta.min,
                max: meta.max,
            });
        }
        let ramp_samples = (f64::from(ramp_ms) / 1_000.0 * f64::from(self.controller.sample_rate()))
            .round() as u32;
        self.controller
            .graph_mut()
            .set_param(id, index, value, ramp_samples)
            .map_err(|error| self.graph_error(error))?;
        self.commit()?;
        let ramp = if ramp_samples > 0 {
            format!(" over {ramp_ms} ms")
        } else {
            String::new()
        };
        Ok(Answer::ok(format!(
            "{} {param} = {value}{}{ramp}",
            self.describe(console_id),
            meta.unit.symbol()
        )))
    }

    fn add(&mut self, type_name: &str, name: Option<String>) -> Result<Answer, ConsoleError> {
        if let Some(name) = &name {
            if name.is_empty() || name.parse::<u32>().is_ok() {
                return Err(ConsoleError::BadName { name: name.clone() });
            }
            if let Some((&id, _)) = self
                .nodes
                .iter()
                .find(|(_, node)| node.name.as_ref() == Some(name))
            {
                return Err(ConsoleError::NameTaken {
                    name: name.clone(),
                    id,
                });
            }
        }
        let state_bytes = footprint_bytes(&self.registry, type_name, &NodeState::new());
        let left = self.limits.state_budget.saturating_sub(self.state_bytes);
        if state_bytes > left {
            return Err(ConsoleError::Refused {
                message: format!(
                    "a {} asks for {state_bytes} bytes of state, but only {left} of the \
                     {}-byte state budget are left",
                    Shown(type_name),
                    self.limits.state_budget
                ),
            });
        }
        let instance = self
            .registry
            .create(type_name, &NodeState::new())
            .map_err(|error| match error {
                RegistryError::UnknownType(_) => ConsoleError::UnknownType {
                    type_name: type_name.into(),
                    known: self.registry.type_names().collect::<Vec<_>>().join(", "),
                },
                other => ConsoleError::Refused {
                    message: other.to_string(),
                },
            })?;
        let id = self
            .controller
            .graph_mut()
            .add_node(instance)
            .map_err(|error| ConsoleError::Refused {
                message: error.to_string(),
            })?;
        let console_id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.nodes.insert(
            console_id,
            ConsoleNode {
                id,
                name,
                state_bytes,
            },
        );
        self.state_bytes += state_bytes;
        self.commit()?;
        Ok(Answer::ok(format!("added {}", self.describe(console_id))))
    }

    fn connect(
        &mut self,
        source: &str,
        destination: &str,
        slot: usize,
    ) -> Result<Answer, ConsoleError> {
        let (source_console, source_id) = self.resolve(source)?;
        let (destination_console, destination_id) = self.resolve(destination)?;
        self.check_slot(destination_console, slot)?;
        let previous = self
            .controller
            .graph_mut()
            .connect(source_id, destination_id, slot)
            .map_err(|error| self.graph_error(error))?;
        self.commit()?;
        let replaced = previous
            .filter(|&previous| previous != source_id)
            .and_then(|previous| self.console_id(previous))
            .map(|previous| format!(" (replacing {})", self.describe(previous)))
            .unwrap_or_default();
        Ok(Answer::ok(format!(
            "connected {} -> {} input {slot}{replaced}",
            self.describe(source_console),
            self.describe(destination_console)
        )))
    }

    fn disconnect(&mut self, destination: &str, slot: usize) -> Result<Answer, ConsoleError> {
        let (destination_console, destination_id) = self.resolve(destination)?;
        self.check_slot(destination_console, slot)?;
        let previous = self
            .controller
            .graph_mut()
            .disconnect(destination_id, slot)
            .map_err(|error| self.graph_error(error))?;
        self.commit()?;
        let destination = self.describe(destination_console);
        Ok(Answer::ok(
            match previous.and_then(|previous| self.console_id(previous)) {
                Some(source) => format!(
                    "disconnected {} from {destination} input {slot}",
                    self.describe(source)
                ),
                None => format!("input {slot} of {destination} was not connected"),
            },
        ))
    }

    fn remove(&mut self, node: &str) -> Result<Answer, ConsoleError> {
        let (console_id, id) = self.resolve(node)?;
        let described = self.describe(console_id);
        let was_output = self.controller.graph().output_node() == Some(id);
        self.controller
            .graph_mut()
            .remove_node(id)
            .map_err(|error| self.graph_error(error))?;
        if let Some(removed) = self.nodes.remove(&console_id) {
            self.state_bytes = self.state_bytes.saturating_sub(removed.state_bytes);
        }
        self.commit()?;
        let note = if was_output {
            " (it was the output: silence until `output` names another node)"
        } else {
            ""
        };
        Ok(Answer::ok(format!("removed {described}{note}")))
    }

    /// Sends the graph's pending edits, retrying for up to the commit timeout while the ring is
    /// full.
    fn commit(&mut self) -> Result<(), ConsoleError> {
        let started = Instant::now();
        loop {
            match self.controller.commit() {
                Ok(report) if report.params_pending == 0 => return Ok(()),
                Ok(_) | Err(CommitError::Busy { .. }) => {}
                Err(CommitError::Disconnected) => return Err(ConsoleError::AudioStopped),
                Err(other) => {
                    return Err(ConsoleError::Refused {
                        message: other.to_string(),
                    });
                }
            }
            let waited = started.elapsed();
            if waited >= self.commit_timeout {
                return Err(ConsoleError::Busy {
                    waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Finds a node by console id or name.
    fn resolve(&self, reference: &str) -> Result<(u32, NodeId), ConsoleError> {
        let unknown = || ConsoleError::UnknownNode {
            node: reference.into(),
        };
        if let Ok(console_id) = reference.parse::<u32>() {
            return self
                .nodes
                .get(&console_id)
                .map(|node| (console_id, node.id))
                .ok_or_else(unknown);
        }
        let matches: Vec<(u32, NodeId)> = self
            .nodes
            .iter()
            .filter(|(_, node)| node.name.as_deref() == Some(reference))
            .map(|(&console_id, node)| (console_id, node.id))
            .collect();
        match matches.as_slice() {
            [] => Err(unknown()),
            [single] => Ok(*single),
            several => Err(ConsoleError::AmbiguousName {
                name: reference.into(),
                ids: several.iter().map(|&(console_id, _)| console_id).collect(),
            }),
        }
    }

    fn check_slot(&self, console_id: u32, slot: usize) -> Result<(), ConsoleError> {
        if slot < MAX_INPUTS {
            Ok(())
        } else {
            Err(ConsoleError::SlotOutOfRange {
                node: self.describe(console_id),
                slot,
            })
        }
    }

    fn console_id(&self, id: NodeId) -> Option<u32> {
        self.nodes
            .iter()
            .find(|(_, node)| node.id == id)
            .map(|(&console_id, _)| console_id)
    }

    /// `3 "lead filter" (Biquad)`, or `3 (Biquad)` for a node without a name.
    fn describe(&self, console_id: u32) -> String {
        let Some(node) = self.nodes.get(&console_id) else {
            return console_id.to_string();
        };
        let type_name = self.controller.graph().type_name(node.id).unwrap_or("?");
        match &node.name {
            Some(name) => format!("{console_id} {name:?} ({type_name})"),
            None => format!("{console_id} ({type_name})"),
        }
    }

    fn describe_id(&self, id: NodeId) -> String {
        self.console_id(id).map_or_else(
            || format!("<engine node {id}>"),
            |console_id| self.describe(console_id),
        )
    }

    /// Translates a graph error into console terms (console ids and names instead of engine
    /// ids).
    fn graph_error(&self, error: GraphError) -> ConsoleError {
        match error {
            GraphError::Cycle {
                source,
                destination,
                cycle,
            } => ConsoleError::Cycle {
                from: self.describe_id(source),
                to: self.describe_id(destination),
                cycle: cycle
                    .iter()
                    .map(|&id| self.describe_id(id))
                    .collect::<Vec<_>>()
                    .join(" -> "),
            },
            GraphError::UnknownNode(id) => ConsoleError::UnknownNode {
                node: self.describe_id(id),
            },
            GraphError::SlotOutOfRange { node, slot } => ConsoleError::SlotOutOfRange {
                node: self.describe_id(node),
                slot,
            },
            other => ConsoleError::Refused {
                message: other.to_string(),
            },
        }
    }
}
