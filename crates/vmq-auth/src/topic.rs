//! Topic filters of ACL entries and the one matching rule `vmq_acl` needs: does an ACL filter
//! cover a topic (publish) or a whole subscription filter (subscribe)?
//!
//! VerneMQ's `vmq_topic:match/2` compares the levels of the checked topic or filter with the
//! ACL filter: equal levels match, `+` in the ACL matches any one level, a trailing `#` in
//! the ACL matches the rest (including nothing). A wildcard in a *subscription* filter is an
//! ordinary level there, so `a/+` is allowed by an ACL `a/+` or `a/#` but not by `a/b`. This
//! implementation keeps that and closes one gap: VerneMQ lets an ACL `+` level match a `#` in
//! the subscription (so ACL `a/+` allows subscribing to `a/#`, which receives `a/b/c`);
//! here an ACL filter allows a subscription only when every topic the subscription can
//! receive is allowed by it. `$` topics get no special treatment, as in `vmq_topic:match/2`.

/// One level of an ACL filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Level {
    /// A literal level.
    Lit(Box<str>),
    /// `+`.
    Plus,
    /// `#` (always last).
    Hash,
    /// `%u` in a `pattern` (user name).
    User,
    /// `%c` in a `pattern` (client id).
    Client,
    /// `%m` in a `pattern` (mountpoint).
    Mountpoint,
}

/// Values substituted into a pattern's `%u`, `%c`, `%m`. `None` means "cannot match" (an
/// anonymous client's `%u`, or a value containing `/`, `+` or `#`).
pub(crate) struct Subst<'a> {
    pub user: Option<&'a str>,
    pub client: Option<&'a str>,
    pub mountpoint: Option<&'a str>,
}

impl Subst<'static> {
    /// For plain `topic` entries, which have no substitutions.
    pub const NONE: Subst<'static> = Subst {
        user: None,
        client: None,
        mountpoint: None,
    };
}

/// A value that is safe to substitute as one level: no level separator, no wildcard.
/// (VerneMQ substitutes blindly, so a client id `#` would turn `pattern read %c/#`'s check
/// into a wildcard; mosquitto fixed the same flaw as CVE-2017-7650.)
pub(crate) fn safe_level(v: &str) -> Option<&str> {
    (!v.contains(['/', '+', '#'])).then_some(v)
}

/// Parses an ACL topic filter as `vmq_topic:validate_topic(subscribe, _)` accepts it:
/// non-empty, at most 65536 bytes, `+` and `#` only as whole levels, `#` only last.
/// With `pattern`, whole levels `%u`, `%c`, `%m` become substitutions.
pub(crate) fn parse_filter(s: &str, pattern: bool) -> Result<Vec<Level>, &'static str> {
    if s.is_empty() {
        return Err("empty topic");
    }
    if s.len() > 65536 {
        return Err("topic longer than 65536 bytes");
    }
    let mut levels = Vec::new();
    let mut iter = s.split('/').peekable();
    while let Some(w) = iter.next() {
        let level = match w {
            "+" => Level::Plus,
            "#" if iter.peek().is_none() => Level::Hash,
            "#" => return Err("'#' is only allowed as the last level"),
            "%u" if pattern => Level::User,
            "%c" if pattern => Level::Client,
            "%m" if pattern => Level::Mountpoint,
            w if w.contains(['+', '#']) => {
                return Err("'+' and '#' must be a whole level");
            }
            w => Level::Lit(w.into()),
        };
        levels.push(level);
    }
    Ok(levels)
}

/// Whether `acl` covers `subject` (a topic name, or a subscription filter whose `+`/`#` are
/// taken as wildcards the ACL must be at least as broad as).
pub(crate) fn covers(acl: &[Level], subject: &str, subst: &Subst<'_>) -> bool {
    let mut words = subject.split('/');
    let mut levels = acl.iter();
    loop {
        match (levels.next(), words.next()) {
            (Some(Level::Hash), _) => return true,
            (None, None) => return true,
            (None, Some(_)) | (Some(_), None) => return false,
            (Some(level), Some(word)) => {
                let ok = match level {
                    Level::Plus => word != "#",
                    Level::Lit(l) => **l == *word,
                    Level::User => subst.user == Some(word),
                    Level::Client => subst.client == Some(word),
                    Level::Mountpoint => subst.mountpoint == Some(word),
                    Level::Hash => true,
                };
                if !ok {
                    return false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Vec<Level> {
        parse_filter(s, true).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn c(acl: &str, subject: &str) -> bool {
        covers(&f(acl), subject, &Subst::NONE)
    }

    #[test]
    fn validation_follows_vmq_topic() {
        for ok in [
            "a",
            "/a/b",
            "a//b/",
            "+",
            "#",
            "a/+/b/#",
            "$share/g/a",
            "v/w x/y",
        ] {
            assert!(parse_filter(ok, false).is_ok(), "{ok}");
        }
        for bad in ["", "a/#/c", "#a", "a+", "a/b#", "+a/b"] {
            assert!(parse_filter(bad, false).is_err(), "{bad}");
        }
        assert_eq!(parse_filter("%u", false), Ok(vec![Level::Lit("%u".into())]));
        assert_eq!(parse_filter("%u", true), Ok(vec![Level::User]));
        assert_eq!(
            parse_filter("x%u", true),
            Ok(vec![Level::Lit("x%u".into())])
        );
    }

    #[test]
    fn publish_topics() {
        assert!(c("a/b", "a/b"));
        assert!(!c("a/b", "a/b/c"));
        assert!(!c("a/b", "a"));
        assert!(c("a/+", "a/b"));
        assert!(!c("a/+", "a/b/c"));
        assert!(c("a/#", "a/b/c"));
        assert!(c("a/#", "a"), "'#' also matches the parent level");
        assert!(c("#", "anything/at/all"));
        assert!(c("+/+", "/finance"));
        assert!(!c("+", "/finance"));
        assert!(c("#", "$SYS/x"), "no $ rule, as vmq_topic:match/2");
    }

    #[test]
    fn subscription_filters_must_be_covered() {
        assert!(c("a/+", "a/+"));
        assert!(c("a/#", "a/+"));
        assert!(c("a/#", "a/#"));
        assert!(!c("a/b", "a/+"));
        assert!(!c("a/+", "a/#"), "'+' does not cover '#'");
        assert!(!c("+", "#"));
        assert!(!c("a/b/#", "a/#"));
        assert!(c("#", "#"));
    }

    #[test]
    fn substitutions() {
        let s = Subst {
            user: Some("joe"),
            client: Some("c1"),
            mountpoint: Some(""),
        };
        assert!(covers(&f("%m/%u/%c"), "/joe/c1", &s));
        assert!(!covers(&f("%m/%u/%c"), "/joe/c2", &s));
        assert!(!covers(&f("%u/#"), "joe/x", &Subst::NONE));
        assert_eq!(safe_level("a/b"), None);
        assert_eq!(safe_level("+"), None);
        assert_eq!(safe_level("ok"), Some("ok"));
    }
}
