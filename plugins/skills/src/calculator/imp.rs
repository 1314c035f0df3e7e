//! What `calculator` does with a request.

use crate::chain::{self, Reply, Skill};
use hark_sdk::api::IntentMessage;

/// A running `calculator` skill.
pub struct CalculatorSkill;

/// Unit code, dimension, singular, plural, factor to the dimension's
/// base unit (temperatures are converted apart).
pub(super) const UNITS: [(&str, &str, &str, &str, f64); 19] = [
    ("mm", "length", "millimeter", "millimeters", 0.001),
    ("cm", "length", "centimeter", "centimeters", 0.01),
    ("m", "length", "meter", "meters", 1.0),
    ("km", "length", "kilometer", "kilometers", 1000.0),
    ("in", "length", "inch", "inches", 0.0254),
    ("ft", "length", "foot", "feet", 0.3048),
    ("yd", "length", "yard", "yards", 0.9144),
    ("mi", "length", "mile", "miles", 1609.344),
    ("g", "mass", "gram", "grams", 0.001),
    ("kg", "mass", "kilogram", "kilograms", 1.0),
    ("oz", "mass", "ounce", "ounces", 0.028_349_523_125),
    ("lb", "mass", "pound", "pounds", 0.453_592_37),
    ("ml", "volume", "milliliter", "milliliters", 0.001),
    ("l", "volume", "liter", "liters", 1.0),
    ("cup", "volume", "cup", "cups", 0.236_588_236_5),
    ("gal", "volume", "gallon", "gallons", 3.785_411_784),
    ("c", "temperature", "degree Celsius", "degrees Celsius", 1.0),
    (
        "f",
        "temperature",
        "degree Fahrenheit",
        "degrees Fahrenheit",
        1.0,
    ),
    ("k", "temperature", "kelvin", "kelvins", 1.0),
];

pub(super) fn unit(
    code: &str,
) -> Option<&'static (&'static str, &'static str, &'static str, &'static str, f64)> {
    UNITS.iter().find(|u| u.0 == code)
}

pub(super) fn named(value: f64, code: &str) -> String {
    let u = unit(code).map_or((code, code), |u| (u.2, u.3));
    let name = if value == 1.0 { u.0 } else { u.1 };
    format!("{} {name}", chain::number(value))
}

/// `value` in `from` as `to`; `None` across dimensions.
pub fn convert(value: f64, from: &str, to: &str) -> Option<f64> {
    let (f, t) = (unit(from)?, unit(to)?);
    if f.1 != t.1 {
        return None;
    }
    if f.1 == "temperature" {
        let kelvin = match from {
            "c" => value + 273.15,
            "f" => (value - 32.0) * 5.0 / 9.0 + 273.15,
            _ => value,
        };
        return Some(match to {
            "c" => kelvin - 273.15,
            "f" => (kelvin - 273.15) * 9.0 / 5.0 + 32.0,
            _ => kelvin,
        });
    }
    Some(value * f.4 / t.4)
}

impl Skill for CalculatorSkill {
    fn answer(&mut self, intent: &IntentMessage) -> Option<Reply> {
        Some(Reply::say(match intent.name.as_str() {
            "math.calculate" => {
                let a = chain::slot_number(intent, "a");
                let b = chain::slot_number(intent, "b");
                let op = chain::slot_text(intent, "operator").unwrap_or_default();
                match (a, b) {
                    (Some(a), Some(b)) => calculate(a, &op, b),
                    _ => "I need two numbers, for example: what is 12 times 7?".into(),
                }
            }
            "units.convert" => {
                let value = chain::slot_number(intent, "value").unwrap_or(1.0);
                let from = chain::slot_text(intent, "from").unwrap_or_default();
                let to = chain::slot_text(intent, "to").unwrap_or_default();
                match convert(value, &from, &to) {
                    Some(result) => {
                        format!("{} is {}.", named(value, &from), named(round(result), &to))
                    }
                    None => format!("I can't convert {} to {}.", plural(&from), plural(&to)),
                }
            }
            _ => return None,
        }))
    }
}

pub(super) fn plural(code: &str) -> &str {
    unit(code).map_or(code, |u| u.3)
}

pub(super) fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub(super) fn calculate(a: f64, op: &str, b: f64) -> String {
    let (result, word) = match op {
        "+" => (a + b, "plus"),
        "-" => (a - b, "minus"),
        "*" => (a * b, "times"),
        "/" if b == 0.0 => return "I can't divide by zero.".into(),
        "/" => (a / b, "divided by"),
        other => return format!("I don't know the operation {other}."),
    };
    format!(
        "{} {word} {} is {}.",
        chain::number(a),
        chain::number(b),
        chain::number(round(result))
    )
}
