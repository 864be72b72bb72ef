//! A minimal cpal host for the AetherDSP engine: a sine through a gain, played on the default
//! output device, with the pitch and level edited from the main thread while it plays.
//!
//! ```text
//! cargo run -p aether-example-cpal-host --features cpal            # default host (ALSA)
//! cargo run -p aether-example-cpal-host --features cpal -- jack    # a running JACK server
//! ```
//!
//! The pattern: build the graph on the control thread with a [`Controller`], move the
//! [`AudioProcessor`] into the stream's callback, and keep editing through the controller.
//! The callback only calls `AudioProcessor::process`, which never allocates, locks or blocks
//! and accepts any host buffer size. Dropping the stream stops the callback; the processor
//! is dropped with the stream, outside the callback. Needs `libasound2-dev` (and
//! `libjack-jackd2-dev` for JACK) to build.

use std::time::Duration;

use aether_nodes::{Gain, Sine};
use aether_scheduler::{AudioProcessor, Controller, EngineConfig, engine};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

type BoxError = Box<dyn std::error::Error>;

fn main() -> Result<(), BoxError> {
    let host = if std::env::args().nth(1).as_deref() == Some("jack") {
        cpal::host_from_id(cpal::HostId::Jack)?
    } else {
        cpal::default_host()
    };
    let device = host
        .default_output_device()
        .ok_or("no output device (is a sound card or JACK server there?)")?;
    let config = device.default_output_config()?;
    if config.sample_format() != cpal::SampleFormat::F32 {
        return Err(format!(
            "the device wants {} samples; this example writes f32",
            config.sample_format()
        )
        .into());
    }
    let stream_config: cpal::StreamConfig = config.into();
    let channels = usize::from(stream_config.channels);

    // Control thread: a graph `sine -> gain -> output`, sent to the audio side by each shortcut.
    let (mut control, mut audio): (Controller, AudioProcessor) =
        engine(stream_config.sample_rate as f32, EngineConfig::default())?;
    let sine = control.add_node(Box::new(Sine::new()))?;
    let gain = control.add_node(Box::new(Gain))?;
    control.connect(sine, gain, 0)?;
    control.set_output_node(gain)?;
    control.set_param_by_name(gain, "gain", 0.2, 0)?;

    // Audio thread: nothing but the engine call (no allocation, no lock, no printing).
    let stream = device.build_output_stream(
        stream_config,
        move |data: &mut [f32], _: &cpal::OutputCallbackInfo| audio.process(data, channels),
        |error| eprintln!("stream error: {error}"),
        None,
    )?;
    stream.play()?;

    // Edit while it plays: a short melody with 20 ms glides, then a 200 ms fade-out.
    let glide = (control.sample_rate() * 0.02) as u32;
    for freq in [220.0, 277.2, 329.6, 440.0, 329.6, 277.2, 220.0] {
        control.set_param_by_name(sine, "freq", freq, glide)?;
        std::thread::sleep(Duration::from_millis(300));
        control.collect_garbage();
    }
    control.set_param_by_name(gain, "gain", 0.0, (control.sample_rate() * 0.2) as u32)?;
    std::thread::sleep(Duration::from_millis(300));
    println!("{:?}", control.stats());
    // Pause, let the callback leave the engine, then drop the stream (and with it the audio
    // processor and its nodes) here on the control thread. The pause matters for JACK: libjack
    // cancels the process thread asynchronously when the client is deactivated.
    stream.pause()?;
    std::thread::sleep(Duration::from_millis(30));
    drop(stream);
    Ok(())
}
