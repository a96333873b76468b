//! Behaviour the broker relies on: overlapping subscriptions of one subscriber (MQTT 3.x max
//! QoS, MQTT 5 subscription identifiers), `$`-topics, mountpoints, limits, retained messages,
//! and matching that stays correct while other threads subscribe and unsubscribe.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vmq_router::{Matches, RetainedStore, RouterError, Subscribed, SubscriptionTrie, TrieConfig};

#[derive(Clone, Debug, PartialEq)]
struct Opts {
    qos: u8,
    sub_id: Option<u32>,
    no_local: bool,
}

fn o(qos: u8, sub_id: Option<u32>) -> Opts {
    Opts {
        qos,
        sub_id,
        no_local: false,
    }
}

#[test]
fn overlapping_subscriptions_group_per_subscriber() {
    let trie: SubscriptionTrie<String, Opts> = SubscriptionTrie::default();
    let c = |s: &str| s.to_string();
    trie.subscribe("", "a/b", c("x"), o(0, Some(1))).unwrap();
    trie.subscribe("", "a/+", c("x"), o(2, Some(2))).unwrap();
    trie.subscribe("", "#", c("x"), o(1, None)).unwrap();
    trie.subscribe("", "a/#", c("y"), o(1, Some(5))).unwrap();
    let mut out = Matches::new();
    trie.matches("", "a/b", &mut out);
    assert_eq!(out.len(), 4);
    let mut seen = Vec::new();
    for subs in out.by_subscriber() {
        let who = subs[0].key.clone();
        let max_qos = subs.iter().map(|m| m.value.qos).max().unwrap();
        let mut ids: Vec<u32> = subs.iter().filter_map(|m| m.value.sub_id).collect();
        ids.sort_unstable();
        seen.push((who, max_qos, ids));
    }
    seen.sort();
    assert_eq!(seen, vec![(c("x"), 2, vec![1, 2]), (c("y"), 1, vec![5])]);
}

#[test]
fn resubscribe_replaces_options() {
    let trie: SubscriptionTrie<u32, Opts> = SubscriptionTrie::default();
    assert_eq!(
        trie.subscribe("", "t", 1, o(0, None)).unwrap(),
        Subscribed::New
    );
    let mut newer = o(1, Some(3));
    newer.no_local = true;
    assert_eq!(
        trie.subscribe("", "t", 1, newer.clone()).unwrap(),
        Subscribed::Replaced(o(0, None))
    );
    assert_eq!(trie.len(), 1);
    let mut out = Matches::new();
    trie.matches("", "t", &mut out);
    assert_eq!(out.as_slice().len(), 1);
    assert_eq!(out.as_slice()[0].value, newer);
    assert_eq!(trie.get("", "t", &1), Some(newer));
}

#[test]
fn dollar_topics_and_mountpoints() {
    let trie: SubscriptionTrie<u32, ()> = SubscriptionTrie::default();
    trie.subscribe("", "#", 1, ()).unwrap();
    trie.subscribe("", "+/stats", 2, ()).unwrap();
    trie.subscribe("", "$SYS/#", 3, ()).unwrap();
    trie.subscribe("", "$SYS/+", 4, ()).unwrap();
    trie.subscribe("tenant", "#", 5, ()).unwrap();
    let mut out = Matches::new();
    let mut keys = |mp: &str, t: &str| {
        trie.matches(mp, t, &mut out);
        let mut k: Vec<u32> = out.iter().map(|m| m.key).collect();
        k.sort_unstable();
        k
    };
    assert_eq!(keys("", "$SYS/stats"), [3, 4]);
    assert_eq!(keys("", "sys/stats"), [1, 2]);
    assert_eq!(keys("tenant", "sys/stats"), [5]);
    assert_eq!(keys("tenant", "$SYS/stats"), Vec::<u32>::new());
    assert_eq!(keys("", "/stats"), [1, 2]);
}

#[test]
fn invalid_and_too_deep_filters_are_refused() {
    let trie: SubscriptionTrie<u32, ()> = SubscriptionTrie::new(TrieConfig {
        max_depth: 3,
        ..TrieConfig::default()
    });
    assert_eq!(
        trie.subscribe("", "a/#/b", 1, ()),
        Err(RouterError::MisplacedWildcard)
    );
    assert_eq!(
        trie.subscribe("", "$share//a", 1, ()),
        Err(RouterError::EmptyShareName)
    );
    assert_eq!(
        trie.subscribe("", "a/b/c/d", 1, ()),
        Err(RouterError::TooDeep { levels: 4, max: 3 })
    );
    assert!(trie.subscribe("", "$share/g/a/b/c", 1, ()).is_ok());
    assert!(!trie.unsubscribe("", "a/#/b", &1));
    assert_eq!(trie.len(), 1);
}

#[test]
fn retained_basics() {
    let now = Instant::now();
    let store: RetainedStore<&'static str> = RetainedStore::new();
    assert_eq!(store.set("", "a/b", "1", None), Ok(None));
    assert_eq!(store.set("", "a/b", "2", None), Ok(Some("1")));
    store.set("", "a", "0", None).unwrap();
    store.set("", "$SYS/x", "s", None).unwrap();
    store.set("m", "a/b", "m", None).unwrap();
    assert_eq!(
        store.set("", "a/+", "bad", None),
        Err(RouterError::WildcardInTopicName)
    );
    assert_eq!(store.len(), 4);
    let look = |mp: &str, f: &str| {
        let mut v = Vec::new();
        store.lookup(mp, f, now, &mut v);
        v.sort_unstable();
        v
    };
    assert_eq!(look("", "a/#"), ["0", "2"]);
    assert_eq!(look("", "#"), ["0", "2"]);
    assert_eq!(look("", "$SYS/#"), ["s"]);
    assert_eq!(look("", "+/x"), Vec::<&str>::new());
    assert_eq!(look("m", "+/+"), ["m"]);
    assert_eq!(store.remove("", "a/b"), Some("2"));
    assert_eq!(store.remove("", "a/b"), None);
    assert_eq!(look("", "a/#"), ["0"]);
    // Expiry: invisible once due, removed by expire, a replacement is not removed by an old
    // index entry.
    store
        .set("", "e", "old", Some(now + Duration::from_secs(1)))
        .unwrap();
    store
        .set("", "e", "new", Some(now + Duration::from_secs(10)))
        .unwrap();
    let t2 = now + Duration::from_secs(2);
    assert_eq!(store.expire(t2), 0);
    assert_eq!(store.get("", "e", t2), Some("new"));
    let t11 = now + Duration::from_secs(11);
    assert_eq!(store.get("", "e", t11), None);
    assert_eq!(store.expire(t11), 1);
    let mut all = Vec::new();
    store.for_each(|mp, topic, m| all.push((mp.to_string(), topic.to_string(), *m)));
    all.sort();
    assert_eq!(all.len(), store.len());
    assert!(all.contains(&("".into(), "$SYS/x".into(), "s")));
}

/// Subscriptions that never change are always matched, whatever other threads do.
#[test]
fn matching_is_consistent_under_concurrent_changes() {
    let trie: Arc<SubscriptionTrie<u32, u32>> = Arc::new(SubscriptionTrie::default());
    trie.subscribe("", "s/1/x", 1, 1).unwrap();
    trie.subscribe("", "s/+/x", 2, 2).unwrap();
    trie.subscribe("", "s/#", 3, 3).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (trie, stop) = (trie.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let f = match i % 3 {
                        0 => format!("s/{}/x", i % 50),
                        1 => format!("s/+/{}", i % 50),
                        _ => format!("+/{}/#", i % 50),
                    };
                    let key = 100 + w * 1000 + i % 7;
                    trie.subscribe("", &f, key, 0).unwrap();
                    trie.unsubscribe("", &f, &key);
                    i += 1;
                }
            })
        })
        .collect();
    let mut out = Matches::new();
    for _ in 0..20_000 {
        trie.matches("", "s/1/x", &mut out);
        for k in [1, 2, 3] {
            assert!(out.iter().any(|m| m.key == k));
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(trie.len(), 3);
}
