//! Project automation for AetherDSP: `cargo xtask verify` runs every check CI runs.
//!
//! One module per subcommand; no dependencies beyond `std`. The alias in
//! `.cargo/config.toml` makes `cargo xtask <subcommand>` run this binary. Every
//! command runs in the workspace root with the `cargo` that launched the xtask.

mod alloc;
mod asan;
mod bench;
mod clippy;
mod counts;
mod doc;
mod fmt;
mod fuzz;
mod loom;
mod runner;
mod soak;
mod step;
mod system;
mod test;
mod verify;
mod workspace;

use std::ffi::OsString;
use std::process::ExitCode;

use crate::step::StepReport;
use crate::system::AudioSupport;
use crate::workspace::Workspace;

/// Exit code for a command line the xtask does not understand.
const USAGE_EXIT_CODE: u8 = 2;

const USAGE: &str = "\
Usage: cargo xtask <subcommand> [options]

Subcommands:
  fmt                   cargo fmt --all -- --check
  clippy                cargo clippy --workspace --all-targets --all-features -- -D warnings
  test                  cargo test --workspace --no-fail-fast
                        and again with --no-default-features (doctests included),
                        then cargo test -p <package> --features <audio feature> for each
                        audio feature (aether-cli/play, ...)
  doc                   RUSTDOCFLAGS=\"-D warnings\" cargo doc --workspace --no-deps --all-features
                        (clippy, test, doc: features that need ALSA/JACK are skipped, and
                        the summary says so, unless `pkg-config --exists alsa jack`
                        succeeds and `jackd` is on PATH)
  loom [--preemptions N]
                        every crates/*/tests/loom_*.rs, as
                        RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS=N (default 3)
                        cargo test --release -p <crate> --test <loom_name>, in target/loom
  alloc                 every crates/*/tests/alloc.rs, as
                        cargo test -p <crate> --test alloc -- --test-threads=1
  verify [--preemptions N]
                        fmt, clippy, test, doc, loom, alloc, fuzz-replay in order, then a
                        summary; exits non-zero if a step failed or loom/alloc/fuzz-replay
                        ran no tests. fuzz-replay is cargo test --manifest-path
                        fuzz/Cargo.toml --no-default-features --test replay (every file of
                        fuzz/corpus/<target>/ and fuzz/artifacts/<target>/, on stable)
  bench [args...]       cargo bench -p aether-benches [args...] (not part of verify)
  soak [--seconds S] [--nodes N] [--seed X]
                        the JACK soak test (not part of verify): builds aether-soak in
                        release, starts a private `jackd -d dummy -r 48000 -p 64`, runs an
                        N-node patch (default 1000) edited every 10 ms for S seconds
                        (default 60) under a hard time bound of S + 60 s, always stops
                        the server; needs pkg-config libjack-jackd2-dev jackd2.
                        Exits 0 when every check passed, 3 when the only failure is
                        engine block time (CPU time over the period), 1 otherwise
  fuzz [TARGET] [--seconds N]
                        each cargo-fuzz target (json_patch, binary_patch, console,
                        control_model), or only TARGET, for N seconds (default 60) as
                        cargo +nightly fuzz run <t> fuzz/target/corpus/<t> fuzz/corpus/<t>
                        -- -max_total_time=N -max_len=<per target>; prints executions per
                        target and fails on a crash (not part of verify). Skips, exiting 0,
                        when the nightly toolchain or cargo-fuzz is missing
  fuzz-replay           verify's fuzz-replay step alone
  asan                  the tests of every crate with unsafe code under AddressSanitizer:
                        RUSTFLAGS=\"-Zsanitizer=address\" cargo +nightly test
                        --target x86_64-unknown-linux-gnu -p <crate> --lib --tests, in
                        target/asan (not part of verify; needs the nightly toolchain)
  help                  this text
";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Task {
    Help,
    Fmt,
    Clippy,
    Test,
    Doc,
    Loom { preemptions: u32 },
    Alloc,
    Verify { preemptions: u32 },
    Bench { args: Vec<OsString> },
    Soak(soak::SoakOptions),
    Fuzz(fuzz::FuzzOptions),
    FuzzReplay,
    Asan,
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let task = match parse_args(&args) {
        Ok(task) => task,
        Err(message) => {
            eprintln!("xtask: {message}\n");
            eprint!("{USAGE}");
            return ExitCode::from(USAGE_EXIT_CODE);
        }
    };
    let workspace = Workspace::current();
    ExitCode::from(run_task(&workspace, task))
}

/// Runs `task` and returns the process exit code.
fn run_task(workspace: &Workspace, task: Task) -> u8 {
    match task {
        Task::Help => {
            print!("{USAGE}");
            0
        }
        Task::Fmt => finish_step(fmt::run(workspace)),
        Task::Clippy => finish_step(clippy::run(workspace, &audio_support(workspace))),
        Task::Test => finish_step(test::run(workspace, &audio_support(workspace))),
        Task::Doc => finish_step(doc::run(workspace, &audio_support(workspace))),
        Task::Loom { preemptions } => {
            let report = loom::run(workspace, preemptions);
            println!("{}", loom::models_run_line(&report, preemptions));
            finish_step(report)
        }
        Task::Alloc => {
            let report = alloc::run(workspace);
            println!("{}", alloc::passed_line(&report));
            finish_step(report)
        }
        Task::Verify { preemptions } => u8::from(!verify::run(workspace, preemptions)),
        Task::Bench { args } => u8::from(!bench::run(workspace, &args)),
        Task::Soak(options) => soak::run(workspace, &options).exit_code(),
        Task::Fuzz(options) => fuzz::run(workspace, &options),
        Task::FuzzReplay => {
            let report = fuzz::replay(workspace);
            println!("{}", fuzz::replayed_line(&report));
            finish_step(report)
        }
        Task::Asan => finish_step(asan::run(workspace)),
    }
}

/// Detects the audio packages and prints what that means for the checks.
fn audio_support(workspace: &Workspace) -> AudioSupport {
    let audio = AudioSupport::detect(workspace);
    println!("{}", audio.summary_line());
    audio
}

/// Prints the one-line result of a stand-alone step and returns its exit code.
fn finish_step(report: StepReport) -> u8 {
    println!("{}", report.one_line());
    step::exit_code(&report)
}

/// Parses the arguments after `cargo xtask`.
fn parse_args(args: &[OsString]) -> Result<Task, String> {
    let Some((subcommand, rest)) = args.split_first() else {
        return Err("missing subcommand".to_owned());
    };
    let Some(subcommand) = subcommand.to_str() else {
        return Err(format!("unknown subcommand {subcommand:?}"));
    };
    match subcommand {
        // Everything after `bench` goes to cargo untouched.
        "bench" => Ok(Task::Bench {
            args: rest.to_vec(),
        }),
        "help" | "--help" | "-h" => Ok(Task::Help),
        "fmt" => no_options(subcommand, rest).map(|()| Task::Fmt),
        "clippy" => no_options(subcommand, rest).map(|()| Task::Clippy),
        "test" => no_options(subcommand, rest).map(|()| Task::Test),
        "doc" => no_options(subcommand, rest).map(|()| Task::Doc),
        "alloc" => no_options(subcommand, rest).map(|()| Task::Alloc),
        "loom" => {
            preemptions_option(subcommand, rest).map(|preemptions| Task::Loom { preemptions })
        }
        "soak" => soak::parse_options(rest).map(Task::Soak),
        "fuzz" => fuzz::parse_options(rest).map(Task::Fuzz),
        "fuzz-replay" => no_options(subcommand, rest).map(|()| Task::FuzzReplay),
        "asan" => no_options(subcommand, rest).map(|()| Task::Asan),
        "verify" => {
            preemptions_option(subcommand, rest).map(|preemptions| Task::Verify { preemptions })
        }
        other => Err(format!("unknown subcommand `{other}`")),
    }
}

fn no_options(subcommand: &str, rest: &[OsString]) -> Result<(), String> {
    match rest.first() {
        None => Ok(()),
        Some(extra) => Err(format!(
            "`{subcommand}` takes no arguments, got {:?}",
            extra.to_string_lossy()
        )),
    }
}

/// Reads an optional `--preemptions N` (or `--preemptions=N`); nothing else is
/// accepted.
fn preemptions_option(subcommand: &str, rest: &[OsString]) -> Result<u32, String> {
    let mut preemptions = loom::DEFAULT_PREEMPTIONS;
    let mut remaining = rest.iter();
    while let Some(arg) = remaining.next() {
        let arg = arg.to_string_lossy();
        let value = if let Some(value) = arg.strip_prefix("--preemptions=") {
            value.to_owned()
        } else if arg == "--preemptions" {
            remaining
                .next()
                .map(|value| value.to_string_lossy().into_owned())
                .ok_or_else(|| "`--preemptions` needs a number".to_owned())?
        } else {
            return Err(format!("`{subcommand}` does not accept `{arg}`"));
        };
        preemptions = value.parse().map_err(|_| {
            format!("`--preemptions` needs a non-negative whole number, got `{value}`")
        })?;
    }
    Ok(preemptions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Task, String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_args(&args)
    }

    #[test]
    fn parses_plain_subcommands() {
        assert_eq!(parse(&["fmt"]), Ok(Task::Fmt));
        assert_eq!(parse(&["clippy"]), Ok(Task::Clippy));
        assert_eq!(parse(&["test"]), Ok(Task::Test));
        assert_eq!(parse(&["doc"]), Ok(Task::Doc));
        assert_eq!(parse(&["alloc"]), Ok(Task::Alloc));
        assert_eq!(parse(&["asan"]), Ok(Task::Asan));
        assert_eq!(parse(&["fuzz-replay"]), Ok(Task::FuzzReplay));
        assert!(parse(&["asan", "-p", "aether-params"]).is_err());
        assert_eq!(parse(&["help"]), Ok(Task::Help));
        assert_eq!(parse(&["--help"]), Ok(Task::Help));
    }

    #[test]
    fn preemptions_default_and_override() {
        assert_eq!(parse(&["loom"]), Ok(Task::Loom { preemptions: 3 }));
        assert_eq!(
            parse(&["loom", "--preemptions", "2"]),
            Ok(Task::Loom { preemptions: 2 })
        );
        assert_eq!(
            parse(&["verify", "--preemptions=4"]),
            Ok(Task::Verify { preemptions: 4 })
        );
        assert_eq!(parse(&["verify"]), Ok(Task::Verify { preemptions: 3 }));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["lint"]).is_err());
        assert!(parse(&["fmt", "--fix"]).is_err());
        assert!(parse(&["loom", "--preemptions"]).is_err());
        assert!(parse(&["loom", "--preemptions", "-1"]).is_err());
        assert!(parse(&["loom", "--preemptions", "three"]).is_err());
        assert!(parse(&["verify", "--fast"]).is_err());
    }

    #[test]
    fn parses_soak_options() {
        assert_eq!(
            parse(&["soak"]),
            Ok(Task::Soak(soak::SoakOptions {
                seconds: 60,
                nodes: 1_000,
                seed: None
            }))
        );
        assert_eq!(
            parse(&["soak", "--seconds", "30", "--nodes", "500", "--seed=3"]),
            Ok(Task::Soak(soak::SoakOptions {
                seconds: 30,
                nodes: 500,
                seed: Some(3)
            }))
        );
        assert!(parse(&["soak", "--seconds", "soon"]).is_err());
        assert!(parse(&["soak", "--preemptions", "2"]).is_err());
        assert!(USAGE.contains("soak [--seconds S] [--nodes N] [--seed X]"));
    }

    #[test]
    fn parses_fuzz_options() {
        assert_eq!(
            parse(&["fuzz", "console", "--seconds", "10"]),
            Ok(Task::Fuzz(fuzz::FuzzOptions {
                target: Some("console".to_owned()),
                seconds: 10
            }))
        );
        assert!(parse(&["fuzz", "--preemptions", "2"]).is_err());
        assert!(USAGE.contains("fuzz [TARGET] [--seconds N]"));
    }

    #[test]
    fn bench_passes_everything_through() {
        assert_eq!(
            parse(&["bench", "--bench", "arena", "--", "--warm-up-time", "1"]),
            Ok(Task::Bench {
                args: ["--bench", "arena", "--", "--warm-up-time", "1"]
                    .iter()
                    .map(OsString::from)
                    .collect()
            })
        );
    }
}
