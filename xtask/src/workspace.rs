//! Where the workspace is, which `cargo` to run, and which crates carry loom
//! models or allocation tests.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The workspace the xtask operates on.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Directory holding the workspace `Cargo.toml`.
    pub root: PathBuf,
    /// The `cargo` executable to run (from the `CARGO` environment variable when
    /// set, which is how `cargo run` passes down the toolchain in use).
    pub cargo: OsString,
}

impl Workspace {
    /// The workspace this xtask was built in: the parent of the xtask's
    /// `CARGO_MANIFEST_DIR`.
    pub fn current() -> Self {
        let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = xtask_dir
            .parent()
            .map_or_else(|| xtask_dir.to_path_buf(), Path::to_path_buf);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        Self { root, cargo }
    }

    /// The folder that holds one directory per member crate.
    pub fn crates_dir(&self) -> PathBuf {
        self.root.join("crates")
    }

    /// The build directory the normal commands use: `CARGO_TARGET_DIR` if set
    /// (relative paths are taken from the workspace root, where the commands run),
    /// otherwise `<root>/target`.
    pub fn target_dir(&self) -> PathBuf {
        match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) if !dir.is_empty() => self.root.join(dir),
            _ => self.root.join("target"),
        }
    }
}

/// One integration-test target of one crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestTarget {
    /// Package name, as passed to `cargo -p`.
    pub package: String,
    /// Test target name (the file stem), as passed to `cargo --test`.
    pub test: String,
}

/// Every `crates/*/tests/loom_*.rs`, sorted by package then test name.
pub fn discover_loom_models(crates_dir: &Path) -> io::Result<Vec<TestTarget>> {
    let mut targets = Vec::new();
    for crate_dir in crate_dirs(crates_dir)? {
        let tests_dir = crate_dir.join("tests");
        let Ok(entries) = fs::read_dir(&tests_dir) else {
            continue;
        };
        let mut stems = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if !path.is_file() || path.extension().is_none_or(|ext| ext != "rs") {
                continue;
            }
            if let Some(stem) = path.file_stem().and_then(|stem| stem.to_str())
                && stem.starts_with("loom_")
            {
                stems.push(stem.to_owned());
            }
        }
        stems.sort();
        let package = package_name(&crate_dir)?;
        targets.extend(stems.into_iter().map(|test| TestTarget {
            package: package.clone(),
            test,
        }));
    }
    Ok(targets)
}

/// Every crate that has `tests/alloc.rs`, as `(package, "alloc")` targets sorted
/// by package name.
pub fn discover_alloc_tests(crates_dir: &Path) -> io::Result<Vec<TestTarget>> {
    let mut targets = Vec::new();
    for crate_dir in crate_dirs(crates_dir)? {
        if crate_dir.join("tests").join("alloc.rs").is_file() {
            targets.push(TestTarget {
                package: package_name(&crate_dir)?,
                test: "alloc".to_owned(),
            });
        }
    }
    Ok(targets)
}

/// Sub-directories of `crates_dir` that contain a `Cargo.toml`, sorted by path.
/// A missing `crates_dir` means no crates.
fn crate_dirs(crates_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(crates_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// The `[package] name` of the crate in `crate_dir`, falling back to the folder
/// name (the workspace convention is folder name = crate name).
fn package_name(crate_dir: &Path) -> io::Result<String> {
    let manifest = fs::read_to_string(crate_dir.join("Cargo.toml"))?;
    if let Some(name) = package_name_from_manifest(&manifest) {
        return Ok(name);
    }
    crate_dir
        .file_name()
        .and_then(|name| name.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("cannot name the crate in {}", crate_dir.display()),
            )
        })
}

/// Reads `name = "..."` from the `[package]` table of a manifest, by hand (the
/// xtask has no dependencies). Returns `None` if it is not there.
pub fn package_name_from_manifest(manifest: &str) -> Option<String> {
    let mut in_package_table = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package_table = line == "[package]";
            continue;
        }
        if !in_package_table {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "name" {
            continue;
        }
        let value = value.trim();
        let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let inner = &value[1..];
        let end = inner.find(quote)?;
        return Some(inner[..end].to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory under the system temp dir, removed on drop.
    struct ScratchDir(PathBuf);

    impl ScratchDir {
        fn new() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let unique = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!(
                "xtask-workspace-test-{}-{unique}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).expect("create scratch dir");
            Self(path)
        }

        fn write(&self, relative: &str, contents: &str) {
            let path = self.0.join(relative);
            fs::create_dir_all(path.parent().expect("has parent")).expect("create dirs");
            fs::write(path, contents).expect("write file");
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn manifest(name: &str) -> String {
        format!("[package]\nname = \"{name}\"\nversion.workspace = true\n\n[dependencies]\n")
    }

    fn target(package: &str, test: &str) -> TestTarget {
        TestTarget {
            package: package.to_owned(),
            test: test.to_owned(),
        }
    }

    #[test]
    fn finds_loom_models_and_alloc_tests() {
        let scratch = ScratchDir::new();
        scratch.write("crates/zeta/Cargo.toml", &manifest("zeta"));
        scratch.write("crates/zeta/tests/loom_ring.rs", "");
        scratch.write("crates/zeta/tests/loom_handoff.rs", "");
        scratch.write("crates/zeta/tests/alloc.rs", "");
        scratch.write("crates/zeta/tests/other.rs", "");
        scratch.write("crates/zeta/tests/loom_notes.md", "");
        scratch.write("crates/zeta/src/loom_inline.rs", "");
        // Folder name differs from the package name: the manifest wins.
        scratch.write("crates/alpha-dir/Cargo.toml", &manifest("alpha"));
        scratch.write("crates/alpha-dir/tests/loom_swap.rs", "");
        scratch.write("crates/alpha-dir/tests/alloc.rs", "");
        // No manifest: not a crate.
        scratch.write("crates/stray/tests/loom_x.rs", "");
        scratch.write("crates/stray/tests/alloc.rs", "");
        // No tests at all.
        scratch.write("crates/quiet/Cargo.toml", &manifest("quiet"));

        let crates = scratch.0.join("crates");
        assert_eq!(
            discover_loom_models(&crates).expect("discover loom"),
            vec![
                target("alpha", "loom_swap"),
                target("zeta", "loom_handoff"),
                target("zeta", "loom_ring"),
            ]
        );
        assert_eq!(
            discover_alloc_tests(&crates).expect("discover alloc"),
            vec![target("alpha", "alloc"), target("zeta", "alloc")]
        );
    }

    #[test]
    fn missing_crates_dir_finds_nothing() {
        let scratch = ScratchDir::new();
        let crates = scratch.0.join("crates");
        assert_eq!(discover_loom_models(&crates).expect("loom"), vec![]);
        assert_eq!(discover_alloc_tests(&crates).expect("alloc"), vec![]);
    }

    #[test]
    fn reads_package_name_only_from_package_table() {
        let manifest = "\
[workspace]
name = \"not-this\"

[package]
description = \"x\"
name='single-quoted'
";
        assert_eq!(
            package_name_from_manifest(manifest).as_deref(),
            Some("single-quoted")
        );
        assert_eq!(
            package_name_from_manifest("[package]\nname = \"aether-arena\" # comment\n").as_deref(),
            Some("aether-arena")
        );
        assert_eq!(
            package_name_from_manifest("[dependencies]\nname = \"x\"\n"),
            None
        );
        assert_eq!(
            package_name_from_manifest("[package]\nname.workspace = true\n"),
            None
        );
    }
}
