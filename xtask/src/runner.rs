//! Runs one `cargo` command, streaming its output live while counting tests.

use std::ffi::{OsStr, OsString};
use std::io::{self, IsTerminal, Read, Write};
use std::process::{Command, Stdio};

use crate::counts::TestCounts;
use crate::workspace::Workspace;

/// A `cargo` command line plus the environment variables it needs.
#[derive(Debug, Clone)]
pub struct CargoCommand {
    args: Vec<OsString>,
    envs: Vec<(String, OsString)>,
}

impl CargoCommand {
    /// `cargo <args...>`.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Self {
            args: args
                .into_iter()
                .map(|arg| arg.as_ref().to_owned())
                .collect(),
            envs: Vec::new(),
        }
    }

    /// Sets an environment variable for the child (replacing an earlier value).
    pub fn env(mut self, key: &str, value: impl Into<OsString>) -> Self {
        self.envs.retain(|(existing, _)| existing != key);
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// The command as a shell-like line for logs, e.g.
    /// `RUSTFLAGS="--cfg loom" cargo test --release`.
    pub fn display(&self) -> String {
        let mut line = String::new();
        for (key, value) in &self.envs {
            line.push_str(key);
            line.push('=');
            line.push_str(&shell_quote(&value.to_string_lossy()));
            line.push(' ');
        }
        line.push_str("cargo");
        for arg in &self.args {
            line.push(' ');
            line.push_str(&shell_quote(&arg.to_string_lossy()));
        }
        line
    }

    fn to_command(&self, workspace: &Workspace) -> Command {
        let mut command = Command::new(&workspace.cargo);
        command.args(&self.args).current_dir(&workspace.root);
        for (key, value) in &self.envs {
            command.env(key, value);
        }
        command
    }
}

/// What one `cargo` run produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    /// Whether cargo exited with status 0.
    pub success: bool,
    /// Tests counted from the run's `test result:` lines.
    pub counts: TestCounts,
}

/// Runs `cargo_command` in the workspace root with stdout and stderr merged
/// into one pipe; every chunk is echoed to this process's stdout as it arrives
/// and every complete line is scanned for test counts.
///
/// Failing to start cargo is reported on stderr and counts as a failed run.
pub fn run_captured(workspace: &Workspace, cargo_command: &CargoCommand) -> RunOutcome {
    println!("$ {}", cargo_command.display());
    match try_run_captured(workspace, cargo_command) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!(
                "xtask: could not run `{}`: {error}",
                cargo_command.display()
            );
            RunOutcome {
                success: false,
                counts: TestCounts::default(),
            }
        }
    }
}

fn try_run_captured(workspace: &Workspace, cargo_command: &CargoCommand) -> io::Result<RunOutcome> {
    let mut command = cargo_command.to_command(workspace);
    if io::stdout().is_terminal() && std::env::var_os("CARGO_TERM_COLOR").is_none() {
        // Output goes through a pipe, so cargo would turn colours off.
        command.env("CARGO_TERM_COLOR", "always");
    }
    let mut counts = TestCounts::default();
    let mut pending_line: Vec<u8> = Vec::new();
    let success = run_echoing(command, |bytes| {
        for_each_complete_line(&mut pending_line, bytes, |line| {
            counts.add_line(&String::from_utf8_lossy(line));
        });
    })?;
    if !pending_line.is_empty() {
        counts.add_line(&String::from_utf8_lossy(&pending_line));
    }
    Ok(RunOutcome { success, counts })
}

/// Runs `command` with stdin closed and stdout and stderr merged into one pipe, echoing
/// everything to this process's stdout as it arrives and handing each chunk to `on_chunk`.
/// Returns whether the command succeeded.
pub fn run_echoing(mut command: Command, mut on_chunk: impl FnMut(&[u8])) -> io::Result<bool> {
    let (mut reader, writer) = io::pipe()?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer)
        .spawn()?;
    // `command` holds copies of the write end until dropped; then the read below ends when
    // the child (and its children) exit.
    drop(command);
    let mut chunk = [0_u8; 8192];
    let stdout = io::stdout();
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                // Keep the child from blocking on a full pipe nobody reads.
                drop(reader);
                let _ = child.wait();
                return Err(error);
            }
        };
        let bytes = &chunk[..read];
        {
            // Echo failures (e.g. a closed terminal) must not stop the drain.
            let mut out = stdout.lock();
            let _ = out.write_all(bytes);
            let _ = out.flush();
        }
        on_chunk(bytes);
    }
    Ok(child.wait()?.success())
}

/// Appends `bytes` to `pending`, calling `on_line` for each line completed by a
/// `\n` (without the newline) and keeping the unfinished tail in `pending`.
fn for_each_complete_line(pending: &mut Vec<u8>, bytes: &[u8], mut on_line: impl FnMut(&[u8])) {
    let mut rest = bytes;
    while let Some(newline) = rest.iter().position(|byte| *byte == b'\n') {
        pending.extend_from_slice(&rest[..newline]);
        on_line(pending);
        pending.clear();
        rest = &rest[newline + 1..];
    }
    pending.extend_from_slice(rest);
}

/// Runs `cargo_command` with inherited stdin/stdout/stderr and returns whether
/// it succeeded (used where nothing needs counting, e.g. benchmarks).
pub fn run_inherited(workspace: &Workspace, cargo_command: &CargoCommand) -> bool {
    println!("$ {}", cargo_command.display());
    match cargo_command.to_command(workspace).status() {
        Ok(status) => status.success(),
        Err(error) => {
            eprintln!(
                "xtask: could not run `{}`: {error}",
                cargo_command.display()
            );
            false
        }
    }
}

/// Appends `flags` to a rustc/rustdoc flags variable, the way cargo reads it:
/// when `encoded_var` (e.g. `CARGO_ENCODED_RUSTFLAGS`) is set cargo ignores
/// `plain_var` (e.g. `RUSTFLAGS`), so the flags go there, separated by `0x1f`;
/// otherwise they are appended to `plain_var`, separated by spaces.
///
/// Returns the variable to set and its new value.
pub fn append_flags(
    plain_var: &'static str,
    encoded_var: &'static str,
    flags: &[&str],
) -> (&'static str, OsString) {
    append_flags_to(
        plain_var,
        std::env::var_os(plain_var),
        encoded_var,
        std::env::var_os(encoded_var),
        flags,
    )
}

fn append_flags_to(
    plain_var: &'static str,
    plain_value: Option<OsString>,
    encoded_var: &'static str,
    encoded_value: Option<OsString>,
    flags: &[&str],
) -> (&'static str, OsString) {
    let (var, existing, separator) = match encoded_value {
        Some(encoded) => (encoded_var, encoded, "\u{1f}"),
        None => (plain_var, plain_value.unwrap_or_default(), " "),
    };
    let mut value = existing;
    for flag in flags {
        if !value.is_empty() {
            value.push(separator);
        }
        value.push(flag);
    }
    (var, value)
}

fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_chunks_into_lines_across_chunk_boundaries() {
        let mut pending = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        let mut collect = |line: &[u8]| lines.push(String::from_utf8_lossy(line).into_owned());
        for_each_complete_line(&mut pending, b"test res", &mut collect);
        for_each_complete_line(&mut pending, b"ult: ok.\nsecond\n\nthi", &mut collect);
        for_each_complete_line(&mut pending, b"rd", &mut collect);
        assert_eq!(lines, vec!["test result: ok.", "second", ""]);
        assert_eq!(pending, b"third");
    }

    #[test]
    fn appends_to_plain_flags_with_spaces() {
        let (var, value) = append_flags_to(
            "RUSTFLAGS",
            Some("-C target-cpu=native".into()),
            "CARGO_ENCODED_RUSTFLAGS",
            None,
            &["--cfg", "loom"],
        );
        assert_eq!(var, "RUSTFLAGS");
        assert_eq!(value, "-C target-cpu=native --cfg loom");

        let (var, value) = append_flags_to(
            "RUSTFLAGS",
            None,
            "CARGO_ENCODED_RUSTFLAGS",
            None,
            &["--cfg", "loom"],
        );
        assert_eq!(var, "RUSTFLAGS");
        assert_eq!(value, "--cfg loom");
    }

    #[test]
    fn appends_to_encoded_flags_when_cargo_would_read_them() {
        let (var, value) = append_flags_to(
            "RUSTDOCFLAGS",
            Some("--ignored-by-cargo".into()),
            "CARGO_ENCODED_RUSTDOCFLAGS",
            Some("--cfg\u{1f}docsrs".into()),
            &["-D", "warnings"],
        );
        assert_eq!(var, "CARGO_ENCODED_RUSTDOCFLAGS");
        assert_eq!(value, "--cfg\u{1f}docsrs\u{1f}-D\u{1f}warnings");

        let (_, value) = append_flags_to(
            "RUSTDOCFLAGS",
            None,
            "CARGO_ENCODED_RUSTDOCFLAGS",
            Some(OsString::new()),
            &["-D", "warnings"],
        );
        assert_eq!(value, "-D\u{1f}warnings");
    }

    #[test]
    fn displays_env_and_quotes_spaces() {
        let command = CargoCommand::new(["test", "--workspace"])
            .env("RUSTFLAGS", "--cfg loom")
            .env("LOOM_MAX_PREEMPTIONS", "2")
            .env("LOOM_MAX_PREEMPTIONS", "3");
        assert_eq!(
            command.display(),
            "RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS=3 cargo test --workspace"
        );
    }
}
