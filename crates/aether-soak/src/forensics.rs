//! Evidence for each slow block: what the kernel's interrupt and softirq counters did on the
//! block's CPU while it ran, against what they typically do over the same span.
//!
//! A control-side sampler thread reads `/proc/softirqs` and `/proc/interrupts` every
//! [`SAMPLE_INTERVAL`], timestamps each read with `CLOCK_MONOTONIC` and keeps the last
//! [`RING_SAMPLES`] samples. When the audio thread's [`MissLog`] gains a record and a sample
//! taken after the block exists, the sampler takes the smallest window of samples around the
//! block and compares each counter's delta there, on the block's CPU, with the median delta of
//! that counter over every window of as many sample intervals in the ring.
//!
//! Why: on a kernel without `CONFIG_IRQ_TIME_ACCOUNTING`, interrupt and softirq time is charged
//! to whatever thread was running, so a block's thread CPU time can include work the kernel did
//! on that CPU for a device. This is evidence, not a classification: pass and fail are decided
//! by the report's checks alone.
//!
//! # Real-time contract
//!
//! Control side only: the sampler thread allocates (its ring once, its findings per record),
//! reads files and sleeps. It reads the [`MissLog`] with acquire loads and never writes to
//! anything the audio thread reads.

use core::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::callback::{AudioCounters, MISS_LOG_CAPACITY, MissLog, MissRecord};
use crate::cpu_clock::{monotonic_ns, thread_cpu_ns};

/// Time between two samples of the interrupt counters.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(2);
/// Samples the ring keeps (about 4 s at [`SAMPLE_INTERVAL`]).
pub const RING_SAMPLES: usize = 2_048;
/// Counters listed per record in the report, largest excess first.
pub const TOP_LINES: usize = 5;

/// One counter line of `/proc/softirqs` or `/proc/interrupts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterLine {
    /// The text before the first colon, trimmed: `BLOCK`, `36`, `LOC`, `ERR`.
    pub label: String,
    /// How the report names it: the label, and for a numbered interrupt also the last word of
    /// its description (`36:virtio1-req.0`).
    pub name: String,
    /// One count per CPU; `false` for lines with a single total (`ERR`, `MIS`).
    pub per_cpu: bool,
}

/// The layout of one counter file: its CPU columns and lines. Values of one read are stored
/// as `lines.len() * cpus` numbers, line after line; a line with a single total keeps it in its
/// first column and zeros in the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterTable {
    /// CPU columns in the header (`CPU0 CPU1 ...`).
    pub cpus: usize,
    /// The counter lines, in file order.
    pub lines: Vec<CounterLine>,
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Parses the whole number at the start of `text` (after blanks); returns it and the rest.
fn leading_number(text: &[u8]) -> Option<(u64, &[u8])> {
    let start = text.iter().position(|&b| !is_blank(b))?;
    let text = &text[start..];
    let digits = text.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || text.get(digits).is_some_and(|&b| !is_blank(b)) {
        return None;
    }
    let mut value = 0u64;
    for &digit in &text[..digits] {
        value = value
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'));
    }
    Some((value, &text[digits..]))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_blank(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(start, |end| end + 1);
    &bytes[start..end.max(start)]
}

impl CounterTable {
    /// Learns the layout from the full text of `/proc/softirqs` or `/proc/interrupts`: a header
    /// of `CPUn` columns, then `label: count... [description]` lines. `None` if the header
    /// names no CPU.
    pub fn parse_layout(text: &str) -> Option<CounterTable> {
        let mut lines = text.lines();
        let cpus = lines
            .next()?
            .split_whitespace()
            .filter(|word| word.starts_with("CPU"))
            .count();
        if cpus == 0 {
            return None;
        }
        let mut table = CounterTable {
            cpus,
            lines: Vec::new(),
        };
        for line in lines {
            let Some((label, mut rest)) = line.split_once(':') else {
                continue;
            };
            let label = label.trim();
            let mut counts = 0;
            while counts < cpus {
                match leading_number(rest.as_bytes()) {
                    Some((_, after)) => {
                        rest = &rest[rest.len() - after.len()..];
                        counts += 1;
                    }
                    None => break,
                }
            }
            if counts == 0 {
                continue;
            }
            let description = rest.split_whitespace().last();
            let name = match description {
                Some(last) if label.bytes().all(|b| b.is_ascii_digit()) => {
                    format!("{label}:{last}")
                }
                _ => label.to_owned(),
            };
            table.lines.push(CounterLine {
                label: label.to_owned(),
                name,
                per_cpu: counts == cpus,
            });
        }
        Some(table)
    }

    /// Numbers one read of this table fills.
    pub fn width(&self) -> usize {
        self.lines.len() * self.cpus
    }

    /// Parses only the numbers of `text` into `values` (`self.width()` long). Returns `false`
    /// (and leaves `values` partly written) if the text's lines are not this layout's: a line
    /// appeared, vanished or changed its label.
    pub fn parse_values(&self, text: &[u8], values: &mut [u64]) -> bool {
        if values.len() != self.width() {
            return false;
        }
        let mut expected = self.lines.iter().enumerate();
        for line in text.split(|&b| b == b'\n').skip(1) {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (label, mut rest) = (trim(&line[..colon]), &line[colon + 1..]);
            let Some((index, counter)) = expected.next() else {
                return false;
            };
            if counter.label.as_bytes() != label {
                return false;
            }
            let columns = if counter.per_cpu { self.cpus } else { 1 };
            let row = &mut values[index * self.cpus..(index + 1) * self.cpus];
            row.fill(0);
            for slot in &mut row[..columns] {
                let Some((value, after)) = leading_number(rest) else {
                    return false;
                };
                *slot = value;
                rest = after;
            }
        }
        expected.next().is_none()
    }
}

/// The last `capacity` samples of `width` counters each, with the `CLOCK_MONOTONIC` times just
/// before and just after each read. Allocated once.
#[derive(Debug, Clone)]
pub struct SampleRing {
    width: usize,
    capacity: usize,
    times: Vec<(u64, u64)>,
    values: Vec<u64>,
    len: usize,
    next: usize,
}

impl SampleRing {
    /// An empty ring of `capacity` (at least 2) samples of `width` counters.
    pub fn new(width: usize, capacity: usize) -> SampleRing {
        let capacity = capacity.max(2);
        SampleRing {
            width,
            capacity,
            times: vec![(0, 0); capacity],
            values: vec![0; width * capacity],
            len: 0,
            next: 0,
        }
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` before the first sample.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot the next sample is read into (committed by [`commit`](Self::commit)).
    pub fn next_values(&mut self) -> &mut [u64] {
        let start = self.next * self.width;
        &mut self.values[start..start + self.width]
    }

    /// Makes the slot of [`next_values`](Self::next_values) the newest sample, read between
    /// `begin_ns` and `end_ns`; the oldest goes when the ring is full.
    pub fn commit(&mut self, begin_ns: u64, end_ns: u64) {
        self.times[self.next] = (begin_ns, end_ns);
        self.next = (self.next + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// Adds a sample (copies `values`, `width` long).
    pub fn push(&mut self, begin_ns: u64, end_ns: u64, values: &[u64]) {
        self.next_values().copy_from_slice(values);
        self.commit(begin_ns, end_ns);
    }

    fn slot(&self, index: usize) -> usize {
        (self.next + self.capacity - self.len + index) % self.capacity
    }

    /// Read times of sample `index` (0 is the oldest held).
    pub fn times(&self, index: usize) -> (u64, u64) {
        self.times[self.slot(index)]
    }

    /// Counters of sample `index` (0 is the oldest held).
    pub fn values(&self, index: usize) -> &[u64] {
        let start = self.slot(index) * self.width;
        &self.values[start..start + self.width]
    }

    /// The smallest window of samples around `[start_ns, end_ns]`: the last sample read
    /// completely before `start_ns` and the first one begun after `end_ns`, as indices.
    /// `None` if either is not in the ring.
    pub fn window_around(&self, start_ns: u64, end_ns: u64) -> Option<(usize, usize)> {
        let before = (0..self.len)
            .rev()
            .find(|&index| self.times(index).1 <= start_ns)?;
        let after = (before + 1..self.len).find(|&index| self.times(index).0 >= end_ns)?;
        Some((before, after))
    }
}

/// One counter's delta in a block's window and its typical delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDelta {
    /// Index of the line in the sampler's lines.
    pub line: usize,
    /// Increase over the window, on the block's CPUs.
    pub delta: u64,
    /// Median increase over every window of as many intervals in the ring.
    pub typical: u64,
}

impl LineDelta {
    /// How far the delta is above typical.
    pub fn excess(&self) -> u64 {
        self.delta.saturating_sub(self.typical)
    }
}

/// Counter deltas around one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowDeltas {
    /// Start of the read of the sample before the block.
    pub begin_ns: u64,
    /// End of the read of the sample after it.
    pub end_ns: u64,
    /// Sample intervals the window spans.
    pub intervals: usize,
    /// Windows of as many intervals the typical deltas are the median of.
    pub compared: usize,
    /// Every line, in the sampler's order.
    pub lines: Vec<LineDelta>,
}

/// A line's value in sample `index`, summed over `cpus` (every CPU when empty); a line with a
/// single total gives that total.
fn line_value(
    ring: &SampleRing,
    index: usize,
    line: usize,
    per_cpu: bool,
    columns: usize,
    cpus: &[usize],
) -> u64 {
    let row = &ring.values(index)[line * columns..(line + 1) * columns];
    if !per_cpu {
        return row[0];
    }
    if cpus.is_empty() {
        return row.iter().sum();
    }
    cpus.iter().filter_map(|&cpu| row.get(cpu)).copied().sum()
}

/// The median of `values` (the lower one of an even count); 0 when empty. Reorders `values`.
pub fn median(values: &mut [u64]) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let middle = (values.len() - 1) / 2;
    *values.select_nth_unstable(middle).1
}

/// Compares the counters' deltas over the smallest window around `[start_ns, end_ns]` on
/// `cpus` (every CPU when empty) with their median deltas over every window of as many sample
/// intervals in `ring`. `lines` and `columns` describe the ring's samples (`lines.len() *
/// columns` wide). `None` when the window is not in the ring.
pub fn analyze_window(
    ring: &SampleRing,
    lines: &[CounterLine],
    columns: usize,
    cpus: &[usize],
    start_ns: u64,
    end_ns: u64,
) -> Option<WindowDeltas> {
    let (before, after) = ring.window_around(start_ns, end_ns)?;
    let intervals = after - before;
    let compared = ring.len() - intervals;
    let mut deltas = Vec::with_capacity(compared);
    let lines = lines
        .iter()
        .enumerate()
        .map(|(line, counter)| {
            let value = |index| line_value(ring, index, line, counter.per_cpu, columns, cpus);
            deltas.clear();
            deltas.extend(
                (0..compared).map(|index| value(index + intervals).saturating_sub(value(index))),
            );
            LineDelta {
                line,
                delta: value(after).saturating_sub(value(before)),
                typical: median(&mut deltas),
            }
        })
        .collect();
    Some(WindowDeltas {
        begin_ns: ring.times(before).0,
        end_ns: ring.times(after).1,
        intervals,
        compared,
        lines,
    })
}

/// A counter above its typical delta, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excess {
    /// The counter's name (`BLOCK`, `36:virtio1-req.0`).
    pub name: String,
    /// Its delta in the block's window.
    pub delta: u64,
    /// Its median delta over windows of the same length.
    pub typical: u64,
}

/// What the sampler found around one logged block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// The counters around the block.
    Found {
        /// From the start of the read before the block to the end of the read after it.
        span_ns: u64,
        /// Sample intervals in the window.
        intervals: usize,
        /// Windows the typical deltas come from.
        compared: usize,
        /// Counters above typical, largest excess first, at most [`TOP_LINES`].
        excess: Vec<Excess>,
    },
    /// No sample before the block is in the ring (the block came before the sampler started,
    /// or the sampler fell too far behind).
    NoSampleBefore,
    /// No sample was taken after the block (the sampler stopped first).
    NoSampleAfter,
}

impl Window {
    /// The report's form of `deltas`: the lines above typical, largest excess first.
    pub fn from_deltas(deltas: &WindowDeltas, lines: &[CounterLine]) -> Window {
        let mut above: Vec<&LineDelta> = deltas
            .lines
            .iter()
            .filter(|line| line.excess() > 0)
            .collect();
        above.sort_by(|a, b| b.excess().cmp(&a.excess()).then(a.line.cmp(&b.line)));
        Window::Found {
            span_ns: deltas.end_ns.saturating_sub(deltas.begin_ns),
            intervals: deltas.intervals,
            compared: deltas.compared,
            excess: above
                .into_iter()
                .take(TOP_LINES)
                .map(|line| Excess {
                    name: lines
                        .get(line.line)
                        .map_or_else(String::new, |counter| counter.name.clone()),
                    delta: line.delta,
                    typical: line.typical,
                })
                .collect(),
        }
    }

    /// `window 4.1 ms: BLOCK +37 (typical 2), TIMER +1`, listing at most `top` counters.
    pub fn describe(&self, top: usize) -> String {
        match self {
            Window::Found {
                span_ns, excess, ..
            } => {
                let mut out = format!("window {:.1} ms:", *span_ns as f64 / 1e6);
                if excess.is_empty() {
                    out.push_str(" no counter above typical");
                }
                for (index, line) in excess.iter().take(top).enumerate() {
                    let separator = if index == 0 { " " } else { ", " };
                    let _ = write!(out, "{separator}{} +{}", line.name, line.delta);
                    if line.typical > 0 {
                        let _ = write!(out, " (typical {})", line.typical);
                    }
                }
                out
            }
            Window::NoSampleBefore => "no interrupt sample before it".to_owned(),
            Window::NoSampleAfter => "no interrupt sample after it".to_owned(),
        }
    }
}

/// What the sampler cost and saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplerStats {
    /// Samples taken.
    pub samples: u64,
    /// Mean time from one sample to the next.
    pub mean_interval_ns: u64,
    /// Longest time between two samples.
    pub max_gap_ns: u64,
    /// Mean wall time of one read of both files (with parsing).
    pub mean_read_ns: u64,
    /// The sampler thread's CPU time over its life, per sample (reads, parsing and analysis).
    pub cpu_ns_per_sample: u64,
    /// The sampler thread's CPU time over its wall time.
    pub cpu_share: f64,
    /// Samples the ring holds at most, in seconds at the mean interval.
    pub ring_seconds: f64,
    /// Times a file's lines changed (the ring restarts then).
    pub layout_changes: u64,
    /// Why the sampler could not run, if it could not.
    pub error: Option<String>,
}

impl SamplerStats {
    /// One line for the report.
    pub fn line(&self) -> String {
        if let Some(error) = &self.error {
            return format!("interrupt sampler did not run: {error}");
        }
        format!(
            "interrupt sampler: {} samples, every {:.2} ms on average (longest gap {:.1} ms), \
             read {:.0} us, {:.0} us CPU per sample ({:.1}% of one core), ring {:.1} s{}",
            self.samples,
            self.mean_interval_ns as f64 / 1e6,
            self.max_gap_ns as f64 / 1e6,
            self.mean_read_ns as f64 / 1e3,
            self.cpu_ns_per_sample as f64 / 1e3,
            self.cpu_share * 100.0,
            self.ring_seconds,
            if self.layout_changes > 0 {
                format!(", {} layout changes", self.layout_changes)
            } else {
                String::new()
            }
        )
    }
}

/// Everything known about the logged slow blocks, for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MissEvidence {
    /// The logged blocks, in order.
    pub records: Vec<MissRecord>,
    /// Slow blocks that found the log full.
    pub unlogged: u64,
    /// The sampler's finding for `records[i]` (shorter when the sampler did not run).
    pub windows: Vec<Window>,
    /// The sampler's own figures (`None` when none ran: offline, or no `/proc`).
    pub sampler: Option<SamplerStats>,
    /// The debug threshold blocks were also logged over, if one was set.
    pub debug_threshold_ns: Option<u64>,
}

impl MissEvidence {
    /// The records of `log` and how many did not fit.
    pub fn from_log(log: &MissLog) -> MissEvidence {
        MissEvidence {
            records: log.records(),
            unlogged: log.unlogged(),
            ..MissEvidence::default()
        }
    }

    /// One line per logged block (engine misses first with up to [`TOP_LINES`] counters, then
    /// blocks late off CPU and debug-threshold blocks with up to 2), then the sampler's line.
    /// `frames` and `sample_rate` turn callback indices into seconds.
    pub fn render(&self, frames: u32, sample_rate: u32) -> String {
        let mut out = String::new();
        let on_cpu = self.records.iter().filter(|r| r.on_cpu()).count();
        let late = self.records.iter().filter(|r| r.late()).count();
        let _ = write!(
            out,
            "slow-block forensics: {} logged ({on_cpu} engine misses on CPU, {} late off CPU",
            self.records.len(),
            late - on_cpu
        );
        if let Some(threshold) = self.debug_threshold_ns {
            let _ = write!(
                out,
                ", {} under the period but over the debug threshold of {:.1} us",
                self.records.len() - late,
                threshold as f64 / 1e3
            );
        }
        let _ = writeln!(
            out,
            "), {} more beyond the log's {MISS_LOG_CAPACITY}",
            self.unlogged
        );
        let ms = |ns: u64| ns as f64 / 1e6;
        let order = |record: &MissRecord| match (record.on_cpu(), record.late()) {
            (true, _) => 0,
            (false, true) => 1,
            _ => 2,
        };
        let mut indices: Vec<usize> = (0..self.records.len()).collect();
        indices.sort_by_key(|&index| (order(&self.records[index]), index));
        for index in indices {
            let record = &self.records[index];
            let what = match order(record) {
                0 => "miss",
                1 => "late off CPU",
                _ => "slow block (debug threshold)",
            };
            let seconds =
                record.callback as f64 * f64::from(frames) / f64::from(sample_rate.max(1));
            let cpu_time = record
                .cpu_ns
                .map_or_else(|| "unknown".to_owned(), |ns| format!("{:.2} ms", ms(ns)));
            let cpu =
                |cpu: Option<u32>| cpu.map_or_else(|| "cpu?".to_owned(), |c| format!("cpu{c}"));
            let on = if record.cpu_at_start == record.cpu_at_end {
                cpu(record.cpu_at_start)
            } else {
                format!("{}->{}", cpu(record.cpu_at_start), cpu(record.cpu_at_end))
            };
            let _ = write!(
                out,
                "  {what} at callback {} ({seconds:.1} s): wall {:.2} ms, cpu {cpu_time} on {on}, \
                 {} faults, {}/{} ctx switches",
                record.callback,
                ms(record.wall_ns()),
                record.page_faults,
                record.voluntary_switches,
                record.involuntary_switches
            );
            if let Some(window) = self.windows.get(index) {
                let top = if record.on_cpu() { TOP_LINES } else { 2 };
                let _ = write!(out, "; {}", window.describe(top));
            }
            out.push('\n');
        }
        if let Some(sampler) = &self.sampler {
            let _ = writeln!(out, "  {}", sampler.line());
        }
        out
    }
}

/// An open counter file and its layout.
struct CounterFile {
    path: &'static str,
    file: File,
    text: Vec<u8>,
    table: CounterTable,
}

impl CounterFile {
    fn open(path: &'static str) -> Result<CounterFile, String> {
        let mut file = File::open(path).map_err(|error| format!("{path}: {error}"))?;
        let mut text = Vec::with_capacity(16 * 1024);
        file.read_to_end(&mut text)
            .map_err(|error| format!("{path}: {error}"))?;
        let table = CounterTable::parse_layout(&String::from_utf8_lossy(&text))
            .ok_or_else(|| format!("{path}: no CPU columns"))?;
        Ok(CounterFile {
            path,
            file,
            text,
            table,
        })
    }

    /// Reads the file again into the reused buffer.
    fn read(&mut self) -> bool {
        self.text.clear();
        self.file.seek(SeekFrom::Start(0)).is_ok() && self.file.read_to_end(&mut self.text).is_ok()
    }

    fn relearn(&mut self) -> bool {
        match CounterTable::parse_layout(&String::from_utf8_lossy(&self.text)) {
            Some(table) => {
                self.table = table;
                true
            }
            None => false,
        }
    }
}

/// Both files, read as one sample: softirqs first, then interrupts.
struct Counters {
    files: [CounterFile; 2],
    lines: Vec<CounterLine>,
    columns: usize,
}

impl Counters {
    fn open() -> Result<Counters, String> {
        let files = [
            CounterFile::open("/proc/softirqs")?,
            CounterFile::open("/proc/interrupts")?,
        ];
        let mut counters = Counters {
            files,
            lines: Vec::new(),
            columns: 0,
        };
        counters.combine()?;
        Ok(counters)
    }

    fn combine(&mut self) -> Result<(), String> {
        let columns = self.files[0].table.cpus;
        if let Some(other) = self.files.iter().find(|file| file.table.cpus != columns) {
            return Err(format!(
                "{} has {} CPU columns, {} has {columns}",
                other.path, other.table.cpus, self.files[0].path
            ));
        }
        self.columns = columns;
        self.lines = self
            .files
            .iter()
            .flat_map(|file| file.table.lines.iter().cloned())
            .collect();
        Ok(())
    }

    fn width(&self) -> usize {
        self.lines.len() * self.columns
    }

    /// Reads both files into `values`; `false` if a read failed or a layout changed.
    fn sample(&mut self, values: &mut [u64]) -> bool {
        let mut offset = 0;
        for file in &mut self.files {
            let width = file.table.width();
            if !file.read()
                || offset + width > values.len()
                || !file
                    .table
                    .parse_values(&file.text, &mut values[offset..offset + width])
            {
                return false;
            }
            offset += width;
        }
        offset == values.len()
    }

    /// After a failed sample: learns both layouts again from the texts just read.
    fn relearn(&mut self) -> Result<(), String> {
        for file in &mut self.files {
            if !file.read() || !file.relearn() {
                return Err(format!("{}: unreadable", file.path));
            }
        }
        self.combine()
    }
}

/// The sampler thread: started with the engine phase, stopped before the report.
#[derive(Debug)]
pub struct InterruptSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(Vec<Window>, SamplerStats)>,
}

impl InterruptSampler {
    /// Starts sampling and watching `counters`' miss log.
    pub fn start(counters: Arc<AudioCounters>) -> std::io::Result<InterruptSampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("aether-soak-irq-sampler".to_owned())
            .spawn(move || sample_until(&flag, counters.miss_log()))?;
        Ok(InterruptSampler { stop, handle })
    }

    /// Takes a last sample, explains every record it can, and returns the findings (one per
    /// record of the log, in order) and its own figures.
    pub fn stop(self) -> (Vec<Window>, SamplerStats) {
        self.stop.store(true, Ordering::Release);
        self.handle.join().unwrap_or_else(|_| {
            (
                Vec::new(),
                SamplerStats {
                    error: Some("the sampler thread panicked".to_owned()),
                    ..SamplerStats::default()
                },
            )
        })
    }
}

/// The sampler thread's body.
fn sample_until(stop: &AtomicBool, log: &MissLog) -> (Vec<Window>, SamplerStats) {
    let mut stats = SamplerStats::default();
    let mut counters = match Counters::open() {
        Ok(counters) => counters,
        Err(error) => {
            stats.error = Some(error);
            return (Vec::new(), stats);
        }
    };
    let mut ring = SampleRing::new(counters.width(), RING_SAMPLES);
    let mut windows = Vec::new();
    let cpu_started = thread_cpu_ns();
    let wall_started = Instant::now();
    let mut first_begin = None;
    let mut last_begin = 0u64;
    let mut read_ns = 0u64;
    let mut next = Instant::now();
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let begin = monotonic_ns();
        let ok = counters.sample(ring.next_values());
        let end = monotonic_ns();
        if ok {
            ring.commit(begin, end);
            stats.samples += 1;
            read_ns += end.saturating_sub(begin);
            if first_begin.is_none() {
                first_begin = Some(begin);
            } else {
                stats.max_gap_ns = stats.max_gap_ns.max(begin.saturating_sub(last_begin));
            }
            last_begin = begin;
        } else {
            stats.layout_changes += 1;
            if let Err(error) = counters.relearn() {
                stats.error = Some(error);
                break;
            }
            ring = SampleRing::new(counters.width(), RING_SAMPLES);
        }
        // Explain every record whose block ended before the newest sample began.
        while let Some(record) = log.get(windows.len()) {
            let newest_begin = if ring.is_empty() {
                0
            } else {
                ring.times(ring.len() - 1).0
            };
            if newest_begin < record.end_ns {
                if stopping {
                    windows.push(Window::NoSampleAfter);
                    continue;
                }
                break;
            }
            let cpus: Vec<usize> = [record.cpu_at_start, record.cpu_at_end]
                .into_iter()
                .flatten()
                .filter_map(|cpu| usize::try_from(cpu).ok())
                .fold(Vec::new(), |mut cpus, cpu| {
                    if !cpus.contains(&cpu) {
                        cpus.push(cpu);
                    }
                    cpus
                });
            windows.push(
                match analyze_window(
                    &ring,
                    &counters.lines,
                    counters.columns,
                    &cpus,
                    record.start_ns,
                    record.end_ns,
                ) {
                    Some(deltas) => Window::from_deltas(&deltas, &counters.lines),
                    None => Window::NoSampleBefore,
                },
            );
        }
        if stopping {
            break;
        }
        next += SAMPLE_INTERVAL;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now; // fell behind: do not burst
        }
    }
    let wall_ns = wall_started.elapsed().as_nanos() as f64;
    if let (Some(before), Some(after)) = (cpu_started, thread_cpu_ns()) {
        let cpu_ns = after.saturating_sub(before);
        stats.cpu_ns_per_sample = cpu_ns / stats.samples.max(1);
        stats.cpu_share = cpu_ns as f64 / wall_ns.max(1.0);
    }
    if let Some(first) = first_begin
        && stats.samples > 1
    {
        stats.mean_interval_ns = last_begin.saturating_sub(first) / (stats.samples - 1);
    }
    stats.mean_read_ns = read_ns / stats.samples.max(1);
    stats.ring_seconds = RING_SAMPLES as f64 * stats.mean_interval_ns as f64 / 1e9;
    (windows, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOFTIRQS: &str = include_str!("../testdata/proc_softirqs.txt");
    const INTERRUPTS: &str = include_str!("../testdata/proc_interrupts.txt");

    #[test]
    fn parses_the_softirqs_of_this_machine() {
        let table = CounterTable::parse_layout(SOFTIRQS).expect("layout");
        assert_eq!(table.cpus, 2);
        let labels: Vec<&str> = table.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED",
                "HRTIMER", "RCU"
            ]
        );
        assert!(table.lines.iter().all(|l| l.per_cpu && l.name == l.label));
        let mut values = vec![u64::MAX; table.width()];
        assert!(table.parse_values(SOFTIRQS.as_bytes(), &mut values));
        // `       BLOCK:          0     210426` in the captured file.
        assert_eq!(&values[8..10], &[0, 210_426]);
        assert_eq!(&values[2..4], &[142_661, 183_649]);
    }

    #[test]
    fn parses_the_interrupts_of_this_machine() {
        let table = CounterTable::parse_layout(INTERRUPTS).expect("layout");
        assert_eq!(table.cpus, 2);
        let line = |label: &str| {
            table
                .lines
                .iter()
                .position(|l| l.label == label)
                .unwrap_or_else(|| panic!("{label} missing"))
        };
        // Multi-word descriptions: the name takes the last word.
        assert_eq!(table.lines[line("36")].name, "36:virtio1-req.0");
        assert_eq!(table.lines[line("24")].name, "24:ACPI:Ged");
        assert_eq!(table.lines[line("LOC")].name, "LOC");
        assert!(table.lines[line("LOC")].per_cpu);
        // ERR and MIS have one total column.
        assert!(!table.lines[line("ERR")].per_cpu);
        assert!(!table.lines[line("MIS")].per_cpu);
        assert_eq!(table.lines.len(), INTERRUPTS.lines().count() - 1);

        let mut values = vec![u64::MAX; table.width()];
        assert!(table.parse_values(INTERRUPTS.as_bytes(), &mut values));
        let row = |label: &str| &values[line(label) * 2..line(label) * 2 + 2];
        assert_eq!(row("36"), &[0, 210_430]);
        assert_eq!(row("LOC"), &[2_243_257, 2_476_610]);
        assert_eq!(row("CAL"), &[3_407_220, 3_578_581]);
        assert_eq!(row("ERR"), &[0, 0]);
        assert_eq!(row("PIW"), &[0, 0]);
    }

    #[test]
    fn totals_and_changed_layouts() {
        let text = "           CPU0       CPU1\n  5:   10   20   IO-APIC 5-edge  my dev\nERR:   7\nLOC:  1  2  Local timer interrupts\n";
        let table = CounterTable::parse_layout(text).expect("layout");
        assert_eq!(table.lines[0].name, "5:dev");
        let mut values = vec![0; table.width()];
        assert!(table.parse_values(text.as_bytes(), &mut values));
        assert_eq!(values, [10, 20, 7, 0, 1, 2]);

        // A line appeared, one vanished, a label changed, a number is missing: refused.
        let added = format!("{text}RES:  3  4  Rescheduling interrupts\n");
        assert!(!table.parse_values(added.as_bytes(), &mut values));
        let removed = "  CPU0 CPU1\n  5:   10   20   IO-APIC\nERR: 7\n";
        assert!(!table.parse_values(removed.as_bytes(), &mut values));
        let renamed = text.replace("LOC", "NMI");
        assert!(!table.parse_values(renamed.as_bytes(), &mut values));
        let short = text.replace("  5:   10   20", "  5:   10 x");
        assert!(!table.parse_values(short.as_bytes(), &mut values));
        assert!(!table.parse_values(text.as_bytes(), &mut [0; 5]));
        assert_eq!(CounterTable::parse_layout("no header\n"), None);
    }

    fn two_line_table() -> Vec<CounterLine> {
        ["BLOCK", "TIMER"]
            .iter()
            .map(|&name| CounterLine {
                label: name.to_owned(),
                name: name.to_owned(),
                per_cpu: true,
            })
            .collect()
    }

    /// Ten samples 2 ms apart (each read takes 0.1 ms); per interval BLOCK grows by 2 on CPU1
    /// and TIMER by 1 on each CPU, except that BLOCK jumps by 40 on CPU1 between samples 6 and 7.
    fn ring_with_a_burst() -> SampleRing {
        let mut ring = SampleRing::new(4, 16);
        let (mut block1, mut timer0, mut timer1) = (0, 0, 0);
        for index in 0..10u64 {
            let begin = 1_000_000 + index * 2_000_000;
            ring.push(begin, begin + 100_000, &[0, block1, timer0, timer1]);
            block1 += if index == 6 { 40 } else { 2 };
            timer0 += 1;
            timer1 += 1;
        }
        ring
    }

    #[test]
    fn finds_the_smallest_window_around_a_block() {
        let ring = ring_with_a_burst();
        // Sample 6 is read over [13.0, 13.1] ms, sample 7 over [15.0, 15.1] ms.
        assert_eq!(ring.window_around(13_100_000, 15_000_000), Some((6, 7)));
        // A block that starts during sample 6's read needs sample 5.
        assert_eq!(ring.window_around(13_050_000, 14_000_000), Some((5, 7)));
        // One that ends after sample 7's read began needs sample 8.
        assert_eq!(ring.window_around(13_500_000, 15_000_001), Some((6, 8)));
        // Before the first sample's read ended, or after the last began: no window.
        assert_eq!(ring.window_around(1_050_000, 2_000_000), None);
        assert_eq!(ring.window_around(18_000_000, 19_000_001), None);
    }

    #[test]
    fn compares_a_window_with_the_typical_one() {
        let ring = ring_with_a_burst();
        let lines = two_line_table();
        let deltas =
            analyze_window(&ring, &lines, 2, &[1], 13_500_000, 14_000_000).expect("window");
        assert_eq!((deltas.intervals, deltas.compared), (1, 9));
        assert_eq!((deltas.begin_ns, deltas.end_ns), (13_000_000, 15_100_000));
        assert_eq!(
            deltas.lines[0],
            LineDelta {
                line: 0,
                delta: 40,
                typical: 2
            }
        );
        assert_eq!(
            deltas.lines[1],
            LineDelta {
                line: 1,
                delta: 1,
                typical: 1
            }
        );
        let window = Window::from_deltas(&deltas, &lines);
        assert_eq!(
            window.describe(TOP_LINES),
            "window 2.1 ms: BLOCK +40 (typical 2)"
        );

        // Two intervals on CPU0: BLOCK never moves there; TIMER is as usual.
        let deltas =
            analyze_window(&ring, &lines, 2, &[0], 13_050_000, 14_000_000).expect("window");
        assert_eq!((deltas.intervals, deltas.compared), (2, 8));
        assert_eq!(deltas.lines[0].delta, 0);
        assert_eq!(
            deltas.lines[1],
            LineDelta {
                line: 1,
                delta: 2,
                typical: 2
            }
        );
        assert_eq!(
            Window::from_deltas(&deltas, &lines).describe(TOP_LINES),
            "window 4.1 ms: no counter above typical"
        );

        // Both CPUs (a block that migrated, or an unknown CPU) add the columns.
        let both = analyze_window(&ring, &lines, 2, &[0, 1], 13_500_000, 14_000_000);
        let all = analyze_window(&ring, &lines, 2, &[], 13_500_000, 14_000_000);
        assert_eq!(both, all);
        let both = both.expect("window");
        assert_eq!(
            both.lines[1],
            LineDelta {
                line: 1,
                delta: 2,
                typical: 2
            }
        );
    }

    #[test]
    fn the_ring_forgets_its_oldest_samples() {
        let mut ring = SampleRing::new(1, 4);
        for index in 0..6u64 {
            ring.push(index * 10, index * 10 + 1, &[index]);
        }
        assert_eq!(ring.len(), 4);
        assert_eq!(ring.values(0), &[2]);
        assert_eq!(ring.times(3), (50, 51));
        // The block at [12, 15] would need sample 1, which is gone.
        assert_eq!(ring.window_around(12, 15), None);
        assert_eq!(ring.window_around(22, 25), Some((0, 1)));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), 0);
        assert_eq!(median(&mut [5]), 5);
        assert_eq!(median(&mut [9, 1, 4, 100]), 4);
        assert_eq!(median(&mut [3, 3, 1, 50, 2]), 3);
    }

    #[test]
    fn renders_each_kind_of_record() {
        let record = |callback, wall_us: u64, cpu_us: u64| MissRecord {
            callback,
            start_ns: 1_000_000,
            end_ns: 1_000_000 + wall_us * 1_000,
            period_ns: 1_333_333,
            cpu_ns: Some(cpu_us * 1_000),
            cpu_at_start: Some(1),
            cpu_at_end: Some(1),
            page_faults: 0,
            voluntary_switches: 0,
            involuntary_switches: 1,
        };
        let mut migrated = record(30, 1_900, 400);
        migrated.cpu_at_end = Some(0);
        let evidence = MissEvidence {
            records: vec![migrated, record(23_429, 1_620, 1_580), record(5, 500, 490)],
            unlogged: 2,
            windows: vec![
                Window::NoSampleBefore,
                Window::Found {
                    span_ns: 4_100_000,
                    intervals: 2,
                    compared: 1_000,
                    excess: vec![
                        Excess {
                            name: "BLOCK".into(),
                            delta: 37,
                            typical: 2,
                        },
                        Excess {
                            name: "36:virtio1-req.0".into(),
                            delta: 37,
                            typical: 2,
                        },
                        Excess {
                            name: "TIMER".into(),
                            delta: 1,
                            typical: 0,
                        },
                    ],
                },
            ],
            sampler: None,
            debug_threshold_ns: Some(400_000),
        };
        let text = evidence.render(64, 48_000);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "slow-block forensics: 3 logged (1 engine misses on CPU, 1 late off CPU, 1 under the \
             period but over the debug threshold of 400.0 us), 2 more beyond the log's 32"
        );
        assert_eq!(
            lines[1],
            "  miss at callback 23429 (31.2 s): wall 1.62 ms, cpu 1.58 ms on cpu1, 0 faults, 0/1 \
             ctx switches; window 4.1 ms: BLOCK +37 (typical 2), 36:virtio1-req.0 +37 (typical \
             2), TIMER +1"
        );
        assert_eq!(
            lines[2],
            "  late off CPU at callback 30 (0.0 s): wall 1.90 ms, cpu 0.40 ms on cpu1->cpu0, 0 \
             faults, 0/1 ctx switches; no interrupt sample before it"
        );
        assert!(lines[3].starts_with("  slow block (debug threshold) at callback 5 "));
        assert!(!lines[3].contains("window"));
        assert_eq!(lines.len(), 4);
    }
}
