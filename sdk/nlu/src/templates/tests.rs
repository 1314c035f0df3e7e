//! The templates read from speech-to-text as it writes: alternatives,
//! lists, built-in values, fillers, compounds and digits, sound-alike
//! words, stray words, and the grammar they make for the recogniser.

use super::*;

const FILE: &str = r#"(
    lists: {
        "device": ["kitchen lights", ("living room lamp", "lamp-1"), "lamp"],
        "operator": [("plus", "+"), ("times", "*"), ("divided by", "/")],
    },
    intents: {
        "home.turn_on": ["turn on [the] {device}", "switch [the] {device} on", "[would you please] turn on the {device}"],
        "home.turn_off": ["turn off [the] {device}"],
        "home.dim": ["(would you please|please) dim the {device}"],
        "home.set_level": ["set [the] {device} to {number:level} percent"],
        "timer.set": ["set [a] timer for {duration}", "(start|set) [a] {duration} timer"],
        "math.calculate": ["what is {number:a} {operator} {number:b}"],
        "time.now": ["what time is it", "what's the time"],
    },
)"#;

/// A coffee order, in the shape of `pipelines/coffee-maker/intents.ron`.
const COFFEE: &str = r#"(
    lists: {
        "size": ["small", "medium", "large", "twelve ounce", "sixteen ounce", "twenty ounce"],
        "roast": ["light roast", "medium roast", "dark roast"],
        "shots": ["single shot", "double shot"],
        "drink": ["mocha", "iced mocha", "latte", "house coffee", "coffee"],
        "milk": ["milk", "skim milk", "soy milk", "lots of cream"],
        "sugar": ["sugar", "brown sugar", "lots of sweetener"],
        "card": [("ten of clubs", "10C"), ("queen of hearts", "QH")],
    },
    intents: {
        "orderDrink": [
            "[(can i (get|have)|i'd like|make me)] [a|an] ([{size}]; [{roast}]; [{shots}]) {drink} [with ({milk} [and {sugar}] | {sugar} [and {milk}])]",
        ],
        "playCard": ["play [the] {card}"],
    },
)"#;

fn recognise_in(file: &str, text: &str) -> Option<TemplateMatch> {
    Templates::parse(file)
        .unwrap()
        .recognise(&text::words(text))
}

fn recognise(text: &str) -> Option<TemplateMatch> {
    recognise_in(FILE, text)
}

/// The slots of a match as (name, value) text pairs.
fn slots(m: &TemplateMatch) -> Vec<(String, String)> {
    m.slots
        .iter()
        .map(|s| {
            let value = match &s.value {
                SlotValue::Text(t) | SlotValue::Named(t) => t.clone(),
                other => format!("{other:?}"),
            };
            (s.name.clone(), value)
        })
        .collect()
}

fn order(text: &str) -> Vec<(String, String)> {
    let m = recognise_in(COFFEE, text).unwrap_or_else(|| panic!("{text:?} was not read"));
    assert_eq!(m.intent, "orderDrink");
    let mut s = slots(&m);
    s.sort();
    s
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

#[test]
fn alternatives_optionals_and_lists() {
    let m = recognise("Turn on the kitchen lights.").unwrap();
    assert_eq!((m.intent.as_str(), m.cost), ("home.turn_on", 0));
    assert_eq!(m.slots[0].value, SlotValue::Text("kitchen lights".into()));
    let m = recognise("switch living room lamp on please").unwrap();
    assert_eq!(m.slots[0].value, SlotValue::Text("lamp-1".into()));
    assert_eq!((m.slots[0].first, m.slots[0].end), (1, 4));
    assert_eq!(
        recognise("turn off the kitchen lights").unwrap().intent,
        "home.turn_off"
    );
    assert!(recognise("turn on the garage door").is_none());
}

#[test]
fn built_in_values() {
    let m = recognise("Set a timer for 3 seconds.").unwrap();
    assert_eq!(m.slots[0].value, SlotValue::Seconds(3));
    let m = recognise("start a ten minute timer").unwrap();
    assert_eq!(m.slots[0].value, SlotValue::Seconds(600));
    let m = recognise("set the kitchen lights to 50%").unwrap();
    assert_eq!(m.slots[1].value, SlotValue::Number(50.0));
    let m = recognise("What is 12 times seven?").unwrap();
    let values: Vec<_> = m.slots.iter().map(|s| s.value.clone()).collect();
    assert_eq!(
        values,
        [
            SlotValue::Number(12.0),
            SlotValue::Text("*".into()),
            SlotValue::Number(7.0)
        ]
    );
}

#[test]
fn speech_to_text_errors_are_tolerated() {
    // "light" for "lights", "kitchin" for "kitchen", a filler.
    let m = recognise("um turn on the kitchin light").unwrap();
    assert_eq!(m.intent, "home.turn_on");
    assert_eq!(m.cost, 2 * costs::SPELLING);
    assert_eq!(recognise("What's the time?").unwrap().intent, "time.now");
}

#[test]
fn fillers_in_templates_are_optional_like_fillers_in_speech() {
    // Both used to be refused: the template's "please" could never match,
    // since fillers were dropped from the input only.
    let m = recognise("would you please turn on the lamp").unwrap();
    assert_eq!((m.intent.as_str(), m.cost), ("home.turn_on", 0));
    let m = recognise("please dim the lamp").unwrap();
    assert_eq!((m.intent.as_str(), m.cost), ("home.dim", 0));
    assert_eq!(slots(&m), pairs(&[("device", "lamp")]));
    let m = recognise("would you dim the lamp").unwrap();
    assert_eq!((m.intent.as_str(), m.cost), ("home.dim", 0));
    assert_eq!(recognise("dim the lamp please").unwrap().intent, "home.dim");
}

#[test]
fn hyphens_compounds_and_digits_read_as_the_words_of_the_lists() {
    assert_eq!(
        order("Can I get a 12-ounce, light-roast, single-shot latte?"),
        pairs(&[
            ("size", "twelve ounce"),
            ("roast", "light roast"),
            ("shots", "single shot"),
            ("drink", "latte")
        ])
    );
    assert_eq!(
        order("a 16 ounce mocha with soymilk"),
        pairs(&[
            ("size", "sixteen ounce"),
            ("drink", "mocha"),
            ("milk", "soy milk")
        ])
    );
    let m = recognise_in(COFFEE, "play the 10 of clubs").unwrap();
    assert_eq!((m.intent.as_str(), m.cost), ("playCard", 0));
    assert_eq!(slots(&m), pairs(&[("card", "10C")]));
}

#[test]
fn words_that_sound_alike_are_read_as_the_expected_ones_at_a_cost() {
    for (heard, slot, value) in [
        ("make me a dark rose coffee", "roast", "dark roast"),
        ("i'd like a large moga", "drink", "mocha"),
        ("a latte with skin milk", "milk", "skim milk"),
        ("a small ice mocha", "drink", "iced mocha"),
    ] {
        let m = recognise_in(COFFEE, heard).unwrap_or_else(|| panic!("{heard:?}"));
        assert!(
            slots(&m).contains(&(slot.to_string(), value.to_string())),
            "{heard:?}: {:?}",
            slots(&m)
        );
        assert!(m.cost > 0, "{heard:?} is a repaired reading");
    }
    for heard in ["play the ten of close", "play ten of clothes"] {
        let m = recognise_in(COFFEE, heard).unwrap_or_else(|| panic!("{heard:?}"));
        assert_eq!(slots(&m), pairs(&[("card", "10C")]), "{heard:?}");
    }
}

#[test]
fn the_exact_reading_wins_over_a_repaired_one() {
    // "mocha" exactly, not "iced mocha" with a word missing; "latte"
    // exactly, though "lot" would sound like it.
    let m = recognise_in(COFFEE, "can i have a mocha").unwrap();
    assert_eq!((slots(&m), m.cost), (pairs(&[("drink", "mocha")]), 0));
    let m = recognise_in(COFFEE, "a small iced mocha").unwrap();
    assert_eq!(m.cost, 0);
    assert!(slots(&m).contains(&("drink".into(), "iced mocha".into())));
}

#[test]
fn parts_in_any_order_and_stray_words_at_the_edges() {
    let expected = pairs(&[
        ("size", "large"),
        ("roast", "dark roast"),
        ("shots", "double shot"),
        ("drink", "latte"),
        ("milk", "lots of cream"),
        ("sugar", "brown sugar"),
    ]);
    assert_eq!(
        order("I'd like a large double shot dark roast latte with lots of cream and brown sugar"),
        expected
    );
    assert_eq!(
        order("make me a dark roast double shot large latte with brown sugar and lots of cream"),
        expected
    );
    // A stray word at the end (the start of the next request), and a name
    // said before the command.
    let m = recognise_in(COFFEE, "can i get a large latte with brown sugar? Can").unwrap();
    assert_eq!(m.cost, costs::EXTRA_WORD);
    let m = recognise_in(COFFEE, "Barista, make me a large coffee").unwrap();
    assert_eq!(m.cost, costs::EXTRA_WORD);
    assert_eq!(slots(&m).len(), 2);
    // Too much that is not in the templates is no command at all.
    assert!(recognise_in(COFFEE, "what is the weather like in paris today").is_none());
}

#[test]
fn template_errors_name_the_template() {
    let e = Templates::parse(r#"(intents: {"a": ["turn on {nothing}"]})"#).unwrap_err();
    assert!(
        e.contains("template \"turn on {nothing}\"") && e.contains("no list called `nothing`"),
        "{e}"
    );
    let e = Templates::parse(r#"(intents: {"a": ["turn (on|off"]})"#).unwrap_err();
    assert!(e.contains("not closed"), "{e}");
    let e = Templates::parse(r#"(intents: {"a": ["(a|b;c)"]})"#).unwrap_err();
    assert!(e.contains("mixes `|` and `;`"), "{e}");
}

/// Whether `grammar` reads all of `text`.
fn accepts(grammar: &Grammar, text: &str) -> bool {
    grammar.start().accept_str(text).is_complete()
}

#[test]
fn the_grammar_accepts_the_templates_as_whisper_writes_them() {
    let coffee = Templates::parse(COFFEE).unwrap().grammar();
    for text in [
        " Can I get a large latte?",
        " Can I have a 12-ounce, light roast, double shot latte with soy milk and brown sugar?",
        " I'd like a dark roast, double shot, Iced Mocha with skim milk.",
        " Make me a 16 ounce house coffee with lots of cream",
        " A mocha",
        " Play the 10 of clubs.",
    ] {
        assert!(accepts(&coffee, text), "{text:?}\n{}", coffee.to_gbnf());
    }
    for text in [
        " Hello world.",
        " Can I get a large pizza?",
        " A latte latte with",
    ] {
        assert!(!accepts(&coffee, text), "{text:?}");
    }
    let assistant = Templates::parse(FILE).unwrap().grammar();
    for text in [
        " Set a timer for 10 minutes.",
        " Set a timer for ten minutes and 30 seconds.",
        " What is 12 times 7?",
        " Please dim the living room lamp.",
    ] {
        assert!(
            accepts(&assistant, text),
            "{text:?}\n{}",
            assistant.to_gbnf()
        );
    }
    // Half-way, the state knows it is not done, and what it cannot take.
    let state = coffee.start().accept_str(" Can I get a large");
    assert!(!state.is_dead() && !state.is_complete() && !state.is_open());
    assert!(state.accept_str(" pizza").is_dead());
    assert!(state.accept_str(" latte").is_complete());
    let gbnf = coffee.to_gbnf();
    assert!(gbnf.starts_with("root ::= sentence"), "{gbnf}");
    assert!(gbnf.contains("gap ::="), "{gbnf}");
}
