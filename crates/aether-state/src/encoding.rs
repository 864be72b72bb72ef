//! The two encodings of a [`GraphSnapshot`]: pretty JSON for patch files people edit, and a
//! compact binary form (a magic header, then bincode).

use serde::Deserialize;

use crate::error::SnapshotError;
use crate::snapshot::{FORMAT, FORMAT_VERSION, GraphSnapshot};

/// The first bytes of every binary patch.
pub const BINARY_MAGIC: [u8; 7] = *b"AETHER\0";

/// Length of the binary header: [`BINARY_MAGIC`] then the format version as a little-endian
/// `u32`.
pub const BINARY_HEADER_LEN: usize = BINARY_MAGIC.len() + 4;

/// The most bytes a binary patch may hold, and the most content its lengths may declare:
/// a corrupt length cannot make decoding allocate more than this.
pub const MAX_BINARY_BYTES: usize = 16 * 1024 * 1024;

/// The most bytes a JSON patch may hold: about a million nodes. Reading and parsing stop there,
/// so a huge or endless input (`/dev/zero`, a sparse file) never grows memory beyond it.
pub const MAX_JSON_BYTES: usize = 32 * 1024 * 1024;

/// The bincode configuration of the binary body: variable-length integers, little endian.
fn encode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// [`encode_config`] with the decode limit.
fn decode_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_BINARY_BYTES>,
> {
    bincode::config::standard().with_limit::<MAX_BINARY_BYTES>()
}

/// The fields read before the rest, so a future version's layout is reported as an
/// unsupported version rather than as a shape error.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

/// Refuses a format or version this build does not read.
pub(crate) fn check_format(format: &str, version: u32) -> Result<(), SnapshotError> {
    if format != FORMAT {
        return Err(SnapshotError::UnknownFormat {
            found: format.into(),
        });
    }
    if version != FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion { found: version });
    }
    Ok(())
}

impl GraphSnapshot {
    /// Reads a patch from a file or stream: the binary form when it starts with
    /// [`BINARY_MAGIC`], JSON otherwise. Reads at most one byte past the format's limit
    /// ([`MAX_BINARY_BYTES`], [`MAX_JSON_BYTES`]) and refuses a longer input, so memory stays
    /// bounded for any input, including endless streams. Allocates; control thread only.
    pub fn read_from(reader: impl std::io::Read) -> Result<Self, SnapshotError> {
        use std::io::Read as _;
        let limit = MAX_JSON_BYTES.max(MAX_BINARY_BYTES);
        let mut bytes = Vec::new();
        // Lossless: the limit is far below u64::MAX.
        reader
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|error| SnapshotError::Read {
                reason: error.to_string(),
            })?;
        if bytes.starts_with(&BINARY_MAGIC) {
            return Self::from_bytes(&bytes);
        }
        if bytes.len() > MAX_JSON_BYTES {
            return Err(SnapshotError::TooLarge {
                limit: MAX_JSON_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| SnapshotError::NotAPatch)?;
        Self::from_json(&text)
    }

    /// The snapshot as pretty-printed JSON (the patch file format; see the
    /// [crate documentation](crate)). Allocates; control thread only.
    ///
    /// JSON has no NaN or infinity: a non-finite sample rate, parameter or state value is
    /// written as `null`, which [`from_json`](Self::from_json) refuses. Snapshots from
    /// [`capture`](Self::capture) hold finite parameters.
    pub fn to_json_pretty(&self) -> String {
        // Serializing these types cannot fail: every map key is a string and every sequence
        // has a known length; writing into a `Vec` does no I/O.
        serde_json::to_string_pretty(self).expect("a snapshot always serializes to JSON")
    }

    /// Parses a patch from JSON. Checks the format and version first, then the shape: unknown
    /// fields, a name repeated within `params` or `state`, and wrong types are refused. Errors
    /// carry the line and column. The result still needs [`restore`](Self::restore) (or
    /// [`validate`](Self::validate)) to check it against the node types.
    ///
    /// Text longer than [`MAX_JSON_BYTES`] is refused unread.
    pub fn from_json(text: &str) -> Result<Self, SnapshotError> {
        if text.len() > MAX_JSON_BYTES {
            return Err(SnapshotError::TooLarge {
                limit: MAX_JSON_BYTES,
            });
        }
        let header: Header = serde_json::from_str(text)?;
        check_format(&header.format, header.version)?;
        Ok(serde_json::from_str(text)?)
    }

    /// The snapshot as compact binary: [`BINARY_MAGIC`], the format version as a little-endian
    /// `u32`, then the snapshot in bincode's standard configuration (serde mode). Allocates;
    /// control thread only.
    ///
    /// A snapshot whose encoding exceeds [`MAX_BINARY_BYTES`] is refused by
    /// [`from_bytes`](Self::from_bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(BINARY_HEADER_LEN + 64 * self.nodes.len());
        bytes.extend_from_slice(&BINARY_MAGIC);
        bytes.extend_from_slice(&self.version.to_le_bytes());
        // Encoding these types cannot fail: every sequence and map has a known length and the
        // writer is a `Vec`.
        let body = bincode::serde::encode_to_vec(self, encode_config())
            .expect("a snapshot always encodes to bincode");
        bytes.extend_from_slice(&body);
        bytes
    }

    /// Decodes a binary patch made by [`to_bytes`](Self::to_bytes).
    ///
    /// Never panics and never allocates more than about [`MAX_BINARY_BYTES`], whatever the
    /// input: wrong magic, an unknown version, truncated or corrupt bytes and trailing bytes
    /// each come back as a typed [`SnapshotError`]. The result still needs
    /// [`restore`](Self::restore) (or [`validate`](Self::validate)) to check it against the
    /// node types.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnapshotError> {
        if bytes.len() > MAX_BINARY_BYTES {
            return Err(SnapshotError::SizeLimit {
                limit: MAX_BINARY_BYTES,
            });
        }
        let magic_len = BINARY_MAGIC.len().min(bytes.len());
        if bytes.get(..magic_len) != BINARY_MAGIC.get(..magic_len) {
            return Err(SnapshotError::BadMagic);
        }
        let (Some(version), Some(body)) = (
            bytes.get(BINARY_MAGIC.len()..BINARY_HEADER_LEN),
            bytes.get(BINARY_HEADER_LEN..),
        ) else {
            return Err(SnapshotError::Truncated {
                missing: BINARY_HEADER_LEN.saturating_sub(bytes.len()),
            });
        };
        let mut version_bytes = [0u8; 4];
        version_bytes.copy_from_slice(version);
        let header_version = u32::from_le_bytes(version_bytes);
        check_format(FORMAT, header_version)?;
        let (snapshot, read): (GraphSnapshot, usize) =
            bincode::serde::decode_from_slice(body, decode_config())?;
        if read < body.len() {
            return Err(SnapshotError::TrailingBytes {
                count: body.len() - read,
            });
        }
        if snapshot.version != header_version {
            return Err(SnapshotError::VersionMismatch {
                header: header_version,
                body: snapshot.version,
            });
        }
        check_format(&snapshot.format, snapshot.version)?;
        Ok(snapshot)
    }
}
