//! Test counts parsed from the `test result:` lines that libtest prints.
//!
//! Every test binary (unit tests, integration tests, doctests) ends its run with
//! one line such as
//!
//! ```text
//! test result: FAILED. 3 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s
//! ```
//!
//! A step sums these lines over everything it ran.

use std::ops::AddAssign;

/// Prefix of the summary line libtest prints at the end of each test binary.
const TEST_RESULT_PREFIX: &str = "test result: ";

/// Number of tests that passed, failed and were ignored, summed over any number
/// of `test result:` lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestCounts {
    /// Tests that ran and passed.
    pub passed: u64,
    /// Tests that ran and failed.
    pub failed: u64,
    /// Tests that were not run because they are marked `#[ignore]`.
    pub ignored: u64,
}

impl TestCounts {
    /// Sums every `test result:` line found in `output`.
    #[cfg(test)]
    pub fn from_output(output: &str) -> Self {
        let mut counts = Self::default();
        for line in output.lines() {
            counts.add_line(line);
        }
        counts
    }

    /// Adds the counts of `line` if it is a libtest `test result:` line; any other
    /// line is ignored. ANSI colour codes and carriage-return redraws are tolerated.
    pub fn add_line(&mut self, line: &str) {
        if let Some(line_counts) = parse_test_result_line(line) {
            *self += line_counts;
        }
    }

    /// Tests that actually ran (passed or failed; ignored tests did not run).
    pub fn ran(&self) -> u64 {
        self.passed + self.failed
    }
}

impl AddAssign for TestCounts {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.ignored += other.ignored;
    }
}

/// Parses one libtest summary line, or returns `None` if `line` is not one.
///
/// Only lines that *start* with `test result: ok. ` or `test result: FAILED. `
/// count, so a test that prints a look-alike phrase does not skew the totals.
pub fn parse_test_result_line(line: &str) -> Option<TestCounts> {
    let plain = strip_ansi_codes(line);
    // A terminal redraw (`\r`) leaves only the text after the last one visible.
    let visible = plain
        .trim_end_matches(['\r', '\n'])
        .rsplit('\r')
        .next()
        .unwrap_or_default();
    let after_prefix = visible.strip_prefix(TEST_RESULT_PREFIX)?;
    let rest = after_prefix
        .strip_prefix("ok. ")
        .or_else(|| after_prefix.strip_prefix("FAILED. "))?;

    let mut counts = TestCounts::default();
    let mut found_any = false;
    let words: Vec<&str> = rest.split_whitespace().collect();
    for pair in words.windows(2) {
        let Ok(number) = pair[0].parse::<u64>() else {
            continue;
        };
        let label = pair[1].trim_end_matches([';', ',', '.']);
        let slot = match label {
            "passed" => &mut counts.passed,
            "failed" => &mut counts.failed,
            "ignored" => &mut counts.ignored,
            _ => continue,
        };
        *slot += number;
        found_any = true;
    }
    found_any.then_some(counts)
}

/// Removes ANSI escape sequences (`ESC [ ... final-byte`) such as colour codes.
pub fn strip_ansi_codes(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            plain.push(c);
            continue;
        }
        // Control Sequence Introducer: ESC '[' parameters... final byte in '@'..='~'.
        if chars.clone().next() == Some('[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
        // A lone ESC (or another escape kind) is simply dropped.
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSING_RUN: &str = "\
   Compiling aether-arena v0.1.0 (/work/main/crates/aether-arena)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 1.23s
     Running unittests src/lib.rs (target/debug/deps/aether_arena-0123456789abcdef)

running 3 tests
test tests::insert ... ok
test tests::remove ... ok
test tests::slow ... ignored

test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

   Doc-tests aether_arena

running 1 test
test crates/aether-arena/src/lib.rs - (line 7) ... ok

test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.21s
";

    const FAILING_RUN: &str = "\
running 4 tests
test a ... ok
test b ... FAILED
test c ... FAILED
test d ... ignored, needs hardware

failures:

---- b stdout ----
test result: 99 passed; 99 failed; this line is test output, not a summary

failures:
    b
    c

test result: FAILED. 1 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.03s

error: test failed, to rerun pass `-p aether-params --lib`
";

    #[test]
    fn sums_all_summary_lines_including_doctests() {
        let counts = TestCounts::from_output(PASSING_RUN);
        assert_eq!(
            counts,
            TestCounts {
                passed: 3,
                failed: 0,
                ignored: 1
            }
        );
        assert_eq!(counts.ran(), 3);
    }

    #[test]
    fn counts_failed_and_ignored_and_skips_lookalike_test_output() {
        let counts = TestCounts::from_output(FAILING_RUN);
        assert_eq!(
            counts,
            TestCounts {
                passed: 1,
                failed: 2,
                ignored: 1
            }
        );
        assert_eq!(counts.ran(), 3);
    }

    #[test]
    fn sums_across_several_runs() {
        let mut total = TestCounts::from_output(PASSING_RUN);
        total += TestCounts::from_output(FAILING_RUN);
        assert_eq!(
            total,
            TestCounts {
                passed: 4,
                failed: 2,
                ignored: 2
            }
        );
    }

    #[test]
    fn empty_or_unrelated_output_counts_nothing() {
        assert_eq!(TestCounts::from_output(""), TestCounts::default());
        let compile_error = "error[E0425]: cannot find value `x` in this scope\n\
                             error: could not compile `aether-arena` (lib test) due to 1 previous error\n";
        assert_eq!(
            TestCounts::from_output(compile_error),
            TestCounts::default()
        );
        assert_eq!(parse_test_result_line("test result: ok."), None);
        assert_eq!(
            parse_test_result_line("  test result: ok. 1 passed; 0 failed; 0 ignored"),
            None
        );
    }

    #[test]
    fn zero_tests_is_a_summary_with_zero_counts() {
        let line = "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
        assert_eq!(parse_test_result_line(line), Some(TestCounts::default()));
    }

    #[test]
    fn tolerates_colour_codes_and_carriage_returns() {
        let coloured = "test result: \u{1b}[31mFAILED\u{1b}[0m. 5 passed; 1 failed; 2 ignored; 0 measured; 0 filtered out; finished in 1.00s\r\n";
        assert_eq!(
            parse_test_result_line(coloured),
            Some(TestCounts {
                passed: 5,
                failed: 1,
                ignored: 2
            })
        );
        let redrawn = "    Building [=====>   ] 3/9\rtest result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.10s";
        assert_eq!(
            parse_test_result_line(redrawn),
            Some(TestCounts {
                passed: 7,
                failed: 0,
                ignored: 0
            })
        );
    }

    #[test]
    fn strip_ansi_codes_keeps_plain_text() {
        assert_eq!(
            strip_ansi_codes("\u{1b}[1m\u{1b}[32mok\u{1b}[0m done"),
            "ok done"
        );
        assert_eq!(strip_ansi_codes("no codes"), "no codes");
        assert_eq!(strip_ansi_codes("dangling \u{1b}"), "dangling ");
    }
}
