//! The subscription trie: plain and shared subscriptions per mountpoint, sharded for
//! concurrent matching (see the crate docs for the design), and the match walk that fills a
//! caller-owned [`Matches`] buffer.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use parking_lot::RwLock;

use crate::hash::{hash_one, Seeded};
use crate::level::Level;
use crate::matches::{Matched, Matches};
use crate::shared::{AllOnline, Chooser, Presence};
use crate::subs::{Member, Subs};
use crate::topic::{has_wildcard, parse_subscription, SHARE_PREFIX};
use crate::{NodeName, RouterError, SharedPolicy};

/// Number of lock shards of each table (a power of two).
pub(crate) const SHARDS: usize = 64;

/// Default [`TrieConfig::max_depth`]: a hard bound on filter levels, so the recursive match
/// walk stays shallow whatever a client sends. The broker passes VerneMQ's `topic_max_depth`.
pub const DEFAULT_MAX_DEPTH: usize = 256;

/// One lock on its own cache line, so readers of neighbouring shards do not share a line.
#[repr(align(64))]
pub(crate) struct Shard<T>(pub(crate) RwLock<T>);

impl<T: Default> Default for Shard<T> {
    fn default() -> Self {
        Self(RwLock::new(T::default()))
    }
}

pub(crate) type Map<T> = HashMap<Level, T, Seeded>;

pub(crate) fn new_shards<T: Default>() -> Box<[Shard<T>]> {
    (0..SHARDS).map(|_| Shard::default()).collect()
}

#[inline]
pub(crate) fn shard_of(mountpoint: &str, s: &str) -> usize {
    (hash_one(&(mountpoint, s)) as usize) & (SHARDS - 1)
}

/// Splits off the first level: `"a/b/c"` gives `("a", Some("b/c"))`, `"a"` gives
/// `("a", None)`, `"a/"` gives `("a", Some(""))`.
#[inline]
pub(crate) fn split_level(s: &str) -> (&str, Option<&str>) {
    match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    }
}

/// A trie node for the wildcard table: the node reached after consuming some filter levels.
struct Node<K, V> {
    children: Map<Node<K, V>>,
    plus: Option<Box<Node<K, V>>>,
    /// Subscriptions whose filter ends here.
    subs: Subs<K, V>,
    /// Subscriptions whose filter is this node's path followed by `/#`.
    hash: Subs<K, V>,
}

impl<K, V> Default for Node<K, V> {
    fn default() -> Self {
        Self {
            children: HashMap::with_hasher(Seeded),
            plus: None,
            subs: Subs::default(),
            hash: Subs::default(),
        }
    }
}

impl<K: Eq + Hash, V> Node<K, V> {
    fn is_empty(&self) -> bool {
        self.children.is_empty()
            && self.plus.is_none()
            && self.subs.is_empty()
            && self.hash.is_empty()
    }
}

/// Subscriptions of filters without wildcards, per mountpoint, keyed by the whole filter.
type ExactTable<K, V> = Map<Map<Subs<K, V>>>;
/// Wildcard filters, per mountpoint, keyed by the first level (`+` and `#` included).
type WildTable<K, V> = Map<Map<Node<K, V>>>;

/// Configuration of a [`SubscriptionTrie`].
#[derive(Debug, Clone)]
pub struct TrieConfig {
    /// The node this trie runs on: share-group members on it are "local".
    pub local_node: NodeName,
    /// How share-group members are chosen (VerneMQ's `shared_subscription_policy`).
    pub policy: SharedPolicy,
    /// Filters with more levels are refused (VerneMQ's `topic_max_depth`).
    pub max_depth: usize,
}

impl Default for TrieConfig {
    fn default() -> Self {
        Self {
            local_node: NodeName::default(),
            policy: SharedPolicy::default(),
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// What [`SubscriptionTrie::subscribe`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribed<V> {
    /// The key had no subscription on this filter (MQTT 5 retain handling 1 sends retained
    /// messages only in this case).
    New,
    /// The key's existing subscription on this filter was replaced; its old value.
    Replaced(V),
}

impl<V> Subscribed<V> {
    /// Whether the subscription is new.
    pub fn is_new(&self) -> bool {
        matches!(self, Self::New)
    }
}

/// One stored subscription, as [`SubscriptionTrie::for_each_subscription`] reports it.
#[derive(Debug)]
pub struct SubscriptionRef<'a, K, V> {
    /// Its mountpoint.
    pub mountpoint: &'a str,
    /// The topic filter (without the `$share/<group>/` prefix).
    pub filter: &'a str,
    /// The share name of a shared subscription.
    pub share_group: Option<&'a str>,
    /// The node a shared subscription's member lives on.
    pub node: Option<&'a NodeName>,
    /// The subscriber.
    pub key: &'a K,
    /// The subscription's data.
    pub value: &'a V,
}

/// Subscriptions of many subscribers to topic filters, matched against topic names.
///
/// `K` identifies a subscriber (a client id, an `Arc`'d session handle...): a key has at most
/// one subscription per filter (per share group for shared filters). `V` is whatever the
/// embedder keeps per subscription (the broker: QoS, no local, retain as published, retain
/// handling, subscription identifier). All methods take `&self`: share the trie in an `Arc`.
pub struct SubscriptionTrie<K, V> {
    local_node: NodeName,
    policy: AtomicU8,
    max_depth: usize,
    exact: Box<[Shard<ExactTable<K, V>>]>,
    wild: Box<[Shard<WildTable<K, V>>]>,
    count: AtomicUsize,
}

impl<K, V> Default for SubscriptionTrie<K, V>
where
    K: Clone + Eq + Hash,
    V: Clone,
{
    fn default() -> Self {
        Self::new(TrieConfig::default())
    }
}

fn policy_to_u8(p: SharedPolicy) -> u8 {
    match p {
        SharedPolicy::PreferLocal => 0,
        SharedPolicy::Random => 1,
        SharedPolicy::LocalOnly => 2,
        SharedPolicy::PreferOnlineBeforeLocal => 3,
    }
}

fn policy_from_u8(v: u8) -> SharedPolicy {
    match v {
        1 => SharedPolicy::Random,
        2 => SharedPolicy::LocalOnly,
        3 => SharedPolicy::PreferOnlineBeforeLocal,
        _ => SharedPolicy::PreferLocal,
    }
}

/// State of one match walk.
struct Walk<'o, 'p, K, V, P> {
    out: &'o mut Matches<K, V>,
    presence: &'p P,
    policy: SharedPolicy,
    local_node: &'p NodeName,
}

impl<K, V, P> Walk<'_, '_, K, V, P>
where
    K: Clone + Eq + Hash,
    V: Clone,
    P: Presence<K>,
{
    #[inline]
    fn emit(&mut self, subs: &Subs<K, V>) {
        let items = &mut self.out.items;
        let before = items.len();
        subs.plain.for_each(|k, v| {
            items.push(Matched::new(k.clone(), v.clone(), None));
        });
        if items.len() > before {
            self.out.sources += 1;
        }
        for group in &subs.groups {
            let mut chooser: Chooser<(&K, &Member<V>)> = Chooser::new();
            let rng = &mut self.out.rng;
            let (presence, local) = (self.presence, self.local_node);
            group.members.for_each(|k, m| {
                chooser.offer((k, m), m.node == *local, presence.is_online(k), rng);
            });
            if let Some((k, m)) = chooser.choose(self.policy, &mut self.out.rng) {
                self.out.sources += 1;
                self.out.items.push(Matched::new(
                    k.clone(),
                    m.value.clone(),
                    Some(m.node.clone()),
                ));
            }
        }
    }

    fn walk(&mut self, node: &Node<K, V>, rest: Option<&str>) {
        match rest {
            None => {
                self.emit(&node.subs);
                // `a/#` also matches `a`.
                self.emit(&node.hash);
            }
            Some(s) => {
                self.emit(&node.hash);
                let (level, rest) = split_level(s);
                if let Some(child) = node.children.get(level.as_bytes()) {
                    self.walk(child, rest);
                }
                if let Some(plus) = &node.plus {
                    self.walk(plus, rest);
                }
            }
        }
    }
}

impl<K, V> SubscriptionTrie<K, V>
where
    K: Clone + Eq + Hash,
    V: Clone,
{
    /// An empty trie.
    pub fn new(config: TrieConfig) -> Self {
        Self {
            local_node: config.local_node,
            policy: AtomicU8::new(policy_to_u8(config.policy)),
            max_depth: config.max_depth,
            exact: new_shards(),
            wild: new_shards(),
            count: AtomicUsize::new(0),
        }
    }

    /// The node this trie considers local.
    pub fn local_node(&self) -> &NodeName {
        &self.local_node
    }

    /// The current shared-subscription policy.
    pub fn policy(&self) -> SharedPolicy {
        policy_from_u8(self.policy.load(Ordering::Relaxed))
    }

    /// Changes the shared-subscription policy (takes effect for the next matches).
    pub fn set_policy(&self, policy: SharedPolicy) {
        self.policy.store(policy_to_u8(policy), Ordering::Relaxed);
    }

    /// Number of subscriptions stored (plain ones plus every share-group member).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether no subscription is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Subscribes `key` to `filter` (plain, or `$share/<group>/<filter>`) in `mountpoint`, a
    /// share-group member living on this trie's local node. Replaces the key's existing
    /// subscription on the same filter (and group). Errors if the filter is invalid.
    pub fn subscribe(
        &self,
        mountpoint: &str,
        filter: &str,
        key: K,
        value: V,
    ) -> Result<Subscribed<V>, RouterError> {
        self.subscribe_on(mountpoint, filter, key, value, self.local_node.clone())
    }

    /// Like [`SubscriptionTrie::subscribe`], for a subscriber living on `node` (the cluster
    /// replicating a remote subscription). The node is recorded for share-group members, where
    /// the policy needs it; plain subscriptions are identified by their key alone.
    pub fn subscribe_on(
        &self,
        mountpoint: &str,
        filter: &str,
        key: K,
        value: V,
        node: NodeName,
    ) -> Result<Subscribed<V>, RouterError> {
        let parsed = parse_subscription(filter, self.max_depth)?;
        let group = parsed.share_group;
        let filter = parsed.filter;
        let old = if has_wildcard(filter) {
            let (first, rest) = split_level(filter);
            let mut shard = self.wild[shard_of(mountpoint, first)].0.write();
            let roots = get_or_insert(&mut shard, mountpoint);
            let root = get_or_insert(roots, first);
            if first == "#" {
                root.subs.insert(group, node, key, value)
            } else {
                insert_at(root, rest, group, node, key, value)
            }
        } else {
            let mut shard = self.exact[shard_of(mountpoint, filter)].0.write();
            let topics = get_or_insert(&mut shard, mountpoint);
            get_or_insert(topics, filter).insert(group, node, key, value)
        };
        Ok(match old {
            Some(v) => Subscribed::Replaced(v),
            None => {
                self.count.fetch_add(1, Ordering::Relaxed);
                Subscribed::New
            }
        })
    }

    /// Removes `key`'s subscription to `filter` (plain or `$share/...`) in `mountpoint`; returns
    /// whether there was one. Empty trie nodes are freed.
    pub fn unsubscribe(&self, mountpoint: &str, filter: &str, key: &K) -> bool {
        self.remove(mountpoint, filter, key).is_some()
    }

    /// Removes `key`'s subscription to `filter` and returns its value.
    pub fn remove(&self, mountpoint: &str, filter: &str, key: &K) -> Option<V> {
        let parsed = parse_subscription(filter, usize::MAX).ok()?;
        let group = parsed.share_group;
        let filter = parsed.filter;
        let removed = if has_wildcard(filter) {
            let (first, rest) = split_level(filter);
            let mut shard = self.wild[shard_of(mountpoint, first)].0.write();
            let roots = shard.get_mut(mountpoint.as_bytes())?;
            let root = roots.get_mut(first.as_bytes())?;
            let removed = if first == "#" {
                root.subs.remove(group, key)
            } else {
                remove_at(root, rest, group, key)
            };
            if root.is_empty() {
                roots.remove(first.as_bytes());
                if roots.is_empty() {
                    shard.remove(mountpoint.as_bytes());
                }
            }
            removed
        } else {
            let mut shard = self.exact[shard_of(mountpoint, filter)].0.write();
            let topics = shard.get_mut(mountpoint.as_bytes())?;
            let subs = topics.get_mut(filter.as_bytes())?;
            let removed = subs.remove(group, key);
            if subs.is_empty() {
                topics.remove(filter.as_bytes());
                if topics.is_empty() {
                    shard.remove(mountpoint.as_bytes());
                }
            }
            removed
        };
        if removed.is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// Removes `key`'s subscriptions to every filter in `filters` (a session's subscription
    /// list, when it ends or is taken over); returns how many existed.
    pub fn unsubscribe_all<'f>(
        &self,
        mountpoint: &str,
        filters: impl IntoIterator<Item = &'f str>,
        key: &K,
    ) -> usize {
        filters
            .into_iter()
            .filter(|f| self.unsubscribe(mountpoint, f, key))
            .count()
    }

    /// The value of `key`'s subscription to `filter` (plain or `$share/...`), if any.
    pub fn get(&self, mountpoint: &str, filter: &str, key: &K) -> Option<V> {
        let parsed = parse_subscription(filter, usize::MAX).ok()?;
        let group = parsed.share_group;
        let filter = parsed.filter;
        let lookup = |subs: &Subs<K, V>| match group {
            None => subs.plain.get(key).cloned(),
            Some(name) => subs
                .groups
                .iter()
                .find(|g| &*g.name == name)
                .and_then(|g| g.members.get(key))
                .map(|m| m.value.clone()),
        };
        if has_wildcard(filter) {
            let (first, mut rest) = split_level(filter);
            let shard = self.wild[shard_of(mountpoint, first)].0.read();
            let mut node = shard.get(mountpoint.as_bytes())?.get(first.as_bytes())?;
            if first == "#" {
                return lookup(&node.subs);
            }
            while let Some(s) = rest {
                let (level, r) = split_level(s);
                match level {
                    "#" => return lookup(&node.hash),
                    "+" => node = node.plus.as_deref()?,
                    l => node = node.children.get(l.as_bytes())?,
                }
                rest = r;
            }
            lookup(&node.subs)
        } else {
            let shard = self.exact[shard_of(mountpoint, filter)].0.read();
            lookup(shard.get(mountpoint.as_bytes())?.get(filter.as_bytes())?)
        }
    }

    /// Matches `topic` (a valid topic name) in `mountpoint`, treating every subscriber as
    /// online. See [`SubscriptionTrie::matches_with`].
    pub fn matches(&self, mountpoint: &str, topic: &str, out: &mut Matches<K, V>) {
        self.matches_with(mountpoint, topic, &AllOnline, out);
    }

    /// Clears `out` and fills it with every subscription matching `topic` (a valid topic name,
    /// see [`crate::validate_topic_name`]) in `mountpoint`: every plain subscription, and for
    /// each matching share group the one member chosen by the policy, preferring members
    /// `presence` says are online. A topic starting with `$` is not matched by filters starting
    /// with `+` or `#`.
    ///
    /// One subscriber may appear several times (overlapping filters); use
    /// [`Matches::by_subscriber`] to handle each subscriber once. Nothing is allocated beyond
    /// growing `out` (and cloning `K` and `V`). `presence` is called under a read lock.
    pub fn matches_with<P: Presence<K>>(
        &self,
        mountpoint: &str,
        topic: &str,
        presence: &P,
        out: &mut Matches<K, V>,
    ) {
        out.clear();
        let mut walk = Walk {
            out,
            presence,
            policy: self.policy(),
            local_node: &self.local_node,
        };
        {
            let shard = self.exact[shard_of(mountpoint, topic)].0.read();
            if let Some(subs) = shard
                .get(mountpoint.as_bytes())
                .and_then(|t| t.get(topic.as_bytes()))
            {
                walk.emit(subs);
            }
        }
        let (first, rest) = split_level(topic);
        {
            let shard = self.wild[shard_of(mountpoint, first)].0.read();
            if let Some(node) = shard
                .get(mountpoint.as_bytes())
                .and_then(|r| r.get(first.as_bytes()))
            {
                walk.walk(node, rest);
            }
        }
        if topic.starts_with('$') {
            return;
        }
        {
            let shard = self.wild[shard_of(mountpoint, "+")].0.read();
            if let Some(node) = shard
                .get(mountpoint.as_bytes())
                .and_then(|r| r.get("+".as_bytes()))
            {
                walk.walk(node, rest);
            }
        }
        let shard = self.wild[shard_of(mountpoint, "#")].0.read();
        if let Some(node) = shard
            .get(mountpoint.as_bytes())
            .and_then(|r| r.get("#".as_bytes()))
        {
            walk.emit(&node.subs);
        }
    }

    /// Calls `f` for every stored subscription (persistence, `vmq-admin session show`). Holds
    /// one shard's read lock at a time; `f` must not call back into the trie.
    pub fn for_each_subscription(&self, mut f: impl FnMut(SubscriptionRef<'_, K, V>)) {
        let mut path = String::new();
        for shard in self.exact.iter() {
            let shard = shard.0.read();
            for (mp, topics) in shard.iter() {
                for (filter, subs) in topics.iter() {
                    report(mp.as_str(), filter.as_str(), subs, &mut f);
                }
            }
        }
        for shard in self.wild.iter() {
            let shard = shard.0.read();
            for (mp, roots) in shard.iter() {
                for (first, node) in roots.iter() {
                    path.clear();
                    path.push_str(first.as_str());
                    if first.as_bytes() == b"#" {
                        report(mp.as_str(), &path, &node.subs, &mut f);
                    } else {
                        visit(mp.as_str(), node, &mut path, &mut f);
                    }
                }
            }
        }
    }
}

fn report<K: Eq + Hash, V>(
    mp: &str,
    filter: &str,
    subs: &Subs<K, V>,
    f: &mut impl FnMut(SubscriptionRef<'_, K, V>),
) {
    subs.plain.for_each(|key, value| {
        f(SubscriptionRef {
            mountpoint: mp,
            filter,
            share_group: None,
            node: None,
            key,
            value,
        })
    });
    for g in &subs.groups {
        g.members.for_each(|key, m| {
            f(SubscriptionRef {
                mountpoint: mp,
                filter,
                share_group: Some(&g.name),
                node: Some(&m.node),
                key,
                value: &m.value,
            })
        });
    }
}

fn visit<K: Eq + Hash, V>(
    mp: &str,
    node: &Node<K, V>,
    path: &mut String,
    f: &mut impl FnMut(SubscriptionRef<'_, K, V>),
) {
    report(mp, path, &node.subs, f);
    if !node.hash.is_empty() {
        let len = path.len();
        path.push_str("/#");
        report(mp, path, &node.hash, f);
        path.truncate(len);
    }
    let len = path.len();
    if let Some(plus) = &node.plus {
        path.push_str("/+");
        visit(mp, plus, path, f);
        path.truncate(len);
    }
    for (level, child) in node.children.iter() {
        path.push('/');
        path.push_str(level.as_str());
        visit(mp, child, path, f);
        path.truncate(len);
    }
}

/// `map[key]`, inserted empty if absent. (Allocates the key even when present: the borrow
/// checker rejects the two-lookup form; subscribing is not the hot path.)
pub(crate) fn get_or_insert<'m, T: Default>(map: &'m mut Map<T>, key: &str) -> &'m mut T {
    map.entry(Level::new(key)).or_default()
}

fn insert_at<K: Eq + Hash, V>(
    node: &mut Node<K, V>,
    rest: Option<&str>,
    group: Option<&str>,
    node_name: NodeName,
    key: K,
    value: V,
) -> Option<V> {
    let Some(s) = rest else {
        return node.subs.insert(group, node_name, key, value);
    };
    let (level, rest) = split_level(s);
    match level {
        "#" => node.hash.insert(group, node_name, key, value),
        "+" => insert_at(
            node.plus.get_or_insert_with(Box::default),
            rest,
            group,
            node_name,
            key,
            value,
        ),
        l => {
            if let Some(child) = node.children.get_mut(l.as_bytes()) {
                return insert_at(child, rest, group, node_name, key, value);
            }
            let child = node.children.entry(Level::new(l)).or_default();
            insert_at(child, rest, group, node_name, key, value)
        }
    }
}

fn remove_at<K: Eq + Hash, V>(
    node: &mut Node<K, V>,
    rest: Option<&str>,
    group: Option<&str>,
    key: &K,
) -> Option<V> {
    let Some(s) = rest else {
        return node.subs.remove(group, key);
    };
    let (level, rest) = split_level(s);
    match level {
        "#" => node.hash.remove(group, key),
        "+" => {
            let plus = node.plus.as_deref_mut()?;
            let removed = remove_at(plus, rest, group, key);
            if plus.is_empty() {
                node.plus = None;
            }
            removed
        }
        l => {
            let child = node.children.get_mut(l.as_bytes())?;
            let removed = remove_at(child, rest, group, key);
            if child.is_empty() {
                node.children.remove(l.as_bytes());
            }
            removed
        }
    }
}

/// Whether `filter` is a shared-subscription filter (starts with `$share/`).
pub fn is_shared_filter(filter: &str) -> bool {
    filter.starts_with(SHARE_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(t: &SubscriptionTrie<u32, u8>, mp: &str, topic: &str) -> Vec<(u32, u8)> {
        let mut out = Matches::with_seed(7);
        t.matches(mp, topic, &mut out);
        let mut v: Vec<_> = out.iter().map(|m| (m.key, m.value)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn basic_matching() {
        let t = SubscriptionTrie::default();
        assert!(t.subscribe("", "a/b", 1, 0).unwrap().is_new());
        t.subscribe("", "a/+", 2, 0).unwrap();
        t.subscribe("", "a/#", 3, 0).unwrap();
        t.subscribe("", "#", 4, 0).unwrap();
        t.subscribe("", "+/+", 5, 0).unwrap();
        t.subscribe("", "+", 6, 0).unwrap();
        t.subscribe("m", "a/b", 7, 0).unwrap();
        assert_eq!(t.len(), 7);
        assert_eq!(
            keys(&t, "", "a/b"),
            vec![(1, 0), (2, 0), (3, 0), (4, 0), (5, 0)]
        );
        assert_eq!(keys(&t, "", "a"), vec![(3, 0), (4, 0), (6, 0)]);
        assert_eq!(keys(&t, "m", "a/b"), vec![(7, 0)]);
        assert_eq!(keys(&t, "", "$SYS/b"), vec![]);
        assert_eq!(
            t.subscribe("", "a/b", 1, 2).unwrap(),
            Subscribed::Replaced(0)
        );
        assert_eq!(t.get("", "a/b", &1), Some(2));
        assert!(t.unsubscribe("", "a/#", &3));
        assert!(!t.unsubscribe("", "a/#", &3));
        assert_eq!(t.len(), 6);
        assert_eq!(
            t.unsubscribe_all("", ["a/b", "a/+", "#", "+/+", "+"], &1),
            1
        );
    }

    #[test]
    fn shared_groups_pick_one() {
        let t = SubscriptionTrie::default();
        for k in 0..4 {
            t.subscribe("", "$share/g/a/+", k, 1).unwrap();
        }
        t.subscribe("", "$share/h/a/b", 9, 1).unwrap();
        let got = keys(&t, "", "a/b");
        assert_eq!(got.len(), 2);
        assert!(got.contains(&(9, 1)));
        assert!(t.unsubscribe("", "$share/h/a/b", &9));
        assert_eq!(keys(&t, "", "a/b").len(), 1);
        let mut n = 0;
        t.for_each_subscription(|s| {
            assert_eq!(s.share_group, Some("g"));
            assert_eq!(s.filter, "a/+");
            n += 1;
        });
        assert_eq!(n, 4);
    }
}
