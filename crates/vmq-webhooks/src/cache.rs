//! The answer cache of the `auth_on_*` hooks: a successful answer that came with
//! `cache-control: max-age=N` is reused for N seconds for the same endpoint, hook and arguments
//! (the payload and the peer port are not part of the key), without calling the endpoint.
//! As in VerneMQ, the `payload` modifier is never cached and expired entries are dropped when
//! they are looked up. Hits, misses and entries are counted per endpoint and hook
//! (`vmq-admin webhooks cache show`).

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use serde_json::Value;

/// Cache counters of one endpoint and hook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to call the endpoint.
    pub misses: u64,
    /// Entries stored now.
    pub entries: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    endpoint: String,
    hook: &'static str,
    args: String,
}

struct Entry {
    expires: Instant,
    modifiers: Value,
}

/// The cache (shared by every connection; one short lock per lookup).
#[derive(Default)]
pub(crate) struct Cache {
    entries: Mutex<HashMap<Key, Entry, ahash::RandomState>>,
    stats: Mutex<BTreeMap<(String, &'static str), CacheStats>>,
}

impl Cache {
    fn key(endpoint: &str, hook: &'static str, args: &serde_json::Map<String, Value>) -> Key {
        let mut args = args.clone();
        args.remove("payload");
        args.remove("peer_port");
        Key {
            endpoint: endpoint.to_owned(),
            hook,
            args: Value::Object(args).to_string(),
        }
    }

    /// The cached modifiers, if a live entry exists.
    pub(crate) fn lookup(
        &self,
        endpoint: &str,
        hook: &'static str,
        args: &serde_json::Map<String, Value>,
        now: Instant,
    ) -> Option<Value> {
        let key = Self::key(endpoint, hook, args);
        let (found, expired) = {
            let mut entries = self.entries.lock();
            match entries.get(&key) {
                Some(e) if e.expires > now => (Some(e.modifiers.clone()), false),
                Some(_) => {
                    entries.remove(&key);
                    (None, true)
                }
                None => (None, false),
            }
        };
        let mut stats = self.stats.lock();
        let s = stats.entry((endpoint.to_owned(), hook)).or_default();
        if found.is_some() {
            s.hits += 1;
        } else {
            s.misses += 1;
        }
        if expired {
            s.entries = s.entries.saturating_sub(1);
        }
        found
    }

    /// Stores a successful answer for `max_age`.
    pub(crate) fn insert(
        &self,
        endpoint: &str,
        hook: &'static str,
        args: &serde_json::Map<String, Value>,
        max_age: Duration,
        mut modifiers: Value,
        now: Instant,
    ) {
        if let Value::Object(m) = &mut modifiers {
            m.remove("payload");
        }
        let key = Self::key(endpoint, hook, args);
        let new = self
            .entries
            .lock()
            .insert(
                key,
                Entry {
                    expires: now + max_age,
                    modifiers,
                },
            )
            .is_none();
        if new {
            self.stats
                .lock()
                .entry((endpoint.to_owned(), hook))
                .or_default()
                .entries += 1;
        }
    }

    /// Counters per (endpoint, hook).
    pub(crate) fn stats(&self) -> BTreeMap<(String, &'static str), CacheStats> {
        self.stats.lock().clone()
    }

    /// Zeroes hits and misses (`cache show --reset`).
    pub(crate) fn reset_stats(&self) {
        for s in self.stats.lock().values_mut() {
            s.hits = 0;
            s.misses = 0;
        }
    }

    /// Drops every entry and counter (`cache clear`).
    pub(crate) fn clear(&self) {
        self.entries.lock().clear();
        self.stats.lock().clear();
    }
}

/// `max-age=N` from a `cache-control` header value (VerneMQ looks for the first `max-age=`).
pub(crate) fn parse_max_age(value: &str) -> Option<u64> {
    let at = value.find("max-age=")?;
    let digits: String = value[at + "max-age=".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn max_age_as_vernemq_reads_it() {
        assert_eq!(parse_max_age(""), None);
        assert_eq!(parse_max_age("max-age="), None);
        assert_eq!(parse_max_age("max-age=x"), None);
        assert_eq!(parse_max_age("  max-age=45,sthelse"), Some(45));
        assert_eq!(parse_max_age("max-age=45"), Some(45));
        assert_eq!(parse_max_age("public, max-age=7"), Some(7));
    }

    #[test]
    fn entries_expire_and_ignore_payload_and_port() {
        let cache = Cache::default();
        let now = Instant::now();
        let mut args = serde_json::Map::new();
        args.insert("client_id".into(), "c".into());
        args.insert("payload".into(), "p1".into());
        args.insert("peer_port".into(), 1.into());
        let mods = serde_json::json!({"topic": "t", "payload": "x"});
        cache.insert(
            "e",
            "auth_on_publish",
            &args,
            Duration::from_secs(2),
            mods,
            now,
        );
        args.insert("payload".into(), "p2".into());
        args.insert("peer_port".into(), 2.into());
        let hit = cache.lookup("e", "auth_on_publish", &args, now).unwrap();
        assert_eq!(hit, serde_json::json!({"topic": "t"}));
        assert!(cache.lookup("e", "auth_on_register", &args, now).is_none());
        let later = now + Duration::from_secs(3);
        assert!(cache.lookup("e", "auth_on_publish", &args, later).is_none());
        let stats = cache.stats();
        let s = stats[&("e".to_owned(), "auth_on_publish")];
        assert_eq!((s.hits, s.misses, s.entries), (1, 1, 0));
    }
}
