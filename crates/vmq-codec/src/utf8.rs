//! `Utf8Str`: an MQTT UTF-8 encoded string as a validated view over `Bytes`, so decoded strings
//! share the frame's memory.
//!
//! The string is validated once, when it is constructed; reading it back ([`Utf8Str::as_str`],
//! `Deref`) is free. That takes the crate's only `unsafe` block (`str::from_utf8_unchecked` in
//! [`Utf8Str::as_str`]), sound because the field is private, `Bytes` is immutable, and every
//! constructor in this file admits valid UTF-8 only (see the SAFETY comment there).

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
    #[inline]
    pub fn from_mqtt_bytes(bytes: Bytes) -> Result<Self, Utf8Error> {
        validate_mqtt(&bytes)?;
        Ok(Utf8Str(bytes))
    }

    /// [`Utf8Str::from_mqtt_bytes`] for a PUBLISH topic, which also needs to know whether it
    /// contains a wildcard (`+` or `#`): both checks in one pass in the common ASCII case.
    /// Returns the string and whether it contains a wildcard.
    #[inline]
    pub(crate) fn from_mqtt_topic_bytes(bytes: Bytes) -> Result<(Self, bool), Utf8Error> {
        if plain_ascii_topic(&bytes) {
            return Ok((Utf8Str(bytes), false));
        }
        validate_mqtt(&bytes)?;
        let wildcard = crate::topic::has_wildcard(&bytes);
        Ok((Utf8Str(bytes), wildcard))
    }

    /// The string.
    #[inline]
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        // SAFETY: `self.0` is valid UTF-8. The field is private and `Bytes` cannot be mutated, so
        // the bytes are those a constructor of this file admitted, and each one validates:
        // `new` and `Default` (empty), `from_static` and `From<&str>` (copied from a `str`),
        // `From<String>` (a `String`'s bytes), `from_mqtt_bytes` (`validate_mqtt`, which accepts
        // only what `str::from_utf8` accepts); `Clone` copies a valid value. Any new constructor
        // must keep this invariant.
        unsafe { str::from_utf8_unchecked(&self.0) }
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

/// `0x01` in every byte of a word.
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
/// `0x80` in every byte of a word.
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Non-zero when a byte of `w` is `0x00` (exact as a whole-word test: the borrow can only mark
/// bytes above a true zero byte).
#[inline(always)]
pub(crate) const fn zero_byte(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// Non-zero when a byte of `w` is `b`.
#[inline(always)]
pub(crate) const fn byte_eq(w: u64, b: u8) -> u64 {
    zero_byte(w ^ (ONES * b as u64))
}

/// True when `b` is ASCII without U+0000, eight bytes at a time (the common case of MQTT
/// strings, which then need no UTF-8 decoding).
#[inline]
fn ascii_without_nul(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut bad = 0u64;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let w = u64::from_ne_bytes(w);
        bad |= (w & HIGHS) | zero_byte(w);
    }
    bad == 0 && chunks.remainder().iter().all(|&c| c != 0 && c < 0x80)
}

/// True when `b` is ASCII without U+0000, `+` or `#`: a valid MQTT string and, if not empty, a
/// valid topic name. False says nothing (check again the slow way).
#[inline]
fn plain_ascii_topic(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut bad = 0u64;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let w = u64::from_ne_bytes(w);
        bad |= (w & HIGHS) | zero_byte(w) | byte_eq(w, b'+') | byte_eq(w, b'#');
    }
    bad == 0
        && chunks
            .remainder()
            .iter()
            .all(|&c| c != 0 && c < 0x80 && c != b'+' && c != b'#')
}

/// MQTT string rules (MQTT-1.5.4-1, -2): well-formed UTF-8 (which excludes encoded surrogates)
/// and no U+0000. Accepts exactly what `str::from_utf8` accepts, minus U+0000.
#[inline]
pub(crate) fn validate_mqtt(b: &[u8]) -> Result<(), Utf8Error> {
    if ascii_without_nul(b) {
        return Ok(());
    }
    validate_slow(b)
}

#[cold]
#[inline(never)]
fn validate_slow(b: &[u8]) -> Result<(), Utf8Error> {
    let s = str::from_utf8(b).map_err(|_| Utf8Error::Invalid)?;
    if s.as_bytes().contains(&0) {
        return Err(Utf8Error::NullCharacter);
    }
    Ok(())
}

impl Deref for Utf8Str {
    type Target = str;
    #[inline]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_matches_std_plus_the_nul_rule() {
        let cases: &[&[u8]] = &[
            b"",
            b"a",
            b"devices/sensor-0042/telemetry",
            b"0123456789abcdef0123456789abcdef",
            b"abcdefg\0",
            b"\0abcdefgh",
            b"abcdefghijklmno\0p",
            "d\u{e9}vices/\u{1F600}/x".as_bytes(),
            b"abcdefgh\xC3",
            b"\xED\xA0\x80",
            b"abcdefgh\xED\xA0\x80",
            b"\xFF",
            b"\x7F\x7F\x7F\x7F\x7F\x7F\x7F\x7F\x7F",
            b"\xC0\x80",
        ];
        for b in cases {
            let expected = match str::from_utf8(b) {
                Err(_) => Err(Utf8Error::Invalid),
                Ok(s) if s.contains('\0') => Err(Utf8Error::NullCharacter),
                Ok(_) => Ok(()),
            };
            assert_eq!(validate_mqtt(b), expected, "{b:?}");
        }
    }

    #[test]
    fn topic_scan_agrees_with_the_separate_checks() {
        let cases: &[&[u8]] = &[
            b"",
            b"a/b",
            b"devices/sensor-0042/telemetry/temperature",
            b"devices/+/telemetry",
            b"devices/sensor-0042/#",
            b"abcdefgh+",
            b"abcdefgh\0",
            "d\u{e9}vices/x/+".as_bytes(),
            "d\u{e9}vices/x/y".as_bytes(),
            b"abcdefgh\xFF",
        ];
        for b in cases {
            let got = Utf8Str::from_mqtt_topic_bytes(Bytes::copy_from_slice(b))
                .map(|(s, w)| (s.as_bytes().clone(), w));
            let want = validate_mqtt(b)
                .map(|()| (Bytes::copy_from_slice(b), crate::topic::has_wildcard(b)));
            assert_eq!(got, want, "{b:?}");
        }
    }

    #[test]
    fn word_tests_are_exact() {
        for i in 0..8 {
            for v in [0u8, 1, b'#', b'+', 0x7F, 0x80, 0xFF] {
                let mut w = [b'a'; 8];
                w[i] = v;
                let w = u64::from_ne_bytes(w);
                assert_eq!(zero_byte(w) != 0, v == 0);
                assert_eq!(byte_eq(w, b'#') != 0, v == b'#');
                assert_eq!(byte_eq(w, b'+') != 0, v == b'+');
            }
        }
    }
}
