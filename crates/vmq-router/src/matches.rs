//! The caller-owned, reusable result buffer of a match, and grouping of its entries by
//! subscriber (one delivery per subscriber for MQTT 3.x, every matching subscription's options
//! for MQTT 5).

use std::hash::Hash;

use crate::hash::FastRng;
use crate::NodeName;

/// One matching subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<K, V> {
    /// The subscriber.
    pub key: K,
    /// The data stored with the subscription (the broker's subscription options).
    pub value: V,
    /// `None` for a plain subscription; for a shared subscription, the node the chosen group
    /// member lives on (so a cluster can forward to it).
    pub shared_node: Option<NodeName>,
    /// Grouping order (hash of `key`), filled in by [`Matches::group_by_subscriber`].
    order: u64,
}

impl<K, V> Matched<K, V> {
    /// A matched entry (for tests and for callers that build their own result lists).
    pub fn new(key: K, value: V, shared_node: Option<NodeName>) -> Self {
        Self {
            key,
            value,
            shared_node,
            order: 0,
        }
    }

    /// Whether this delivery comes from a shared subscription.
    pub fn is_shared(&self) -> bool {
        self.shared_node.is_some()
    }
}

/// A reusable buffer for match results, plus the random generator that picks share-group
/// members. Keep one per thread (or per connection driver) and pass it to every match: its
/// vector's capacity is reused, so a match allocates nothing once the buffer has grown.
pub struct Matches<K, V> {
    pub(crate) items: Vec<Matched<K, V>>,
    /// How many subscriber sets gave entries (a filter's plain subscribers, or one share
    /// group's pick). Keys are unique within each, so with one source there is nothing to
    /// group: a fan-out to a single filter skips the hashing and the sort.
    pub(crate) sources: u32,
    pub(crate) rng: FastRng,
    hasher: ahash::RandomState,
}

impl<K, V> Default for Matches<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> Matches<K, V> {
    /// An empty buffer whose generator is seeded from process randomness.
    pub fn new() -> Self {
        Self::with_rng(FastRng::from_entropy(next_salt()))
    }

    /// An empty buffer with a deterministic generator (tests, simulations).
    pub fn with_seed(seed: u64) -> Self {
        Self::with_rng(FastRng::new(seed))
    }

    /// An empty buffer using `rng` to pick share-group members.
    pub fn with_rng(rng: FastRng) -> Self {
        Self {
            items: Vec::new(),
            sources: 0,
            rng,
            hasher: ahash::RandomState::new(),
        }
    }

    /// Removes all entries, keeping the capacity.
    pub fn clear(&mut self) {
        self.items.clear();
        self.sources = 0;
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The entries, in trie order (or grouped, after [`Matches::group_by_subscriber`]).
    pub fn as_slice(&self) -> &[Matched<K, V>] {
        &self.items
    }

    /// Iterates over the entries.
    pub fn iter(&self) -> std::slice::Iter<'_, Matched<K, V>> {
        self.items.iter()
    }

    /// Takes the entries out, leaving the buffer empty (its capacity goes with them).
    pub fn take(&mut self) -> Vec<Matched<K, V>> {
        self.sources = 0;
        std::mem::take(&mut self.items)
    }

    /// The generator used for share-group choices.
    pub fn rng_mut(&mut self) -> &mut FastRng {
        &mut self.rng
    }
}

impl<K: Eq + Hash, V> Matches<K, V> {
    /// Reorders the entries so that all entries of one subscriber are adjacent (plain
    /// subscriptions before shared ones within a subscriber). No allocation.
    pub fn group_by_subscriber(&mut self) {
        // Every source gave at least one entry: fewer than two sources, nothing to group.
        if self.sources < 2 {
            return;
        }
        for m in &mut self.items {
            m.order = self.hasher.hash_one(&m.key);
        }
        self.items
            .sort_unstable_by_key(|m| (m.order, m.shared_node.is_some()));
        // Different keys with equal hashes may interleave: gather equal keys within each run of
        // equal hashes (runs are almost always of one key, so this is linear in practice).
        let mut start = 0;
        while start < self.items.len() {
            let h = self.items[start].order;
            let mut end = start + 1;
            while end < self.items.len() && self.items[end].order == h {
                end += 1;
            }
            let mut i = start;
            while i < end {
                let mut j = i + 1;
                while j < end {
                    if self.items[j].key == self.items[i].key {
                        i += 1;
                        self.items.swap(i, j);
                    }
                    j += 1;
                }
                i += 1;
            }
            start = end;
        }
    }

    /// Groups the entries by subscriber (see [`Matches::group_by_subscriber`]) and iterates over
    /// one slice per subscriber: for MQTT 3.x deliver once at the highest QoS of the slice; for
    /// MQTT 5 collect the subscription identifiers and apply each entry's options.
    pub fn by_subscriber(&mut self) -> BySubscriber<'_, K, V> {
        self.group_by_subscriber();
        BySubscriber { rest: &self.items }
    }
}

/// Iterator over the entries of one subscriber at a time; see [`Matches::by_subscriber`].
pub struct BySubscriber<'a, K, V> {
    rest: &'a [Matched<K, V>],
}

impl<'a, K: Eq, V> Iterator for BySubscriber<'a, K, V> {
    type Item = &'a [Matched<K, V>];

    fn next(&mut self) -> Option<Self::Item> {
        let first = self.rest.first()?;
        let n = self
            .rest
            .iter()
            .position(|m| m.key != first.key)
            .unwrap_or(self.rest.len());
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }
}

fn next_salt() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    COUNTER.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_gathers_keys() {
        let mut m: Matches<u32, u8> = Matches::with_seed(1);
        for (k, v) in [(1, 0), (2, 0), (1, 1), (3, 0), (2, 2), (1, 2)] {
            m.items.push(Matched::new(k, v, None));
        }
        m.items.push(Matched::new(2, 9, Some(NodeName::default())));
        // As if three filters and a share group had matched.
        m.sources = 4;
        let groups: Vec<Vec<(u32, u8)>> = m
            .by_subscriber()
            .map(|g| g.iter().map(|x| (x.key, x.value)).collect())
            .collect();
        assert_eq!(groups.len(), 3);
        for g in &groups {
            assert!(g.iter().all(|x| x.0 == g[0].0));
        }
        let two = groups.iter().find(|g| g[0].0 == 2).unwrap();
        assert_eq!(
            two.last().unwrap().1,
            9,
            "shared entry last within a subscriber"
        );
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 7);
    }
}
