//! `vmq-codec`: MQTT 3.1, 3.1.1 and 5.0 packets, decoded without copying and encoded into a
//! caller-owned buffer. No I/O: it depends on `bytes` and `thiserror` only.
//!
//! The API contract (other crates rely on it):
//! - [`check`]`(buf, &limits) -> Result<Option<usize>, DecodeError>`: is a whole frame at the
//!   start of `buf`? `Ok(Some(frame_len))` (fixed header included), `Ok(None)` when more bytes are
//!   needed, an error when the frame is malformed or exceeds `limits.max_packet_size` (refused as
//!   soon as the fixed header is readable, before the body is buffered).
//! - [`Packet::decode`]`(frame: Bytes, version) -> Result<Packet, DecodeError>` decodes exactly one
//!   frame; topic, strings, payload and binary properties are slices of `frame`. CONNECT is decoded
//!   whatever `version` is (it carries its own).
//! - [`Packet::encoded_len`]`(version)` and [`Packet::encode`]`(version, &mut BytesMut)`.
//! - [`DecodeError::reason_code`] says which reason code the server must send.

pub mod packet;
mod utf8;

pub use packet::*;
pub use utf8::Utf8Str;
