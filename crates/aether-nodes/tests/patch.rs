//! Nodes working together inside the engine (`aether_scheduler::Scheduler`).

mod common;

use aether_nodes::*;
use aether_scheduler::Scheduler;
use common::*;

fn run(sched: &mut Scheduler, samples: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(samples);
    while out.len() < samples {
        out.extend_from_slice(sched.process_block());
    }
    out.truncate(samples);
    out
}

#[test]
fn a_constant_tunes_a_sine_through_its_frequency_input() {
    let mut sched = Scheduler::new(SR);
    let hz = sched.graph.add_node(Box::new(Constant::new())).unwrap();
    let sine = sched.graph.add_node(Box::new(Sine::new())).unwrap();
    sched.graph.connect(hz, sine, 0).unwrap();
    sched.graph.set_output_node(sine).unwrap();
    sched
        .graph
        .set_param_by_name(hz, "value", 523.25, 0)
        .unwrap();
    let y = run(&mut sched, 96_000);
    let measured = zero_crossing_frequency(&y, f64::from(SR));
    assert!((measured / 523.25 - 1.0).abs() < 1e-4, "{measured}");
}

#[test]
fn a_clocked_sequence_plays_its_notes_in_time() {
    let mut sched = Scheduler::new(SR);
    let graph = &mut sched.graph;
    let clock = graph.add_node(Box::new(Gate::new())).unwrap();
    let notes = graph
        .add_node(Box::new(Sequencer::new("69 76 81").unwrap()))
        .unwrap();
    let sine = graph.add_node(Box::new(Sine::new())).unwrap();
    graph.connect(clock, notes, 0).unwrap();
    graph.connect(notes, sine, 0).unwrap();
    graph.set_output_node(sine).unwrap();
    graph.set_param_by_name(clock, "rate", 4.0, 0).unwrap(); // a step every 12 000 samples
    let y = run(&mut sched, 48_000);
    for (step, note) in [69.0_f64, 76.0, 81.0, 69.0].into_iter().enumerate() {
        let expected = 440.0 * ((note - 69.0) / 12.0).exp2();
        let window = &y[step * 12_000 + 100..(step + 1) * 12_000 - 100];
        let measured = zero_crossing_frequency(window, f64::from(SR));
        assert!(
            (measured / expected - 1.0).abs() < 1e-3,
            "step {step}: {measured} Hz"
        );
    }
}

#[test]
fn an_enveloped_voice_is_silent_between_notes_and_bounded_throughout() {
    let mut sched = Scheduler::new(SR);
    let graph = &mut sched.graph;
    let clock = graph.add_node(Box::new(Gate::new())).unwrap(); // 2 Hz, half high
    let notes = graph.add_node(Box::new(Sequencer::default())).unwrap();
    let saw = graph.add_node(Box::new(Saw::new())).unwrap();
    let filter = graph
        .add_node(Box::new(Biquad::new(BiquadMode::Lowpass)))
        .unwrap();
    let envelope = graph.add_node(Box::new(Adsr::new())).unwrap();
    let vca = graph.add_node(Box::new(Multiply::new())).unwrap();
    graph.connect(clock, notes, 0).unwrap();
    graph.connect(notes, saw, 0).unwrap();
    graph.connect(saw, filter, 0).unwrap();
    graph.connect(clock, envelope, 0).unwrap();
    graph.connect(filter, vca, 0).unwrap();
    graph.connect(envelope, vca, 1).unwrap();
    graph.set_output_node(vca).unwrap();
    graph.set_param_by_name(saw, "gain", 0.5, 0).unwrap();
    let y = run(&mut sched, 48_000);
    assert!(y.iter().all(|v| v.is_finite() && v.abs() <= 1.0));
    // Gate falls at 12 000; a 0.2 s release ends at 21 600; the next note starts at 24 000.
    assert!(y[21_600..24_000].iter().all(|&v| v == 0.0));
    assert!(y[1_000..12_000].iter().any(|&v| v.abs() > 0.1));
    assert!(y[25_000..36_000].iter().any(|&v| v.abs() > 0.1));

    // Add a delay while it plays: the echo fills the silence.
    let echo = sched
        .graph
        .add_node(Box::new(Delay::new(1.0, 48_000.0).unwrap()))
        .unwrap();
    sched.graph.connect(vca, echo, 0).unwrap();
    sched.graph.set_output_node(echo).unwrap();
    let y = run(&mut sched, 48_000);
    assert!(y.iter().all(|v| v.is_finite()));
    assert!(
        y[21_600..24_000].iter().any(|&v| v.abs() > 0.01),
        "the echo fills the gap"
    );
}
