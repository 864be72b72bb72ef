//! Loom models of the executor's block protocol, each small enough to explore exhaustively
//! within the preemption bound:
//!
//! - `ready_queue_*`: the bounded ready queue alone, two threads each pushing and popping on a
//!   queue of capacity 2 whose slots are being reused (tags wrap past the old entries); each
//!   task's data is written before its push and read after its pop;
//! - `wake_and_shutdown_two_workers`: the audio thread and two workers that park at once: the
//!   block's wake races with their parking and their race for the task, then shutdown must wake
//!   and join both (a lost wake is reported as a deadlock);
//! - `join_block_*` / `diamond_block_*`: the audio thread and one worker run one block end to end
//!   (dependency counters, ready queue, completion word, wake, shutdown). Every step writes its
//!   own [`loom::cell::UnsafeCell`] and reads its predecessors' cells, so loom reports any step
//!   that starts before a predecessor's write is visible, any step run twice at once, and any
//!   result the audio thread reads before it is published;
//! - `two_workers_join_block`: a whole block with the audio thread **and two workers**: two
//!   independent tasks and the task joining them, workers that park after one empty poll of the
//!   queue (`spin_iterations: 0`, parking through loom's `park`/`unpark`), then shutdown. This
//!   model is explored at a **preemption bound of 2**, set inside it (at 3 it does not finish in
//!   minutes; at 2 it takes about 35 s on a 2-core machine). Every other model here runs at the
//!   bound given by `LOOM_MAX_PREEMPTIONS`;
//! - `two_blocks_one_worker`: two blocks in a row, so a block's wake can find the worker still
//!   awake from the one before (the post is consumed without a park), then shutdown;
//! - `run_parallel_*`: the same block through the real node runner (its buffers are not
//!   loom-tracked: this checks the result, not the ordering).
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release --test
//! loom_executor` (or `cargo xtask loom`).
#![cfg(loom)]

mod common;

use aether_graph::{Compiler, Schedule, TaskGraph};
use aether_parallel::loom_internals::TaskQueue;
use aether_parallel::{Executor, ExecutorConfig, run_parallel};
use aether_params::ParamBlock;
use common::{Dag, buffers, build};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// `worker_threads` workers besides the audio thread; they park after `spin_iterations` empty
/// polls.
fn model_executor(worker_threads: usize, max_tasks: usize, spin_iterations: u32) -> Executor {
    Executor::new(ExecutorConfig {
        worker_threads,
        max_tasks,
        spin_iterations,
        realtime_priority: None,
        wake_ahead: None,
    })
    .unwrap()
}

#[test]
fn ready_queue_two_producers_two_consumers_capacity_two() {
    loom::model(|| {
        // Per task, data written before its push and read after its pop: loom reports a race if
        // the queue does not publish it.
        let payloads = Arc::new(StepCells((0..3).map(|_| UnsafeCell::new(0)).collect()));
        let queue = Arc::new(TaskQueue::new(2));
        // A finished earlier block: positions 0 and 1 pushed and taken, so the pushes below
        // (positions 2 and 3) reuse both slots and must not be mistaken for the old entries.
        queue.push(0);
        queue.push(0);
        assert_eq!(queue.pop(), Some(0));
        assert_eq!(queue.pop(), Some(0));
        assert_eq!(queue.pop(), None);
        // Two threads each push a task and then take one, racing on both cursors.
        let spawn = |task: u32| {
            let queue = Arc::clone(&queue);
            let payloads = Arc::clone(&payloads);
            thread::spawn(move || {
                payloads.write(task as usize, 10 * task);
                queue.push(task);
                queue
                    .pop()
                    .inspect(|&taken| payloads.check(taken as usize, 10 * taken))
            })
        };
        let first = spawn(1);
        let second = spawn(2);
        let taken_first = first.join().unwrap();
        let taken_second = second.join().unwrap();
        // A pop may miss a task whose push is mid-way; whatever was missed is still queued.
        let mut taken: Vec<u32> = [taken_first, taken_second, queue.pop(), queue.pop()]
            .into_iter()
            .flatten()
            .collect();
        taken.sort_unstable();
        assert_eq!(taken, [1, 2], "each task is taken exactly once");
        assert_eq!(queue.pop(), None);
    });
}

/// `(graph, schedule, predecessor steps of each step)` for `dag`, compiled for parallel runs.
fn compiled(dag: &Dag) -> (TaskGraph, Vec<Vec<usize>>, Schedule) {
    let (graph, _) = build(dag);
    let schedule = Compiler::new().compile_parallel(&graph);
    let mut predecessors = vec![Vec::new(); schedule.len()];
    for step in 0..schedule.len() {
        for &successor in schedule.successors(step) {
            predecessors[successor as usize].push(step);
        }
    }
    let tasks = schedule.tasks().unwrap().clone();
    (tasks, predecessors, schedule)
}

/// One cell per step; step `s` writes `1 + sum of its predecessors' cells` into its own.
struct StepCells(Vec<UnsafeCell<u32>>);

// SAFETY: the cells are loom-checked: any access not ordered by the executor's protocol (the
// property under test) is reported by loom as a data race instead of being undefined.
unsafe impl Sync for StepCells {}

impl StepCells {
    fn run(&self, step: usize, predecessors: &[Vec<usize>]) {
        let input: u32 = predecessors[step]
            .iter()
            // SAFETY: loom checks that the predecessor's write happened before this read.
            .map(|&p| self.0[p].with(|value| unsafe { *value }))
            .sum();
        // SAFETY: loom checks that no other access to this step's cell is concurrent.
        self.0[step].with_mut(|value| unsafe { *value = 1 + input });
    }

    fn write(&self, index: usize, value: u32) {
        // SAFETY: loom checks that no other access to this cell is concurrent.
        self.0[index].with_mut(|cell| unsafe { *cell = value });
    }

    fn check(&self, index: usize, expected: u32) {
        // SAFETY: loom checks that the write happened before this read.
        let value = self.0[index].with(|cell| unsafe { *cell });
        assert_eq!(value, expected);
    }

    fn values(&self) -> Vec<u32> {
        self.0
            .iter()
            // SAFETY: loom checks that every step's write happened before the audio thread's read.
            .map(|cell| cell.with(|value| unsafe { *value }))
            .collect()
    }
}

/// Expected cell values: the steps run in schedule order on one thread.
fn sequential_values(predecessors: &[Vec<usize>]) -> Vec<u32> {
    let mut values = vec![0u32; predecessors.len()];
    for step in 0..predecessors.len() {
        values[step] = 1 + predecessors[step].iter().map(|&p| values[p]).sum::<u32>();
    }
    values
}

/// The audio thread and two workers run one block of `dag`'s tasks, then the executor is
/// dropped (shutdown wake and join).
fn check_one_block(dag: &Dag, task_count: usize, workers: usize) {
    let (tasks, predecessors, _) = compiled(dag);
    assert_eq!(tasks.len(), task_count);
    let expected = sequential_values(&predecessors);
    loom::model(move || {
        let cells = StepCells(
            (0..predecessors.len())
                .map(|_| UnsafeCell::new(0))
                .collect(),
        );
        let mut executor = model_executor(workers, tasks.len(), 0);
        let run_step = |step: usize| cells.run(step, &predecessors);
        executor.run(&tasks, &run_step).unwrap();
        assert_eq!(cells.values(), expected);
        drop(executor);
    });
}

#[test]
fn join_block_one_worker() {
    // Tasks 0 and 1 are independent; task 2 depends on both, so the two finishing
    // predecessors race on its counter and exactly one of them must queue it.
    check_one_block(
        &Dag {
            nodes: vec![(1, 0.5), (2, 0.25), (3, 0.0)],
            edges: vec![(0, 2, 0), (1, 2, 1)],
            output: 2,
        },
        3,
        1,
    );
}

#[test]
fn diamond_block_one_worker() {
    // 0 -> {1, 2} -> 3: one task releases two, two release one.
    check_one_block(
        &Dag {
            nodes: vec![(1, 0.5), (2, 0.25), (3, 0.125), (4, 0.0)],
            edges: vec![(0, 1, 0), (0, 2, 0), (1, 3, 0), (2, 3, 1)],
            output: 3,
        },
        4,
        1,
    );
}

/// A one-task graph run for `blocks` blocks in a row by the audio thread and `workers` workers
/// that park after one empty poll, then shutdown (wake and join).
fn check_single_task_blocks(workers: usize, blocks: usize) {
    let (tasks, predecessors, _) = compiled(&Dag {
        nodes: vec![(1, 0.5)],
        edges: vec![],
        output: 0,
    });
    assert_eq!(tasks.len(), 1);
    loom::model(move || {
        let cells = StepCells(
            (0..predecessors.len())
                .map(|_| UnsafeCell::new(0))
                .collect(),
        );
        let mut executor = model_executor(workers, tasks.len(), 0);
        let run_step = |step: usize| cells.run(step, &predecessors);
        for _ in 0..blocks {
            executor.run(&tasks, &run_step).unwrap();
            assert_eq!(cells.values(), [1]);
        }
        drop(executor);
    });
}

#[test]
fn wake_and_shutdown_two_workers() {
    // One task; workers park without spinning, so the block's wake races with their parking
    // (and their race for the task), and the shutdown's wake races with parking again.
    check_single_task_blocks(2, 1);
}

#[test]
fn run_parallel_join_block_one_worker() {
    let dag = Dag {
        nodes: vec![(1, 0.5), (2, 0.25), (3, 0.0)],
        edges: vec![(0, 2, 0), (1, 2, 1)],
        output: 2,
    };
    // Expected output from a sequential run outside the model.
    let expected: Vec<u32> = {
        let (graph, mut nodes) = build(&dag);
        let schedule = Compiler::new().compile(&graph);
        let mut params = vec![ParamBlock::new(); nodes.len()];
        let mut silenced: Vec<aether_graph::Quarantined> =
            (0..nodes.len()).map(|_| Default::default()).collect();
        let mut pool = buffers(schedule.buffer_count());
        aether_parallel::run_sequential(
            &schedule,
            &mut nodes,
            &mut params,
            &mut silenced,
            &mut pool,
            48e3,
        )
        .unwrap();
        let out = schedule.output_buffer().unwrap() as usize;
        pool[out].iter().map(|s| s.to_bits()).collect()
    };
    let (graph, _) = build(&dag);
    let schedule = Compiler::new().compile_parallel(&graph);
    assert_eq!(schedule.tasks().unwrap().len(), 3);
    drop(graph);
    loom::model(move || {
        let (_, mut nodes) = build(&dag);
        let mut params = vec![ParamBlock::new(); nodes.len()];
        let mut silenced: Vec<aether_graph::Quarantined> =
            (0..nodes.len()).map(|_| Default::default()).collect();
        let mut pool = buffers(schedule.buffer_count());
        let out = schedule.output_buffer().unwrap() as usize;
        let mut executor = model_executor(1, 3, 0);
        run_parallel(
            &mut executor,
            &schedule,
            &mut nodes,
            &mut params,
            &mut silenced,
            &mut pool,
            48e3,
        )
        .unwrap();
        let got: Vec<u32> = pool[out].iter().map(|s| s.to_bits()).collect();
        assert_eq!(got, expected);
        drop(executor);
    });
}

/// Like [`check_one_block`], with workers that make `spin_iterations + 1` empty polls of the
/// queue before parking, explored at `preemption_bound` (`None`: `LOOM_MAX_PREEMPTIONS`).
fn check_one_block_with(
    dag: &Dag,
    task_count: usize,
    workers: usize,
    spin_iterations: u32,
    preemption_bound: Option<usize>,
) {
    let (tasks, predecessors, _) = compiled(dag);
    assert_eq!(tasks.len(), task_count);
    let expected = sequential_values(&predecessors);
    let mut builder = loom::model::Builder::new();
    if preemption_bound.is_some() {
        builder.preemption_bound = preemption_bound;
    }
    builder.check(move || {
        let cells = StepCells(
            (0..predecessors.len())
                .map(|_| UnsafeCell::new(0))
                .collect(),
        );
        let mut executor = model_executor(workers, tasks.len(), spin_iterations);
        let run_step = |step: usize| cells.run(step, &predecessors);
        executor.run(&tasks, &run_step).unwrap();
        assert_eq!(cells.values(), expected);
        drop(executor);
    });
}

#[test]
fn two_workers_join_block() {
    // Tasks 0 and 1 are independent and task 2 joins them: the audio thread and both workers
    // race for the first two tasks, the finishing ones race on the join's counter, and each
    // worker's park races with the block's wake and then with the shutdown's. Preemption bound
    // 2 (see the module docs).
    check_one_block_with(
        &Dag {
            nodes: vec![(1, 0.5), (2, 0.25), (3, 0.0)],
            edges: vec![(0, 2, 0), (1, 2, 1)],
            output: 2,
        },
        3,
        2,
        0,
        Some(2),
    );
}

#[test]
fn two_blocks_one_worker() {
    // Two blocks in a row with one worker that parks after one empty poll. The second block's
    // post can find the worker still awake from the first (it sets NOTIFIED without unparking):
    // the worker's way out of that case (consume the post, look at the queue again, rest
    // without another spin) must neither lose the second block's task nor the shutdown's wake.
    check_single_task_blocks(1, 2);
}
