//! `hark serve` as Home Assistant meets it: the real `hark` binary serving
//! `tests/pipelines/serve.ron` over Wyoming, driven by the `wyoming`
//! library from PyPI (`tests/wyoming/client.py`, a venv made in
//! `target/wyoming-client`), and by raw sockets for what a well-behaved
//! client never sends.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use hark_tests::{hark_bin, workspace_root, write_wav};
use serde_json::Value;

/// A `hark serve` process, killed on drop.
struct Server {
    child: Child,
    port: u16,
    metrics: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(extra: &[&str]) -> Server {
    serve_on(free_port(), extra)
}

fn serve_on(port: u16, extra: &[&str]) -> Server {
    hark_tests::install_models(&["whisper-tiny.en"]);
    serve_pipeline("tests/pipelines/serve.ron", port, extra)
}

fn serve_pipeline(pipeline: &str, port: u16, extra: &[&str]) -> Server {
    let metrics = free_port();
    let mut child = Command::new(hark_bin())
        .current_dir(workspace_root())
        .args(["serve", pipeline])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--metrics", &format!("127.0.0.1:{metrics}")])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting hark serve");
    // Ready when it says what it serves.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            panic!("hark serve ended before serving:\n{said}");
        }
        said.push_str(&line);
        if line.starts_with("serving ") {
            break;
        }
    }
    // Keep draining its log so that it never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    Server {
        child,
        port,
        metrics,
    }
}

/// The venv with the pinned `wyoming` package, made once.
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = hark_tests::target_dir().join("../wyoming-client");
            let python = venv.join("bin/python");
            let ready = |p: &Path| {
                Command::new(p)
                    .args(["-c", "import wyoming"])
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !ready(&python) {
                let status = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .expect("python3 -m venv");
                assert!(status.success(), "python3 -m venv failed");
                let status = Command::new(venv.join("bin/pip"))
                    .args(["install", "-q", "--require-hashes", "-r"])
                    .arg(workspace_root().join("tests/wyoming/requirements.txt"))
                    .status()
                    .expect("pip install");
                assert!(status.success(), "installing wyoming from PyPI failed");
            }
            python
        })
        .clone()
}

/// Runs `client.py PORT ARGS..`; its JSON answer.
fn client(port: u16, args: &[&str]) -> Value {
    let output = Command::new(python())
        .arg(workspace_root().join("tests/wyoming/client.py"))
        .arg(port.to_string())
        .args(args)
        .output()
        .expect("running the wyoming client");
    assert!(
        output.status.success(),
        "client.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("client.py prints JSON")
}

fn speech_wav(dir: &Path, text: &str, rate: u32) -> PathBuf {
    let samples = hark_sdk::testing::speech(text, rate).expect("espeak-ng");
    let pcm: Vec<i16> = samples.iter().map(|s| (s * 32767.0) as i16).collect();
    let path = dir.join("speech.wav");
    write_wav(&path, rate, &pcm);
    path
}

fn words(text: &str) -> Vec<String> {
    hark_nlu::text::normalise(text)
}

fn metric(server: &Server, name: &str) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", server.metrics)).unwrap();
    write!(stream, "GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn home_assistants_client_uses_every_service() {
    let server = serve(&[]);
    let info = client(server.port, &["describe"]);
    assert!(info["seconds"].as_f64().unwrap() < 1.0, "{info}");
    assert_eq!(info["asr"], serde_json::json!(["tiny.en"]));
    assert_eq!(info["tts"], serde_json::json!(["en-us"]));
    assert_eq!(info["tts_streaming"], true);
    assert_eq!(info["handle"].as_array().unwrap().len(), 1, "{info}");

    // Speech at 22,050 Hz: the server converts it to what whisper takes.
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "What time is it?", 22_050);
    let heard = client(server.port, &["transcribe", wav.to_str().unwrap()]);
    assert_eq!(heard["type"], "transcript", "{heard}");
    assert_eq!(
        words(heard["text"].as_str().unwrap()),
        words("what time is it"),
        "{heard}"
    );

    let answer = client(server.port, &["handle", "what time is it"]);
    assert_eq!(answer["type"], "handled", "{answer}");
    let reply = answer["data"]["text"].as_str().unwrap();
    assert!(
        reply.starts_with("It is ") && reply.contains(':'),
        "a time: {answer}"
    );
    let unknown = client(server.port, &["handle", "paint the fence purple"]);
    assert_eq!(unknown["type"], "not-handled", "{unknown}");

    let intent = client(server.port, &["recognize", "set a timer for ten minutes"]);
    assert_eq!(intent["type"], "intent", "{intent}");
    assert_eq!(intent["data"]["name"], "timer.set");
    assert_eq!(intent["data"]["entities"][0]["value"], 600, "{intent}");

    // Speech out, plain and streamed, heard back by the server's whisper.
    for stream in [false, true] {
        let out = dir.path().join(format!("spoken-{stream}.wav"));
        let text = "The kitchen is open. Coffee is ready now.";
        let mut args = vec!["synthesize", text, out.to_str().unwrap()];
        if stream {
            args.push("--stream");
        }
        let spoken = client(server.port, &args);
        let kinds: Vec<&str> = spoken["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let mut expected = vec!["audio-start", "audio-chunk", "audio-stop"];
        if stream {
            expected.push("synthesize-stopped");
        }
        assert_eq!(kinds, expected, "one audio stream per request: {spoken}");
        assert!(spoken["seconds"].as_f64().unwrap() > 1.5, "{spoken}");
        // tiny.en may miss a word at the very end of synthetic speech; a
        // lost or garbled sentence is more.
        let heard = client(server.port, &["transcribe", out.to_str().unwrap()]);
        let (errors, _) = hark::eval::score::word_errors(text, heard["text"].as_str().unwrap());
        assert!(errors <= 1, "streamed: {stream}: {heard}");
    }
    assert!(
        metric(
            &server,
            "hark_requests_total{service=\"handle\",outcome=\"ok\"}"
        ) >= 2.0
    );
    assert!(
        metric(
            &server,
            "hark_requests_total{service=\"asr\",outcome=\"ok\"}"
        ) >= 3.0
    );
    assert!(metric(&server, "hark_node_call_seconds_count{node=\"stt\"") >= 3.0);
}

/// Each connection is a conversation of its own: its nodes live as long
/// as it does, so "say that again" repeats this session's last answer,
/// and another session has said nothing yet.
#[test]
fn each_session_has_its_own_dialogue_memory() {
    let server = serve(&[]);
    let first = client(
        server.port,
        &[
            "dialogue",
            "what is 12 plus 30",
            "say that again",
            "what is 2 plus 2",
        ],
    );
    let answers = first["answers"].as_array().unwrap();
    let text = |i: usize| answers[i]["data"]["text"].as_str().unwrap().to_string();
    assert!(text(0).contains("42"), "{first}");
    assert_eq!(text(1), text(0), "repeated: {first}");
    assert!(text(2).contains('4'), "{first}");
    let other = client(server.port, &["dialogue", "say that again"]);
    let said = other["answers"][0]["data"]["text"].as_str().unwrap();
    assert!(
        said.contains("haven't said anything"),
        "a new session: {other}"
    );
}

/// Home Assistant's wake word flow: `detect`, then a satellite's audio
/// streamed until it stops; a `detection` when "hey jarvis" is heard,
/// `not-detected` when it is not.
#[test]
fn the_wake_word_is_detected_in_streamed_audio() {
    hark_tests::install_models(&["openwakeword"]);
    let server = serve_pipeline("tests/pipelines/serve-wake.ron", free_port(), &[]);
    let info = client(server.port, &["describe"]);
    assert_eq!(
        info["wake"],
        serde_json::json!(["hey_jarvis_v0.1"]),
        "{info}"
    );
    assert_eq!(info["wake_phrases"], serde_json::json!(["hey jarvis"]));
    assert_eq!(
        info["asr"],
        serde_json::json!([]),
        "only the wake word: {info}"
    );

    let dir = tempfile::tempdir().unwrap();
    let rate = 22_050;
    let mut samples: Vec<i16> = Vec::new();
    let mut wake_word_at_ms = 0;
    for text in ["What time is it?", "Hey Jarvis."] {
        wake_word_at_ms = 1000 * samples.len() as u64 / u64::from(rate);
        let speech = hark_sdk::testing::speech(text, rate).unwrap();
        samples.extend(speech.iter().map(|s| (s * 32767.0) as i16));
        samples.extend(std::iter::repeat_n(0i16, rate as usize));
    }
    let woken = dir.path().join("woken.wav");
    write_wav(&woken, rate, &samples);
    let detected = client(server.port, &["detect", woken.to_str().unwrap()]);
    let events = detected["events"].as_array().unwrap();
    assert!(!events.is_empty(), "{detected}");
    for event in events {
        assert_eq!(event["type"], "detection", "{detected}");
        assert_eq!(event["name"], "hey_jarvis_v0.1");
    }
    // Heard in the second phrase, not in the first.
    assert!(
        events[0]["timestamp"].as_u64().unwrap() > wake_word_at_ms,
        "{detected}"
    );

    let quiet = speech_wav(dir.path(), "What time is it?", 16_000);
    let nothing = client(server.port, &["detect", quiet.to_str().unwrap()]);
    let events = nothing["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{nothing}");
    assert_eq!(events[0]["type"], "not-detected", "{nothing}");
    let other = client(server.port, &["detect", quiet.to_str().unwrap(), "ok_nabu"]);
    let refused = &other["events"][0];
    assert_eq!(refused["type"], "error", "{other}");
    assert!(
        refused["data"]["text"]
            .as_str()
            .unwrap()
            .contains("hey_jarvis_v0.1"),
        "{other}"
    );

    // A satellite that vanishes mid-stream costs only its session.
    for _ in 0..5 {
        let (mut stream, _) = connect(&server);
        stream
            .write_all(&event("detect", serde_json::json!({}), &[]))
            .unwrap();
        let format = serde_json::json!({ "rate": 16000, "width": 2, "channels": 1 });
        stream
            .write_all(&event("audio-start", format.clone(), &[]))
            .unwrap();
        for _ in 0..20 {
            stream
                .write_all(&event("audio-chunk", format.clone(), &[0u8; 2048]))
                .unwrap();
        }
        drop(stream);
    }
    let again = client(server.port, &["detect", woken.to_str().unwrap()]);
    assert_eq!(again["events"][0]["type"], "detection", "{again}");
    assert!(
        metric(
            &server,
            "hark_requests_total{service=\"wake\",outcome=\"ok\"}"
        ) >= 3.0
    );
}

#[test]
fn concurrent_sessions_get_their_own_answers() {
    let server = serve(&[]);
    let result = client(server.port, &["concurrent", "32"]);
    let sessions = result["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 32);
    for s in sessions {
        let expected = s["expected"].as_str().unwrap();
        for answer in s["answers"].as_array().unwrap() {
            assert_eq!(answer["type"], "handled", "{s}");
            let text = answer["data"]["text"].as_str().unwrap();
            assert!(
                words(text).contains(&words(expected).join(" ")) || text.contains(expected),
                "session {} got another's answer: {text}",
                s["session"]
            );
        }
    }
    assert_eq!(
        metric(
            &server,
            "hark_requests_total{service=\"handle\",outcome=\"ok\"}"
        ),
        96.0
    );
}

#[test]
fn above_the_limit_requests_are_refused_cleanly() {
    // One request at a time and nobody waiting: of 16 sessions asking at
    // once, the ones that find the slot taken are told so.
    let server = serve(&["--max-concurrent", "1", "--max-waiting", "0"]);
    let result = client(server.port, &["concurrent", "16"]);
    let answers: Vec<&Value> = result["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["answers"].as_array().unwrap())
        .collect();
    let refused = answers.iter().filter(|a| a["type"] == "error").count();
    let handled = answers.iter().filter(|a| a["type"] == "handled").count();
    assert_eq!(refused + handled, answers.len(), "{result}");
    assert!(
        handled > 0 && refused > 0,
        "{handled} handled, {refused} refused"
    );
    for a in answers.iter().filter(|a| a["type"] == "error") {
        assert_eq!(a["data"]["code"], "busy", "{a}");
    }
    assert_eq!(
        metric(
            &server,
            "hark_requests_total{service=\"handle\",outcome=\"refused\"}"
        ),
        refused as f64
    );
    // Still answering.
    assert_eq!(
        client(server.port, &["handle", "what is 2 plus 2"])["type"],
        "handled"
    );
}

/// Reads one event's header and skips its data and payload.
fn read_event(reader: &mut BufReader<TcpStream>) -> Option<Value> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut header: Value = serde_json::from_str(&line).ok()?;
    let data_length = header["data_length"].as_u64().unwrap_or(0) as usize;
    let mut data = vec![0; data_length];
    reader.read_exact(&mut data).ok()?;
    if data_length > 0 {
        header["data"] = serde_json::from_slice(&data).ok()?;
    }
    let mut payload = vec![0; header["payload_length"].as_u64().unwrap_or(0) as usize];
    reader.read_exact(&mut payload).ok()?;
    Some(header)
}

fn connect(server: &Server) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn event(kind: &str, data: Value, payload: &[u8]) -> Vec<u8> {
    let data = serde_json::to_vec(&data).unwrap();
    let mut bytes = serde_json::to_vec(&serde_json::json!({
        "type": kind, "data_length": data.len(), "payload_length": payload.len()
    }))
    .unwrap();
    bytes.push(b'\n');
    bytes.extend(data);
    bytes.extend(payload);
    bytes
}

fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn hostile_clients_cost_only_their_own_session() {
    let server = serve(&[]);
    // A well-behaved session open throughout.
    let (mut good, mut good_reader) = connect(&server);
    let ask = |stream: &mut TcpStream, reader: &mut BufReader<TcpStream>| {
        stream
            .write_all(&event(
                "transcript",
                serde_json::json!({"text": "what is 3 times 4"}),
                &[],
            ))
            .unwrap();
        read_event(reader).expect("an answer")
    };
    assert_eq!(ask(&mut good, &mut good_reader)["type"], "handled");
    let rss_before = rss_kib(&server);
    let started = Instant::now();
    for round in 0..50 {
        // Garbage: an error, then the connection closes.
        let (mut s, mut r) = connect(&server);
        s.write_all(b"\x00\xffnot wyoming at all\n").unwrap();
        let e = read_event(&mut r).expect("an error event");
        assert_eq!(
            (e["type"].as_str(), e["data"]["code"].as_str()),
            (Some("error"), Some("malformed"))
        );
        assert!(read_event(&mut r).is_none(), "closed after garbage");

        // A header announcing 100 GB: refused before anything is read.
        let (mut s, mut r) = connect(&server);
        s.write_all(b"{\"type\":\"audio-chunk\",\"payload_length\":100000000000}\n")
            .unwrap();
        let e = read_event(&mut r).expect("an error event");
        assert_eq!(e["data"]["code"], "too-large", "{e}");

        // 32-bit audio: that request fails, the session goes on.
        let (mut s, mut r) = connect(&server);
        s.write_all(&event("transcribe", serde_json::json!({}), &[]))
            .unwrap();
        s.write_all(&event(
            "audio-start",
            serde_json::json!({"rate": 16000, "width": 4, "channels": 1}),
            &[],
        ))
        .unwrap();
        let e = read_event(&mut r).expect("an error event");
        assert_eq!(e["data"]["code"], "audio-format", "{e}");
        s.write_all(&event(
            "audio-chunk",
            serde_json::json!({"rate": 16000, "width": 4, "channels": 1}),
            &[0; 4096],
        ))
        .unwrap();
        s.write_all(&event("audio-stop", serde_json::json!({}), &[]))
            .unwrap();
        assert_eq!(
            ask(&mut s, &mut r)["type"],
            "handled",
            "the session survives round {round}"
        );

        // Vanishing mid-stream: half an event, then gone.
        let (mut s, _) = connect(&server);
        s.write_all(&event(
            "audio-start",
            serde_json::json!({"rate": 16000, "width": 2, "channels": 1}),
            &[],
        ))
        .unwrap();
        s.write_all(b"{\"type\":\"audio-chunk\",\"payload_length\":3200}\n\x01\x02")
            .unwrap();
        drop(s);
    }
    // The open session was never disturbed, and memory did not grow with
    // the hostile connections (200 of them).
    assert_eq!(ask(&mut good, &mut good_reader)["type"], "handled");
    let grown = rss_kib(&server).saturating_sub(rss_before);
    assert!(
        grown < 20 * 1024,
        "RSS grew {grown} KiB over 200 hostile connections"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(metric(&server, "hark_refusals_total{reason=\"malformed\"}") >= 50.0);
}

/// `hark run` of a satellite pipeline, its output read line by line.
struct Satellite {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    stderr: std::thread::JoinHandle<String>,
}

fn satellite(pipeline: &str, set: &[String]) -> Satellite {
    let mut command = Command::new(hark_bin());
    command
        .current_dir(workspace_root())
        .args(["run", pipeline])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for s in set {
        command.args(["--set", s]);
    }
    let mut child = command.spawn().expect("starting the satellite");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    Satellite {
        child,
        stdout,
        stderr,
    }
}

impl Satellite {
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("reading the satellite");
        line
    }

    /// Waits for the end; (success, stdout left, stderr).
    fn end(mut self) -> (bool, String, String) {
        drop(self.child.stdin.take());
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let status = self.child.wait().unwrap();
        (status.success(), rest, self.stderr.join().unwrap())
    }
}

#[test]
fn a_satellite_reports_a_lost_server_and_recovers() {
    let port = free_port();
    let server = serve_on(port, &[]);
    let mut sat = satellite(
        "tests/pipelines/satellite-text.ron",
        &[format!("answer.server=127.0.0.1:{port}")],
    );
    let stdin = sat.child.stdin.as_mut().unwrap();
    writeln!(stdin, "what is 2 plus 3").unwrap();
    assert!(sat.line().contains("is 5"), "answered through the server");

    // The server goes away mid-run; a question asked meanwhile waits for
    // it to come back (within the node's deadline) rather than hang.
    drop(server);
    let stdin = sat.child.stdin.as_mut().unwrap();
    writeln!(stdin, "what is 4 plus 4").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let _server = serve_on(port, &[]);
    let answer = sat.line();
    assert!(
        answer.contains("is 8"),
        "answered after the restart: {answer:?}"
    );
    let (ok, _, stderr) = sat.end();
    assert!(ok, "{stderr}");
    assert!(stderr.contains("lost the Wyoming server"), "{stderr}");
    assert!(stderr.contains("answers again"), "{stderr}");
}

#[test]
fn a_voice_satellite_sends_its_speech_to_the_server() {
    hark_tests::install_models(&["silero-vad"]);
    // The server is not there yet when the satellite hears the request:
    // it says so, and transcribes it once the server is up.
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let wav = speech_wav(dir.path(), "What time is it?", 16_000);
    let sat = satellite(
        "tests/pipelines/satellite.ron",
        &[
            format!("stt.server=127.0.0.1:{port}"),
            format!("input.path={}", wav.display()),
        ],
    );
    std::thread::sleep(Duration::from_millis(1500));
    let _server = serve_on(port, &[]);
    let (ok, stdout, stderr) = sat.end();
    assert!(ok, "{stderr}");
    assert_eq!(
        words(&stdout),
        words("what time is it"),
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains("lost the Wyoming server"), "{stderr}");
}
