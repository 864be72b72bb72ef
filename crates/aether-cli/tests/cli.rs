//! End-to-end tests of the `aether` binary: renders, listings, diagrams and error messages.

mod common;

use std::path::{Path, PathBuf};

use common::{aether, scratch, stderr, stdout};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/patches")
}

/// Reads a WAV file with an independent reader and returns its samples as f32 in [-1, 1].
fn read_wav(path: &Path) -> (hound::WavSpec, Vec<f32>) {
    let mut reader = hound::WavReader::open(path).expect("a valid WAV file");
    let spec = reader.spec();
    let samples = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => {
            let scale = (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.unwrap() as f32 / scale)
                .collect()
        }
    };
    (spec, samples)
}

#[test]
fn render_without_a_patch_writes_the_demo() {
    let dir = scratch("demo");
    let output = aether(&["render", "--seconds", "2", "--quiet"], &dir);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains("allocations:      0"), "{report}");
    assert!(report.contains("non-finite:       0"), "{report}");
    assert!(report.contains("deadline misses:"), "{report}");
    let (spec, samples) = read_wav(&dir.join("out.wav"));
    assert_eq!(spec.sample_rate, 48_000);
    assert_eq!(spec.bits_per_sample, 16);
    assert_eq!(samples.len(), 96_000);
    assert!(samples.iter().all(|s| s.is_finite()));
    let rms = (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt();
    assert!(rms > 0.05, "the demo must not be silent (rms {rms})");
}

#[test]
fn every_example_patch_renders_in_every_format() {
    let dir = scratch("examples");
    let mut count = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        for (format, bits) in [("int16", 16), ("int24", 24), ("float32", 32)] {
            let out = dir.join(format!(
                "{}-{format}.wav",
                path.file_stem().unwrap().to_string_lossy()
            ));
            let output = aether(
                &[
                    "render",
                    path.to_str().unwrap(),
                    "-o",
                    out.to_str().unwrap(),
                    "--seconds",
                    "0.5",
                    "--format",
                    format,
                ],
                &dir,
            );
            assert!(
                output.status.success(),
                "{}: {}",
                path.display(),
                stderr(&output)
            );
            let (spec, samples) = read_wav(&out);
            assert_eq!(spec.bits_per_sample, bits);
            assert!(
                samples.iter().any(|&s| s != 0.0),
                "{} renders silence",
                path.display()
            );
        }
        count += 1;
    }
    assert!(count >= 3, "expected the example patches, found {count}");
}

#[test]
fn sample_rate_override_and_stress_patches() {
    let dir = scratch("stress");
    let output = aether(
        &[
            "render",
            "--stress",
            "300",
            "--seconds",
            "0.5",
            "--sample-rate",
            "44100",
            "-o",
            "s.wav",
        ],
        &dir,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("nodes:            3"),
        "{}",
        stdout(&output)
    );
    let (spec, samples) = read_wav(&dir.join("s.wav"));
    assert_eq!(spec.sample_rate, 44_100);
    assert_eq!(samples.len(), 22_050);
}

#[test]
fn info_and_dot_describe_a_patch() {
    let dir = scratch("info");
    let patch = examples().join("ring-mod.json");
    let output = aether(&["info", patch.to_str().unwrap()], &dir);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = stdout(&output);
    assert!(listing.contains("[3] Biquad \"presence\""), "{listing}");
    assert!(listing.contains("gain_db = 6 dB"), "{listing}");
    assert!(listing.contains("[0] -> [2] input 0"), "{listing}");
    let output = aether(&["dot", patch.to_str().unwrap()], &dir);
    assert!(output.status.success(), "{}", stderr(&output));
    let dot = stdout(&output);
    assert!(dot.starts_with("digraph patch {"), "{dot}");
    assert!(dot.contains("n0 -> n2 [label=\"0\"]"), "{dot}");
    assert!(
        dot.contains("peripheries=2"),
        "the output node is marked: {dot}"
    );
}

/// Bad input: one clear line naming the file and the culprit, a failing exit code, no panic,
/// and no output file left behind.
#[test]
fn bad_patches_fail_cleanly() {
    let dir = scratch("errors");
    let valid = std::fs::read_to_string(examples().join("ring-mod.json")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("not-json.json", "{ this is not json".into(), "line 1"),
        (
            "unknown-type.json",
            valid.replace("\"Multiply\"", "\"Teleporter\""),
            "Teleporter",
        ),
        (
            "out-of-range.json",
            valid.replace("\"freq\": 440.0", "\"freq\": 99999.0"),
            "freq",
        ),
        (
            "bad-version.json",
            valid.replace("\"version\": 1", "\"version\": 99"),
            "99",
        ),
        (
            "cycle.json",
            valid.replace(
                "\"edges\": [",
                "\"edges\": [\n    { \"from\": 4, \"to\": 1, \"slot\": 0 },",
            ),
            "cycle",
        ),
        (
            "binary-garbage.bin",
            "AETHER\0\u{1}\0\0\0garbage".into(),
            "binary-garbage.bin",
        ),
    ];
    for (name, contents, culprit) in cases {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        let output = aether(
            &[
                "render",
                path.to_str().unwrap(),
                "-o",
                "never.wav",
                "--quiet",
            ],
            &dir,
        );
        let message = stderr(&output);
        assert!(!output.status.success(), "{name} was accepted");
        assert!(!message.contains("panicked"), "{name}: {message}");
        assert_eq!(
            message.trim_end().lines().count(),
            1,
            "{name}: one line expected: {message}"
        );
        assert!(message.starts_with("error: "), "{name}: {message}");
        assert!(
            message.contains(name),
            "{name}: the message names the file: {message}"
        );
        assert!(
            message.contains(culprit),
            "{name}: the message names {culprit:?}: {message}"
        );
        let output = aether(&["info", path.to_str().unwrap()], &dir);
        assert!(!output.status.success(), "info accepted {name}");
    }
    let missing = aether(&["render", "no-such-file.json"], &dir);
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("no-such-file.json"),
        "{}",
        stderr(&missing)
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("never") || name.contains("partial") || name.ends_with(".wav"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "partial output left behind: {leftovers:?}"
    );
}

#[test]
fn bad_options_fail_cleanly() {
    let dir = scratch("options");
    for args in [
        &["render", "--seconds", "-1"][..],
        &["render", "--sample-rate", "0", "--seconds", "0.1"],
        &["render", "--stress", "0"],
        &["render", "-o", "/no/such/dir/out.wav", "--seconds", "0.1"],
    ] {
        let output = aether(args, &dir);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(
            !stderr(&output).contains("panicked"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[cfg(not(feature = "play"))]
#[test]
fn play_without_the_feature_says_how_to_get_it() {
    let dir = scratch("no-play");
    let output = aether(&["play", "--seconds", "1"], &dir);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("--features play"), "{text}");
    assert!(text.contains("libasound2-dev"), "{text}");
}
