//! Criterion benchmarks for `aether-params`: filling one 64-sample block on the ramp,
//! constant and exponential paths, against 64 calls of `tick`.
//!
//! The ramp cases use a ramp of 2^30 samples, re-armed on the rare call where it has
//! ended, so every measured call runs the ramp path.

use aether_params::Param;
use criterion::{Criterion, black_box, criterion_main};

const BLOCK: usize = 64;
const LONG_RAMP: u32 = 1 << 30;
/// Long enough that an approach from 0 to 1 outlasts any measurement.
const LONG_TIME_CONSTANT: f32 = 4_000_000.0;

fn ramping() -> Param {
    let mut param = Param::new(0.0).expect("finite");
    param.set_target(1.0, LONG_RAMP).expect("finite");
    param
}

fn rearm_ramp(param: &mut Param) {
    if !param.is_smoothing() {
        *param = ramping();
    }
}

fn approaching() -> Param {
    let mut param = Param::new(0.0).expect("finite");
    param
        .set_target_exponential(1.0, LONG_TIME_CONSTANT)
        .expect("valid time constant");
    param
}

fn fill_buffer_64(c: &mut Criterion) {
    let mut group = c.benchmark_group("param_fill_buffer_64");
    let mut out = [0.0_f32; BLOCK];

    let mut param = ramping();
    group.bench_function("ramp", |b| {
        b.iter(|| {
            rearm_ramp(&mut param);
            param.fill_buffer(black_box(&mut out));
            black_box(&out);
        });
    });

    // Reference point for the ramp path: the bare closed-form loop, nothing around it.
    let mut k0 = 1_i32;
    group.bench_function("bare_ramp_loop_baseline", |b| {
        b.iter(|| {
            let (start, step, target) = black_box((0.0_f32, 1.0e-9_f32, 1.0_f32));
            let first = black_box(k0);
            let dst: &mut [f32] = black_box(&mut out[..]);
            for (i, value) in dst.iter_mut().enumerate() {
                let v = start + step * first.wrapping_add(i as i32) as f32;
                *value = if v < target { v } else { target };
            }
            k0 = k0.wrapping_add(64) & 0xffff;
            black_box(&out);
        });
    });

    // The same bare loop at a fixed length of 64 (what `fill_buffer` runs for a whole block on
    // the line), built for each x86_64 vector width the crate dispatches to: the floor of each
    // kernel, measured in the same run.
    #[cfg(target_arch = "x86_64")]
    {
        let mut k0 = 1_i32;
        group.bench_function("bare_ramp_loop_fixed64_sse2", |b| {
            b.iter(|| {
                bare_loop_fixed64(black_box(&mut out), black_box(k0));
                k0 = k0.wrapping_add(64) & 0xffff;
                black_box(&out);
            });
        });
        if std::is_x86_feature_detected!("avx2") {
            let mut k0 = 1_i32;
            group.bench_function("bare_ramp_loop_fixed64_avx2", |b| {
                b.iter(|| {
                    // SAFETY: AVX2 was detected just above.
                    unsafe { bare_loop_fixed64_avx2(black_box(&mut out), black_box(k0)) };
                    k0 = k0.wrapping_add(64) & 0xffff;
                    black_box(&out);
                });
            });
        }
    }

    let mut param = Param::new(0.5).expect("finite");
    group.bench_function("constant", |b| {
        b.iter(|| {
            param.fill_buffer(black_box(&mut out));
            black_box(&out);
        });
    });

    // Reference point for the constant path: a bare fill of the block.
    group.bench_function("memset_baseline", |b| {
        b.iter(|| {
            black_box(&mut out).fill(black_box(0.5));
            black_box(&out);
        });
    });

    let mut param = approaching();
    group.bench_function("exponential", |b| {
        b.iter(|| {
            if !param.is_smoothing() {
                param = approaching();
            }
            param.fill_buffer(black_box(&mut out));
            black_box(&out);
        });
    });

    // Retarget every block, with a scheduled change splitting the block at sample 17.
    let mut param = Param::new(0.0).expect("finite");
    let mut flip = false;
    group.bench_function("retarget_with_offset_event", |b| {
        b.iter(|| {
            flip = !flip;
            let target = if flip { 1.0 } else { 0.0 };
            param.set_target(black_box(target), 64).expect("finite");
            param
                .set_target_at(black_box(0.5), 32, 17)
                .expect("queue has room");
            param.fill_buffer(black_box(&mut out));
            black_box(&out);
        });
    });
    group.finish();
}

/// The closed-form ramp loop over a fixed-length block (what `fill_buffer` runs for a whole
/// 64-sample block on the line), inlined into each width's wrapper below.
#[inline(always)]
fn bare_loop_fixed64(out: &mut [f32; BLOCK], first: i32) {
    let (start, step, target) = black_box((0.0_f32, 1.0e-9_f32, 1.0_f32));
    for (i, value) in out.iter_mut().enumerate() {
        let v = start + step * first.wrapping_add(i as i32) as f32;
        *value = if v < target { v } else { target };
    }
}

/// [`bare_loop_fixed64`] built for AVX2.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
unsafe fn bare_loop_fixed64_avx2(out: &mut [f32; BLOCK], first: i32) {
    bare_loop_fixed64(out, first);
}

fn tick_x64(c: &mut Criterion) {
    let mut group = c.benchmark_group("param_tick_x64");
    let mut out = [0.0_f32; BLOCK];

    let mut param = ramping();
    group.bench_function("ramp", |b| {
        b.iter(|| {
            rearm_ramp(&mut param);
            for value in &mut out {
                *value = param.tick();
            }
            black_box(&out);
        });
    });

    let mut param = Param::new(0.5).expect("finite");
    group.bench_function("constant", |b| {
        b.iter(|| {
            for value in &mut out {
                *value = param.tick();
            }
            black_box(&out);
        });
    });
    group.finish();
}

/// The benchmark group, in a private module so the generated function needs no docs.
mod group {
    use criterion::criterion_group;

    criterion_group!(benches, super::fill_buffer_64, super::tick_x64);
}

criterion_main!(group::benches);
