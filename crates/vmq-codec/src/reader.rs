//! The bounded reader (rustls style): a cursor over a window of the received frame. Every nested
//! structure is read through [`Reader::sub`], bounded by its own length prefix, so a lying length
//! can only fail, never read past its parent; leftovers are reported by [`Reader::finish`].
//! Strings and binary data come out as slices of the frame, never copies.

use bytes::Bytes;

use crate::{DecodeError, Utf8Str};

/// A cursor over `frame[pos..end]`.
pub(crate) struct Reader<'a> {
    frame: &'a Bytes,
    pos: usize,
    end: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `frame[pos..end]` (`pos <= end <= frame.len()` is the caller's duty).
    pub(crate) fn new(frame: &'a Bytes, pos: usize, end: usize) -> Self {
        debug_assert!(pos <= end && end <= frame.len());
        Reader { frame, pos, end }
    }

    /// Bytes left in this window.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    /// True when nothing is left.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.end
    }

    /// Errors with [`DecodeError::TrailingBytes`] unless the window is consumed.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    #[inline]
    fn advance(&mut self, n: usize) -> Result<usize, DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let start = self.pos;
        self.pos += n;
        Ok(start)
    }

    /// One byte.
    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let at = self.advance(1)?;
        Ok(self.frame[at])
    }

    /// A big-endian two byte integer.
    #[inline]
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let at = self.advance(2)?;
        Ok(u16::from_be_bytes([self.frame[at], self.frame[at + 1]]))
    }

    /// A big-endian four byte integer.
    #[inline]
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        let at = self.advance(4)?;
        let b = &self.frame[at..at + 4];
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A variable byte integer (at most 4 bytes).
    pub(crate) fn var_int(&mut self) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for i in 0..4 {
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
        let at = self.advance(n)?;
        Ok(self.frame.slice(at..at + n))
    }

    /// The rest of the window as a slice of the frame.
    #[inline]
    pub(crate) fn rest(&mut self) -> Bytes {
        let at = self.pos;
        self.pos = self.end;
        self.frame.slice(at..self.end)
    }

    /// A sub-reader over the next `n` bytes; this reader moves past them.
    #[inline]
    pub(crate) fn sub(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        let at = self.advance(n)?;
        Ok(Reader::new(self.frame, at, at + n))
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
        let at = self.advance(n)?;
        let frame: &'a Bytes = self.frame;
        Ok(&frame[at..at + n])
    }

    /// Counts the length-prefixed entries (each followed by `trailer` bytes) left in the window,
    /// without consuming them; stops at the first one that does not fit. Used to size a `Vec`
    /// exactly before decoding a SUBSCRIBE or UNSUBSCRIBE payload.
    pub(crate) fn count_entries(&self, trailer: usize) -> usize {
        let (mut at, mut n) = (self.pos, 0);
        while at + 2 <= self.end {
            let len = usize::from(u16::from_be_bytes([self.frame[at], self.frame[at + 1]]));
            at += 2 + len + trailer;
            if at > self.end {
                break;
            }
            n += 1;
        }
        n
    }

    /// A UTF-8 encoded string (MQTT-1.5.4-1, -2: well-formed, no U+0000).
    #[inline]
    pub(crate) fn string(&mut self) -> Result<Utf8Str, DecodeError> {
        let b = self.binary()?;
        Utf8Str::from_mqtt_bytes(b).map_err(|_| DecodeError::InvalidUtf8)
    }
}
