//! Command-line options of the `aether-soak` binary.

use core::fmt;

/// Default number of nodes in the patch.
pub const DEFAULT_NODES: usize = 1_000;
/// Default length of the editing phase, in seconds.
pub const DEFAULT_SECONDS: f64 = 60.0;
/// Time between two edits, in milliseconds.
pub const EDIT_INTERVAL_MS: u64 = 10;
/// Environment variable of the debug threshold: see [`debug_log_threshold`].
pub const LOG_OVER_US_VAR: &str = "AETHER_SOAK_LOG_OVER_US";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run the soak.
    Run(SoakOptions),
    /// Only check that the JACK server answers (exit 0) or not (exit 1).
    Probe,
    /// Print the usage text.
    Help,
}

/// Options of a soak run.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakOptions {
    /// Length of the editing phase, in seconds.
    pub seconds: f64,
    /// Nodes in the patch.
    pub nodes: usize,
    /// Seed of the edit sequence; `None` picks one from the clock (and prints it).
    pub seed: Option<u64>,
    /// Length of the idle-only phase before the engine starts; `None`: a sixth of `seconds`,
    /// between 2 and 10 s.
    pub idle_seconds: Option<f64>,
    /// Render offline instead: no JACK, one thread alternating edits and blocks as fast as it
    /// can, `seconds` of audio, to measure the engine's own block cost without a server.
    pub offline: bool,
    /// Debug: also log blocks over this many nanoseconds (below the period) for the
    /// slow-block forensics, from [`LOG_OVER_US_VAR`]; counters and pass/fail are unaffected.
    pub debug_log_over_ns: Option<u64>,
    /// Where the engine's audio thread runs (`--audio-cpu auto|none|N`, default `auto`).
    pub audio_cpu: crate::affinity::AudioCpu,
}

impl Default for SoakOptions {
    fn default() -> Self {
        SoakOptions {
            seconds: DEFAULT_SECONDS,
            nodes: DEFAULT_NODES,
            seed: None,
            idle_seconds: None,
            offline: false,
            debug_log_over_ns: None,
            audio_cpu: crate::affinity::AudioCpu::Auto,
        }
    }
}

impl SoakOptions {
    /// The idle-only phase length actually used.
    pub fn idle_phase_seconds(&self) -> f64 {
        self.idle_seconds
            .unwrap_or_else(|| (self.seconds / 6.0).clamp(2.0, 10.0))
    }
}

/// Usage text.
pub const USAGE: &str = "\
Usage: aether-soak [--seconds S] [--nodes N] [--seed X] [--idle-seconds S]
                   [--audio-cpu auto|none|N]
       aether-soak --offline [--seconds S] [--nodes N] [--seed X]
       aether-soak --probe

Runs an N-node patch (default 1000) as a JACK client of the server named by
JACK_DEFAULT_SERVER and edits it every 10 ms for S seconds (default 60), after an
idle-only phase that measures the server's own xruns. Prints a table and, last, one
`soak-result:` line; exits 0 when every check passed, 1 when one failed, 3 when the only
failed check is engine block time (the engine's thread used more CPU time than the period),
2 on bad usage or when the run could not start. --probe only checks that the server answers.
--offline needs no server: one thread renders S seconds of audio as fast as it can, with an
edit every 10 ms of audio time, and reports each block's CPU time (the engine's own cost,
free of any server or device) beside the same checks.

The engine's JACK thread is pinned to one CPU when it starts (--audio-cpu, default auto:
the allowed CPU with the fewest device interrupts in /proc/interrupts; none: unpinned, as
JACK leaves it), because a move to another CPU mid-block finishes the block with cold caches.

Every block over the period is logged with what /proc/softirqs and /proc/interrupts did on
its CPU meanwhile (evidence only). Debug: AETHER_SOAK_LOG_OVER_US=N also logs blocks over N
us (below the period) to exercise that report without a miss; it changes no check.
";

/// The debug threshold from the value of [`LOG_OVER_US_VAR`] (microseconds), in nanoseconds;
/// `None` when unset or empty.
pub fn debug_log_threshold(value: Option<&str>) -> Result<Option<u64>, UsageError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .and_then(|us| us.checked_mul(1_000))
            .map(Some)
            .ok_or_else(|| {
                UsageError(format!(
                    "{LOG_OVER_US_VAR} needs a whole number of microseconds, got `{text}`"
                ))
            }),
    }
}

/// A command line the program does not understand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses the arguments after the program name.
pub fn parse_args<I, S>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut options = SoakOptions::default();
    let args: Vec<String> = args
        .into_iter()
        .map(|arg| arg.as_ref().to_owned())
        .collect();
    let mut remaining = args.iter();
    while let Some(arg) = remaining.next() {
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline_value
                .clone()
                .or_else(|| remaining.next().cloned())
                .ok_or_else(|| UsageError(format!("`{name}` needs a value")))
        };
        match name {
            "--help" | "-h" => return Ok(Command::Help),
            "--probe" => return Ok(Command::Probe),
            "--offline" => options.offline = true,
            "--seconds" => options.seconds = parse_seconds(name, &value()?)?,
            "--idle-seconds" => options.idle_seconds = Some(parse_seconds(name, &value()?)?),
            "--nodes" => {
                let text = value()?;
                options.nodes = text
                    .parse()
                    .ok()
                    .filter(|&n| n >= crate::patch::MIN_NODES)
                    .ok_or_else(|| {
                        UsageError(format!(
                            "`--nodes` needs a whole number of at least {}, got `{text}`",
                            crate::patch::MIN_NODES
                        ))
                    })?;
            }
            "--audio-cpu" => {
                let text = value()?;
                options.audio_cpu = match text.as_str() {
                    "auto" => crate::affinity::AudioCpu::Auto,
                    "none" => crate::affinity::AudioCpu::Unpinned,
                    number => crate::affinity::AudioCpu::Cpu(number.parse().map_err(|_| {
                        UsageError(format!(
                            "`--audio-cpu` needs auto, none or a CPU number, got `{text}`"
                        ))
                    })?),
                };
            }
            "--seed" => {
                let text = value()?;
                options.seed = Some(text.parse().map_err(|_| {
                    UsageError(format!(
                        "`--seed` needs a non-negative whole number, got `{text}`"
                    ))
                })?);
            }
            other => return Err(UsageError(format!("unknown option `{other}`"))),
        }
    }
    Ok(Command::Run(options))
}

fn parse_seconds(name: &str, text: &str) -> Result<f64, UsageError> {
    text.parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0 && *seconds <= 86_400.0)
        .ok_or_else(|| {
            UsageError(format!(
                "`{name}` needs a number of seconds between 0 and 86400, got `{text}`"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_every_option() {
        assert_eq!(
            parse_args::<_, &str>([]),
            Ok(Command::Run(SoakOptions::default()))
        );
        assert_eq!(
            parse_args([
                "--seconds",
                "30",
                "--nodes=500",
                "--seed",
                "7",
                "--idle-seconds=1.5",
                "--audio-cpu",
                "1",
            ]),
            Ok(Command::Run(SoakOptions {
                seconds: 30.0,
                nodes: 500,
                seed: Some(7),
                idle_seconds: Some(1.5),
                offline: false,
                debug_log_over_ns: None,
                audio_cpu: crate::affinity::AudioCpu::Cpu(1),
            }))
        );
        for (text, expected) in [
            ("auto", crate::affinity::AudioCpu::Auto),
            ("none", crate::affinity::AudioCpu::Unpinned),
        ] {
            assert_eq!(
                parse_args(["--audio-cpu", text]),
                Ok(Command::Run(SoakOptions {
                    audio_cpu: expected,
                    ..SoakOptions::default()
                }))
            );
        }
        assert_eq!(
            parse_args(["--offline", "--seconds", "2"]),
            Ok(Command::Run(SoakOptions {
                seconds: 2.0,
                offline: true,
                ..SoakOptions::default()
            }))
        );
        assert_eq!(parse_args(["--probe"]), Ok(Command::Probe));
        assert_eq!(parse_args(["-h"]), Ok(Command::Help));
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            &["--seconds"][..],
            &["--seconds", "-1"],
            &["--seconds", "NaN"],
            &["--nodes", "3"],
            &["--nodes", "many"],
            &["--seed", "-2"],
            &["--audio-cpu", "fast"],
            &["--audio-cpu"],
            &["--fast"],
        ] {
            assert!(parse_args(bad.iter()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_threshold_from_the_environment() {
        assert_eq!(debug_log_threshold(None), Ok(None));
        assert_eq!(debug_log_threshold(Some(" ")), Ok(None));
        assert_eq!(debug_log_threshold(Some("400")), Ok(Some(400_000)));
        assert!(debug_log_threshold(Some("0.4")).is_err());
        assert!(debug_log_threshold(Some("-1")).is_err());
    }

    #[test]
    fn idle_phase_scales_with_the_run() {
        let options = |seconds| SoakOptions {
            seconds,
            ..SoakOptions::default()
        };
        assert_eq!(options(60.0).idle_phase_seconds(), 10.0);
        assert_eq!(options(30.0).idle_phase_seconds(), 5.0);
        assert_eq!(options(1.0).idle_phase_seconds(), 2.0);
        let explicit = SoakOptions {
            idle_seconds: Some(0.0),
            ..SoakOptions::default()
        };
        assert_eq!(explicit.idle_phase_seconds(), 0.0);
    }
}
