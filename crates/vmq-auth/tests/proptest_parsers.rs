//! Fuzz-style property tests: the `vmq.passwd` and `vmq.acl` parsers never panic on any
//! input, every reported line number exists, and what they accept behaves consistently.

use proptest::prelude::*;
use vmq_auth::{
    acl::Acl,
    passwd::{format_line, PasswdFile, PasswordHash, Verdict},
};

/// Lines that look like the formats, to get past the first checks more often than noise.
fn passwd_like() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[a-z#: ]{0,8}",
        "[a-z]{1,6}:\\$6\\$[A-Za-z0-9+/=]{0,20}\\$[A-Za-z0-9+/=]{0,100}",
        "[a-z]{1,6}:\\$argon2id\\$[a-z0-9=,$]{0,40}",
        "[a-z]{1,6}:\\$[0-9]\\$[^\\n]{0,10}",
        any::<String>(),
    ];
    prop::collection::vec(line, 0..12).prop_map(|v| v.join("\n"))
}

fn acl_like() -> impl Strategy<Value = String> {
    let word = "[a-z%+#$ ]{0,4}";
    let filter = prop::collection::vec(word, 1..5).prop_map(|v| v.join("/"));
    let line = prop_oneof![
        filter.clone().prop_map(|f| format!("topic {f}")),
        filter.clone().prop_map(|f| format!("topic read {f}")),
        filter.clone().prop_map(|f| format!("topic write {f}")),
        filter.clone().prop_map(|f| format!("pattern {f}")),
        filter.prop_map(|f| format!("pattern read {f}")),
        "user [a-z ]{0,5}",
        "#[^\\n]{0,5}",
        any::<String>(),
    ];
    prop::collection::vec(line, 0..12).prop_map(|v| v.join("\n"))
}

fn line_count(bytes: &[u8]) -> usize {
    bytes.split(|&b| b == b'\n').count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn passwd_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (file, errors) = PasswdFile::parse(&bytes);
        for e in &errors {
            prop_assert!(e.line >= 1 && e.line <= line_count(&bytes));
        }
        let _ = file.check(Some("a"), Some(b"b"));
    }

    #[test]
    fn passwd_parser_never_panics_on_lookalikes(text in passwd_like(), user in "[a-z]{1,6}", pw in any::<Vec<u8>>()) {
        let (file, errors) = PasswdFile::parse(text.as_bytes());
        for e in &errors {
            prop_assert!(e.line >= 1 && e.line <= line_count(text.as_bytes()));
        }
        // Unknown users are never refused, only passed on.
        if !file.contains(&user) {
            prop_assert_eq!(file.check(Some(&user), Some(&pw)), Verdict::Next);
        }
    }

    #[test]
    fn acl_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let (acl, errors) = Acl::parse(&bytes);
        for e in &errors {
            prop_assert!(e.line >= 1 && e.line <= line_count(&bytes));
        }
        let _ = acl.can_publish(Some("u"), "c", "", "a/b");
        let _ = acl.can_subscribe(None, "c", "m", "a/#");
    }

    #[test]
    fn acl_parser_never_panics_on_lookalikes(
        text in acl_like(),
        user in proptest::option::of("[a-z%+#/]{0,4}"),
        client in "[a-z%+#/]{0,4}",
        topic in "[a-z+#/$]{0,12}",
    ) {
        let (acl, errors) = Acl::parse(text.as_bytes());
        for e in &errors {
            prop_assert!(e.line >= 1 && e.line <= line_count(text.as_bytes()));
        }
        let _ = acl.can_publish(user.as_deref(), &client, "", &topic);
        let _ = acl.can_subscribe(user.as_deref(), &client, "mp", &topic);
        if acl.is_empty() {
            prop_assert!(!acl.can_subscribe(user.as_deref(), &client, "", &topic));
        }
    }

    /// A subscription allowed by the ACL never receives a topic the ACL would not let the
    /// client read: subscription coverage is sound with respect to topic matching.
    #[test]
    fn allowed_subscriptions_only_receive_readable_topics(
        acl_filters in prop::collection::vec("(a|b|\\+)(/(a|b|\\+)){0,2}(/#)?|#", 1..4),
        sub in "(a|b|\\+)(/(a|b|\\+)){0,3}(/#)?|#",
        topic in "(a|b)(/(a|b)){0,4}",
    ) {
        let text: String = acl_filters.iter().map(|f| format!("topic read {f}\n")).collect();
        let (acl, errors) = Acl::parse(text.as_bytes());
        prop_assert!(errors.is_empty());
        if acl.can_subscribe(None, "c", "", &sub) && mqtt_match(&sub, &topic) {
            prop_assert!(acl.can_subscribe(None, "c", "", &topic), "{} allowed {} but not {}", text, sub, topic);
        }
    }

    #[test]
    fn written_entries_parse_back(user in "[^:#\\s][^:\\r\\n]{0,10}", pw in prop::collection::vec(any::<u8>(), 1..40)) {
        let line = format_line(&user, &PasswordHash::sha512(&pw)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (file, errors) = PasswdFile::parse(line.as_bytes());
        prop_assert!(errors.is_empty());
        prop_assert_eq!(file.check(Some(&user), Some(&pw)), Verdict::Ok);
    }
}

/// Plain MQTT matching of a topic name against a filter (no `$` rule needed here).
fn mqtt_match(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (None, None) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}
