//! Reading CTranslate2's `model.bin`: its variables, borrowed from the
//! file's bytes, widened to f32.

use std::collections::HashMap;

use half::f16;

use super::{invalid, ConvertError};

/// A parsed CTranslate2 `model.bin`; variables borrow the input bytes.
pub(super) struct Ct2Model<'a> {
    pub(super) spec: String,
    pub(super) vars: HashMap<String, Variable<'a>>,
}

pub(super) struct Variable<'a> {
    pub(super) name: String,
    pub(super) dims: Vec<usize>,
    pub(super) dtype: u8,
    pub(super) data: &'a [u8],
}

/// More layers than any Whisper model has (large: 32): a name claiming
/// `layer_4000000000` must not make the converter loop that long.
const MAX_LAYERS: usize = 256;

/// CTranslate2 data types.
pub(super) const CT2_F32: u8 = 0;
pub(super) const CT2_I8: u8 = 1;
pub(super) const CT2_I16: u8 = 2;
pub(super) const CT2_I32: u8 = 3;
pub(super) const CT2_F16: u8 = 4;
pub(super) const CT2_BF16: u8 = 5;

impl<'a> Ct2Model<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, ConvertError> {
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
            let bytes = dims.iter().try_fold(width, |n: usize, &d| n.checked_mul(d));
            if bytes != Some(len) {
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

    pub(super) fn get(&self, name: &str) -> Result<&Variable<'a>, ConvertError> {
        self.vars
            .get(name)
            .ok_or_else(|| invalid(format!("it has no variable `{name}`")))
    }

    /// 1 + the highest N in `{side}/layer_N/...`.
    pub(super) fn layer_count(&self, side: &str) -> Result<usize, ConvertError> {
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
            .filter(|&n| n < MAX_LAYERS)
            .map(|n| n + 1)
            .ok_or_else(|| {
                invalid(format!(
                    "it has no {side} layers, or more than {MAX_LAYERS}"
                ))
            })
    }
}

impl Variable<'_> {
    pub(super) fn matrix_dims(&self) -> Result<[usize; 2], ConvertError> {
        match self.dims[..] {
            [rows, cols] => Ok([rows, cols]),
            _ => Err(invalid(format!("{} is not a matrix", self.name))),
        }
    }

    /// The values widened to f32 (exact for f16 and bf16).
    pub(super) fn floats(&self) -> Result<Vec<f32>, ConvertError> {
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

    pub(super) fn integer(&self) -> Result<usize, ConvertError> {
        let value = match (self.dtype, self.data) {
            (CT2_I8, [b]) => *b as i8 as i64,
            (CT2_I16, &[a, b]) => i16::from_le_bytes([a, b]) as i64,
            (CT2_I32, &[a, b, c, d]) => i32::from_le_bytes([a, b, c, d]) as i64,
            _ => return Err(invalid(format!("{} is not an integer scalar", self.name))),
        };
        usize::try_from(value).map_err(|_| invalid(format!("{} is negative", self.name)))
    }
}

pub(super) struct Reader<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], ConvertError> {
        let slice = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or_else(|| invalid(format!("truncated at byte {}", self.pos)))?;
        self.pos += n;
        Ok(slice)
    }
    pub(super) fn u8(&mut self) -> Result<u8, ConvertError> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u16(&mut self) -> Result<u16, ConvertError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(super) fn u32(&mut self) -> Result<u32, ConvertError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A u16-length-prefixed, NUL-terminated string.
    pub(super) fn string(&mut self) -> Result<String, ConvertError> {
        let n = self.u16()? as usize;
        let raw = self.take(n)?;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        String::from_utf8(raw.to_vec())
            .map_err(|_| invalid(format!("a name at byte {} is not UTF-8", self.pos)))
    }
}
