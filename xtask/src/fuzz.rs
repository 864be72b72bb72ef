//! `cargo xtask fuzz`: runs the cargo-fuzz targets of `fuzz/` for a bounded time each, on
//! the nightly toolchain, and reports the executions of each. Not part of `verify` (which
//! replays the committed corpus on stable instead, see [`replay`]).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::runner::{self, CargoCommand, run_captured};
use crate::step::{StepReport, announce, format_duration};
use crate::workspace::Workspace;

/// Fuzzing time per target when `--seconds` is not given.
pub const DEFAULT_SECONDS: u64 = 60;

/// The targets (`fuzz/fuzz_targets/<name>.rs`) and the largest input each is given
/// (`-max_len`): room for the biggest seed (the demo patch is 6 KB of JSON) and for a few
/// hundred console lines or control ops, small enough that no input can ask for more memory
/// than libFuzzer's default `-rss_limit_mb=2048` (see `fuzz/src/lib.rs` on `Delay` lines).
pub const TARGETS: &[(&str, usize)] = &[
    ("json_patch", 8_192),
    ("binary_patch", 4_096),
    ("console", 4_096),
    ("control_model", 2_048),
];

/// A single input taking longer than this (seconds) counts as a hang (a crash).
const INPUT_TIMEOUT_SECONDS: u64 = 30;

/// Options of `cargo xtask fuzz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzOptions {
    /// One target, or every target when `None`.
    pub target: Option<String>,
    /// Fuzzing time per target.
    pub seconds: u64,
}

/// Parses `[TARGET] [--seconds N]` (also `--seconds=N`).
pub fn parse_options(rest: &[OsString]) -> Result<FuzzOptions, String> {
    let mut options = FuzzOptions {
        target: None,
        seconds: DEFAULT_SECONDS,
    };
    let mut remaining = rest.iter();
    while let Some(arg) = remaining.next() {
        let arg = arg.to_string_lossy();
        let value = if let Some(value) = arg.strip_prefix("--seconds=") {
            value.to_owned()
        } else if arg == "--seconds" {
            remaining
                .next()
                .map(|value| value.to_string_lossy().into_owned())
                .ok_or_else(|| "`--seconds` needs a number".to_owned())?
        } else if arg.starts_with('-') {
            return Err(format!("`fuzz` does not accept `{arg}`"));
        } else if options.target.is_some() {
            return Err(format!("`fuzz` takes one target, got a second: `{arg}`"));
        } else if TARGETS.iter().any(|(name, _)| *name == arg) {
            options.target = Some(arg.into_owned());
            continue;
        } else {
            let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown fuzz target `{arg}` (targets: {})",
                names.join(", ")
            ));
        };
        options.seconds = value
            .parse()
            .ok()
            .filter(|&seconds| (1..=86_400).contains(&seconds))
            .ok_or_else(|| {
                format!("`--seconds` needs a whole number from 1 to 86400, got `{value}`")
            })?;
    }
    Ok(options)
}

/// How one target's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetResult {
    /// Target name.
    pub name: &'static str,
    /// Whether libFuzzer finished without a crash, leak, timeout or out-of-memory.
    pub ok: bool,
    /// Inputs executed, from libFuzzer's last lines (`None` if it printed neither form).
    pub executions: Option<u64>,
    /// Files in the working corpus afterwards.
    pub corpus_files: usize,
    /// Where libFuzzer wrote the crashing input, if it did.
    pub artifact: Option<String>,
}

/// Runs every target (or `options.target`) with
/// `cargo +nightly fuzz run <t> fuzz/target/corpus/<t> fuzz/corpus/<t> -- -max_total_time=N`.
///
/// New inputs go to the working corpus `fuzz/target/corpus/<t>` (not committed); the committed
/// seeds in `fuzz/corpus/<t>` are read only. Crashes are written by cargo-fuzz to
/// `fuzz/artifacts/<t>/`.
///
/// Returns the exit code: 0 when every target ran clean, or when nightly or cargo-fuzz is
/// missing (fuzzing is skipped with a message saying why); 1 when a target crashed or could not
/// run.
pub fn run(workspace: &Workspace, options: &FuzzOptions) -> u8 {
    announce("fuzz");
    if let Err(reason) = check_tools(workspace) {
        println!("fuzz: SKIPPED: {reason}");
        return 0;
    }
    let started = Instant::now();
    let mut results = Vec::new();
    for &(name, max_len) in TARGETS {
        if options.target.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        results.push(run_target(workspace, name, max_len, options.seconds));
    }
    println!();
    print!("{}", render_summary(&results, options.seconds));
    println!("fuzz: finished in {}", format_duration(started.elapsed()));
    u8::from(!results.iter().all(|result| result.ok))
}

/// `Err(reason)` when `cargo +nightly` or `cargo +nightly fuzz` cannot run.
fn check_tools(workspace: &Workspace) -> Result<(), String> {
    let works = |args: &[&str]| {
        nightly_cargo(workspace)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !works(&["+nightly", "--version"]) {
        return Err("no nightly toolchain (`cargo +nightly --version` failed); \
                    install one with `rustup toolchain install nightly`"
            .to_owned());
    }
    if !works(&["+nightly", "fuzz", "--version"]) {
        return Err(
            "cargo-fuzz is not installed (`cargo +nightly fuzz --version` failed); \
                    install it with `cargo install cargo-fuzz --locked`"
                .to_owned(),
        );
    }
    Ok(())
}

/// The rustup `cargo` proxy (the first `cargo` on `PATH`), which understands `+nightly`; the
/// `cargo` that launched the xtask is one toolchain's own binary and does not.
fn nightly_cargo(workspace: &Workspace) -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(&workspace.root);
    // Set by the stable `cargo run` that started the xtask; they would pin the child to stable.
    for var in ["RUSTUP_TOOLCHAIN", "RUSTC", "RUSTDOC", "CARGO"] {
        command.env_remove(var);
    }
    command
}

fn run_target(
    workspace: &Workspace,
    name: &'static str,
    max_len: usize,
    seconds: u64,
) -> TargetResult {
    println!();
    println!("==> fuzz {name} ({seconds} s)");
    let working = workspace.root.join("fuzz/target/corpus").join(name);
    if let Err(error) = fs::create_dir_all(&working) {
        eprintln!("fuzz: cannot create {}: {error}", working.display());
    }
    let seeds = format!("fuzz/corpus/{name}");
    let working_arg = format!("fuzz/target/corpus/{name}");
    let args: Vec<String> = vec![
        "+nightly".into(),
        "fuzz".into(),
        "run".into(),
        name.into(),
        working_arg,
        seeds,
        "--".into(),
        format!("-max_total_time={seconds}"),
        format!("-max_len={max_len}"),
        format!("-timeout={INPUT_TIMEOUT_SECONDS}"),
        "-print_final_stats=1".into(),
    ];
    println!("$ cargo {}", args.join(" "));
    let mut command = nightly_cargo(workspace);
    command.args(&args);
    let (success, output) = match run_streaming(command) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("fuzz: could not run cargo fuzz: {error}");
            (false, String::new())
        }
    };
    let corpus_files = fs::read_dir(&working).map_or(0, |entries| entries.count());
    TargetResult {
        name,
        ok: success,
        executions: executions(&output),
        corpus_files,
        artifact: artifact(&output),
    }
}

/// Runs `command` with stdout and stderr merged, echoing everything as it arrives; returns
/// whether it succeeded and everything it printed.
fn run_streaming(command: Command) -> io::Result<(bool, String)> {
    let mut output = Vec::new();
    let success = runner::run_echoing(command, |bytes| output.extend_from_slice(bytes))?;
    Ok((success, String::from_utf8_lossy(&output).into_owned()))
}

/// Inputs executed: libFuzzer's `stat::number_of_executed_units: N` (with
/// `-print_final_stats=1`), else its `Done N runs in S second(s)` line; the last one printed.
pub fn executions(output: &str) -> Option<u64> {
    let mut stat = None;
    let mut done = None;
    for line in output.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("stat::number_of_executed_units:") {
            stat = rest.trim().parse().ok().or(stat);
        } else if let Some(rest) = line.strip_prefix("Done ")
            && let Some((runs, _)) = rest.split_once(" runs")
        {
            done = runs.trim().parse().ok().or(done);
        }
    }
    stat.or(done)
}

/// The crashing input's path from libFuzzer's `Test unit written to <path>` line.
pub fn artifact(output: &str) -> Option<String> {
    output
        .lines()
        .filter_map(|line| line.split_once("Test unit written to "))
        .map(|(_, path)| path.trim().to_owned())
        .next_back()
}

/// One line per target, then `fuzz: N passed, M failed` (a target passes when it ran its
/// time without a crash).
pub fn render_summary(results: &[TargetResult], seconds: u64) -> String {
    let mut out = String::from("fuzz summary\n");
    out.push_str(&format!(
        "{:<14} {:<8} {:>12} {:>8}  {}\n",
        "target", "result", "executions", "corpus", "note"
    ));
    for result in results {
        let executions = result
            .executions
            .map_or_else(|| "-".to_owned(), |count| count.to_string());
        let note = match (&result.artifact, result.ok) {
            (Some(path), _) => format!(
                "crash input {path}; minimise with `cargo +nightly fuzz tmin {} {path}`",
                result.name
            ),
            (None, false) => "failed (see the output above)".to_owned(),
            (None, true) => format!("{seconds} s"),
        };
        let line = format!(
            "{:<14} {:<8} {:>12} {:>8}  {note}",
            result.name,
            if result.ok { "ok" } else { "FAILED" },
            executions,
            result.corpus_files,
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let failed = results.iter().filter(|result| !result.ok).count();
    out.push_str(&format!(
        "fuzz: {} passed, {failed} failed\n",
        results.len() - failed
    ));
    out
}

/// The `fuzz-replay` step of `verify`: `cargo test --manifest-path fuzz/Cargo.toml
/// --no-default-features --test replay` on the toolchain running the xtask (stable), which
/// runs every file of `fuzz/corpus/<t>/` and `fuzz/artifacts/<t>/` through its target's
/// library function. The fuzz crate has its own target dir (`fuzz/target`).
///
/// Fails if a test fails, if the replay ran no test, or if `fuzz/corpus` holds no file.
pub fn replay(workspace: &Workspace) -> StepReport {
    announce("fuzz-replay");
    let started = Instant::now();
    let files = count_files(&workspace.root.join("fuzz/corpus"))
        + count_files(&workspace.root.join("fuzz/artifacts"));
    println!("fuzz-replay: {files} committed inputs under fuzz/corpus and fuzz/artifacts");
    let command = CargoCommand::new([
        "test",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--no-default-features",
        "--test",
        "replay",
    ]);
    let outcome = run_captured(workspace, &command);
    let report = StepReport::with_tests("fuzz-replay", outcome.success, started, outcome.counts);
    if files == 0 {
        report.fail_with_note("no inputs in fuzz/corpus or fuzz/artifacts")
    } else if outcome.counts.ran() == 0 {
        report.fail_with_note("0 replay tests ran")
    } else {
        report
    }
}

/// `fuzz inputs replayed: N targets` line for the verify summary.
pub fn replayed_line(report: &StepReport) -> String {
    let counts = report.counts.unwrap_or_default();
    format!(
        "fuzz targets replayed: {} of {} ({} failed)",
        counts.passed,
        TARGETS.len(),
        counts.failed
    )
}

/// Regular files anywhere under `dir` (0 if it does not exist).
fn count_files(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                count_files(&path)
            } else {
                usize::from(path.is_file())
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<FuzzOptions, String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_options(&args)
    }

    #[test]
    fn parses_target_and_seconds() {
        assert_eq!(
            parse(&[]),
            Ok(FuzzOptions {
                target: None,
                seconds: DEFAULT_SECONDS
            })
        );
        assert_eq!(
            parse(&["console", "--seconds", "5"]),
            Ok(FuzzOptions {
                target: Some("console".to_owned()),
                seconds: 5
            })
        );
        assert_eq!(
            parse(&["--seconds=600", "json_patch"]),
            Ok(FuzzOptions {
                target: Some("json_patch".to_owned()),
                seconds: 600
            })
        );
        assert!(parse(&["nosuch"]).is_err());
        assert!(parse(&["console", "json_patch"]).is_err());
        assert!(parse(&["--seconds"]).is_err());
        assert!(parse(&["--seconds", "0"]).is_err());
        assert!(parse(&["--jobs", "2"]).is_err());
    }

    #[test]
    fn reads_executions_from_libfuzzer_output() {
        let done = "#335717\tDONE   cov: 1 ft: 2 corp: 3/4b\nDone 335717 runs in 11 second(s)\n";
        assert_eq!(executions(done), Some(335_717));
        let stats = "Done 12 runs in 1 second(s)\nstat::number_of_executed_units: 13\n\
                     stat::average_exec_per_sec:     12\n";
        assert_eq!(executions(stats), Some(13));
        assert_eq!(executions("==1== ERROR: libFuzzer: deadly signal\n"), None);
    }

    #[test]
    fn finds_the_crash_artifact() {
        let output = "SUMMARY: libFuzzer: deadly signal\nMS: 1 ChangeBit-; base unit: 00\n\
                      artifact_prefix='/w/fuzz/artifacts/console/'; Test unit written to \
                      /w/fuzz/artifacts/console/crash-abc\nBase64: AA==\n";
        assert_eq!(
            artifact(output).as_deref(),
            Some("/w/fuzz/artifacts/console/crash-abc")
        );
        assert_eq!(artifact("Done 1 runs in 0 second(s)\n"), None);
    }

    #[test]
    fn summary_ends_with_passed_failed_line() {
        let results = [
            TargetResult {
                name: "json_patch",
                ok: true,
                executions: Some(1_000),
                corpus_files: 12,
                artifact: None,
            },
            TargetResult {
                name: "console",
                ok: false,
                executions: None,
                corpus_files: 3,
                artifact: Some("fuzz/artifacts/console/crash-1".to_owned()),
            },
        ];
        let summary = render_summary(&results, 60);
        assert!(summary.ends_with("fuzz: 1 passed, 1 failed\n"));
        assert!(summary.contains("json_patch     ok"));
        assert!(
            summary.contains("cargo +nightly fuzz tmin console fuzz/artifacts/console/crash-1")
        );
    }
}
