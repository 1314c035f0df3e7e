//! The MiniLM (BERT) encoder, on the host's kernels: every matrix product
//! is a host `linear` on a quantized matrix, every normalisation a host
//! op; only attention's small per-head products (sequence × sequence)
//! are plain loops here.

use std::path::Path;

use hark_sdk::{
    inference::{Inference, Matrix, WeightFile, WeightFormat},
    Error,
};

/// Hidden size.
pub const DIM: usize = 384;
const HEADS: usize = 12;
const HEAD_DIM: usize = DIM / HEADS;
const LAYERS: usize = 6;
const EPS: f32 = 1e-12;
const WORDS: &str = "embeddings.word_embeddings.weight";

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

struct Dense {
    matrix: Matrix,
    bias: Vec<f32>,
}

struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attention_out: Dense,
    attention_norm: Norm,
    up: Dense,
    down: Dense,
    output_norm: Norm,
}

/// all-MiniLM-L6-v2, weights held by the host.
pub struct Encoder {
    core: Inference,
    file: WeightFile,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    max_positions: usize,
}

impl Encoder {
    /// Maps `model.safetensors` through the host and quantizes the linear
    /// layers to `format`.
    pub fn load(core: Inference, path: &Path, format: WeightFormat) -> Result<Encoder, Error> {
        let file = core.open_weights(path)?;
        let vector = |name: &str| file.get(name)?.to_f32();
        let norm = |prefix: &str| -> Result<Norm, Error> {
            Ok(Norm {
                gamma: vector(&format!("{prefix}.weight"))?,
                beta: vector(&format!("{prefix}.bias"))?,
            })
        };
        let dense = |prefix: &str| -> Result<Dense, Error> {
            Ok(Dense {
                matrix: file.matrix(&format!("{prefix}.weight"), format)?,
                bias: vector(&format!("{prefix}.bias"))?,
            })
        };
        let mut layers = Vec::with_capacity(LAYERS);
        for l in 0..LAYERS {
            let p = format!("encoder.layer.{l}");
            layers.push(Layer {
                query: dense(&format!("{p}.attention.self.query"))?,
                key: dense(&format!("{p}.attention.self.key"))?,
                value: dense(&format!("{p}.attention.self.value"))?,
                attention_out: dense(&format!("{p}.attention.output.dense"))?,
                attention_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                up: dense(&format!("{p}.intermediate.dense"))?,
                down: dense(&format!("{p}.output.dense"))?,
                output_norm: norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        let words = file.get(WORDS)?;
        if words.shape.get(1) != Some(&DIM) {
            return Err(Error::failed(format!(
                "{WORDS} has shape {:?}; this is not a 384-wide MiniLM",
                words.shape
            )));
        }
        let positions = vector("embeddings.position_embeddings.weight")?;
        let token_type = vector("embeddings.token_type_embeddings.weight")?[..DIM].to_vec();
        Ok(Encoder {
            max_positions: positions.len() / DIM,
            positions,
            token_type,
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
            core,
            file,
        })
    }

    /// The longest input, in tokens.
    pub fn max_positions(&self) -> usize {
        self.max_positions
    }

    /// The unit-length sentence embedding of `ids` (`[CLS] … [SEP]`):
    /// the mean of [`Encoder::hidden_states`], normalised.
    pub fn embed(&self, ids: &[u32]) -> Result<Vec<f32>, Error> {
        let x = self.hidden_states(ids)?;
        self.pool(&x)
    }

    /// The unit-length mean of `hidden` (`tokens × DIM`, as returned by
    /// [`Encoder::hidden_states`]).
    pub fn pool(&self, hidden: &[f32]) -> Result<Vec<f32>, Error> {
        let s = hidden.len() / DIM;
        let mut pooled = vec![0.0; DIM];
        self.core.mean_pool(hidden, &vec![1u8; s], &mut pooled)?;
        let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        pooled.iter_mut().for_each(|v| *v /= norm);
        Ok(pooled)
    }

    /// The last layer's output for every token of `ids` (`[CLS] … [SEP]`,
    /// truncated to [`Encoder::max_positions`]): `tokens × DIM` floats,
    /// row `i` for token `i`.
    pub fn hidden_states(&self, ids: &[u32]) -> Result<Vec<f32>, Error> {
        let s = ids.len().min(self.max_positions);
        let core = &self.core;
        let mut x = self.embeddings(&ids[..s])?;
        core.layer_norm(
            &mut x,
            &self.embedding_norm.gamma,
            &self.embedding_norm.beta,
            EPS,
        )?;
        let mut q = vec![0.0; s * DIM];
        let mut k = vec![0.0; s * DIM];
        let mut v = vec![0.0; s * DIM];
        let mut context = vec![0.0; s * DIM];
        let mut attended = vec![0.0; s * DIM];
        let mut hidden = vec![0.0; s * 4 * DIM];
        let mut out = vec![0.0; s * DIM];
        for layer in &self.layers {
            linear(&layer.query, &x, &mut q)?;
            linear(&layer.key, &x, &mut k)?;
            linear(&layer.value, &x, &mut v)?;
            self.attention(&q, &k, &v, s, &mut context)?;
            linear(&layer.attention_out, &context, &mut attended)?;
            core.add(&mut attended, &x)?;
            let n = &layer.attention_norm;
            core.layer_norm(&mut attended, &n.gamma, &n.beta, EPS)?;
            linear(&layer.up, &attended, &mut hidden)?;
            core.gelu(&mut hidden);
            linear(&layer.down, &hidden, &mut out)?;
            core.add(&mut out, &attended)?;
            let n = &layer.output_norm;
            core.layer_norm(&mut out, &n.gamma, &n.beta, EPS)?;
            std::mem::swap(&mut x, &mut out);
        }
        Ok(x)
    }

    /// Word + position + token-type embeddings; word rows are read straight
    /// from the host's mapping of the file.
    fn embeddings(&self, ids: &[u32]) -> Result<Vec<f32>, Error> {
        let words = self.file.get(WORDS)?;
        let vocab = words.shape[0];
        let mut x = vec![0.0f32; ids.len() * DIM];
        for (i, (&id, row)) in ids.iter().zip(x.chunks_exact_mut(DIM)).enumerate() {
            let id = id as usize;
            if id >= vocab {
                return Err(Error::failed(format!(
                    "token id {id} is outside the vocabulary ({vocab})"
                )));
            }
            let bytes = &words.bytes[id * DIM * 4..(id + 1) * DIM * 4];
            let position = &self.positions[i * DIM..(i + 1) * DIM];
            for (c, value) in row.iter_mut().enumerate() {
                let b = &bytes[c * 4..c * 4 + 4];
                *value =
                    f32::from_le_bytes([b[0], b[1], b[2], b[3]]) + position[c] + self.token_type[c];
            }
        }
        Ok(x)
    }

    /// Multi-head self-attention (no padding: one sentence at a time).
    fn attention(
        &self,
        q: &[f32],
        k: &[f32],
        v: &[f32],
        s: usize,
        out: &mut [f32],
    ) -> Result<(), Error> {
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        let mut scores = vec![0.0f32; s * s];
        out.fill(0.0);
        for h in 0..HEADS {
            let head = h * HEAD_DIM..(h + 1) * HEAD_DIM;
            for i in 0..s {
                let qi = &q[i * DIM..][head.clone()];
                for j in 0..s {
                    let kj = &k[j * DIM..][head.clone()];
                    scores[i * s + j] = qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f32>() * scale;
                }
            }
            self.core.softmax(&mut scores, s)?;
            for i in 0..s {
                let oi = &mut out[i * DIM..][head.clone()];
                for j in 0..s {
                    let w = scores[i * s + j];
                    for (o, vj) in oi.iter_mut().zip(&v[j * DIM..][head.clone()]) {
                        *o += w * vj;
                    }
                }
            }
        }
        Ok(())
    }
}

fn linear(dense: &Dense, x: &[f32], y: &mut [f32]) -> Result<(), Error> {
    dense.matrix.linear(x, Some(&dense.bias), y)
}
