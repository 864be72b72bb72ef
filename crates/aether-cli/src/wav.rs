//! WAV output for a length known before the first sample: an exact header, then the samples.
//!
//! `render` knows how many frames it will write before it starts, so the header is written
//! once with its final sizes and never patched: files and streams (standard output, a FIFO)
//! get the same bytes, and a stream's reader knows the length from the start. A render whose
//! data would not fit the format's 32-bit sizes (4 GiB) is refused before anything is written.

use std::io::Write;

/// WAV sample formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleFormat {
    /// 16-bit integer PCM.
    Int16,
    /// 24-bit integer PCM.
    Int24,
    /// 32-bit IEEE float.
    Float32,
}

impl SampleFormat {
    /// Bytes of one sample.
    pub fn bytes(self) -> u16 {
        match self {
            SampleFormat::Int16 => 2,
            SampleFormat::Int24 => 3,
            SampleFormat::Float32 => 4,
        }
    }
}

/// The layout of a WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavLayout {
    /// Sample format.
    pub format: SampleFormat,
    /// Interleaved channels.
    pub channels: u16,
    /// Frames per second (the sample rate, rounded to whole hertz).
    pub sample_rate: u32,
    /// Frames the file holds.
    pub frames: u64,
}

/// A render too long for WAV's 32-bit chunk sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{data_bytes} bytes of audio exceed the WAV format's 4 GiB limit; render fewer seconds, \
     a lower sample rate or a smaller sample format"
)]
pub struct TooLong {
    /// The bytes the audio would take.
    pub data_bytes: u64,
}

impl WavLayout {
    /// The header for this layout with its final sizes: 44 bytes for PCM; 58 for float (a
    /// format chunk with its extension size, and the `fact` chunk non-PCM formats carry).
    pub fn header(&self) -> Result<Vec<u8>, TooLong> {
        let sample_bytes = self.format.bytes();
        let block_align = u32::from(sample_bytes) * u32::from(self.channels);
        let data_bytes = self.frames.saturating_mul(u64::from(block_align));
        let float = self.format == SampleFormat::Float32;
        let header_len: u32 = if float { 58 } else { 44 };
        let too_long = TooLong { data_bytes };
        let data_len = u32::try_from(data_bytes).map_err(|_| too_long)?;
        let riff_len = data_len.checked_add(header_len - 8).ok_or(too_long)?;

        let mut header = Vec::with_capacity(header_len as usize);
        header.extend_from_slice(b"RIFF");
        header.extend_from_slice(&riff_len.to_le_bytes());
        header.extend_from_slice(b"WAVE");
        header.extend_from_slice(b"fmt ");
        header.extend_from_slice(&(if float { 18u32 } else { 16u32 }).to_le_bytes());
        let format_tag: u16 = if float { 3 } else { 1 };
        header.extend_from_slice(&format_tag.to_le_bytes());
        header.extend_from_slice(&self.channels.to_le_bytes());
        header.extend_from_slice(&self.sample_rate.to_le_bytes());
        let byte_rate = self.sample_rate.saturating_mul(block_align);
        header.extend_from_slice(&byte_rate.to_le_bytes());
        // Lossless: at most 4 bytes x 65 535 channels does not fit, so clamp (mono/stereo here).
        header.extend_from_slice(&(block_align.min(u32::from(u16::MAX)) as u16).to_le_bytes());
        header.extend_from_slice(&(sample_bytes * 8).to_le_bytes());
        if float {
            header.extend_from_slice(&0u16.to_le_bytes());
            header.extend_from_slice(b"fact");
            header.extend_from_slice(&4u32.to_le_bytes());
            // Lossless: frames <= data_len, which fits u32.
            header.extend_from_slice(&(self.frames as u32).to_le_bytes());
        }
        header.extend_from_slice(b"data");
        header.extend_from_slice(&data_len.to_le_bytes());
        Ok(header)
    }
}

/// Encodes samples and writes them, counting the ones clipped into [-1, 1] for integer
/// formats.
pub struct SampleWriter {
    format: SampleFormat,
    /// Samples clipped so far.
    pub clipped: u64,
}

impl SampleWriter {
    /// A writer of `format` samples.
    pub fn new(format: SampleFormat) -> Self {
        SampleWriter { format, clipped: 0 }
    }

    /// Encodes `samples` (interleaved) and writes them to `out`.
    pub fn write(&mut self, out: &mut impl Write, samples: &[f32]) -> std::io::Result<()> {
        let mut bytes = [0u8; 4 * 64];
        for chunk in samples.chunks(64) {
            let mut length = 0;
            for &sample in chunk {
                let limited = sample.clamp(-1.0, 1.0);
                let (encoded, size): ([u8; 4], usize) = match self.format {
                    SampleFormat::Float32 => (sample.to_le_bytes(), 4),
                    SampleFormat::Int16 => {
                        self.clipped += u64::from(limited != sample);
                        let [low, high] =
                            ((limited * f32::from(i16::MAX)).round() as i16).to_le_bytes();
                        ([low, high, 0, 0], 2)
                    }
                    SampleFormat::Int24 => {
                        self.clipped += u64::from(limited != sample);
                        (((limited * 8_388_607.0).round() as i32).to_le_bytes(), 3)
                    }
                };
                if let (Some(slot), Some(value)) =
                    (bytes.get_mut(length..length + size), encoded.get(..size))
                {
                    slot.copy_from_slice(value);
                }
                length += size;
            }
            out.write_all(&bytes[..length])?;
        }
        Ok(())
    }
}
