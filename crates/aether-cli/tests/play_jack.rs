//! `aether play` against a private JACK dummy server, driven through its console.
//!
//! Needs `jackd` (package jackd2) whenever the `play` feature is on: a missing server is a
//! failure, not a skip. Every child process is time-bound and killed by a guard, also when the
//! test fails.

#![cfg(feature = "play")]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use aether_state::GraphSnapshot;

/// How long one console answer may take.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Kills and reaps a child process when dropped.
struct ChildGuard {
    child: Child,
    what: &'static str,
}

impl ChildGuard {
    /// Waits up to `timeout` for the process to exit; kills it and panics otherwise.
    fn wait_with_timeout(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("{} did not exit within {timeout:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private JACK server (dummy driver, 48 kHz, 64-frame periods), stopped on drop.
struct JackServer {
    name: String,
    process: ChildGuard,
}

/// How long the server gets to exit after SIGTERM before it is killed.
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(5);

impl Drop for JackServer {
    /// SIGTERM first: a server stopped that way removes its entry from JACK's shared registry,
    /// one killed outright leaves it behind, and JACK refuses to start more than a handful of
    /// servers per machine. The guard kills the server if it is still running after the timeout.
    fn drop(&mut self) {
        let pid = self.process.child.id().to_string();
        let terminated = Command::new("kill")
            .args(["-TERM", &pid])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if terminated {
            let deadline = Instant::now() + SERVER_STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.process.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl JackServer {
    fn start(name: &str) -> JackServer {
        let child = Command::new("jackd")
            .args(["-n", name, "-d", "dummy", "-r", "48000", "-p", "64"])
            .env("JACK_NO_AUDIO_RESERVATION", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start jackd ({error}): the `play` feature's tests need the jackd2 package")
            });
        let server = JackServer {
            name: name.into(),
            process: ChildGuard {
                child,
                what: "jackd",
            },
        };
        let wait = Command::new("jack_wait")
            .args(["-s", name, "-w", "-t", "15"])
            .stdin(Stdio::null())
            .output()
            .expect("jack_wait (package jackd2) runs");
        let answer = String::from_utf8_lossy(&wait.stdout);
        assert!(
            answer.contains("server is available"),
            "the JACK server {name} did not come up: {answer} {}",
            String::from_utf8_lossy(&wait.stderr)
        );
        server
    }
}

/// A running `aether play` with its console.
struct Console {
    /// `None` once closed (end of input for the console).
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    process: ChildGuard,
    stderr: Receiver<String>,
}

impl Console {
    fn start(server: &JackServer, args: &[&str]) -> Console {
        let mut child = Command::new(env!("CARGO_BIN_EXE_aether"))
            .args(args)
            .env("JACK_DEFAULT_SERVER", &server.name)
            .env("JACK_NO_START_SERVER", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the aether binary runs");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (line_sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_sender.send(line).is_err() {
                    break;
                }
            }
        });
        let (stderr_sender, stderr_text) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = stderr_sender.send(text);
        });
        Console {
            stdin: Some(stdin),
            lines,
            process: ChildGuard {
                child,
                what: "aether play",
            },
            stderr: stderr_text,
        }
    }

    /// Sends one command and returns (listing lines, status line).
    fn command(&mut self, command: &str) -> (Vec<String>, String) {
        let stdin = self.stdin.as_mut().expect("input is open");
        writeln!(stdin, "{command}").expect("the console reads stdin");
        stdin.flush().expect("flush");
        let mut details = Vec::new();
        loop {
            let line = self.lines.recv_timeout(ANSWER_TIMEOUT).unwrap_or_else(|_| {
                panic!("no answer to {command:?} within {ANSWER_TIMEOUT:?}; so far: {details:?}")
            });
            if line.starts_with("ok") || line.starts_with("error:") {
                return (details, line);
            }
            details.push(line);
        }
    }

    fn ok(&mut self, command: &str) -> (Vec<String>, String) {
        let (details, status) = self.command(command);
        assert!(status.starts_with("ok"), "{command:?} answered {status:?}");
        (details, status)
    }

    fn error(&mut self, command: &str) -> String {
        let (_, status) = self.command(command);
        assert!(
            status.starts_with("error: "),
            "{command:?} answered {status:?}"
        );
        status
    }

    /// Everything printed after the last answer, once the process has exited.
    fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        let status = self.process.wait_with_timeout(Duration::from_secs(20));
        let mut rest = String::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            rest.push_str(&line);
            rest.push('\n');
        }
        let stderr = self
            .stderr
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_default();
        (status, rest, stderr)
    }
}

/// The number after `label` in `text` (e.g. "callbacks 12," -> 12).
fn number_after(text: &str, label: &str) -> u64 {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} missing in {text}"))
        + label.len();
    text[start..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {text}"))
}

fn server_name(test: &str) -> String {
    format!("aether-{test}-{}", std::process::id())
}

#[test]
fn play_on_jack_with_live_edits_from_the_console() {
    let server = JackServer::start(&server_name("console"));
    let patch = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/patches/demo.json");
    let saved = std::env::temp_dir().join(format!("aether-play-{}.json", std::process::id()));
    let mut console = Console::start(
        &server,
        &[
            "play",
            patch.to_str().expect("UTF-8 path"),
            "--backend",
            "jack",
            "--buffer",
            "64",
        ],
    );

    let (nodes, status) = console.ok("nodes");
    assert_eq!(status, "ok 25 nodes, 24 edges, output 24");
    assert!(
        nodes
            .iter()
            .any(|line| line.contains("24 \"master\" (Gain) [output]: gain=0.8")),
        "{nodes:?}"
    );

    console.ok("set master gain 0.5 20");
    let error = console.error("set 24 gain 99");
    assert!(error.contains("outside its range [0, 16]"), "{error}");
    console.error("set 24 volume 0.5");

    let (_, added) = console.ok("add Sine probe");
    let probe: u32 = added
        .split_whitespace()
        .nth(2)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {added:?}"));
    assert_eq!(probe, 25);
    console.ok("set probe freq 330");
    console.ok(&format!("connect {probe} 22 4"));
    let cycle = console.error("connect master echo 0");
    assert!(cycle.contains("would create a cycle"), "{cycle}");
    assert!(
        cycle.contains("\"echo\""),
        "the cycle names the nodes: {cycle}"
    );
    console.error("connect probe 22 8");
    console.ok("disconnect 22 4");
    console.ok(&format!("remove {probe}"));
    console.error("remove probe");
    let unknown = console.error("frobnicate 1 2");
    assert!(unknown.contains("unknown command"), "{unknown}");

    console.ok(&format!("save {}", saved.display()));
    let json = std::fs::read_to_string(&saved).expect("the saved patch exists");
    let _ = std::fs::remove_file(&saved);
    let snapshot = GraphSnapshot::from_json(&json).expect("the saved patch parses");
    snapshot
        .validate(&aether_cli::patch::registry())
        .expect("the saved patch restores");
    assert_eq!(snapshot.nodes.len(), 25);
    assert_eq!(snapshot.output, Some(24));
    let master = snapshot.nodes.iter().find(|node| node.id == 24).unwrap();
    assert_eq!(master.params["gain"], 0.5);
    assert_eq!(master.label.as_deref(), Some("master"));

    // Let the server run some periods, then read the live statistics.
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let (_, stats) = console.ok("stats");
        if number_after(&stats, "callbacks ") >= 50 || Instant::now() >= deadline {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(number_after(&stats, "callbacks ") >= 50, "{stats}");
    assert_eq!(number_after(&stats, "allocations "), 0, "{stats}");

    let (_, bye) = console.ok("quit");
    assert_eq!(bye, "ok bye");
    let (status, report, stderr) = console.finish();
    assert!(status.success(), "exit {status:?}\n{report}\n{stderr}");
    assert!(number_after(&report, "callbacks:") >= 50, "{report}");
    assert_eq!(number_after(&report, "allocations:"), 0, "{report}");
    assert_eq!(number_after(&report, "non-finite:"), 0, "{report}");
    // Every edit reached the audio side: the patch, set, add, set, connect, disconnect, remove.
    assert!(number_after(&report, "commands applied:") >= 7, "{report}");
    assert!(number_after(&report, "console:") >= 10, "{report}");
    assert!(stderr.contains("through jack device"), "{stderr}");
    assert!(stderr.contains("buffer 64 frames"), "{stderr}");
}

#[test]
fn end_of_input_stops_playback_and_prints_the_report() {
    let server = JackServer::start(&server_name("eof"));
    let mut console = Console::start(&server, &["play", "--backend", "jack"]);
    console.ok("output 23");
    console.stdin = None;
    let (status, report, stderr) = console.finish();
    assert!(status.success(), "exit {status:?}\n{report}\n{stderr}");
    assert!(
        report.contains("playback report: demo (built in)"),
        "{report}"
    );
    assert_eq!(number_after(&report, "allocations:"), 0, "{report}");
}

#[test]
fn seconds_limit_stops_playback_with_input_still_open() {
    let server = JackServer::start(&server_name("seconds"));
    let console = Console::start(&server, &["play", "--backend", "jack", "--seconds", "0.5"]);
    let (status, report, stderr) = console.finish();
    assert!(status.success(), "exit {status:?}\n{report}\n{stderr}");
    assert!(number_after(&report, "callbacks:") > 0, "{report}");
}

#[test]
fn a_missing_jack_server_is_a_clear_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aether"))
        .args(["play", "--backend", "jack", "--seconds", "1"])
        .env("JACK_DEFAULT_SERVER", server_name("nobody-home"))
        .env("JACK_NO_START_SERVER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the aether binary runs");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let mut guard = ChildGuard {
        child,
        what: "aether play",
    };
    let status = guard.wait_with_timeout(Duration::from_secs(20));
    let mut text = String::new();
    let _ = stderr.read_to_string(&mut text);
    assert!(!status.success());
    assert!(text.contains("no JACK server answers"), "{text}");
}

#[test]
fn a_refused_buffer_size_falls_back_to_the_servers_with_a_message() {
    let server = JackServer::start(&server_name("buffer"));
    let console = Console::start(
        &server,
        &[
            "play",
            "--backend",
            "jack",
            "--buffer",
            "128",
            "--seconds",
            "0.5",
        ],
    );
    let (status, report, stderr) = console.finish();
    assert!(status.success(), "exit {status:?}\n{report}\n{stderr}");
    assert!(stderr.contains("buffer of 128 frames refused"), "{stderr}");
    assert!(
        stderr.contains("buffer 64 frames, 128 requested"),
        "{stderr}"
    );
    assert!(number_after(&report, "callbacks:") > 0, "{report}");
}
