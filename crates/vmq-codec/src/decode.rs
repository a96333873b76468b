//! Decoding: [`crate::check`] (is a whole frame buffered?) and [`Packet::decode`] (one frame into
//! a [`Packet`]), with every validation rule of the three protocol versions. Strings, topics,
//! payloads and binary properties are slices of the frame.

use bytes::{Buf, Bytes, BytesMut};

use crate::reader::Reader;
use crate::topic::{valid_topic_filter_bytes, valid_topic_name_bytes, SHARE_PREFIX};
use crate::wire::fixed_header;
use crate::{packet::*, props, DecodeError, PacketType, Utf8Str};

/// Limits applied by [`check`] before a frame is buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeLimits {
    /// Largest accepted frame in bytes, fixed header included; 0 means unlimited (the protocol
    /// maximum of 268,435,460 bytes still applies).
    pub max_packet_size: u32,
}

impl DecodeLimits {
    /// Limits with `max_packet_size` (0 = unlimited).
    pub const fn new(max_packet_size: u32) -> Self {
        DecodeLimits { max_packet_size }
    }
}

/// Is a whole frame at the start of `buf`? `Ok(Some(frame_len))` with the frame's length (fixed
/// header included), `Ok(None)` when more bytes are needed, or an error when the fixed header is
/// malformed (remaining length over 4 bytes, packet type 0) or the frame would exceed
/// `limits.max_packet_size`; the size is refused as soon as the fixed header is readable, before
/// the body is buffered.
#[inline]
pub fn check(buf: &[u8], limits: &DecodeLimits) -> Result<Option<usize>, DecodeError> {
    let Some(h) = fixed_header(buf)? else {
        return Ok(None);
    };
    if h.byte1 >> 4 == 0 {
        return Err(DecodeError::InvalidPacketType(0));
    }
    let size = h.header_len + h.remaining_len;
    if limits.max_packet_size != 0 && size > limits.max_packet_size as usize {
        return Err(DecodeError::PacketTooLarge {
            size,
            max: limits.max_packet_size,
        });
    }
    Ok(if buf.len() >= size { Some(size) } else { None })
}

/// Splits the next frame off `buf` and decodes it: `Ok(None)` when no whole frame is buffered
/// yet. The frame's memory is shared by the returned packet (no copy).
pub fn decode_from(
    buf: &mut BytesMut,
    version: ProtocolVersion,
    limits: &DecodeLimits,
) -> Result<Option<Packet>, DecodeError> {
    match check(buf, limits)? {
        Some(n) => Packet::decode(buf.split_to(n).freeze(), version).map(Some),
        None => Ok(None),
    }
}

#[inline]
fn qos(v: u8) -> Result<QoS, DecodeError> {
    QoS::from_u8(v).ok_or(DecodeError::InvalidQoS)
}

#[inline]
fn packet_id(r: &mut Reader<'_>) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(DecodeError::ZeroPacketId),
        id => Ok(id),
    }
}

#[inline]
fn reason(r: &mut Reader<'_>, packet: PacketType) -> Result<ReasonCode, DecodeError> {
    let code = r.u8()?;
    match ReasonCode::from_u8(code) {
        Some(rc) if rc.allowed_in(packet) => Ok(rc),
        _ => Err(DecodeError::InvalidReasonCode { packet, code }),
    }
}

#[inline]
fn topic_filter(r: &mut Reader<'_>) -> Result<Utf8Str, DecodeError> {
    let f = r.string()?;
    if !valid_topic_filter_bytes(f.as_bytes()) {
        return Err(DecodeError::InvalidTopicFilter);
    }
    Ok(f)
}

impl Packet {
    /// Decodes exactly one frame (fixed header included), as delimited by [`check`]. `version`
    /// is the connection's protocol version; CONNECT is decoded whatever it is, since it carries
    /// its own. Topic, strings, payload and binary properties are slices of `frame`.
    pub fn decode(frame: Bytes, version: ProtocolVersion) -> Result<Packet, DecodeError> {
        let h = fixed_header(&frame)?.ok_or(DecodeError::Truncated)?;
        let expected = h.header_len + h.remaining_len;
        if expected != frame.len() {
            return Err(DecodeError::FrameLength {
                expected,
                actual: frame.len(),
            });
        }
        let ptype = h.byte1 >> 4;
        let flags = h.byte1 & 0x0F;
        let packet = PacketType::from_u8(ptype).ok_or(DecodeError::InvalidPacketType(ptype))?;
        let required_flags = match packet {
            PacketType::Publish => flags,
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            PacketType::Auth if !version.is_v5() => {
                return Err(DecodeError::InvalidPacketType(ptype))
            }
            _ => 0,
        };
        if flags != required_flags {
            return Err(DecodeError::InvalidHeaderFlags { packet, flags });
        }
        let v5 = version.is_v5();
        if packet == PacketType::Publish {
            return publish(frame, h.header_len, flags, v5);
        }
        let mut r = Reader::new(&frame, h.header_len, frame.len());
        let p = match packet {
            PacketType::Connect => Packet::Connect(Box::new(connect(&mut r)?)),
            PacketType::ConnAck => Packet::ConnAck(Box::new(connack(&mut r, v5)?)),
            PacketType::Publish => return Err(DecodeError::InvalidPacketType(ptype)),
            PacketType::PubAck => {
                let (packet_id, reason_code, properties) = pub_response(&mut r, packet, v5)?;
                Packet::PubAck(PubAck {
                    packet_id,
                    reason_code,
                    properties,
                })
            }
            PacketType::PubRec => {
                let (packet_id, reason_code, properties) = pub_response(&mut r, packet, v5)?;
                Packet::PubRec(PubRec {
                    packet_id,
                    reason_code,
                    properties,
                })
            }
            PacketType::PubRel => {
                let (packet_id, reason_code, properties) = pub_response(&mut r, packet, v5)?;
                Packet::PubRel(PubRel {
                    packet_id,
                    reason_code,
                    properties,
                })
            }
            PacketType::PubComp => {
                let (packet_id, reason_code, properties) = pub_response(&mut r, packet, v5)?;
                Packet::PubComp(PubComp {
                    packet_id,
                    reason_code,
                    properties,
                })
            }
            PacketType::Subscribe => Packet::Subscribe(subscribe(&mut r, v5)?),
            PacketType::SubAck => Packet::SubAck(suback(&mut r, v5)?),
            PacketType::Unsubscribe => Packet::Unsubscribe(unsubscribe(&mut r, v5)?),
            PacketType::UnsubAck => Packet::UnsubAck(unsuback(&mut r, v5)?),
            PacketType::PingReq => Packet::PingReq,
            PacketType::PingResp => Packet::PingResp,
            PacketType::Disconnect => Packet::Disconnect(Box::new(disconnect(&mut r, v5)?)),
            PacketType::Auth => Packet::Auth(Box::new(auth(&mut r)?)),
        };
        r.finish()?;
        Ok(p)
    }
}

fn connect(r: &mut Reader<'_>) -> Result<Connect, DecodeError> {
    let name = r.raw_string()?;
    let level = r.u8()?;
    let bridge = level & 0x80 != 0;
    let protocol = match level & 0x7F {
        3 => ProtocolVersion::V3_1,
        4 => ProtocolVersion::V3_1_1,
        5 if !bridge => ProtocolVersion::V5,
        _ => return Err(DecodeError::UnsupportedProtocolVersion(level)),
    };
    let expected_name: &[u8] = match protocol {
        ProtocolVersion::V3_1 => b"MQIsdp",
        _ => b"MQTT",
    };
    if name != expected_name {
        return Err(DecodeError::InvalidProtocolName);
    }
    let flags = r.u8()?;
    // MQTT 3.1 did not reserve bit 0; 3.1.1 and 5.0 do (MQTT-3.1.2-3).
    if flags & 0x01 != 0 && protocol != ProtocolVersion::V3_1 {
        return Err(DecodeError::ReservedConnectFlag);
    }
    let clean_start = flags & 0x02 != 0;
    let will_flag = flags & 0x04 != 0;
    let will_qos = qos((flags >> 3) & 0x03)?;
    let will_retain = flags & 0x20 != 0;
    let password_flag = flags & 0x40 != 0;
    let username_flag = flags & 0x80 != 0;
    if !will_flag && (will_qos != QoS::AtMostOnce || will_retain) {
        return Err(DecodeError::InvalidWillFlags);
    }
    let v5 = protocol.is_v5();
    if !v5 && password_flag && !username_flag {
        return Err(DecodeError::PasswordWithoutUsername);
    }
    let keep_alive = r.u16()?;
    let properties = if v5 {
        props::connect(r)?
    } else {
        ConnectProperties::default()
    };
    let client_id = r.string()?;
    if !v5 && !clean_start && client_id.is_empty() {
        return Err(DecodeError::EmptyClientId);
    }
    let will = if will_flag {
        let properties = if v5 {
            props::will(r)?
        } else {
            WillProperties::default()
        };
        let topic = r.string()?;
        if !valid_topic_name_bytes(topic.as_bytes()) {
            return Err(DecodeError::InvalidTopicName);
        }
        let payload = r.binary()?;
        Some(LastWill {
            topic,
            payload,
            qos: will_qos,
            retain: will_retain,
            properties,
        })
    } else {
        None
    };
    let username = if username_flag {
        Some(r.string()?)
    } else {
        None
    };
    let password = if password_flag {
        Some(r.binary()?)
    } else {
        None
    };
    Ok(Connect {
        protocol,
        bridge,
        clean_start,
        keep_alive,
        client_id,
        will,
        username,
        password,
        properties,
    })
}

fn connack(r: &mut Reader<'_>, v5: bool) -> Result<ConnAck, DecodeError> {
    let flags = r.u8()?;
    if flags & 0xFE != 0 {
        return Err(DecodeError::InvalidConnAckFlags);
    }
    let session_present = flags & 0x01 != 0;
    let reason_code = if v5 {
        reason(r, PacketType::ConnAck)?
    } else {
        let code = r.u8()?;
        ReasonCode::from_v3_connack(code).ok_or(DecodeError::InvalidReasonCode {
            packet: PacketType::ConnAck,
            code,
        })?
    };
    if session_present && reason_code != ReasonCode::Success {
        return Err(DecodeError::InvalidConnAckFlags);
    }
    let properties = if v5 {
        props::connack(r)?
    } else {
        ConnAckProperties::default()
    };
    Ok(ConnAck {
        session_present,
        reason_code,
        properties,
    })
}

/// PUBLISH, the hot path: takes the frame by value so that the payload is the frame itself,
/// advanced past the variable header (no reference count traffic), and builds the [`Packet`] in
/// place.
#[inline]
fn publish(frame: Bytes, header_len: usize, flags: u8, v5: bool) -> Result<Packet, DecodeError> {
    let dup = flags & 0x08 != 0;
    let qos = qos((flags >> 1) & 0x03)?;
    let retain = flags & 0x01 != 0;
    if dup && qos == QoS::AtMostOnce {
        return Err(DecodeError::DupWithQoS0);
    }
    let mut r = Reader::new(&frame, header_len, frame.len());
    let (topic, wildcard) = r.topic()?;
    let packet_id = if qos == QoS::AtMostOnce {
        0
    } else {
        packet_id(&mut r)?
    };
    let properties = if v5 {
        props::publish(&mut r)?
    } else {
        PublishProperties::default()
    };
    if topic.is_empty() {
        if !v5 {
            return Err(DecodeError::InvalidTopicName);
        }
        if properties.topic_alias.is_none() {
            return Err(DecodeError::MissingTopic);
        }
    } else if wildcard {
        return Err(DecodeError::InvalidTopicName);
    }
    let at = r.pos();
    let mut payload = frame;
    payload.advance(at);
    Ok(Packet::Publish(Box::new(Publish {
        dup,
        qos,
        retain,
        topic,
        packet_id,
        properties,
        payload,
    })))
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP: packet id, then for MQTT 5 an optional reason code and
/// optional properties (3.4.2.1: both may be omitted when the remaining length is 2).
fn pub_response(
    r: &mut Reader<'_>,
    packet: PacketType,
    v5: bool,
) -> Result<(u16, ReasonCode, AckProperties), DecodeError> {
    let id = packet_id(r)?;
    if !v5 || r.is_empty() {
        return Ok((id, ReasonCode::Success, AckProperties::default()));
    }
    let rc = reason(r, packet)?;
    let props = if r.is_empty() {
        AckProperties::default()
    } else {
        props::ack(r, packet)?
    };
    Ok((id, rc, props))
}

fn subscribe(r: &mut Reader<'_>, v5: bool) -> Result<Subscribe, DecodeError> {
    let packet_id = packet_id(r)?;
    let properties = if v5 {
        props::subscribe(r)?
    } else {
        SubscribeProperties::default()
    };
    let mut filters = Vec::with_capacity(r.count_entries(1));
    while !r.is_empty() {
        let filter = topic_filter(r)?;
        let o = r.u8()?;
        let options = if v5 {
            if o & 0xC0 != 0 {
                return Err(DecodeError::ReservedSubscriptionBits);
            }
            let retain_handling = RetainHandling::from_u8((o >> 4) & 0x03)
                .ok_or(DecodeError::InvalidRetainHandling)?;
            let no_local = o & 0x04 != 0;
            if no_local && filter.as_bytes().starts_with(SHARE_PREFIX.as_bytes()) {
                return Err(DecodeError::NoLocalOnSharedSubscription);
            }
            SubscriptionOptions {
                qos: qos(o & 0x03)?,
                no_local,
                retain_as_published: o & 0x08 != 0,
                retain_handling,
            }
        } else {
            if o & 0xFC != 0 {
                return Err(DecodeError::ReservedSubscriptionBits);
            }
            SubscriptionOptions::new(qos(o)?)
        };
        filters.push(SubscribeFilter { filter, options });
    }
    if filters.is_empty() {
        return Err(DecodeError::EmptyPayload(PacketType::Subscribe));
    }
    Ok(Subscribe {
        packet_id,
        filters,
        properties,
    })
}

fn suback(r: &mut Reader<'_>, v5: bool) -> Result<SubAck, DecodeError> {
    const P: PacketType = PacketType::SubAck;
    let packet_id = packet_id(r)?;
    let properties = if v5 {
        props::ack(r, P)?
    } else {
        AckProperties::default()
    };
    let mut reason_codes = Vec::with_capacity(r.remaining());
    while !r.is_empty() {
        reason_codes.push(if v5 {
            reason(r, P)?
        } else {
            let code = r.u8()?;
            ReasonCode::from_v3_suback(code)
                .ok_or(DecodeError::InvalidReasonCode { packet: P, code })?
        });
    }
    if reason_codes.is_empty() {
        return Err(DecodeError::EmptyPayload(P));
    }
    Ok(SubAck {
        packet_id,
        reason_codes,
        properties,
    })
}

fn unsubscribe(r: &mut Reader<'_>, v5: bool) -> Result<Unsubscribe, DecodeError> {
    let packet_id = packet_id(r)?;
    let properties = if v5 {
        props::unsubscribe(r)?
    } else {
        UnsubscribeProperties::default()
    };
    let mut filters = Vec::with_capacity(r.count_entries(0));
    while !r.is_empty() {
        filters.push(topic_filter(r)?);
    }
    if filters.is_empty() {
        return Err(DecodeError::EmptyPayload(PacketType::Unsubscribe));
    }
    Ok(Unsubscribe {
        packet_id,
        filters,
        properties,
    })
}

fn unsuback(r: &mut Reader<'_>, v5: bool) -> Result<UnsubAck, DecodeError> {
    const P: PacketType = PacketType::UnsubAck;
    let packet_id = packet_id(r)?;
    if !v5 {
        return Ok(UnsubAck::new(packet_id, Vec::new()));
    }
    let properties = props::ack(r, P)?;
    let mut reason_codes = Vec::with_capacity(r.remaining());
    while !r.is_empty() {
        reason_codes.push(reason(r, P)?);
    }
    if reason_codes.is_empty() {
        return Err(DecodeError::EmptyPayload(P));
    }
    Ok(UnsubAck {
        packet_id,
        reason_codes,
        properties,
    })
}

/// DISCONNECT: MQTT 3.x has no body; MQTT 5 may omit the reason code (remaining length 0,
/// meaning Success) and the properties (remaining length 1), 3.14.2.1.
fn disconnect(r: &mut Reader<'_>, v5: bool) -> Result<Disconnect, DecodeError> {
    if !v5 || r.is_empty() {
        return Ok(Disconnect::default());
    }
    let reason_code = reason(r, PacketType::Disconnect)?;
    let properties = if r.is_empty() {
        DisconnectProperties::default()
    } else {
        props::disconnect(r)?
    };
    Ok(Disconnect {
        reason_code,
        properties,
    })
}

/// AUTH (MQTT 5 only): like DISCONNECT, remaining length 0 means Success without properties
/// (3.15.2.1).
fn auth(r: &mut Reader<'_>) -> Result<Auth, DecodeError> {
    if r.is_empty() {
        return Ok(Auth::new(ReasonCode::Success));
    }
    let reason_code = reason(r, PacketType::Auth)?;
    let properties = if r.is_empty() {
        AuthProperties::default()
    } else {
        props::auth(r)?
    };
    Ok(Auth {
        reason_code,
        properties,
    })
}
