//! Primitive wire encodings (1.5): variable byte integers, length-prefixed strings and binary
//! data, and the fixed header (2.1) parse shared by [`crate::check`] and the decoder.

use bytes::{BufMut, BytesMut};

use crate::props::MAX_VAR_INT;
use crate::{DecodeError, EncodeError, Utf8Str};

/// Bytes needed to encode `v` as a variable byte integer (1..=4; values beyond the maximum are
/// rejected when written).
#[inline]
pub(crate) fn var_int_len(v: usize) -> usize {
    match v {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes `v` as a variable byte integer.
#[inline]
pub(crate) fn put_var_int(buf: &mut BytesMut, v: usize) -> Result<(), EncodeError> {
    if v > MAX_VAR_INT as usize {
        return Err(EncodeError::PacketTooLarge(v));
    }
    let mut v = v;
    loop {
        let mut b = (v & 0x7F) as u8;
        v >>= 7;
        if v > 0 {
            b |= 0x80;
        }
        buf.put_u8(b);
        if v == 0 {
            return Ok(());
        }
    }
}

/// Writes binary data with its two byte length.
#[inline]
pub(crate) fn put_binary(buf: &mut BytesMut, b: &[u8]) -> Result<(), EncodeError> {
    let n = u16::try_from(b.len()).map_err(|_| EncodeError::FieldTooLong(b.len()))?;
    buf.put_u16(n);
    buf.put_slice(b);
    Ok(())
}

/// Writes a UTF-8 string with its two byte length. Takes the bytes of the [`Utf8Str`] (its
/// `Deref` to `str` would validate the UTF-8 again).
#[inline]
pub(crate) fn put_str(buf: &mut BytesMut, s: &Utf8Str) -> Result<(), EncodeError> {
    put_binary(buf, s.as_bytes())
}

/// A parsed fixed header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FixedHeader {
    /// The first byte (type and flags).
    pub(crate) byte1: u8,
    /// Bytes taken by the fixed header (2..=5).
    pub(crate) header_len: usize,
    /// The remaining length.
    pub(crate) remaining_len: usize,
}

/// Parses the fixed header at the start of `buf`: `Ok(None)` when it is incomplete.
#[inline]
pub(crate) fn fixed_header(buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
    let Some(&byte1) = buf.first() else {
        return Ok(None);
    };
    let mut remaining_len = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Ok(None);
        };
        remaining_len |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some(FixedHeader {
                byte1,
                header_len: 2 + i,
                remaining_len,
            }));
        }
    }
    Err(DecodeError::MalformedVarInt)
}
