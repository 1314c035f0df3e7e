//! `clock`: the time, the date, and timers.
//!
//! | intent            | slots               | reply                                   |
//! |-------------------|---------------------|-----------------------------------------|
//! | `time.now`        |                     | "It is 6:04 PM."                        |
//! | `date.today`      |                     | "Today is Sunday, November 22."         |
//! | `timer.set`       | `duration` (seconds)| "Timer set for 3 seconds."              |
//! | `timer.cancel`    |                     | "Timer cancelled."                      |
//! | `timer.remaining` |                     | "About 2 minutes and 10 seconds left."  |
//!
//! A finished timer announces itself ("Your 3 second timer is done."),
//! through the chain, to speech. Times are local (the machine's time
//! zone).

use std::time::{Duration, Instant};

use chrono::Local;
use hark_sdk::{api::IntentMessage, prelude::*};

use crate::chain::{self, skill_spec, Reply, Skill, SkillNode};

/// The `clock` kind.
pub struct Clock;

struct Timer {
    seconds: i64,
    due: Instant,
}

/// A running `clock` skill.
#[derive(Default)]
pub struct ClockSkill {
    timers: Vec<Timer>,
}

impl NodeKind for Clock {
    type Settings = NoSettings;
    type Instance = SkillNode<ClockSkill>;

    fn spec() -> KindSpec {
        skill_spec(
            "clock",
            "Skill: the time, the date, and timers that announce themselves",
        )
    }

    fn create(_: NoSettings, _: &Context) -> Result<Self::Instance, Error> {
        Ok(SkillNode::new(ClockSkill::default()))
    }
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
fn spoken_adjective(seconds: i64) -> String {
    chain::duration(seconds)
        .replace("seconds", "second")
        .replace("minutes", "minute")
        .replace("hours", "hour")
        .replace("days", "day")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hark_sdk::{api::Slot, Value};

    fn intent(name: &str, slots: Vec<(&str, Value)>) -> IntentMessage {
        IntentMessage {
            name: name.into(),
            confidence: 1.0,
            text: "".into(),
            slots: slots
                .into_iter()
                .map(|(n, v)| Slot {
                    name: n.into(),
                    raw: "".into(),
                    start: 0,
                    end: 0,
                    value: v,
                })
                .collect::<Vec<_>>()
                .into(),
            alternatives: Vec::new().into(),
        }
    }

    #[test]
    fn a_timer_is_set_announced_and_gone() {
        let mut clock = ClockSkill::default();
        let reply = clock.answer(&intent("timer.set", vec![("duration", Value::Int(3))]));
        assert_eq!(reply.unwrap().say, "Timer set for 3 seconds.");
        let due = clock.next_due().unwrap();
        assert!(clock.due(Instant::now()).is_none());
        assert_eq!(clock.due(due).unwrap(), "Your 3 second timer is done.");
        assert!(clock.next_due().is_none());
        let none = clock.answer(&intent("timer.cancel", vec![]));
        assert_eq!(none.unwrap().say, "There is no timer running.");
        assert!(clock.answer(&intent("GetWeather", vec![])).is_none());
    }
}
