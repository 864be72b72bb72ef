//! `aether-soak`: the JACK soak client. See the crate documentation and `--help`.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use aether_soak::cli::{Command, LOG_OVER_US_VAR, USAGE, debug_log_threshold, parse_args};
use aether_soak::host;

#[global_allocator]
static ALLOCATOR: assert_no_alloc::AllocDisabler = assert_no_alloc::AllocDisabler;

/// Exit code for a failed check.
const FAILED: u8 = 1;
/// Exit code for bad usage or a run that could not start.
const UNUSABLE: u8 = 2;
/// Exit code for a run whose only failed check is engine block time (CPU time over the period).
const TIMING_ONLY: u8 = 3;

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("aether-soak: {error}\n\n{USAGE}");
            return ExitCode::from(UNUSABLE);
        }
    };
    let mut options = match command {
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Probe => {
            return match host::probe() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(FAILED),
            };
        }
        Command::Run(options) => options,
    };
    match debug_log_threshold(std::env::var(LOG_OVER_US_VAR).ok().as_deref()) {
        Ok(threshold) => options.debug_log_over_ns = threshold,
        Err(error) => {
            eprintln!("aether-soak: {error}\n\n{USAGE}");
            return ExitCode::from(UNUSABLE);
        }
    }
    let seed = options.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64)
    });
    println!(
        "aether-soak: seed {seed} (replay with --seed {seed}), {} nodes, {:.1} s",
        options.nodes, options.seconds
    );
    let outcome = if options.offline {
        aether_soak::run_offline(&options, seed).map(|(report, cpu)| (report, Some(cpu)))
    } else {
        host::run(&options, seed).map(|report| (report, None))
    };
    match outcome {
        Ok((report, cpu)) => {
            println!("\nsoak report");
            print!("{}", report.render_table());
            if let Some(cpu) = cpu {
                println!("offline: {}", cpu.line());
            } else {
                print!("{}", report.render_evidence());
            }
            let failures = report.failures();
            for failure in &failures {
                println!("FAILED: {failure}");
            }
            println!("{}", report.machine_line());
            if failures.is_empty() {
                ExitCode::SUCCESS
            } else if report.only_timing_failed() {
                ExitCode::from(TIMING_ONLY)
            } else {
                ExitCode::from(FAILED)
            }
        }
        Err(error) => {
            eprintln!("aether-soak: {error}");
            println!("soak-result: status=error reason={:?}", error.to_string());
            ExitCode::from(UNUSABLE)
        }
    }
}
