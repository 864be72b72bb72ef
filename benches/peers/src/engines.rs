//! The three engines behind one trait. Every node adapter calls the shared functions in
//! [`crate::math`], so the per-node arithmetic is identical across engines; what differs is
//! how each engine orders nodes, routes buffers and dispatches the calls.

use std::error::Error;

use crate::{BLOCK, GraphSpec, NodeKind, math};

/// Name of the AetherDSP engine in reports.
pub const AETHERDSP: &str = "aetherdsp";
/// Name of the fundsp engine in reports.
pub const FUNDSP: &str = "fundsp";
/// Name of the dasp_graph engine in reports.
pub const DASP_GRAPH: &str = "dasp_graph";

/// A graph engine rendering one fixed graph.
pub trait Engine {
    /// The name used in reports.
    fn name(&self) -> &'static str;
    /// Renders one 64-sample block and copies the graph's output into `output`.
    fn render(&mut self, output: &mut [f32; BLOCK]);
}

/// Builds `spec` in every engine.
pub fn build_engines(spec: &GraphSpec) -> Result<Vec<Box<dyn Engine>>, Box<dyn Error>> {
    Ok(vec![
        Box::new(aether::AetherEngine::new(spec)?),
        Box::new(fundsp_engine::FundspEngine::new(spec)),
        Box::new(dasp::DaspEngine::new(spec)),
    ])
}

mod aether {
    use super::*;
    use aether_graph::{Block, DspNode, Inputs, NodeId};
    use aether_params::ParamBlock;
    use aether_scheduler::Scheduler;

    struct Node(NodeKind);

    impl DspNode for Node {
        fn process(&mut self, inputs: &Inputs<'_>, output: &mut Block, _: &mut ParamBlock, _: f32) {
            match self.0 {
                NodeKind::Noop => {}
                NodeKind::Gain => match inputs[0] {
                    Some(input) => math::gain(input, output),
                    // An unconnected input reads as silence, as in the other engines.
                    None => math::gain(&[0.0; BLOCK], output),
                },
                NodeKind::Constant(value) => math::constant(value, output),
                NodeKind::Mix(_) => {
                    math::mix_clear(output);
                    for input in inputs.iter().flatten() {
                        math::mix_add(*input, output);
                    }
                }
            }
        }
        fn type_name(&self) -> &'static str {
            "PeerBenchNode"
        }
    }

    /// AetherDSP through `Scheduler::process_block` (the control and audio halves in one value).
    pub struct AetherEngine {
        scheduler: Scheduler,
    }

    impl AetherEngine {
        pub fn new(spec: &GraphSpec) -> Result<Self, Box<dyn Error>> {
            let mut scheduler = Scheduler::new(48_000.0);
            let ids = spec
                .nodes
                .iter()
                .map(|&kind| scheduler.graph.add_node(Box::new(Node(kind))))
                .collect::<Result<Vec<NodeId>, _>>()?;
            for &(from, to, port) in &spec.edges {
                scheduler.graph.connect(ids[from], ids[to], port)?;
            }
            scheduler.graph.set_output_node(ids[spec.output])?;
            Ok(AetherEngine { scheduler })
        }
    }

    impl Engine for AetherEngine {
        fn name(&self) -> &'static str {
            AETHERDSP
        }
        fn render(&mut self, output: &mut [f32; BLOCK]) {
            output.copy_from_slice(self.scheduler.process_block());
        }
    }
}

mod fundsp_engine {
    use super::*;
    use fundsp::audiounit::AudioUnit;
    use fundsp::buffer::{BufferMut, BufferRef, BufferVec};
    use fundsp::net::{Net, NodeId};
    use fundsp::signal::SignalFrame;

    #[derive(Clone)]
    struct Node(NodeKind);

    impl AudioUnit for Node {
        fn tick(&mut self, input: &[f32], output: &mut [f32]) {
            match self.0 {
                NodeKind::Noop => {}
                NodeKind::Gain => math::gain(input, output),
                NodeKind::Constant(value) => math::constant(value, output),
                NodeKind::Mix(_) => {
                    math::mix_clear(output);
                    for x in input {
                        math::mix_add(core::slice::from_ref(x), output);
                    }
                }
            }
        }

        fn process(&mut self, size: usize, input: &BufferRef, output: &mut BufferMut) {
            match self.0 {
                NodeKind::Noop => {}
                NodeKind::Gain => {
                    math::gain(&input.channel_f32(0)[..size], output.channel_f32_mut(0))
                }
                NodeKind::Constant(value) => {
                    math::constant(value, &mut output.channel_f32_mut(0)[..size])
                }
                NodeKind::Mix(inputs) => {
                    let out = &mut output.channel_f32_mut(0)[..size];
                    math::mix_clear(out);
                    for channel in 0..inputs {
                        math::mix_add(&input.channel_f32(channel)[..size], out);
                    }
                }
            }
        }

        fn inputs(&self) -> usize {
            match self.0 {
                NodeKind::Noop | NodeKind::Gain => 1,
                NodeKind::Constant(_) => 0,
                NodeKind::Mix(inputs) => inputs,
            }
        }

        fn outputs(&self) -> usize {
            1
        }

        fn route(&mut self, _input: &SignalFrame, _frequency: f64) -> SignalFrame {
            SignalFrame::new(1)
        }

        fn get_id(&self) -> u64 {
            0x4165_7468_6572
        }

        fn footprint(&self) -> usize {
            size_of::<Self>()
        }
    }

    /// fundsp's `Net`, built with `push`/`connect`, ordered and allocated up front.
    pub struct FundspEngine {
        net: Net,
        output: BufferVec,
    }

    impl FundspEngine {
        pub fn new(spec: &GraphSpec) -> Self {
            let mut net = Net::new(0, 1);
            let ids: Vec<NodeId> = spec
                .nodes
                .iter()
                .map(|&kind| net.push(Box::new(Node(kind))))
                .collect();
            for &(from, to, port) in &spec.edges {
                net.connect(ids[from], 0, ids[to], port);
            }
            net.connect_output(ids[spec.output], 0, 0);
            net.set_sample_rate(48_000.0);
            net.allocate();
            FundspEngine {
                net,
                output: BufferVec::new(1),
            }
        }
    }

    impl Engine for FundspEngine {
        fn name(&self) -> &'static str {
            FUNDSP
        }
        fn render(&mut self, output: &mut [f32; BLOCK]) {
            self.net
                .process(BLOCK, &BufferRef::empty(), &mut self.output.buffer_mut());
            output.copy_from_slice(&self.output.channel_f32(0)[..BLOCK]);
        }
    }
}

mod dasp {
    use super::*;
    use dasp_graph::{BoxedNode, Buffer, Input, NodeData, Processor};
    use petgraph::graph::NodeIndex;
    use petgraph::stable_graph::StableGraph;

    struct Node(NodeKind);

    impl dasp_graph::Node for Node {
        fn process(&mut self, inputs: &[Input], output: &mut [Buffer]) {
            let out: &mut [f32] = &mut output[0];
            match self.0 {
                NodeKind::Noop => {}
                NodeKind::Gain => match inputs.first() {
                    Some(input) => math::gain(&input.buffers()[0], out),
                    // An unconnected input reads as silence, as in the other engines.
                    None => math::gain(&[0.0; BLOCK], out),
                },
                NodeKind::Constant(value) => math::constant(value, out),
                NodeKind::Mix(_) => {
                    math::mix_clear(out);
                    for input in inputs {
                        math::mix_add(&input.buffers()[0], out);
                    }
                }
            }
        }
    }

    type Graph = StableGraph<NodeData<BoxedNode>, (), petgraph::Directed, u32>;

    /// dasp_graph's `Processor` over a petgraph `StableGraph` of boxed nodes.
    pub struct DaspEngine {
        graph: Graph,
        processor: Processor<Graph>,
        output: NodeIndex<u32>,
    }

    impl DaspEngine {
        pub fn new(spec: &GraphSpec) -> Self {
            let mut graph = Graph::with_capacity(spec.nodes.len(), spec.edges.len());
            let ids: Vec<NodeIndex<u32>> = spec
                .nodes
                .iter()
                .map(|&kind| graph.add_node(NodeData::boxed1(Node(kind))))
                .collect();
            // dasp_graph nodes have no input ports: a mixer sums whatever is connected, in the
            // order petgraph lists the incoming edges (the additions are the same, their order may
            // differ, hence the output check's tolerance).
            for &(from, to, _port) in &spec.edges {
                graph.add_edge(ids[from], ids[to], ());
            }
            DaspEngine {
                processor: Processor::with_capacity(spec.nodes.len()),
                graph,
                output: ids[spec.output],
            }
        }
    }

    impl Engine for DaspEngine {
        fn name(&self) -> &'static str {
            DASP_GRAPH
        }
        fn render(&mut self, output: &mut [f32; BLOCK]) {
            self.processor.process(&mut self.graph, self.output);
            output.copy_from_slice(&self.graph[self.output].buffers[0]);
        }
    }
}
