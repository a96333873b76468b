//! Encoding: [`Packet::encoded_len`] and [`Packet::encode`] into a caller-owned `BytesMut`. The
//! remaining length is computed first, so the buffer is reserved once and written front to back;
//! on error the buffer is truncated back to its previous length.

use bytes::{BufMut, BytesMut};

use crate::props::Props;
use crate::wire::{put_binary, put_str, put_var_int, var_int_len};
use crate::{packet::*, EncodeError, PacketType};

/// Remaining length of a PUBACK-like packet for MQTT 5 (3.4.2.1: reason code and properties
/// omitted when possible).
#[inline]
fn pub_response_len(rc: ReasonCode, props: &AckProperties, v5: bool) -> usize {
    if !v5 {
        return 2;
    }
    let plen = props.len();
    if plen == 0 {
        if rc == ReasonCode::Success {
            2
        } else {
            3
        }
    } else {
        3 + var_int_len(plen) + plen
    }
}

/// Remaining length of DISCONNECT / AUTH for MQTT 5 (reason code and properties omitted when
/// possible).
#[inline]
fn short_len(rc: ReasonCode, plen: usize) -> usize {
    if plen == 0 {
        if rc == ReasonCode::Success {
            0
        } else {
            1
        }
    } else {
        1 + var_int_len(plen) + plen
    }
}

impl Packet {
    /// The remaining length (the body after the fixed header) of this packet for `version`.
    fn remaining_len(&self, version: ProtocolVersion) -> usize {
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
                if cv5 {
                    n += c.properties.wire_len();
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
                n
            }
            Packet::ConnAck(c) => 2 + if v5 { c.properties.wire_len() } else { 0 },
            Packet::Publish(p) => {
                let mut n = 2 + p.topic.len() + p.payload.len();
                if p.qos != QoS::AtMostOnce {
                    n += 2;
                }
                if v5 {
                    n += p.properties.wire_len();
                }
                n
            }
            Packet::PubAck(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::PubRec(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::PubRel(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::PubComp(p) => pub_response_len(p.reason_code, &p.properties, v5),
            Packet::Subscribe(s) => {
                let mut n = 2 + s.filters.iter().map(|f| 3 + f.filter.len()).sum::<usize>();
                if v5 {
                    n += s.properties.wire_len();
                }
                n
            }
            Packet::SubAck(s) => {
                2 + s.reason_codes.len() + if v5 { s.properties.wire_len() } else { 0 }
            }
            Packet::Unsubscribe(u) => {
                let mut n = 2 + u.filters.iter().map(|f| 2 + f.len()).sum::<usize>();
                if v5 {
                    n += u.properties.wire_len();
                }
                n
            }
            Packet::UnsubAck(u) => {
                if v5 {
                    2 + u.properties.wire_len() + u.reason_codes.len()
                } else {
                    2
                }
            }
            Packet::PingReq | Packet::PingResp => 0,
            Packet::Disconnect(d) => {
                if v5 {
                    short_len(d.reason_code, d.properties.len())
                } else {
                    0
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
    pub fn encode(&self, version: ProtocolVersion, buf: &mut BytesMut) -> Result<(), EncodeError> {
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
        let remaining = self.remaining_len(version);
        let packet = self.packet_type();
        let mut byte1 = (packet as u8) << 4;
        match self {
            Packet::Publish(p) => {
                byte1 |= (u8::from(p.dup) << 3) | ((p.qos as u8) << 1) | u8::from(p.retain)
            }
            Packet::PubRel(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => byte1 |= 0b0010,
            Packet::Auth(_) if !v5 => return Err(EncodeError::NotInVersion { packet, version }),
            _ => {}
        }
        buf.reserve(1 + var_int_len(remaining) + remaining);
        buf.put_u8(byte1);
        put_var_int(buf, remaining)?;
        match self {
            Packet::Connect(c) => connect(c, buf),
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
                    c.properties.write(buf)
                } else {
                    buf.put_u8(c.reason_code.to_v3_connack());
                    Ok(())
                }
            }
            Packet::Publish(p) => {
                put_str(buf, &p.topic)?;
                if p.qos != QoS::AtMostOnce {
                    put_packet_id(buf, p.packet_id)?;
                }
                if v5 {
                    p.properties.write(buf)?;
                }
                buf.put_slice(&p.payload);
                Ok(())
            }
            Packet::PubAck(p) => {
                pub_response(buf, packet, p.packet_id, p.reason_code, &p.properties, v5)
            }
            Packet::PubRec(p) => {
                pub_response(buf, packet, p.packet_id, p.reason_code, &p.properties, v5)
            }
            Packet::PubRel(p) => {
                pub_response(buf, packet, p.packet_id, p.reason_code, &p.properties, v5)
            }
            Packet::PubComp(p) => {
                pub_response(buf, packet, p.packet_id, p.reason_code, &p.properties, v5)
            }
            Packet::Subscribe(s) => {
                put_packet_id(buf, s.packet_id)?;
                if s.filters.is_empty() {
                    return Err(EncodeError::EmptyPayload(packet));
                }
                if v5 {
                    s.properties.write(buf)?;
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
                    s.properties.write(buf)?;
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
                    u.properties.write(buf)?;
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
                    u.properties.write(buf)?;
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
                        d.properties.write(buf)?;
                    }
                }
                Ok(())
            }
            Packet::Auth(a) => {
                check_rc(packet, a.reason_code)?;
                if remaining > 0 {
                    buf.put_u8(a.reason_code as u8);
                    if remaining > 1 {
                        a.properties.write(buf)?;
                    }
                }
                Ok(())
            }
        }
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
) -> Result<(), EncodeError> {
    put_packet_id(buf, id)?;
    if v5 {
        check_rc(packet, rc)?;
        let plen = props.len();
        if plen > 0 || rc != ReasonCode::Success {
            buf.put_u8(rc as u8);
        }
        if plen > 0 {
            props.write(buf)?;
        }
    }
    Ok(())
}

fn connect(c: &Connect, buf: &mut BytesMut) -> Result<(), EncodeError> {
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
        c.properties.write(buf)?;
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
