//! `cargo xtask soak`: the JACK soak test. Builds `aether-soak` in release, starts a private
//! `jackd` with the dummy driver, runs the soak client against it under a hard time bound, and
//! always stops the server. Not part of `verify`.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::runner::{CargoCommand, run_inherited};
use crate::step::{announce, format_duration};
use crate::system::{AUDIO_PACKAGES, find_on_path};
use crate::workspace::Workspace;

/// Length of the editing phase when `--seconds` is not given.
pub const DEFAULT_SECONDS: u64 = 60;
/// Patch size when `--nodes` is not given.
pub const DEFAULT_NODES: usize = 1_000;
/// Smallest patch the soak client accepts.
pub const MIN_NODES: usize = 4;
/// Time allowed beyond `--seconds` for the idle-only phase (at most 10 s), building the patch,
/// the final drain and the clients' shutdown.
pub const TIME_MARGIN: Duration = Duration::from_secs(60);
/// How long the server gets to answer after it starts.
const SERVER_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the server gets to exit after SIGTERM before it is killed.
const SERVER_STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// JACK server settings: the dummy driver at 48 kHz with 64-frame periods.
const SERVER_ARGS: [&str; 6] = ["-d", "dummy", "-r", "48000", "-p", "64"];

/// How a soak run ended; [`SoakOutcome::exit_code`] is the exit code of `cargo xtask soak`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoakOutcome {
    /// Every check passed.
    Passed,
    /// Every check passed except engine block time: some block's CPU time exceeded the period
    /// (the client's exit code 3).
    TimingOnly,
    /// Another check failed, or the soak could not run or finish in time.
    Failed,
}

impl SoakOutcome {
    /// 0, 3 or 1, the same codes as the `aether-soak` client.
    pub fn exit_code(self) -> u8 {
        match self {
            SoakOutcome::Passed => 0,
            SoakOutcome::TimingOnly => 3,
            SoakOutcome::Failed => 1,
        }
    }
}

/// Options of `cargo xtask soak`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoakOptions {
    /// Length of the editing phase, in seconds.
    pub seconds: u64,
    /// Nodes in the patch.
    pub nodes: usize,
    /// Seed of the edit sequence (the client picks and prints one when `None`).
    pub seed: Option<u64>,
}

impl Default for SoakOptions {
    fn default() -> Self {
        SoakOptions {
            seconds: DEFAULT_SECONDS,
            nodes: DEFAULT_NODES,
            seed: None,
        }
    }
}

impl SoakOptions {
    /// The longest the soak client may run: the editing phase plus [`TIME_MARGIN`].
    pub fn time_bound(&self) -> Duration {
        Duration::from_secs(self.seconds) + TIME_MARGIN
    }

    /// Arguments for the `aether-soak` binary.
    pub fn client_args(&self) -> Vec<String> {
        let mut args = vec![
            "--seconds".to_owned(),
            self.seconds.to_string(),
            "--nodes".to_owned(),
            self.nodes.to_string(),
        ];
        if let Some(seed) = self.seed {
            args.extend(["--seed".to_owned(), seed.to_string()]);
        }
        args
    }
}

/// Parses `[--seconds S] [--nodes N] [--seed X]` (also `--name=value`).
pub fn parse_options(rest: &[OsString]) -> Result<SoakOptions, String> {
    let mut options = SoakOptions::default();
    let mut remaining = rest.iter();
    while let Some(arg) = remaining.next() {
        let arg = arg.to_string_lossy();
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone().into_owned(), None),
        };
        if !matches!(name.as_str(), "--seconds" | "--nodes" | "--seed") {
            return Err(format!("`soak` does not accept `{arg}`"));
        }
        let value = match inline {
            Some(value) => value,
            None => remaining
                .next()
                .map(|value| value.to_string_lossy().into_owned())
                .ok_or_else(|| format!("`{name}` needs a number"))?,
        };
        match name.as_str() {
            "--seconds" => {
                options.seconds = value
                    .parse()
                    .ok()
                    .filter(|&seconds| (1..=86_400).contains(&seconds))
                    .ok_or_else(|| {
                        format!("`--seconds` needs a whole number from 1 to 86400, got `{value}`")
                    })?;
            }
            "--nodes" => {
                options.nodes = value
                    .parse()
                    .ok()
                    .filter(|&nodes| nodes >= MIN_NODES)
                    .ok_or_else(|| {
                        format!(
                            "`--nodes` needs a whole number of at least {MIN_NODES}, got `{value}`"
                        )
                    })?;
            }
            _ => {
                options.seed = Some(value.parse().map_err(|_| {
                    format!("`--seed` needs a non-negative whole number, got `{value}`")
                })?);
            }
        }
    }
    Ok(options)
}

/// A private `jackd`, stopped when dropped (SIGTERM, then SIGKILL after
/// [`SERVER_STOP_TIMEOUT`]).
struct JackServer {
    child: Child,
    name: String,
    log: PathBuf,
}

impl JackServer {
    fn start(jackd: &Path, name: &str, log: PathBuf) -> std::io::Result<Self> {
        if let Some(dir) = log.parent() {
            fs::create_dir_all(dir)?;
        }
        let log_file = File::create(&log)?;
        println!(
            "$ JACK_NO_AUDIO_RESERVATION=1 {} -n {name} {} (log: {})",
            jackd.display(),
            SERVER_ARGS.join(" "),
            log.display()
        );
        let child = Command::new(jackd)
            .arg("-n")
            .arg(name)
            .args(SERVER_ARGS)
            .env("JACK_NO_AUDIO_RESERVATION", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        Ok(JackServer {
            child,
            name: name.to_owned(),
            log,
        })
    }

    /// Polls until `probe` succeeds; fails if the server exits or does not answer in time.
    fn wait_until_ready(&mut self, probe: impl Fn() -> bool) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < SERVER_START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("jackd exited at start ({status})"));
            }
            if probe() {
                println!(
                    "jackd `{}` answers after {}",
                    self.name,
                    format_duration(started.elapsed())
                );
                return Ok(());
            }
            sleep(Duration::from_millis(200));
        }
        Err(format!(
            "jackd did not answer within {}",
            format_duration(SERVER_START_TIMEOUT)
        ))
    }

    fn print_log_tail(&self) {
        if let Ok(text) = fs::read_to_string(&self.log) {
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(20)..];
            eprintln!("--- last lines of {} ---", self.log.display());
            for line in tail {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for JackServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if wait_with_timeout(&mut self.child, SERVER_STOP_TIMEOUT).is_none() {
            eprintln!("xtask soak: jackd ignored SIGTERM; killing it");
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        println!("jackd `{}` stopped", self.name);
    }
}

/// What jackd's log says about its xruns: how often each client had not finished its cycle in
/// time (`JackEngine::XRun: client = NAME was not finished`) and how often the driver's own
/// timer woke late (`JackTimedDriver::Process XRun`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XrunAttribution {
    /// Per client, in order of first appearance.
    pub late_clients: Vec<(String, u64)>,
    /// Late wake-ups of the driver itself.
    pub late_driver: u64,
}

impl XrunAttribution {
    /// `jackd_late_driver=N jackd_late_<client>=M ...` for the machine-readable line.
    pub fn key_values(&self) -> String {
        let mut out = format!("jackd_late_driver={}", self.late_driver);
        for (client, count) in &self.late_clients {
            let key: String = client
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            out.push_str(&format!(" jackd_late_{key}={count}"));
        }
        out
    }
}

/// Reads jackd's log.
pub fn attribute_xruns(log: &str) -> XrunAttribution {
    let mut attribution = XrunAttribution::default();
    for line in log.lines() {
        if line.contains("JackTimedDriver::Process XRun") {
            attribution.late_driver += 1;
        }
        let Some(rest) = line.split("JackEngine::XRun: client = ").nth(1) else {
            continue;
        };
        let Some(name) = rest.split(" was not finished").next() else {
            continue;
        };
        match attribution
            .late_clients
            .iter_mut()
            .find(|(client, _)| client == name)
        {
            Some((_, count)) => *count += 1,
            None => attribution.late_clients.push((name.to_owned(), 1)),
        }
    }
    attribution
}

/// The attribution as a few lines for the soak's output.
fn render_xrun_attribution(attribution: &XrunAttribution) -> String {
    let mut out = String::from("jackd's log, whole run (idle-only phase included):\n");
    out.push_str(&format!(
        "  driver timer woke late: {}\n",
        attribution.late_driver
    ));
    if attribution.late_clients.is_empty() {
        out.push_str("  no client was late\n");
    }
    for (client, count) in &attribution.late_clients {
        out.push_str(&format!("  {client} not finished in time: {count}\n"));
    }
    out
}

/// Waits for `child` at most `timeout`; `None` if it is still running.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if started.elapsed() < timeout => sleep(Duration::from_millis(100)),
            _ => return None,
        }
    }
}

/// Runs the soak; returns whether it passed.
///
/// Ctrl-C reaches `jackd` and the client directly (they share the terminal's process group),
/// so they stop too; every other way out of this function stops the server through its guard.
pub fn run(workspace: &Workspace, options: &SoakOptions) -> SoakOutcome {
    announce("soak");
    let started = Instant::now();
    let Some(jackd) = find_on_path("jackd") else {
        eprintln!(
            "xtask soak: `jackd` is not on PATH. The soak needs a JACK server and the JACK \
             headers: apt-get install --no-install-recommends pkg-config {AUDIO_PACKAGES}"
        );
        return SoakOutcome::Failed;
    };

    let build = CargoCommand::new([
        "build",
        "--release",
        "-p",
        "aether-soak",
        "--features",
        "jack",
    ]);
    if !run_inherited(workspace, &build) {
        eprintln!(
            "xtask soak: building aether-soak failed (it needs libjack's pkg-config file: \
             apt-get install --no-install-recommends pkg-config {AUDIO_PACKAGES})"
        );
        return SoakOutcome::Failed;
    }
    let binary = workspace.target_dir().join("release").join("aether-soak");

    let name = format!("aether-soak-{}", std::process::id());
    let log = workspace
        .target_dir()
        .join("soak")
        .join(format!("{name}.log"));
    let mut server = match JackServer::start(&jackd, &name, log) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("xtask soak: cannot start jackd: {error}");
            return SoakOutcome::Failed;
        }
    };
    let client = |args: &[String]| {
        let mut command = Command::new(&binary);
        command
            .args(args)
            .env("JACK_DEFAULT_SERVER", &name)
            .env("JACK_NO_START_SERVER", "1")
            .current_dir(&workspace.root);
        command
    };
    if let Err(message) = server.wait_until_ready(|| {
        client(&["--probe".to_owned()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }) {
        eprintln!("xtask soak: {message}");
        server.print_log_tail();
        return SoakOutcome::Failed;
    }

    let args = options.client_args();
    let bound = options.time_bound();
    println!(
        "$ JACK_DEFAULT_SERVER={name} {} {} (time bound {})",
        binary.display(),
        args.join(" "),
        format_duration(bound)
    );
    let mut child = match client(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            eprintln!("xtask soak: cannot start {}: {error}", binary.display());
            return SoakOutcome::Failed;
        }
    };
    // Echo the client's output as it comes and keep its `soak-result:` line for the end.
    let echo = child.stdout.take().map(|stdout| {
        std::thread::spawn(move || {
            let mut result_line = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("{line}");
                if line.starts_with("soak-result:") {
                    result_line = Some(line);
                }
            }
            result_line
        })
    });
    let outcome = match wait_with_timeout(&mut child, bound) {
        Some(status) if status.success() => SoakOutcome::Passed,
        Some(status) if status.code() == Some(i32::from(SoakOutcome::TimingOnly.exit_code())) => {
            eprintln!(
                "xtask soak: the only failed check is engine block time (the engine's thread \
                 used more CPU time than the period); every other check passed"
            );
            SoakOutcome::TimingOnly
        }
        Some(status) => {
            eprintln!("xtask soak: the soak client failed ({status})");
            SoakOutcome::Failed
        }
        None => {
            eprintln!(
                "xtask soak: the soak client did not finish within {} and was killed",
                format_duration(bound)
            );
            let _ = child.kill();
            let _ = child.wait();
            SoakOutcome::Failed
        }
    };
    let passed = outcome == SoakOutcome::Passed;
    // The pipe closes when the client is gone, so this join ends.
    let result_line = echo.and_then(|echo| echo.join().ok().flatten());
    if !passed {
        server.print_log_tail();
    }
    let log_path = server.log.clone();
    drop(server);
    let attribution = fs::read_to_string(&log_path)
        .map(|log| attribute_xruns(&log))
        .unwrap_or_default();
    print!("{}", render_xrun_attribution(&attribution));
    println!(
        "soak: {} in {}",
        if passed { "ok" } else { "FAILED" },
        format_duration(started.elapsed())
    );
    // The machine-readable line stays the last line, with jackd's own attribution added.
    println!(
        "{} {}",
        result_line
            .unwrap_or_else(|| "soak-result: status=error reason=\"no result line\"".to_owned()),
        attribution.key_values()
    );
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<SoakOptions, String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_options(&args)
    }

    #[test]
    fn outcomes_keep_the_clients_exit_codes() {
        assert_eq!(SoakOutcome::Passed.exit_code(), 0);
        assert_eq!(SoakOutcome::Failed.exit_code(), 1);
        assert_eq!(SoakOutcome::TimingOnly.exit_code(), 3);
    }

    #[test]
    fn defaults_and_overrides() {
        assert_eq!(parse(&[]), Ok(SoakOptions::default()));
        assert_eq!(
            parse(&["--seconds", "30", "--nodes=200", "--seed", "9"]),
            Ok(SoakOptions {
                seconds: 30,
                nodes: 200,
                seed: Some(9)
            })
        );
        assert_eq!(
            SoakOptions::default().client_args(),
            ["--seconds", "60", "--nodes", "1000"]
        );
        assert_eq!(
            parse(&["--seed=5"]).expect("valid").client_args(),
            ["--seconds", "60", "--nodes", "1000", "--seed", "5"]
        );
        assert_eq!(
            SoakOptions::default().time_bound(),
            Duration::from_secs(60) + TIME_MARGIN
        );
    }

    #[test]
    fn attributes_xruns_from_the_server_log() {
        let log = "\
jackdmp 1.9.22
JackEngine::XRun: client = aether-soak-idle was not finished, state = Triggered
JackAudioDriver::ProcessGraphAsyncMaster: Process error
JackTimedDriver::Process XRun = 47 usec
JackEngine::XRun: client = aether-soak-engine was not finished, state = Running
JackEngine::XRun: client = aether-soak-idle was not finished, state = Triggered
";
        let attribution = attribute_xruns(log);
        assert_eq!(attribution.late_driver, 1);
        assert_eq!(
            attribution.late_clients,
            vec![
                ("aether-soak-idle".to_owned(), 2),
                ("aether-soak-engine".to_owned(), 1)
            ]
        );
        assert_eq!(attribute_xruns(""), XrunAttribution::default());
        assert!(render_xrun_attribution(&attribute_xruns("")).contains("no client was late"));
        assert_eq!(
            attribution.key_values(),
            "jackd_late_driver=1 jackd_late_aether_soak_idle=2 jackd_late_aether_soak_engine=1"
        );
    }

    #[test]
    fn rejects_bad_options() {
        for bad in [
            &["--seconds"][..],
            &["--seconds", "0"],
            &["--seconds", "1.5"],
            &["--nodes", "3"],
            &["--nodes", "lots"],
            &["--seed", "-1"],
            &["--preemptions", "2"],
            &["60"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
