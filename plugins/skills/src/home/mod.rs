//! `home`: lights and switches, controlled over MQTT.
//!
//! ```ron
//! "home": (plugin: "skills", kind: "home", config: (
//!     broker: "localhost:1883",
//!     topic_prefix: "hark/home",
//!     devices: [
//!         (id: "living_room_lamp", name: "living room lamp", dimmable: true),
//!         (id: "kitchen_lights", name: "kitchen lights", dimmable: true),
//!         (id: "fan", name: "fan"),
//!     ],
//! )),
//! ```
//!
//! | intent           | slots                      | reply                                    |
//! |------------------|----------------------------|------------------------------------------|
//! | `home.turn_on`   | `device`                   | "Turning on the living room lamp."       |
//! | `home.turn_off`  | `device`                   | "Turning off the living room lamp."      |
//! | `home.set_level` | `device`, `level` (0..100) | "Setting the kitchen lights to 50 percent." |
//! | `home.state`     | `device`                   | "The kitchen lights are on at 50 percent." |
//!
//! **Topics.** A command goes to `<prefix>/<id>/set` as JSON
//! (`{"state":"ON"}`, `{"state":"ON","brightness":50}`), QoS 1; the
//! device's state is published, retained, to `<prefix>/<id>/state`
//! (`{"state":"ON","brightness":50}`). The skill subscribes to
//! `<prefix>/+/state`, so it remembers states across restarts (the
//! broker keeps retained messages) and sees changes made by others.
//! Without a broker the skill still answers, saying it cannot reach it.
//!
//! **Security.** `username`/`password` log in; `tls: true` encrypts and
//! checks the broker's certificate against `ca_file` (or the system's
//! authorities). A broker that refuses the login is reported in the log
//! (`not authorized`) and the skill answers that it cannot reach it.

mod imp;

use imp::*;
pub use imp::{Device, DeviceState, HomeSkill};

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use hark_sdk::{prelude::*, ConfigIssue};
use parking_lot::Mutex;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};

use crate::chain::{skill_spec, SkillNode};

/// The `home` kind.
pub struct Home;

/// Settings of `home`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HomeSettings {
    /// MQTT broker, `host:port`.
    pub broker: String,
    /// Topic prefix.
    pub topic_prefix: String,
    /// The devices.
    pub devices: Vec<Device>,
    /// How long a command waits for the first connection, in ms.
    pub connect_timeout_ms: u32,
    /// User name for the broker; empty: connect without credentials.
    pub username: String,
    /// Password for `username`.
    pub password: String,
    /// Connect over TLS (the broker's certificate is verified).
    pub tls: bool,
    /// PEM file of the certificate authorities to trust with `tls`;
    /// empty: the system's (`/etc/ssl/certs/ca-certificates.crt`).
    pub ca_file: String,
}

/// The system's certificate authorities (Debian's `ca-certificates`).
const SYSTEM_CA_FILE: &str = "/etc/ssl/certs/ca-certificates.crt";

impl Default for HomeSettings {
    fn default() -> Self {
        HomeSettings {
            broker: "localhost:1883".into(),
            topic_prefix: "hark/home".into(),
            devices: Vec::new(),
            connect_timeout_ms: 2000,
            username: String::new(),
            password: String::new(),
            tls: false,
            ca_file: String::new(),
        }
    }
}

impl Settings for HomeSettings {
    fn fields() -> Vec<Field> {
        vec![
            Field::string("broker", "MQTT broker, host:port"),
            Field::string(
                "topic_prefix",
                "commands go to PREFIX/ID/set, states to PREFIX/ID/state (retained)",
            ),
            Field::ron(
                "devices",
                "[(id: String, name: String, dimmable: bool)]",
                "the devices, by topic id and spoken name",
            ),
            Field::integer(
                "connect_timeout_ms",
                "u32",
                "how long a command waits for the first connection",
            ),
            Field::string(
                "username",
                "user name for the broker; empty: no credentials",
            ),
            Field::string(
                "password",
                "password for `username` (keep the pipeline file private, or pass it with --set)",
            ),
            Field::bool(
                "tls",
                "connect over TLS, verifying the broker's certificate",
            ),
            Field::path(
                "ca_file",
                "PEM file of the authorities to trust with `tls`; empty: the system's",
            ),
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        parse_broker(&self.broker).map_err(|e| ConfigIssue::field("broker", e))?;
        if self.username.is_empty() && !self.password.is_empty() {
            return Err(ConfigIssue::field(
                "password",
                "a password needs a `username`",
            ));
        }
        if !self.tls && !self.ca_file.is_empty() {
            return Err(
                ConfigIssue::field("ca_file", "`ca_file` is only used with TLS")
                    .with_hint("add `tls: true`"),
            );
        }
        for d in &self.devices {
            if d.id.is_empty() || d.id.contains(['/', '+', '#']) {
                return Err(ConfigIssue::field(
                    "devices",
                    format!("device id `{}` cannot be an MQTT topic segment", d.id),
                )
                .with_hint("use letters, digits and underscores"));
            }
        }
        Ok(())
    }
}

impl NodeKind for Home {
    type Settings = HomeSettings;
    type Instance = SkillNode<HomeSkill>;

    fn spec() -> KindSpec {
        skill_spec(
            "home",
            "Skill: lights and switches over MQTT (states remembered)",
        )
    }

    fn create(settings: HomeSettings, ctx: &Context) -> Result<Self::Instance, Error> {
        let (host, port) = parse_broker(&settings.broker).map_err(Error::config)?;
        // One client id per node: a broker disconnects a client whose id
        // another connection takes, and a server runs many home nodes.
        static NODES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let client_id = format!(
            "hark-{}-{}",
            std::process::id(),
            NODES.fetch_add(1, Ordering::Relaxed)
        );
        let mut options = MqttOptions::new(client_id, host, port);
        options.set_keep_alive(Duration::from_secs(10));
        if !settings.username.is_empty() {
            options.set_credentials(settings.username.clone(), settings.password.clone());
        }
        if settings.tls {
            let ca_file = match settings.ca_file.as_str() {
                "" => SYSTEM_CA_FILE,
                path => path,
            };
            let ca = std::fs::read(ca_file).map_err(|e| {
                Error::config(format!("cannot read the CA file {ca_file}: {e}")).with_hint(
                    "set `ca_file` to the PEM file of the authority that signed the broker's certificate",
                )
            })?;
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
                ca,
                alpn: None,
                client_auth: None,
            }));
        }
        let (client, mut connection) = Client::new(options, 64);
        let connected = Arc::new(AtomicBool::new(false));
        let states: Arc<Mutex<HashMap<String, DeviceState>>> = Arc::default();
        let prefix = settings.topic_prefix.clone();
        client
            .subscribe(format!("{prefix}/+/state"), QoS::AtLeastOnce)
            .map_err(|e| Error::failed(format!("MQTT: {e}")))?;
        // The context is the node's: valid until the node is dropped,
        // which takes it back out of `log` (waiting for a line being
        // written) and so also ends the thread.
        let log = Arc::new(Mutex::new(Some(*ctx)));
        let (thread_connected, thread_states, broker, thread_log, devices) = (
            connected.clone(),
            states.clone(),
            settings.broker.clone(),
            log.clone(),
            settings.devices.clone(),
        );
        let thread = hark_sdk::spawn("hark-mqtt", move || {
            let mut warned = false;
            for event in connection.iter() {
                let guard = thread_log.lock();
                let Some(ctx) = guard.as_ref() else {
                    return; // the node is gone
                };
                match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        thread_connected.store(true, Ordering::SeqCst);
                        ctx.info(&format!("connected to the MQTT broker at {broker}"));
                        warned = false;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        remember_state(&thread_states, &devices, &prefix, &p.topic, &p.payload);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        thread_connected.store(false, Ordering::SeqCst);
                        if !warned {
                            ctx.warn(&format!(
                                "MQTT broker at {broker}: {e}; retrying every second"
                            ));
                            warned = true;
                        }
                        drop(guard);
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        })
        .map_err(|e| Error::failed(format!("cannot start the MQTT thread: {e}")))?;
        Ok(SkillNode::new(HomeSkill {
            settings,
            client,
            connected,
            started: Instant::now(),
            states,
            log,
            thread,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_from_their_topic() {
        let s = parse_state(
            "hark/home",
            "hark/home/lamp/state",
            br#"{"state":"ON","brightness":40}"#,
        );
        assert_eq!(
            s,
            Some((
                "lamp".into(),
                DeviceState {
                    on: true,
                    level: 40
                }
            ))
        );
        assert_eq!(parse_state("hark/home", "other/lamp/state", b"{}"), None);
        assert_eq!(
            parse_broker("localhost:1883").unwrap(),
            ("localhost".into(), 1883)
        );
        assert!(parse_broker("localhost").is_err());
    }
}
