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

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use hark_sdk::{api::IntentMessage, prelude::*, ConfigIssue};
use parking_lot::Mutex;
use rumqttc::{Client, Event, MqttOptions, Packet, QoS};
use serde_json::json;

use crate::chain::{self, skill_spec, Reply, Skill, SkillNode};

/// The `home` kind.
pub struct Home;

/// A device the skill controls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Topic segment (`living_room_lamp`).
    pub id: String,
    /// What people call it (`living room lamp`).
    pub name: String,
    /// Whether it takes a brightness level.
    #[serde(default)]
    pub dimmable: bool,
}

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
}

impl Default for HomeSettings {
    fn default() -> Self {
        HomeSettings {
            broker: "localhost:1883".into(),
            topic_prefix: "hark/home".into(),
            devices: Vec::new(),
            connect_timeout_ms: 2000,
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
        ]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        parse_broker(&self.broker).map_err(|e| ConfigIssue::field("broker", e))?;
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

fn parse_broker(broker: &str) -> Result<(String, u16), String> {
    let (host, port) = broker
        .rsplit_once(':')
        .ok_or_else(|| format!("`{broker}` is not host:port"))?;
    let port = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number"))?;
    Ok((host.to_string(), port))
}

/// A device's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceState {
    /// On or off.
    pub on: bool,
    /// Brightness 0..=100 (100 for switches).
    pub level: u8,
}

/// A running `home` skill.
pub struct HomeSkill {
    settings: HomeSettings,
    client: Client,
    connected: Arc<AtomicBool>,
    started: Instant,
    states: Arc<Mutex<HashMap<String, DeviceState>>>,
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
        let mut options = MqttOptions::new(format!("hark-{}", std::process::id()), host, port);
        options.set_keep_alive(Duration::from_secs(10));
        let (client, mut connection) = Client::new(options, 64);
        let connected = Arc::new(AtomicBool::new(false));
        let states: Arc<Mutex<HashMap<String, DeviceState>>> = Arc::default();
        let prefix = settings.topic_prefix.clone();
        client
            .subscribe(format!("{prefix}/+/state"), QoS::AtLeastOnce)
            .map_err(|e| Error::failed(format!("MQTT: {e}")))?;
        let (thread_connected, thread_states, broker, ctx) = (
            connected.clone(),
            states.clone(),
            settings.broker.clone(),
            *ctx,
        );
        std::thread::Builder::new()
            .name("hark-mqtt".into())
            .spawn(move || {
                let mut warned = false;
                for event in connection.iter() {
                    match event {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            thread_connected.store(true, Ordering::SeqCst);
                            ctx.info(&format!("connected to the MQTT broker at {broker}"));
                            warned = false;
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            if let Some((id, state)) = parse_state(&prefix, &p.topic, &p.payload) {
                                thread_states.lock().insert(id, state);
                            }
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
        }))
    }
}

fn parse_state(prefix: &str, topic: &str, payload: &[u8]) -> Option<(String, DeviceState)> {
    let id = topic
        .strip_prefix(prefix)?
        .strip_prefix('/')?
        .strip_suffix("/state")?;
    let v: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let on = v.get("state")?.as_str()?.eq_ignore_ascii_case("on");
    let level = v
        .get("brightness")
        .and_then(|b| b.as_u64())
        .unwrap_or(100)
        .min(100) as u8;
    Some((id.to_string(), DeviceState { on, level }))
}

impl HomeSkill {
    /// The device a slot names: by id, by name, or by the closest name.
    fn device(&self, said: &str) -> Option<&Device> {
        let said = said.trim().to_lowercase();
        let devices = &self.settings.devices;
        devices
            .iter()
            .find(|d| d.id.eq_ignore_ascii_case(&said) || d.name.eq_ignore_ascii_case(&said))
            .or_else(|| {
                devices
                    .iter()
                    .map(|d| {
                        (
                            strsim::normalized_levenshtein(&d.name.to_lowercase(), &said),
                            d,
                        )
                    })
                    .filter(|(score, _)| *score >= 0.75)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, d)| d)
            })
    }

    fn wait_connected(&self) -> bool {
        let deadline =
            self.started + Duration::from_millis(self.settings.connect_timeout_ms as u64);
        while !self.connected.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.connected.load(Ordering::SeqCst)
    }

    /// Sends the command and the new retained state; `Err` says why not.
    fn apply(&self, device: &Device, state: DeviceState) -> Result<(), String> {
        if !self.wait_connected() {
            return Err(format!(
                "I can't reach the home controller at {}.",
                self.settings.broker
            ));
        }
        let onoff = if state.on { "ON" } else { "OFF" };
        let body = if device.dimmable {
            json!({"state": onoff, "brightness": state.level})
        } else {
            json!({"state": onoff})
        };
        let prefix = &self.settings.topic_prefix;
        let payload = body.to_string();
        let publish = |topic: String, retain: bool| {
            self.client
                .try_publish(topic, QoS::AtLeastOnce, retain, payload.clone())
                .map_err(|_| "The home controller is not answering.".to_string())
        };
        publish(format!("{prefix}/{}/set", device.id), false)?;
        publish(format!("{prefix}/{}/state", device.id), true)?;
        self.states.lock().insert(device.id.clone(), state);
        Ok(())
    }

    fn state(&self, device: &Device) -> Option<DeviceState> {
        self.states.lock().get(&device.id).copied()
    }
}

impl Skill for HomeSkill {
    fn answer(&mut self, intent: &IntentMessage) -> Option<Reply> {
        let name = intent.name.as_str();
        if !name.starts_with("home.") {
            return None;
        }
        let said = chain::slot_text(intent, "device").unwrap_or_default();
        let Some(device) = self.device(&said).cloned() else {
            let known: Vec<&str> = self
                .settings
                .devices
                .iter()
                .map(|d| d.name.as_str())
                .collect();
            return Some(Reply::say(if said.is_empty() {
                format!("Which device? I know the {}.", known.join(", the "))
            } else {
                format!("I don't know a device called {said}.")
            }));
        };
        let current = self.state(&device).unwrap_or(DeviceState {
            on: false,
            level: 100,
        });
        let done = |result: Result<(), String>, text: String| {
            Some(Reply::say(result.err().unwrap_or(text)))
        };
        match name {
            "home.turn_on" => {
                let level = if current.level == 0 {
                    100
                } else {
                    current.level
                };
                let r = self.apply(&device, DeviceState { on: true, level });
                done(r, format!("Turning on the {}.", device.name))
            }
            "home.turn_off" => {
                let r = self.apply(
                    &device,
                    DeviceState {
                        on: false,
                        ..current
                    },
                );
                done(r, format!("Turning off the {}.", device.name))
            }
            "home.set_level" => {
                if !device.dimmable {
                    return Some(Reply::say(format!("The {} can't be dimmed.", device.name)));
                }
                let Some(level) = chain::slot_number(intent, "level") else {
                    return Some(Reply::say("To what level? Say, for example, 50 percent."));
                };
                let level = level.round().clamp(0.0, 100.0) as u8;
                let r = self.apply(
                    &device,
                    DeviceState {
                        on: level > 0,
                        level,
                    },
                );
                done(
                    r,
                    format!("Setting the {} to {level} percent.", device.name),
                )
            }
            "home.state" => {
                // "The kitchen lights are", "the lamp is".
                let verb = if device.name.ends_with('s') {
                    "are"
                } else {
                    "is"
                };
                let name = &device.name;
                Some(Reply::say(match self.state(&device) {
                    None => format!("I don't know whether the {name} {verb} on."),
                    Some(s) if !s.on => format!("The {name} {verb} off."),
                    Some(s) if device.dimmable => {
                        format!("The {name} {verb} on at {} percent.", s.level)
                    }
                    Some(_) => format!("The {name} {verb} on."),
                }))
            }
            _ => None,
        }
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
