//! Syntax of topic names and topic filters (MQTT 4.7, 4.8.2), as checked by the decoder. These are
//! syntax checks only; authorisation, mountpoints and `$`-topic policy belong to the router.

use crate::utf8::byte_eq;

/// The prefix of a shared subscription filter: `$share/<group>/<filter>`.
pub const SHARE_PREFIX: &str = "$share/";

/// True when `topic` is a valid topic name: at least one character (MQTT-4.7.3-1) and no `+` or
/// `#` (MQTT-3.3.2-2). U+0000 is excluded by [`crate::Utf8Str`] already.
#[inline]
pub fn valid_topic_name(topic: &str) -> bool {
    valid_topic_name_bytes(topic.as_bytes())
}

/// [`valid_topic_name`] on the bytes of a validated string (the wildcards are ASCII).
#[inline]
pub(crate) fn valid_topic_name_bytes(topic: &[u8]) -> bool {
    !topic.is_empty() && !has_wildcard(topic)
}

/// True when `b` contains `+` or `#`, eight bytes at a time.
#[inline]
pub(crate) fn has_wildcard(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut found = 0u64;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let w = u64::from_ne_bytes(w);
        found |= byte_eq(w, b'+') | byte_eq(w, b'#');
    }
    found != 0 || chunks.remainder().iter().any(|&b| b == b'+' || b == b'#')
}

/// True when `filter` is a valid topic filter: non-empty (MQTT-4.7.3-1), `#` only as the whole
/// last level (MQTT-4.7.1-2), `+` only as a whole level (MQTT-4.7.1-3), and for a shared
/// subscription `$share/<group>/<filter>` a non-empty group without `/`, `+` or `#` followed by a
/// valid filter (MQTT-4.8.2-1, MQTT-4.8.2-2).
pub fn valid_topic_filter(filter: &str) -> bool {
    valid_topic_filter_bytes(filter.as_bytes())
}

/// [`valid_topic_filter`] on the bytes of a validated string.
pub(crate) fn valid_topic_filter_bytes(filter: &[u8]) -> bool {
    match filter.strip_prefix(SHARE_PREFIX.as_bytes()) {
        Some(rest) => match rest.iter().position(|&b| b == b'/') {
            Some(i) => {
                let (group, inner) = (&rest[..i], &rest[i + 1..]);
                !group.is_empty() && !has_wildcard(group) && valid_plain_filter(inner)
            }
            None => false,
        },
        None => valid_plain_filter(filter),
    }
}

/// True when `filter` starts with `$share/` (a shared subscription).
#[inline]
pub fn is_shared(filter: &str) -> bool {
    filter.starts_with(SHARE_PREFIX)
}

/// A filter without the share prefix, in one pass: `#` only as the whole last level, `+` only as
/// a whole level.
#[inline]
fn valid_plain_filter(filter: &[u8]) -> bool {
    if filter.is_empty() {
        return false;
    }
    if !has_wildcard(filter) {
        return true;
    }
    let last = filter.len() - 1;
    for (i, &b) in filter.iter().enumerate() {
        let whole_level =
            || (i == 0 || filter[i - 1] == b'/') && (i == last || filter[i + 1] == b'/');
        match b {
            b'#' if i != last || !whole_level() => return false,
            b'+' if !whole_level() => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The filter rules level by level, the way the specification states them.
    fn reference_plain_filter(filter: &[u8]) -> bool {
        if filter.is_empty() {
            return false;
        }
        let levels: Vec<&[u8]> = filter.split(|&b| b == b'/').collect();
        levels.iter().enumerate().all(|(i, level)| match level {
            [b'#'] => i == levels.len() - 1,
            [b'+'] => true,
            l => !l.iter().any(|&b| b == b'+' || b == b'#'),
        })
    }

    #[test]
    fn one_pass_filter_check_matches_the_level_rules() {
        let alphabet = [b'a', b'/', b'+', b'#'];
        for len in 0..=7u32 {
            for mut n in 0..4usize.pow(len) {
                let mut f = Vec::new();
                for _ in 0..len {
                    f.push(alphabet[n % 4]);
                    n /= 4;
                }
                assert_eq!(
                    valid_plain_filter(&f),
                    reference_plain_filter(&f),
                    "{}",
                    String::from_utf8_lossy(&f)
                );
            }
        }
    }

    #[test]
    fn mqtt_4_7_1_2_multi_level_wildcard_must_be_last() {
        assert!(valid_topic_filter("#"));
        assert!(valid_topic_filter("a/#"));
        assert!(valid_topic_filter("/#"));
        assert!(!valid_topic_filter("a/#/b"));
        assert!(!valid_topic_filter("a#"));
        assert!(!valid_topic_filter("a/b#"));
        assert!(!valid_topic_filter("#/"));
    }

    #[test]
    fn mqtt_4_7_1_3_single_level_wildcard_must_occupy_a_level() {
        assert!(valid_topic_filter("+"));
        assert!(valid_topic_filter("+/+/+"));
        assert!(valid_topic_filter("a/+/b"));
        assert!(valid_topic_filter("+/#"));
        assert!(!valid_topic_filter("a+"));
        assert!(!valid_topic_filter("a/+b/c"));
        assert!(!valid_topic_filter("++"));
    }

    #[test]
    fn mqtt_4_7_3_1_topics_must_not_be_empty() {
        assert!(!valid_topic_filter(""));
        assert!(!valid_topic_name(""));
        assert!(valid_topic_name("/"));
        assert!(valid_topic_filter("/"));
        assert!(valid_topic_filter("//"));
    }

    #[test]
    fn mqtt_3_3_2_2_topic_name_must_not_contain_wildcards() {
        assert!(valid_topic_name("a/b/c"));
        assert!(valid_topic_name("$SYS/x"));
        assert!(!valid_topic_name("a/+/c"));
        assert!(!valid_topic_name("a/#"));
        assert!(!valid_topic_name("a#"));
        assert!(!valid_topic_name("abcdefghijklmnop/+"));
        assert!(!valid_topic_name("abcdefgh#"));
        assert!(!valid_topic_name("abcdefg#ijklmnop"));
        assert!(valid_topic_name("abcdefghijklmnop/q"));
        for i in 0..24 {
            let mut t = vec![b'x'; 24];
            t[i] = b'+';
            assert!(has_wildcard(&t));
            t[i] = b'#';
            assert!(has_wildcard(&t));
            t[i] = b'*';
            assert!(!has_wildcard(&t));
        }
    }

    #[test]
    fn mqtt_4_8_2_1_share_name_must_be_non_empty_without_wildcards_or_slash() {
        assert!(valid_topic_filter("$share/g/a/b"));
        assert!(valid_topic_filter("$share/g/#"));
        assert!(valid_topic_filter("$share/g/+/x"));
        assert!(!valid_topic_filter("$share//a"));
        assert!(!valid_topic_filter("$share/g+/a"));
        assert!(!valid_topic_filter("$share/#/a"));
        assert!(!valid_topic_filter("$share/g"));
        assert!(!valid_topic_filter("$share/g/"));
        assert!(!valid_topic_filter("$share/g/a/#/b"));
        assert!(valid_topic_filter("$share"));
        assert!(valid_topic_filter("$sharex/a"));
    }
}
