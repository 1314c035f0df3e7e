//! What `home` does with a request.

use crate::chain::{self, Reply, Skill};
use hark_sdk::{api::IntentMessage, prelude::*};
use parking_lot::Mutex;
use rumqttc::{Client, QoS};
use serde_json::json;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::*;

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

pub(super) fn parse_broker(broker: &str) -> Result<(String, u16), String> {
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
    pub(super) settings: HomeSettings,
    pub(super) client: Client,
    pub(super) connected: Arc<AtomicBool>,
    pub(super) started: Instant,
    pub(super) states: Arc<Mutex<HashMap<String, DeviceState>>>,
    /// The node's context as the MQTT thread may use it: `None` once the
    /// node is gone.
    pub(super) log: Arc<Mutex<Option<Context>>>,
    /// The MQTT thread: a panic there fails the node (restart policy).
    pub(super) thread: hark_sdk::Spawned,
}

impl Drop for HomeSkill {
    fn drop(&mut self) {
        // After this the MQTT thread never touches the context again, and
        // it ends at its next event (within a second).
        self.log.lock().take();
        let _ = self.client.disconnect();
    }
}

pub(super) fn parse_state(
    prefix: &str,
    topic: &str,
    payload: &[u8],
) -> Option<(String, DeviceState)> {
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

/// Keeps a state the broker published if it is about a configured
/// device; returns whether it did. Topics are the broker's (anyone on it
/// may publish under the prefix): states of unknown ids are not kept, so
/// the map stays as small as the config.
pub(super) fn remember_state(
    states: &Mutex<HashMap<String, DeviceState>>,
    devices: &[Device],
    prefix: &str,
    topic: &str,
    payload: &[u8],
) -> bool {
    match parse_state(prefix, topic, payload) {
        Some((id, state)) if devices.iter().any(|d| d.id == id) => {
            states.lock().insert(id, state);
            true
        }
        _ => false,
    }
}

impl HomeSkill {
    /// The device a slot names: by id, by name, or by the closest name.
    pub(super) fn device(&self, said: &str) -> Option<&Device> {
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

    pub(super) fn wait_connected(&self) -> bool {
        let deadline =
            self.started + Duration::from_millis(self.settings.connect_timeout_ms as u64);
        while !self.connected.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.connected.load(Ordering::SeqCst)
    }

    /// Sends the command and the new retained state; `Err` says why not.
    pub(super) fn apply(&self, device: &Device, state: DeviceState) -> Result<(), String> {
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

    pub(super) fn state(&self, device: &Device) -> Option<DeviceState> {
        self.states.lock().get(&device.id).copied()
    }
}

impl Skill for HomeSkill {
    fn check(&self) -> Result<(), Error> {
        self.thread.check()
    }

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
    fn only_states_of_configured_devices_are_kept() {
        let devices = [Device {
            id: "lamp".into(),
            name: "living room lamp".into(),
            dimmable: true,
        }];
        let states = Mutex::new(HashMap::new());
        let on = br#"{"state": "ON", "brightness": 40}"#;
        assert!(remember_state(
            &states,
            &devices,
            "hark",
            "hark/lamp/state",
            on
        ));
        for i in 0..10_000 {
            let topic = format!("hark/flood{i}/state");
            assert!(!remember_state(&states, &devices, "hark", &topic, on));
        }
        assert!(!remember_state(
            &states,
            &devices,
            "hark",
            "hark/lamp/state",
            b"not json"
        ));
        assert_eq!(states.lock().len(), 1);
        assert_eq!(
            states.lock()["lamp"],
            DeviceState {
                on: true,
                level: 40
            }
        );
    }
}
