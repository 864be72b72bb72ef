//! One-line errors: what was being done, on which file, and the culprit.

use std::fmt;

/// An error of the command-line tool: a context (usually a file) and the underlying cause.
#[derive(Debug)]
pub struct CliError {
    context: String,
    cause: Box<dyn std::error::Error + Send + Sync>,
}

impl CliError {
    /// Wraps `cause` with `context` (e.g. the patch file's path).
    pub fn new(
        context: impl Into<String>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        CliError {
            context: context.into(),
            cause: cause.into(),
        }
    }

    /// The cause alone, without the context.
    pub fn cause(&self) -> String {
        self.cause.to_string()
    }
}

/// The most characters of an error line; the rest is cut with an ellipsis.
const MAX_LINE_CHARS: usize = 2_000;

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, safe for a terminal whatever a file put into names: newlines are folded,
        // every other control character is escaped, and the line is cut if it is very long.
        let line = format!("{}: {}", self.context, self.cause).replace('\n', " ");
        aether_state::write_escaped(f, &line, MAX_LINE_CHARS)
    }
}

impl std::error::Error for CliError {}
