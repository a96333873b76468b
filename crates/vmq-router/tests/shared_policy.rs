//! Shared-subscription policies: distribution over members, online members preferred over
//! offline ones, `prefer_local` / `local_only` / `random` / `prefer_online_before_local` as
//! VerneMQ defines them, and reproducible choices with a seeded generator.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::collections::{BTreeMap, BTreeSet};

use vmq_router::{Matches, NodeName, SharedPolicy, SubscriptionTrie, TrieConfig};

const FILTER: &str = "$share/workers/jobs/+";
const TOPIC: &str = "jobs/1";

/// A trie on node `local` with members `l0..l{local}` here and `r0..r{remote}` on `remote`.
fn group(policy: SharedPolicy, local: usize, remote: usize) -> SubscriptionTrie<String, ()> {
    let here = NodeName::new("local");
    let there = NodeName::new("remote");
    let trie = SubscriptionTrie::new(TrieConfig {
        local_node: here,
        policy,
        ..TrieConfig::default()
    });
    for i in 0..local {
        trie.subscribe("", FILTER, format!("l{i}"), ()).unwrap();
    }
    for i in 0..remote {
        trie.subscribe_on("", FILTER, format!("r{i}"), (), there.clone())
            .unwrap();
    }
    trie
}

/// How often each member is chosen over `n` messages, given the online members.
fn distribution(
    trie: &SubscriptionTrie<String, ()>,
    online: &[&str],
    n: usize,
    seed: u64,
) -> BTreeMap<String, usize> {
    let online: BTreeSet<String> = online.iter().map(|s| s.to_string()).collect();
    let presence = |k: &String| online.contains(k);
    let mut out = Matches::with_seed(seed);
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        trie.matches_with("", TOPIC, &presence, &mut out);
        assert!(out.len() <= 1, "one member per group per message");
        for m in out.iter() {
            assert!(m.is_shared());
            *counts.entry(m.key.clone()).or_insert(0) += 1;
        }
    }
    counts
}

fn keys(c: &BTreeMap<String, usize>) -> Vec<&str> {
    c.keys().map(String::as_str).collect()
}

/// Each of `members` got about `n / members.len()` messages (within 15 %).
fn assert_even(c: &BTreeMap<String, usize>, members: &[&str], n: usize) {
    assert_eq!(keys(c), members);
    let expected = n / members.len();
    for (k, v) in c {
        let dev = (*v as f64 - expected as f64).abs() / expected as f64;
        assert!(dev < 0.15, "{k} got {v}, expected about {expected}: {c:?}");
    }
}

#[test]
fn random_spreads_evenly_over_all_members() {
    let trie = group(SharedPolicy::Random, 2, 2);
    let c = distribution(&trie, &["l0", "l1", "r0", "r1"], 8000, 1);
    assert_even(&c, &["l0", "l1", "r0", "r1"], 8000);
}

#[test]
fn random_prefers_online_members() {
    let trie = group(SharedPolicy::Random, 2, 2);
    let c = distribution(&trie, &["r1"], 1000, 2);
    assert_eq!(keys(&c), ["r1"]);
    let c = distribution(&trie, &["l1", "r0"], 4000, 3);
    assert_even(&c, &["l1", "r0"], 4000);
    // Nobody online: offline members still get the message, spread over all of them.
    let c = distribution(&trie, &[], 8000, 4);
    assert_even(&c, &["l0", "l1", "r0", "r1"], 8000);
}

#[test]
fn prefer_local_uses_local_members_while_there_are_any() {
    let trie = group(SharedPolicy::PreferLocal, 3, 2);
    let c = distribution(&trie, &["l0", "l1", "l2", "r0", "r1"], 6000, 5);
    assert_even(&c, &["l0", "l1", "l2"], 6000);
    // Online local members before offline local ones.
    let c = distribution(&trie, &["l2", "r0"], 1000, 6);
    assert_eq!(keys(&c), ["l2"]);
    // Only offline local members: still local (VerneMQ filters by node first, then prefers
    // online members among those), not the online remote ones.
    let c = distribution(&trie, &["r0", "r1"], 3000, 7);
    assert_even(&c, &["l0", "l1", "l2"], 3000);
}

#[test]
fn prefer_local_falls_back_to_remote_members() {
    let trie = group(SharedPolicy::PreferLocal, 0, 3);
    let c = distribution(&trie, &["r0", "r1", "r2"], 6000, 8);
    assert_even(&c, &["r0", "r1", "r2"], 6000);
    let c = distribution(&trie, &["r1"], 1000, 9);
    assert_eq!(keys(&c), ["r1"]);
    // The default policy is prefer_local.
    assert_eq!(TrieConfig::default().policy, SharedPolicy::PreferLocal);
}

#[test]
fn local_only_never_leaves_the_node() {
    let trie = group(SharedPolicy::LocalOnly, 2, 2);
    let c = distribution(&trie, &["l0", "l1", "r0", "r1"], 4000, 10);
    assert_even(&c, &["l0", "l1"], 4000);
    let c = distribution(&trie, &["l1", "r0", "r1"], 1000, 11);
    assert_eq!(keys(&c), ["l1"]);
    let c = distribution(&trie, &["r0", "r1"], 2000, 12);
    assert_even(&c, &["l0", "l1"], 2000);
    // No local member: the message goes to nobody in this group.
    let remote_only = group(SharedPolicy::LocalOnly, 0, 2);
    let c = distribution(&remote_only, &["r0", "r1"], 100, 13);
    assert!(c.is_empty());
}

#[test]
fn prefer_online_before_local_takes_online_remote_over_offline_local() {
    let trie = group(SharedPolicy::PreferOnlineBeforeLocal, 2, 2);
    let c = distribution(&trie, &["l0", "r0"], 1000, 14);
    assert_eq!(keys(&c), ["l0"]);
    let c = distribution(&trie, &["r0", "r1"], 4000, 15);
    assert_even(&c, &["r0", "r1"], 4000);
    let c = distribution(&trie, &[], 4000, 16);
    assert_even(&c, &["l0", "l1"], 4000);
}

#[test]
fn policy_can_change_at_runtime() {
    let trie = group(SharedPolicy::LocalOnly, 0, 1);
    assert!(distribution(&trie, &["r0"], 10, 17).is_empty());
    trie.set_policy(SharedPolicy::Random);
    assert_eq!(trie.policy(), SharedPolicy::Random);
    assert_eq!(keys(&distribution(&trie, &["r0"], 10, 17)), ["r0"]);
}

#[test]
fn same_seed_same_choices() {
    let trie = group(SharedPolicy::Random, 5, 5);
    let run = |seed| {
        let mut out = Matches::with_seed(seed);
        (0..200)
            .map(|_| {
                trie.matches("", TOPIC, &mut out);
                out.as_slice()[0].key.clone()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(99), run(99));
    assert_ne!(run(99), run(100));
}

#[test]
fn every_group_gets_one_copy_and_plain_subscribers_all_get_one() {
    let trie: SubscriptionTrie<String, u8> = SubscriptionTrie::default();
    for i in 0..3 {
        trie.subscribe("", "$share/a/jobs/#", format!("a{i}"), 0)
            .unwrap();
        trie.subscribe("", "$share/b/jobs/1", format!("b{i}"), 1)
            .unwrap();
        trie.subscribe("", "jobs/+", format!("p{i}"), 2).unwrap();
    }
    // Same group name on another filter is another shared subscription.
    trie.subscribe("", "$share/a/jobs/1", "a9".to_string(), 3)
        .unwrap();
    let mut out = Matches::with_seed(5);
    trie.matches("", TOPIC, &mut out);
    let shared: Vec<u8> = out
        .iter()
        .filter(|m| m.is_shared())
        .map(|m| m.value)
        .collect();
    let mut sorted = shared.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [0, 1, 3]);
    assert_eq!(out.iter().filter(|m| !m.is_shared()).count(), 3);
    // A shared subscription does not match other mountpoints.
    trie.matches("other", TOPIC, &mut out);
    assert!(out.is_empty());
}

#[test]
fn shared_member_node_is_reported() {
    let trie = group(SharedPolicy::PreferLocal, 0, 1);
    let mut out = Matches::with_seed(1);
    trie.matches("", TOPIC, &mut out);
    assert_eq!(out.as_slice()[0].shared_node, Some(NodeName::new("remote")));
}
