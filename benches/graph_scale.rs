//! Editing at scale: what building, compiling, clearing and restoring a graph costs at 100 k
//! and 1 M nodes, and the ratio between the two (linear editing makes it about 10).
//!
//! `cargo bench -p aether-benches --bench graph_scale [-- --rounds R] [-- --sizes A,B]`
//!
//! For each size it times, as the median of R rounds (the sizes interleaved in each round, so
//! both see the same machine):
//!
//! - **chain**: adding N nodes and connecting each to the next (in build order);
//! - **dag**: adding N nodes and connecting a random DAG of 2N edges in random order (each
//!   node fed by its predecessor and by a random earlier node);
//! - **refused**: 100 edges that would close a cycle in the DAG, each refused (a refusal has to
//!   find the path it would close, so it costs that path's length);
//! - **compile**: compiling each graph into a schedule;
//! - **clear**: removing every node of the chain;
//! - **restore**: restoring a snapshot of the DAG into a fresh graph (one check for all edges),
//!   and over the live DAG (its nodes delivered, so they are cleared and their slots held);
//! - **floor**: no graph code, the machine's own cost for what the DAG's edits must do at
//!   least: touch the two records of each edge's ends, at random, in a table of N records the
//!   size of a graph entry. At 100 k nodes the table fits the last-level cache, at 1 M it does
//!   not, so this row's ratio is what the machine allows any edit of random nodes.
//!
//! With `--hidden-order N` it also times connecting a random DAG of N nodes whose topological
//! order is unrelated to the order its nodes were added in: most edges then go against the
//! graph's order and the incremental cycle check re-ranks large regions (the known worst case
//! of dynamic topological sorting; each edge still costs at most O(nodes + edges)).
//!
//! Not part of `cargo xtask verify`: it takes about a minute.

use std::time::{Duration, Instant};

use aether_graph::{Block, Compiler, DspNode, Graph, Inputs, NodeId, NodeRegistry};
use aether_params::ParamBlock;
use aether_state::GraphSnapshot;

struct Noop;
impl DspNode for Noop {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
    }
    fn type_name(&self) -> &'static str {
        "Noop"
    }
}

/// A small deterministic generator (xorshift64*), so every run builds the same graphs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Edges `(source, destination, slot)` of a random DAG on `n` nodes, shuffled, and its sink.
/// Node `v` takes input 0 from node `v - 1` (so the sink, node `n - 1`, depends on every node)
/// and input 1 from a random earlier node. When `hidden_order` is set, the DAG's topological
/// order is a random permutation unrelated to the order the nodes are added in, so that most
/// edges go against the graph's current order.
fn random_dag(n: usize, seed: u64, hidden_order: bool) -> (Vec<(usize, usize, usize)>, usize) {
    let mut rng = Rng(seed | 1);
    let mut order: Vec<usize> = (0..n).collect();
    if hidden_order {
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
    }
    let mut edges = Vec::with_capacity(2 * n);
    for position in 1..n {
        edges.push((order[position - 1], order[position], 0));
        edges.push((order[rng.below(position)], order[position], 1));
    }
    for i in (1..edges.len()).rev() {
        edges.swap(i, rng.below(i + 1));
    }
    (edges, order[n - 1])
}

fn add_nodes(graph: &mut Graph, n: usize) -> Vec<NodeId> {
    (0..n)
        .map(|_| graph.add_node(Box::new(Noop)).expect("room"))
        .collect()
}

struct Times {
    chain: Duration,
    dag: Duration,
    compile_chain: Duration,
    compile_dag: Duration,
    clear: Duration,
    restore: Duration,
    restore_live: Duration,
    refuse: Duration,
    floor: Duration,
}

fn measure(n: usize, registry: &NodeRegistry) -> Times {
    let start = Instant::now();
    let mut chain = Graph::with_capacity(n);
    let ids = add_nodes(&mut chain, n);
    for pair in ids.windows(2) {
        chain
            .connect(pair[0], pair[1], 0)
            .expect("a chain has no cycle");
    }
    chain.set_output_node(ids[n - 1]).unwrap();
    let chain_time = start.elapsed();

    let (edges, sink) = random_dag(n, 0x5eed, false);
    let start = Instant::now();
    let mut dag = Graph::with_capacity(n);
    let ids = add_nodes(&mut dag, n);
    for &(source, destination, slot) in &edges {
        dag.connect(ids[source], ids[destination], slot)
            .expect("the edges form a DAG");
    }
    let dag_time = start.elapsed();
    // A cycle-closing edge must find the path it would close, so its cost is the length of that
    // path: timed separately, for 100 edges closing cycles of random lengths.
    let mut rng = Rng(7);
    let start = Instant::now();
    for _ in 0..100 {
        let (source, destination, _) = edges[rng.below(edges.len())];
        assert!(dag.connect(ids[destination], ids[source], 7).is_err());
    }
    let refuse = start.elapsed();
    dag.set_output_node(ids[sink]).unwrap();

    let mut compiler = Compiler::new();
    let start = Instant::now();
    let schedule = compiler.compile(&chain);
    let compile_chain = start.elapsed();
    assert_eq!(schedule.len(), n);
    let start = Instant::now();
    let reached = compiler.compile(&dag).len();
    let compile_dag = start.elapsed();
    assert_eq!(reached, n, "the sink depends on every node");

    let snapshot = GraphSnapshot::capture(&dag, 48_000.0);
    let start = Instant::now();
    let mut restored = Graph::with_capacity(n);
    snapshot
        .restore(registry, &mut restored)
        .expect("a valid snapshot");
    let restore = start.elapsed();
    assert_eq!(restored.node_count(), n);

    // Over a live graph: the DAG's nodes count as delivered (their instances taken, as a commit
    // does), so restoring over it clears them (their slots held until the next delivery) and
    // grows the graph for the new ones.
    drop(dag.take_delivery());
    let start = Instant::now();
    snapshot
        .restore(registry, &mut dag)
        .expect("a valid snapshot");
    let restore_live = start.elapsed();
    assert_eq!(dag.node_count(), n);

    let start = Instant::now();
    chain.clear();
    let clear = start.elapsed();
    drop(chain.take_delivery());

    Times {
        chain: chain_time,
        dag: dag_time,
        compile_chain,
        compile_dag,
        clear,
        restore,
        restore_live,
        refuse,
        floor: random_access_floor(n, &edges),
    }
}

/// The machine's floor for what the random DAG's edits must do: for each of its edges, one
/// read-modify-write of the source's and of the destination's record, in a table of `n`
/// records the size of a graph entry. No graph code at all; its ratio between sizes is what
/// the caches allow any edit that touches two random nodes.
fn random_access_floor(n: usize, edges: &[(usize, usize, usize)]) -> Duration {
    const ENTRY_WORDS: usize = 30; // 240 bytes, a graph entry with its arena slot
    let mut table = vec![[0u64; ENTRY_WORDS]; n];
    let start = Instant::now();
    for &(source, destination, slot) in edges {
        table[source][slot] = table[source][slot].wrapping_add(destination as u64);
        table[destination][8 + slot] = table[destination][8 + slot].wrapping_add(source as u64);
    }
    let elapsed = start.elapsed();
    assert!(std::hint::black_box(&table).len() == n);
    elapsed
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

type Field = fn(&Times) -> Duration;

const FIELDS: [(&str, Field); 9] = [
    ("chain: add + connect", |t| t.chain),
    ("random dag: add + connect", |t| t.dag),
    ("compile chain", |t| t.compile_chain),
    ("compile random dag", |t| t.compile_dag),
    ("clear chain", |t| t.clear),
    ("restore random dag", |t| t.restore),
    ("restore dag over live dag", |t| t.restore_live),
    ("100 refused cycles (dag)", |t| t.refuse),
    ("floor: 2 random touches/edge", |t| t.floor),
];

/// Measures one size in this process and prints the times in nanoseconds on one line.
fn run_single(n: usize) {
    let mut registry = NodeRegistry::new();
    registry
        .register("Noop", |_| Ok(Box::new(Noop)))
        .expect("a new registry");
    let times = measure(n, &registry);
    let values: Vec<String> = FIELDS
        .iter()
        .map(|(_, field)| field(&times).as_nanos().to_string())
        .collect();
    println!("{}", values.join(" "));
}

/// Measures `n` in a fresh process, so that every size starts from the same cold heap (in one
/// process the smaller sizes would reuse memory the kernel has already handed out and zeroed,
/// and the larger ones would pay for fresh pages alone).
fn measure_in_child(n: usize) -> Times {
    let exe = std::env::current_exe().expect("the bench's own path");
    let output = std::process::Command::new(exe)
        .args(["--single", &n.to_string()])
        .output()
        .expect("the bench runs itself");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let values: Vec<Duration> = text
        .split_whitespace()
        .map(|value| Duration::from_nanos(value.parse().expect("nanoseconds")))
        .collect();
    assert_eq!(values.len(), FIELDS.len(), "{text}");
    Times {
        chain: values[0],
        dag: values[1],
        compile_chain: values[2],
        compile_dag: values[3],
        clear: values[4],
        restore: values[5],
        restore_live: values[6],
        refuse: values[7],
        floor: values[8],
    }
}

fn main() {
    let mut rounds = 3usize;
    let mut hidden_order = None;
    let mut sizes = vec![100_000usize, 1_000_000];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            "--sizes" => {
                sizes = args
                    .next()
                    .map(|v| v.split(',').filter_map(|s| s.parse().ok()).collect())
                    .unwrap_or(sizes)
            }
            "--hidden-order" => hidden_order = args.next().and_then(|v| v.parse().ok()),
            "--single" => {
                let n = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--single N");
                run_single(n);
                return;
            }
            _ => {} // cargo bench passes --bench
        }
    }
    let mut all: Vec<Vec<Times>> = sizes.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (times, &n) in all.iter_mut().zip(&sizes) {
            times.push(measure_in_child(n));
        }
    }
    print!("{:<28}", "median of rounds");
    for n in &sizes {
        print!("{:>14}", format!("{n} nodes"));
    }
    println!("{:>10}", "ratio");
    for (name, field) in FIELDS {
        print!("{name:<28}");
        let medians: Vec<Duration> = all
            .iter()
            .map(|times| median(times.iter().map(field).collect()))
            .collect();
        for m in &medians {
            print!("{:>14}", format!("{:.1} ms", m.as_secs_f64() * 1e3));
        }
        let ratio = medians.last().unwrap().as_secs_f64() / medians[0].as_secs_f64().max(1e-9);
        println!("{:>9.1}x", ratio);
    }
    println!(
        "(rounds: {rounds}, each size in a fresh process; the ratio is the largest size over \
         the smallest)"
    );
    if let Some(n) = hidden_order {
        let (edges, _) = random_dag(n, 0x5eed, true);
        let mut graph = Graph::with_capacity(n);
        let ids = add_nodes(&mut graph, n);
        let start = Instant::now();
        for &(source, destination, slot) in &edges {
            graph
                .connect(ids[source], ids[destination], slot)
                .expect("the edges form a DAG");
        }
        println!(
            "random dag of {n} nodes added out of topological order: connect {:.1} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
    }
}
