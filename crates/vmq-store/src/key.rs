//! The one order-preserving key encoding used by every backend. A key is a namespace byte
//! followed by components: strings and byte strings as a big-endian `u16` length and the
//! bytes, integers as fixed-width big-endian, and optionally one last *tail* component
//! written raw (no length) so that its prefixes can be scanned (retained topics,
//! subscription filters, generic keys).
//!
//! Ordering: two keys built from the same component types compare like the tuples they
//! encode, where a length-prefixed string compares first by length, then by bytes, and the
//! tail compares lexicographically. Length prefixes make every component boundary
//! unambiguous, so the encoding of a tuple is never a prefix of another tuple's encoding
//! unless the tuple is a prefix: a prefix scan over `(namespace, mountpoint, client_id)`
//! returns exactly one subscriber's entries, and, because the sequence number is a
//! big-endian `u64`, in enqueue order.
//!
//! Layout of the store (the namespace bytes are part of the on-disk format):
//!
//! | namespace | key | value |
//! |---|---|---|
//! | `0x00` meta | `tail(name)` | format version, next queue sequence number |
//! | `0x01` message | `u128 msg_id` | [`crate::StoredMessage`] |
//! | `0x02` refcount | `u128 msg_id` | `u32` number of queue entries referring to it |
//! | `0x03` queue | `str mountpoint, str client_id, u64 seq` | `u128 msg_id` |
//! | `0x04` position | `str mountpoint, str client_id, u128 msg_id` | `u64 seq` |
//! | `0x10` retained | `str mountpoint, tail(topic)` | [`crate::StoredMessage`] |
//! | `0x11` subscription | `str mountpoint, str client_id, tail(filter)` | [`crate::StoredSubscription`] |
//! | `0x12` session | `str mountpoint, str client_id` | [`crate::StoredSession`] |
//! | `0x20` generic | `str namespace, tail(key)` | opaque bytes |

use crate::error::{Error, Result};
use crate::types::SubscriberKey;

/// Namespace of store bookkeeping (format version, sequence counter).
pub const NS_META: u8 = 0x00;
/// Namespace of message bodies, keyed by message id.
pub const NS_MESSAGE: u8 = 0x01;
/// Namespace of message reference counts, keyed by message id.
pub const NS_REFCOUNT: u8 = 0x02;
/// Namespace of queue entries, keyed by subscriber and sequence number.
pub const NS_QUEUE: u8 = 0x03;
/// Namespace of queue positions (subscriber, message id) -> sequence number.
pub const NS_POSITION: u8 = 0x04;
/// Namespace of retained messages, keyed by mountpoint and topic.
pub const NS_RETAINED: u8 = 0x10;
/// Namespace of subscriptions, keyed by subscriber and filter.
pub const NS_SUBSCRIPTION: u8 = 0x11;
/// Namespace of session metadata, keyed by subscriber.
pub const NS_SESSION: u8 = 0x12;
/// Namespace of generic (cluster) data, keyed by a namespace name and an opaque key.
pub const NS_GENERIC: u8 = 0x20;

/// Builds one key. Every component method appends; [`KeyBuf::tail`] must come last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBuf {
    buf: Vec<u8>,
}

impl KeyBuf {
    /// Starts a key in namespace `ns`.
    pub fn new(ns: u8) -> Self {
        let mut buf = Vec::with_capacity(48);
        buf.push(ns);
        KeyBuf { buf }
    }

    /// Appends a length-prefixed byte string (at most 65535 bytes).
    pub fn bytes(mut self, b: &[u8]) -> Result<Self> {
        let len = u16::try_from(b.len()).map_err(|_| {
            Error::Invalid(format!(
                "key component of {} bytes (at most 65535)",
                b.len()
            ))
        })?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(b);
        Ok(self)
    }

    /// Appends a length-prefixed UTF-8 string (at most 65535 bytes).
    pub fn str(self, s: &str) -> Result<Self> {
        self.bytes(s.as_bytes())
    }

    /// Appends a subscriber: its mountpoint and client id, each length-prefixed.
    pub fn subscriber(self, sub: &SubscriberKey) -> Result<Self> {
        self.str(&sub.mountpoint)?.str(&sub.client_id)
    }

    /// Appends a big-endian `u64`.
    pub fn u64(mut self, n: u64) -> Self {
        self.buf.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// Appends a big-endian `u128`.
    pub fn u128(mut self, n: u128) -> Self {
        self.buf.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// Appends the raw tail component and finishes the key.
    pub fn tail(mut self, b: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(b);
        self.buf
    }

    /// Finishes the key.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads a key back component by component. Every read is bounded by the key's length; a
/// short or malformed key is an [`Error::Decode`], never a panic.
#[derive(Debug)]
pub struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    /// Starts reading `key`, returning its namespace byte.
    pub fn new(key: &'a [u8]) -> Result<(u8, Self)> {
        match key.split_first() {
            Some((&ns, rest)) => Ok((ns, KeyReader { rest })),
            None => Err(Error::decode("key", "empty key")),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(Error::decode(
                "key",
                format!("needs {n} more bytes, {} left", self.rest.len()),
            ));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let len = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        self.take(len)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn str(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| Error::decode("key", "string component is not UTF-8"))
    }

    /// Reads a subscriber (mountpoint, client id).
    pub fn subscriber(&mut self) -> Result<SubscriberKey> {
        let mountpoint = self.str()?.to_owned();
        let client_id = self.str()?.to_owned();
        Ok(SubscriberKey {
            mountpoint,
            client_id,
        })
    }

    /// Reads a big-endian `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// Reads a big-endian `u128`.
    pub fn u128(&mut self) -> Result<u128> {
        let b = self.take(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ok(u128::from_be_bytes(a))
    }

    /// Returns the rest of the key (the tail component).
    pub fn tail(&self) -> &'a [u8] {
        self.rest
    }

    /// Fails unless the whole key was consumed.
    pub fn end(&self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::decode(
                "key",
                format!("{} trailing bytes", self.rest.len()),
            ))
        }
    }
}

/// The key of a message body.
pub fn message(msg_id: u128) -> Vec<u8> {
    KeyBuf::new(NS_MESSAGE).u128(msg_id).finish()
}

/// The key of a message's reference count.
pub fn refcount(msg_id: u128) -> Vec<u8> {
    KeyBuf::new(NS_REFCOUNT).u128(msg_id).finish()
}

/// The prefix of all of a subscriber's queue entries.
pub fn queue_prefix(sub: &SubscriberKey) -> Result<Vec<u8>> {
    Ok(KeyBuf::new(NS_QUEUE).subscriber(sub)?.finish())
}

/// The key of one queue entry.
pub fn queue_entry(sub: &SubscriberKey, seq: u64) -> Result<Vec<u8>> {
    Ok(KeyBuf::new(NS_QUEUE).subscriber(sub)?.u64(seq).finish())
}

/// The key of a queue position (subscriber, message id).
pub fn position(sub: &SubscriberKey, msg_id: u128) -> Result<Vec<u8>> {
    Ok(KeyBuf::new(NS_POSITION)
        .subscriber(sub)?
        .u128(msg_id)
        .finish())
}

/// The prefix of the retained messages of `mountpoint` whose topic starts with
/// `topic_prefix`.
pub fn retained(mountpoint: &str, topic_prefix: &str) -> Result<Vec<u8>> {
    Ok(KeyBuf::new(NS_RETAINED)
        .str(mountpoint)?
        .tail(topic_prefix.as_bytes()))
}

/// The key of one subscription; with an empty filter, the prefix of all of the subscriber's.
pub fn subscription(sub: &SubscriberKey, filter: &str) -> Result<Vec<u8>> {
    Ok(KeyBuf::new(NS_SUBSCRIPTION)
        .subscriber(sub)?
        .tail(filter.as_bytes()))
}

/// The key of a subscriber's session metadata.
pub fn session(sub: &SubscriberKey) -> Result<Vec<u8>> {
    Ok(KeyBuf::new(NS_SESSION).subscriber(sub)?.finish())
}

/// The key (or, with a partial `key`, the prefix) of a generic record.
pub fn generic(namespace: &str, key: &[u8]) -> Result<Vec<u8>> {
    Ok(KeyBuf::new(NS_GENERIC).str(namespace)?.tail(key))
}

/// The key of a meta record.
pub fn meta(name: &str) -> Vec<u8> {
    KeyBuf::new(NS_META).tail(name.as_bytes())
}

/// Renders a key for humans (error messages, verify reports): the namespace name and the
/// decoded components, or hex when the key does not parse.
pub fn describe(key: &[u8]) -> String {
    fn inner(key: &[u8]) -> Result<String> {
        let (ns, mut r) = KeyReader::new(key)?;
        let s = match ns {
            NS_META => format!("meta/{}", String::from_utf8_lossy(r.tail())),
            NS_MESSAGE => format!("message/{:032x}", r.u128()?),
            NS_REFCOUNT => format!("refcount/{:032x}", r.u128()?),
            NS_QUEUE => {
                let sub = r.subscriber()?;
                format!("queue/{sub}/seq={}", r.u64()?)
            }
            NS_POSITION => {
                let sub = r.subscriber()?;
                format!("position/{sub}/{:032x}", r.u128()?)
            }
            NS_RETAINED => {
                let mp = r.str()?.to_owned();
                format!("retained/{mp:?}/{}", String::from_utf8_lossy(r.tail()))
            }
            NS_SUBSCRIPTION => {
                let sub = r.subscriber()?;
                format!("subscription/{sub}/{}", String::from_utf8_lossy(r.tail()))
            }
            NS_SESSION => format!("session/{}", r.subscriber()?),
            NS_GENERIC => {
                let ns = r.str()?.to_owned();
                format!("generic/{ns}/{}", hex(r.tail()))
            }
            other => return Err(Error::decode("key", format!("namespace {other:#04x}"))),
        };
        Ok(s)
    }
    inner(key).unwrap_or_else(|_| format!("raw:{}", hex(key)))
}

/// Lowercase hex of `b`.
pub(crate) fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for byte in b {
        let _ = write!(s, "{byte:02x}");
    }
    s
}

/// The smallest key greater than every key starting with `prefix` (`None` when no such key
/// exists, i.e. `prefix` is all `0xff`). Used for range ends.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_sort_by_subscriber_then_seq() {
        let a = SubscriberKey::new("", "a");
        let b = SubscriberKey::new("", "b");
        let k1 = queue_entry(&a, 2).unwrap();
        let k2 = queue_entry(&a, 256).unwrap();
        let k3 = queue_entry(&b, 1).unwrap();
        assert!(k1 < k2 && k2 < k3);
        assert!(k1.starts_with(&queue_prefix(&a).unwrap()));
        assert!(!k3.starts_with(&queue_prefix(&a).unwrap()));
    }

    #[test]
    fn describe_is_readable() {
        let s = describe(&queue_entry(&SubscriberKey::new("mp", "c1"), 7).unwrap());
        assert_eq!(s, "queue/\"mp\"/\"c1\"/seq=7");
        assert!(describe(&[0x03, 0xff]).starts_with("raw:"));
    }

    #[test]
    fn prefix_end_works() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }

    #[test]
    fn oversized_component_is_an_error() {
        let long = "x".repeat(70_000);
        assert!(matches!(
            KeyBuf::new(NS_QUEUE).str(&long),
            Err(Error::Invalid(_))
        ));
    }
}
