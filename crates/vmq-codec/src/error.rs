//! The codec's two error enums: [`DecodeError`] (what was wrong with received bytes, and which
//! reason code the server must answer with) and [`EncodeError`] (why a packet cannot be put on
//! the wire).

use thiserror::Error;

use crate::{PacketType, ProtocolVersion, ReasonCode};

/// Why received bytes are not a valid MQTT packet.
///
/// Each variant says who is at fault (always the peer: the codec only reports what it received)
/// and [`DecodeError::reason_code`] gives the MQTT 5 reason code the server must send in its
/// CONNACK or DISCONNECT (for MQTT 3.x, where only CONNACK has return codes, the server closes the
/// connection, except for [`DecodeError::UnsupportedProtocolVersion`] and
/// [`DecodeError::InvalidProtocolName`], which are answered with CONNACK return code 1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The remaining length (or another variable byte integer) has a continuation bit in its
    /// fourth byte (MQTT-1.5.5 / 2.1.4). Reason code 0x81 (Malformed Packet).
    #[error("malformed variable byte integer (more than 4 bytes)")]
    MalformedVarInt,
    /// The frame is larger than the configured maximum packet size. Reason code 0x95 (Packet Too
    /// Large). Reported by [`crate::check`] as soon as the fixed header is readable.
    #[error("packet of {size} bytes exceeds the maximum packet size of {max} bytes")]
    PacketTooLarge {
        /// Whole frame size (fixed header included).
        size: usize,
        /// The configured limit.
        max: u32,
    },
    /// The packet type nibble is 0, or 15 (AUTH) on an MQTT 3.x connection. Reason code 0x81.
    #[error("invalid packet type {0}")]
    InvalidPacketType(u8),
    /// The fixed header's reserved flag bits are not the ones the specification requires
    /// (MQTT-2.2.2-1, MQTT-2.2.2-2). Reason code 0x81.
    #[error("invalid fixed header flags {flags:#06b} for {packet}")]
    InvalidHeaderFlags {
        /// The packet type.
        packet: PacketType,
        /// The received low nibble.
        flags: u8,
    },
    /// The frame given to [`crate::Packet::decode`] is not exactly one frame (its length differs
    /// from fixed header + remaining length). Reason code 0x81. A caller using [`crate::check`]
    /// never sees this.
    #[error("frame length {actual} does not match the encoded length {expected}")]
    FrameLength {
        /// Length announced by the fixed header.
        expected: usize,
        /// Length of the buffer given.
        actual: usize,
    },
    /// A length prefix or fixed-size field runs past the end of the structure that encloses it
    /// (the remaining length or a property length). Reason code 0x81.
    #[error("truncated packet: a field runs past the end of its enclosing structure")]
    Truncated,
    /// Bytes are left over after the last field of a structure. Reason code 0x81.
    #[error("{0} unexpected trailing bytes")]
    TrailingBytes(usize),
    /// A string is not well-formed UTF-8 or contains U+0000 (MQTT-1.5.4-1, MQTT-1.5.4-2).
    /// Reason code 0x81.
    #[error("invalid UTF-8 string")]
    InvalidUtf8,
    /// The CONNECT protocol name is neither `MQTT` nor `MQIsdp`, or does not match the level
    /// (MQTT-3.1.2-1). Reason code 0x84 (CONNACK return code 1 for MQTT 3.x).
    #[error("invalid protocol name")]
    InvalidProtocolName,
    /// The CONNECT protocol level is not 3, 4, 5, 131 or 132 (MQTT-3.1.2-2). Reason code 0x84
    /// (CONNACK return code 1 for MQTT 3.x).
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolVersion(u8),
    /// The CONNECT flags' reserved bit is set (MQTT-3.1.2-3). Reason code 0x81.
    #[error("reserved CONNECT flag is set")]
    ReservedConnectFlag,
    /// Will QoS or will retain set without the will flag (MQTT-3.1.2-11, -13, -15). Reason code
    /// 0x81.
    #[error("will QoS or retain set without the will flag")]
    InvalidWillFlags,
    /// MQTT 3.x: the password flag is set without the user name flag (MQTT-3.1.2-22). Reason
    /// code 0x81.
    #[error("password flag set without user name flag")]
    PasswordWithoutUsername,
    /// MQTT 3.x CONNECT with an empty client identifier and clean session 0 (MQTT-3.1.3-8).
    /// Reason code 0x85 (Client Identifier Not Valid; CONNACK return code 2 for MQTT 3.x).
    #[error("empty client identifier without clean session")]
    EmptyClientId,
    /// A QoS field has the value 3 (MQTT-3.1.2-14, MQTT-3.3.1-4, MQTT-3.8.3-4). Reason code 0x81.
    #[error("invalid QoS 3")]
    InvalidQoS,
    /// PUBLISH with QoS 0 and the DUP flag set (MQTT-3.3.1-2). Reason code 0x82 (Protocol Error).
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupWithQoS0,
    /// A packet identifier that must be non-zero is 0 (MQTT-2.2.1-3). Reason code 0x82.
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// A topic name is empty (without a topic alias) or contains a wildcard (MQTT-3.3.2-2,
    /// MQTT-4.7.3-1). Reason code 0x90 (Topic Name Invalid); an empty topic without a topic alias
    /// on MQTT 5 is [`DecodeError::MissingTopic`] instead.
    #[error("invalid topic name")]
    InvalidTopicName,
    /// MQTT 5 PUBLISH with an empty topic name and no topic alias (3.3.2.3.4).
    /// Reason code 0x82.
    #[error("empty topic name without topic alias")]
    MissingTopic,
    /// A topic filter breaks the wildcard rules (MQTT-4.7.1-1, -2, -3), is empty (MQTT-4.7.3-1),
    /// or is a malformed shared subscription `$share/<group>/<filter>` (MQTT-4.8.2-1, -2).
    /// Reason code 0x8F (Topic Filter Invalid).
    #[error("invalid topic filter")]
    InvalidTopicFilter,
    /// SUBSCRIBE, UNSUBSCRIBE or SUBACK/UNSUBACK without any entry (MQTT-3.8.3-3,
    /// MQTT-3.10.3-2). Reason code 0x82.
    #[error("{0} without payload entries")]
    EmptyPayload(PacketType),
    /// Reserved bits of a subscription options byte are set (MQTT-3.8.3-5). Reason code 0x81.
    #[error("reserved subscription option bits set")]
    ReservedSubscriptionBits,
    /// Retain handling has the value 3 (MQTT 5, 3.8.3.1). Reason code 0x82.
    #[error("invalid retain handling 3")]
    InvalidRetainHandling,
    /// No Local set on a shared subscription (MQTT-3.8.3-4). Reason code 0x82.
    #[error("no local set on a shared subscription")]
    NoLocalOnSharedSubscription,
    /// A reason code (or MQTT 3.x return code) that is unknown or not allowed in this packet.
    /// Reason code 0x81.
    #[error("reason code {code:#04x} not allowed in {packet}")]
    InvalidReasonCode {
        /// The packet type.
        packet: PacketType,
        /// The received byte.
        code: u8,
    },
    /// CONNACK with reserved acknowledge flags set (MQTT-3.2.2-1), or with session present set
    /// alongside a non-zero return code (MQTT-3.2.2-4, MQTT-3.2.2-6). Reason code 0x81.
    #[error("invalid CONNACK acknowledge flags")]
    InvalidConnAckFlags,
    /// An MQTT 5 property identifier that does not exist or is not allowed in this packet
    /// (2.2.2.2). Reason code 0x81.
    #[error("property {id:#04x} not allowed in {packet}")]
    InvalidProperty {
        /// The packet type (CONNECT also for will properties).
        packet: PacketType,
        /// The property identifier.
        id: u32,
    },
    /// A property that may appear at most once appears twice (2.2.2.2). Reason code 0x82.
    #[error("property {0:#04x} appears more than once")]
    DuplicateProperty(u8),
    /// A property has a value the specification forbids (Receive Maximum 0, Maximum Packet Size
    /// 0, a boolean other than 0/1, Subscription Identifier 0, a wildcard in Response Topic,
    /// Authentication Data without Authentication Method, ...). Reason code 0x82.
    #[error("invalid value for property {0:#04x}")]
    InvalidPropertyValue(u8),
    /// Topic Alias 0 (MQTT-3.3.2-8). Reason code 0x94 (Topic Alias Invalid).
    #[error("topic alias 0")]
    InvalidTopicAlias,
}

impl DecodeError {
    /// The reason code the server must send (in CONNACK when the error is in CONNECT, in
    /// DISCONNECT otherwise) before closing the connection.
    pub fn reason_code(&self) -> ReasonCode {
        use DecodeError::*;
        match self {
            PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            InvalidProtocolName | UnsupportedProtocolVersion(_) => {
                ReasonCode::UnsupportedProtocolVersion
            }
            DupWithQoS0
            | ZeroPacketId
            | MissingTopic
            | EmptyPayload(_)
            | InvalidRetainHandling
            | NoLocalOnSharedSubscription
            | DuplicateProperty(_)
            | InvalidPropertyValue(_) => ReasonCode::ProtocolError,
            EmptyClientId => ReasonCode::ClientIdentifierNotValid,
            InvalidTopicName => ReasonCode::TopicNameInvalid,
            InvalidTopicFilter => ReasonCode::TopicFilterInvalid,
            InvalidTopicAlias => ReasonCode::TopicAliasInvalid,
            MalformedVarInt
            | InvalidPacketType(_)
            | InvalidHeaderFlags { .. }
            | FrameLength { .. }
            | Truncated
            | TrailingBytes(_)
            | InvalidUtf8
            | ReservedConnectFlag
            | InvalidWillFlags
            | PasswordWithoutUsername
            | InvalidQoS
            | ReservedSubscriptionBits
            | InvalidReasonCode { .. }
            | InvalidConnAckFlags
            | InvalidProperty { .. } => ReasonCode::MalformedPacket,
        }
    }
}

/// Why a packet cannot be encoded. The caller (session, client) built an invalid packet; the
/// output buffer is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The remaining length would exceed 268,435,455 bytes (the 4-byte variable byte integer
    /// maximum).
    #[error("packet too large to encode: remaining length {0}")]
    PacketTooLarge(usize),
    /// A string or binary field is longer than 65,535 bytes.
    #[error("string or binary field of {0} bytes exceeds 65535")]
    FieldTooLong(usize),
    /// A packet identifier that must be non-zero is 0.
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// SUBSCRIBE, UNSUBSCRIBE, SUBACK or MQTT 5 UNSUBACK without entries.
    #[error("{0} without payload entries")]
    EmptyPayload(PacketType),
    /// The packet or feature does not exist in this protocol version (AUTH on 3.x, the bridge
    /// bit on 5.0).
    #[error("{packet} cannot be encoded for {version:?}")]
    NotInVersion {
        /// The packet type.
        packet: PacketType,
        /// The connection's version.
        version: ProtocolVersion,
    },
    /// The reason code is not one the specification allows in this packet.
    #[error("reason code {code:?} not allowed in {packet}")]
    ReasonCodeNotAllowed {
        /// The packet type.
        packet: PacketType,
        /// The reason code.
        code: ReasonCode,
    },
    /// A Subscription Identifier of 0 or above 268,435,455.
    #[error("subscription identifier {0} out of range")]
    SubscriptionIdOutOfRange(u32),
}
