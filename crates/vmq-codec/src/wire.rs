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

/// `v` as a variable byte integer: the bytes (only the first `len` are meaningful) and `len`.
/// `v` must not exceed the maximum (268,435,455); [`put_var_int`] checks it.
#[inline]
pub(crate) fn var_int_bytes(v: usize) -> ([u8; 4], usize) {
    if v < 0x80 {
        return ([v as u8, 0, 0, 0], 1);
    }
    if v < 0x4000 {
        return ([(v as u8) | 0x80, (v >> 7) as u8, 0, 0], 2);
    }
    let b = [
        (v as u8) | 0x80,
        ((v >> 7) as u8) | 0x80,
        ((v >> 14) as u8) & 0x7F,
        ((v >> 21) as u8) & 0x7F,
    ];
    if v < 0x20_0000 {
        ([b[0], b[1], b[2], 0], 3)
    } else {
        ([b[0], b[1], b[2] | 0x80, b[3]], 4)
    }
}

/// Writes `v` as a variable byte integer.
#[inline]
pub(crate) fn put_var_int(buf: &mut BytesMut, v: usize) -> Result<(), EncodeError> {
    if v > MAX_VAR_INT as usize {
        return Err(EncodeError::PacketTooLarge(v));
    }
    if v < 0x80 {
        buf.put_u8(v as u8);
    } else {
        let (b, n) = var_int_bytes(v);
        buf.put_slice(&b[..n]);
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The variable byte integer encoding of 1.5.5, written the plain way.
    fn reference(mut v: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let mut b = (v % 128) as u8;
            v /= 128;
            if v > 0 {
                b |= 0x80;
            }
            out.push(b);
            if v == 0 {
                return out;
            }
        }
    }

    #[test]
    fn mqtt_1_5_5_variable_byte_integer_encoding_at_every_boundary() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            200_000_000,
            268_435_455,
        ] {
            let (b, n) = var_int_bytes(v);
            assert_eq!(&b[..n], &reference(v)[..], "{v}");
            assert_eq!(n, var_int_len(v), "{v}");
            let mut buf = BytesMut::new();
            put_var_int(&mut buf, v).unwrap();
            assert_eq!(&buf[..], &reference(v)[..], "{v}");
            let mut framed = vec![0x30];
            framed.extend_from_slice(&buf);
            let h = fixed_header(&framed).unwrap().unwrap();
            assert_eq!(h.remaining_len, v);
        }
        let mut buf = BytesMut::new();
        assert_eq!(
            put_var_int(&mut buf, 268_435_456),
            Err(EncodeError::PacketTooLarge(268_435_456))
        );
    }
}
