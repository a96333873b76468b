//! `Utf8Str`: an MQTT UTF-8 encoded string as a validated view over `Bytes`, so decoded strings
//! share the frame's memory.

use std::{borrow::Borrow, fmt, hash, ops::Deref, str};

use bytes::Bytes;

/// A UTF-8 string stored in `Bytes`. Construction validates UTF-8; MQTT's extra rules (no U+0000)
/// are checked by [`Utf8Str::from_mqtt_bytes`].
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Utf8Str(Bytes);

/// Why bytes are not an MQTT UTF-8 string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf8Error {
    /// Not well-formed UTF-8 (this includes encoded surrogates).
    Invalid,
    /// Contains U+0000, forbidden by MQTT-1.5.3-2.
    NullCharacter,
}

impl Utf8Str {
    /// An empty string.
    pub const fn new() -> Self {
        Utf8Str(Bytes::new())
    }

    /// A string from a static `str`, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        Utf8Str(Bytes::from_static(s.as_bytes()))
    }

    /// Validates `bytes` as an MQTT string: well-formed UTF-8 (no surrogates) and no U+0000.
    pub fn from_mqtt_bytes(bytes: Bytes) -> Result<Self, Utf8Error> {
        let s = str::from_utf8(&bytes).map_err(|_| Utf8Error::Invalid)?;
        if s.as_bytes().contains(&0) {
            return Err(Utf8Error::NullCharacter);
        }
        Ok(Utf8Str(bytes))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        // The constructors only admit valid UTF-8; a failure here is unreachable, and returning an
        // empty string keeps this total without `unsafe`.
        str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes (cheap clone of the shared buffer).
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Consumes the string into its bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for Utf8Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Utf8Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl hash::Hash for Utf8Str {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Utf8Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Utf8Str {
    /// Copies `s`. Does not check for U+0000; use [`Utf8Str::from_mqtt_bytes`] for untrusted input.
    fn from(s: &str) -> Self {
        Utf8Str(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Utf8Str {
    /// Takes `s` without copying. Does not check for U+0000.
    fn from(s: String) -> Self {
        Utf8Str(Bytes::from(s))
    }
}

impl PartialEq<str> for Utf8Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
