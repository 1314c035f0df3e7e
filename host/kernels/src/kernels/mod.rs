//! Matrix-product kernels, one set per SIMD variant, picked at run time.
//!
//! Every kernel multiplies a range of 16-row weight panels (see
//! `matrix.rs` for the layout) by all activation rows: per block of 32
//! columns, an exact integer dot product of the quants, scaled by the
//! weight and activation scales and accumulated in f32. The variants
//! differ only in how the integer part is computed:
//!
//! - `scalar`: plain Rust over the panel layout, the reference;
//! - `avx2`: `vpmaddubsw` (u8 × i8 → i16 pairs) + `vpmaddwd`, with ggml's
//!   sign trick for 8-bit weights (`|a|` times `w · sign(a)`), 8 rows per
//!   register;
//! - `avx512vnni`: one `vpdpbusd` per 4 columns × 16 rows, one operand
//!   offset by +128 to make it unsigned (corrected once per block).
//!
//! Register blocking: each weight load serves several activation rows
//! (4 with VNNI, 2 with AVX2), and independent accumulator chains hide
//! the multiply-add latency when there is a single activation row (GEMV).
//!
//! A [`Kernels`] value can only be made for a variant the CPU supports,
//! which is what makes calling the `unsafe` `#[target_feature]` functions
//! behind its function pointers sound.

#[cfg(target_arch = "x86_64")]
mod avx2;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod vnni;

use crate::matrix::{ActivationBytes, Activations, Out, Panels, QuantFormat, QuantMatrix};

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
        self.missing_features().is_empty()
    }

    /// The features the variant needs that this CPU lacks.
    pub fn missing_features(self) -> Vec<&'static str> {
        self.required_features()
            .iter()
            .copied()
            .filter(|f| !cpu_has(f))
            .collect()
    }
}

/// The CPU features worth reporting on this architecture (`hark doctor`).
#[cfg(target_arch = "x86_64")]
pub const CPU_FEATURES: &[&str] = &[
    "sse4.2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512vnni",
    "avxvnni",
];
/// The CPU features worth reporting on this architecture (`hark doctor`).
#[cfg(target_arch = "aarch64")]
pub const CPU_FEATURES: &[&str] = &["neon", "dotprod", "i8mm"];
/// The CPU features worth reporting on this architecture (`hark doctor`).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const CPU_FEATURES: &[&str] = &[];

/// Whether this CPU has the feature `name`, as `is_x86_feature_detected!`
/// (or the aarch64 equivalent) names it; false for any other name. The
/// one place features are detected: kernel choice and `hark doctor` agree.
pub fn cpu_has(name: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match name {
            "sse4.2" => is_x86_feature_detected!("sse4.2"),
            "avx" => is_x86_feature_detected!("avx"),
            "avx2" => is_x86_feature_detected!("avx2"),
            "fma" => is_x86_feature_detected!("fma"),
            "f16c" => is_x86_feature_detected!("f16c"),
            "avx512f" => is_x86_feature_detected!("avx512f"),
            "avx512bw" => is_x86_feature_detected!("avx512bw"),
            "avx512vl" => is_x86_feature_detected!("avx512vl"),
            "avx512vnni" => is_x86_feature_detected!("avx512vnni"),
            "avxvnni" => is_x86_feature_detected!("avxvnni"),
            _ => false,
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        match name {
            "neon" => std::arch::is_aarch64_feature_detected!("neon"),
            "dotprod" => std::arch::is_aarch64_feature_detected!("dotprod"),
            "i8mm" => std::arch::is_aarch64_feature_detected!("i8mm"),
            _ => false,
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let _ = name;
        false
    }
}

/// Computes the products of a range of panels with all activation rows.
///
/// `unsafe`: a variant's function may only be called on a CPU that has its
/// features (which [`Kernels::for_variant`] checks).
pub(crate) type PanelsFn = unsafe fn(&QuantMatrix, &Activations, Panels, Out);

/// The kernels of one variant the CPU supports.
#[derive(Clone, Copy)]
pub struct Kernels {
    variant: Variant,
    q8_0: PanelsFn,
    q4_0: PanelsFn,
    i8row: PanelsFn,
    f32: PanelsFn,
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
                q8_0: scalar::q8_0,
                q4_0: scalar::q4_0,
                i8row: scalar::i8row,
                f32: scalar::f32,
            },
            #[cfg(target_arch = "x86_64")]
            Variant::Avx2 => Kernels {
                variant,
                q8_0: avx2::q8_0,
                q4_0: avx2::q4_0,
                i8row: avx2::i8row,
                f32: avx2::f32,
            },
            #[cfg(target_arch = "x86_64")]
            Variant::Avx512Vnni => Kernels {
                variant,
                q8_0: vnni::q8_0,
                q4_0: vnni::q4_0,
                i8row: vnni::i8row,
                f32: vnni::f32,
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

    /// Which unsigned bytes this variant's kernels read for `format`.
    pub(crate) fn activation_bytes(&self, format: QuantFormat) -> ActivationBytes {
        match (self.variant, format) {
            (_, QuantFormat::Q4_0 | QuantFormat::F32) | (Variant::Scalar, _) => {
                ActivationBytes::Signed
            }
            (Variant::Avx512Vnni, _) => ActivationBytes::Offset,
            (Variant::Avx2, _) => ActivationBytes::Magnitude,
        }
    }

    /// Runs the kernel for `m`'s format over `panels`.
    pub(crate) fn run_panels(&self, m: &QuantMatrix, acts: &Activations, panels: Panels, out: Out) {
        let kernel = match m.format {
            QuantFormat::Q8_0 => self.q8_0,
            QuantFormat::Q4_0 => self.q4_0,
            QuantFormat::I8Row => self.i8row,
            QuantFormat::F32 => self.f32,
        };
        // SAFETY: a `Kernels` only exists for a variant the CPU supports.
        unsafe { kernel(m, acts, panels, out) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
