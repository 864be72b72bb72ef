//! The `aether` binary against hostile or careless input: special output paths, planted
//! symbolic links, failed runs, sample rates and lengths out of range, endless inputs, control
//! characters in names. Each answer is documented in docs/HOSTILE-INPUT.md.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{aether, scratch, stderr};

/// Every entry of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A one-node patch: a sine at `rate` Hz.
fn sine_patch(rate: &str) -> String {
    format!(
        r#"{{ "format": "aetherdsp-patch", "version": 1, "sample_rate": {rate},
  "nodes": [ {{ "id": 0, "type_name": "Sine", "params": {{ "freq": 440.0, "gain": 0.5 }} }} ],
  "output": 0 }}"#
    )
}

/// Checks a mono 16-bit WAV header with exact sizes for `frames` frames at `rate` Hz.
fn assert_wav_header(bytes: &[u8], frames: u32, rate: u32) {
    assert!(bytes.len() >= 44, "{} bytes", bytes.len());
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), rate);
    assert_eq!(&bytes[36..40], b"data");
    assert_eq!(
        u32::from_le_bytes(bytes[40..44].try_into().unwrap()),
        frames * 2
    );
    assert_eq!(bytes.len(), 44 + frames as usize * 2);
}

#[test]
fn a_character_device_is_written_not_replaced() {
    let dir = scratch("devnull");
    let output = aether(&["render", "--seconds", "0.1", "-o", "/dev/null"], &dir);
    assert!(output.status.success(), "{}", stderr(&output));
    let metadata = std::fs::metadata("/dev/null").unwrap();
    assert!(
        metadata.file_type().is_char_device(),
        "/dev/null was replaced"
    );
    assert!(
        entries(Path::new("/dev"))
            .iter()
            .all(|name| !name.contains(".partial"))
    );
}

#[test]
fn standard_output_gets_the_wav_and_stderr_the_report() {
    let dir = scratch("stdout");
    let output = aether(
        &[
            "render",
            "--seconds",
            "0.5",
            "--sample-rate",
            "8000",
            "-o",
            "-",
        ],
        &dir,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_wav_header(&output.stdout, 4000, 8000);
    assert!(stderr(&output).contains("wrote -"), "{}", stderr(&output));
    assert!(entries(&dir).is_empty(), "{:?}", entries(&dir));
}

#[test]
fn a_fifo_is_streamed_into() {
    let dir = scratch("fifo");
    let fifo = dir.join("pipe.wav");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let output = aether(
        &[
            "render",
            "--seconds",
            "0.25",
            "--sample-rate",
            "8000",
            "-o",
            "pipe.wav",
        ],
        &dir,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let bytes = reader.join().unwrap();
    assert_wav_header(&bytes, 2000, 8000);
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(entries(&dir), ["pipe.wav"]);
}

#[test]
fn a_symbolic_link_is_followed_and_stays_a_link() {
    let dir = scratch("symlink");
    std::fs::create_dir(dir.join("real")).unwrap();
    // An existing target and a dangling one.
    std::fs::write(dir.join("real/existing.wav"), b"old").unwrap();
    std::os::unix::fs::symlink("real/existing.wav", dir.join("link.wav")).unwrap();
    std::os::unix::fs::symlink("real/new.wav", dir.join("dangling.wav")).unwrap();
    for (link, target) in [
        ("link.wav", "real/existing.wav"),
        ("dangling.wav", "real/new.wav"),
    ] {
        let output = aether(
            &[
                "render",
                "--seconds",
                "0.1",
                "--sample-rate",
                "8000",
                "-o",
                link,
            ],
            &dir,
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let metadata = std::fs::symlink_metadata(dir.join(link)).unwrap();
        assert!(metadata.file_type().is_symlink(), "{link} was replaced");
        assert_wav_header(&std::fs::read(dir.join(target)).unwrap(), 800, 8000);
    }
    assert_eq!(entries(&dir.join("real")), ["existing.wav", "new.wav"]);
}

#[test]
fn planted_links_at_predictable_names_are_never_written_through() {
    let dir = scratch("planted");
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // The old scheme's names for the next pids: `.out.wav.<pid>.partial`.
    let next_pid = std::process::id();
    for pid in next_pid..next_pid + 400 {
        let _ = std::os::unix::fs::symlink(&victim, dir.join(format!(".out.wav.{pid}.partial")));
    }
    let output = aether(
        &["render", "--seconds", "0.1", "--sample-rate", "8000"],
        &dir,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_wav_header(&std::fs::read(dir.join("out.wav")).unwrap(), 800, 8000);
    // Only the planted links, the victim and the output are left.
    assert_eq!(entries(&dir).len(), 400 + 2);
}

#[test]
fn a_refused_render_leaves_an_existing_output_as_it_was() {
    let dir = scratch("refused");
    std::fs::write(dir.join("out.wav"), b"keep me").unwrap();
    std::fs::write(dir.join("slow.json"), sine_patch("0.4")).unwrap();
    for args in [
        &["render", "--sample-rate", "0.3"][..],
        &["render", "--sample-rate", "1e9"],
        &["render", "--sample-rate", "3e38"],
        &["render", "slow.json"],
        &["render", "--seconds", "86400", "--sample-rate", "96000"],
        &["render", "--seconds=-1"],
        &["render", "-o", "."],
    ] {
        let output = aether(args, &dir);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        let message = stderr(&output);
        assert!(message.starts_with("error: "), "{args:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert_eq!(
            std::fs::read(dir.join("out.wav")).unwrap(),
            b"keep me",
            "{args:?}"
        );
        assert_eq!(entries(&dir), ["out.wav", "slow.json"], "{args:?}");
    }
    let message = stderr(&aether(&["render", "--sample-rate", "0.3"], &dir));
    assert!(
        message.contains("sample rate 0.3 Hz is outside the supported range 1000 to 768000 Hz"),
        "{message}"
    );
    let message = stderr(&aether(
        &["render", "--seconds", "86400", "--sample-rate", "96000"],
        &dir,
    ));
    assert!(
        message.contains("exceed the WAV format's 4 GiB limit"),
        "{message}"
    );
}

#[test]
fn dropping_an_unfinished_output_leaves_no_trace() {
    use std::io::Write as _;
    let dir = scratch("unfinished");
    let target = dir.join("out.wav");
    std::fs::write(&target, b"keep me").unwrap();
    let mut output = aether_cli::output::OutputFile::create(&target).unwrap();
    output.write_all(&[0u8; 200_000]).unwrap();
    assert_eq!(
        entries(&dir).len(),
        2,
        "the temporary file is beside the target"
    );
    drop(output);
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    assert_eq!(entries(&dir), ["out.wav"]);

    // A panic while writing unwinds through the same drop.
    let result = std::panic::catch_unwind(|| {
        let mut output = aether_cli::output::OutputFile::create(&target).unwrap();
        output.write_all(b"partial").unwrap();
        panic!("a render failed half way");
    });
    assert!(result.is_err());
    assert_eq!(std::fs::read(&target).unwrap(), b"keep me");
    assert_eq!(entries(&dir), ["out.wav"]);

    // Finishing replaces the file and keeps its permissions.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut output = aether_cli::output::OutputFile::create(&target).unwrap();
    output.write_all(b"new").unwrap();
    output.finish().unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// Peak resident memory of a child, in KiB, from /proc while it runs (the last reading).
fn peak_memory_kib(args: &[&str], dir: &Path) -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aether"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(line) = status.lines().find(|line| line.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            peak = peak.max(kib);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    peak
}

#[test]
fn render_memory_stays_flat_whatever_the_length() {
    let dir = scratch("flat");
    std::fs::write(dir.join("sine.json"), sine_patch("8000")).unwrap();
    let short = peak_memory_kib(
        &["render", "sine.json", "--seconds", "2", "-o", "short.wav"],
        &dir,
    );
    let long = peak_memory_kib(
        &["render", "sine.json", "--seconds", "400", "-o", "long.wav"],
        &dir,
    );
    // 400 s at 8 kHz: 3.2 M samples, 12.8 MB as f32 if they were kept in memory.
    assert!(short > 0 && long > 0);
    assert!(
        long < short + 4 * 1024,
        "peak memory grew from {short} KiB to {long} KiB with the render's length"
    );
    assert_eq!(
        std::fs::metadata(dir.join("long.wav")).unwrap().len(),
        44 + 3_200_000 * 2
    );
}

#[test]
fn endless_and_huge_inputs_are_refused_within_the_size_limit() {
    let dir = scratch("endless");
    let output = aether(&["info", "/dev/zero"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("/dev/zero"), "{}", stderr(&output));
    // A sparse 3 GB file starting with the binary magic is refused without reading it whole.
    let sparse = dir.join("sparse.bin");
    let file = std::fs::File::create(&sparse).unwrap();
    std::io::Write::write_all(&mut &file, b"AETHER\0\x01\0\0\0").unwrap();
    file.set_len(3 << 30).unwrap();
    let output = aether(&["info", "sparse.bin"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("limit"), "{}", stderr(&output));
    let output = aether(&["info", "."], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("directory"), "{}", stderr(&output));
}

#[test]
fn control_characters_in_a_patch_never_reach_the_terminal() {
    let dir = scratch("escapes");
    let evil = sine_patch("48000").replace("\"Sine\"", "\"Si\\u001b]0;pwned\\u0007ne\\r\"");
    std::fs::write(dir.join("evil.json"), evil).unwrap();
    let output = aether(&["info", "evil.json"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        !message.trim_end().chars().any(char::is_control),
        "{message:?}"
    );
    assert!(message.contains("\\u{1b}]0;pwned"), "{message}");

    let labelled =
        sine_patch("48000").replace("\"id\": 0,", "\"id\": 0, \"label\": \"a\\u001b[2Jb\",");
    std::fs::write(dir.join("label.json"), labelled).unwrap();
    for command in ["info", "dot"] {
        let output = aether(&[command, "label.json"], &dir);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{command}: {text:?}"
        );
    }
}

/// `count` delays each asking for a 61 MB line (40 s at 384 kHz), chained.
fn delay_patch(count: usize) -> String {
    let nodes: Vec<String> = (0..count)
        .map(|id| {
            format!(
                r#"{{ "id": {id}, "type_name": "Delay", "state": {{ "max_seconds": {{ "Float": 40.0 }}, "max_sample_rate": {{ "Float": 384000.0 }} }} }}"#
            )
        })
        .collect();
    let edges: Vec<String> = (1..count)
        .map(|id| format!(r#"{{ "from": {}, "to": {id}, "slot": 0 }}"#, id - 1))
        .collect();
    format!(
        r#"{{ "format": "aetherdsp-patch", "version": 1, "sample_rate": 48000.0,
  "nodes": [ {} ], "edges": [ {} ], "output": {} }}"#,
        nodes.join(",\n"),
        edges.join(",\n"),
        count - 1
    )
}

#[test]
fn node_state_is_held_to_a_budget_before_anything_is_built() {
    let dir = scratch("budget");
    std::fs::write(dir.join("delays.json"), delay_patch(300)).unwrap();
    // 300 x 61 MB is far over the default 1 GiB budget: refused, naming the node and the bytes,
    // without building any of them (peak memory stays small).
    for command in ["render", "info", "dot"] {
        let output = aether(&[command, "delays.json"], &dir);
        assert_eq!(output.status.code(), Some(1), "{command}");
        let message = stderr(&output);
        assert!(
            message.contains("node 17 (Delay) asks for 61440004 bytes of state"),
            "{command}: {message}"
        );
        assert!(
            message.contains("1073741824-byte state budget"),
            "{message}"
        );
    }
    let peak = peak_memory_kib(&["render", "delays.json"], &dir);
    assert!(peak < 200 * 1024, "refusing the patch took {peak} KiB");

    // Within a budget the user raises, `info` and `dot` still build no delay line.
    std::fs::write(dir.join("few.json"), delay_patch(20)).unwrap();
    let output = aether(&["info", "few.json", "--state-budget", "4096"], &dir);
    assert!(output.status.success(), "{}", stderr(&output));
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(listing.contains("state: 1228800080 bytes"), "{listing}");
    let peak = peak_memory_kib(&["info", "few.json", "--state-budget", "4096"], &dir);
    assert!(peak < 200 * 1024, "info built delay lines: {peak} KiB");
    let peak = peak_memory_kib(&["dot", "few.json", "--state-budget", "4096"], &dir);
    assert!(peak < 200 * 1024, "dot built delay lines: {peak} KiB");
    // A budget this machine cannot address is a one-line error, not an overflow.
    let output = aether(
        &["info", "few.json", "--state-budget", "18446744073709551615"],
        &dir,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: --state-budget: 18446744073709551615 MiB is more"),
        "{}",
        stderr(&output)
    );
    // A small budget refuses what the default allows.
    let output = aether(&["info", "few.json", "--state-budget", "100"], &dir);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("node 1 (Delay) asks for"),
        "{}",
        stderr(&output)
    );
}
