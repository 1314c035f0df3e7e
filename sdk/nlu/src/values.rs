//! Built-in slot types: numbers (digits or words), durations, times of
//! day and dates, read from folded words (see [`crate::text::fold`]).
//! Each parser takes a prefix of the words and says how many it used.

/// A normalised slot value.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A number.
    Number(f64),
    /// A duration in seconds.
    Seconds(i64),
    /// A time of day, `hour` 0..24.
    Time {
        /// Hour, 0..24.
        hour: u32,
        /// Minute, 0..60.
        minute: u32,
    },
    /// A day: `today`, `tomorrow`, `yesterday` or a weekday name.
    Day(&'static str),
}

const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// The words numbers are said with: units, tens and scales.
pub fn number_words() -> impl Iterator<Item = &'static str> {
    UNITS
        .iter()
        .chain(TENS.iter().filter(|t| !t.is_empty()))
        .chain(["hundred", "thousand", "million"].iter())
        .copied()
}

fn small_number(word: &str) -> Option<f64> {
    if let Some(i) = UNITS.iter().position(|u| *u == word) {
        return Some(i as f64);
    }
    if let Some(i) = TENS.iter().position(|t| !t.is_empty() && *t == word) {
        return Some(i as f64 * 10.0);
    }
    // "twenty-five"
    let (tens, unit) = word.split_once('-')?;
    let t = TENS.iter().position(|t| !t.is_empty() && *t == tens)?;
    let u = UNITS[1..10].iter().position(|u| *u == unit)? + 1;
    Some((t * 10 + u) as f64)
}

/// `n` in words, as people say it ("one hundred five", "twenty five"),
/// for whole numbers below a million; `None` above.
pub fn integer_words(n: u64) -> Option<String> {
    fn below_thousand(n: usize, out: &mut Vec<&'static str>) {
        if n >= 100 {
            out.push(UNITS[n / 100]);
            out.push("hundred");
        }
        let rest = n % 100;
        if rest >= 20 {
            out.push(TENS[rest / 10]);
            if !rest.is_multiple_of(10) {
                out.push(UNITS[rest % 10]);
            }
        } else if rest > 0 || out.is_empty() {
            out.push(UNITS[rest]);
        }
    }
    if n >= 1_000_000 {
        return None;
    }
    let n = n as usize;
    let mut out = Vec::new();
    if n >= 1000 {
        below_thousand(n / 1000, &mut out);
        out.push("thousand");
        if !n.is_multiple_of(1000) {
            below_thousand(n % 1000, &mut out);
        }
    } else {
        below_thousand(n, &mut out);
    }
    Some(out.join(" "))
}

/// A whole number written in digits (`12`, `1,500`), if `word` is one.
pub fn whole_number(word: &str) -> Option<u64> {
    let digits = word.replace(',', "");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // "1,50" is not a number people write; only group by thousands.
    if word.contains(',') && !word.split(',').skip(1).all(|g| g.len() == 3) {
        return None;
    }
    digits.parse().ok()
}

fn digits(word: &str) -> Option<f64> {
    let w = word.replace(',', "");
    if w.is_empty() || !w.chars().next()?.is_ascii_digit() && !w.starts_with(['-', '.']) {
        return None;
    }
    w.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A number at the start of `words`: `42`, `3.5`, `1,000`, `forty two`,
/// `a hundred and five`, `two point five`, `minus three`.
pub fn number(words: &[&str]) -> Option<(f64, usize)> {
    let (sign, skip) = match words.first() {
        Some(&"minus") | Some(&"negative") => (-1.0, 1),
        _ => (1.0, 0),
    };
    let (value, used) = unsigned(&words[skip..])?;
    Some((sign * value, used + skip))
}

fn unsigned(words: &[&str]) -> Option<(f64, usize)> {
    let first = *words.first()?;
    if let Some(v) = digits(first) {
        return Some((v, 1));
    }
    let mut total = 0.0;
    let mut current = 0.0;
    let mut used = 0;
    let mut any = false;
    while used < words.len() {
        let w = words[used];
        if let Some(v) = small_number(w) {
            // "twenty five": a unit after a ten adds; two units in a row
            // ("five five") are two numbers.
            let unit_after_unit = current % 10.0 != 0.0;
            let ten_after_ten = v >= 10.0 && current % 100.0 != 0.0;
            if any && (unit_after_unit || ten_after_ten) {
                break;
            }
            current += v;
        } else if (w == "a" || w == "an") && !any {
            if !matches!(
                words.get(used + 1),
                Some(&("hundred" | "thousand" | "million"))
            ) {
                break;
            }
            current = 1.0;
        } else if w == "hundred" && any {
            current *= 100.0;
        } else if (w == "thousand" || w == "million") && any {
            let scale = if w == "thousand" { 1e3 } else { 1e6 };
            total += current.max(1.0) * scale;
            current = 0.0;
        } else if w == "and"
            && any
            && words
                .get(used + 1)
                .is_some_and(|n| small_number(n).is_some())
        {
            // "a hundred and five"
        } else if w == "point" && any {
            let mut fraction = String::new();
            let mut j = used + 1;
            while let Some(d) = words
                .get(j)
                .and_then(|w| small_number(w))
                .filter(|d| *d < 10.0)
            {
                fraction.push(char::from(b'0' + d as u8));
                j += 1;
            }
            if fraction.is_empty() {
                break;
            }
            let value = total + current + format!("0.{fraction}").parse::<f64>().ok()?;
            return Some((value, j));
        } else {
            break;
        }
        any = true;
        used += 1;
    }
    // A trailing "and" is not part of the number.
    while used > 0 && words[used - 1] == "and" {
        used -= 1;
    }
    any.then_some((total + current, used))
}

fn unit_seconds(word: &str) -> Option<i64> {
    Some(match word {
        "second" | "seconds" | "sec" | "secs" | "s" => 1,
        "minute" | "minutes" | "min" | "mins" => 60,
        "hour" | "hours" | "hr" | "hrs" | "h" => 3600,
        "day" | "days" => 86400,
        _ => return None,
    })
}

/// A duration at the start of `words`: `ten minutes`, `1 hour and 30
/// seconds`, `an hour and a half`, `half an hour`, `90 s`.
pub fn duration(words: &[&str]) -> Option<(i64, usize)> {
    let mut seconds = 0.0;
    let mut used = 0;
    loop {
        let rest = &words[used..];
        let (amount, n) = match rest {
            ["half", "an" | "a", ..] => (0.5, 2),
            ["a" | "an", ..] => (1.0, 1),
            _ => match number(rest) {
                Some(v) => v,
                None => break,
            },
        };
        let Some(unit) = rest.get(n).and_then(|w| unit_seconds(w)) else {
            break;
        };
        seconds += amount * unit as f64;
        used += n + 1;
        let rest = &words[used..];
        if let ["and", "a", "half", ..] = rest {
            seconds += 0.5 * unit as f64;
            used += 3;
        }
        if words.get(used) == Some(&"and") && words.get(used + 1).is_some() {
            // Only part of the duration if another amount follows.
            let after = &words[used + 1..];
            if duration(after).is_some() {
                used += 1;
                continue;
            }
        }
        if duration(&words[used..]).is_none() {
            break;
        }
    }
    (used > 0).then_some((seconds.round() as i64, used))
}

/// A time of day at the start of `words`: `7:30`, `7:30 pm`, `seven
/// thirty`, `7 o'clock`, `noon`, `midnight`, `half past six`.
pub fn time_of_day(words: &[&str]) -> Option<((u32, u32), usize)> {
    let (mut hour, minute, mut used) = match words {
        ["noon" | "midday", ..] => return Some(((12, 0), 1)),
        ["midnight", ..] => return Some(((0, 0), 1)),
        ["half", "past", rest @ ..] => {
            let (h, n) = number(rest)?;
            (h, 30.0, 2 + n)
        }
        ["quarter" | "a", ..] if words.get(1) == Some(&"quarter") || words[0] == "quarter" => {
            let skip = usize::from(words[0] == "a");
            let (minute, direction) = (15.0, *words.get(skip + 1)?);
            let (h, n) = number(words.get(skip + 2..)?)?;
            match direction {
                "past" => (h, minute, skip + 2 + n),
                "to" => (h - 1.0, 45.0, skip + 2 + n),
                _ => return None,
            }
        }
        [first, ..] if first.contains(':') => {
            let (h, m) = first.split_once(':')?;
            (h.parse::<f64>().ok()?, m.parse::<f64>().ok()?, 1)
        }
        _ => {
            let (h, n) = unsigned(words)?;
            let mut used = n;
            let mut minute = 0.0;
            if matches!(words.get(used), Some(&("o'clock" | "oclock"))) {
                used += 1;
            } else if let Some((m, k)) = words.get(used..).and_then(unsigned) {
                if m < 60.0 && !matches!(words.get(used + k), Some(w) if unit_seconds(w).is_some())
                {
                    minute = m;
                    used += k;
                }
            }
            (h, minute, used)
        }
    };
    match words.get(used) {
        Some(&("pm" | "p.m." | "p.m")) => {
            if hour < 12.0 {
                hour += 12.0;
            }
            used += 1;
        }
        Some(&("am" | "a.m." | "a.m")) => {
            if hour == 12.0 {
                hour = 0.0;
            }
            used += 1;
        }
        _ => {}
    }
    let valid = hour.fract() == 0.0
        && minute.fract() == 0.0
        && (0.0..24.0).contains(&hour)
        && (0.0..60.0).contains(&minute);
    valid.then_some(())?;
    Some(((hour as u32, minute as u32), used))
}

/// The days [`day`] reads.
pub const DAYS: [&str; 10] = [
    "today",
    "tomorrow",
    "yesterday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A day at the start of `words`: `today`, `tomorrow`, `yesterday`, a
/// weekday (optionally after `on`/`next`/`this`).
pub fn day(words: &[&str]) -> Option<(&'static str, usize)> {
    let skip = usize::from(matches!(words.first(), Some(&("next" | "this" | "on"))));
    let word = words.get(skip)?;
    DAYS.iter().find(|d| *d == word).map(|d| (*d, skip + 1))
}

/// The normalised value of a whole slot text, if it is one of the
/// built-in types.
pub fn parse_all(words: &[&str]) -> Option<Parsed> {
    if words.is_empty() {
        return None;
    }
    if let Some((s, n)) = duration(words) {
        if n == words.len() {
            return Some(Parsed::Seconds(s));
        }
    }
    if let Some((v, n)) = number(words) {
        if n == words.len() {
            return Some(Parsed::Number(v));
        }
    }
    if let Some(((hour, minute), n)) = time_of_day(words) {
        if n == words.len() {
            return Some(Parsed::Time { hour, minute });
        }
    }
    if let Some((d, n)) = day(words) {
        if n == words.len() {
            return Some(Parsed::Day(d));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<&str> {
        s.split(' ').collect()
    }

    #[test]
    fn numbers_in_digits_and_words() {
        assert_eq!(number(&w("42 apples")), Some((42.0, 1)));
        assert_eq!(number(&w("1,000")), Some((1000.0, 1)));
        assert_eq!(number(&w("forty two")), Some((42.0, 2)));
        assert_eq!(number(&w("twenty-five")), Some((25.0, 1)));
        assert_eq!(number(&w("a hundred and five")), Some((105.0, 4)));
        assert_eq!(number(&w("three thousand two hundred")), Some((3200.0, 4)));
        assert_eq!(number(&w("two point five")), Some((2.5, 3)));
        assert_eq!(number(&w("minus three")), Some((-3.0, 2)));
        assert_eq!(number(&w("five and")), Some((5.0, 1)));
        assert_eq!(number(&w("the")), None);
    }

    #[test]
    fn whole_numbers_in_words() {
        let words = |n| integer_words(n).unwrap();
        assert_eq!(words(0), "zero");
        assert_eq!(words(12), "twelve");
        assert_eq!(words(20), "twenty");
        assert_eq!(words(25), "twenty five");
        assert_eq!(words(105), "one hundred five");
        assert_eq!(words(2024), "two thousand twenty four");
        assert_eq!(words(1500), "one thousand five hundred");
        assert_eq!(integer_words(1_000_000), None);
        assert_eq!(whole_number("1,500"), Some(1500));
        assert_eq!(whole_number("1,50"), None);
        assert_eq!(whole_number("3.5"), None);
        // Written back as words, they read as the same number.
        for n in [7, 16, 42, 110, 999, 1001, 20_000, 123_456] {
            let w = words(n);
            let w: Vec<&str> = w.split(' ').collect();
            assert_eq!(number(&w), Some((n as f64, w.len())), "{n}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(&w("ten minutes")), Some((600, 2)));
        assert_eq!(duration(&w("3 seconds please")), Some((3, 2)));
        assert_eq!(duration(&w("1 hour and 30 seconds")), Some((3630, 5)));
        assert_eq!(duration(&w("an hour and a half")), Some((5400, 5)));
        assert_eq!(duration(&w("half an hour")), Some((1800, 3)));
        assert_eq!(duration(&w("two minutes thirty seconds")), Some((150, 4)));
        assert_eq!(duration(&w("ten apples")), None);
    }

    #[test]
    fn times_and_days() {
        assert_eq!(time_of_day(&w("7:30 pm")), Some(((19, 30), 2)));
        assert_eq!(time_of_day(&w("seven thirty")), Some(((7, 30), 2)));
        assert_eq!(time_of_day(&w("noon")), Some(((12, 0), 1)));
        assert_eq!(time_of_day(&w("6 o'clock")), Some(((6, 0), 2)));
        assert_eq!(time_of_day(&w("half past six")), Some(((6, 30), 3)));
        assert_eq!(time_of_day(&w("12 am")), Some(((0, 0), 2)));
        assert_eq!(day(&w("next friday")), Some(("friday", 2)));
        assert_eq!(parse_all(&w("ten minutes")), Some(Parsed::Seconds(600)));
        assert_eq!(parse_all(&w("five")), Some(Parsed::Number(5.0)));
    }
}
