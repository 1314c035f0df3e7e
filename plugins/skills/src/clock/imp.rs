//! What `clock` does with a request.

use crate::chain::{self, Reply, Skill};
use chrono::Local;
use hark_sdk::api::IntentMessage;
use std::time::{Duration, Instant};

pub(super) struct Timer {
    pub(super) seconds: i64,
    pub(super) due: Instant,
}

/// A running `clock` skill.
#[derive(Default)]
pub struct ClockSkill {
    pub(super) timers: Vec<Timer>,
}

impl Skill for ClockSkill {
    fn answer(&mut self, intent: &IntentMessage) -> Option<Reply> {
        let now = Local::now();
        Some(Reply::say(match intent.name.as_str() {
            "time.now" => format!("It is {}.", now.format("%-I:%M %p")),
            "date.today" => format!("Today is {}.", now.format("%A, %B %-d")),
            "timer.set" => match chain::slot_number(intent, "duration") {
                Some(s) if s >= 1.0 => {
                    let seconds = s.round() as i64;
                    self.timers.push(Timer {
                        seconds,
                        due: Instant::now() + Duration::from_secs(seconds as u64),
                    });
                    format!("Timer set for {}.", chain::duration(seconds))
                }
                _ => "For how long? Say, for example, set a timer for five minutes.".into(),
            },
            "timer.cancel" => match self.timers.pop() {
                Some(t) => format!("Your {} timer is cancelled.", chain::duration(t.seconds)),
                None => "There is no timer running.".into(),
            },
            "timer.remaining" => match self.timers.iter().min_by_key(|t| t.due) {
                Some(t) => {
                    let left = t
                        .due
                        .saturating_duration_since(Instant::now())
                        .as_secs_f64();
                    format!("About {} left.", chain::duration(left.ceil() as i64))
                }
                None => "There is no timer running.".into(),
            },
            _ => return None,
        }))
    }

    fn due(&mut self, now: Instant) -> Option<String> {
        let i = self.timers.iter().position(|t| t.due <= now)?;
        let t = self.timers.remove(i);
        Some(format!(
            "Your {} timer is done.",
            spoken_adjective(t.seconds)
        ))
    }

    fn next_due(&self) -> Option<Instant> {
        self.timers.iter().map(|t| t.due).min()
    }
}

/// "3 second", "10 minute" (as in "your 10 minute timer").
pub(super) fn spoken_adjective(seconds: i64) -> String {
    chain::duration(seconds)
        .replace("seconds", "second")
        .replace("minutes", "minute")
        .replace("hours", "hour")
        .replace("days", "day")
}
