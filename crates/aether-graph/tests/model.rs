//! Random edit sequences keep the graph equal to a simple model; cycles are always refused;
//! every compiled schedule is a valid dependency order with liveness-assigned buffers.

use std::collections::{BTreeMap, BTreeSet};

use aether_graph::{
    Block, Compiler, DspNode, Graph, GraphError, Inputs, MAX_INPUTS, NO_BUFFER, NodeId,
};
use aether_params::ParamBlock;
use proptest::prelude::*;

struct Noop;
impl DspNode for Noop {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
    }
    fn type_name(&self) -> &'static str {
        "Noop"
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Add,
    Remove(usize),
    Connect(usize, usize, usize),
    ConnectAll(Vec<(usize, usize, usize)>),
    Disconnect(usize, usize),
    SetOutput(usize),
    ClearOutput,
    Clear,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => Just(Edit::Add),
        1 => any::<usize>().prop_map(Edit::Remove),
        6 => (any::<usize>(), any::<usize>(), 0..MAX_INPUTS + 2).prop_map(|(a, b, s)| Edit::Connect(a, b, s)),
        1 => prop::collection::vec((any::<usize>(), any::<usize>(), 0..MAX_INPUTS + 1), 0..6)
            .prop_map(Edit::ConnectAll),
        1 => (any::<usize>(), 0..MAX_INPUTS + 2).prop_map(|(a, s)| Edit::Disconnect(a, s)),
        1 => any::<usize>().prop_map(Edit::SetOutput),
        1 => Just(Edit::ClearOutput),
        1 => Just(Edit::Clear),
    ]
}

#[derive(Default, Clone)]
struct Model {
    live: BTreeSet<NodeId>,
    /// (destination, slot) -> source
    edges: BTreeMap<(NodeId, usize), NodeId>,
    output: Option<NodeId>,
}

impl Model {
    /// Does some edge close a cycle?
    fn has_cycle(&self) -> bool {
        self.edges
            .iter()
            .any(|(&(destination, _), &source)| self.reaches(destination, source))
    }

    /// Is `to` reachable from `from` along signal flow?
    fn reaches(&self, from: NodeId, to: NodeId) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(at) = stack.pop() {
            if at == to {
                return true;
            }
            if !seen.insert(at) {
                continue;
            }
            for (&(destination, _), &source) in &self.edges {
                if source == at {
                    stack.push(destination);
                }
            }
        }
        false
    }

    fn remove(&mut self, id: NodeId) {
        self.live.remove(&id);
        self.edges
            .retain(|&(destination, _), source| destination != id && *source != id);
        if self.output == Some(id) {
            self.output = None;
        }
    }

    fn ancestors_of_output(&self) -> BTreeSet<NodeId> {
        let mut result = BTreeSet::new();
        let mut stack: Vec<NodeId> = self.output.into_iter().collect();
        while let Some(at) = stack.pop() {
            if result.insert(at) {
                for (&(destination, _), &source) in &self.edges {
                    if destination == at {
                        stack.push(source);
                    }
                }
            }
        }
        result
    }
}

fn pick(ids: &[NodeId], choice: usize) -> Option<NodeId> {
    (!ids.is_empty()).then(|| ids[choice % ids.len()])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn graph_matches_model(edits in prop::collection::vec(edit(), 1..120)) {
        let mut graph = Graph::with_capacity(24);
        let mut model = Model::default();
        // Every id ever handed out, so stale ids get exercised too.
        let mut ever: Vec<NodeId> = Vec::new();
        let mut compiler = Compiler::new();

        for edit in edits {
            match edit {
                Edit::Add => match graph.add_node(Box::new(Noop)) {
                    Ok(id) => {
                        prop_assert!(!ever.contains(&id), "an id was handed out twice");
                        ever.push(id);
                        model.live.insert(id);
                    }
                    Err(error) => {
                        prop_assert_eq!(model.live.len(), graph.capacity());
                        prop_assert_eq!(error.into_node().type_name(), "Noop");
                    }
                },
                Edit::Remove(choice) => {
                    if let Some(id) = pick(&ever, choice) {
                        let result = graph.remove_node(id);
                        if model.live.contains(&id) {
                            prop_assert_eq!(result, Ok(()));
                            model.remove(id);
                        } else {
                            prop_assert_eq!(result, Err(GraphError::UnknownNode(id)));
                        }
                    }
                }
                Edit::Connect(a, b, slot) => {
                    if let (Some(source), Some(destination)) = (pick(&ever, a), pick(&ever, b)) {
                        let result = graph.connect(source, destination, slot);
                        if !model.live.contains(&source) {
                            prop_assert_eq!(result, Err(GraphError::UnknownNode(source)));
                        } else if !model.live.contains(&destination) {
                            prop_assert_eq!(result, Err(GraphError::UnknownNode(destination)));
                        } else if slot >= MAX_INPUTS {
                            prop_assert_eq!(result, Err(GraphError::SlotOutOfRange { node: destination, slot }));
                        } else if model.reaches(destination, source) {
                            match result {
                                Err(GraphError::Cycle { cycle, .. }) => {
                                    // The reported cycle is real: consecutive nodes are edges, and
                                    // it closes through the refused edge.
                                    prop_assert_eq!(cycle.first(), Some(&destination));
                                    prop_assert_eq!(cycle.last(), Some(&destination));
                                    for pair in cycle.windows(2) {
                                        let (from, to) = (pair[0], pair[1]);
                                        let is_edge = model.edges.iter().any(|(&(d, _), &s)| s == from && d == to);
                                        let is_new = from == source && to == destination;
                                        prop_assert!(is_edge || is_new, "{from} -> {to} is not an edge");
                                    }
                                }
                                other => prop_assert!(false, "expected a cycle error, got {other:?}"),
                            }
                        } else {
                            let previous = model.edges.insert((destination, slot), source);
                            prop_assert_eq!(result, Ok(previous));
                        }
                    }
                }
                Edit::ConnectAll(choices) => {
                    let edges: Vec<(NodeId, NodeId, usize)> = choices
                        .iter()
                        .filter_map(|&(a, b, slot)| Some((pick(&ever, a)?, pick(&ever, b)?, slot)))
                        .collect();
                    let result = graph.connect_all(&edges);
                    let invalid = edges.iter().any(|&(source, destination, slot)| {
                        !model.live.contains(&source) || !model.live.contains(&destination) || slot >= MAX_INPUTS
                    });
                    let mut next = model.clone();
                    for &(source, destination, slot) in &edges {
                        next.edges.insert((destination, slot), source);
                    }
                    if invalid {
                        prop_assert!(result.is_err(), "an invalid batch was accepted");
                    } else if next.has_cycle() {
                        match result {
                            Err(GraphError::Cycle { cycle, .. }) => {
                                prop_assert_eq!(cycle.first(), cycle.last());
                                for pair in cycle.windows(2) {
                                    let (from, to) = (pair[0], pair[1]);
                                    let is_edge = next.edges.iter().any(|(&(d, _), &s)| s == from && d == to);
                                    prop_assert!(is_edge, "{from} -> {to} is not an edge of the batch's graph");
                                }
                            }
                            other => prop_assert!(false, "expected a cycle error, got {other:?}"),
                        }
                    } else {
                        prop_assert_eq!(result, Ok(()));
                        model = next;
                    }
                }
                Edit::Disconnect(a, slot) => {
                    if let Some(destination) = pick(&ever, a) {
                        let result = graph.disconnect(destination, slot);
                        if !model.live.contains(&destination) {
                            prop_assert_eq!(result, Err(GraphError::UnknownNode(destination)));
                        } else if slot >= MAX_INPUTS {
                            prop_assert_eq!(result, Err(GraphError::SlotOutOfRange { node: destination, slot }));
                        } else {
                            prop_assert_eq!(result, Ok(model.edges.remove(&(destination, slot))));
                        }
                    }
                }
                Edit::SetOutput(a) => {
                    if let Some(id) = pick(&ever, a) {
                        let result = graph.set_output_node(id);
                        if model.live.contains(&id) {
                            prop_assert_eq!(result, Ok(()));
                            model.output = Some(id);
                        } else {
                            prop_assert_eq!(result, Err(GraphError::UnknownNode(id)));
                        }
                    }
                }
                Edit::ClearOutput => {
                    graph.clear_output_node();
                    model.output = None;
                }
                Edit::Clear => {
                    graph.clear();
                    model = Model::default();
                }
            }

            // The graph equals the model.
            let live: BTreeSet<NodeId> = graph.node_ids().collect();
            prop_assert_eq!(&live, &model.live);
            let edges: BTreeMap<(NodeId, usize), NodeId> =
                graph.edges().map(|(source, destination, slot)| ((destination, slot), source)).collect();
            prop_assert_eq!(&edges, &model.edges);
            prop_assert_eq!(graph.output_node(), model.output);

            // The compiled schedule is valid and runs exactly the output's ancestors in dependency order.
            let schedule = compiler.compile(&graph);
            prop_assert_eq!(schedule.check(), Ok(()));
            let scheduled: Vec<NodeId> = schedule.steps().iter().map(|step| step.node).collect();
            let scheduled_set: BTreeSet<NodeId> = scheduled.iter().copied().collect();
            prop_assert_eq!(scheduled_set.len(), scheduled.len(), "a node was scheduled twice");
            prop_assert_eq!(&scheduled_set, &model.ancestors_of_output());
            for (position, step) in schedule.steps().iter().enumerate() {
                for (slot, &buffer) in step.inputs.iter().enumerate() {
                    let source = model.edges.get(&(step.node, slot));
                    prop_assert_eq!(buffer == NO_BUFFER, source.is_none());
                    if let Some(source) = source {
                        let source_position = scheduled.iter().position(|id| id == source).unwrap();
                        prop_assert!(source_position < position, "a source runs after its reader");
                        prop_assert_eq!(schedule.steps()[source_position].output, buffer);
                    }
                }
                // Predecessor counts match the distinct sources.
                let distinct: BTreeSet<NodeId> =
                    model.edges.iter().filter(|((d, _), _)| *d == step.node).map(|(_, &s)| s).collect();
                prop_assert_eq!(schedule.predecessor_counts()[position] as usize, distinct.len());
                for &successor in schedule.successors(position) {
                    prop_assert!(successor as usize > position);
                }
            }
            prop_assert_eq!(schedule.output_buffer().is_some(), model.output.is_some());
        }
    }
}

#[test]
fn chain_of_1000_needs_two_buffers() {
    let mut graph = Graph::with_capacity(1000);
    let mut previous = graph.add_node(Box::new(Noop)).unwrap();
    for _ in 1..1000 {
        let next = graph.add_node(Box::new(Noop)).unwrap();
        graph.connect(previous, next, 0).unwrap();
        previous = next;
    }
    graph.set_output_node(previous).unwrap();
    let schedule = Compiler::new().compile(&graph);
    assert_eq!(schedule.len(), 1000);
    assert_eq!(schedule.buffer_count(), 2);
    assert_eq!(schedule.check(), Ok(()));
}

#[test]
fn mixer_tree_keeps_few_buffers_live() {
    // 512 sources summed by a binary tree of 2-input mixers.
    let mut graph = Graph::with_capacity(1100);
    let mut layer: Vec<NodeId> = (0..512)
        .map(|_| graph.add_node(Box::new(Noop)).unwrap())
        .collect();
    while layer.len() > 1 {
        layer = layer
            .chunks(2)
            .map(|pair| {
                let mixer = graph.add_node(Box::new(Noop)).unwrap();
                graph.connect(pair[0], mixer, 0).unwrap();
                graph.connect(pair[1], mixer, 1).unwrap();
                mixer
            })
            .collect();
    }
    graph.set_output_node(layer[0]).unwrap();
    let schedule = Compiler::new().compile(&graph);
    assert_eq!(schedule.len(), 1023);
    // A node runs as soon as its inputs have: about one live buffer per tree level.
    assert!(
        schedule.buffer_count() <= 12,
        "{} buffers",
        schedule.buffer_count()
    );
}

#[test]
fn interleaved_sources_keep_few_buffers_live() {
    // 1024 sources added in an order unrelated to the tree: source i feeds 8-input mixer
    // i % 128 (slot i / 128), then mixers of 8 mixers, up to one output. The ready order
    // follows the walk from the output, not the insertion order, so the live buffers stay
    // about one group per tree level instead of all 1024 sources at once.
    let mut graph = Graph::with_capacity(1300);
    let sources: Vec<NodeId> = (0..1024)
        .map(|_| graph.add_node(Box::new(Noop)).unwrap())
        .collect();
    let mut layer: Vec<NodeId> = (0..128)
        .map(|_| graph.add_node(Box::new(Noop)).unwrap())
        .collect();
    for (i, &source) in sources.iter().enumerate() {
        graph.connect(source, layer[i % 128], i / 128).unwrap();
    }
    while layer.len() > 1 {
        layer = layer
            .chunks(8)
            .map(|group| {
                let mixer = graph.add_node(Box::new(Noop)).unwrap();
                for (slot, &input) in group.iter().enumerate() {
                    graph.connect(input, mixer, slot).unwrap();
                }
                mixer
            })
            .collect();
    }
    graph.set_output_node(layer[0]).unwrap();
    let schedule = Compiler::new().compile(&graph);
    assert_eq!(schedule.len(), 1024 + 128 + 16 + 2 + 1);
    assert_eq!(schedule.check(), Ok(()));
    assert!(
        schedule.buffer_count() <= 4 * 8 + 1,
        "{} buffers",
        schedule.buffer_count()
    );
}

#[test]
fn a_node_runs_as_soon_as_its_last_input_has() {
    // out <- mix(a2 <- a1, b); Kahn with the LIFO ready stack runs a1, a2, then b, then mix:
    // a2 runs right after a1 (its only input), before the other source.
    let mut graph = Graph::with_capacity(8);
    let a1 = graph.add_node(Box::new(Noop)).unwrap();
    let a2 = graph.add_node(Box::new(Noop)).unwrap();
    let b = graph.add_node(Box::new(Noop)).unwrap();
    let mix = graph.add_node(Box::new(Noop)).unwrap();
    graph.connect(a1, a2, 0).unwrap();
    graph.connect(a2, mix, 0).unwrap();
    graph.connect(b, mix, 1).unwrap();
    // The same source on two slots counts as two inputs and is waited for once.
    graph.connect(b, mix, 2).unwrap();
    graph.set_output_node(mix).unwrap();
    let schedule = Compiler::new().compile(&graph);
    let order: Vec<NodeId> = schedule.steps().iter().map(|step| step.node).collect();
    assert_eq!(order, vec![a1, a2, b, mix]);
    assert_eq!(schedule.predecessor_counts(), &[0, 1, 0, 2]);
    // a1's buffer is free once a2 has read it, so b reuses it; mix writes a third.
    assert_eq!(schedule.steps()[2].output, schedule.steps()[0].output);
    assert_eq!(schedule.buffer_count(), 3);
}

#[test]
fn self_loop_and_errors_are_descriptive() {
    let mut graph = Graph::with_capacity(4);
    let a = graph.add_node(Box::new(Noop)).unwrap();
    let b = graph.add_node(Box::new(Noop)).unwrap();
    let error = graph.connect(a, a, 0).unwrap_err();
    assert_eq!(
        error,
        GraphError::Cycle {
            source: a,
            destination: a,
            cycle: vec![a, a]
        }
    );
    graph.connect(a, b, 0).unwrap();
    let error = graph.connect(b, a, 3).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("connecting {b} -> {a} would create a cycle: {a} -> {b} -> {a}")
    );
    let error = graph.connect(a, b, 8).unwrap_err();
    assert!(error.to_string().contains("input slot 8"), "{error}");
    graph.remove_node(a).unwrap();
    assert_eq!(graph.connect(a, b, 0), Err(GraphError::UnknownNode(a)));
    assert_eq!(
        graph.inputs(b).unwrap(),
        &[None; MAX_INPUTS],
        "removing a node removes its edges"
    );
}

#[test]
fn removing_the_output_node_leaves_no_output() {
    let mut graph = Graph::with_capacity(4);
    let a = graph.add_node(Box::new(Noop)).unwrap();
    graph.set_output_node(a).unwrap();
    graph.remove_node(a).unwrap();
    assert_eq!(graph.output_node(), None);
    let schedule = Compiler::new().compile(&graph);
    assert!(schedule.is_empty());
    assert_eq!(schedule.output_buffer(), None);
}
