//! Dot-product kernels, one set per SIMD variant, picked at run time.
//!
//! Every kernel computes the dot product of one weight row (Q8_0 or Q4_0
//! blocks) with one activation row quantized to Q8_0: per block, an
//! integer dot product of the 32 quants, scaled by both blocks' scales.
//! The variants differ only in how the integer part is computed:
//!
//! - `scalar`: plain Rust, the reference;
//! - `avx2`: ggml's sign trick (`|w|` as u8 times `a·sign(w)` as i8 with
//!   `vpmaddubsw`, then `vpmaddwd`);
//! - `avx512vnni`: the same operands into one `vpdpbusd`.
//!
//! A [`Kernels`] value can only be made for a variant the CPU supports,
//! which is what makes calling the `unsafe` `#[target_feature]` functions
//! behind its safe function pointers sound.

mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use crate::quant::{BlockQ4_0, BlockQ8_0};

/// A kernel variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Portable Rust; the reference every other variant is tested against.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C.
    Avx2,
    /// x86-64 AVX-512 (F, BW, VL) with VNNI.
    Avx512Vnni,
}

impl Variant {
    /// Every variant, fastest first.
    pub const ALL: [Variant; 3] = [Variant::Avx512Vnni, Variant::Avx2, Variant::Scalar];

    /// The name used by `HARK_KERNELS` and `hark doctor`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Scalar => "scalar",
            Variant::Avx2 => "avx2",
            Variant::Avx512Vnni => "avx512vnni",
        }
    }

    /// The CPU features the variant needs.
    pub fn required_features(self) -> &'static [&'static str] {
        match self {
            Variant::Scalar => &[],
            Variant::Avx2 => &["avx2", "fma", "f16c"],
            Variant::Avx512Vnni => &[
                "avx2",
                "fma",
                "f16c",
                "avx512f",
                "avx512bw",
                "avx512vl",
                "avx512vnni",
            ],
        }
    }

    /// Whether this CPU can run the variant.
    pub fn is_supported(self) -> bool {
        match self {
            Variant::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => {
                is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
                    && is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512Vnni => {
                Variant::Avx2.is_supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// Dot product of a Q8_0 weight row with a Q8_0 activation row.
pub type DotQ8 = fn(&[BlockQ8_0], &[BlockQ8_0]) -> f32;
/// Dot product of a Q4_0 weight row with a Q8_0 activation row.
pub type DotQ4 = fn(&[BlockQ4_0], &[BlockQ8_0]) -> f32;

/// The kernels of one variant the CPU supports.
#[derive(Clone, Copy)]
pub struct Kernels {
    variant: Variant,
    dot_q8_0: DotQ8,
    dot_q4_0: DotQ4,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernels")
            .field("variant", &self.variant)
            .finish()
    }
}

impl Kernels {
    /// The kernels of `variant`, if this CPU supports it.
    pub fn for_variant(variant: Variant) -> Option<Kernels> {
        if !variant.is_supported() {
            return None;
        }
        Some(match variant {
            Variant::Scalar => Kernels {
                variant,
                dot_q8_0: scalar::dot_q8_0,
                dot_q4_0: scalar::dot_q4_0,
            },
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => Kernels {
                variant,
                dot_q8_0: x86::dot_q8_0_avx2,
                dot_q4_0: x86::dot_q4_0_avx2,
            },
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512Vnni => Kernels {
                variant,
                dot_q8_0: x86::dot_q8_0_vnni,
                dot_q4_0: x86::dot_q4_0_vnni,
            },
            #[cfg(not(target_arch = "x86_64"))]
            _ => unreachable!("is_supported is false"),
        })
    }

    /// The fastest variant this CPU supports, with the reason it was chosen.
    pub fn best() -> (Kernels, String) {
        for variant in Variant::ALL {
            if let Some(k) = Kernels::for_variant(variant) {
                let reason = match variant {
                    Variant::Scalar => "no supported SIMD extension found".to_string(),
                    v => format!("the CPU has {}", v.required_features().join(", ")),
                };
                return (k, reason);
            }
        }
        unreachable!("scalar is always supported")
    }

    /// The variant forced by `HARK_KERNELS`, else the best one; with the
    /// reason. Fails when `HARK_KERNELS` names an unknown or unsupported
    /// variant.
    pub fn from_env() -> Result<(Kernels, String), String> {
        match std::env::var("HARK_KERNELS") {
            Ok(name) if !name.is_empty() => Kernels::forced(&name),
            _ => Ok(Kernels::best()),
        }
    }

    /// The variant called `name` (as in `HARK_KERNELS`), if this CPU has it.
    pub fn forced(name: &str) -> Result<(Kernels, String), String> {
        let variant = Variant::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| {
                format!(
                    "HARK_KERNELS={name} is not a kernel variant (use scalar, avx2 or avx512vnni)"
                )
            })?;
        let kernels = Kernels::for_variant(variant).ok_or_else(|| {
            format!(
                "HARK_KERNELS={name}, but this CPU lacks some of {}",
                variant.required_features().join(", ")
            )
        })?;
        Ok((kernels, format!("forced by HARK_KERNELS={name}")))
    }

    /// Which variant these are.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// Dot product of a Q8_0 weight row and a Q8_0 activation row of the
    /// same number of blocks.
    pub fn dot_q8_0(&self, w: &[BlockQ8_0], a: &[BlockQ8_0]) -> f32 {
        assert_eq!(w.len(), a.len(), "rows must have the same number of blocks");
        (self.dot_q8_0)(w, a)
    }

    /// Dot product of a Q4_0 weight row and a Q8_0 activation row of the
    /// same number of blocks.
    pub fn dot_q4_0(&self, w: &[BlockQ4_0], a: &[BlockQ8_0]) -> f32 {
        assert_eq!(w.len(), a.len(), "rows must have the same number of blocks");
        (self.dot_q4_0)(w, a)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::quant::{blocks_for, quantize_row_q4_0, quantize_row_q8_0};

    /// Deterministic pseudo-random values in [-scale, scale] (xorshift).
    pub(crate) fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn supported() -> Vec<Kernels> {
        Variant::ALL
            .into_iter()
            .filter_map(Kernels::for_variant)
            .collect()
    }

    /// Every variant the machine supports agrees with the scalar reference,
    /// on awkward lengths (not multiples of 32, one value, large).
    #[test]
    fn every_variant_matches_scalar() {
        let scalar = Kernels::for_variant(Variant::Scalar).unwrap();
        let variants = supported();
        eprintln!(
            "testing variants: {:?}",
            variants.iter().map(|k| k.variant()).collect::<Vec<_>>()
        );
        for k in [1, 7, 31, 32, 33, 64, 100, 384, 1536, 4099] {
            for seed in 0..3 {
                let w = random(k, seed * 31 + k as u64, 2.0);
                let a = random(k, seed * 17 + 5 + k as u64, 1.0);
                let n = blocks_for(k);
                let mut w8 = vec![BlockQ8_0::ZERO; n];
                let mut w4 = vec![BlockQ4_0::ZERO; n];
                let mut a8 = vec![BlockQ8_0::ZERO; n];
                quantize_row_q8_0(&w, &mut w8);
                quantize_row_q4_0(&w, &mut w4);
                quantize_row_q8_0(&a, &mut a8);
                let (r8, r4) = (scalar.dot_q8_0(&w8, &a8), scalar.dot_q4_0(&w4, &a8));
                for kernels in &variants {
                    let (v8, v4) = (kernels.dot_q8_0(&w8, &a8), kernels.dot_q4_0(&w4, &a8));
                    // Same integer sums; only the float accumulation order differs.
                    let tolerance = 1e-5 * (1.0 + r8.abs().max(r4.abs())) * (n as f32).sqrt();
                    assert!(
                        (v8 - r8).abs() <= tolerance,
                        "{:?} q8 k={k}: {v8} vs {r8}",
                        kernels.variant()
                    );
                    assert!(
                        (v4 - r4).abs() <= tolerance,
                        "{:?} q4 k={k}: {v4} vs {r4}",
                        kernels.variant()
                    );
                }
                // And the quantized result is close to the exact one.
                let exact: f32 = w.iter().zip(&a).map(|(x, y)| x * y).sum();
                let magnitude: f32 = w.iter().zip(&a).map(|(x, y)| (x * y).abs()).sum();
                assert!(
                    (r8 - exact).abs() <= 0.02 * magnitude + 1e-6,
                    "q8 k={k}: {r8} vs {exact}"
                );
                assert!(
                    (r4 - exact).abs() <= 0.15 * magnitude + 1e-6,
                    "q4 k={k}: {r4} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn variants_can_be_forced_by_name() {
        let (k, reason) = Kernels::forced("scalar").unwrap();
        assert_eq!(
            (k.variant(), reason.as_str()),
            (Variant::Scalar, "forced by HARK_KERNELS=scalar")
        );
        let error = Kernels::forced("sse9").unwrap_err();
        assert_eq!(
            error,
            "HARK_KERNELS=sse9 is not a kernel variant (use scalar, avx2 or avx512vnni)"
        );
        for v in Variant::ALL {
            assert_eq!(Kernels::forced(v.name()).is_ok(), v.is_supported());
        }
        let (best, reason) = Kernels::best();
        assert!(best.variant().is_supported() && !reason.is_empty());
    }
}
