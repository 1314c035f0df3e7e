//! `calculator`: arithmetic and unit conversion.
//!
//! | intent           | slots                                   | reply                        |
//! |------------------|-----------------------------------------|------------------------------|
//! | `math.calculate` | `a`, `operator` (`+ - * /`), `b`        | "12 times 7 is 84."          |
//! | `units.convert`  | `value`, `from`, `to` (unit codes below) | "10 kilometers is 6.214 miles." |
//!
//! Units: length `mm cm m km in ft yd mi`, mass `g kg oz lb`, volume
//! `ml l cup gal`, temperature `c f k`.

mod imp;

pub use imp::{convert, CalculatorSkill};

use hark_sdk::prelude::*;

use crate::chain::{skill_spec, SkillNode};

/// The `calculator` kind.
pub struct Calculator;

impl NodeKind for Calculator {
    type Settings = NoSettings;
    type Instance = SkillNode<CalculatorSkill>;

    fn spec() -> KindSpec {
        skill_spec("calculator", "Skill: arithmetic and unit conversion")
    }

    fn create(_: NoSettings, _: &Context) -> Result<Self::Instance, Error> {
        Ok(SkillNode::new(CalculatorSkill))
    }
}

#[cfg(test)]
mod tests {
    use super::imp::*;

    #[test]
    fn arithmetic_and_units() {
        assert_eq!(calculate(12.0, "*", 7.0), "12 times 7 is 84.");
        assert_eq!(calculate(1.0, "/", 3.0), "1 divided by 3 is 0.333.");
        assert_eq!(calculate(1.0, "/", 0.0), "I can't divide by zero.");
        assert!((convert(10.0, "km", "mi").unwrap() - 6.2137).abs() < 1e-3);
        assert!((convert(100.0, "c", "f").unwrap() - 212.0).abs() < 1e-9);
        assert_eq!(convert(1.0, "kg", "m"), None);
        assert_eq!(named(1.0, "ft"), "1 foot");
        assert_eq!(named(2.0, "ft"), "2 feet");
    }
}
