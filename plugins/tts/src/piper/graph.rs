//! Where a Piper voice's network can be cut: the tensor its decoder
//! starts from.
//!
//! A VITS voice is one ONNX graph: text encoder, duration predictor and
//! flow make a latent of ~86 frames per second of speech, and a HiFi-GAN
//! decoder turns it into samples (256 per frame). The decoder is most of
//! the work and only looks ~10 frames either way, so it can run on a
//! stretch of the latent at a time: the first audio then waits for the
//! encoder and one short stretch, not for the whole sentence.
//!
//! The decoder is found by its first layer's weight, `dec.conv_pre.weight`
//! (the parameter name in Piper's training code, which every exported
//! voice keeps); the tensor that layer reads is the cut. The file is read
//! with `prost` and three messages of ONNX's schema, only the fields
//! needed here (everything else, the weights included, is skipped).

use std::path::Path;

use prost::Message as _;

/// The decoder's first weight in every Piper (VITS) voice.
const DECODER_FIRST_WEIGHT: &str = "dec.conv_pre.weight";

#[derive(Clone, PartialEq, prost::Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfoProto>,
    #[prost(message, repeated, tag = "12")]
    output: Vec<ValueInfoProto>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ValueInfoProto {
    #[prost(string, tag = "1")]
    name: String,
}

/// Where a voice's graph is cut.
#[derive(Debug, PartialEq, Eq)]
pub struct Cut {
    /// The graph's inputs (the encoder's), in order.
    pub inputs: Vec<String>,
    /// The tensor the decoder reads.
    pub latent: String,
    /// The graph's first output (the samples).
    pub output: String,
}

/// Where the voice at `path` is cut, or `None` when the file is not a
/// VITS graph with a recognisable decoder (it is then synthesised a
/// sentence at once; the whole load says what is wrong with a file that
/// is no model at all).
pub fn cut(path: &Path) -> Option<Cut> {
    let bytes = std::fs::read(path).ok()?;
    cut_of(&bytes)
}

fn cut_of(bytes: &[u8]) -> Option<Cut> {
    let graph = ModelProto::decode(bytes).ok()?.graph?;
    let latent = graph
        .node
        .into_iter()
        .find(|n| n.input.iter().any(|i| i == DECODER_FIRST_WEIGHT))
        .and_then(|n| n.input.into_iter().next())?;
    Some(Cut {
        inputs: graph.input.into_iter().map(|v| v.name).collect(),
        latent,
        output: graph.output.into_iter().next()?.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(name: &str) -> ValueInfoProto {
        ValueInfoProto { name: name.into() }
    }

    #[test]
    fn finds_the_tensor_the_decoders_first_layer_reads() {
        let graph = |weight: &str| ModelProto {
            graph: Some(GraphProto {
                node: vec![
                    NodeProto {
                        input: vec!["input".into(), "enc.weight".into()],
                    },
                    NodeProto {
                        input: vec!["/Mul_7_output_0".into(), weight.into()],
                    },
                ],
                input: vec![value("input"), value("input_lengths"), value("scales")],
                output: vec![value("output")],
            }),
        };
        assert_eq!(
            cut_of(&graph(DECODER_FIRST_WEIGHT).encode_to_vec()),
            Some(Cut {
                inputs: vec!["input".into(), "input_lengths".into(), "scales".into()],
                latent: "/Mul_7_output_0".into(),
                output: "output".into(),
            })
        );
        assert_eq!(cut_of(&graph("w").encode_to_vec()), None);
        assert_eq!(cut_of(b"not a model"), None);
    }
}
