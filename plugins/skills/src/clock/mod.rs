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

mod imp;

pub use imp::ClockSkill;

use hark_sdk::prelude::*;

use crate::chain::{skill_spec, SkillNode};

/// The `clock` kind.
pub struct Clock;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    use hark_sdk::{
        api::{IntentMessage, Slot},
        Value,
    };

    use crate::chain::Skill;

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
