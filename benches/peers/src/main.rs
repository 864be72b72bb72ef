//! AetherDSP against other Rust audio graph engines on the same graphs, in one process.
//!
//! Graphs (block size 64, mono, built dynamically at run time in every engine):
//! - `chain_noop`: N nodes that do nothing, each fed by the one before (pure engine overhead);
//! - `chain_gain`: a constant source followed by N - 1 gain nodes;
//! - `wide`: N constant sources summed by a tree of 8-input mixers (N sources plus the mixers).
//!
//! Engines: AetherDSP (`Scheduler::process_block`), fundsp 0.23 `Net` (`Net::push`/`connect`,
//! 64-sample `AudioUnit::process`) and dasp_graph 0.11 (`Processor::process` on a petgraph
//! `StableGraph` of boxed nodes).
//!
//! **Same math per node in every engine**: each engine's node types are thin adapters that call
//! the functions in [`math`], so a gain is `out = in * 0.999`, a source `out = c`, a mixer
//! `out = sum of inputs` and a noop writes nothing, whichever engine runs it. After warm-up the
//! output block of every engine is checked against the value the graph must produce.
//!
//! **Fairness**: release build, the same node counts and block size, every engine built and
//! warmed up with the same number of blocks before measuring (AetherDSP's first block applies
//! its compiled schedule, fundsp's `Net::allocate` orders and allocates before warm-up), then
//! interleaved rounds: in every round each engine renders the same number of consecutive blocks,
//! the starting engine rotating from round to round; the report is the median over rounds.
//!
//! Usage (from the repository root):
//!
//! ```text
//! cargo run --release --manifest-path benches/peers/Cargo.toml -- [--rounds 31] \
//!     [--sizes 1,10,100,1000] [--csv target/peers/results.csv] [--plot docs/benchmarks.png] \
//!     [--from-csv FILE] [--font /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]
//! ```
//!
//! `--from-csv FILE --plot PNG` redraws the plot from an earlier run without measuring. The plot's
//! text uses a TrueType font loaded at run time (Debian package `fonts-dejavu-core` by default).

use std::error::Error;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod engines;
mod plot;

use engines::{Engine, build_engines};

/// Samples per block in every engine.
pub const BLOCK: usize = 64;

/// The per-node arithmetic shared by every engine's node adapters.
pub mod math {
    /// The gain of a gain node.
    pub const GAIN: f32 = 0.999;

    /// Gain node: `output = input * GAIN`.
    #[inline]
    pub fn gain(input: &[f32], output: &mut [f32]) {
        for (o, i) in output.iter_mut().zip(input) {
            *o = i * GAIN;
        }
    }

    /// Constant source node: `output = value`.
    #[inline]
    pub fn constant(value: f32, output: &mut [f32]) {
        output.fill(value);
    }

    /// Mixer node, first step: clear the output.
    #[inline]
    pub fn mix_clear(output: &mut [f32]) {
        output.fill(0.0);
    }

    /// Mixer node, once per connected input: `output += input`.
    #[inline]
    pub fn mix_add(input: &[f32], output: &mut [f32]) {
        for (o, i) in output.iter_mut().zip(input) {
            *o += i;
        }
    }

    /// The constant of source `index` in the wide graph.
    pub fn source_value(index: usize) -> f32 {
        1e-3 * (1 + index % 7) as f32
    }
}

/// What a node does (see [`math`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NodeKind {
    /// Writes nothing.
    Noop,
    /// `out = in * GAIN`.
    Gain,
    /// `out = value`.
    Constant(f32),
    /// `out = sum of its inputs` (1 to 8 inputs).
    Mix(usize),
}

/// An engine-independent graph: nodes, edges `(from, to, input port)` and the output node.
#[derive(Debug, Clone)]
pub struct GraphSpec {
    /// `chain_noop`, `chain_gain` or `wide`.
    pub topology: &'static str,
    /// Chain length or number of wide sources.
    pub size: usize,
    /// The nodes, indexed by position.
    pub nodes: Vec<NodeKind>,
    /// `(from, to, input port of to)`.
    pub edges: Vec<(usize, usize, usize)>,
    /// The node whose output is the graph's output.
    pub output: usize,
    /// The value every output sample must have after warm-up, if the graph defines it.
    pub expected: Option<f32>,
}

impl GraphSpec {
    /// A chain of `length` noop nodes.
    pub fn chain_noop(length: usize) -> Self {
        Self::chain("chain_noop", length, NodeKind::Noop, None)
    }

    /// A constant source followed by `length - 1` gains.
    pub fn chain_gain(length: usize) -> Self {
        let expected = 0.5 * math::GAIN.powi(length as i32 - 1);
        Self::chain(
            "chain_gain",
            length,
            NodeKind::Constant(0.5),
            Some(expected),
        )
    }

    fn chain(topology: &'static str, length: usize, head: NodeKind, expected: Option<f32>) -> Self {
        let length = length.max(1);
        let mut nodes = vec![head];
        let tail = if head == NodeKind::Noop {
            NodeKind::Noop
        } else {
            NodeKind::Gain
        };
        nodes.extend(std::iter::repeat_n(tail, length - 1));
        let edges = (1..length).map(|k| (k - 1, k, 0)).collect();
        GraphSpec {
            topology,
            size: length,
            nodes,
            edges,
            output: length - 1,
            expected,
        }
    }

    /// `sources` constant sources summed by a tree of 8-input mixers.
    pub fn wide(sources: usize) -> Self {
        let sources = sources.max(1);
        let mut nodes: Vec<NodeKind> = (0..sources)
            .map(|i| NodeKind::Constant(math::source_value(i)))
            .collect();
        let mut edges = Vec::new();
        let mut layer: Vec<usize> = (0..sources).collect();
        while layer.len() > 1 {
            let mut next = Vec::new();
            for group in layer.chunks(8) {
                let mixer = nodes.len();
                nodes.push(NodeKind::Mix(group.len()));
                for (port, &source) in group.iter().enumerate() {
                    edges.push((source, mixer, port));
                }
                next.push(mixer);
            }
            layer = next;
        }
        let expected = (0..sources).map(math::source_value).sum();
        GraphSpec {
            topology: "wide",
            size: sources,
            nodes,
            edges,
            output: layer[0],
            expected: Some(expected),
        }
    }
}

/// One measured point.
#[derive(Debug, Clone)]
pub struct Row {
    /// `chain_noop`, `chain_gain` or `wide`.
    pub topology: String,
    /// Chain length or wide sources.
    pub size: usize,
    /// Nodes in the graph.
    pub nodes: usize,
    /// Engine name.
    pub engine: String,
    /// Median over rounds of the mean time per block within a round, in nanoseconds.
    pub median_ns: f64,
    /// Fastest round.
    pub min_ns: f64,
    /// Slowest round.
    pub max_ns: f64,
    /// Median time per block divided by AetherDSP's for the same graph.
    pub ratio_to_aetherdsp: f64,
    /// Rounds measured.
    pub rounds: usize,
    /// Blocks rendered per engine per round.
    pub blocks_per_round: usize,
}

/// Blocks every engine renders after construction before measuring.
const WARM_UP_BLOCKS: usize = 16;

struct Options {
    rounds: usize,
    sizes: Vec<usize>,
    csv: PathBuf,
    plot: Option<PathBuf>,
    from_csv: Option<PathBuf>,
    font: PathBuf,
}

fn parse_options() -> Result<Options, Box<dyn Error>> {
    let mut options = Options {
        rounds: 31,
        sizes: vec![1, 10, 100, 1000],
        csv: PathBuf::from("target/peers/results.csv"),
        plot: None,
        from_csv: None,
        font: PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rounds" => options.rounds = value()?.parse::<usize>()?.max(1),
            "--sizes" => {
                options.sizes = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<usize>())
                    .collect::<Result<_, _>>()?
            }
            "--csv" => options.csv = value()?.into(),
            "--plot" => options.plot = Some(value()?.into()),
            "--from-csv" => options.from_csv = Some(value()?.into()),
            "--font" => options.font = value()?.into(),
            "--help" | "-h" => {
                println!(
                    "aether-peer-benches [--rounds N] [--sizes 1,10,100,1000] [--csv FILE] \
                     [--plot PNG] [--from-csv FILE] [--font TTF]"
                );
                std::process::exit(0);
            }
            // `cargo bench` passes `--bench`; ignore it.
            "--bench" => {}
            other => return Err(format!("unknown argument {other} (see --help)").into()),
        }
    }
    Ok(options)
}

/// Blocks per engine per round: about 20k node-steps, at least 20 blocks.
fn blocks_per_round(nodes: usize) -> usize {
    (20_000 / nodes.max(1)).max(20)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn check_output(spec: &GraphSpec, name: &str, block: &[f32]) -> Result<(), Box<dyn Error>> {
    let Some(expected) = spec.expected else {
        return Ok(());
    };
    let tolerance = 1e-4 * expected.abs().max(1e-3);
    if let Some(bad) = block.iter().find(|&&s| (s - expected).abs() > tolerance) {
        return Err(format!(
            "{name} on {} {}: output {bad} differs from the expected {expected}",
            spec.topology, spec.size
        )
        .into());
    }
    Ok(())
}

fn measure(spec: &GraphSpec, rounds: usize) -> Result<Vec<Row>, Box<dyn Error>> {
    let mut engines: Vec<Box<dyn Engine>> = build_engines(spec)?;
    let mut output = [0.0f32; BLOCK];
    for engine in &mut engines {
        for _ in 0..WARM_UP_BLOCKS {
            engine.render(&mut output);
        }
        check_output(spec, engine.name(), &output)?;
    }
    let blocks = blocks_per_round(spec.nodes.len());
    let mut per_block: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); engines.len()];
    for round in 0..rounds {
        for k in 0..engines.len() {
            let index = (round + k) % engines.len();
            let engine = &mut engines[index];
            let start = Instant::now();
            for _ in 0..blocks {
                engine.render(&mut output);
                black_box(&output);
            }
            per_block[index].push(start.elapsed().as_nanos() as f64 / blocks as f64);
        }
    }
    let mut rows: Vec<Row> = engines
        .iter()
        .zip(&mut per_block)
        .map(|(engine, times)| {
            let median_ns = median(times);
            Row {
                topology: spec.topology.to_string(),
                size: spec.size,
                nodes: spec.nodes.len(),
                engine: engine.name().to_string(),
                median_ns,
                min_ns: times[0],
                max_ns: times[times.len() - 1],
                ratio_to_aetherdsp: f64::NAN,
                rounds,
                blocks_per_round: blocks,
            }
        })
        .collect();
    let reference = rows
        .iter()
        .find(|row| row.engine == engines::AETHERDSP)
        .map(|row| row.median_ns)
        .unwrap_or(f64::NAN);
    for row in &mut rows {
        row.ratio_to_aetherdsp = row.median_ns / reference;
    }
    Ok(rows)
}

const CSV_HEADER: &str = "topology,size,nodes,engine,median_ns_per_block,min_ns_per_block,\
max_ns_per_block,ns_per_node,ratio_to_aetherdsp,rounds,blocks_per_round";

fn write_csv(path: &Path, rows: &[Row]) -> Result<(), Box<dyn Error>> {
    let mut text = String::from(CSV_HEADER);
    text.push('\n');
    for r in rows {
        writeln!(
            text,
            "{},{},{},{},{:.1},{:.1},{:.1},{:.2},{:.3},{},{}",
            r.topology,
            r.size,
            r.nodes,
            r.engine,
            r.median_ns,
            r.min_ns,
            r.max_ns,
            r.median_ns / r.nodes as f64,
            r.ratio_to_aetherdsp,
            r.rounds,
            r.blocks_per_round
        )?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    Ok(())
}

fn read_csv(path: &Path) -> Result<Vec<Row>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 11 {
            return Err(format!("{}:{}: expected 11 fields", path.display(), number + 1).into());
        }
        rows.push(Row {
            topology: fields[0].to_string(),
            size: fields[1].parse()?,
            nodes: fields[2].parse()?,
            engine: fields[3].to_string(),
            median_ns: fields[4].parse()?,
            min_ns: fields[5].parse()?,
            max_ns: fields[6].parse()?,
            ratio_to_aetherdsp: fields[8].parse()?,
            rounds: fields[9].parse()?,
            blocks_per_round: fields[10].parse()?,
        });
    }
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<11} {:>5} {:>6}  {:<11} {:>12} {:>10} {:>12}",
        "graph", "size", "nodes", "engine", "ns/block", "ns/node", "vs aetherdsp"
    );
    for r in rows {
        println!(
            "{:<11} {:>5} {:>6}  {:<11} {:>12.0} {:>10.2} {:>11.2}x",
            r.topology,
            r.size,
            r.nodes,
            r.engine,
            r.median_ns,
            r.median_ns / r.nodes as f64,
            r.ratio_to_aetherdsp
        );
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let options = parse_options()?;
    let rows = if let Some(csv) = &options.from_csv {
        read_csv(csv)?
    } else {
        println!(
            "block {BLOCK} samples, {} rounds per point, {WARM_UP_BLOCKS} warm-up blocks per engine; \
             time per block is the median over rounds",
            options.rounds
        );
        let mut rows = Vec::new();
        for &size in &options.sizes {
            for spec in [
                GraphSpec::chain_noop(size),
                GraphSpec::chain_gain(size),
                GraphSpec::wide(size),
            ] {
                rows.extend(measure(&spec, options.rounds)?);
            }
        }
        rows.sort_by(|a, b| {
            (&a.topology, a.size, &a.engine).cmp(&(&b.topology, b.size, &b.engine))
        });
        write_csv(&options.csv, &rows)?;
        println!("wrote {}", options.csv.display());
        rows
    };
    print_table(&rows);
    if let Some(png) = &options.plot {
        plot::draw(png, &options.font, &rows)?;
        println!("wrote {}", png.display());
    }
    Ok(())
}
