//! The `home` skill against a real mosquitto that requires a login, on a
//! plain listener and a TLS one (certificates made here with openssl):
//! commands arrive with the right credentials and certificate authority,
//! and a wrong password or an untrusted certificate is a spoken "can't
//! reach", not a command sent.

use std::{
    net::TcpStream,
    path::Path,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use hark_plugin_skills::home::Home;
use hark_sdk::{
    api::{IntentMessage, Slot},
    prelude::*,
    testing::Harness,
    Value,
};

const USER: &str = "hark";
const PASSWORD: &str = "s3cret pass";

/// mosquitto with `allow_anonymous false`, a password file, a plain
/// listener and a TLS listener; stopped on drop.
struct Broker {
    child: Child,
    plain: u16,
    tls: u16,
}

impl Drop for Broker {
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

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A certificate authority and a server certificate for 127.0.0.1.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        run(Command::new("openssl").current_dir(dir).args(args));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Hark test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName = IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        certificates(dir);
        run(Command::new("mosquitto_passwd")
            .arg("-b")
            .arg("-c")
            .arg(dir.join("passwd"))
            .args([USER, PASSWORD]));
        let (plain, tls) = (free_port(), free_port());
        let d = dir.display();
        std::fs::write(
            dir.join("mosquitto.conf"),
            format!(
                "user root\n\
                 per_listener_settings false\n\
                 allow_anonymous false\n\
                 password_file {d}/passwd\n\
                 listener {plain} 127.0.0.1\n\
                 listener {tls} 127.0.0.1\n\
                 cafile {d}/ca.crt\n\
                 certfile {d}/server.crt\n\
                 keyfile {d}/server.key\n"
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed by ./x setup (Debian package mosquitto)");
        let deadline = Instant::now() + Duration::from_secs(10);
        for port in [plain, tls] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "mosquitto did not start");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Broker { child, plain, tls }
    }

    /// Starts listening (as the test user) for the next command sent to
    /// any device; `wait` returns it as `topic payload`.
    fn listen(&self) -> Child {
        let child = Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &self.plain.to_string()])
            .args(["-u", USER, "-P", PASSWORD])
            .args(["-t", "hark/home/+/set", "-v", "-C", "1", "-W", "5"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()) // "Timed out" when nothing came, as expected
            .spawn()
            .expect("mosquitto_sub (Debian package mosquitto-clients)");
        // Subscribed well before the command is published.
        std::thread::sleep(Duration::from_millis(500));
        child
    }
}

fn wait(listener: Child) -> String {
    let out = listener.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn turn_on(device: &str) -> Message {
    let intent = IntentMessage {
        name: "home.turn_on".into(),
        confidence: 1.0,
        text: format!("turn on the {device}").into(),
        slots: vec![Slot {
            name: "device".into(),
            raw: device.into(),
            start: 0,
            end: 0,
            value: Value::Str(device.into()),
        }]
        .into(),
        alternatives: Vec::new().into(),
    };
    Message::new(MessageMeta::default(), Payload::Intent(RBox::new(intent)))
}

/// The skill's spoken answer to "turn on the lamp" with `config`.
fn answer(config: &str) -> String {
    let mut home = Harness::new::<Home>(config).unwrap_or_else(|e| panic!("{config}: {e:?}"));
    home.push(0, turn_on("lamp")).unwrap();
    home.finish()
        .unwrap()
        .iter()
        .find_map(|(_, m)| match &m.payload {
            Payload::Value(answer) => match hark_sdk::value_field(answer, "reply") {
                Some(Value::Str(reply)) => Some(reply.to_string()),
                _ => None,
            },
            _ => None,
        })
        .expect("an answer with a reply")
}

fn config(port: u16, timeout_ms: u32, extra: &str) -> String {
    format!(
        r#"(broker: "127.0.0.1:{port}", connect_timeout_ms: {timeout_ms},
            devices: [(id: "lamp", name: "lamp")], {extra})"#
    )
}

#[test]
fn logins_and_tls_reach_a_broker_that_requires_them() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path());
    let ca = dir.path().join("ca.crt");
    let login = format!("username: {USER:?}, password: {PASSWORD:?}");

    // A login on the plain listener.
    let listener = broker.listen();
    assert_eq!(
        answer(&config(broker.plain, 5000, &login)),
        "Turning on the lamp."
    );
    assert_eq!(wait(listener), r#"hark/home/lamp/set {"state":"ON"}"#);

    // The same over TLS, trusting the test authority.
    let listener = broker.listen();
    let tls = format!(
        "{login}, tls: true, ca_file: {:?}",
        ca.display().to_string()
    );
    assert_eq!(
        answer(&config(broker.tls, 5000, &tls)),
        "Turning on the lamp."
    );
    assert_eq!(wait(listener), r#"hark/home/lamp/set {"state":"ON"}"#);

    // A wrong password, no login, and an authority that did not sign the
    // broker's certificate (the system's): nothing is sent.
    let cannot = "I can't reach the home controller at 127.0.0.1:";
    for (port, extra) in [
        (
            broker.plain,
            format!("username: {USER:?}, password: \"wrong\""),
        ),
        (broker.plain, String::new()),
        (broker.tls, format!("{login}, tls: true")),
    ] {
        let listener = broker.listen();
        let said = answer(&config(port, 1500, &extra));
        assert!(said.starts_with(cannot), "{extra}: {said}");
        assert_eq!(wait(listener), "", "{extra}: nothing was published");
    }
}

#[test]
fn credentials_and_tls_settings_are_checked() {
    for (config, expected) in [
        (r#"(password: "x")"#, "a password needs a `username`"),
        (r#"(ca_file: "ca.pem")"#, "`ca_file` is only used with TLS"),
    ] {
        let Err(e) = Harness::new::<Home>(config) else {
            panic!("{config} was accepted");
        };
        assert!(e.message.contains(expected), "{config}: {}", e.message);
    }
    let Err(e) = Harness::new::<Home>(r#"(tls: true, ca_file: "/nonexistent/ca.pem")"#) else {
        panic!("a missing CA file was accepted");
    };
    assert!(
        e.message
            .contains("cannot read the CA file /nonexistent/ca.pem"),
        "{}",
        e.message
    );
}
