//! Real-time priority: workers asked for it run `SCHED_FIFO` at the asked priority (checked on
//! the worker thread itself), or, in a process without the privilege, report `PermissionDenied`
//! and keep running; `promote_current_thread_to_realtime` does the same for the calling thread.
#![cfg(unix)]

mod common;

use std::io::ErrorKind;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aether_graph::Compiler;
use aether_parallel::{
    Executor, ExecutorConfig, RealtimeError, promote_current_thread_to_realtime,
};
use common::{build, wide};

/// Not recorded yet.
const UNSEEN: i32 = -100;

/// The calling thread's scheduling policy and priority.
fn current_policy() -> (i32, i32) {
    let mut policy = 0;
    // SAFETY: `sched_param` is a C struct of integers; all-zero bytes are a valid value.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: `pthread_self()` is alive for the call; both out-pointers are valid locals.
    let errno =
        unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut policy, &mut param) };
    assert_eq!(errno, 0, "pthread_getschedparam failed");
    // SAFETY: a query of the calling thread (pid 0), touching no memory of ours.
    let policy_by_tid = unsafe { libc::sched_getscheduler(0) };
    assert_eq!(policy, policy_by_tid, "pthread and sched views agree");
    (policy, param.sched_priority)
}

/// The policy and priority of a worker thread, observed by a step the worker ran.
///
/// Runs one block of 4 independent sources and a mixer with a rendezvous: the first step to
/// start waits until a second step has started, so two threads run steps at once and the
/// single worker necessarily runs one of them. (A generous time-out turns a broken executor
/// into a failed assertion instead of a hang.)
fn observe_worker_policy(executor: &mut Executor) -> (i32, i32) {
    let (graph, _nodes) = build(&wide(4));
    let schedule = Compiler::new().compile_parallel(&graph);
    let tasks = schedule.tasks().expect("compiled for parallel execution");
    assert!(tasks.len() >= 3, "the sources are independent tasks");

    let started = AtomicUsize::new(0);
    let worker_policy = AtomicI32::new(UNSEEN);
    let worker_priority = AtomicI32::new(UNSEEN);
    let run_step = |_step: usize| {
        if started.fetch_add(1, Ordering::AcqRel) == 0 {
            let deadline = Instant::now() + Duration::from_secs(30);
            while started.load(Ordering::Acquire) < 2 && Instant::now() < deadline {
                std::hint::spin_loop();
            }
        }
        let on_worker = std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with("aether-worker"));
        if on_worker {
            let (policy, priority) = current_policy();
            worker_policy.store(policy, Ordering::Release);
            worker_priority.store(priority, Ordering::Release);
        }
    };
    executor.run(tasks, &run_step).unwrap();
    assert_eq!(
        started.load(Ordering::Acquire),
        schedule.len(),
        "every step ran once"
    );
    let observed = (
        worker_policy.load(Ordering::Acquire),
        worker_priority.load(Ordering::Acquire),
    );
    assert_ne!(observed.0, UNSEEN, "the worker ran a step");
    observed
}

fn one_worker(realtime_priority: Option<u8>) -> Executor {
    Executor::new(ExecutorConfig {
        worker_threads: 1,
        max_tasks: 16,
        spin_iterations: 0,
        realtime_priority,
        wake_ahead: None,
    })
    .unwrap()
}

#[test]
fn workers_asked_for_realtime_priority_run_sched_fifo_or_report_why_not() {
    let mut executor = one_worker(Some(10));
    let (policy, priority) = observe_worker_policy(&mut executor);
    match executor.realtime_workers() {
        1 => {
            assert_eq!(executor.realtime_error(), None);
            assert_eq!(policy, libc::SCHED_FIFO, "the worker runs SCHED_FIFO");
            assert_eq!(priority, 10, "at the priority asked for");
        }
        0 => {
            // A process without CAP_SYS_NICE / RLIMIT_RTPRIO: the executor still works.
            let error = executor.realtime_error().expect("a reason is reported");
            assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
            assert_ne!(policy, libc::SCHED_FIFO);
        }
        other => panic!("{other} real-time workers out of 1"),
    }
    // The test thread (the audio thread here) was not touched.
    assert_ne!(current_policy().0, libc::SCHED_FIFO);
}

#[test]
fn every_worker_reports_before_new_returns() {
    let executor = Executor::new(ExecutorConfig {
        worker_threads: 3,
        max_tasks: 16,
        spin_iterations: 0,
        realtime_priority: Some(5),
        wake_ahead: None,
    })
    .unwrap();
    let realtime = executor.realtime_workers();
    match executor.realtime_error() {
        None => assert_eq!(realtime, 3),
        Some(error) => {
            assert_eq!(realtime, 0, "all workers share the process's privilege");
            assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
        }
    }
}

#[test]
fn workers_keep_normal_priority_by_default() {
    assert_eq!(ExecutorConfig::default().realtime_priority, None);
    let mut executor = one_worker(None);
    assert_eq!(executor.realtime_workers(), 0);
    assert_eq!(executor.realtime_error(), None, "nothing was asked");
    let (policy, _) = observe_worker_policy(&mut executor);
    assert_eq!(policy, libc::SCHED_OTHER);
}

#[test]
fn no_workers_no_report() {
    let executor = Executor::new(ExecutorConfig {
        worker_threads: 0,
        max_tasks: 16,
        spin_iterations: 0,
        realtime_priority: Some(10),
        wake_ahead: None,
    })
    .unwrap();
    assert_eq!(executor.realtime_workers(), 0);
    assert_eq!(executor.realtime_error(), None);
}

/// Promotes a fresh thread to `priority` and returns the outcome with the thread's resulting
/// policy and priority (the thread ends, so nothing needs restoring).
fn promote_on_fresh_thread(priority: u8) -> (Result<(), RealtimeError>, (i32, i32)) {
    std::thread::spawn(move || {
        let before = current_policy();
        let outcome = promote_current_thread_to_realtime(priority);
        let after = current_policy();
        if outcome.is_err() {
            assert_eq!(after, before, "a refused promotion changes nothing");
        }
        (outcome, after)
    })
    .join()
    .unwrap()
}

#[test]
fn promote_current_thread_switches_it_to_sched_fifo() {
    match promote_on_fresh_thread(20) {
        (Ok(()), (policy, priority)) => {
            assert_eq!(policy, libc::SCHED_FIFO);
            assert_eq!(priority, 20);
        }
        (Err(error), (policy, _)) => {
            assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
            assert!(
                matches!(error, RealtimeError::Refused { priority: 20, .. }),
                "{error:?}"
            );
            assert_ne!(policy, libc::SCHED_FIFO);
        }
    }
    assert_ne!(
        current_policy().0,
        libc::SCHED_FIFO,
        "only the calling thread changes"
    );
}

#[test]
fn promote_clamps_to_the_operating_systems_range() {
    // SAFETY: plain libc queries taking an integer.
    let (min, max) = unsafe {
        (
            libc::sched_get_priority_min(libc::SCHED_FIFO),
            libc::sched_get_priority_max(libc::SCHED_FIFO),
        )
    };
    for asked in [0u8, u8::MAX] {
        let expected = i32::from(asked).clamp(min, max);
        assert!(expected == min || expected == max);
        match promote_on_fresh_thread(asked) {
            (Ok(()), (policy, priority)) => {
                assert_eq!(policy, libc::SCHED_FIFO);
                assert_eq!(priority, expected, "asked {asked}");
            }
            (Err(error), _) => {
                assert!(
                    matches!(error, RealtimeError::Refused { priority, .. } if priority == expected),
                    "asked {asked}: {error:?}"
                );
            }
        }
    }
}

#[test]
fn errors_name_their_kind() {
    assert_eq!(RealtimeError::Unsupported.kind(), ErrorKind::Unsupported);
    let refused = RealtimeError::Refused {
        priority: 10,
        errno: libc::EPERM,
        kind: ErrorKind::PermissionDenied,
    };
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    let message = refused.to_string();
    assert!(message.contains("SCHED_FIFO priority 10"), "{message}");
}
