//! The bounded reader (rustls style): a cursor over a window of the received frame. Every nested
//! structure is read through [`Reader::sub`], bounded by its own length prefix, so a lying length
//! can only fail, never read past its parent; leftovers are reported by [`Reader::finish`].
//! Strings and binary data come out as slices of the frame, never copies.

use bytes::Bytes;

use crate::{DecodeError, Utf8Str};

/// A cursor over `frame[pos..end]`. The unread bytes are kept as a slice (`rest`), so each read
/// is one length check on it; the position in the frame, needed to slice `Bytes` out of it, is
/// `end - rest.len()`.
pub(crate) struct Reader<'a> {
    frame: &'a Bytes,
    rest: &'a [u8],
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `frame[pos..end]` (`pos <= end <= frame.len()` is the caller's duty; an
    /// out-of-range window reads as empty).
    #[inline]
    pub(crate) fn new(frame: &'a Bytes, pos: usize, end: usize) -> Self {
        debug_assert!(pos <= end && end <= frame.len());
        let bytes: &'a [u8] = frame;
        Reader {
            frame,
            rest: bytes.get(pos..end).unwrap_or_default(),
            end,
        }
    }

    /// Position of the next unread byte in the frame.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.end - self.rest.len()
    }

    /// Bytes left in this window.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// True when nothing is left.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next byte, not consumed.
    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Consumes one byte, if any (after [`Reader::peek`]).
    #[inline]
    pub(crate) fn skip_byte(&mut self) {
        self.rest = self.rest.get(1..).unwrap_or_default();
    }

    /// Errors with [`DecodeError::TrailingBytes`] unless the window is consumed.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// The next `n` bytes, consumed.
    #[inline]
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array, consumed.
    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, tail) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.rest = tail;
        Ok(*head)
    }

    /// One byte.
    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, tail) = self.rest.split_first().ok_or(DecodeError::Truncated)?;
        self.rest = tail;
        Ok(b)
    }

    /// A big-endian two byte integer.
    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.array().map(u16::from_be_bytes)
    }

    /// A big-endian four byte integer.
    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.array().map(u32::from_be_bytes)
    }

    /// A variable byte integer (at most 4 bytes).
    #[inline]
    pub(crate) fn var_int(&mut self) -> Result<u32, DecodeError> {
        let b = self.u8()?;
        if b & 0x80 == 0 {
            return Ok(u32::from(b));
        }
        let mut value = u32::from(b & 0x7F);
        for i in 1..4 {
            let b = self.u8()?;
            value |= u32::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedVarInt)
    }

    /// The next `n` bytes as a slice of the frame.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        let at = self.pos();
        self.bytes(n)?;
        Ok(self.frame.slice(at..at + n))
    }

    /// A sub-reader over the next `n` bytes; this reader moves past them.
    #[inline]
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        let at = self.pos();
        let rest = self.bytes(n)?;
        Ok(Reader {
            frame: self.frame,
            rest,
            end: at + n,
        })
    }

    /// Binary data: a two byte length and that many bytes.
    #[inline]
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// The raw bytes of a length-prefixed string, not yet validated.
    #[inline]
    pub(crate) fn raw_string(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = usize::from(self.u16()?);
        self.bytes(n)
    }

    /// Counts the length-prefixed entries (each followed by `trailer` bytes) left in the window,
    /// without consuming them; stops at the first one that does not fit. Used to size a `Vec`
    /// exactly before decoding a SUBSCRIBE or UNSUBSCRIBE payload.
    pub(crate) fn count_entries(&self, trailer: usize) -> usize {
        let (mut rest, mut n) = (self.rest, 0);
        while let Some((len, tail)) = rest.split_first_chunk::<2>() {
            let len = usize::from(u16::from_be_bytes(*len)) + trailer;
            match tail.get(len..) {
                Some(next) => rest = next,
                None => break,
            }
            n += 1;
        }
        n
    }

    /// A PUBLISH topic: a UTF-8 encoded string and whether it contains a wildcard.
    #[inline]
    pub(crate) fn topic(&mut self) -> Result<(Utf8Str, bool), DecodeError> {
        let b = self.binary()?;
        Utf8Str::from_mqtt_topic_bytes(b).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// A UTF-8 encoded string (MQTT-1.5.4-1, -2: well-formed, no U+0000).
    #[inline]
    pub(crate) fn string(&mut self) -> Result<Utf8Str, DecodeError> {
        let b = self.binary()?;
        Utf8Str::from_mqtt_bytes(b).map_err(|_| DecodeError::InvalidUtf8)
    }
}
