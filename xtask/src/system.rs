//! Features that need system audio packages (ALSA and JACK headers, a JACK server), whether this
//! machine has them, and the cargo command lines that check everything else when it does not.

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::workspace::{Workspace, package_name_from_manifest};

/// The Debian packages the audio features need.
pub const AUDIO_PACKAGES: &str = "libasound2-dev libjack-jackd2-dev jackd2";

/// Package features that link against ALSA or JACK: (package folder, feature).
const AUDIO_FEATURES: &[(&str, &str)] = &[
    ("crates/aether-cli", "play"),
    ("examples/cpal-host", "cpal"),
    ("crates/aether-soak", "jack"),
];

/// One package feature that needs the audio packages, and what can be checked without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatedFeature {
    /// Package name, as passed to `cargo -p`.
    pub package: String,
    /// The feature that needs the audio packages.
    pub feature: String,
    /// The package's other features that do not need them (sorted).
    pub safe_features: Vec<String>,
    /// Whether the package's default features need them.
    pub default_needs_audio: bool,
    /// The default features that do not need them (when `default_needs_audio`).
    pub safe_default_features: Vec<String>,
}

impl GatedFeature {
    /// `package/feature`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.package, self.feature)
    }
}

/// What this machine offers for the audio features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSupport {
    /// What is missing (`pkg-config alsa`, `pkg-config jack`, `jackd`); empty when everything is there.
    pub missing: Vec<String>,
    /// The workspace's audio features.
    pub features: Vec<GatedFeature>,
}

impl AudioSupport {
    /// Looks at the machine (`pkg-config --exists alsa jack`, `jackd` on `PATH`) and the
    /// workspace's manifests.
    pub fn detect(workspace: &Workspace) -> Self {
        let mut missing = Vec::new();
        for library in ["alsa", "jack"] {
            if !pkg_config_has(library) {
                missing.push(format!("pkg-config {library}"));
            }
        }
        if find_on_path("jackd").is_none() {
            missing.push("jackd".to_owned());
        }
        AudioSupport {
            missing,
            features: gated_features(&workspace.root),
        }
    }

    /// `true` when the audio features can be built and run.
    pub fn available(&self) -> bool {
        self.missing.is_empty()
    }

    /// The summary line for `verify`.
    pub fn summary_line(&self) -> String {
        let labels: Vec<String> = self.features.iter().map(GatedFeature::label).collect();
        let labels = if labels.is_empty() {
            "none found".to_owned()
        } else {
            labels.join(", ")
        };
        if self.available() {
            format!("audio features: checked ({labels})")
        } else {
            format!(
                "audio features: skipped {labels} (install {AUDIO_PACKAGES}; missing: {})",
                self.missing.join(", ")
            )
        }
    }

    /// The arguments of one or more cargo runs of `subcommand` (`clippy`, `doc`) over the whole
    /// workspace with every feature: one run with `--all-features` when the audio packages are
    /// there; otherwise one run excluding the gated packages, plus one per gated package with
    /// its other features. `trailing` goes after each command's own arguments.
    pub fn all_features_runs(
        &self,
        subcommand: &str,
        extra: &[&str],
        trailing: &[&str],
    ) -> Vec<Vec<String>> {
        let base = |args: &mut Vec<String>| {
            args.push(subcommand.to_owned());
            args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        };
        let mut workspace_run = Vec::new();
        base(&mut workspace_run);
        workspace_run.extend(["--workspace".to_owned(), "--all-features".to_owned()]);
        if self.available() {
            workspace_run.extend(trailing.iter().map(|arg| (*arg).to_owned()));
            return vec![workspace_run];
        }
        let packages: BTreeSet<&str> = self
            .features
            .iter()
            .map(|gated| gated.package.as_str())
            .collect();
        for package in &packages {
            workspace_run.extend(["--exclude".to_owned(), (*package).to_owned()]);
        }
        workspace_run.extend(trailing.iter().map(|arg| (*arg).to_owned()));
        let mut runs = vec![workspace_run];
        for package in packages {
            let mut run = Vec::new();
            base(&mut run);
            run.extend(["-p".to_owned(), package.to_owned()]);
            let mut safe: BTreeSet<&str> = BTreeSet::new();
            let mut default_needs_audio = false;
            for gated in self
                .features
                .iter()
                .filter(|gated| gated.package == package)
            {
                default_needs_audio |= gated.default_needs_audio;
                safe.extend(gated.safe_features.iter().map(String::as_str));
            }
            // A feature that is safe for one gate may enable another gated feature.
            let gated_here: BTreeSet<&str> = self
                .features
                .iter()
                .filter(|gated| gated.package == package)
                .map(|gated| gated.feature.as_str())
                .collect();
            safe.retain(|feature| {
                self.features
                    .iter()
                    .filter(|gated| gated.package == package)
                    .all(|gated| gated.safe_features.iter().any(|safe| safe == feature))
                    && !gated_here.contains(feature)
            });
            if default_needs_audio {
                run.push("--no-default-features".to_owned());
            }
            if !safe.is_empty() {
                run.push("--features".to_owned());
                run.push(safe.into_iter().collect::<Vec<_>>().join(","));
            }
            run.extend(trailing.iter().map(|arg| (*arg).to_owned()));
            runs.push(run);
        }
        runs
    }

    /// Packages whose default features need the audio packages while they are missing: the
    /// default-feature test run must leave them out.
    pub fn excluded_from_default_runs(&self) -> Vec<String> {
        if self.available() {
            return Vec::new();
        }
        let set: BTreeSet<&str> = self
            .features
            .iter()
            .filter(|gated| gated.default_needs_audio)
            .map(|gated| gated.package.as_str())
            .collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// Extra test runs: with the packages, `cargo test -p <package> --features <feature>` for
    /// every audio feature; without, the default features that are safe for packages left out
    /// of the default run.
    pub fn extra_test_runs(&self) -> Vec<Vec<String>> {
        if self.available() {
            return self
                .features
                .iter()
                .map(|gated| {
                    vec![
                        "test".to_owned(),
                        "-p".to_owned(),
                        gated.package.clone(),
                        "--no-fail-fast".to_owned(),
                        "--features".to_owned(),
                        gated.feature.clone(),
                    ]
                })
                .collect();
        }
        self.features
            .iter()
            .filter(|gated| gated.default_needs_audio)
            .map(|gated| {
                let mut run = vec![
                    "test".to_owned(),
                    "-p".to_owned(),
                    gated.package.clone(),
                    "--no-fail-fast".to_owned(),
                    "--no-default-features".to_owned(),
                ];
                if !gated.safe_default_features.is_empty() {
                    run.push("--features".to_owned());
                    run.push(gated.safe_default_features.join(","));
                }
                run
            })
            .collect()
    }
}

fn pkg_config_has(library: &str) -> bool {
    Command::new("pkg-config")
        .args(["--exists", library])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The first executable file called `program` in a `PATH` directory.
pub fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// The audio features declared by the workspace's manifests (a missing package or feature is
/// simply not listed).
fn gated_features(root: &Path) -> Vec<GatedFeature> {
    AUDIO_FEATURES
        .iter()
        .filter_map(|&(dir, feature)| {
            let manifest = fs::read_to_string(root.join(dir).join("Cargo.toml")).ok()?;
            gated_feature(&manifest, feature)
        })
        .collect()
}

/// Reads `feature` of the package in `manifest`, if the manifest declares it.
pub fn gated_feature(manifest: &str, feature: &str) -> Option<GatedFeature> {
    let package = package_name_from_manifest(manifest)?;
    let table = features_table(manifest);
    if !table.iter().any(|(name, _)| name == feature) {
        return None;
    }
    let needs = features_needing(&table, feature);
    let safe_features = table
        .iter()
        .map(|(name, _)| name)
        .filter(|name| *name != "default" && !needs.contains(name.as_str()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let default_needs_audio = needs.contains("default");
    let safe_default_features = table
        .iter()
        .find(|(name, _)| name == "default")
        .map(|(_, entries)| {
            entries
                .iter()
                .filter(|entry| !needs.contains(entry.as_str()) && !entry.starts_with("dep:"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    Some(GatedFeature {
        package,
        feature: feature.to_owned(),
        safe_features,
        default_needs_audio,
        safe_default_features: if default_needs_audio {
            safe_default_features
        } else {
            Vec::new()
        },
    })
}

/// Features that (transitively) enable `gated` or one of the optional dependencies it enables.
fn features_needing(table: &[(String, Vec<String>)], gated: &str) -> BTreeSet<String> {
    let gated_deps: BTreeSet<String> = table
        .iter()
        .find(|(name, _)| name == gated)
        .map(|(_, entries)| {
            entries
                .iter()
                .filter_map(|entry| entry.strip_prefix("dep:"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let touches_gated_dep = |entry: &str| {
        let dep = entry
            .strip_prefix("dep:")
            .unwrap_or_else(|| entry.split('/').next().unwrap_or(entry))
            .trim_end_matches('?');
        gated_deps.contains(dep)
    };
    let mut needing: BTreeSet<String> = BTreeSet::from([gated.to_owned()]);
    loop {
        let before = needing.len();
        for (name, entries) in table {
            if entries
                .iter()
                .any(|entry| needing.contains(entry) || touches_gated_dep(entry))
            {
                needing.insert(name.clone());
            }
        }
        if needing.len() == before {
            return needing;
        }
    }
}

/// The `[features]` table of a manifest: each feature with the entries of its array. Handles
/// arrays over several lines and `#` comments; values are read by hand (the xtask has no
/// dependencies).
pub fn features_table(manifest: &str) -> Vec<(String, Vec<String>)> {
    let mut table = Vec::new();
    let mut in_features = false;
    let mut current: Option<(String, String)> = None;
    for raw_line in manifest.lines() {
        let line = strip_comment(raw_line).trim();
        if let Some((name, mut text)) = current.take() {
            text.push(' ');
            text.push_str(line);
            if line.contains(']') {
                table.push((name, array_entries(&text)));
            } else {
                current = Some((name, text));
            }
            continue;
        }
        if line.starts_with('[') {
            in_features = line == "[features]";
            continue;
        }
        if !in_features {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let name = key.trim().trim_matches('"').to_owned();
        let value = value.trim().to_owned();
        if value.starts_with('[') && !value.contains(']') {
            current = Some((name, value));
        } else {
            table.push((name, array_entries(&value)));
        }
    }
    table
}

fn strip_comment(line: &str) -> &str {
    // Feature entries never contain `#`, so the first one starts a comment.
    line.split('#').next().unwrap_or(line)
}

fn array_entries(text: &str) -> Vec<String> {
    let inner = text
        .trim()
        .trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or("");
    inner
        .split(',')
        .map(|entry| entry.trim().trim_matches('"').trim_matches('\'').to_owned())
        .filter(|entry| !entry.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLI: &str = r#"
[package]
name = "aether-cli"

[features]
# `aether play`: live audio.
play = ["dep:cpal"]
wav = []

[dependencies]
cpal = { workspace = true, optional = true }
"#;

    const TANGLED: &str = r#"
[package]
name = "tangled"

[features]
default = ["live", "fast"]
live = [
    "audio", # comment
    "fast",
]
audio = ["dep:cpal"]
meter = ["cpal?/extra"]
fast = []
"#;

    fn support(available: bool, manifests: &[(&str, &str)]) -> AudioSupport {
        AudioSupport {
            missing: if available {
                Vec::new()
            } else {
                vec!["jackd".to_owned()]
            },
            features: manifests
                .iter()
                .filter_map(|(manifest, feature)| gated_feature(manifest, feature))
                .collect(),
        }
    }

    #[test]
    fn reads_feature_tables() {
        let table = features_table(TANGLED);
        assert_eq!(
            table,
            vec![
                (
                    "default".to_owned(),
                    vec!["live".to_owned(), "fast".to_owned()]
                ),
                (
                    "live".to_owned(),
                    vec!["audio".to_owned(), "fast".to_owned()]
                ),
                ("audio".to_owned(), vec!["dep:cpal".to_owned()]),
                ("meter".to_owned(), vec!["cpal?/extra".to_owned()]),
                ("fast".to_owned(), vec![]),
            ]
        );
        assert_eq!(features_table("[package]\nname = \"x\"\n"), vec![]);
    }

    #[test]
    fn finds_what_needs_the_audio_packages() {
        let cli = gated_feature(CLI, "play").expect("declared");
        assert_eq!(cli.package, "aether-cli");
        assert_eq!(cli.safe_features, vec!["wav".to_owned()]);
        assert!(!cli.default_needs_audio);

        let tangled = gated_feature(TANGLED, "audio").expect("declared");
        assert_eq!(tangled.safe_features, vec!["fast".to_owned()]);
        assert!(tangled.default_needs_audio);
        assert_eq!(tangled.safe_default_features, vec!["fast".to_owned()]);

        assert_eq!(gated_feature(CLI, "missing"), None);
    }

    #[test]
    fn with_the_packages_everything_runs_with_all_features() {
        let audio = support(true, &[(CLI, "play")]);
        assert_eq!(
            audio.all_features_runs("clippy", &["--all-targets"], &["--", "-D", "warnings"]),
            vec![
                [
                    "clippy",
                    "--all-targets",
                    "--workspace",
                    "--all-features",
                    "--",
                    "-D",
                    "warnings"
                ]
                .map(str::to_owned)
                .to_vec()
            ]
        );
        assert_eq!(
            audio.extra_test_runs(),
            vec![
                [
                    "test",
                    "-p",
                    "aether-cli",
                    "--no-fail-fast",
                    "--features",
                    "play"
                ]
                .map(str::to_owned)
                .to_vec()
            ]
        );
        assert!(audio.excluded_from_default_runs().is_empty());
        assert_eq!(
            audio.summary_line(),
            "audio features: checked (aether-cli/play)"
        );
    }

    #[test]
    fn without_the_packages_gated_features_are_left_out_and_said_so() {
        let audio = support(false, &[(CLI, "play"), (TANGLED, "audio")]);
        let runs = audio.all_features_runs("doc", &["--no-deps"], &[]);
        assert_eq!(
            runs,
            vec![
                [
                    "doc",
                    "--no-deps",
                    "--workspace",
                    "--all-features",
                    "--exclude",
                    "aether-cli",
                    "--exclude",
                    "tangled"
                ]
                .map(str::to_owned)
                .to_vec(),
                ["doc", "--no-deps", "-p", "aether-cli", "--features", "wav"]
                    .map(str::to_owned)
                    .to_vec(),
                [
                    "doc",
                    "--no-deps",
                    "-p",
                    "tangled",
                    "--no-default-features",
                    "--features",
                    "fast"
                ]
                .map(str::to_owned)
                .to_vec(),
            ]
        );
        assert_eq!(
            audio.excluded_from_default_runs(),
            vec!["tangled".to_owned()]
        );
        assert_eq!(
            audio.extra_test_runs(),
            vec![
                [
                    "test",
                    "-p",
                    "tangled",
                    "--no-fail-fast",
                    "--no-default-features",
                    "--features",
                    "fast"
                ]
                .map(str::to_owned)
                .to_vec()
            ]
        );
        let line = audio.summary_line();
        assert!(line.starts_with("audio features: skipped aether-cli/play, tangled/audio"));
        assert!(line.contains("(install libasound2-dev libjack-jackd2-dev jackd2"));
    }
}
