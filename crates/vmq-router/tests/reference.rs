//! Property tests: the subscription trie and the retained index agree with brute-force
//! reference matchers on random filters, topics, mountpoints and share groups.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use vmq_router::{parse_subscription, Matches, RetainedStore, SubscriptionTrie, TrieConfig};

/// Reference: does filter level list `f` match topic level list `t`? Written independently of
/// the crate, recursively over slices.
fn ref_match(f: &[&str], t: &[&str], first: bool) -> bool {
    if first
        && t.first().is_some_and(|l| l.starts_with('$'))
        && f.first().is_some_and(|l| *l == "+" || *l == "#")
    {
        return false;
    }
    match (f.split_first(), t.split_first()) {
        (Some((&"#", _)), _) => true,
        (Some((&"+", fr)), Some((_, tr))) => ref_match(fr, tr, false),
        (Some((fl, fr)), Some((tl, tr))) => fl == tl && ref_match(fr, tr, false),
        (None, None) => true,
        _ => false,
    }
}

fn levels(s: &str) -> Vec<&str> {
    s.split('/').collect()
}

fn topic_level() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("".to_string()),
        Just("$x".to_string()),
        Just("c".to_string()),
    ]
}

fn topic() -> impl Strategy<Value = String> {
    prop::collection::vec(topic_level(), 1..5)
        .prop_map(|l| l.join("/"))
        .prop_filter("non-empty", |t| !t.is_empty())
}

fn filter() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop_oneof![topic_level(), Just("+".to_string())], 0..4),
        any::<bool>(),
        prop_oneof![Just(None), Just(Some("g1")), Just(Some("g2"))],
    )
        .prop_filter_map("non-empty", |(mut l, hash, group)| {
            if hash {
                l.push("#".to_string());
            }
            let f = l.join("/");
            if f.is_empty() {
                return None;
            }
            Some(match group {
                Some(g) => format!("$share/{g}/{f}"),
                None => f,
            })
        })
}

fn mountpoint() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just("m")]
}

#[derive(Debug, Clone)]
enum Op {
    Sub(&'static str, String, u8),
    Unsub(&'static str, String, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (mountpoint(), filter(), 0u8..6).prop_map(|(m, f, k)| Op::Sub(m, f, k)),
        1 => (mountpoint(), filter(), 0u8..6).prop_map(|(m, f, k)| Op::Unsub(m, f, k)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn trie_agrees_with_reference(
        ops in prop::collection::vec(op(), 1..60),
        topics in prop::collection::vec((mountpoint(), topic()), 1..20),
    ) {
        let trie: SubscriptionTrie<u8, (String, u32)> = SubscriptionTrie::new(TrieConfig::default());
        // (mountpoint, full filter, key) -> version
        let mut model: BTreeMap<(&str, String, u8), u32> = BTreeMap::new();
        for (version, op) in ops.iter().enumerate() {
            let version = version as u32;
            match op {
                Op::Sub(mp, f, k) => {
                    let outcome = trie.subscribe(mp, f, *k, (f.clone(), version)).unwrap();
                    let old = model.insert((mp, f.clone(), *k), version);
                    prop_assert_eq!(outcome.is_new(), old.is_none());
                }
                Op::Unsub(mp, f, k) => {
                    let removed = trie.unsubscribe(mp, f, k);
                    prop_assert_eq!(removed, model.remove(&(mp, f.clone(), *k)).is_some());
                }
            }
        }
        prop_assert_eq!(trie.len(), model.len());
        let mut out = Matches::with_seed(42);
        for (mp, t) in &topics {
            trie.matches(mp, t, &mut out);
            let tl = levels(t);
            // Plain: exactly the matching (key, filter, version) triples.
            let mut want_plain = BTreeSet::new();
            // Shared: (group, filter) -> members.
            let mut want_groups: BTreeMap<String, BTreeSet<u8>> = BTreeMap::new();
            for ((m, full, k), v) in &model {
                if m != mp {
                    continue;
                }
                let p = parse_subscription(full, usize::MAX).unwrap();
                if !ref_match(&levels(p.filter), &tl, true) {
                    continue;
                }
                match p.share_group {
                    None => { want_plain.insert((*k, full.clone(), *v)); }
                    Some(_) => { want_groups.entry(full.clone()).or_default().insert(*k); }
                }
            }
            let mut got_plain = BTreeSet::new();
            let mut got_groups: BTreeMap<String, u8> = BTreeMap::new();
            for m in out.iter() {
                if m.is_shared() {
                    prop_assert!(got_groups.insert(m.value.0.clone(), m.key).is_none(), "one member per group");
                } else {
                    prop_assert!(got_plain.insert((m.key, m.value.0.clone(), m.value.1)), "duplicate plain match");
                }
            }
            prop_assert_eq!(&got_plain, &want_plain, "topic {:?} in {:?}", t, mp);
            prop_assert_eq!(got_groups.len(), want_groups.len());
            for (g, k) in &got_groups {
                prop_assert!(want_groups.get(g).is_some_and(|members| members.contains(k)));
            }
            // Grouping keeps every entry and makes each subscriber's entries adjacent.
            let total = out.len();
            let mut seen = BTreeSet::new();
            let mut n = 0;
            for group in out.by_subscriber() {
                prop_assert!(seen.insert(group[0].key), "subscriber appears in two groups");
                prop_assert!(group.iter().all(|m| m.key == group[0].key));
                n += group.len();
            }
            prop_assert_eq!(n, total);
        }
        // Listing gives back exactly the model.
        let mut listed = BTreeSet::new();
        trie.for_each_subscription(|s| {
            let full = match s.share_group {
                Some(g) => format!("$share/{g}/{}", s.filter),
                None => s.filter.to_string(),
            };
            listed.insert((s.mountpoint.to_string(), full, *s.key));
        });
        let want: BTreeSet<_> = model.keys().map(|(m, f, k)| (m.to_string(), f.clone(), *k)).collect();
        prop_assert_eq!(listed, want);
        // Removing everything leaves an empty trie that matches nothing.
        for (m, f, k) in model.keys() {
            prop_assert!(trie.unsubscribe(m, f, k));
        }
        prop_assert!(trie.is_empty());
        for (mp, t) in &topics {
            trie.matches(mp, t, &mut out);
            prop_assert!(out.is_empty());
        }
    }

    #[test]
    fn retained_agrees_with_reference(
        sets in prop::collection::vec((mountpoint(), topic(), any::<bool>(), 0u8..4), 1..60),
        filters in prop::collection::vec((mountpoint(), filter()), 1..20),
    ) {
        let now = Instant::now();
        let store: RetainedStore<(String, usize)> = RetainedStore::new();
        let mut model: BTreeMap<(&str, String), (usize, Option<Instant>)> = BTreeMap::new();
        for (i, (mp, t, delete, ttl)) in sets.iter().enumerate() {
            if *delete && i % 3 == 0 {
                let removed = store.remove(mp, t);
                prop_assert_eq!(removed.map(|m| m.1), model.remove(&(*mp, t.clone())).map(|x| x.0));
            } else {
                // ttl 0: no expiry; 1: already expired at `now`; 2, 3: expires later.
                let exp = match ttl { 0 => None, 1 => Some(now), n => Some(now + Duration::from_secs(u64::from(*n))) };
                let old = store.set(mp, t, (t.clone(), i), exp).unwrap();
                prop_assert_eq!(old.map(|m| m.1), model.insert((*mp, t.clone()), (i, exp)).map(|x| x.0));
            }
        }
        prop_assert_eq!(store.len(), model.len());
        let live = |exp: &Option<Instant>, at: Instant| !matches!(exp, Some(e) if *e <= at);
        for (mp, f) in &filters {
            let Ok(p) = parse_subscription(f, usize::MAX) else { continue };
            let mut out = Vec::new();
            store.lookup(mp, p.filter, now, &mut out);
            let got: BTreeSet<_> = out.iter().map(|m| m.1).collect();
            prop_assert_eq!(got.len(), out.len(), "duplicates");
            let want: BTreeSet<_> = model.iter()
                .filter(|((m, t), (_, exp))| m == mp && live(exp, now) && ref_match(&levels(p.filter), &levels(t), true))
                .map(|(_, (i, _))| *i)
                .collect();
            prop_assert_eq!(got, want, "filter {:?}", p.filter);
        }
        // Expiry removes exactly the messages due.
        let later = now + Duration::from_secs(2);
        let due = model.values().filter(|(_, exp)| !live(exp, later)).count();
        prop_assert_eq!(store.expire(later), due);
        prop_assert_eq!(store.len(), model.len() - due);
        for ((mp, t), (i, exp)) in &model {
            prop_assert_eq!(store.get(mp, t, later).map(|m| m.1), live(exp, later).then_some(*i));
        }
    }
}
