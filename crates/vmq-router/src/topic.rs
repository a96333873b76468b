//! Topic name and topic filter validation, and parsing of `$share/<group>/<filter>`.
//!
//! Rules (MQTT 3.1.1 §4.7, MQTT 5 §4.7–4.8): levels are separated by `/` and may be empty;
//! `+` must occupy a whole level; `#` must occupy a whole level and be the last one; topic
//! names contain neither; nothing contains U+0000; nothing is empty or longer than 65 535 bytes.

use crate::RouterError;

/// Longest topic or filter an MQTT UTF-8 string can carry.
pub const MAX_TOPIC_LEN: usize = 65_535;

/// The prefix of a shared-subscription filter.
pub const SHARE_PREFIX: &str = "$share/";

/// A subscription filter as the client sent it, split into share name and topic filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionFilter<'a> {
    /// `Some(group)` for `$share/<group>/<filter>`.
    pub share_group: Option<&'a str>,
    /// The topic filter proper (without the `$share/<group>/` prefix).
    pub filter: &'a str,
}

impl<'a> SubscriptionFilter<'a> {
    /// Whether this is a shared subscription.
    pub fn is_shared(&self) -> bool {
        self.share_group.is_some()
    }
}

fn check_common(s: &str, max_depth: usize) -> Result<(), RouterError> {
    if s.is_empty() {
        return Err(RouterError::Empty);
    }
    if s.len() > MAX_TOPIC_LEN {
        return Err(RouterError::TooLong);
    }
    if s.as_bytes().contains(&0) {
        return Err(RouterError::NulCharacter);
    }
    let levels = level_count(s);
    if levels > max_depth {
        return Err(RouterError::TooDeep {
            levels,
            max: max_depth,
        });
    }
    Ok(())
}

/// Number of levels in a topic or filter (`"a//b"` has 3, `"/"` has 2).
pub fn level_count(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'/').count() + 1
}

/// Whether a filter contains a wildcard level (`+` or `#`). Assumes a valid filter.
pub fn has_wildcard(filter: &str) -> bool {
    filter.bytes().any(|b| b == b'+' || b == b'#')
}

/// Validates a topic name (PUBLISH, will, retained message): non-empty, at most 65 535
/// bytes, no NUL, no `+` or `#`, at most `max_depth` levels (pass `usize::MAX` for no limit).
pub fn validate_topic_name(topic: &str, max_depth: usize) -> Result<(), RouterError> {
    check_common(topic, max_depth)?;
    if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(RouterError::WildcardInTopicName);
    }
    Ok(())
}

/// Validates a plain topic filter (no `$share` handling: `$share/g/a` is a filter whose first
/// level is `$share`). Use [`parse_subscription`] for what a client sends in SUBSCRIBE.
pub fn validate_filter(filter: &str, max_depth: usize) -> Result<(), RouterError> {
    check_common(filter, max_depth)?;
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        match level {
            "#" if levels.peek().is_some() => return Err(RouterError::MisplacedWildcard),
            "#" | "+" => {}
            l if l.bytes().any(|b| b == b'+' || b == b'#') => {
                return Err(RouterError::MisplacedWildcard)
            }
            _ => {}
        }
    }
    Ok(())
}

/// Parses and validates a filter from SUBSCRIBE / UNSUBSCRIBE, recognising
/// `$share/<group>/<filter>` (MQTT 5, and VerneMQ's 3.1.1 backport).
///
/// Errors: [`RouterError::EmptyShareName`] for `$share//a`, [`RouterError::WildcardInShareName`]
/// for `$share/g+/a`, [`RouterError::MissingSharedFilter`] for `$share/g` and `$share/g/`, and
/// every error of [`validate_filter`] for the inner filter. `max_depth` limits the inner
/// filter's levels.
pub fn parse_subscription(
    filter: &str,
    max_depth: usize,
) -> Result<SubscriptionFilter<'_>, RouterError> {
    let Some(rest) = filter.strip_prefix(SHARE_PREFIX) else {
        validate_filter(filter, max_depth)?;
        return Ok(SubscriptionFilter {
            share_group: None,
            filter,
        });
    };
    if filter.len() > MAX_TOPIC_LEN {
        return Err(RouterError::TooLong);
    }
    let (group, inner) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if group.is_empty() {
        return Err(RouterError::EmptyShareName);
    }
    if group.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(RouterError::WildcardInShareName);
    }
    if group.as_bytes().contains(&0) {
        return Err(RouterError::NulCharacter);
    }
    if inner.is_empty() {
        return Err(RouterError::MissingSharedFilter);
    }
    validate_filter(inner, max_depth)?;
    Ok(SubscriptionFilter {
        share_group: Some(group),
        filter: inner,
    })
}

/// Whether `filter` (a valid plain filter) matches `topic` (a valid topic name), with the
/// rule that a topic starting with `$` is not matched by a filter starting with a wildcard.
///
/// This is a direct, allocation-free level-by-level comparison, for single checks (ACLs,
/// tests); use the trie to match against many filters.
pub fn filter_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: usize = usize::MAX;

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("a/b", M).is_ok());
        assert!(validate_topic_name("/", M).is_ok());
        assert!(validate_topic_name("a//b", M).is_ok());
        assert!(validate_topic_name("$SYS/x", M).is_ok());
        assert_eq!(validate_topic_name("", M), Err(RouterError::Empty));
        assert_eq!(
            validate_topic_name("a/+", M),
            Err(RouterError::WildcardInTopicName)
        );
        assert_eq!(
            validate_topic_name("a#", M),
            Err(RouterError::WildcardInTopicName)
        );
        assert_eq!(
            validate_topic_name("a\0", M),
            Err(RouterError::NulCharacter)
        );
        assert_eq!(
            validate_topic_name(&"a".repeat(65_536), M),
            Err(RouterError::TooLong)
        );
        assert_eq!(
            validate_topic_name("a/b/c", 2),
            Err(RouterError::TooDeep { levels: 3, max: 2 })
        );
        assert!(validate_topic_name("a/b", 2).is_ok());
    }

    #[test]
    fn filters() {
        for ok in [
            "#", "+", "a/#", "+/+", "/+", "a//#", "+/#", "$SYS/#", "a/+/c",
        ] {
            assert!(validate_filter(ok, M).is_ok(), "{ok}");
        }
        for bad in ["a/#/b", "a#", "a/b#", "+a", "a/+b/c", "##", "#/"] {
            assert_eq!(
                validate_filter(bad, M),
                Err(RouterError::MisplacedWildcard),
                "{bad}"
            );
        }
        assert_eq!(validate_filter("", M), Err(RouterError::Empty));
    }

    #[test]
    fn shared() {
        let s = parse_subscription("$share/g/a/+", M).unwrap();
        assert_eq!(s.share_group, Some("g"));
        assert_eq!(s.filter, "a/+");
        let s = parse_subscription("$share/g/#", M).unwrap();
        assert_eq!(s.filter, "#");
        let s = parse_subscription("$share/g//", M).unwrap();
        assert_eq!(s.filter, "/");
        assert_eq!(
            parse_subscription("$share//a", M),
            Err(RouterError::EmptyShareName)
        );
        assert_eq!(
            parse_subscription("$share/", M),
            Err(RouterError::EmptyShareName)
        );
        assert_eq!(
            parse_subscription("$share/g+/a", M),
            Err(RouterError::WildcardInShareName)
        );
        assert_eq!(
            parse_subscription("$share/#/a", M),
            Err(RouterError::WildcardInShareName)
        );
        assert_eq!(
            parse_subscription("$share/g", M),
            Err(RouterError::MissingSharedFilter)
        );
        assert_eq!(
            parse_subscription("$share/g/", M),
            Err(RouterError::MissingSharedFilter)
        );
        assert_eq!(
            parse_subscription("$share/g/a/#/b", M),
            Err(RouterError::MisplacedWildcard)
        );
        let s = parse_subscription("$share", M).unwrap();
        assert_eq!(s.share_group, None);
        let s = parse_subscription("$shared/x", M).unwrap();
        assert_eq!(s.share_group, None);
    }

    #[test]
    fn single_match() {
        assert!(filter_matches("a/#", "a"));
        assert!(filter_matches("a/#", "a/b/c"));
        assert!(filter_matches("a/+", "a/"));
        assert!(!filter_matches("a/+", "a"));
        assert!(filter_matches("+/+", "/"));
        assert!(filter_matches("#", "/"));
        assert!(!filter_matches("#", "$SYS/a"));
        assert!(!filter_matches("+/a", "$SYS/a"));
        assert!(filter_matches("$SYS/#", "$SYS/a"));
        assert!(!filter_matches("a/b", "a/b/c"));
    }
}
