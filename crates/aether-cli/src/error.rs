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
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: newlines in causes (rare) are folded.
        let cause = self.cause.to_string().replace('\n', " ");
        write!(f, "{}: {}", self.context, cause)
    }
}

impl std::error::Error for CliError {}
