//! Criterion benchmarks for `aether-command`: one audio block's worth of commands
//! through the channel on a single thread (construction is never timed).

use aether_command::{ChannelConfig, MAX_COMMANDS_PER_TICK};
use criterion::{Criterion, black_box, criterion_main};

/// A small command, the size of a "set parameter" edit.
#[derive(Clone, Copy)]
struct SetParam {
    node: u32,
    value: f32,
}

/// Send 32 small commands, drain them in one tick, collect the 32 receipts.
fn send_drain_collect(c: &mut Criterion) {
    let (mut control, mut audio) = ChannelConfig::new(MAX_COMMANDS_PER_TICK)
        .build::<SetParam, u32>()
        .expect("valid config");
    let mut sum = 0.0_f32;
    c.bench_function("ring send+drain of 32 commands", |b| {
        b.iter(|| {
            for node in 0..MAX_COMMANDS_PER_TICK as u32 {
                let command = SetParam {
                    node: black_box(node),
                    value: 0.5,
                };
                if control.try_send(command).is_err() {
                    unreachable!("the channel is empty at the start of each iteration");
                }
            }
            let applied = audio.drain_tick(|command| {
                sum += command.value;
                command.node
            });
            let collected = control.collect(|receipt| {
                black_box(receipt);
            });
            black_box((applied, collected))
        });
    });
    black_box(sum);
}

/// The benchmark group, in a private module so the generated function needs no docs.
mod group {
    use criterion::criterion_group;

    criterion_group!(benches, super::send_drain_collect);
}

criterion_main!(group::benches);
