//! A rayon-based executor, kept only as a comparison point for the benchmarks (and usable for
//! offline rendering): the way the original engine parallelised, one fork-join per dependency
//! level per block.
//!
//! **Not real-time-safe.** The calling thread hands each level to rayon's pool and blocks on a
//! latch (a mutex and condition variable) until the level is done; rayon may allocate when it
//! injects work from outside its pool; there is a barrier between levels, so a level waits for
//! its slowest node. Nothing of this is used by the engine.
//!
//! Layout: the parallel schedule's steps are reordered by level (longest path from a source),
//! nodes, parameters and output blocks are stored in that order, so one level is one contiguous
//! slice that `par_iter_mut` splits, and every input of a level lies in the slice before it.

#![allow(dead_code)]

use aether_graph::{BUFFER_SIZE, Block, DspNode, Inputs, MAX_INPUTS, NO_BUFFER, Schedule};
use aether_parallel::NodeSlot;
use aether_params::ParamBlock;
use rayon::prelude::*;

/// No input on this slot.
const NO_INPUT: u32 = u32::MAX;

/// One step, in level order.
struct LevelStep {
    /// The node (taken out of the scenario's table).
    node: Box<dyn DspNode>,
    /// Its parameters.
    params: ParamBlock,
    /// For each input slot, the level-order position of the step whose output it reads.
    inputs: [u32; MAX_INPUTS],
}

/// A schedule run level by level on rayon's global pool.
pub struct RayonLevels {
    steps: Vec<LevelStep>,
    outputs: Vec<Block>,
    /// `levels[k]..levels[k + 1]` are the positions of level `k`.
    levels: Vec<usize>,
    /// Level-order position of the output node's step.
    output: Option<usize>,
    sample_rate: f32,
}

impl RayonLevels {
    /// Takes the nodes of `schedule` (a `compile_parallel` schedule, where every step writes its
    /// own buffer) out of `nodes` and orders them by level.
    pub fn new(schedule: &Schedule, nodes: &mut [NodeSlot], sample_rate: f32) -> Self {
        let count = schedule.len();
        // Level of each step: 1 + the highest level of a predecessor (steps are in dependency
        // order, so predecessors come first).
        let mut level = vec![0usize; count];
        for step in 0..count {
            for &successor in schedule.successors(step) {
                let successor = successor as usize;
                level[successor] = level[successor].max(level[step] + 1);
            }
        }
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&step| (level[step], step));
        let mut position = vec![0u32; count];
        for (index, &step) in order.iter().enumerate() {
            position[step] = index as u32;
        }
        // Which step writes each buffer (one writer per buffer in a parallel schedule).
        let mut writer = vec![NO_INPUT; schedule.buffer_count()];
        for (step, info) in schedule.steps().iter().enumerate() {
            writer[info.output as usize] = position[step];
        }
        let steps = order
            .iter()
            .map(|&step| {
                let info = &schedule.steps()[step];
                let node = nodes[info.node.index() as usize]
                    .take()
                    .expect("every scheduled node is in the table");
                let inputs = info.inputs.map(|buffer| {
                    if buffer == NO_BUFFER {
                        NO_INPUT
                    } else {
                        writer[buffer as usize]
                    }
                });
                LevelStep {
                    node,
                    params: ParamBlock::new(),
                    inputs,
                }
            })
            .collect();
        let mut levels = vec![0usize];
        for (index, &step) in order.iter().enumerate().skip(1) {
            if level[step] != level[order[index - 1]] {
                levels.push(index);
            }
        }
        levels.push(count);
        let output = schedule.output_buffer().and_then(|buffer| {
            let writer = writer[buffer as usize];
            (writer != NO_INPUT).then_some(writer as usize)
        });
        RayonLevels {
            steps,
            outputs: vec![[0.0; BUFFER_SIZE]; count],
            levels,
            output,
            sample_rate,
        }
    }

    /// Dependency levels (fork-joins per block).
    pub fn level_count(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// Renders one block; returns the output node's block.
    pub fn run(&mut self) -> &Block {
        let sample_rate = self.sample_rate;
        for bounds in self.levels.windows(2) {
            let (start, end) = (bounds[0], bounds[1]);
            let (done, current) = self.outputs.split_at_mut(start);
            let done: &[Block] = done;
            self.steps[start..end]
                .par_iter_mut()
                .zip(current[..end - start].par_iter_mut())
                .for_each(|(step, output)| {
                    let inputs: Inputs<'_> = step
                        .inputs
                        .map(|position| (position != NO_INPUT).then(|| &done[position as usize]));
                    step.node
                        .process(&inputs, output, &mut step.params, sample_rate);
                });
        }
        self.output
            .map_or(&SILENCE, |position| &self.outputs[position])
    }
}

static SILENCE: Block = [0.0; BUFFER_SIZE];
