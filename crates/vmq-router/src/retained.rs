//! The retained-message index: one message per topic per mountpoint, stored in a tree of topic
//! levels so that a wildcard filter is answered by walking only the matching branches, with
//! optional expiry (MQTT 5 message expiry interval) against a caller-supplied `now`.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::hash::Seeded;
use crate::topic::validate_topic_name;
use crate::trie::{
    get_or_insert, new_shards, shard_of, split_level, Map, Shard, DEFAULT_MAX_DEPTH,
};
use crate::RouterError;

struct Entry<M> {
    msg: M,
    expires_at: Option<Instant>,
    /// Identifies this version of the entry in the expiry index.
    seq: u64,
}

impl<M> Entry<M> {
    #[inline]
    fn live(&self, now: Instant) -> bool {
        !matches!(self.expires_at, Some(t) if t <= now)
    }
}

struct RNode<M> {
    children: Map<RNode<M>>,
    entry: Option<Entry<M>>,
}

impl<M> Default for RNode<M> {
    fn default() -> Self {
        Self {
            children: HashMap::with_hasher(Seeded),
            entry: None,
        }
    }
}

impl<M> RNode<M> {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.entry.is_none()
    }
}

/// Messages with an expiry by (due time, version): (mountpoint, topic).
type ExpiryIndex = BTreeMap<(Instant, u64), (Box<str>, Box<str>)>;

/// Per shard, per mountpoint, a root whose children are the first levels hashed to the shard.
type Roots<M> = Map<RNode<M>>;

/// Retained messages of every mountpoint.
///
/// `M` is the stored message (the broker keeps its `Msg` with topic, payload as `Bytes`, QoS and
/// properties; cloning it must be cheap). An empty payload means "delete": the caller decides
/// and calls [`RetainedStore::remove`]. All methods take `&self`; lookups of different first
/// levels run in parallel, and a lookup never takes the expiry lock.
pub struct RetainedStore<M> {
    max_depth: usize,
    shards: Box<[Shard<Roots<M>>]>,
    expiry: Mutex<ExpiryIndex>,
    seq: AtomicU64,
    count: AtomicUsize,
}

impl<M: Clone> Default for RetainedStore<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Clone> RetainedStore<M> {
    /// An empty index refusing topics deeper than [`crate::DEFAULT_MAX_DEPTH`] levels.
    pub fn new() -> Self {
        Self::with_max_depth(DEFAULT_MAX_DEPTH)
    }

    /// An empty index refusing topics deeper than `max_depth` levels (VerneMQ's
    /// `topic_max_depth`), which also bounds the recursion of lookups.
    pub fn with_max_depth(max_depth: usize) -> Self {
        Self {
            max_depth,
            shards: new_shards(),
            expiry: Mutex::new(BTreeMap::new()),
            seq: AtomicU64::new(0),
            count: AtomicUsize::new(0),
        }
    }

    /// Number of stored messages (expired ones count until [`RetainedStore::expire`] or a
    /// replacement removes them).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `msg` as the retained message of `topic` in `mountpoint`, expiring at
    /// `expires_at` if given; returns the message it replaces. Errors if `topic` is not a valid
    /// topic name or is deeper than the store's maximum depth.
    pub fn set(
        &self,
        mountpoint: &str,
        topic: &str,
        msg: M,
        expires_at: Option<Instant>,
    ) -> Result<Option<M>, RouterError> {
        validate_topic_name(topic, self.max_depth)?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let (first, mut rest) = split_level(topic);
        let old = {
            let mut shard = self.shards[shard_of(mountpoint, first)].0.write();
            let root = get_or_insert(&mut shard, mountpoint);
            let mut node = get_or_insert(&mut root.children, first);
            while let Some(s) = rest {
                let (level, r) = split_level(s);
                node = get_or_insert(&mut node.children, level);
                rest = r;
            }
            node.entry.replace(Entry {
                msg,
                expires_at,
                seq,
            })
        };
        if let Some(at) = expires_at {
            self.expiry
                .lock()
                .insert((at, seq), (mountpoint.into(), topic.into()));
        }
        Ok(match old {
            Some(e) => Some(e.msg),
            None => {
                self.count.fetch_add(1, Ordering::Relaxed);
                None
            }
        })
    }

    /// Removes the retained message of `topic` in `mountpoint`; returns it.
    pub fn remove(&self, mountpoint: &str, topic: &str) -> Option<M> {
        self.remove_if(mountpoint, topic, |_| true)
    }

    fn remove_if(
        &self,
        mountpoint: &str,
        topic: &str,
        pred: impl FnOnce(&Entry<M>) -> bool,
    ) -> Option<M> {
        let (first, _) = split_level(topic);
        let mut shard = self.shards[shard_of(mountpoint, first)].0.write();
        let root = shard.get_mut(mountpoint.as_bytes())?;
        let removed = remove_path(root, Some(topic), pred);
        if root.is_empty() {
            shard.remove(mountpoint.as_bytes());
        }
        if removed.is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
        removed.map(|e| e.msg)
    }

    /// The retained message of `topic` in `mountpoint`, unless it has expired at `now`.
    pub fn get(&self, mountpoint: &str, topic: &str, now: Instant) -> Option<M> {
        let (first, mut rest) = split_level(topic);
        let shard = self.shards[shard_of(mountpoint, first)].0.read();
        let mut node = shard
            .get(mountpoint.as_bytes())?
            .children
            .get(first.as_bytes())?;
        while let Some(s) = rest {
            let (level, r) = split_level(s);
            node = node.children.get(level.as_bytes())?;
            rest = r;
        }
        node.entry
            .as_ref()
            .filter(|e| e.live(now))
            .map(|e| e.msg.clone())
    }

    /// Appends to `out` every retained message in `mountpoint` whose topic matches `filter` (a
    /// valid plain topic filter) and that has not expired at `now`. Walks only the branches
    /// the filter can match; a leading `+` or `#` visits every shard's first levels and skips
    /// topics starting with `$`.
    pub fn lookup(&self, mountpoint: &str, filter: &str, now: Instant, out: &mut Vec<M>) {
        let (first, rest) = split_level(filter);
        match first {
            "#" | "+" => {
                for shard in self.shards.iter() {
                    let shard = shard.0.read();
                    let Some(root) = shard.get(mountpoint.as_bytes()) else {
                        continue;
                    };
                    for (level, child) in root.children.iter() {
                        if level.as_bytes().first() == Some(&b'$') {
                            continue;
                        }
                        if first == "#" {
                            collect_all(child, now, out);
                        } else {
                            collect(child, rest, now, out);
                        }
                    }
                }
            }
            literal => {
                let shard = self.shards[shard_of(mountpoint, literal)].0.read();
                if let Some(node) = shard
                    .get(mountpoint.as_bytes())
                    .and_then(|r| r.children.get(literal.as_bytes()))
                {
                    collect(node, rest, now, out);
                }
            }
        }
    }

    /// Removes every message that has expired at `now`; returns how many. Call it periodically
    /// (it only looks at messages that have an expiry).
    pub fn expire(&self, now: Instant) -> usize {
        let mut removed = 0;
        loop {
            let due = {
                let mut idx = self.expiry.lock();
                match idx.first_key_value() {
                    Some((&(at, _), _)) if at <= now => idx.pop_first(),
                    _ => None,
                }
            };
            let Some(((_, seq), (mp, topic))) = due else {
                break;
            };
            // The topic may have been replaced since: remove only the version indexed here.
            if self.remove_if(&mp, &topic, |e| e.seq == seq).is_some() {
                removed += 1;
            }
        }
        removed
    }

    /// Calls `f(mountpoint, topic, message)` for every stored message (persistence dumps,
    /// `vmq-admin retain show`). Holds one shard's read lock at a time.
    pub fn for_each(&self, mut f: impl FnMut(&str, &str, &M)) {
        let mut path = String::new();
        for shard in self.shards.iter() {
            let shard = shard.0.read();
            for (mp, root) in shard.iter() {
                for (first, child) in root.children.iter() {
                    path.clear();
                    path.push_str(first.as_str());
                    visit(mp.as_str(), child, &mut path, &mut f);
                }
            }
        }
    }
}

fn visit<M>(mp: &str, node: &RNode<M>, path: &mut String, f: &mut impl FnMut(&str, &str, &M)) {
    if let Some(e) = &node.entry {
        f(mp, path, &e.msg);
    }
    let len = path.len();
    for (level, child) in node.children.iter() {
        path.push('/');
        path.push_str(level.as_str());
        visit(mp, child, path, f);
        path.truncate(len);
    }
}

/// Removes the entry at `rest` below `node` if `pred` accepts it, pruning empty nodes.
fn remove_path<M>(
    node: &mut RNode<M>,
    rest: Option<&str>,
    pred: impl FnOnce(&Entry<M>) -> bool,
) -> Option<Entry<M>> {
    let Some(s) = rest else {
        return if node.entry.as_ref().is_some_and(pred) {
            node.entry.take()
        } else {
            None
        };
    };
    let (level, r) = split_level(s);
    let child = node.children.get_mut(level.as_bytes())?;
    let removed = remove_path(child, r, pred);
    if child.is_empty() {
        node.children.remove(level.as_bytes());
    }
    removed
}

fn collect_all<M: Clone>(node: &RNode<M>, now: Instant, out: &mut Vec<M>) {
    if let Some(e) = node.entry.as_ref().filter(|e| e.live(now)) {
        out.push(e.msg.clone());
    }
    for child in node.children.values() {
        collect_all(child, now, out);
    }
}

/// `node` is the node reached by the filter's levels so far; `rest` are the filter's
/// remaining levels.
fn collect<M: Clone>(node: &RNode<M>, rest: Option<&str>, now: Instant, out: &mut Vec<M>) {
    let Some(s) = rest else {
        if let Some(e) = node.entry.as_ref().filter(|e| e.live(now)) {
            out.push(e.msg.clone());
        }
        return;
    };
    let (level, r) = split_level(s);
    match level {
        // `a/#` matches `a` and everything below it.
        "#" => collect_all(node, now, out),
        "+" => {
            for child in node.children.values() {
                collect(child, r, now, out);
            }
        }
        literal => {
            if let Some(child) = node.children.get(literal.as_bytes()) {
                collect(child, r, now, out);
            }
        }
    }
}
