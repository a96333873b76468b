//! The `vmq.acl` file of VerneMQ's `vmq_acl` plugin and the decisions made from it.
//!
//! # Format (as `apps/vmq_acl/src/vmq_acl.erl` reads it)
//!
//! ```text
//! # comment (a '#' in the first column)
//! topic [read|write] <filter>     # no access word: read and write
//! user <name>                     # following topic lines belong to <name>
//! pattern [read|write] <filter>   # %u, %c, %m as whole levels
//! ```
//!
//! - The keyword prefixes are matched exactly as VerneMQ does (`topic read `, `topic write `,
//!   `topic `, ...: one space after each word); the filter and the user name are trimmed of
//!   spaces and tabs, so a filter may contain inner spaces (`topic a/b c/d`).
//! - `topic` lines before the first `user` line form the first section. VerneMQ checks that
//!   section for *every* client, anonymous or not, before the user's own entries; so does
//!   this implementation (the documentation's "applied to anonymous clients" undersells it).
//! - `pattern` lines apply to every client wherever they appear, `user` lines do not scope
//!   them. `%u` never matches for a client without a user name (VerneMQ substitutes the atom
//!   `undefined`, which equals no level), so patterns without `%u` apply to anonymous
//!   clients too.
//! - Filters are validated like subscription filters; an invalid one is reported and
//!   skipped (VerneMQ logs a warning and skips it).
//! - Topics are checked as the client sees them, without the listener's mountpoint; `%m`
//!   is the mountpoint (`""` when there is none).
//!
//! Deliberate differences, all towards refusing:
//! - a substituted value containing `/`, `+` or `#` makes the pattern not match (VerneMQ
//!   would let a client id `+` act as a wildcard);
//! - a subscription is allowed only when an ACL filter covers every topic it can receive
//!   (see the matching notes in the crate's topic module: ACL `a/+` does not allow `a/#`).
//!
//! And towards leniency: a line VerneMQ cannot read (unknown keyword, leading blanks) is
//! reported with its number and skipped instead of stopping the load; whitespace-only
//! lines are blank; a `\r` before the line break is ignored; a shared subscription
//! `$share/<group>/<filter>` is allowed when either the whole filter (VerneMQ's check) or
//! `<filter>` is covered.

use std::collections::HashMap;

use crate::{
    topic::{covers, parse_filter, safe_level, Level, Subst},
    LineError,
};

/// Read (subscribe) or write (publish) access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Subscribe.
    Read,
    /// Publish.
    Write,
}

#[derive(Debug, Clone, Default)]
struct Rules {
    read: Vec<Vec<Level>>,
    write: Vec<Vec<Level>>,
}

impl Rules {
    fn of(&self, access: Access) -> &[Vec<Level>] {
        match access {
            Access::Read => &self.read,
            Access::Write => &self.write,
        }
    }

    fn len(&self) -> usize {
        self.read.len() + self.write.len()
    }
}

/// A parsed ACL file.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    all: Rules,
    // std's RandomState is randomly seeded: user names are client-controlled lookups.
    users: HashMap<String, Rules>,
    patterns: Rules,
}

enum Section {
    All,
    User(String),
    /// After a `user` line with an empty name: its topics are skipped.
    Skip,
}

impl Acl {
    /// Parses a whole file. Bad lines are skipped and returned with their line numbers.
    pub fn parse(text: &[u8]) -> (Acl, Vec<LineError>) {
        let mut acl = Acl::default();
        let mut errors = Vec::new();
        let mut section = Section::All;
        for (idx, raw) in text.split(|&b| b == b'\n').enumerate() {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let line = idx + 1;
            let Ok(text) = std::str::from_utf8(raw) else {
                errors.push(LineError {
                    line,
                    reason: "not valid UTF-8".into(),
                });
                continue;
            };
            if let Err(reason) = acl.parse_line(text, &mut section) {
                errors.push(LineError { line, reason });
            }
        }
        (acl, errors)
    }

    fn parse_line(&mut self, line: &str, section: &mut Section) -> Result<(), String> {
        if line.starts_with('#') || line.trim().is_empty() {
            return Ok(());
        }
        const TOPIC: [(&str, Option<Access>); 3] = [
            ("topic read ", Some(Access::Read)),
            ("topic write ", Some(Access::Write)),
            ("topic ", None),
        ];
        const PATTERN: [(&str, Option<Access>); 3] = [
            ("pattern read ", Some(Access::Read)),
            ("pattern write ", Some(Access::Write)),
            ("pattern ", None),
        ];
        for (prefix, access) in TOPIC {
            if let Some(rest) = line.strip_prefix(prefix) {
                let filter = parse_filter(trim(rest), false).map_err(str::to_owned)?;
                let rules = match section {
                    Section::All => &mut self.all,
                    Section::User(u) => self.users.entry(u.clone()).or_default(),
                    Section::Skip => return Ok(()),
                };
                add(rules, access, filter);
                return Ok(());
            }
        }
        if let Some(rest) = line.strip_prefix("user ") {
            let user = trim(rest);
            if user.is_empty() {
                *section = Section::Skip;
                return Err("empty user name; its topic lines are skipped".into());
            }
            *section = Section::User(user.to_owned());
            return Ok(());
        }
        for (prefix, access) in PATTERN {
            if let Some(rest) = line.strip_prefix(prefix) {
                let filter = parse_filter(trim(rest), true).map_err(str::to_owned)?;
                add(&mut self.patterns, access, filter);
                return Ok(());
            }
        }
        Err("expected 'topic', 'user', 'pattern' or a '#' comment".into())
    }

    /// Whether the file grants nothing at all.
    pub fn is_empty(&self) -> bool {
        self.all.len() == 0 && self.users.is_empty() && self.patterns.len() == 0
    }

    /// Number of users with a section.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// `vmq_acl:check/4`: whether `access` to `subject` (a topic, or a subscription filter for
    /// [`Access::Read`]) is granted to this client.
    pub fn allows(
        &self,
        access: Access,
        user: Option<&str>,
        client_id: &str,
        mountpoint: &str,
        subject: &str,
    ) -> bool {
        if self
            .all
            .of(access)
            .iter()
            .any(|f| covers(f, subject, &Subst::NONE))
        {
            return true;
        }
        if let Some(rules) = user.and_then(|u| self.users.get(u)) {
            if rules
                .of(access)
                .iter()
                .any(|f| covers(f, subject, &Subst::NONE))
            {
                return true;
            }
        }
        let patterns = self.patterns.of(access);
        if patterns.is_empty() {
            return false;
        }
        let subst = Subst {
            user: user.and_then(safe_level),
            client: safe_level(client_id),
            mountpoint: safe_level(mountpoint),
        };
        patterns.iter().any(|f| covers(f, subject, &subst))
    }

    /// `auth_on_publish`: may this client publish to `topic` (as the client sent it, without
    /// the mountpoint)?
    pub fn can_publish(
        &self,
        user: Option<&str>,
        client_id: &str,
        mountpoint: &str,
        topic: &str,
    ) -> bool {
        self.allows(Access::Write, user, client_id, mountpoint, topic)
    }

    /// `auth_on_subscribe`: may this client subscribe to `filter`? Allowed when an ACL read
    /// filter covers it (every topic the subscription can receive is readable).
    pub fn can_subscribe(
        &self,
        user: Option<&str>,
        client_id: &str,
        mountpoint: &str,
        filter: &str,
    ) -> bool {
        if self.allows(Access::Read, user, client_id, mountpoint, filter) {
            return true;
        }
        match shared_inner(filter) {
            Some(inner) => self.allows(Access::Read, user, client_id, mountpoint, inner),
            None => false,
        }
    }
}

/// `<filter>` of `$share/<group>/<filter>`.
fn shared_inner(filter: &str) -> Option<&str> {
    let rest = filter.strip_prefix("$share/")?;
    let (group, inner) = rest.split_once('/')?;
    (!group.is_empty() && !inner.is_empty()).then_some(inner)
}

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

fn add(rules: &mut Rules, access: Option<Access>, filter: Vec<Level>) {
    match access {
        Some(Access::Read) => rules.read.push(filter),
        Some(Access::Write) => rules.write.push(filter),
        None => {
            rules.read.push(filter.clone());
            rules.write.push(filter);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(text: &str) -> Acl {
        let (acl, errs) = Acl::parse(text.as_bytes());
        assert!(errs.is_empty(), "{errs:?}");
        acl
    }

    /// The example of the documentation (configuration/file-auth.md).
    #[test]
    fn documentation_example() {
        let a = acl("# ACL for anonymous clients\ntopic bar\ntopic write foo\ntopic read open_to_all\n\n\n# ACL for user 'john'\nuser john\ntopic foo\ntopic read baz\ntopic write open_to_all\n");
        // Anonymous clients.
        assert!(a.can_publish(None, "c", "", "bar"));
        assert!(a.can_subscribe(None, "c", "", "bar"));
        assert!(a.can_publish(None, "c", "", "foo"));
        assert!(!a.can_subscribe(None, "c", "", "foo"));
        assert!(a.can_subscribe(None, "c", "", "open_to_all"));
        assert!(!a.can_publish(None, "c", "", "open_to_all"));
        assert!(!a.can_subscribe(None, "c", "", "baz"));
        // john.
        let j = Some("john");
        assert!(a.can_publish(j, "c", "", "foo"));
        assert!(a.can_subscribe(j, "c", "", "foo"));
        assert!(a.can_subscribe(j, "c", "", "baz"));
        assert!(!a.can_publish(j, "c", "", "baz"));
        assert!(a.can_publish(j, "c", "", "open_to_all"));
        // The first section applies to every client (vmq_acl:check_all_acl runs first).
        assert!(a.can_subscribe(j, "c", "", "open_to_all"));
        assert!(a.can_publish(j, "c", "", "bar"));
        // Another user gets only the first section.
        assert!(!a.can_subscribe(Some("mary"), "c", "", "baz"));
        assert!(a.can_subscribe(Some("mary"), "c", "", "bar"));
    }

    /// vmq_acl_SUITE's simple_acl_list and spaces_acl_list.
    #[test]
    fn vernemq_suite_cases() {
        let a = acl("# simple comment\ntopic read a/b/c\n# other comment \ntopic write a/b/c\ntopic write x/y/z\n\n#\n# ACL for user 'test'\nuser test\n\n\n##\ntopic x/y/z/#\n# some patterns\npattern read %m/%u/%c\npattern write %m/%u/%c");
        let t = Some("test");
        for f in ["a/b/c", "x/y/z/#", "/test/my-client-id"] {
            assert!(a.can_subscribe(t, "my-client-id", "", f), "{f}");
        }
        assert!(!a.can_subscribe(Some("invalid-user"), "my-client-id", "", "x/y/z/#"));
        assert!(!a.can_subscribe(
            Some("invalid-user"),
            "my-client-id",
            "",
            "/test/my-client-id"
        ));
        assert!(a.can_publish(t, "my-client-id", "", "a/b/c"));
        assert!(a.can_publish(t, "my-client-id", "", "x/y/z/blabla"));
        assert!(a.can_publish(t, "my-client-id", "", "/test/my-client-id"));
        assert!(!a.can_publish(Some("invalid-user"), "my-client-id", "", "x/y/z/blabla"));

        let s = acl("topic read  a/b/c \ntopic write   a/b/c\ntopic write  x/y/z  \n\nuser    test   \ntopic  x/y/z/# \n");
        assert!(s.can_subscribe(None, "c", "", "a/b/c"));
        assert!(s.can_publish(None, "c", "", "x/y/z"));
        assert!(s.can_publish(t, "c", "", "x/y/z/1"));
        assert!(s.can_subscribe(t, "c", "", "x/y/z/1"));

        let w = acl("topic write v/w x/y\n");
        assert!(w.can_publish(None, "c", "", "v/w x/y"));
    }

    #[test]
    fn patterns() {
        let a = acl("pattern write sensor/%u/data\npattern read devices/%c/#\npattern %m/shared\nuser alice\n");
        assert!(a.can_publish(Some("bob"), "c", "", "sensor/bob/data"));
        assert!(!a.can_publish(Some("bob"), "c", "", "sensor/alice/data"));
        assert!(!a.can_publish(None, "c", "", "sensor/undefined/data"));
        assert!(a.can_subscribe(None, "dev1", "", "devices/dev1/#"));
        assert!(!a.can_subscribe(None, "dev1", "", "devices/dev2/#"));
        assert!(!a.can_subscribe(None, "dev1", "", "devices/+/#"));
        // A client id that is a wildcard must not act as one.
        assert!(!a.can_subscribe(None, "+", "", "devices/+/#"));
        assert!(!a.can_subscribe(None, "#", "", "devices/#"));
        // Mountpoints.
        assert!(a.can_publish(None, "c", "tenant", "tenant/shared"));
        assert!(!a.can_publish(None, "c", "tenant", "other/shared"));
        assert!(a.can_publish(None, "c", "", "/shared"));
    }

    #[test]
    fn prefixes_are_exact() {
        let a = acl("topic read\ntopic readme/x\n");
        // "topic read" has no trailing space: the topic is "read", read and write.
        assert!(a.can_publish(None, "c", "", "read"));
        assert!(a.can_publish(None, "c", "", "readme/x"));
        let (_, errs) = Acl::parse(b" topic a\ntopics a\nuser\ntopic a/#/b\ntopic \n");
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn empty_user_skips_its_section() {
        let (a, errs) = Acl::parse(b"user  \ntopic secret\n");
        assert_eq!(errs.len(), 1);
        assert!(!a.can_publish(None, "c", "", "secret"));
        assert!(!a.can_publish(Some(""), "c", "", "secret"));
    }

    #[test]
    fn shared_subscriptions() {
        let a = acl("user u\ntopic read a/#\ntopic read $share/g2/b\n");
        let u = Some("u");
        assert!(a.can_subscribe(u, "c", "", "$share/g/a/b"));
        assert!(a.can_subscribe(u, "c", "", "$share/g2/b"));
        assert!(!a.can_subscribe(u, "c", "", "$share/g/b"));
        assert!(!a.can_subscribe(u, "c", "", "$share/g"));
    }

    #[test]
    fn crlf_and_utf8() {
        let a = acl("user joe\r\ntopic машина/скорость\r\n");
        assert!(a.can_subscribe(Some("joe"), "c", "", "машина/скорость"));
        let (_, errs) = Acl::parse(b"topic \xff\n");
        assert_eq!(errs.len(), 1);
    }
}
