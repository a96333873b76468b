//! The subscriptions stored on one filter: plain subscriptions by subscriber key, and share
//! groups with their members (each carrying the node it lives on).

use std::collections::HashMap;
use std::hash::Hash;

use smallvec::SmallVec;

use crate::hash::Seeded;
use crate::NodeName;

/// Above this many entries a list becomes a hash map (subscribe / unsubscribe stay O(1) on
/// filters with very many subscribers, e.g. a broadcast topic).
const PROMOTE_AT: usize = 16;

/// Entries keyed by subscriber: inline for the common single entry, a vector for a few, a
/// hash map for many.
pub(crate) enum KeyList<K, T> {
    Few(SmallVec<[(K, T); 1]>),
    Many(HashMap<K, T, Seeded>),
}

impl<K, T> Default for KeyList<K, T> {
    fn default() -> Self {
        Self::Few(SmallVec::new())
    }
}

impl<K: Eq + Hash, T> KeyList<K, T> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Few(v) => v.len(),
            Self::Many(m) => m.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts or replaces; returns the replaced value.
    pub(crate) fn insert(&mut self, key: K, value: T) -> Option<T> {
        match self {
            Self::Few(v) => {
                if let Some(slot) = v.iter_mut().find(|(k, _)| *k == key) {
                    return Some(std::mem::replace(&mut slot.1, value));
                }
                if v.len() >= PROMOTE_AT {
                    let mut m: HashMap<K, T, Seeded> =
                        HashMap::with_capacity_and_hasher(v.len() * 2, Seeded);
                    m.extend(v.drain(..));
                    m.insert(key, value);
                    *self = Self::Many(m);
                } else {
                    v.push((key, value));
                }
                None
            }
            Self::Many(m) => m.insert(key, value),
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<T> {
        match self {
            Self::Few(v) => {
                let i = v.iter().position(|(k, _)| k == key)?;
                Some(v.swap_remove(i).1)
            }
            Self::Many(m) => m.remove(key),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&T> {
        match self {
            Self::Few(v) => v.iter().find(|(k, _)| k == key).map(|(_, t)| t),
            Self::Many(m) => m.get(key),
        }
    }

    #[inline]
    pub(crate) fn for_each<'a>(&'a self, mut f: impl FnMut(&'a K, &'a T)) {
        match self {
            Self::Few(v) => v.iter().for_each(|(k, t)| f(k, t)),
            Self::Many(m) => m.iter().for_each(|(k, t)| f(k, t)),
        }
    }
}

/// A member of a share group.
pub(crate) struct Member<V> {
    pub(crate) value: V,
    pub(crate) node: NodeName,
}

/// One share group on one filter.
pub(crate) struct Group<K, V> {
    pub(crate) name: Box<str>,
    pub(crate) members: KeyList<K, Member<V>>,
}

/// Everything subscribed to one filter.
pub(crate) struct Subs<K, V> {
    pub(crate) plain: KeyList<K, V>,
    pub(crate) groups: Vec<Group<K, V>>,
}

impl<K, V> Default for Subs<K, V> {
    fn default() -> Self {
        Self {
            plain: KeyList::default(),
            groups: Vec::new(),
        }
    }
}

impl<K: Eq + Hash, V> Subs<K, V> {
    pub(crate) fn is_empty(&self) -> bool {
        self.plain.is_empty() && self.groups.is_empty()
    }

    /// Inserts a plain (`group == None`) or shared subscription; returns the replaced value.
    pub(crate) fn insert(
        &mut self,
        group: Option<&str>,
        node: NodeName,
        key: K,
        value: V,
    ) -> Option<V> {
        match group {
            None => self.plain.insert(key, value),
            Some(name) => {
                let member = Member { value, node };
                if let Some(g) = self.groups.iter_mut().find(|g| &*g.name == name) {
                    return g.members.insert(key, member).map(|m| m.value);
                }
                let mut members = KeyList::default();
                members.insert(key, member);
                self.groups.push(Group {
                    name: name.into(),
                    members,
                });
                None
            }
        }
    }

    /// Removes a subscription; returns its value.
    pub(crate) fn remove(&mut self, group: Option<&str>, key: &K) -> Option<V> {
        match group {
            None => self.plain.remove(key),
            Some(name) => {
                let i = self.groups.iter().position(|g| &*g.name == name)?;
                let removed = self.groups[i].members.remove(key)?;
                if self.groups[i].members.is_empty() {
                    self.groups.swap_remove(i);
                }
                Some(removed.value)
            }
        }
    }
}
