//! `aether info` and `aether dot`: list a patch, or draw it for Graphviz.
//!
//! Both validate the patch without building the nodes whose state can be large (delay lines):
//! [`GraphSnapshot::inspect`](aether_state::GraphSnapshot::inspect) checks those through their
//! types' footprints.

use std::fmt::Write as _;

use aether_state::{InspectedNode, RestoreLimits, Shown};

use crate::error::CliError;
use crate::patch::{LoadedPatch, registry};

/// Validates `patch` within `limits` and lists its nodes in file order.
fn inspected(patch: &LoadedPatch, limits: RestoreLimits) -> Result<Vec<InspectedNode>, CliError> {
    patch
        .snapshot
        .inspect(&registry(), limits)
        .map_err(|error| CliError::new(&patch.name, error))
}

/// A listing of the patch: nodes with their parameters (value, range, unit), edges, output.
pub fn info(patch: &LoadedPatch, limits: RestoreLimits) -> Result<String, CliError> {
    let nodes = inspected(patch, limits)?;
    let snapshot = &patch.snapshot;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "patch: {} (format {} v{}, {} Hz)",
        Shown(&patch.name),
        snapshot.format,
        snapshot.version,
        snapshot.sample_rate
    );
    let _ = writeln!(out, "valid: yes");
    let _ = writeln!(out, "nodes: {}", nodes.len());
    let state_bytes: usize = nodes.iter().map(|node| node.state_bytes).sum();
    let _ = writeln!(
        out,
        "state: {state_bytes} bytes (budget {} bytes)",
        limits.state_budget
    );
    for node in &nodes {
        let _ = write!(out, "  [{}] {}", node.file_id, Shown(&node.type_name));
        if let Some(label) = &node.label {
            let _ = write!(out, " \"{}\"", Shown(label));
        }
        let _ = writeln!(out);
        for (key, value) in &node.state.0 {
            let _ = writeln!(out, "      state {} = {value:?}", Shown(key));
        }
        for (meta, value) in &node.params {
            let _ = writeln!(
                out,
                "      {} = {} {} (range {} .. {}, default {})",
                meta.name,
                value,
                meta.unit.symbol(),
                meta.min,
                meta.max,
                meta.default
            );
        }
    }
    let _ = writeln!(out, "edges: {}", snapshot.edges.len());
    for edge in &snapshot.edges {
        let _ = writeln!(
            out,
            "  [{}] -> [{}] input {}",
            edge.from, edge.to, edge.slot
        );
    }
    match snapshot.output {
        Some(output) => {
            let _ = writeln!(out, "output: [{output}]");
        }
        None => {
            let _ = writeln!(out, "output: none (renders silence)");
        }
    }
    Ok(out)
}

/// Escapes a string for a double-quoted DOT identifier.
fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            // Already escaped by `Shown` where it came from a file; never emit one raw.
            c if c.is_control() => {
                let _ = write!(quoted, "\\\\u{{{:x}}}", c as u32);
            }
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The patch as a Graphviz `digraph`: one box per node (type, label, parameters), one arrow per
/// edge labelled with the input slot, the output node doubled.
pub fn dot(patch: &LoadedPatch, limits: RestoreLimits) -> Result<String, CliError> {
    let nodes = inspected(patch, limits)?;
    let snapshot = &patch.snapshot;
    let mut out = String::from(
        "digraph patch {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for node in &nodes {
        let file_id = node.file_id;
        let mut label = format!("[{file_id}] {}", Shown(&node.type_name));
        if let Some(text) = &node.label {
            let _ = write!(label, "\n{}", Shown(text));
        }
        for (meta, value) in &node.params {
            let _ = write!(label, "\n{} = {} {}", meta.name, value, meta.unit.symbol());
        }
        let shape = if snapshot.output == Some(file_id) {
            ", peripheries=2"
        } else {
            ""
        };
        let _ = writeln!(out, "  n{file_id} [label={}{shape}];", quote(&label));
    }
    for edge in &snapshot.edges {
        let _ = writeln!(
            out,
            "  n{} -> n{} [label=\"{}\"];",
            edge.from, edge.to, edge.slot
        );
    }
    if let Some(output) = snapshot.output {
        let _ = writeln!(
            out,
            "  out [shape=plaintext, label=\"output\"];\n  n{output} -> out;"
        );
    }
    out.push_str("}\n");
    Ok(out)
}
