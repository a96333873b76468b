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
            None => Ok(None),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Connect, Publish};

    #[test]
    fn decoder_learns_the_version_from_connect_and_splits_frames() {
        let mut codec = MqttCodec::new(ProtocolVersion::V3_1_1, DecodeLimits::default());
        let mut buf = BytesMut::new();
        let connect = Packet::Connect(Box::new(Connect::new(ProtocolVersion::V5, "c")));
        let mut client = MqttCodec::new(ProtocolVersion::V3_1_1, DecodeLimits::default());
        client.encode(&connect, &mut buf).unwrap();
        assert_eq!(client.version(), ProtocolVersion::V5);
        let publish = Packet::Publish(Publish::new("t", &b"x"[..]));
        client.encode(publish.clone(), &mut buf).unwrap();
        let last = buf.split_off(buf.len() - 1);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(connect));
        assert_eq!(codec.version(), ProtocolVersion::V5);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        buf.unsplit(last);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(publish));
    }

    #[test]
    fn decoder_refuses_oversized_frames() {
        let mut codec = MqttCodec::new(ProtocolVersion::V5, DecodeLimits::new(16));
        let mut buf = BytesMut::from(&[0x30u8, 0x7F][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(CodecError::Decode(DecodeError::PacketTooLarge { .. }))
        ));
    }
}
