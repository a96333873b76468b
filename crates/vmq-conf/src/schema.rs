//! The schema: which keys exist (patterns with `$name` wildcards, from VerneMQ 2.1.2's
//! cuttlefish schemas, see `schema_table.rs`), what datatype each accepts, and its default.
//! Matching a concrete key picks the most specific pattern (fewest wildcards, wildcards as far
//! right as possible), as cuttlefish prefers exact mappings over fuzzy ones.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::value;
pub use crate::value::Unit;

/// What a key accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Datatype {
    /// Any text.
    String,
    /// A decimal integer.
    Integer,
    /// `on` / `off`.
    Flag,
    /// A file or directory path (any text).
    Path,
    /// An Erlang atom: any non-empty text without spaces.
    Atom,
    /// `ip:port`.
    Ip,
    /// `ip:port` or `local:/path:0`.
    IpOrLocal,
    /// A byte size (`10KB`).
    ByteSize,
    /// A byte size or `infinity`.
    ByteSizeOrInfinity,
    /// A byte size or `off`.
    ByteSizeOrOff,
    /// An integer or `infinity`.
    IntegerOrInfinity,
    /// An integer or `auto`.
    IntegerOrAuto,
    /// An integer or `off`.
    IntegerOrOff,
    /// An integer percentage (`10` or `10%`).
    Percent,
    /// A path or `off`.
    PathOrOff,
    /// A duration: a bare integer in the unit, or `10s`, `1h30m`, `500ms`.
    Duration(Unit),
    /// A duration (bare integer in the unit) or `off`.
    DurationOrOff(Unit),
    /// One of the listed words.
    Enum(&'static [&'static str]),
}

impl Datatype {
    /// Checks `v` against the datatype; `Err` carries a description of what is accepted.
    pub fn check(&self, v: &str) -> Result<(), String> {
        let ok = match self {
            Datatype::String | Datatype::Path => true,
            Datatype::Atom => !v.is_empty() && !v.contains(char::is_whitespace),
            Datatype::Integer => value::parse_int(v).is_some(),
            Datatype::Flag => value::parse_flag(v).is_some(),
            Datatype::Ip => value::parse_addr(v).is_some(),
            Datatype::IpOrLocal => {
                value::parse_addr(v).is_some() || value::parse_local(v).is_some()
            }
            Datatype::ByteSize => value::parse_bytesize(v).is_some(),
            Datatype::ByteSizeOrInfinity => v == "infinity" || value::parse_bytesize(v).is_some(),
            Datatype::ByteSizeOrOff => v == "off" || value::parse_bytesize(v).is_some(),
            Datatype::IntegerOrInfinity => v == "infinity" || value::parse_int(v).is_some(),
            Datatype::IntegerOrAuto => v == "auto" || value::parse_int(v).is_some(),
            Datatype::IntegerOrOff => v == "off" || value::parse_int(v).is_some(),
            Datatype::Percent => matches!(
                value::parse_int(v.strip_suffix('%').unwrap_or(v)),
                Some(0..=100)
            ),
            Datatype::PathOrOff => !v.is_empty(),
            Datatype::Duration(u) => value::parse_duration(v, *u).is_some(),
            Datatype::DurationOrOff(u) => v == "off" || value::parse_duration(v, *u).is_some(),
            Datatype::Enum(words) => words.contains(&v),
        };
        if ok {
            Ok(())
        } else {
            Err(self.describe())
        }
    }

    /// A human description of accepted values, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Datatype::String => "text".into(),
            Datatype::Path => "a path".into(),
            Datatype::Atom => "a word without spaces".into(),
            Datatype::Integer => "an integer".into(),
            Datatype::Flag => "on or off".into(),
            Datatype::Ip => "an IP/port pair, e.g. 127.0.0.1:1883".into(),
            Datatype::IpOrLocal => {
                "an IP/port pair (127.0.0.1:1883) or a Unix socket (local:/path.sock:0)".into()
            }
            Datatype::ByteSize => "a byte size, e.g. 4096, 10KB, 1MB".into(),
            Datatype::ByteSizeOrInfinity => "a byte size (10KB, 1MB) or infinity".into(),
            Datatype::ByteSizeOrOff => "a byte size (10KB, 1MB) or off".into(),
            Datatype::IntegerOrInfinity => "an integer or infinity".into(),
            Datatype::IntegerOrAuto => "an integer or auto".into(),
            Datatype::IntegerOrOff => "an integer or off".into(),
            Datatype::Percent => "a percentage between 0 and 100".into(),
            Datatype::PathOrOff => "a path or off".into(),
            Datatype::Duration(u) => format!(
                "a duration: an integer in {} or e.g. 10s, 500ms, 1h",
                unit_name(*u)
            ),
            Datatype::DurationOrOff(u) => {
                format!("off or a duration (an integer in {})", unit_name(*u))
            }
            Datatype::Enum(words) => format!("one of {}", words.join(", ")),
        }
    }
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Ms => "milliseconds",
        Unit::S => "seconds",
    }
}

/// One known key (or key pattern) of the schema.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    /// The key, segments separated by `.`; a segment starting with `$` matches any one segment.
    pub key: &'static str,
    /// Accepted values.
    pub datatype: Datatype,
    /// VerneMQ's default (with release variables such as `platform_data_dir` resolved), if any.
    pub default: Option<&'static str>,
    /// The schema file the key comes from (`vmq_server`, `vmq_acl`, `erlang_vm`, ...).
    pub schema: &'static str,
    /// Whether VerneMQ hides the key from its generated `vernemq.conf`.
    pub hidden: bool,
}

impl KeyDef {
    /// True when the pattern has wildcard segments.
    pub fn is_pattern(&self) -> bool {
        self.key.contains('$')
    }
}

/// Every key pattern VerneMQ 2.1.2 knows, in schema priority order, followed by this
/// implementation's extensions (schema `vernemq-rs`, see `schema_ext.rs`).
pub fn all_keys() -> &'static [KeyDef] {
    static ALL: OnceLock<Vec<KeyDef>> = OnceLock::new();
    ALL.get_or_init(|| {
        crate::schema_table::KEYS
            .iter()
            .chain(crate::schema_ext::EXTENSION_KEYS)
            .copied()
            .collect()
    })
}

/// Splits a key into segments at dots that are not escaped (`\.` stays inside a segment).
pub fn split_key(key: &str) -> Vec<&str> {
    let bytes = key.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'.' => {
                out.push(&key[start..i]);
                start = i + 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    out.push(&key[start.min(key.len())..]);
    out
}

/// The patterns split into segments once, with exact keys indexed.
struct Index {
    exact: HashMap<&'static str, &'static KeyDef>,
    patterns: Vec<(&'static KeyDef, Vec<&'static str>)>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut exact = HashMap::new();
        let mut patterns = Vec::new();
        for def in all_keys() {
            if def.is_pattern() {
                patterns.push((def, def.key.split('.').collect()));
            } else {
                exact.entry(def.key).or_insert(def);
            }
        }
        Index { exact, patterns }
    })
}

/// Finds the schema entry for a concrete key, preferring the most specific pattern.
pub fn lookup(key: &str) -> Option<&'static KeyDef> {
    let idx = index();
    if let Some(def) = idx.exact.get(key) {
        return Some(def);
    }
    let segs = split_key(key);
    let mut best: Option<(&'static KeyDef, Vec<usize>)> = None;
    for (def, psegs) in &idx.patterns {
        if psegs.len() != segs.len() {
            continue;
        }
        let mut wild = Vec::new();
        let mut matched = true;
        for (i, (p, s)) in psegs.iter().zip(&segs).enumerate() {
            if p.starts_with('$') {
                if s.is_empty() {
                    matched = false;
                    break;
                }
                wild.push(i);
            } else if p != s {
                matched = false;
                break;
            }
        }
        if !matched {
            continue;
        }
        let better = match &best {
            None => true,
            // Fewer wildcards win; then wildcards further right (more literal prefix).
            Some((_, bw)) => wild.len() < bw.len() || (wild.len() == bw.len() && wild > *bw),
        };
        if better {
            best = Some((def, wild));
        }
    }
    best.map(|(d, _)| d)
}

/// The entry for an exact pattern string (e.g. `listener.tcp.$name.mountpoint`).
pub fn pattern(key: &str) -> Option<&'static KeyDef> {
    all_keys().iter().find(|d| d.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_beats_wildcard() {
        assert_eq!(
            lookup("listener.tcp.mountpoint").map(|d| d.key),
            Some("listener.tcp.mountpoint")
        );
        assert_eq!(
            lookup("listener.tcp.default").map(|d| d.key),
            Some("listener.tcp.$name")
        );
        assert_eq!(
            lookup("listener.tcp.name.allow_anonymous_override").map(|d| d.key),
            Some("listener.tcp.$name.allow_anonymous_override")
        );
        assert_eq!(
            lookup("plugins.vmq_acl").map(|d| d.key),
            Some("plugins.vmq_acl")
        );
        assert_eq!(
            lookup("plugins.myplugin").map(|d| d.key),
            Some("plugins.$name")
        );
        assert!(lookup("max_inflight_mesages").is_none());
        assert!(lookup("").is_none());
    }

    #[test]
    fn split_respects_escapes() {
        assert_eq!(split_key("a.b\\.c.d"), vec!["a", "b\\.c", "d"]);
        assert_eq!(split_key("a"), vec!["a"]);
    }

    #[test]
    fn every_default_fits_its_datatype() {
        for d in all_keys() {
            if let Some(v) = d.default {
                // VerneMQ uses -1 as "inherit" on some integer listener keys.
                if v == "-1" {
                    continue;
                }
                assert!(
                    d.datatype.check(v).is_ok(),
                    "{} = {v} ({:?})",
                    d.key,
                    d.datatype
                );
            }
        }
    }
}
