//! Compilation of a [`Graph`] into a flat [`Schedule`] the audio thread can run.

use alloc::vec::Vec;

use crate::NodeId;
use crate::graph::Graph;
use crate::node::{DEFAULT_COST_HINT_NS, MAX_INPUTS};

/// Marks an unconnected input in [`Step::inputs`].
pub const NO_BUFFER: u32 = u32::MAX;

/// One node's work in a [`Schedule`]: which node runs, which buffers it reads, which it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The node that runs; `node.index()` is its slot in audio-side tables.
    pub node: NodeId,
    /// Index of the buffer the node writes.
    pub output: u32,
    /// For each input slot, the buffer it reads, or [`NO_BUFFER`].
    pub inputs: [u32; MAX_INPUTS],
    /// One past the highest connected input slot: slots `input_end..` are all unconnected.
    pub input_end: u8,
}

/// A compiled, immutable execution plan: nodes in dependency order with their buffers.
///
/// Only [`Compiler::compile`] builds one, and it guarantees the invariants the audio side
/// relies on (see [`Schedule::check`]):
/// - every buffer index is `< buffer_count()`;
/// - a step's output buffer is none of its input buffers;
/// - a step reads only buffers written by earlier steps and not overwritten since
///   (buffers are assigned by liveness: a buffer is reused once its last reader has run).
///
/// Only the nodes the output node depends on are scheduled: a node whose signal cannot reach
/// the output is not run. With no output node the schedule is empty and the engine plays silence.
///
/// For a parallel executor the schedule also carries, per step, the number of distinct
/// predecessor steps and the list of successor steps (compressed sparse rows). Buffer reuse
/// adds write-after-read hazards between steps that are independent in the graph; an executor
/// that runs steps concurrently must account for them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    steps: Vec<Step>,
    buffer_count: u32,
    output_buffer: Option<u32>,
    slot_bound: u32,
    predecessor_counts: Vec<u32>,
    successor_offsets: Vec<u32>,
    successors: Vec<u32>,
    graph_version: u64,
    /// Present only for [`Compiler::compile_parallel`] output.
    tasks: Option<TaskGraph>,
}

impl Schedule {
    /// The steps in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// `true` if nothing runs (no output node).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Number of audio buffers the schedule needs.
    pub fn buffer_count(&self) -> usize {
        self.buffer_count as usize
    }

    /// The buffer holding the output node's block after the last step, if there is an output.
    pub fn output_buffer(&self) -> Option<u32> {
        self.output_buffer
    }

    /// One past the highest node slot index any step uses: audio-side node tables must have at
    /// least this many entries.
    pub fn slot_bound(&self) -> usize {
        self.slot_bound as usize
    }

    /// For each step, how many distinct earlier steps feed it.
    pub fn predecessor_counts(&self) -> &[u32] {
        &self.predecessor_counts
    }

    /// The distinct steps fed by step `step`.
    pub fn successors(&self, step: usize) -> &[u32] {
        let start = self.successor_offsets.get(step).copied().unwrap_or(0) as usize;
        let end = self.successor_offsets.get(step + 1).copied().unwrap_or(0) as usize;
        self.successors.get(start..end).unwrap_or(&[])
    }

    /// The [`Graph::version`] this schedule was compiled from.
    pub fn graph_version(&self) -> u64 {
        self.graph_version
    }

    /// The task graph for parallel execution: `Some` only for a schedule built by
    /// [`Compiler::compile_parallel`], whose buffers are hazard-free (every step writes its own
    /// buffer, so any order consistent with the dependency edges computes the same result).
    pub fn tasks(&self) -> Option<&TaskGraph> {
        self.tasks.as_ref()
    }

    /// Verifies the invariants listed on [`Schedule`]. `Compiler` output always passes; the
    /// engine re-checks every schedule on the control side before sending it, as defence in depth.
    pub fn check(&self) -> Result<(), &'static str> {
        let count = self.buffer_count;
        let mut written = alloc::vec![false; count as usize];
        for step in &self.steps {
            if step.output >= count {
                return Err("output buffer out of range");
            }
            if step.node.index() >= self.slot_bound {
                return Err("node slot out of range");
            }
            for (slot, &input) in step.inputs.iter().enumerate() {
                if input == NO_BUFFER {
                    continue;
                }
                if slot >= step.input_end as usize {
                    return Err("connected input past input_end");
                }
                if input >= count {
                    return Err("input buffer out of range");
                }
                if input == step.output {
                    return Err("a step's output aliases one of its inputs");
                }
                if !written[input as usize] {
                    return Err("a step reads a buffer no earlier step wrote");
                }
            }
            written[step.output as usize] = true;
        }
        if let Some(buffer) = self.output_buffer
            && buffer >= count
        {
            return Err("output buffer out of range");
        }
        match &self.tasks {
            Some(tasks) => self.check_tasks(tasks),
            None => Ok(()),
        }
    }

    /// The extra invariants of a parallel schedule: every buffer is written by exactly one step,
    /// every step belongs to exactly one task, tasks list their steps in schedule order, task
    /// edges point from lower to higher task numbers (so the task graph is acyclic) and are
    /// listed once, and every dependency between steps of different tasks is an edge of the task
    /// graph.
    fn check_tasks(&self, tasks: &TaskGraph) -> Result<(), &'static str> {
        let mut writer = alloc::vec![NO_STEP; self.buffer_count as usize];
        for (index, step) in self.steps.iter().enumerate() {
            match writer.get_mut(step.output as usize) {
                Some(slot) if *slot == NO_STEP => *slot = index as u32,
                _ => return Err("a parallel schedule reuses a buffer"),
            }
        }
        if tasks.predecessor_counts.len() != tasks.len()
            || tasks.successor_offsets.len() != tasks.len() + 1
            || tasks.step_offsets.len() != tasks.len() + 1
        {
            return Err("task graph arrays disagree in length");
        }
        let mut task_of = alloc::vec![NO_STEP; self.steps.len()];
        // Per task: the last task that listed it as a successor (catches duplicate edges).
        let mut listed_by = alloc::vec![NO_STEP; tasks.len()];
        for task in 0..tasks.len() {
            let mut previous = None;
            for &step in tasks.steps(task) {
                match task_of.get_mut(step as usize) {
                    Some(slot) if *slot == NO_STEP => *slot = task as u32,
                    _ => return Err("a step is in no task or in two"),
                }
                if previous.is_some_and(|previous| previous >= step) {
                    return Err("a task lists its steps out of schedule order");
                }
                previous = Some(step);
            }
            for &successor in tasks.successors(task) {
                if successor as usize <= task || successor as usize >= tasks.len() {
                    return Err("a task edge does not point forward");
                }
                if core::mem::replace(&mut listed_by[successor as usize], task as u32)
                    == task as u32
                {
                    return Err("a task lists a successor twice");
                }
            }
        }
        if task_of.contains(&NO_STEP) {
            return Err("a step is in no task or in two");
        }
        let mut incoming = alloc::vec![0u32; tasks.len()];
        for task in 0..tasks.len() {
            for &successor in tasks.successors(task) {
                incoming[successor as usize] += 1;
            }
        }
        if incoming != tasks.predecessor_counts {
            return Err("task predecessor counts disagree with the successor lists");
        }
        for (index, step) in self.steps.iter().enumerate() {
            let task = task_of[index];
            for &input in &step.inputs {
                if input == NO_BUFFER {
                    continue;
                }
                let source_task = task_of[writer[input as usize] as usize];
                if source_task != task && !tasks.successors(source_task as usize).contains(&task) {
                    return Err("a cross-task dependency is not a task edge");
                }
            }
        }
        Ok(())
    }
}

/// How a compiled schedule's steps are grouped into tasks for a parallel executor, with the
/// dependencies between tasks (compressed sparse rows). Built by [`Compiler::compile_parallel`]
/// and [`Compiler::compile_parallel_with`], in two passes on the control thread:
///
/// 1. **Chains are fused**: a step whose only predecessor has it as its only successor joins
///    that predecessor's task, so a task is a chain of steps run in order by one thread. Fusing
///    a chain never removes parallelism (its steps could not run concurrently anyway) and saves
///    the per-task scheduling cost.
/// 2. **Light independent tasks are grouped** (unless [`TaskGrouping::target_ns`] is 0). A
///    task's cost is the sum of its steps' cost hints ([`Graph::cost_hint`], nanoseconds per
///    block); its level is the length of the longest task path from a task without
///    predecessors. Tasks of one level never depend on each other, so grouping only tasks of the
///    same level cannot create a cycle. Per level:
///    - a task costing at least the target stays a task of its own (a heavy task gains nothing
///      from company: its scheduling overhead is already small next to its work);
///    - the other (light) tasks are taken in task order (schedule order, so the sources of one
///      mixer are neighbours) and cut into consecutive groups, each closed as soon as its
///      summed cost reaches the target; a remainder below the target joins the level's last
///      group. So every group reaches the target, unless the level's light work is less than
///      the target and forms a single group;
///    - but the level keeps one task per thread when it has the tasks: if that gives fewer
///      than `min(threads - heavy tasks of the level, light tasks)` groups, the light tasks are
///      cut into exactly that many consecutive groups of about equal cost instead (each below
///      the target then: there is not enough work for more).
///
///    A group runs its members' steps in schedule order; its successors are the union of its
///    members' successors (each listed once). [`TaskGrouping`] says why the default target is
///    what it is.
///
/// Tasks are numbered in topological order (a task's successors have higher numbers; after
/// grouping, by level and then by first member), and the steps of a task are listed in
/// schedule order. [`Schedule::check`] verifies all of this.
///
/// Plain data: reading it never allocates, so executors read it on the audio thread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskGraph {
    step_offsets: Vec<u32>,
    steps: Vec<u32>,
    predecessor_counts: Vec<u32>,
    successor_offsets: Vec<u32>,
    successors: Vec<u32>,
}

impl TaskGraph {
    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.predecessor_counts.len()
    }

    /// `true` if there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.predecessor_counts.is_empty()
    }

    /// The step indices task `task` runs, in order (empty for an out-of-range task). O(1).
    pub fn steps(&self, task: usize) -> &[u32] {
        csr_row(&self.step_offsets, &self.steps, task)
    }

    /// For each task, how many tasks must finish before it may start.
    pub fn predecessor_counts(&self) -> &[u32] {
        &self.predecessor_counts
    }

    /// The tasks that depend on task `task` (empty for an out-of-range task). O(1).
    pub fn successors(&self, task: usize) -> &[u32] {
        csr_row(&self.successor_offsets, &self.successors, task)
    }

    /// The length, in summed step costs, of the most expensive dependency path, and the total
    /// cost of all steps, for a cost per step given by `step_cost`. The ratio of the two bounds
    /// the speed-up any number of threads can reach. O(steps + edges); allocates one array.
    pub fn critical_path(&self, mut step_cost: impl FnMut(usize) -> u64) -> PathCost {
        let mut finish = alloc::vec![0u64; self.len()];
        let mut start = alloc::vec![0u64; self.len()];
        let mut total = 0u64;
        let mut critical = 0u64;
        for task in 0..self.len() {
            let cost: u64 = self
                .steps(task)
                .iter()
                .map(|&step| step_cost(step as usize))
                .fold(0u64, u64::saturating_add);
            total = total.saturating_add(cost);
            finish[task] = start[task].saturating_add(cost);
            critical = critical.max(finish[task]);
            for &successor in self.successors(task) {
                if let Some(successor_start) = start.get_mut(successor as usize) {
                    *successor_start = (*successor_start).max(finish[task]);
                }
            }
        }
        PathCost { total, critical }
    }

    /// The task graph of `schedule` (a parallel schedule: its predecessor counts and successor
    /// lists are complete): chains fused, then light tasks grouped as `grouping` says, with
    /// `step_cost(step)` nanoseconds per step.
    fn build(
        schedule: &Schedule,
        grouping: TaskGrouping,
        step_cost: impl FnMut(usize) -> u64,
    ) -> TaskGraph {
        let chains = TaskGraph::fuse_chains(schedule);
        if grouping.target_ns == 0 {
            return chains;
        }
        chains.grouped(grouping, step_cost)
    }

    /// Pass 2 (see the type's docs): merges light tasks of the same level into groups.
    fn grouped(
        &self,
        grouping: TaskGrouping,
        mut step_cost: impl FnMut(usize) -> u64,
    ) -> TaskGraph {
        let task_count = self.len();
        let target = grouping.target_ns;
        let cost: Vec<u64> = (0..task_count)
            .map(|task| {
                self.steps(task)
                    .iter()
                    .map(|&step| step_cost(step as usize))
                    .fold(0u64, u64::saturating_add)
            })
            .collect();
        // Longest path from a task without predecessors: tasks are numbered topologically, so
        // every predecessor of a task has its final level before the task is reached.
        let mut level = alloc::vec![0u32; task_count];
        for task in 0..task_count {
            for &successor in self.successors(task) {
                level[successor as usize] = level[successor as usize].max(level[task] + 1);
            }
        }
        // The tasks of each level, in task order (counting sort).
        let level_count = level.iter().max().map_or(0, |&max| max as usize + 1);
        let mut level_offsets = alloc::vec![0u32; level_count + 1];
        for &task_level in &level {
            level_offsets[task_level as usize + 1] += 1;
        }
        for index in 0..level_count {
            level_offsets[index + 1] += level_offsets[index];
        }
        let mut cursor = level_offsets.clone();
        let mut by_level = alloc::vec![0u32; task_count];
        for (task, &task_level) in level.iter().enumerate() {
            by_level[cursor[task_level as usize] as usize] = task as u32;
            cursor[task_level as usize] += 1;
        }

        // Groups are numbered as they are opened: level by level, each at its first member in
        // task order. Every edge goes to a higher level, hence to a higher group number.
        let mut group_of = alloc::vec![NO_STEP; task_count];
        let mut group_count = 0u32;
        let mut light_tasks: Vec<u32> = Vec::new();
        let mut light_runs: Vec<usize> = Vec::new();
        for level_index in 0..level_count {
            let tasks = &by_level
                [level_offsets[level_index] as usize..level_offsets[level_index + 1] as usize];
            let is_heavy = |task: u32| cost[task as usize] >= target;
            light_tasks.clear();
            light_tasks.extend(tasks.iter().copied().filter(|&task| !is_heavy(task)));
            let heavy = tasks.len() - light_tasks.len();
            let for_threads = grouping
                .threads
                .saturating_sub(heavy)
                .min(light_tasks.len());
            // Light tasks weigh at least 1 ns, so zero-cost hints still add up.
            let weights = light_tasks
                .iter()
                .map(|&task| u128::from(cost[task as usize].max(1)));
            cut_into_runs(weights, u128::from(target), for_threads, &mut light_runs);
            let mut light_runs = light_runs.iter();
            // The run of the previous light task, and that run's group.
            let mut open: Option<(usize, u32)> = None;
            for &task in tasks {
                let run = if is_heavy(task) {
                    None
                } else {
                    light_runs.next().copied()
                };
                match (run, open) {
                    (Some(run), Some((open_run, group))) if run == open_run => {
                        group_of[task as usize] = group;
                    }
                    _ => {
                        if let Some(run) = run {
                            open = Some((run, group_count));
                        }
                        group_of[task as usize] = group_count;
                        group_count += 1;
                    }
                }
            }
        }

        // Members of each group, in task order (counting sort on the group number).
        let group_count = group_count as usize;
        let mut member_offsets = alloc::vec![0u32; group_count + 1];
        for &group in &group_of {
            member_offsets[group as usize + 1] += 1;
        }
        for index in 0..group_count {
            member_offsets[index + 1] += member_offsets[index];
        }
        let mut cursor = member_offsets.clone();
        let mut members = alloc::vec![0u32; task_count];
        for (task, &group) in group_of.iter().enumerate() {
            members[cursor[group as usize] as usize] = task as u32;
            cursor[group as usize] += 1;
        }

        let mut graph = TaskGraph {
            step_offsets: Vec::with_capacity(group_count + 1),
            steps: Vec::with_capacity(self.steps.len()),
            predecessor_counts: alloc::vec![0; group_count],
            successor_offsets: Vec::with_capacity(group_count + 1),
            successors: Vec::new(),
        };
        graph.step_offsets.push(0);
        graph.successor_offsets.push(0);
        // Per group: the last group that listed it as a successor, to list each edge once.
        let mut listed_by = alloc::vec![NO_STEP; group_count];
        for group in 0..group_count {
            let members =
                &members[member_offsets[group] as usize..member_offsets[group + 1] as usize];
            let first_step = graph.steps.len();
            for &member in members {
                graph.steps.extend_from_slice(self.steps(member as usize));
            }
            // Schedule order is a dependency order: each member's chain stays in order, and
            // steps of different members do not depend on each other.
            graph.steps[first_step..].sort_unstable();
            graph.step_offsets.push(graph.steps.len() as u32);
            for &member in members {
                for &successor in self.successors(member as usize) {
                    let successor_group = group_of[successor as usize];
                    if core::mem::replace(&mut listed_by[successor_group as usize], group as u32)
                        != group as u32
                    {
                        graph.successors.push(successor_group);
                        graph.predecessor_counts[successor_group as usize] += 1;
                    }
                }
            }
            graph.successor_offsets.push(graph.successors.len() as u32);
        }
        graph
    }

    /// Pass 1 (see the type's docs): fuses chains of steps into tasks.
    fn fuse_chains(schedule: &Schedule) -> TaskGraph {
        let step_count = schedule.len();
        let mut task_of = alloc::vec![NO_STEP; step_count];
        let mut single_predecessor = alloc::vec![NO_STEP; step_count];
        for step in 0..step_count {
            for &successor in schedule.successors(step) {
                if schedule.predecessor_counts()[successor as usize] == 1 {
                    single_predecessor[successor as usize] = step as u32;
                }
            }
        }
        // Fuse chains: tasks as linked lists of steps, then flattened.
        let mut task_first: Vec<u32> = Vec::new();
        let mut next_in_task = alloc::vec![NO_STEP; step_count];
        let mut task_last: Vec<u32> = Vec::new();
        for step in 0..step_count {
            let predecessor = single_predecessor[step];
            let fused =
                predecessor != NO_STEP && schedule.successors(predecessor as usize).len() == 1;
            if fused {
                let task = task_of[predecessor as usize];
                task_of[step] = task;
                next_in_task[predecessor as usize] = step as u32;
                task_last[task as usize] = step as u32;
            } else {
                task_of[step] = task_first.len() as u32;
                task_first.push(step as u32);
                task_last.push(step as u32);
            }
        }
        let task_count = task_first.len();
        let mut graph = TaskGraph {
            step_offsets: Vec::with_capacity(task_count + 1),
            steps: Vec::with_capacity(step_count),
            predecessor_counts: alloc::vec![0; task_count],
            successor_offsets: Vec::with_capacity(task_count + 1),
            successors: Vec::new(),
        };
        graph.step_offsets.push(0);
        graph.successor_offsets.push(0);
        for task in 0..task_count {
            let mut step = task_first[task];
            while step != NO_STEP {
                graph.steps.push(step);
                step = next_in_task[step as usize];
            }
            graph.step_offsets.push(graph.steps.len() as u32);
            // Only a chain's last step has successors outside the task, each the first step of
            // its own task (a fused step's only predecessor is inside its task), all distinct.
            for &successor in schedule.successors(task_last[task] as usize) {
                let successor_task = task_of[successor as usize];
                if successor_task as usize != task
                    && !graph.successors[graph.successor_offsets[task] as usize..]
                        .contains(&successor_task)
                {
                    graph.successors.push(successor_task);
                    graph.predecessor_counts[successor_task as usize] += 1;
                }
            }
            graph.successor_offsets.push(graph.successors.len() as u32);
        }
        graph
    }
}

/// Default [`TaskGrouping::target_ns`]: light tasks are grouped until a group's summed cost
/// hints reach 2 µs per block. See [`TaskGrouping`] for why.
pub const DEFAULT_TASK_TARGET_NS: u64 = 2_000;

/// Threads [`TaskGrouping::default`] (and so [`Compiler::compile_parallel`]) groups for: two, the
/// smallest machine that runs anything in parallel. An engine passes its real thread count.
pub const DEFAULT_GROUPING_THREADS: usize = 2;

/// How [`Compiler::compile_parallel_with`] groups light independent tasks after fusing chains
/// (the rule is on [`TaskGraph`]).
///
/// The default target, 2 µs ([`DEFAULT_TASK_TARGET_NS`]), comes from measurement: blocks forced
/// onto the parallel executor (`aether_parallel::run_parallel`), two threads on a shared 2-vCPU
/// x86-64 machine, back to back, medians of 41 interleaved rounds:
/// - a fixed amount of work split into 9 to 1171 tasks: beyond the work, the executor cost 0 to
///   50 ns of wall time per task for tasks of about 1.4 µs, and 50 to 160 ns per task for tasks
///   of 0.2 to 0.3 µs. A group of 2 µs spends a few per cent of its work on being scheduled;
/// - 1000 sources into a tree of 8-input mixers (100 ns hinted per node): 112 µs per block with
///   one task per node; 53, 41, 27 and 20 µs with targets of 0.25, 0.5, 1 and 2 µs;
/// - 64 independent nodes of 2 µs must stay 64 tasks, which caps the target at 2 µs. Raising it
///   to 4, 8 or 16 µs merged them in twos or more for no measurable gain (67.6 µs per block at
///   2 µs, 67.4 to 68.1 µs above), and a 16-voice patch (1.2 µs hinted per voice) did not change
///   either (9.4 µs at 2 µs, 9.0 to 10.1 µs above). Larger targets only helped the 1000-source
///   graph, whose nodes really take about 7 ns where their hint says 100 ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskGrouping {
    /// Summed cost hint (nanoseconds per block) a group of light tasks should reach; tasks at or
    /// above it are never grouped. `0`: no grouping, chains are fused and nothing else.
    pub target_ns: u64,
    /// Threads running a block (workers + the audio thread): a level keeps one task per thread
    /// when it has that many.
    pub threads: usize,
}

impl TaskGrouping {
    /// The default target ([`DEFAULT_TASK_TARGET_NS`]) for `threads` threads.
    pub const fn for_threads(threads: usize) -> Self {
        TaskGrouping {
            target_ns: DEFAULT_TASK_TARGET_NS,
            threads,
        }
    }

    /// No grouping: one task per chain of steps, as before grouping existed.
    pub const fn chains_only() -> Self {
        TaskGrouping {
            target_ns: 0,
            threads: 1,
        }
    }
}

impl Default for TaskGrouping {
    /// [`DEFAULT_TASK_TARGET_NS`] for [`DEFAULT_GROUPING_THREADS`] threads.
    fn default() -> Self {
        TaskGrouping::for_threads(DEFAULT_GROUPING_THREADS)
    }
}

/// Summed step costs of a [`TaskGraph`]: all of it, and along its most expensive path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathCost {
    /// Sum over every step: the sequential cost.
    pub total: u64,
    /// Sum along the most expensive dependency path: the parallel cost with unlimited threads.
    pub critical: u64,
}

/// Cuts a level's light tasks (their `weights`, in task order) into consecutive runs; writes
/// each task's run index (0, 1, ...: non-decreasing, none skipped) into `runs`.
///
/// A run is closed as soon as its summed weight reaches `target`, and a remainder below the
/// target joins the last run, so every run reaches the target when there is more than one. If
/// that gives fewer than `at_least` runs (`at_least` is at most the number of tasks), the tasks
/// are cut into exactly `at_least` runs of about equal weight instead: a task goes to the run
/// its weight's midpoint falls in, moved just enough that no run is skipped (so none is empty)
/// and enough tasks are left for the runs still to come.
fn cut_into_runs(
    weights: impl Iterator<Item = u128> + Clone,
    target: u128,
    at_least: usize,
    runs: &mut Vec<usize>,
) {
    runs.clear();
    let mut total = 0u128;
    let mut closed = 0usize;
    let mut open = 0u128;
    for weight in weights.clone() {
        total += weight;
        open += weight;
        if open >= target {
            closed += 1;
            open = 0;
        }
    }
    let by_target = closed.max(1);
    if by_target >= at_least {
        let mut run = 0usize;
        let mut open = 0u128;
        for weight in weights {
            runs.push(run);
            open += weight;
            // The last run takes the remainder.
            if open >= target && run + 1 < by_target {
                run += 1;
                open = 0;
            }
        }
        return;
    }
    let tasks = weights.clone().count();
    let groups = at_least as u128;
    let mut before = 0u128;
    let mut previous: Option<usize> = None;
    for (index, weight) in weights.enumerate() {
        let by_weight = ((2 * before + weight) * groups / (2 * total)) as usize;
        before += weight;
        let at_least_here = (at_least + index)
            .saturating_sub(tasks)
            .max(previous.unwrap_or(0));
        let at_most_here = previous.map_or(0, |run| run + 1).min(index);
        let run = by_weight.clamp(at_least_here, at_most_here.max(at_least_here));
        runs.push(run);
        previous = Some(run);
    }
}

fn csr_row<'a>(offsets: &[u32], values: &'a [u32], row: usize) -> &'a [u32] {
    let start = offsets.get(row).copied().unwrap_or(0) as usize;
    let end = offsets.get(row + 1).copied().unwrap_or(0) as usize;
    values.get(start..end).unwrap_or(&[])
}

/// Compiles graphs into schedules, reusing its scratch memory between compilations.
///
/// # Algorithm
///
/// 1. Order: an iterative depth-first walk from the output node along its inputs finds the nodes
///    the output depends on (the others are not scheduled) and the order in which it meets their
///    sources. Then iterative Kahn's algorithm emits every node after all its inputs: ready
///    nodes wait on a LIFO stack seeded with the sources in walk order, so a node runs as soon
///    as its last input has run and its inputs' buffers free early (a mixer tree of 1000 sources
///    needs a handful of buffers, where a first-in-first-out ready queue would hold all 1000).
///    No recursion, so deep chains cannot overflow the stack.
/// 2. Buffers by liveness: walking the steps, a node's output takes a free buffer (or a new one);
///    then each input whose last reader this was frees its buffer. Taking the output before
///    freeing the inputs keeps a node's output distinct from its inputs.
/// 3. Predecessor counts and successor lists for parallel executors.
///
/// Cycles cannot occur: [`Graph::connect`] refuses them.
///
/// Allocates (the schedule's arrays): control thread only.
#[derive(Debug, Default)]
pub struct Compiler {
    /// Per slot: whether the output depends on the node.
    visit_state: Vec<u8>,
    /// Per slot: the step index of the node, if scheduled.
    step_of: Vec<u32>,
    /// Per slot: remaining reads of the node's output.
    readers_left: Vec<u32>,
    /// Per slot: inputs not yet emitted (Kahn's in-degree).
    inputs_pending: Vec<u32>,
    /// Per slot: edges from the node to reached consumers.
    successor_counts: Vec<u32>,
    /// Consumers of every slot, as compressed sparse rows (`successor_offsets[slot]..[slot + 1]`
    /// in `successor_list`), and the fill cursor used to build them.
    successor_offsets: Vec<u32>,
    successor_list: Vec<NodeId>,
    successor_cursor: Vec<u32>,
    /// Reached nodes, and those without inputs, in the order the walk found them.
    reached: Vec<NodeId>,
    sources: Vec<NodeId>,
    /// The walk's stack, then Kahn's ready stack.
    stack: Vec<NodeId>,
    free_buffers: Vec<u32>,
}

const UNREACHED: u8 = 0;
const REACHED: u8 = 1;
const NO_STEP: u32 = u32::MAX;

impl Compiler {
    /// A compiler with empty scratch memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles `graph` into a schedule. Allocates; control thread only.
    pub fn compile(&mut self, graph: &Graph) -> Schedule {
        self.compile_with(graph, false)
    }

    /// Compiles `graph` into a schedule safe to run in parallel, with its [`TaskGraph`]
    /// ([`Schedule::tasks`]), light tasks grouped by [`TaskGrouping::default`] (the default
    /// target, for two threads). Allocates; control thread only.
    ///
    /// Same steps in the same order as [`compile`](Self::compile), but every step writes a
    /// buffer of its own (no reuse by liveness): reuse would add write-after-read hazards
    /// between steps that are independent in the graph. The cost is memory, one block
    /// (256 bytes) per scheduled node: 256 KiB for 1000 nodes, where liveness needs a handful.
    /// So compile this way only for graphs that will actually run in parallel.
    pub fn compile_parallel(&mut self, graph: &Graph) -> Schedule {
        self.compile_parallel_with(graph, TaskGrouping::default())
    }

    /// As [`compile_parallel`](Self::compile_parallel), grouping light tasks as `grouping` says
    /// (the rule is on [`TaskGraph`]; [`TaskGrouping::chains_only`] only fuses chains). Step
    /// costs are the nodes' [`Graph::cost_hint`]s. Allocates; control thread only.
    pub fn compile_parallel_with(&mut self, graph: &Graph, grouping: TaskGrouping) -> Schedule {
        let mut schedule = self.compile_with(graph, true);
        let steps = &schedule.steps;
        let tasks = TaskGraph::build(&schedule, grouping, |step| {
            steps
                .get(step)
                .and_then(|step| graph.cost_hint(step.node))
                .unwrap_or(DEFAULT_COST_HINT_NS)
        });
        schedule.tasks = Some(tasks);
        schedule
    }

    fn compile_with(&mut self, graph: &Graph, exclusive_buffers: bool) -> Schedule {
        let slots = graph.slot_count();
        self.visit_state.clear();
        self.visit_state.resize(slots, UNREACHED);
        self.step_of.clear();
        self.step_of.resize(slots, NO_STEP);
        self.readers_left.clear();
        self.readers_left.resize(slots, 0);
        self.inputs_pending.clear();
        self.inputs_pending.resize(slots, 0);
        self.successor_counts.clear();
        self.successor_counts.resize(slots, 0);
        self.reached.clear();
        self.sources.clear();
        self.stack.clear();
        self.free_buffers.clear();

        let mut schedule = Schedule {
            graph_version: graph.version(),
            ..Schedule::default()
        };
        let Some(output) = graph.output_node() else {
            return schedule;
        };
        if !graph.contains(output) {
            return schedule;
        }

        // 1a. The nodes the output depends on: an iterative depth-first walk along inputs,
        // first input first, recording where each source (a node without inputs) is found.
        self.visit_state[output.index() as usize] = REACHED;
        self.stack.push(output);
        while let Some(node) = self.stack.pop() {
            self.reached.push(node);
            let inputs = graph.entry_inputs(node);
            let mut input_count = 0u32;
            // Pushed last input first so the first input is walked first.
            for source in inputs.into_iter().flatten().rev().flatten() {
                input_count += 1;
                let source_slot = source.index() as usize;
                self.successor_counts[source_slot] += 1;
                if self.visit_state[source_slot] == UNREACHED {
                    self.visit_state[source_slot] = REACHED;
                    self.stack.push(*source);
                }
            }
            self.inputs_pending[node.index() as usize] = input_count;
            if input_count == 0 {
                self.sources.push(node);
            }
        }

        // 1b. Successor lists (per edge, in slot space) as compressed sparse rows.
        self.successor_offsets.clear();
        self.successor_offsets.resize(slots + 1, 0);
        for slot in 0..slots {
            self.successor_offsets[slot + 1] =
                self.successor_offsets[slot] + self.successor_counts[slot];
        }
        let edge_count = self.successor_offsets[slots] as usize;
        self.successor_list.clear();
        self.successor_list.resize(edge_count, output);
        self.successor_cursor.clear();
        self.successor_cursor
            .extend_from_slice(&self.successor_offsets[..slots]);
        for &node in &self.reached {
            for source in graph.entry_inputs(node).into_iter().flatten().flatten() {
                let at = &mut self.successor_cursor[source.index() as usize];
                self.successor_list[*at as usize] = node;
                *at += 1;
            }
        }

        // 1c. Kahn's algorithm: a node is emitted once all its inputs are. The ready nodes wait
        // on a LIFO stack, seeded with the sources in the order the walk found them (first on
        // top), so a node runs as soon as its last input has: its inputs' buffers free early.
        let mut order: Vec<NodeId> = Vec::with_capacity(self.reached.len());
        self.stack.clear();
        self.stack.extend(self.sources.iter().rev());
        while let Some(node) = self.stack.pop() {
            let slot = node.index() as usize;
            self.step_of[slot] = order.len() as u32;
            order.push(node);
            let start = self.successor_offsets[slot] as usize;
            let end = self.successor_offsets[slot + 1] as usize;
            // Consumers becoming ready together run in reverse of their edge order, the
            // first-listed on top of the stack.
            let ready_before = self.stack.len();
            for &consumer in &self.successor_list[start..end] {
                let pending = &mut self.inputs_pending[consumer.index() as usize];
                *pending -= 1;
                if *pending == 0 {
                    self.stack.push(consumer);
                }
            }
            self.stack[ready_before..].reverse();
        }
        // `Graph::connect` refuses cycles, so every reached node was emitted. Were one ever on
        // a cycle, it (and what depends on it) would be left out: silence, not a hang.
        debug_assert_eq!(order.len(), self.reached.len(), "the graph has a cycle");

        // Reader counts (one per edge) among scheduled nodes.
        for &node in &order {
            for source in graph.entry_inputs(node).into_iter().flatten().flatten() {
                self.readers_left[source.index() as usize] += 1;
            }
        }

        // 2. Buffers by liveness.
        let mut buffer_of = alloc::vec![NO_BUFFER; slots];
        let mut next_new_buffer = 0u32;
        schedule.steps.reserve_exact(order.len());
        let mut slot_bound = 0u32;
        for &node in &order {
            let reused = if exclusive_buffers {
                None
            } else {
                self.free_buffers.pop()
            };
            let output_buffer = reused.unwrap_or_else(|| {
                next_new_buffer += 1;
                next_new_buffer - 1
            });
            buffer_of[node.index() as usize] = output_buffer;
            let mut step = Step {
                node,
                output: output_buffer,
                inputs: [NO_BUFFER; MAX_INPUTS],
                input_end: 0,
            };
            if let Some(inputs) = graph.entry_inputs(node) {
                for (slot, source) in inputs.iter().enumerate() {
                    let Some(source) = source else { continue };
                    let source_slot = source.index() as usize;
                    step.inputs[slot] = buffer_of[source_slot];
                    step.input_end = slot as u8 + 1;
                    self.readers_left[source_slot] -= 1;
                    if self.readers_left[source_slot] == 0 {
                        self.free_buffers.push(buffer_of[source_slot]);
                    }
                }
            }
            slot_bound = slot_bound.max(node.index() + 1);
            schedule.steps.push(step);
        }
        schedule.buffer_count = next_new_buffer;
        schedule.output_buffer = Some(buffer_of[output.index() as usize]);
        schedule.slot_bound = slot_bound;

        // 3. Predecessor counts and successor lists (distinct steps), as compressed sparse rows.
        let step_count = order.len();
        let distinct_sources = |node: NodeId| {
            let mut sources = [NO_STEP; MAX_INPUTS];
            let mut count = 0;
            for source in graph.entry_inputs(node).into_iter().flatten().flatten() {
                let source_step = self.step_of[source.index() as usize];
                if !sources[..count].contains(&source_step) {
                    sources[count] = source_step;
                    count += 1;
                }
            }
            (sources, count)
        };
        schedule.predecessor_counts = alloc::vec![0; step_count];
        let mut offsets = alloc::vec![0u32; step_count + 1];
        for (step_index, &node) in order.iter().enumerate() {
            let (sources, count) = distinct_sources(node);
            schedule.predecessor_counts[step_index] = count as u32;
            for &source_step in &sources[..count] {
                offsets[source_step as usize + 1] += 1;
            }
        }
        for i in 0..step_count {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets.clone();
        schedule.successors = alloc::vec![0; offsets[step_count] as usize];
        for (step_index, &node) in order.iter().enumerate() {
            let (sources, count) = distinct_sources(node);
            for &source_step in &sources[..count] {
                let at = &mut cursor[source_step as usize];
                schedule.successors[*at as usize] = step_index as u32;
                *at += 1;
            }
        }
        schedule.successor_offsets = offsets;
        schedule
    }
}
