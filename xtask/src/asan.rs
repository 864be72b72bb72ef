//! `cargo xtask asan`: the unit and integration tests of every crate with `unsafe` code, built
//! with AddressSanitizer on the nightly toolchain. Not part of `verify` (a full build of those
//! crates and their dependencies with instrumentation).

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::Path;
use std::time::Instant;

use crate::counts::TestCounts;
use crate::runner::{CargoCommand, run_captured};
use crate::step::{StepReport, announce};
use crate::workspace::{Workspace, package_name_from_manifest};

/// The target triple the sanitizer build uses. Naming it keeps build scripts and proc macros
/// (built for the host without `--target`) out of the instrumented build.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Extra features per package: ones whose `unsafe` code sits behind a feature. Features that
/// need system libraries (`aether-soak/jack`) are left out.
const EXTRA_FEATURES: &[(&str, &str)] = &[("aether-scheduler", "parallel")];

/// Runs, for each crate under `crates/` whose sources or tests hold `unsafe` code,
/// `RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address"
/// cargo +nightly test --target x86_64-unknown-linux-gnu -p <crate> --lib --tests` in
/// `target/asan` (doctests are not run; loom models compile to nothing without `--cfg loom`).
///
/// Fails if nightly is missing, if any test fails or ASAN reports an error, or if no test ran.
pub fn run(workspace: &Workspace) -> StepReport {
    announce("asan");
    let started = Instant::now();
    let crates = match crates_with_unsafe(&workspace.crates_dir()) {
        Ok(crates) => crates,
        Err(error) => {
            return StepReport::with_tests("asan", false, started, TestCounts::default())
                .fail_with_note(format!("cannot search crates/: {error}"));
        }
    };
    if crates.is_empty() {
        return StepReport::with_tests("asan", false, started, TestCounts::default())
            .fail_with_note("no crate under crates/ has unsafe code");
    }
    println!("asan: crates with unsafe code: {}", crates.join(", "));

    // `+nightly` needs rustup's `cargo` proxy, not the toolchain binary that started the xtask.
    let nightly = Workspace {
        root: workspace.root.clone(),
        cargo: OsString::from("cargo"),
    };
    let target_dir = workspace.target_dir().join("asan");
    let mut all_ok = true;
    let mut counts = TestCounts::default();
    for package in &crates {
        let mut args: Vec<String> = [
            "+nightly", "test", "--target", TARGET, "-p", package, "--lib", "--tests",
        ]
        .map(str::to_owned)
        .to_vec();
        for (name, feature) in EXTRA_FEATURES {
            if name == package {
                args.extend(["--features".to_owned(), (*feature).to_owned()]);
            }
        }
        let command = CargoCommand::new(args)
            .env("RUSTFLAGS", "-Zsanitizer=address")
            .env("RUSTDOCFLAGS", "-Zsanitizer=address")
            .env("CARGO_TARGET_DIR", target_dir.clone())
            // Report leaks too, and stop at the first error with a non-zero exit code.
            .env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1")
            .env("RUSTUP_TOOLCHAIN", "nightly");
        let outcome = run_captured(&nightly, &command);
        all_ok &= outcome.success;
        counts += outcome.counts;
    }

    let report = StepReport::with_tests("asan", all_ok, started, counts);
    if counts.ran() == 0 {
        report.fail_with_note(format!(
            "{} crate(s) with unsafe code but 0 tests ran",
            crates.len()
        ))
    } else {
        report
    }
}

/// Package names of the crates under `crates_dir` whose `src/` or `tests/` `.rs` files hold
/// `unsafe` code, sorted.
pub fn crates_with_unsafe(crates_dir: &Path) -> io::Result<Vec<String>> {
    let mut packages = Vec::new();
    let mut dirs: Vec<_> = fs::read_dir(crates_dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut found = false;
        for sub in ["src", "tests"] {
            found |= dir_has_unsafe(&dir.join(sub))?;
        }
        if found {
            let manifest = fs::read_to_string(dir.join("Cargo.toml"))?;
            let name = package_name_from_manifest(&manifest).unwrap_or_else(|| {
                dir.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            packages.push(name);
        }
    }
    packages.sort();
    Ok(packages)
}

fn dir_has_unsafe(dir: &Path) -> io::Result<bool> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(false);
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            if dir_has_unsafe(&path)? {
                return Ok(true);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && source_has_unsafe(&fs::read_to_string(&path)?)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `true` if `source` holds unsafe code outside comments: the keyword followed by a block, or
/// by `fn`, `impl`, `trait` or `extern`. Lint names (`unsafe_code`, `unsafe_op_in_unsafe_fn`)
/// and the word in comments do not count. Strings are not parsed: a string holding the keyword
/// and a brace counts (harmless: that crate's tests just run under ASAN too).
pub fn source_has_unsafe(source: &str) -> bool {
    let mut in_block_comment = false;
    for line in source.lines() {
        let mut code = String::new();
        let mut rest = line;
        loop {
            if in_block_comment {
                match rest.find("*/") {
                    Some(end) => {
                        rest = &rest[end + 2..];
                        in_block_comment = false;
                    }
                    None => break,
                }
            } else {
                let line_comment = rest.find("//");
                let block_comment = rest.find("/*");
                match (line_comment, block_comment) {
                    (Some(line_at), Some(block_at)) if block_at < line_at => {
                        code.push_str(&rest[..block_at]);
                        rest = &rest[block_at + 2..];
                        in_block_comment = true;
                    }
                    (None, Some(block_at)) => {
                        code.push_str(&rest[..block_at]);
                        rest = &rest[block_at + 2..];
                        in_block_comment = true;
                    }
                    (Some(line_at), _) => {
                        code.push_str(&rest[..line_at]);
                        break;
                    }
                    (None, None) => {
                        code.push_str(rest);
                        break;
                    }
                }
            }
        }
        if code_has_unsafe(&code) {
            return true;
        }
    }
    false
}

/// The keyword looked for, spelt once so that this file's own text is not read as unsafe code.
const KEYWORD: &str = concat!("un", "safe");

fn code_has_unsafe(code: &str) -> bool {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '{'))
        .filter(|word| !word.is_empty())
        .collect();
    words.iter().enumerate().any(|(index, word)| {
        if word.strip_prefix(KEYWORD) == Some("{") {
            return true;
        }
        *word == KEYWORD
            && words.get(index + 1).is_some_and(|next| {
                ["{", "fn", "impl", "trait", "extern"].contains(next) || next.starts_with('{')
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `template` with every `@` replaced by the keyword.
    fn code(template: &str) -> String {
        template.replace('@', KEYWORD)
    }

    #[test]
    fn finds_unsafe_code_not_words() {
        assert!(source_has_unsafe(&code("let x = @ { f() };")));
        assert!(source_has_unsafe(&code("    @{ f() }")));
        assert!(source_has_unsafe(&code("@ impl Send for X {}")));
        assert!(source_has_unsafe(&code("pub(crate) @ fn g() {}")));
        assert!(source_has_unsafe(&code("@ extern \"C\" { fn h(); }")));
        assert!(!source_has_unsafe(&code("// SAFETY: @ { in a comment }")));
        assert!(!source_has_unsafe(&code(
            "#![deny(@_op_in_@_fn)]\n#![forbid(@_code)]"
        )));
        assert!(!source_has_unsafe(&code("//! contains no `@` code")));
        assert!(!source_has_unsafe(&code("/* @ {\n @ fn */ let a = 1;")));
        assert!(source_has_unsafe(&code("/* note */ @ { f() }")));
    }
}
