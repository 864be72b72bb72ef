//! `aether info` and `aether dot`: list a patch, or draw it for Graphviz.

use std::fmt::Write as _;

use aether_graph::Graph;
use aether_state::Shown;

use crate::error::CliError;
use crate::patch::{LoadedPatch, registry};

/// A node of the listing: its file id, its id in the restored graph, and its label.
type Listed<'a> = (u32, aether_graph::NodeId, Option<&'a str>);

/// Validates `patch` by restoring it into a graph, which has the nodes' parameter metadata.
/// The nodes come in file order, each with its label (one pass, no look-ups by id).
fn restored(patch: &LoadedPatch) -> Result<(Graph, Vec<Listed<'_>>), CliError> {
    let mut graph = Graph::with_capacity(patch.snapshot.nodes.len().max(1));
    let restored = patch
        .snapshot
        .restore(&registry(), &mut graph)
        .map_err(|error| CliError::new(&patch.name, error))?;
    let ids = patch
        .snapshot
        .nodes
        .iter()
        .filter_map(|node| Some((node.id, restored.node(node.id)?, node.label.as_deref())))
        .collect();
    Ok((graph, ids))
}

/// A listing of the patch: nodes with their parameters (value, range, unit), edges, output.
pub fn info(patch: &LoadedPatch) -> Result<String, CliError> {
    let (graph, ids) = restored(patch)?;
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
    let _ = writeln!(out, "nodes: {}", ids.len());
    for (file_id, node_id, label) in &ids {
        let type_name = graph.type_name(*node_id).unwrap_or("?");
        let _ = write!(out, "  [{file_id}] {type_name}");
        if let Some(label) = label {
            let _ = write!(out, " \"{}\"", Shown(label));
        }
        let _ = writeln!(out);
        if let Some(state) = graph.node_state(*node_id).filter(|state| !state.is_empty()) {
            for (key, value) in &state.0 {
                let _ = writeln!(out, "      state {key} = {value:?}");
            }
        }
        if let Some(params) = graph.params(*node_id) {
            for index in 0..params.len() {
                let (Some(meta), Some(value)) =
                    (params.meta(index), graph.param_value(*node_id, index))
                else {
                    continue;
                };
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
pub fn dot(patch: &LoadedPatch) -> Result<String, CliError> {
    let (graph, ids) = restored(patch)?;
    let snapshot = &patch.snapshot;
    let mut out = String::from(
        "digraph patch {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
    );
    for (file_id, node_id, text) in &ids {
        let mut label = format!("[{file_id}] {}", graph.type_name(*node_id).unwrap_or("?"));
        if let Some(text) = text {
            let _ = write!(label, "\n{}", Shown(text));
        }
        if let Some(params) = graph.params(*node_id) {
            for index in 0..params.len() {
                if let (Some(meta), Some(value)) =
                    (params.meta(index), graph.param_value(*node_id, index))
                {
                    let _ = write!(label, "\n{} = {} {}", meta.name, value, meta.unit.symbol());
                }
            }
        }
        let shape = if snapshot.output == Some(*file_id) {
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
