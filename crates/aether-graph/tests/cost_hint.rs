//! Cost hints: declared by nodes, recorded by the graph when a node is added, read by the
//! parallel engine's policy without touching the node instance.

use aether_graph::{Block, Compiler, DEFAULT_COST_HINT_NS, DspNode, Graph, Inputs};
use aether_params::ParamBlock;

struct Plain;
impl DspNode for Plain {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(0.0);
    }
    fn type_name(&self) -> &'static str {
        "Plain"
    }
}

struct Expensive(u64);
impl DspNode for Expensive {
    fn process(&mut self, _: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
        output.fill(1.0);
    }
    fn type_name(&self) -> &'static str {
        "Expensive"
    }
    fn cost_hint(&self) -> u64 {
        self.0
    }
}

#[test]
fn the_graph_keeps_each_nodes_hint_from_add_time() {
    let mut graph = Graph::with_capacity(4);
    let plain = graph.add_node(Box::new(Plain)).unwrap();
    let expensive = graph.add_node(Box::new(Expensive(2_500))).unwrap();
    assert_eq!(DEFAULT_COST_HINT_NS, 100);
    assert_eq!(graph.cost_hint(plain), Some(DEFAULT_COST_HINT_NS));
    assert_eq!(graph.cost_hint(expensive), Some(2_500));

    // The instance leaves with the delivery; the hint stays with the graph.
    let delivery = graph.take_delivery();
    assert_eq!(delivery.added.len(), 2);
    assert_eq!(graph.cost_hint(expensive), Some(2_500));

    graph.remove_node(expensive).unwrap();
    assert_eq!(graph.cost_hint(expensive), None, "a stale id has no hint");
}

#[test]
fn hints_weigh_the_critical_path() {
    let mut graph = Graph::with_capacity(4);
    let a = graph.add_node(Box::new(Expensive(1_000))).unwrap();
    let b = graph.add_node(Box::new(Expensive(3_000))).unwrap();
    let sum = graph.add_node(Box::new(Plain)).unwrap();
    graph.connect(a, sum, 0).unwrap();
    graph.connect(b, sum, 1).unwrap();
    graph.set_output_node(sum).unwrap();
    let schedule = Compiler::new().compile_parallel(&graph);
    let cost = schedule.tasks().unwrap().critical_path(|step| {
        graph
            .cost_hint(schedule.steps()[step].node)
            .unwrap_or(DEFAULT_COST_HINT_NS)
    });
    assert_eq!(cost.total, 1_000 + 3_000 + DEFAULT_COST_HINT_NS);
    assert_eq!(cost.critical, 3_000 + DEFAULT_COST_HINT_NS);
}
