//! Output files written safely: all or nothing for files, straight through for streams.
//!
//! Every command that writes (`render -o`, the console's `save`) opens its output here:
//!
//! - `-` is standard output, written as a stream.
//! - A symbolic link is followed (through dangling links too): its target receives the data
//!   and the link stays a link.
//! - A FIFO or a character device (`/dev/null`, a pipe someone reads) is opened and written
//!   directly as a stream; it is never replaced by a regular file.
//! - A regular file, or a path that does not exist yet, is written to a temporary file created
//!   exclusively (`O_EXCL`, an unpredictable name) in the target's own directory, synced, and
//!   renamed over the target by [`OutputFile::finish`]. Dropping an unfinished `OutputFile`
//!   (an error, a refused result, a panic unwinding) removes the temporary file, so a failed
//!   run leaves no partial file and an existing output exactly as it was. An existing file
//!   keeps its permissions; a new one is created with mode 0644.
//! - Directories, block devices and sockets are refused before anything is written.
//!
//! A stream cannot be taken back: a run that fails after it started writing leaves what it
//! wrote so far in the stream (the error still says the run failed).

use std::fs::{File, OpenOptions, Permissions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// How many symbolic links are followed before giving up (Linux's own limit).
const MAX_LINK_HOPS: usize = 40;

/// Buffer between the writer and the file or stream.
const BUFFER_BYTES: usize = 64 * 1024;

/// An output opened for writing; see the [module documentation](self).
pub struct OutputFile {
    target: Target,
    /// The path as the user named it, for messages.
    shown: String,
}

enum Target {
    /// Written to `temporary`, renamed over `path` when finished.
    Replace {
        writer: BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
        permissions: Permissions,
    },
    /// Written straight through.
    Stream { writer: BufWriter<Box<dyn Write>> },
}

impl OutputFile {
    /// Opens `path` for writing as the [module documentation](self) describes. Nothing visible
    /// at `path` changes until [`finish`](Self::finish) (except for streams, which are written
    /// as data arrives).
    pub fn create(path: &Path) -> Result<Self, CliError> {
        let shown = path.display().to_string();
        if path.as_os_str() == "-" {
            let stdout: Box<dyn Write> = Box::new(std::io::stdout());
            return Ok(OutputFile {
                target: Target::Stream {
                    writer: BufWriter::with_capacity(BUFFER_BYTES, stdout),
                },
                shown,
            });
        }
        let error = |cause: String| CliError::new(&shown, cause);
        let resolved = follow_links(path).map_err(|cause| error(cause.to_string()))?;
        let permissions = match std::fs::metadata(&resolved) {
            Ok(metadata) => {
                let kind = metadata.file_type();
                if kind.is_dir() {
                    return Err(error("is a directory".into()));
                }
                if kind.is_fifo() || kind.is_char_device() {
                    let file = OpenOptions::new()
                        .write(true)
                        .open(&resolved)
                        .map_err(|cause| error(cause.to_string()))?;
                    let stream: Box<dyn Write> = Box::new(file);
                    return Ok(OutputFile {
                        target: Target::Stream {
                            writer: BufWriter::with_capacity(BUFFER_BYTES, stream),
                        },
                        shown,
                    });
                }
                if !kind.is_file() {
                    return Err(error(
                        "is neither a regular file, a FIFO nor a character device; \
                         refusing to replace it"
                            .into(),
                    ));
                }
                metadata.permissions()
            }
            Err(cause) if cause.kind() == std::io::ErrorKind::NotFound => {
                Permissions::from_mode(0o644)
            }
            Err(cause) => return Err(error(cause.to_string())),
        };
        let directory = match resolved.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut prefix = std::ffi::OsString::from(".");
        prefix.push(resolved.file_name().unwrap_or_default());
        prefix.push(".");
        let temporary = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".partial")
            .rand_bytes(12)
            .tempfile_in(&directory)
            .map_err(|cause| {
                error(format!(
                    "cannot create a temporary file in {}: {cause}",
                    directory.display()
                ))
            })?;
        Ok(OutputFile {
            target: Target::Replace {
                writer: BufWriter::with_capacity(BUFFER_BYTES, temporary),
                path: resolved,
                permissions,
            },
            shown,
        })
    }

    /// `true` for standard output, FIFOs and character devices (written as data arrives).
    pub fn is_stream(&self) -> bool {
        matches!(self.target, Target::Stream { .. })
    }

    /// The path as the user named it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Flushes everything written; for a file, syncs it to disk and renames it over the
    /// target (then syncs the directory, so the rename survives a crash).
    pub fn finish(self) -> Result<(), CliError> {
        let shown = self.shown;
        let error = |cause: std::io::Error| CliError::new(&shown, cause);
        match self.target {
            Target::Stream { mut writer } => writer.flush().map_err(error),
            Target::Replace {
                writer,
                path,
                permissions,
            } => {
                let temporary = writer
                    .into_inner()
                    .map_err(|cause| error(cause.into_error()))?;
                temporary
                    .as_file()
                    .set_permissions(permissions)
                    .map_err(error)?;
                temporary.as_file().sync_all().map_err(error)?;
                temporary
                    .persist(&path)
                    .map_err(|cause| error(cause.error))?;
                if let Some(directory) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    // Best effort: some file systems refuse to sync a directory.
                    let _ = File::open(directory).and_then(|directory| directory.sync_all());
                }
                Ok(())
            }
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match &mut self.target {
            Target::Replace { writer, .. } => writer.write(bytes),
            Target::Stream { writer } => writer.write(bytes),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match &mut self.target {
            Target::Replace { writer, .. } => writer.write_all(bytes),
            Target::Stream { writer } => writer.write_all(bytes),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.target {
            Target::Replace { writer, .. } => writer.flush(),
            Target::Stream { writer } => writer.flush(),
        }
    }
}

/// `path` with every symbolic link in its last component followed, even a dangling one (the
/// file is then created where the link points).
fn follow_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        match std::fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(error) => return Err(error),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}
