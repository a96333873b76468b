//! Parsers for the value syntaxes of `vernemq.conf`: on/off flags, integers, byte sizes
//! (`10KB`), cuttlefish durations (`1h30m`, `500ms`, or a bare integer in the key's unit),
//! VerneMQ's second-suffixed periods (`1w`, `2m` = months), `ip:port` and `local:/path:0`.
//! Pure functions; callers turn `None` into an error that names the key.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The unit a bare integer is read in, for keys that hold a duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
}

/// `on`/`off` (cuttlefish `flag`); `true`/`false` are accepted as well.
pub fn parse_flag(s: &str) -> Option<bool> {
    match s {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        _ => None,
    }
}

/// A decimal integer, optionally negative.
pub fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A byte size: a non-negative integer, optionally followed by `KB`, `MB`, `GB` or `TB`
/// (powers of 1024, any case), e.g. `10KB` = 10240.
pub fn parse_bytesize(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    if num.is_empty() {
        return None;
    }
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        "tb" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// A duration: a bare non-negative integer in `unit`, or one or more `<number><unit>` segments
/// with units `f` (fortnight), `w`, `d`, `h`, `m` (minute), `s`, `ms`, as cuttlefish reads them
/// (`1h30m`, `500ms`, `1.5s`).
pub fn parse_duration(s: &str, unit: Unit) -> Option<Duration> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let n: u64 = s.parse().ok()?;
        return Some(match unit {
            Unit::Ms => Duration::from_millis(n),
            Unit::S => Duration::from_secs(n),
        });
    }
    let mut rest = s;
    let mut total_ms: f64 = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, tail) = rest.split_at(end);
        if num.is_empty() || num.starts_with('.') && num.len() == 1 {
            return None;
        }
        let n: f64 = num.parse().ok()?;
        let (ms_per, tail) = if let Some(t) = tail.strip_prefix("ms") {
            (1.0, t)
        } else if let Some(t) = tail.strip_prefix('f') {
            (14.0 * 86_400_000.0, t)
        } else if let Some(t) = tail.strip_prefix('w') {
            (7.0 * 86_400_000.0, t)
        } else if let Some(t) = tail.strip_prefix('d') {
            (86_400_000.0, t)
        } else if let Some(t) = tail.strip_prefix('h') {
            (3_600_000.0, t)
        } else if let Some(t) = tail.strip_prefix('m') {
            (60_000.0, t)
        } else if let Some(t) = tail.strip_prefix('s') {
            (1000.0, t)
        } else {
            return None;
        };
        total_ms += n * ms_per;
        rest = tail;
    }
    if !total_ms.is_finite() || total_ms > u64::MAX as f64 / 2.0 {
        return None;
    }
    Some(Duration::from_millis(total_ms.round() as u64))
}

/// VerneMQ's period syntax for `persistent_client_expiration` and `max_last_will_delay`: an
/// integer followed by `s`, `h`, `d`, `w`, `m` (month = 4 weeks) or `y` (year = 48 weeks).
pub fn parse_vmq_period(s: &str) -> Option<Duration> {
    let last = s.chars().last()?;
    let num = &s[..s.len() - last.len_utf8()];
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = num.parse().ok()?;
    let week = 7 * 24 * 3600;
    let secs_per = match last {
        's' => 1,
        'h' => 3600,
        'd' => 24 * 3600,
        'w' => week,
        'm' => 4 * week,
        'y' => 12 * 4 * week,
        _ => return None,
    };
    n.checked_mul(secs_per).map(Duration::from_secs)
}

/// `ip:port` (cuttlefish `ip`): `127.0.0.1:1883`, `::1:1883` or `[::1]:1883`.
pub fn parse_addr(s: &str) -> Option<SocketAddr> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    let (ip, port) = s.rsplit_once(':')?;
    let ip: IpAddr = ip.parse().ok()?;
    let port: u16 = port.parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// A Unix domain socket listener address, `local:/var/run/app.sock:0`.
pub fn parse_local(s: &str) -> Option<PathBuf> {
    let rest = s.strip_prefix("local:")?;
    let (path, port) = rest.rsplit_once(':')?;
    if path.is_empty() || parse_int(port).is_none() {
        return None;
    }
    Some(PathBuf::from(path))
}

/// A comma-separated list of integers, e.g. `3,4,5`.
pub fn parse_int_list(s: &str) -> Option<Vec<i64>> {
    s.split(',').map(|p| parse_int(p.trim())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("10s", Unit::Ms),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_duration("500ms", Unit::S),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_duration("1h30m", Unit::S),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(parse_duration("20", Unit::S), Some(Duration::from_secs(20)));
        assert_eq!(
            parse_duration("20000", Unit::Ms),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            parse_duration("1.5s", Unit::Ms),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_duration("", Unit::Ms), None);
        assert_eq!(parse_duration("10x", Unit::Ms), None);
        assert_eq!(parse_duration("s", Unit::Ms), None);
        assert_eq!(parse_duration(".", Unit::Ms), None);
    }

    #[test]
    fn periods() {
        assert_eq!(parse_vmq_period("1w"), Some(Duration::from_secs(604_800)));
        assert_eq!(
            parse_vmq_period("2m"),
            Some(Duration::from_secs(2 * 4 * 604_800))
        );
        assert_eq!(
            parse_vmq_period("1y"),
            Some(Duration::from_secs(48 * 604_800))
        );
        assert_eq!(parse_vmq_period("w"), None);
        assert_eq!(parse_vmq_period("1x"), None);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytesize("10KB"), Some(10_240));
        assert_eq!(parse_bytesize("1MB"), Some(1_048_576));
        assert_eq!(parse_bytesize("1gb"), Some(1 << 30));
        assert_eq!(parse_bytesize("4096"), Some(4096));
        assert_eq!(parse_bytesize("KB"), None);
        assert_eq!(parse_bytesize("10XB"), None);
    }

    #[test]
    fn addrs() {
        assert_eq!(parse_addr("127.0.0.1:1883"), "127.0.0.1:1883".parse().ok());
        assert_eq!(parse_addr("::1:1883"), "[::1]:1883".parse().ok());
        assert_eq!(parse_addr("[::1]:1883"), "[::1]:1883".parse().ok());
        assert_eq!(parse_addr("localhost:1883"), None);
        assert_eq!(parse_addr("127.0.0.1"), None);
        assert_eq!(
            parse_local("local:/var/run/app.sock:0"),
            Some(PathBuf::from("/var/run/app.sock"))
        );
    }

    #[test]
    fn flags_and_ints() {
        assert_eq!(parse_flag("on"), Some(true));
        assert_eq!(parse_flag("off"), Some(false));
        assert_eq!(parse_flag("yes"), None);
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("+1"), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int_list("3,4,5"), Some(vec![3, 4, 5]));
    }
}
