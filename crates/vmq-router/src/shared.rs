//! Shared subscriptions: the node name type, VerneMQ's distribution policies
//! (`shared_subscription_policy`), the caller-provided online predicate, and the choice of one
//! member per group per message.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::hash::FastRng;

/// The name of the cluster node a subscription lives on (VerneMQ's Erlang node name, e.g.
/// `VerneMQ@127.0.0.1`). Cheap to clone; equality first compares pointers.
#[derive(Clone, Eq, PartialOrd, Ord)]
pub struct NodeName(Arc<str>);

impl NodeName {
    /// A node name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for NodeName {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl std::hash::Hash for NodeName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Default for NodeName {
    /// `local`, the name an embedder without a cluster can use.
    fn default() -> Self {
        Self::new("local")
    }
}

/// VerneMQ's `shared_subscription_policy`: which member of a share group gets a message.
///
/// In every policy an online member is preferred over an offline one among the candidates
/// the policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SharedPolicy {
    /// A random member on this node if the group has any here, otherwise a random member on
    /// another node (VerneMQ's default).
    #[default]
    PreferLocal,
    /// A random member, wherever it lives.
    Random,
    /// A random member on this node; a group with no member here gets nothing.
    LocalOnly,
    /// Like `PreferLocal`, but an online member on another node is preferred over an offline
    /// one on this node.
    PreferOnlineBeforeLocal,
}

impl SharedPolicy {
    /// The name used in `vernemq.conf`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PreferLocal => "prefer_local",
            Self::Random => "random",
            Self::LocalOnly => "local_only",
            Self::PreferOnlineBeforeLocal => "prefer_online_before_local",
        }
    }
}

impl FromStr for SharedPolicy {
    type Err = ();

    /// Parses the `vernemq.conf` value.
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "prefer_local" => Ok(Self::PreferLocal),
            "random" => Ok(Self::Random),
            "local_only" => Ok(Self::LocalOnly),
            "prefer_online_before_local" => Ok(Self::PreferOnlineBeforeLocal),
            _ => Err(()),
        }
    }
}

/// Tells the router which subscribers are online right now. Only the broker knows, so it is
/// asked during a match, under the trie's read lock: keep it cheap (an atomic flag in the
/// session handle is ideal) and never call back into the router from it.
pub trait Presence<K> {
    /// Whether the subscriber `key` is currently connected.
    fn is_online(&self, key: &K) -> bool;
}

impl<K, F: Fn(&K) -> bool> Presence<K> for F {
    #[inline]
    fn is_online(&self, key: &K) -> bool {
        self(key)
    }
}

/// A [`Presence`] that says every subscriber is online.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllOnline;

impl<K> Presence<K> for AllOnline {
    #[inline]
    fn is_online(&self, _key: &K) -> bool {
        true
    }
}

/// Tiers of candidates, in the order the counters are kept.
const LOCAL_ONLINE: usize = 0;
const REMOTE_ONLINE: usize = 1;
const LOCAL_OFFLINE: usize = 2;
const REMOTE_OFFLINE: usize = 3;

/// Reservoir sampling per tier over one pass of a group's members: after the pass, `pick[t]`
/// is a uniformly random member of tier `t` and `count[t]` the tier's size.
pub(crate) struct Chooser<T> {
    count: [usize; 4],
    pick: [Option<T>; 4],
}

impl<T: Copy> Chooser<T> {
    pub(crate) fn new() -> Self {
        Self {
            count: [0; 4],
            pick: [None; 4],
        }
    }

    #[inline]
    pub(crate) fn offer(&mut self, item: T, local: bool, online: bool, rng: &mut FastRng) {
        let tier = match (local, online) {
            (true, true) => LOCAL_ONLINE,
            (false, true) => REMOTE_ONLINE,
            (true, false) => LOCAL_OFFLINE,
            (false, false) => REMOTE_OFFLINE,
        };
        self.count[tier] += 1;
        let n = self.count[tier];
        if n == 1 || rng.below(n) == 0 {
            self.pick[tier] = Some(item);
        }
    }

    /// One of the picks of tiers `a` and `b`, weighted by their sizes (a uniform choice over
    /// their union).
    fn merge(&self, a: usize, b: usize, rng: &mut FastRng) -> Option<T> {
        let (ca, cb) = (self.count[a], self.count[b]);
        match (ca, cb) {
            (0, 0) => None,
            (_, 0) => self.pick[a],
            (0, _) => self.pick[b],
            _ => {
                if rng.below(ca + cb) < ca {
                    self.pick[a]
                } else {
                    self.pick[b]
                }
            }
        }
    }

    fn first(&self, tiers: &[usize]) -> Option<T> {
        tiers.iter().find_map(|&t| self.pick[t])
    }

    /// The member the policy delivers to, if any.
    pub(crate) fn choose(&self, policy: SharedPolicy, rng: &mut FastRng) -> Option<T> {
        let c = &self.count;
        match policy {
            SharedPolicy::Random => self
                .merge(LOCAL_ONLINE, REMOTE_ONLINE, rng)
                .or_else(|| self.merge(LOCAL_OFFLINE, REMOTE_OFFLINE, rng)),
            SharedPolicy::PreferLocal => {
                if c[LOCAL_ONLINE] + c[LOCAL_OFFLINE] > 0 {
                    self.first(&[LOCAL_ONLINE, LOCAL_OFFLINE])
                } else {
                    self.first(&[REMOTE_ONLINE, REMOTE_OFFLINE])
                }
            }
            SharedPolicy::LocalOnly => self.first(&[LOCAL_ONLINE, LOCAL_OFFLINE]),
            SharedPolicy::PreferOnlineBeforeLocal => {
                self.first(&[LOCAL_ONLINE, REMOTE_ONLINE, LOCAL_OFFLINE, REMOTE_OFFLINE])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_round_trip() {
        for p in [
            SharedPolicy::PreferLocal,
            SharedPolicy::Random,
            SharedPolicy::LocalOnly,
            SharedPolicy::PreferOnlineBeforeLocal,
        ] {
            assert_eq!(p.as_str().parse::<SharedPolicy>(), Ok(p));
        }
        assert!("nope".parse::<SharedPolicy>().is_err());
        assert_eq!(SharedPolicy::default(), SharedPolicy::PreferLocal);
    }

    #[test]
    fn node_name_eq() {
        assert_eq!(NodeName::new("a"), NodeName::new(String::from("a")));
        assert_ne!(NodeName::new("a"), NodeName::new("b"));
    }
}
