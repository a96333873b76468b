//! The optional `tokio-util` adapter (feature `tokio-codec`): [`MqttCodec`] frames a byte stream
//! into [`Packet`]s with [`crate::check`] and [`Packet::decode`], and encodes packets with
//! [`Packet::encode`].

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::{check, DecodeError, DecodeLimits, EncodeError, Packet, ProtocolVersion};

/// A `tokio_util::codec` Decoder/Encoder for one connection.
///
/// The protocol version belongs to the connection: it starts as given to [`MqttCodec::new`] and
/// is switched to the CONNECT's version whenever a CONNECT is decoded (server side) or encoded
/// (client side).
#[derive(Debug, Clone)]
pub struct MqttCodec {
    version: ProtocolVersion,
    limits: DecodeLimits,
}

impl MqttCodec {
    /// A codec starting at `version` with `limits`.
    pub fn new(version: ProtocolVersion, limits: DecodeLimits) -> Self {
        MqttCodec { version, limits }
    }

    /// The connection's current protocol version.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// Sets the connection's protocol version.
    pub fn set_version(&mut self, version: ProtocolVersion) {
        self.version = version;
    }

    /// The decode limits.
    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// Sets the decode limits (e.g. after CONNECT announced a Maximum Packet Size).
    pub fn set_limits(&mut self, limits: DecodeLimits) {
        self.limits = limits;
    }
}

/// Errors of [`MqttCodec`]: a protocol error or an I/O error of the underlying stream.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer sent an invalid packet.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The packet could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Decoder for MqttCodec {
    type Item = Packet;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, CodecError> {
        match check(src, &self.limits)? {
            Some(n) => {
                let packet = Packet::decode(src.split_to(n).freeze(), self.version)?;
                if let Packet::Connect(c) = &packet {
                    self.version = c.protocol;
                }
                Ok(Some(packet))
            }
            None => {
                // Reserve for the rest of the frame once its header is known.
                Ok(None)
            }
        }
    }
}

impl Encoder<&Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        if let Packet::Connect(c) = item {
            self.version = c.protocol;
        }
        item.encode(self.version, dst)?;
        Ok(())
    }
}

impl Encoder<Packet> for MqttCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Packet, dst: &mut BytesMut) -> Result<(), CodecError> {
        Encoder::<&Packet>::encode(self, &item, dst)
    }
}
