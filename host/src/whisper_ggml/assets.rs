//! What the ggml file carries besides weights: the mel filters (from
//! openai-whisper's `mel_filters.npz`) and the byte-level vocabulary.

use std::collections::HashMap;

use super::{invalid, ConvertError};

pub(super) struct MelFilters {
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) data: Vec<f32>,
}

/// `mel_{n_mels}.npy` out of openai-whisper's `mel_filters.npz` (a zip of
/// little-endian f32 `.npy` arrays).
pub(super) fn mel_filters(npz: &[u8], n_mels: usize) -> Result<MelFilters, ConvertError> {
    let bad = |why: String| invalid(format!("mel_filters.npz: {why}"));
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(npz)).map_err(|e| bad(e.to_string()))?;
    let member = format!("mel_{n_mels}.npy");
    let mut file = zip
        .by_name(&member)
        .map_err(|_| bad(format!("no {member} for a model with {n_mels} mel bands")))?;
    // A mel filter bank is tens of kilobytes; a member that inflates past
    // the bound is not one (and must not fill memory on the way).
    const MAX_NPY: u64 = 16 << 20;
    let mut npy = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, MAX_NPY + 1), &mut npy)
        .map_err(|e| bad(e.to_string()))?;
    if npy.len() as u64 > MAX_NPY {
        return Err(bad(format!("{member} is larger than {MAX_NPY} bytes")));
    }
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
pub(super) fn vocabulary_bytes(
    vocabulary: &str,
    n_vocab: usize,
) -> Result<Vec<Vec<u8>>, ConvertError> {
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
pub(super) fn byte_decoder() -> HashMap<char, u8> {
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
