//! A part of an ONNX model: the nodes between some of its tensors, cut
//! out into a model of its own (what `onnx.utils.extract_model` does).
//!
//! Why: some models are better run in pieces than whole. A VITS voice
//! makes a whole sentence of audio in one run; cut between its encoder
//! and its decoder, the encoder runs once and the decoder runs on a
//! stretch at a time, so the first audio leaves long before the last is
//! made (`plugins/tts/src/piper`).
//!
//! The file is read with tract's ONNX protobuf types (`tract_onnx::pb`)
//! and the part written back with `prost`; the engines then load the
//! bytes as they load a file. Fields tract's schema does not know (model
//! local functions, training information) do not survive the cut: a
//! part that needs them fails to load with the engine's error.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use anyhow::{bail, Context as _, Result};
use hark_plugin_api::{DType, TensorSpec};
use prost::Message as _;
use tract_onnx::pb;

/// Which part of a model: the tensors it starts from and the tensors it
/// returns. A tensor is a graph input or output of the file, or any
/// tensor a node of the file makes; `dtype` and `shape` (`-1` for a
/// dimension known at run time) type the tensors inside the graph (the
/// graph's own inputs and outputs keep the file's types).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part {
    /// What the part is fed, in its input order.
    pub inputs: Vec<PartTensor>,
    /// What it returns, in its output order.
    pub outputs: Vec<PartTensor>,
}

/// A tensor at the edge of a [`Part`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartTensor {
    /// Its name in the file.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Dimensions; `-1` for one known at run time.
    pub shape: Vec<i64>,
}

impl std::hash::Hash for PartTensor {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.name, self.dtype as u8, &self.shape).hash(state);
    }
}

impl Part {
    /// The part between `inputs` and `outputs`.
    pub fn new(inputs: &[TensorSpec], outputs: &[TensorSpec]) -> Part {
        let tensor = |s: &TensorSpec| PartTensor {
            name: s.name.to_string(),
            dtype: s.dtype,
            shape: s.shape.to_vec(),
        };
        Part {
            inputs: inputs.iter().map(tensor).collect(),
            outputs: outputs.iter().map(tensor).collect(),
        }
    }

    /// "the part from a, b to c", for logs and errors.
    pub fn describe(&self) -> String {
        let names = |ts: &[PartTensor]| {
            ts.iter()
                .map(|t| format!("`{}`", t.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "the part from {} to {}",
            names(&self.inputs),
            names(&self.outputs)
        )
    }
}

/// Reads the model at `path` and returns the ONNX bytes of its `part`.
pub fn extract(path: &Path, part: &Part) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let model = pb::ModelProto::decode(bytes.as_slice())
        .with_context(|| format!("{} is not an ONNX model", path.display()))?;
    Ok(cut(model, part)?.encode_to_vec())
}

/// The sub-model of `model` that computes `part.outputs` from
/// `part.inputs` and the file's weights.
fn cut(mut model: pb::ModelProto, part: &Part) -> Result<pb::ModelProto> {
    let graph = model.graph.take().context("the file has no graph")?;
    if part.outputs.is_empty() {
        bail!("a model part needs at least one output");
    }
    let produced_by: HashMap<&str, usize> = graph
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let weights: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let graph_inputs: HashSet<&str> = graph.input.iter().map(|v| v.name.as_str()).collect();
    let fed: HashSet<&str> = part.inputs.iter().map(|t| t.name.as_str()).collect();
    for name in &fed {
        if !produced_by.contains_key(name) && !graph_inputs.contains(name) {
            bail!("the model has no tensor `{name}` to start the part from");
        }
    }

    // Walk back from the outputs to the tensors the part is fed; every
    // node on the way belongs to the part.
    let mut keep = vec![false; graph.node.len()];
    let mut seen: HashSet<&str> = HashSet::new();
    let mut todo: Vec<&str> = Vec::new();
    for t in &part.outputs {
        if !produced_by.contains_key(t.name.as_str()) && !fed.contains(t.name.as_str()) {
            bail!("the model has no tensor `{}` to end the part at", t.name);
        }
        todo.push(&t.name);
    }
    while let Some(name) = todo.pop() {
        if name.is_empty() || fed.contains(name) || weights.contains(name) || !seen.insert(name) {
            continue;
        }
        let Some(&node) = produced_by.get(name) else {
            bail!("the part needs the model's input `{name}`: list it among the part's inputs");
        };
        if !keep[node] {
            keep[node] = true;
            for input in needed_by(&graph.node[node]) {
                todo.push(input);
            }
        }
    }

    let nodes: Vec<pb::NodeProto> = graph
        .node
        .iter()
        .zip(&keep)
        .filter(|(_, &k)| k)
        .map(|(n, _)| n.clone())
        .collect();
    let used: HashSet<&str> = nodes.iter().flat_map(needed_by).collect();
    // The graph's own inputs and outputs keep their types (and named
    // dimensions); tensors inside are typed by the caller, not by the
    // file's `value_info`, which exporters often get wrong.
    let original: HashMap<&str, &pb::ValueInfoProto> = graph
        .input
        .iter()
        .chain(&graph.output)
        .map(|v| (v.name.as_str(), v))
        .collect();
    let edge = |t: &PartTensor| match original.get(t.name.as_str()) {
        Some(&v) if v.r#type.is_some() => v.clone(),
        _ => value_info(t),
    };
    let inputs = part.inputs.iter().map(edge).collect();
    let outputs = part.outputs.iter().map(edge).collect();
    let kept_tensors: HashSet<&str> = nodes
        .iter()
        .flat_map(|n| n.output.iter().map(String::as_str))
        .collect();
    let cut_graph = pb::GraphProto {
        initializer: graph
            .initializer
            .iter()
            .filter(|t| used.contains(t.name.as_str()))
            .cloned()
            .collect(),
        value_info: graph
            .value_info
            .iter()
            .filter(|v| kept_tensors.contains(v.name.as_str()))
            .cloned()
            .collect(),
        input: inputs,
        output: outputs,
        name: format!("{} (part)", graph.name),
        doc_string: graph.doc_string.clone(),
        sparse_initializer: Vec::new(),
        quantization_annotation: Vec::new(),
        node: nodes,
    };
    model.graph = Some(cut_graph);
    Ok(model)
}

/// The tensors a node reads, its sub-graphs' reads from outside included
/// (an `If` or `Loop` body may use tensors of the graph around it).
fn needed_by(node: &pb::NodeProto) -> Vec<&str> {
    let mut names: Vec<&str> = node.input.iter().map(String::as_str).collect();
    for attribute in &node.attribute {
        for graph in attribute.g.iter().chain(&attribute.graphs) {
            let inner: HashSet<&str> = graph
                .node
                .iter()
                .flat_map(|n| n.output.iter().map(String::as_str))
                .chain(graph.initializer.iter().map(|t| t.name.as_str()))
                .chain(graph.input.iter().map(|v| v.name.as_str()))
                .collect();
            names.extend(
                graph
                    .node
                    .iter()
                    .flat_map(needed_by)
                    .filter(|n| !inner.contains(n)),
            );
        }
    }
    names
}

/// An ONNX value description of `spec`.
fn value_info(spec: &PartTensor) -> pb::ValueInfoProto {
    use pb::tensor_proto::DataType;
    let elem_type = match spec.dtype {
        DType::F32 => DataType::Float,
        DType::I64 => DataType::Int64,
        DType::I32 => DataType::Int32,
        DType::U8 => DataType::Uint8,
        DType::I8 => DataType::Int8,
        DType::F16 => DataType::Float16,
        DType::BF16 => DataType::Bfloat16,
    };
    let dim = |(i, &n): (usize, &i64)| pb::tensor_shape_proto::Dimension {
        denotation: String::new(),
        value: Some(if n < 0 {
            pb::tensor_shape_proto::dimension::Value::DimParam(format!("{}_{i}", spec.name))
        } else {
            pb::tensor_shape_proto::dimension::Value::DimValue(n)
        }),
    };
    pb::ValueInfoProto {
        name: spec.name.clone(),
        r#type: Some(pb::TypeProto {
            denotation: String::new(),
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: elem_type as i32,
                shape: Some(pb::TensorShapeProto {
                    dim: spec.shape.iter().enumerate().map(dim).collect(),
                }),
            })),
        }),
        doc_string: String::new(),
    }
}
