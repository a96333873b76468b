//! Encoding: [`Packet::encoded_len`] and [`Packet::encode`] into a caller-owned `BytesMut`. The
//! remaining length is computed first, so the buffer is reserved once and written front to back;
//! on error the buffer is truncated back to its previous length.

use bytes::{BufMut, BytesMut};

use crate::props::MAX_VAR_INT;
use crate::props::{DeliveryProps, Props};
use crate::wire::{put_binary, put_str, put_var_int, var_int_bytes, var_int_len};
use crate::{packet::*, EncodeError, PacketType};

/// Remaining length of a PUBACK-like packet for MQTT 5 (3.4.2.1: reason code and properties
/// omitted when possible).
#[inline]
fn pub_response_len(rc: ReasonCode, props: &AckProperties, v5: bool) -> (usize, usize) {
    if !v5 {
        return (2, 0);
    }
    let plen = props.len();
    if plen == 0 {
        (if rc == ReasonCode::Success { 2 } else { 3 }, 0)
    } else {
        (3 + var_int_len(plen) + plen, plen)
    }
}

/// Remaining length of DISCONNECT / AUTH for MQTT 5 (reason code and properties omitted when
/// possible).
#[inline]
fn short_len(rc: ReasonCode, plen: usize) -> (usize, usize) {
    if plen == 0 {
        (if rc == ReasonCode::Success { 0 } else { 1 }, 0)
    } else {
        (1 + var_int_len(plen) + plen, plen)
    }
}

/// `n` plus, for MQTT 5, a property list of `plen()` bytes with its length prefix; returns the
/// remaining length and the property length.
#[inline]
fn with_props(n: usize, v5: bool, plen: impl FnOnce() -> usize) -> (usize, usize) {
    if v5 {
        let plen = plen();
        (n + var_int_len(plen) + plen, plen)
    } else {
        (n, 0)
    }
}

impl Publish {
    /// The number of bytes [`Publish::encode`] writes for `version` (fixed header included): the
    /// same as [`Packet::encoded_len`] of this PUBLISH, without wrapping it in a [`Packet`].
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        let n = 2 + self.topic.len() + self.payload.len() + packet_id_len(self.qos);
        let (n, _) = with_props(n, version.is_v5(), || self.properties.len());
        1 + var_int_len(n) + n
    }

    /// Appends this PUBLISH, encoded for `version`, to `buf` (what [`Packet::encode`] does for
    /// it, without moving it into a [`Packet`] first: the hot path of a broker).
    #[inline]
    pub fn encode(&self, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
        publish(self, version.is_v5(), buf)
    }
}

impl Packet {
    /// The remaining length (the body after the fixed header) of this packet for `version`.
    #[inline]
    fn remaining_len(&self, version: ProtocolVersion) -> usize {
        self.lens(version).0
    }

    /// The remaining length and the length of the packet's (first) property list, without its
    /// length prefix (0 for 3.x), so that [`Packet::encode`] computes each once.
    fn lens(&self, version: ProtocolVersion) -> (usize, usize) {
        let v5 = version.is_v5();
        match self {
            Packet::Connect(c) => {
                let cv5 = c.protocol.is_v5();
                let name = if c.protocol == ProtocolVersion::V3_1 {
                    8
                } else {
                    6
                };
                let mut n = name + 1 + 1 + 2 + 2 + c.client_id.len();
                let plen = if cv5 { c.properties.len() } else { 0 };
                if cv5 {
                    n += var_int_len(plen) + plen;
                }
                if let Some(w) = &c.will {
                    if cv5 {
                        n += w.properties.wire_len();
                    }
                    n += 2 + w.topic.len() + 2 + w.payload.len();
                }
                if let Some(u) = &c.username {
                    n += 2 + u.len();
                }
                if let Some(p) = &c.password {
                    n += 2 + p.len();
                }
                (n, plen)
            }
            Packet::ConnAck(c) => with_props(2, v5, || c.properties.len()),
            Packet::Publish(p) => {
                let n = 2 + p.topic.len() + p.payload.len() + packet_id_len(p.qos);
                with_props(n, v5, || p.properties.len())
            }
            Packet::PubAck(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::PubRec(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::PubRel(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::PubComp(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::Subscribe(s) => {
                let n = 2 + s.filters.iter().map(|f| 3 + f.filter.len()).sum::<usize>();
                with_props(n, v5, || s.properties.len())
            }
            Packet::SubAck(s) => with_props(2 + s.reason_codes.len(), v5, || s.properties.len()),
            Packet::Unsubscribe(u) => {
                let n = 2 + u.filters.iter().map(|f| 2 + f.len()).sum::<usize>();
                with_props(n, v5, || u.properties.len())
            }
            Packet::UnsubAck(u) => {
                if v5 {
                    with_props(2 + u.reason_codes.len(), v5, || u.properties.len())
                } else {
                    (2, 0)
                }
            }
            Packet::PingReq | Packet::PingResp => (0, 0),
            Packet::Disconnect(d) => {
                if v5 {
                    short_len(d.reason_code, d.properties.len())
                } else {
                    (0, 0)
                }
            }
            Packet::Auth(a) => short_len(a.reason_code, a.properties.len()),
        }
    }

    /// The number of bytes [`Packet::encode`] writes for `version` (fixed header included).
    /// CONNECT is sized for its own `protocol`.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        let n = self.remaining_len(version);
        1 + var_int_len(n) + n
    }

    /// Appends this packet, encoded for `version`, to `buf`. CONNECT is encoded for its own
    /// `protocol`. On error nothing is appended.
    ///
    /// For MQTT 3.x the fields that do not exist on the wire (properties, reason codes of
    /// PUBACK-like packets, DISCONNECT and UNSUBACK) are ignored, and CONNACK and SUBACK reason
    /// codes are mapped to 3.x return codes (see [`ReasonCode::to_v3_connack`] and
    /// [`ReasonCode::to_v3_suback`]).
    #[inline]
    pub fn encode(&self, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Packet::Publish(p) => publish(p, version.is_v5(), buf),
            _ => self.encode_other(version, buf),
        }
    }

    /// [`Packet::encode`] of every packet but PUBLISH.
    #[inline(never)]
    fn encode_other(
        &self,
        version: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = buf.len();
        let res = self.encode_inner(version, buf);
        if res.is_err() {
            buf.truncate(start);
        }
        res
    }

    fn encode_inner(
        &self,
        version: ProtocolVersion,
        buf: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let v5 = version.is_v5();
        let (remaining, plen) = self.lens(version);
        let packet = self.packet_type();
        let mut byte1 = (packet as u8) << 4;
        match self {
            Packet::PubRel(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => byte1 |= 0b0010,
            Packet::Auth(_) if !v5 => return Err(EncodeError::NotInVersion { packet, version }),
            _ => {}
        }
        buf.reserve(1 + var_int_len(remaining) + remaining);
        buf.put_u8(byte1);
        put_var_int(buf, remaining)?;
        match self {
            Packet::Connect(c) => connect(c, plen, buf),
            Packet::ConnAck(c) => {
                if c.session_present && c.reason_code != ReasonCode::Success {
                    return Err(EncodeError::ReasonCodeNotAllowed {
                        packet,
                        code: c.reason_code,
                    });
                }
                buf.put_u8(u8::from(c.session_present));
                if v5 {
                    check_rc(packet, c.reason_code)?;
                    buf.put_u8(c.reason_code as u8);
                    c.properties.write_len(buf, plen)
                } else {
                    buf.put_u8(c.reason_code.to_v3_connack());
                    Ok(())
                }
            }
            Packet::Publish(p) => publish(p, v5, buf),
            Packet::PubAck(p) => pub_response(
                buf,
                packet,
                p.packet_id,
                p.reason_code,
                &p.properties,
                v5,
                plen,
            ),
            Packet::PubRec(p) => pub_response(
                buf,
                packet,
                p.packet_id,
                p.reason_code,
                &p.properties,
                v5,
                plen,
            ),
            Packet::PubRel(p) => pub_response(
                buf,
                packet,
                p.packet_id,
                p.reason_code,
                &p.properties,
                v5,
                plen,
            ),
            Packet::PubComp(p) => pub_response(
                buf,
                packet,
                p.packet_id,
                p.reason_code,
                &p.properties,
                v5,
                plen,
            ),
            Packet::Subscribe(s) => {
                put_packet_id(buf, s.packet_id)?;
                if s.filters.is_empty() {
                    return Err(EncodeError::EmptyPayload(packet));
                }
                if v5 {
                    s.properties.write_len(buf, plen)?;
                }
                for f in &s.filters {
                    put_str(buf, &f.filter)?;
                    let o = &f.options;
                    let mut b = o.qos as u8;
                    if v5 {
                        b |= (u8::from(o.no_local) << 2)
                            | (u8::from(o.retain_as_published) << 3)
                            | (o.retain_handling.as_u8() << 4);
                    }
                    buf.put_u8(b);
                }
                Ok(())
            }
            Packet::SubAck(s) => {
                put_packet_id(buf, s.packet_id)?;
                if s.reason_codes.is_empty() {
                    return Err(EncodeError::EmptyPayload(packet));
                }
                if v5 {
                    s.properties.write_len(buf, plen)?;
                    for &rc in &s.reason_codes {
                        check_rc(packet, rc)?;
                        buf.put_u8(rc as u8);
                    }
                } else {
                    for &rc in &s.reason_codes {
                        buf.put_u8(rc.to_v3_suback());
                    }
                }
                Ok(())
            }
            Packet::Unsubscribe(u) => {
                put_packet_id(buf, u.packet_id)?;
                if u.filters.is_empty() {
                    return Err(EncodeError::EmptyPayload(packet));
                }
                if v5 {
                    u.properties.write_len(buf, plen)?;
                }
                for f in &u.filters {
                    put_str(buf, f)?;
                }
                Ok(())
            }
            Packet::UnsubAck(u) => {
                put_packet_id(buf, u.packet_id)?;
                if v5 {
                    if u.reason_codes.is_empty() {
                        return Err(EncodeError::EmptyPayload(packet));
                    }
                    u.properties.write_len(buf, plen)?;
                    for &rc in &u.reason_codes {
                        check_rc(packet, rc)?;
                        buf.put_u8(rc as u8);
                    }
                }
                Ok(())
            }
            Packet::PingReq | Packet::PingResp => Ok(()),
            Packet::Disconnect(d) => {
                if v5 && remaining > 0 {
                    check_rc(packet, d.reason_code)?;
                    buf.put_u8(d.reason_code as u8);
                    if remaining > 1 {
                        d.properties.write_len(buf, plen)?;
                    }
                }
                Ok(())
            }
            Packet::Auth(a) => {
                check_rc(packet, a.reason_code)?;
                if remaining > 0 {
                    buf.put_u8(a.reason_code as u8);
                    if remaining > 1 {
                        a.properties.write_len(buf, plen)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Bytes of the packet identifier of a PUBLISH: none at QoS 0.
#[inline]
fn packet_id_len(qos: QoS) -> usize {
    if qos == QoS::AtMostOnce {
        0
    } else {
        2
    }
}

/// PUBLISH, the hot path: lengths computed once and every check done before the first byte is
/// written, one `reserve`, then straight writes. On error `buf` is left as it was.
#[inline]
fn publish(p: &Publish, v5: bool, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let head = PublishHead {
        dup: p.dup,
        qos: p.qos,
        retain: p.retain,
        topic: p.topic.as_bytes(),
        packet_id: p.packet_id,
    };
    publish_parts(&head, v5.then_some(&p.properties), &p.payload, buf)
}

/// The fixed part of a PUBLISH: flags, topic and packet id.
struct PublishHead<'a> {
    dup: bool,
    qos: QoS,
    retain: bool,
    topic: &'a [u8],
    packet_id: u16,
}

/// Encodes a PUBLISH from its parts; `props` is `Some` for MQTT 5.
#[inline]
fn publish_parts(
    h: &PublishHead<'_>,
    props: Option<&impl Props>,
    payload: &[u8],
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let plen = props.map_or(0, |p| p.len());
    let topic = h.topic;
    let mut remaining = 2 + topic.len() + payload.len() + packet_id_len(h.qos);
    if props.is_some() {
        remaining += var_int_len(plen) + plen;
    }
    if remaining > MAX_VAR_INT as usize {
        return Err(EncodeError::PacketTooLarge(remaining));
    }
    let topic_len =
        u16::try_from(topic.len()).map_err(|_| EncodeError::FieldTooLong(topic.len()))?;
    let qos = h.qos != QoS::AtMostOnce;
    if qos && h.packet_id == 0 {
        return Err(EncodeError::ZeroPacketId);
    }
    // At most 4 bytes of remaining length: reserving 5 more than the body is always enough.
    buf.reserve(5 + remaining);
    let start = buf.len();
    let byte1 = ((PacketType::Publish as u8) << 4)
        | (u8::from(h.dup) << 3)
        | ((h.qos as u8) << 1)
        | u8::from(h.retain);
    // The fixed header and the topic length in as few writes as possible.
    if remaining < 0x80 {
        buf.put_u32(u32::from(byte1) << 24 | (remaining as u32) << 16 | u32::from(topic_len));
    } else if remaining < 0x4000 {
        buf.put_u8(byte1);
        buf.put_u32(
            ((remaining as u32) & 0x7F | 0x80) << 24
                | ((remaining >> 7) as u32) << 16
                | u32::from(topic_len),
        );
    } else {
        let (rl, rl_len) = var_int_bytes(remaining);
        buf.put_u8(byte1);
        buf.put_slice(&rl[..rl_len]);
        buf.put_u16(topic_len);
    }
    buf.put_slice(topic);
    if qos {
        buf.put_u16(h.packet_id);
    }
    if let Some(props) = props {
        if plen == 0 {
            buf.put_u8(0);
        } else {
            let (pl, pl_len) = var_int_bytes(plen);
            buf.put_slice(&pl[..pl_len]);
            if let Err(e) = props.put(buf) {
                buf.truncate(start);
                return Err(e);
            }
        }
    }
    buf.put_slice(payload);
    Ok(())
}

/// A PUBLISH encoded from borrowed parts: what a broker sends each subscriber of one shared
/// message, without building a [`Publish`] (and cloning its properties) per delivery. The
/// message's own MQTT 5 properties are used as they are, except the three that differ per
/// delivery, which are given here.
#[derive(Debug, Clone, Copy)]
pub struct PublishView<'a> {
    /// DUP flag.
    pub dup: bool,
    /// QoS of this delivery.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name (empty when a known topic alias replaces it).
    pub topic: &'a str,
    /// Packet identifier (QoS 1 and 2).
    pub packet_id: u16,
    /// The message's properties (MQTT 5); their message expiry interval, topic alias and
    /// subscription identifiers are ignored in favour of the three fields below.
    pub properties: &'a PublishProperties,
    /// Message Expiry Interval left for this delivery.
    pub message_expiry_interval: Option<u32>,
    /// Topic alias for this connection.
    pub topic_alias: Option<u16>,
    /// Subscription identifiers of the subscriptions this delivery matched.
    pub subscription_identifiers: &'a [u32],
    /// Application payload.
    pub payload: &'a [u8],
}

impl PublishView<'_> {
    fn props(&self) -> DeliveryProps<'_> {
        DeliveryProps {
            base: self.properties,
            message_expiry_interval: self.message_expiry_interval,
            topic_alias: self.topic_alias,
            subscription_identifiers: self.subscription_identifiers,
        }
    }

    /// The number of bytes [`PublishView::encode`] writes for `version`.
    pub fn encoded_len(&self, version: ProtocolVersion) -> usize {
        let n = 2 + self.topic.len() + self.payload.len() + packet_id_len(self.qos);
        let (n, _) = with_props(n, version.is_v5(), || self.props().len());
        1 + var_int_len(n) + n
    }

    /// Appends this PUBLISH, encoded for `version`, to `buf`: the same bytes as the
    /// equivalent [`Publish`].
    #[inline]
    pub fn encode(&self, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let head = PublishHead {
            dup: self.dup,
            qos: self.qos,
            retain: self.retain,
            topic: self.topic.as_bytes(),
            packet_id: self.packet_id,
        };
        let props = self.props();
        publish_parts(&head, version.is_v5().then_some(&props), self.payload, buf)
    }
}

#[inline]
fn check_rc(packet: PacketType, code: ReasonCode) -> Result<(), EncodeError> {
    if code.allowed_in(packet) {
        Ok(())
    } else {
        Err(EncodeError::ReasonCodeNotAllowed { packet, code })
    }
}

#[inline]
fn put_packet_id(buf: &mut BytesMut, id: u16) -> Result<(), EncodeError> {
    if id == 0 {
        return Err(EncodeError::ZeroPacketId);
    }
    buf.put_u16(id);
    Ok(())
}

fn pub_response(
    buf: &mut BytesMut,
    packet: PacketType,
    id: u16,
    rc: ReasonCode,
    props: &AckProperties,
    v5: bool,
    plen: usize,
) -> Result<(), EncodeError> {
    put_packet_id(buf, id)?;
    if v5 {
        check_rc(packet, rc)?;
        if plen > 0 || rc != ReasonCode::Success {
            buf.put_u8(rc as u8);
        }
        if plen > 0 {
            props.write_len(buf, plen)?;
        }
    }
    Ok(())
}

fn connect(c: &Connect, plen: usize, buf: &mut BytesMut) -> Result<(), EncodeError> {
    let v5 = c.protocol.is_v5();
    if c.bridge && v5 {
        return Err(EncodeError::NotInVersion {
            packet: PacketType::Connect,
            version: c.protocol,
        });
    }
    match c.protocol {
        ProtocolVersion::V3_1 => put_binary(buf, b"MQIsdp")?,
        _ => put_binary(buf, b"MQTT")?,
    }
    buf.put_u8(c.protocol.level() | if c.bridge { 0x80 } else { 0 });
    let mut flags = 0u8;
    if c.clean_start {
        flags |= 0x02;
    }
    if let Some(w) = &c.will {
        flags |= 0x04 | ((w.qos as u8) << 3);
        if w.retain {
            flags |= 0x20;
        }
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    if c.username.is_some() {
        flags |= 0x80;
    }
    buf.put_u8(flags);
    buf.put_u16(c.keep_alive);
    if v5 {
        c.properties.write_len(buf, plen)?;
    }
    put_str(buf, &c.client_id)?;
    if let Some(w) = &c.will {
        if v5 {
            w.properties.write(buf)?;
        }
        put_str(buf, &w.topic)?;
        put_binary(buf, &w.payload)?;
    }
    if let Some(u) = &c.username {
        put_str(buf, u)?;
    }
    if let Some(p) = &c.password {
        put_binary(buf, p)?;
    }
    Ok(())
}
