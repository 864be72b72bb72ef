//! Names from files, made safe to print: control characters escaped, long names cut.

use core::fmt;

/// The most characters of one name an error or a listing prints; longer names are cut there
/// and end with an ellipsis.
pub const MAX_SHOWN_CHARS: usize = 80;

/// A name read from a file (a type name, a label, a parameter name), shown safely: every
/// control character (C0, DEL, C1; so ANSI and OSC escape sequences, `\r`, `\n`) is written as
/// a visible `\u{..}` escape instead of reaching the terminal, and a name longer than
/// [`MAX_SHOWN_CHARS`] characters is cut with `…`.
///
/// ```
/// use aether_state::Shown;
/// assert_eq!(Shown("Sine").to_string(), "Sine");
/// assert_eq!(Shown("a\u{1b}[2Jb\r").to_string(), "a\\u{1b}[2Jb\\u{d}");
/// assert_eq!(Shown(&"x".repeat(1000)).to_string().chars().count(), 81);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a>(pub &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, MAX_SHOWN_CHARS)
    }
}

/// Writes `text` with control characters escaped, cut after `limit` characters with `…`.
pub fn write_escaped(out: &mut impl fmt::Write, text: &str, limit: usize) -> fmt::Result {
    for (count, c) in text.chars().enumerate() {
        if count == limit {
            return out.write_char('…');
        }
        if c.is_control() {
            write!(out, "\\u{{{:x}}}", c as u32)?;
        } else {
            out.write_char(c)?;
        }
    }
    Ok(())
}
