//! CTranslate2 variables to whisper.cpp tensors: names, order, fused
//! projections split, absent biases dropped.

use super::{ctranslate2::Ct2Model, ggml::Tensor, invalid, ConvertError};

/// The tensors in whisper.cpp's order and naming (openai-whisper's).
pub(super) fn whisper_cpp_tensors(
    model: &Ct2Model,
    n_encoder_layers: usize,
    n_decoder_layers: usize,
) -> Result<Vec<Tensor>, ConvertError> {
    let mut out = Vec::new();
    let copy = |out: &mut Vec<Tensor>, name: &str, source: &str, keep_f32: bool| {
        let v = model.get(source)?;
        out.push(Tensor {
            name: name.to_string(),
            dims: v.dims.clone(),
            values: v.floats()?,
            keep_f32,
        });
        Ok::<_, ConvertError>(())
    };
    copy(
        &mut out,
        "encoder.positional_embedding",
        "encoder/position_encodings/encodings",
        true,
    )?;
    for conv in ["conv1", "conv2"] {
        copy(
            &mut out,
            &format!("encoder.{conv}.weight"),
            &format!("encoder/{conv}/weight"),
            false,
        )?;
        copy(
            &mut out,
            &format!("encoder.{conv}.bias"),
            &format!("encoder/{conv}/bias"),
            true,
        )?;
        // whisper.cpp adds conv biases to [time, channels] maps: [n, 1].
        let bias = out.last_mut().expect("just pushed");
        let Some(&n) = bias.dims.first() else {
            return Err(invalid(format!(
                "encoder/{conv}/bias is a scalar, not a vector"
            )));
        };
        bias.dims = vec![n, 1];
    }
    for i in 0..n_encoder_layers {
        let (s, p) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        attention_tensors(model, &mut out, &s, &p, "self_attention", "attn")?;
        feed_forward_tensors(model, &mut out, &s, &p)?;
    }
    layer_norm(model, &mut out, "encoder.ln_post", "encoder/layer_norm")?;
    copy(
        &mut out,
        "decoder.positional_embedding",
        "decoder/position_encodings/encodings",
        true,
    )?;
    copy(
        &mut out,
        "decoder.token_embedding.weight",
        "decoder/embeddings/weight",
        false,
    )?;
    for i in 0..n_decoder_layers {
        let (s, p) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        attention_tensors(model, &mut out, &s, &p, "self_attention", "attn")?;
        // Cross-attention: the query alone, then keys and values fused.
        linear(
            model,
            &mut out,
            &[&format!("{p}.cross_attn.query")],
            &format!("{s}/attention/linear_0"),
        )?;
        linear(
            model,
            &mut out,
            &[
                &format!("{p}.cross_attn.key"),
                &format!("{p}.cross_attn.value"),
            ],
            &format!("{s}/attention/linear_1"),
        )?;
        linear(
            model,
            &mut out,
            &[&format!("{p}.cross_attn.out")],
            &format!("{s}/attention/linear_2"),
        )?;
        layer_norm(
            model,
            &mut out,
            &format!("{p}.cross_attn_ln"),
            &format!("{s}/attention/layer_norm"),
        )?;
        feed_forward_tensors(model, &mut out, &s, &p)?;
    }
    layer_norm(model, &mut out, "decoder.ln", "decoder/layer_norm")?;
    Ok(out)
}

/// Self-attention: Q, K, V fused along rows in CTranslate2, then the output
/// projection and the block's first layer norm.
pub(super) fn attention_tensors(
    model: &Ct2Model,
    out: &mut Vec<Tensor>,
    source: &str,
    prefix: &str,
    ct2: &str,
    name: &str,
) -> Result<(), ConvertError> {
    linear(
        model,
        out,
        &[
            &format!("{prefix}.{name}.query"),
            &format!("{prefix}.{name}.key"),
            &format!("{prefix}.{name}.value"),
        ],
        &format!("{source}/{ct2}/linear_0"),
    )?;
    linear(
        model,
        out,
        &[&format!("{prefix}.{name}.out")],
        &format!("{source}/{ct2}/linear_1"),
    )?;
    layer_norm(
        model,
        out,
        &format!("{prefix}.{name}_ln"),
        &format!("{source}/{ct2}/layer_norm"),
    )
}

pub(super) fn feed_forward_tensors(
    model: &Ct2Model,
    out: &mut Vec<Tensor>,
    source: &str,
    prefix: &str,
) -> Result<(), ConvertError> {
    linear(
        model,
        out,
        &[&format!("{prefix}.mlp.0")],
        &format!("{source}/ffn/linear_0"),
    )?;
    linear(
        model,
        out,
        &[&format!("{prefix}.mlp.2")],
        &format!("{source}/ffn/linear_1"),
    )?;
    layer_norm(
        model,
        out,
        &format!("{prefix}.mlp_ln"),
        &format!("{source}/ffn/layer_norm"),
    )
}

/// A (possibly fused) linear layer split into `names` along its rows.
/// Key projections have no bias in Whisper: CTranslate2 stores zeros,
/// whisper.cpp stores nothing.
pub(super) fn linear(
    model: &Ct2Model,
    out: &mut Vec<Tensor>,
    names: &[&str],
    source: &str,
) -> Result<(), ConvertError> {
    let weight = model.get(&format!("{source}/weight"))?;
    let [rows, cols] = weight.matrix_dims()?;
    if rows % names.len() != 0 {
        return Err(invalid(format!(
            "{source}/weight has {rows} rows, not divisible into {} projections",
            names.len()
        )));
    }
    let part = rows / names.len();
    let weights = weight.floats()?;
    let bias = match model.vars.get(&format!("{source}/bias")) {
        Some(b) => Some(b.floats()?),
        None => None,
    };
    for (i, name) in names.iter().enumerate() {
        out.push(Tensor {
            name: format!("{name}.weight"),
            dims: vec![part, cols],
            values: weights[i * part * cols..(i + 1) * part * cols].to_vec(),
            keep_f32: false,
        });
        let Some(bias) = &bias else { continue };
        let values = bias
            .get(i * part..(i + 1) * part)
            .ok_or_else(|| invalid(format!("{source}/bias is shorter than its weight")))?;
        if name.ends_with(".key") {
            if values.iter().any(|&v| v != 0.0) {
                return Err(invalid(format!(
                    "{source}/bias has a non-zero key bias, which whisper.cpp cannot represent"
                )));
            }
            continue;
        }
        out.push(Tensor {
            name: format!("{name}.bias"),
            dims: vec![part],
            values: values.to_vec(),
            keep_f32: false,
        });
    }
    Ok(())
}

pub(super) fn layer_norm(
    model: &Ct2Model,
    out: &mut Vec<Tensor>,
    name: &str,
    source: &str,
) -> Result<(), ConvertError> {
    for (suffix, ct2) in [("weight", "gamma"), ("bias", "beta")] {
        let v = model.get(&format!("{source}/{ct2}"))?;
        out.push(Tensor {
            name: format!("{name}.{suffix}"),
            dims: v.dims.clone(),
            values: v.floats()?,
            keep_f32: false,
        });
    }
    Ok(())
}
