//! `respond`: answers intents with sentences of its own, filled with the
//! intent's slots, so that a domain of your own (a coffee maker, a
//! lift, a jukebox) speaks without a line of code.
//!
//! ```ron
//! "barista": (plugin: "skills", kind: "respond", config: (
//!     responses: {
//!         "orderDrink": [
//!             "One [{size} ]{coffeeDrink} with {milkAmount} and {sugarAmount}, coming up.",
//!             "One [{size} ]{coffeeDrink}[ with {milkAmount}][ with {sugarAmount}], coming up.",
//!         ],
//!         "cancelOrder": "Your order is cancelled.",
//!     },
//! )),
//! ```
//!
//! `{slot}` is the slot's value; a part in `[...]` is said only when every
//! slot in it was filled. An intent may have several responses: the
//! first whose slots outside brackets were all filled is said. Intents
//! with no response here pass on down the chain.

mod imp;

pub use imp::RespondSkill;
use imp::*;

use std::collections::BTreeMap;

use hark_sdk::{prelude::*, ConfigIssue};

use crate::chain::{skill_spec, SkillNode};

/// The `respond` kind.
pub struct Respond;

/// One response, or several to choose from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Responses {
    /// One sentence.
    One(String),
    /// Sentences, the first that can be filled is said.
    Several(Vec<String>),
}

impl Responses {
    fn texts(&self) -> &[String] {
        match self {
            Responses::One(s) => std::slice::from_ref(s),
            Responses::Several(v) => v,
        }
    }
}

/// Settings of `respond`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RespondSettings {
    /// Intent name → response(s).
    pub responses: BTreeMap<String, Responses>,
}

impl Settings for RespondSettings {
    fn fields() -> Vec<Field> {
        vec![Field::ron(
            "responses",
            "{String: String or [String]}",
            "intent → what to say: {slot} is a slot's value, [ ... ] is said only when its slots are filled; the first response whose other slots are all filled is said",
        )]
    }

    fn validate(&self) -> Result<(), ConfigIssue> {
        if self.responses.is_empty() {
            return Err(ConfigIssue::field("responses", "no responses are given")
                .with_hint("responses: {\"my.intent\": \"What to say, with {a_slot}.\"}"));
        }
        for (intent, responses) in &self.responses {
            if responses.texts().is_empty() {
                return Err(ConfigIssue::field(
                    "responses",
                    format!("intent `{intent}` has an empty list of responses"),
                ));
            }
            for text in responses.texts() {
                Response::parse(text).map_err(|e| {
                    ConfigIssue::field(
                        "responses",
                        format!("intent `{intent}`, response {text:?}: {e}"),
                    )
                })?;
            }
        }
        Ok(())
    }
}

impl NodeKind for Respond {
    type Settings = RespondSettings;
    type Instance = SkillNode<RespondSkill>;

    fn spec() -> KindSpec {
        skill_spec(
            "respond",
            "Skill: answers intents with sentences of your own, filled with their slots",
        )
    }

    fn create(settings: RespondSettings, _: &Context) -> Result<Self::Instance, Error> {
        let responses = settings
            .responses
            .iter()
            .map(|(intent, r)| {
                let parsed = r
                    .texts()
                    .iter()
                    .map(|t| Response::parse(t).map_err(Error::config))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((intent.clone(), parsed))
            })
            .collect::<Result<_, Error>>()?;
        Ok(SkillNode::new(RespondSkill { responses }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(response: &str, slots: &[(&str, &str)]) -> Option<String> {
        let r = Response::parse(response).unwrap();
        r.fill(&|name| {
            slots
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn slots_fill_and_optional_parts_drop_out() {
        let order = "One [{size} ][{roast} ]{drink}[ with {milk}][, and {sugar}], coming up.";
        assert_eq!(
            say(
                order,
                &[("drink", "latte"), ("size", "large"), ("milk", "soy milk")]
            )
            .as_deref(),
            Some("One large latte with soy milk, coming up.")
        );
        assert_eq!(
            say(order, &[("drink", "mocha"), ("sugar", "brown sugar")]).as_deref(),
            Some("One mocha, and brown sugar, coming up.")
        );
        // The drink is not optional: no response without it.
        assert_eq!(say(order, &[("size", "large")]), None);
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(Response::parse("One [{size} latte").is_err());
        assert!(Response::parse("One {size latte").is_err());
        assert!(Response::parse("One ] latte").is_err());
        assert!(Response::parse("One {} latte").is_err());
    }
}
