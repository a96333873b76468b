//! Values with units, as written on the command line and in scenario files: durations (`250us`,
//! `5ms`, `1.5s`, `2m`), counts and rates with a `k`/`M`/`G` suffix (`10k`), and the
//! [`Dur`] type (a duration flag / scenario value; a bare number is seconds). Also the serde
//! helper that lets a scenario file write a value as a string or as a number.

use std::{fmt, str::FromStr, time::Duration};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The unit a bare number (no suffix) is read in by [`parse_duration`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BareUnit {
    /// Seconds (run durations).
    Seconds,
    /// Microseconds (latencies, as reported).
    Micros,
}

/// Parses a duration: a non-negative decimal number followed by `ns`, `us` (or `µs`), `ms`, `s`,
/// `m` or `h`; a bare number is read in `bare`.
pub fn parse_duration(text: &str, bare: BareUnit) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (examples: 250us, 5ms, 1.5s, 2m)"))?;
    let nanos_per_unit = match (unit.trim(), bare) {
        ("ns", _) => 1.0,
        ("us" | "µs", _) | ("", BareUnit::Micros) => 1e3,
        ("ms", _) => 1e6,
        ("s", _) | ("", BareUnit::Seconds) => 1e9,
        ("m" | "min", _) => 60e9,
        ("h", _) => 3600e9,
        (other, _) => {
            return Err(format!(
                "`{text}`: unknown duration unit `{other}` (use ns, us, ms, s, m or h)"
            ))
        }
    };
    let nanos = value * nanos_per_unit;
    if !nanos.is_finite() || nanos > u64::MAX as f64 {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(Duration::from_nanos(nanos.round() as u64))
}

/// Formats a duration in the largest unit that keeps it readable (`1.5s`, `250ms`, `20us`).
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let ns = d.as_nanos() as f64;
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    // Up to three decimals, trailing zeros dropped.
    let s = format!("{value:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}{unit}")
}

/// Parses a count or rate: a decimal number with an optional `k` (10³), `M` (10⁶) or `G` (10⁹)
/// suffix.
pub fn parse_count(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (num, factor) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 1e3),
        Some((i, 'M')) => (&t[..i], 1e6),
        Some((i, 'G')) => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    let value: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number (examples: 0, 250, 1.5k, 2M)"))?;
    if !value.is_finite() {
        return Err(format!("`{text}` is not a finite number"));
    }
    Ok(value * factor)
}

/// A duration flag or scenario value: `10s`, `500ms`, or a bare number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_duration(s, BareUnit::Seconds).map(Dur)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_scalar(d)
    }
}

/// A scenario value written either as a string or as a number (`duration = "10s"` or
/// `duration = 10`, `mqtt_version = "5"` or `mqtt_version = 5`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
}

/// Deserializes a string-or-number scenario value with `T`'s `FromStr`.
pub fn from_scalar<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    let text = match Scalar::deserialize(d)? {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Text(t) => t,
    };
    text.parse().map_err(serde::de::Error::custom)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn durations_with_units() {
        let p = |s| parse_duration(s, BareUnit::Seconds).unwrap();
        assert_eq!(p("250us"), Duration::from_micros(250));
        assert_eq!(p("250µs"), Duration::from_micros(250));
        assert_eq!(p("5ms"), Duration::from_millis(5));
        assert_eq!(p("1.5s"), Duration::from_millis(1500));
        assert_eq!(p(" 2m "), Duration::from_secs(120));
        assert_eq!(p("1h"), Duration::from_secs(3600));
        assert_eq!(p("10"), Duration::from_secs(10));
        assert_eq!(p("7ns"), Duration::from_nanos(7));
        assert_eq!(
            parse_duration("10", BareUnit::Micros).unwrap(),
            Duration::from_micros(10)
        );
    }

    #[test]
    fn bad_durations_are_named() {
        for bad in ["", "ms", "5 parsecs", "-1s", "1.2.3s", "fast"] {
            let e = parse_duration(bad, BareUnit::Seconds).unwrap_err();
            assert!(e.contains(bad.trim()), "{e}");
        }
    }

    #[test]
    fn durations_format_back() {
        for (d, s) in [
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_millis(5), "5ms"),
            (Duration::from_micros(20), "20us"),
            (Duration::from_nanos(999), "999ns"),
            (Duration::ZERO, "0s"),
        ] {
            assert_eq!(format_duration(d), s);
            assert_eq!(s.parse::<Dur>().unwrap(), Dur(d));
        }
    }

    #[test]
    fn counts_with_suffixes() {
        assert_eq!(parse_count("0").unwrap(), 0.0);
        assert_eq!(parse_count("250").unwrap(), 250.0);
        assert_eq!(parse_count("1.5k").unwrap(), 1500.0);
        assert_eq!(parse_count("2M").unwrap(), 2e6);
        assert_eq!(parse_count("0.5").unwrap(), 0.5);
        assert!(parse_count("many").is_err());
        assert!(parse_count("k").is_err());
    }
}
