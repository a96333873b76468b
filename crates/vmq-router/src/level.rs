//! The key type of every map in the trie and the retained index: a topic level (or a whole
//! topic, or a mountpoint) stored inline when short, so that probing a map compares bytes in
//! the bucket instead of following a pointer to a heap string (one cache miss fewer per level
//! at a million subscriptions).

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// Bytes stored inline; the enum stays 24 bytes.
const INLINE: usize = 22;

/// A string key, inline up to 22 bytes. Maps keyed by it are looked up with `&[u8]`.
#[derive(Clone, Debug)]
pub(crate) enum Level {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Level {
    pub(crate) fn new(s: &str) -> Self {
        let bytes = s.as_bytes();
        if bytes.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            Self::Inline {
                len: bytes.len() as u8,
                buf,
            }
        } else {
            Self::Heap(bytes.into())
        }
    }

    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Inline { len, buf } => &buf[..usize::from(*len)],
            Self::Heap(b) => b,
        }
    }

    /// The key as a string (it was built from one, so this never loses anything).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl PartialEq for Level {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Level {}

impl Hash for Level {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly like the borrowed form `[u8]`.
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for Level {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_round_trip() {
        assert_eq!(std::mem::size_of::<Level>(), 24);
        for s in [
            "",
            "a",
            "exactly-22-bytes-long!",
            "twenty-three bytes long",
            "ü/é",
        ] {
            let l = Level::new(s);
            assert_eq!(l.as_str(), s);
            assert_eq!(l, Level::new(s));
        }
        assert!(matches!(Level::new(&"x".repeat(22)), Level::Inline { .. }));
        assert!(matches!(Level::new(&"x".repeat(23)), Level::Heap(_)));
    }
}
