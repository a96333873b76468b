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

//!
//! Additions to the contract: [`decode_from`] (check + split + decode on a `BytesMut`),
//! [`DecodeLimits::new`], [`PacketType`], [`ReasonCode::from_u8`] and the 3.x return code
//! mappings, [`ReasonCode::allowed_in`], constructors such as [`Publish::new`], the [`topic`]
//! syntax checks, the MQTT 5 property identifiers in [`property_id`] and, behind the
//! `tokio-codec` feature, [`MqttCodec`] (a `tokio_util::codec` Decoder/Encoder).

#[cfg(feature = "tokio-codec")]
mod codec;
mod decode;
mod encode;
mod error;
mod ext;
pub mod packet;
mod props;
mod reader;
pub mod topic;
mod utf8;
mod wire;

#[cfg(feature = "tokio-codec")]
pub use codec::{CodecError, MqttCodec};
pub use decode::{check, decode_from, DecodeLimits};
pub use encode::PublishView;
pub use error::{DecodeError, EncodeError};
pub use ext::PacketType;
pub use packet::*;
pub use props::id as property_id;
pub use utf8::{Utf8Error, Utf8Str};

/// The largest remaining length the protocol can express (268,435,455 bytes).
pub const MAX_REMAINING_LENGTH: usize = props::MAX_VAR_INT as usize;

#[cfg(test)]
mod tests;
