//! The measured choice between running a parallel schedule on the executor and running the
//! same graph's one-thread schedule on the audio thread (feature `parallel`).
//!
//! The control side's [`ParallelPolicy`](aether_parallel::ParallelPolicy) decides from cost
//! estimates, and cannot know how the host calls the engine or how wrong the nodes' cost hints
//! are. Back to back (offline rendering) a parallel block finds its workers still spinning; in an
//! audio callback, one block per period, the workers have parked and waking them can cost as
//! much as the parallelism saves. So a commit that runs in parallel also carries the graph's
//! one-thread schedule (buffers by liveness, cache-friendly), and the audio side checks the
//! decision where it runs: it times the two in pairs of neighbouring blocks (a probe), keeps
//! the one that wins most pairs for a while (a hold), then probes again. Both give the same
//! samples (each node computes the same values from the same inputs in a dependency order), so
//! switching is inaudible.
//!
//! A pair compares two blocks a period apart, under nearly the same conditions; one stalled
//! block spoils one pair, not the verdict. The state is a few counters: no per-block storage,
//! nothing to sort.

use std::time::Instant;

/// The most block pairs in one probe; [`MeasuredChoice::probe_blocks`] is clamped to it.
pub const MAX_PROBE_BLOCKS: usize = 32;

/// How many times a confirmed choice doubles its hold (see [`MeasuredChoice::hold_blocks`]).
pub const MAX_HOLD_DOUBLINGS: u32 = 5;

/// Settings of the audio side's measured choice (see
/// [`ParallelConfig::measured_choice`](crate::ParallelConfig::measured_choice)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasuredChoice {
    /// Pairs of blocks per probe, each an executor block then a one-thread block (clamped to
    /// 1..=[`MAX_PROBE_BLOCKS`]). Default 16.
    pub probe_blocks: u16,
    /// Blocks run on the chosen path before the next probe. Default 2048 (2.7 s at 64 frames
    /// and 48 kHz). Each probe that confirms the previous choice doubles the hold, up to
    /// [`MAX_HOLD_DOUBLINGS`] doublings (about 87 s by default); a probe that changes it starts
    /// again from `hold_blocks`. So a stable answer is re-checked rarely: probe blocks, half of
    /// which take the slower path, are 1.5% of the blocks at first and 0.05% once settled.
    pub hold_blocks: u32,
    /// The executor wins a pair only if its block took at least this many percent less time
    /// than the one-thread block of the pair, and it is kept only if it wins more than half of
    /// the pairs (a tie keeps the audio thread alone: fewer threads, less CPU). Default 5.
    pub min_gain_percent: u8,
}

impl Default for MeasuredChoice {
    fn default() -> Self {
        MeasuredChoice {
            probe_blocks: 16,
            hold_blocks: 2048,
            min_gain_percent: 5,
        }
    }
}

/// The outcome of the last probe, published in
/// [`EngineStats::measured_paths`](crate::EngineStats::measured_paths).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeasuredPaths {
    /// Pairs of blocks the probe compared.
    pub pairs: u32,
    /// Pairs in which the executor's block was at least `min_gain_percent` faster.
    pub executor_wins: u32,
    /// The fastest executor block of the probe, in nanoseconds (0 if none ran).
    pub parallel_best_ns: u64,
    /// The fastest one-thread block of the probe, in nanoseconds (0 if none ran).
    pub sequential_best_ns: u64,
    /// `true` if the executor was kept.
    pub parallel_chosen: bool,
}

/// Which path a block takes, and whether its time feeds the probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockPath {
    pub(crate) parallel: bool,
    pub(crate) timed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Timing pairs: the next block is a pair's first (executor) block unless `pending_ns`
    /// holds that block's time, then it is the pair's one-thread block.
    Probing,
    /// Running the chosen path for `remaining` more parallel-capable blocks.
    Holding { remaining: u32, parallel: bool },
}

/// The audio side's state machine. Every method is O(1): a few counters, no allocation, no
/// lock, no panic.
#[derive(Debug, Clone)]
pub(crate) struct PathChooser {
    settings: Option<MeasuredChoice>,
    phase: Phase,
    /// The executor block of the pair in progress.
    pending_ns: Option<u64>,
    /// The probe so far (`parallel_chosen` unused until it ends).
    probe: MeasuredPaths,
    /// The last probe's choice since the schedule became parallel-capable, and the hold it got.
    last_choice: Option<bool>,
    hold: u32,
}

impl PathChooser {
    /// `None`: follow the control side's decision on every block, no timing.
    pub(crate) fn new(settings: Option<MeasuredChoice>) -> Self {
        PathChooser {
            settings,
            phase: Phase::Probing,
            pending_ns: None,
            probe: MeasuredPaths::default(),
            last_choice: None,
            hold: 0,
        }
    }

    fn probe_pairs(settings: &MeasuredChoice) -> u32 {
        u32::from(settings.probe_blocks).clamp(1, MAX_PROBE_BLOCKS as u32)
    }

    fn start_probe(&mut self) {
        self.phase = Phase::Probing;
        self.pending_ns = None;
        self.probe = MeasuredPaths::default();
    }

    /// The path of the next block. `parallel_capable`: the running schedule was compiled for
    /// the executor and there is one. A block that is not capable runs in order and restarts
    /// the choice, so the next parallel schedule is probed from scratch.
    pub(crate) fn next_block(&mut self, parallel_capable: bool) -> BlockPath {
        if self.settings.is_none() {
            return BlockPath {
                parallel: parallel_capable,
                timed: false,
            };
        }
        if !parallel_capable {
            self.start_probe();
            self.last_choice = None;
            return BlockPath {
                parallel: false,
                timed: false,
            };
        }
        match self.phase {
            Phase::Probing => BlockPath {
                parallel: self.pending_ns.is_none(),
                timed: true,
            },
            Phase::Holding {
                remaining,
                parallel,
            } => {
                if remaining <= 1 {
                    self.start_probe();
                } else {
                    self.phase = Phase::Holding {
                        remaining: remaining - 1,
                        parallel,
                    };
                }
                BlockPath {
                    parallel,
                    timed: false,
                }
            }
        }
    }

    /// Records a timed block: `parallel` is the path that actually ran. A pair's first block
    /// that the executor refused (it ran in order instead) ends the pair as a loss for the
    /// executor. Returns the decision when this block ended a probe.
    pub(crate) fn record(&mut self, parallel: bool, elapsed_ns: u64) -> Option<MeasuredPaths> {
        let settings = self.settings?;
        if self.phase != Phase::Probing {
            return None;
        }
        fn best(current: u64, new: u64) -> u64 {
            if current == 0 { new } else { current.min(new) }
        }
        match (self.pending_ns, parallel) {
            (None, true) => {
                self.probe.parallel_best_ns = best(self.probe.parallel_best_ns, elapsed_ns);
                self.pending_ns = Some(elapsed_ns);
                return None;
            }
            (None, false) => {
                // The executor refused the block: a pair it lost.
                self.probe.sequential_best_ns = best(self.probe.sequential_best_ns, elapsed_ns);
                self.probe.pairs += 1;
            }
            (Some(parallel_ns), _) => {
                self.probe.sequential_best_ns = best(self.probe.sequential_best_ns, elapsed_ns);
                let keep_percent = 100u128.saturating_sub(u128::from(settings.min_gain_percent));
                let won = u128::from(parallel_ns) * 100 <= u128::from(elapsed_ns) * keep_percent;
                self.probe.executor_wins += u32::from(won);
                self.probe.pairs += 1;
                self.pending_ns = None;
            }
        }
        if self.probe.pairs < Self::probe_pairs(&settings) {
            return None;
        }
        let parallel_chosen = self.probe.executor_wins * 2 > self.probe.pairs;
        let base_hold = settings.hold_blocks.max(1);
        self.hold = if self.last_choice == Some(parallel_chosen) {
            self.hold
                .saturating_mul(2)
                .min(base_hold.saturating_mul(1 << MAX_HOLD_DOUBLINGS))
        } else {
            base_hold
        };
        self.last_choice = Some(parallel_chosen);
        self.phase = Phase::Holding {
            remaining: self.hold,
            parallel: parallel_chosen,
        };
        let outcome = MeasuredPaths {
            parallel_chosen,
            ..self.probe
        };
        self.probe = MeasuredPaths::default();
        Some(outcome)
    }
}

/// Nanoseconds since `started`, saturating.
pub(crate) fn elapsed_ns(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(probe_blocks: u16, hold_blocks: u32) -> Option<MeasuredChoice> {
        Some(MeasuredChoice {
            probe_blocks,
            hold_blocks,
            min_gain_percent: 5,
        })
    }

    /// Runs one block through the chooser with `parallel_ns` / `sequential_ns` as the time of
    /// each path; returns the path taken and any decision.
    fn block(
        chooser: &mut PathChooser,
        parallel_ns: u64,
        sequential_ns: u64,
    ) -> (BlockPath, Option<MeasuredPaths>) {
        let path = chooser.next_block(true);
        let decision = if path.timed {
            chooser.record(
                path.parallel,
                if path.parallel {
                    parallel_ns
                } else {
                    sequential_ns
                },
            )
        } else {
            None
        };
        (path, decision)
    }

    #[test]
    fn without_settings_it_follows_the_schedule() {
        let mut chooser = PathChooser::new(None);
        for _ in 0..100 {
            assert_eq!(
                chooser.next_block(true),
                BlockPath {
                    parallel: true,
                    timed: false
                }
            );
            assert_eq!(chooser.record(true, 5), None);
        }
        assert!(!chooser.next_block(false).parallel);
    }

    #[test]
    fn a_probe_alternates_then_keeps_the_faster_path_for_the_hold() {
        let mut chooser = PathChooser::new(settings(4, 10));
        let mut paths = Vec::new();
        let mut decision = None;
        for _ in 0..8 {
            let (path, made) = block(&mut chooser, 60, 100);
            assert!(path.timed);
            paths.push(path.parallel);
            decision = decision.or(made);
        }
        assert_eq!(paths, [true, false, true, false, true, false, true, false]);
        assert_eq!(
            decision,
            Some(MeasuredPaths {
                pairs: 4,
                executor_wins: 4,
                parallel_best_ns: 60,
                sequential_best_ns: 100,
                parallel_chosen: true
            })
        );
        // The hold: 10 untimed parallel blocks, then a new probe.
        for _ in 0..10 {
            let (path, made) = block(&mut chooser, 60, 100);
            assert_eq!(
                path,
                BlockPath {
                    parallel: true,
                    timed: false
                }
            );
            assert_eq!(made, None);
        }
        assert!(chooser.next_block(true).timed);
    }

    /// Blocks until the next probe ends; returns (blocks run, decision).
    fn until_decision(
        chooser: &mut PathChooser,
        parallel_ns: u64,
        sequential_ns: u64,
    ) -> (u32, MeasuredPaths) {
        for blocks in 1..=1_000_000 {
            if let (_, Some(decision)) = block(chooser, parallel_ns, sequential_ns) {
                return (blocks, decision);
            }
        }
        panic!("no probe ended");
    }

    #[test]
    fn a_confirmed_choice_doubles_its_hold_and_a_change_resets_it() {
        let mut chooser = PathChooser::new(settings(2, 10));
        // First probe: 4 blocks.
        assert_eq!(until_decision(&mut chooser, 50, 100).0, 4);
        // Each confirmation: the previous hold, then the 4 probe blocks; holds 10, 20, 40, ...
        let mut holds = Vec::new();
        for _ in 0..8 {
            holds.push(until_decision(&mut chooser, 50, 100).0 - 4);
        }
        assert_eq!(holds, [10, 20, 40, 80, 160, 320, 320, 320]);
        // The answer changes: the hold after it starts again from the base.
        let (_, decision) = until_decision(&mut chooser, 200, 100);
        assert!(!decision.parallel_chosen);
        assert_eq!(until_decision(&mut chooser, 200, 100).0 - 4, 10);
        // A block without a parallel schedule forgets the history.
        assert_eq!(until_decision(&mut chooser, 200, 100).0 - 4, 20);
        chooser.next_block(false);
        assert_eq!(until_decision(&mut chooser, 200, 100).0, 4);
        assert_eq!(until_decision(&mut chooser, 200, 100).0 - 4, 10);
    }

    #[test]
    fn a_gain_under_the_margin_keeps_the_audio_thread_alone() {
        for (parallel_ns, sequential_ns, chosen) in [
            (96, 100, false), // 4% faster: under the 5% margin
            (95, 100, true),  // exactly 5%
            (140, 133, false),
            (73, 133, true),
        ] {
            let mut chooser = PathChooser::new(settings(3, 5));
            let decision = (0..6)
                .find_map(|_| block(&mut chooser, parallel_ns, sequential_ns).1)
                .expect("six blocks end a probe of 3 + 3");
            assert_eq!(
                decision.parallel_chosen, chosen,
                "{parallel_ns} vs {sequential_ns}"
            );
            let (path, _) = block(&mut chooser, parallel_ns, sequential_ns);
            assert_eq!(path.parallel, chosen);
            assert!(!path.timed);
        }
    }

    #[test]
    fn a_few_stalled_blocks_spoil_only_their_pairs() {
        let mut chooser = PathChooser::new(settings(5, 5));
        // Two stalls: one executor block, one one-thread block.
        let parallel = [70, 5_000, 71, 69, 72];
        let sequential = [130, 131, 9_000, 129, 132];
        let mut decision = None;
        for round in 0..5 {
            decision = decision.or(block(&mut chooser, parallel[round], sequential[round]).1);
            decision = decision.or(block(&mut chooser, parallel[round], sequential[round]).1);
        }
        assert_eq!(
            decision,
            Some(MeasuredPaths {
                pairs: 5,
                executor_wins: 4,
                parallel_best_ns: 69,
                sequential_best_ns: 129,
                parallel_chosen: true
            })
        );
        // Half the pairs is not more than half: a tie keeps the audio thread alone.
        let mut chooser = PathChooser::new(settings(2, 5));
        let mut decision = None;
        for (parallel_ns, sequential_ns) in [(50, 100), (200, 100)] {
            decision = decision.or(block(&mut chooser, parallel_ns, sequential_ns).1);
            decision = decision.or(block(&mut chooser, parallel_ns, sequential_ns).1);
        }
        let decision = decision.expect("two pairs end the probe");
        assert_eq!((decision.pairs, decision.executor_wins), (2, 1));
        assert!(!decision.parallel_chosen);
    }

    #[test]
    fn a_block_without_a_parallel_schedule_restarts_the_probe() {
        let mut chooser = PathChooser::new(settings(4, 1_000));
        for _ in 0..8 {
            block(&mut chooser, 200, 100);
        }
        // Holding the sequential path.
        assert_eq!(
            chooser.next_block(true),
            BlockPath {
                parallel: false,
                timed: false
            }
        );
        assert_eq!(
            chooser.next_block(false),
            BlockPath {
                parallel: false,
                timed: false
            }
        );
        // The next parallel schedule is probed at once, parallel first.
        assert_eq!(
            chooser.next_block(true),
            BlockPath {
                parallel: true,
                timed: true
            }
        );
    }

    #[test]
    fn a_refused_parallel_run_is_a_lost_pair_and_the_probe_still_ends() {
        let mut chooser = PathChooser::new(settings(2, 3));
        // The executor refuses every parallel run: each pair's first block runs in order.
        let mut decisions = Vec::new();
        for _ in 0..2 {
            let path = chooser.next_block(true);
            assert!(
                path.parallel && path.timed,
                "a probe asks for the executor first"
            );
            decisions.extend(chooser.record(false, 100));
        }
        assert_eq!(
            decisions,
            [MeasuredPaths {
                pairs: 2,
                executor_wins: 0,
                parallel_best_ns: 0,
                sequential_best_ns: 100,
                parallel_chosen: false
            }],
            "two refused blocks end a probe of two pairs, keeping the audio thread alone"
        );
        // The hold runs in order, untimed.
        assert_eq!(
            chooser.next_block(true),
            BlockPath {
                parallel: false,
                timed: false
            }
        );
    }

    #[test]
    fn probe_length_is_clamped() {
        let mut chooser = PathChooser::new(settings(0, 2));
        assert!(block(&mut chooser, 1, 2).1.is_none());
        assert!(
            block(&mut chooser, 1, 2).1.is_some(),
            "a probe of 1 + 1 blocks"
        );
        let mut chooser = PathChooser::new(settings(u16::MAX, 2));
        let decided_after = (1..=200)
            .find(|_| block(&mut chooser, 1, 2).1.is_some())
            .expect("a probe ends");
        assert_eq!(decided_after, 2 * MAX_PROBE_BLOCKS);
    }
}
