//! MQTT 5 properties (2.2.2): identifiers and wire types, decoding with the "allowed in this
//! packet" and "at most once" rules, and length/encoding of each properties struct.

use bytes::{BufMut, Bytes, BytesMut};

use crate::reader::Reader;
use crate::wire::{put_binary, put_str, put_var_int, var_int_len};
use crate::{packet::*, DecodeError, EncodeError, PacketType, Utf8Str};

/// Property identifiers (2.2.2.2).
#[allow(missing_docs)]
pub mod id {
    pub const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
    pub const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
    pub const CONTENT_TYPE: u8 = 0x03;
    pub const RESPONSE_TOPIC: u8 = 0x08;
    pub const CORRELATION_DATA: u8 = 0x09;
    pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
    pub const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
    pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub const AUTHENTICATION_METHOD: u8 = 0x15;
    pub const AUTHENTICATION_DATA: u8 = 0x16;
    pub const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
    pub const WILL_DELAY_INTERVAL: u8 = 0x18;
    pub const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
    pub const RESPONSE_INFORMATION: u8 = 0x1A;
    pub const SERVER_REFERENCE: u8 = 0x1C;
    pub const REASON_STRING: u8 = 0x1F;
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    pub const TOPIC_ALIAS: u8 = 0x23;
    pub const MAXIMUM_QOS: u8 = 0x24;
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    pub const USER_PROPERTY: u8 = 0x26;
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
    pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
    pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;
}
use id::*;

/// Largest value of a variable byte integer.
pub(crate) const MAX_VAR_INT: u32 = 268_435_455;

// ---------------------------------------------------------------------------------------------
// Decoding

/// Reads the property length and returns a reader bounded by it.
#[inline]
fn props_reader<'a>(r: &mut Reader<'a>) -> Result<Reader<'a>, DecodeError> {
    let len = r.var_int()?;
    r.sub(len as usize)
}

/// Consumes a zero property length, the common case, and says whether it did.
#[inline]
fn no_props(r: &mut Reader<'_>) -> bool {
    if r.peek() == Some(0) {
        r.skip_byte();
        true
    } else {
        false
    }
}

/// Reads one property identifier; identifiers are variable byte integers (2.2.2.2) but all
/// defined ones fit in a byte.
#[inline]
fn prop_id(r: &mut Reader<'_>, packet: PacketType) -> Result<u8, DecodeError> {
    let id = r.var_int()?;
    u8::try_from(id).map_err(|_| DecodeError::InvalidProperty { packet, id })
}

#[inline]
fn set<T>(slot: &mut Option<T>, v: T, id: u8) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::DuplicateProperty(id));
    }
    *slot = Some(v);
    Ok(())
}

#[inline]
fn bool_byte(r: &mut Reader<'_>, id: u8) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::InvalidPropertyValue(id)),
    }
}

#[inline]
fn nonzero_u16(r: &mut Reader<'_>, id: u8) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(DecodeError::InvalidPropertyValue(id)),
        v => Ok(v),
    }
}

#[inline]
fn nonzero_u32(r: &mut Reader<'_>, id: u8) -> Result<u32, DecodeError> {
    match r.u32()? {
        0 => Err(DecodeError::InvalidPropertyValue(id)),
        v => Ok(v),
    }
}

#[inline]
fn user_property(r: &mut Reader<'_>) -> Result<UserProperty, DecodeError> {
    Ok((r.string()?, r.string()?))
}

#[inline]
fn response_topic(r: &mut Reader<'_>) -> Result<Utf8Str, DecodeError> {
    let t = r.string()?;
    if !crate::topic::valid_topic_name_bytes(t.as_bytes()) {
        return Err(DecodeError::InvalidPropertyValue(RESPONSE_TOPIC));
    }
    Ok(t)
}

#[inline]
fn payload_format(r: &mut Reader<'_>) -> Result<u8, DecodeError> {
    match r.u8()? {
        v @ (0 | 1) => Ok(v),
        _ => Err(DecodeError::InvalidPropertyValue(PAYLOAD_FORMAT_INDICATOR)),
    }
}

fn auth_pair(method: &Option<Utf8Str>, data: &Option<Bytes>) -> Result<(), DecodeError> {
    if data.is_some() && method.is_none() {
        return Err(DecodeError::InvalidPropertyValue(AUTHENTICATION_DATA));
    }
    Ok(())
}

/// CONNECT properties.
pub(crate) fn connect(r: &mut Reader<'_>) -> Result<ConnectProperties, DecodeError> {
    if no_props(r) {
        return Ok(ConnectProperties::default());
    }
    const P: PacketType = PacketType::Connect;
    let mut r = props_reader(r)?;
    let mut p = ConnectProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            SESSION_EXPIRY_INTERVAL => {
                let v = r.u32()?;
                set(&mut p.session_expiry_interval, v, SESSION_EXPIRY_INTERVAL)?
            }
            RECEIVE_MAXIMUM => {
                let v = nonzero_u16(&mut r, RECEIVE_MAXIMUM)?;
                set(&mut p.receive_maximum, v, RECEIVE_MAXIMUM)?
            }
            MAXIMUM_PACKET_SIZE => {
                let v = nonzero_u32(&mut r, MAXIMUM_PACKET_SIZE)?;
                set(&mut p.maximum_packet_size, v, MAXIMUM_PACKET_SIZE)?
            }
            TOPIC_ALIAS_MAXIMUM => {
                let v = r.u16()?;
                set(&mut p.topic_alias_maximum, v, TOPIC_ALIAS_MAXIMUM)?
            }
            REQUEST_RESPONSE_INFORMATION => {
                let v = bool_byte(&mut r, REQUEST_RESPONSE_INFORMATION)?;
                set(
                    &mut p.request_response_information,
                    v,
                    REQUEST_RESPONSE_INFORMATION,
                )?
            }
            REQUEST_PROBLEM_INFORMATION => {
                let v = bool_byte(&mut r, REQUEST_PROBLEM_INFORMATION)?;
                set(
                    &mut p.request_problem_information,
                    v,
                    REQUEST_PROBLEM_INFORMATION,
                )?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            AUTHENTICATION_METHOD => {
                let v = r.string()?;
                set(&mut p.authentication_method, v, AUTHENTICATION_METHOD)?
            }
            AUTHENTICATION_DATA => {
                let v = r.binary()?;
                set(&mut p.authentication_data, v, AUTHENTICATION_DATA)?
            }
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    auth_pair(&p.authentication_method, &p.authentication_data)?;
    Ok(p)
}

/// Will properties (in the CONNECT payload).
pub(crate) fn will(r: &mut Reader<'_>) -> Result<WillProperties, DecodeError> {
    if no_props(r) {
        return Ok(WillProperties::default());
    }
    const P: PacketType = PacketType::Connect;
    let mut r = props_reader(r)?;
    let mut p = WillProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            WILL_DELAY_INTERVAL => {
                let v = r.u32()?;
                set(&mut p.will_delay_interval, v, WILL_DELAY_INTERVAL)?
            }
            PAYLOAD_FORMAT_INDICATOR => {
                let v = payload_format(&mut r)?;
                set(&mut p.payload_format_indicator, v, PAYLOAD_FORMAT_INDICATOR)?
            }
            MESSAGE_EXPIRY_INTERVAL => {
                let v = r.u32()?;
                set(&mut p.message_expiry_interval, v, MESSAGE_EXPIRY_INTERVAL)?
            }
            CONTENT_TYPE => {
                let v = r.string()?;
                set(&mut p.content_type, v, CONTENT_TYPE)?
            }
            RESPONSE_TOPIC => {
                let v = response_topic(&mut r)?;
                set(&mut p.response_topic, v, RESPONSE_TOPIC)?
            }
            CORRELATION_DATA => {
                let v = r.binary()?;
                set(&mut p.correlation_data, v, CORRELATION_DATA)?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    Ok(p)
}

/// CONNACK properties.
pub(crate) fn connack(r: &mut Reader<'_>) -> Result<ConnAckProperties, DecodeError> {
    if no_props(r) {
        return Ok(ConnAckProperties::default());
    }
    const P: PacketType = PacketType::ConnAck;
    let mut r = props_reader(r)?;
    let mut p = ConnAckProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            SESSION_EXPIRY_INTERVAL => {
                let v = r.u32()?;
                set(&mut p.session_expiry_interval, v, SESSION_EXPIRY_INTERVAL)?
            }
            RECEIVE_MAXIMUM => {
                let v = nonzero_u16(&mut r, RECEIVE_MAXIMUM)?;
                set(&mut p.receive_maximum, v, RECEIVE_MAXIMUM)?
            }
            MAXIMUM_QOS => {
                let v = match r.u8()? {
                    0 => QoS::AtMostOnce,
                    1 => QoS::AtLeastOnce,
                    _ => return Err(DecodeError::InvalidPropertyValue(MAXIMUM_QOS)),
                };
                set(&mut p.maximum_qos, v, MAXIMUM_QOS)?
            }
            RETAIN_AVAILABLE => {
                let v = bool_byte(&mut r, RETAIN_AVAILABLE)?;
                set(&mut p.retain_available, v, RETAIN_AVAILABLE)?
            }
            MAXIMUM_PACKET_SIZE => {
                let v = nonzero_u32(&mut r, MAXIMUM_PACKET_SIZE)?;
                set(&mut p.maximum_packet_size, v, MAXIMUM_PACKET_SIZE)?
            }
            ASSIGNED_CLIENT_IDENTIFIER => {
                let v = r.string()?;
                set(
                    &mut p.assigned_client_identifier,
                    v,
                    ASSIGNED_CLIENT_IDENTIFIER,
                )?
            }
            TOPIC_ALIAS_MAXIMUM => {
                let v = r.u16()?;
                set(&mut p.topic_alias_maximum, v, TOPIC_ALIAS_MAXIMUM)?
            }
            REASON_STRING => {
                let v = r.string()?;
                set(&mut p.reason_string, v, REASON_STRING)?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            WILDCARD_SUBSCRIPTION_AVAILABLE => {
                let v = bool_byte(&mut r, WILDCARD_SUBSCRIPTION_AVAILABLE)?;
                set(
                    &mut p.wildcard_subscription_available,
                    v,
                    WILDCARD_SUBSCRIPTION_AVAILABLE,
                )?
            }
            SUBSCRIPTION_IDENTIFIER_AVAILABLE => {
                let v = bool_byte(&mut r, SUBSCRIPTION_IDENTIFIER_AVAILABLE)?;
                set(
                    &mut p.subscription_identifiers_available,
                    v,
                    SUBSCRIPTION_IDENTIFIER_AVAILABLE,
                )?
            }
            SHARED_SUBSCRIPTION_AVAILABLE => {
                let v = bool_byte(&mut r, SHARED_SUBSCRIPTION_AVAILABLE)?;
                set(
                    &mut p.shared_subscription_available,
                    v,
                    SHARED_SUBSCRIPTION_AVAILABLE,
                )?
            }
            SERVER_KEEP_ALIVE => {
                let v = r.u16()?;
                set(&mut p.server_keep_alive, v, SERVER_KEEP_ALIVE)?
            }
            RESPONSE_INFORMATION => {
                let v = r.string()?;
                set(&mut p.response_information, v, RESPONSE_INFORMATION)?
            }
            SERVER_REFERENCE => {
                let v = r.string()?;
                set(&mut p.server_reference, v, SERVER_REFERENCE)?
            }
            AUTHENTICATION_METHOD => {
                let v = r.string()?;
                set(&mut p.authentication_method, v, AUTHENTICATION_METHOD)?
            }
            AUTHENTICATION_DATA => {
                let v = r.binary()?;
                set(&mut p.authentication_data, v, AUTHENTICATION_DATA)?
            }
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    auth_pair(&p.authentication_method, &p.authentication_data)?;
    Ok(p)
}

/// PUBLISH properties.
pub(crate) fn publish(r: &mut Reader<'_>) -> Result<PublishProperties, DecodeError> {
    if no_props(r) {
        return Ok(PublishProperties::default());
    }
    const P: PacketType = PacketType::Publish;
    let mut r = props_reader(r)?;
    let mut p = PublishProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            PAYLOAD_FORMAT_INDICATOR => {
                let v = payload_format(&mut r)?;
                set(&mut p.payload_format_indicator, v, PAYLOAD_FORMAT_INDICATOR)?
            }
            MESSAGE_EXPIRY_INTERVAL => {
                let v = r.u32()?;
                set(&mut p.message_expiry_interval, v, MESSAGE_EXPIRY_INTERVAL)?
            }
            TOPIC_ALIAS => {
                let v = match r.u16()? {
                    0 => return Err(DecodeError::InvalidTopicAlias),
                    v => v,
                };
                set(&mut p.topic_alias, v, TOPIC_ALIAS)?
            }
            RESPONSE_TOPIC => {
                let v = response_topic(&mut r)?;
                set(&mut p.response_topic, v, RESPONSE_TOPIC)?
            }
            CORRELATION_DATA => {
                let v = r.binary()?;
                set(&mut p.correlation_data, v, CORRELATION_DATA)?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            SUBSCRIPTION_IDENTIFIER => match r.var_int()? {
                0 => return Err(DecodeError::InvalidPropertyValue(SUBSCRIPTION_IDENTIFIER)),
                v => p.subscription_identifiers.push(v),
            },
            CONTENT_TYPE => {
                let v = r.string()?;
                set(&mut p.content_type, v, CONTENT_TYPE)?
            }
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    Ok(p)
}

/// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK.
pub(crate) fn ack(r: &mut Reader<'_>, packet: PacketType) -> Result<AckProperties, DecodeError> {
    if no_props(r) {
        return Ok(AckProperties::default());
    }
    let mut r = props_reader(r)?;
    let mut p = AckProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, packet)? {
            REASON_STRING => {
                let v = r.string()?;
                set(&mut p.reason_string, v, REASON_STRING)?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet,
                    id: id.into(),
                })
            }
        }
    }
    Ok(p)
}

/// SUBSCRIBE properties.
pub(crate) fn subscribe(r: &mut Reader<'_>) -> Result<SubscribeProperties, DecodeError> {
    if no_props(r) {
        return Ok(SubscribeProperties::default());
    }
    const P: PacketType = PacketType::Subscribe;
    let mut r = props_reader(r)?;
    let mut p = SubscribeProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            SUBSCRIPTION_IDENTIFIER => {
                let v = match r.var_int()? {
                    0 => return Err(DecodeError::InvalidPropertyValue(SUBSCRIPTION_IDENTIFIER)),
                    v => v,
                };
                set(&mut p.subscription_identifier, v, SUBSCRIPTION_IDENTIFIER)?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    Ok(p)
}

/// UNSUBSCRIBE properties.
pub(crate) fn unsubscribe(r: &mut Reader<'_>) -> Result<UnsubscribeProperties, DecodeError> {
    if no_props(r) {
        return Ok(UnsubscribeProperties::default());
    }
    const P: PacketType = PacketType::Unsubscribe;
    let mut r = props_reader(r)?;
    let mut p = UnsubscribeProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    Ok(p)
}

/// DISCONNECT properties.
pub(crate) fn disconnect(r: &mut Reader<'_>) -> Result<DisconnectProperties, DecodeError> {
    if no_props(r) {
        return Ok(DisconnectProperties::default());
    }
    const P: PacketType = PacketType::Disconnect;
    let mut r = props_reader(r)?;
    let mut p = DisconnectProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            SESSION_EXPIRY_INTERVAL => {
                let v = r.u32()?;
                set(&mut p.session_expiry_interval, v, SESSION_EXPIRY_INTERVAL)?
            }
            REASON_STRING => {
                let v = r.string()?;
                set(&mut p.reason_string, v, REASON_STRING)?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            SERVER_REFERENCE => {
                let v = r.string()?;
                set(&mut p.server_reference, v, SERVER_REFERENCE)?
            }
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    Ok(p)
}

/// AUTH properties.
pub(crate) fn auth(r: &mut Reader<'_>) -> Result<AuthProperties, DecodeError> {
    if no_props(r) {
        return Ok(AuthProperties::default());
    }
    const P: PacketType = PacketType::Auth;
    let mut r = props_reader(r)?;
    let mut p = AuthProperties::default();
    while !r.is_empty() {
        match prop_id(&mut r, P)? {
            AUTHENTICATION_METHOD => {
                let v = r.string()?;
                set(&mut p.authentication_method, v, AUTHENTICATION_METHOD)?
            }
            AUTHENTICATION_DATA => {
                let v = r.binary()?;
                set(&mut p.authentication_data, v, AUTHENTICATION_DATA)?
            }
            REASON_STRING => {
                let v = r.string()?;
                set(&mut p.reason_string, v, REASON_STRING)?
            }
            USER_PROPERTY => p.user_properties.push(user_property(&mut r)?),
            id => {
                return Err(DecodeError::InvalidProperty {
                    packet: P,
                    id: id.into(),
                })
            }
        }
    }
    auth_pair(&p.authentication_method, &p.authentication_data)?;
    Ok(p)
}

// ---------------------------------------------------------------------------------------------
// Encoding: `len()` is the size of the property list without its length prefix; `write()` puts
// the length prefix and the list.

/// A properties struct that can be encoded.
pub(crate) trait Props {
    /// Bytes of the property list, without the length prefix.
    fn len(&self) -> usize;
    /// Writes the properties (without the length prefix).
    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError>;

    /// Bytes of the property list with its length prefix.
    #[inline]
    fn wire_len(&self) -> usize {
        let n = self.len();
        var_int_len(n) + n
    }

    /// Writes the length prefix and the properties.
    #[inline]
    fn write(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.write_len(buf, self.len())
    }

    /// [`Props::write`] with the length already computed (`len == self.len()`).
    #[inline]
    fn write_len(&self, buf: &mut BytesMut, len: usize) -> Result<(), EncodeError> {
        put_var_int(buf, len)?;
        if len == 0 {
            return Ok(());
        }
        self.put(buf)
    }
}

#[inline]
fn l_u8<T>(v: &Option<T>) -> usize {
    if v.is_some() {
        2
    } else {
        0
    }
}
#[inline]
fn l_u16<T>(v: &Option<T>) -> usize {
    if v.is_some() {
        3
    } else {
        0
    }
}
#[inline]
fn l_u32<T>(v: &Option<T>) -> usize {
    if v.is_some() {
        5
    } else {
        0
    }
}
#[inline]
fn l_str(v: &Option<Utf8Str>) -> usize {
    v.as_ref().map_or(0, |s| 3 + s.len())
}
#[inline]
fn l_bin(v: &Option<Bytes>) -> usize {
    v.as_ref().map_or(0, |s| 3 + s.len())
}
#[inline]
fn l_user(v: &[UserProperty]) -> usize {
    v.iter().map(|(k, v)| 5 + k.len() + v.len()).sum()
}

#[inline]
fn w_u8(buf: &mut BytesMut, id: u8, v: Option<u8>) {
    if let Some(v) = v {
        buf.put_u8(id);
        buf.put_u8(v);
    }
}
#[inline]
fn w_bool(buf: &mut BytesMut, id: u8, v: Option<bool>) {
    w_u8(buf, id, v.map(u8::from))
}
#[inline]
fn w_u16(buf: &mut BytesMut, id: u8, v: Option<u16>) {
    if let Some(v) = v {
        buf.put_u8(id);
        buf.put_u16(v);
    }
}
#[inline]
fn w_u32(buf: &mut BytesMut, id: u8, v: Option<u32>) {
    if let Some(v) = v {
        buf.put_u8(id);
        buf.put_u32(v);
    }
}
#[inline]
fn w_str(buf: &mut BytesMut, id: u8, v: &Option<Utf8Str>) -> Result<(), EncodeError> {
    if let Some(v) = v {
        buf.put_u8(id);
        put_str(buf, v)?;
    }
    Ok(())
}
#[inline]
fn w_bin(buf: &mut BytesMut, id: u8, v: &Option<Bytes>) -> Result<(), EncodeError> {
    if let Some(v) = v {
        buf.put_u8(id);
        put_binary(buf, v)?;
    }
    Ok(())
}
#[inline]
fn w_user(buf: &mut BytesMut, v: &[UserProperty]) -> Result<(), EncodeError> {
    for (k, v) in v {
        buf.put_u8(USER_PROPERTY);
        put_str(buf, k)?;
        put_str(buf, v)?;
    }
    Ok(())
}
fn w_sub_id(buf: &mut BytesMut, v: u32) -> Result<(), EncodeError> {
    if v == 0 || v > MAX_VAR_INT {
        return Err(EncodeError::SubscriptionIdOutOfRange(v));
    }
    buf.put_u8(SUBSCRIPTION_IDENTIFIER);
    put_var_int(buf, v as usize)
}

impl Props for ConnectProperties {
    fn len(&self) -> usize {
        l_u32(&self.session_expiry_interval)
            + l_u16(&self.receive_maximum)
            + l_u32(&self.maximum_packet_size)
            + l_u16(&self.topic_alias_maximum)
            + l_u8(&self.request_response_information)
            + l_u8(&self.request_problem_information)
            + l_user(&self.user_properties)
            + l_str(&self.authentication_method)
            + l_bin(&self.authentication_data)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        w_u32(buf, SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        w_u16(buf, RECEIVE_MAXIMUM, self.receive_maximum);
        w_u32(buf, MAXIMUM_PACKET_SIZE, self.maximum_packet_size);
        w_u16(buf, TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum);
        w_bool(
            buf,
            REQUEST_RESPONSE_INFORMATION,
            self.request_response_information,
        );
        w_bool(
            buf,
            REQUEST_PROBLEM_INFORMATION,
            self.request_problem_information,
        );
        w_user(buf, &self.user_properties)?;
        w_str(buf, AUTHENTICATION_METHOD, &self.authentication_method)?;
        w_bin(buf, AUTHENTICATION_DATA, &self.authentication_data)
    }
}

impl Props for WillProperties {
    fn len(&self) -> usize {
        l_u32(&self.will_delay_interval)
            + l_u8(&self.payload_format_indicator)
            + l_u32(&self.message_expiry_interval)
            + l_str(&self.content_type)
            + l_str(&self.response_topic)
            + l_bin(&self.correlation_data)
            + l_user(&self.user_properties)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        w_u32(buf, WILL_DELAY_INTERVAL, self.will_delay_interval);
        w_u8(buf, PAYLOAD_FORMAT_INDICATOR, self.payload_format_indicator);
        w_u32(buf, MESSAGE_EXPIRY_INTERVAL, self.message_expiry_interval);
        w_str(buf, CONTENT_TYPE, &self.content_type)?;
        w_str(buf, RESPONSE_TOPIC, &self.response_topic)?;
        w_bin(buf, CORRELATION_DATA, &self.correlation_data)?;
        w_user(buf, &self.user_properties)
    }
}

impl Props for ConnAckProperties {
    fn len(&self) -> usize {
        l_u32(&self.session_expiry_interval)
            + l_u16(&self.receive_maximum)
            + l_u8(&self.maximum_qos)
            + l_u8(&self.retain_available)
            + l_u32(&self.maximum_packet_size)
            + l_str(&self.assigned_client_identifier)
            + l_u16(&self.topic_alias_maximum)
            + l_str(&self.reason_string)
            + l_user(&self.user_properties)
            + l_u8(&self.wildcard_subscription_available)
            + l_u8(&self.subscription_identifiers_available)
            + l_u8(&self.shared_subscription_available)
            + l_u16(&self.server_keep_alive)
            + l_str(&self.response_information)
            + l_str(&self.server_reference)
            + l_str(&self.authentication_method)
            + l_bin(&self.authentication_data)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        w_u32(buf, SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        w_u16(buf, RECEIVE_MAXIMUM, self.receive_maximum);
        w_u8(buf, MAXIMUM_QOS, self.maximum_qos.map(|q| q as u8));
        w_bool(buf, RETAIN_AVAILABLE, self.retain_available);
        w_u32(buf, MAXIMUM_PACKET_SIZE, self.maximum_packet_size);
        w_str(
            buf,
            ASSIGNED_CLIENT_IDENTIFIER,
            &self.assigned_client_identifier,
        )?;
        w_u16(buf, TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum);
        w_str(buf, REASON_STRING, &self.reason_string)?;
        w_user(buf, &self.user_properties)?;
        w_bool(
            buf,
            WILDCARD_SUBSCRIPTION_AVAILABLE,
            self.wildcard_subscription_available,
        );
        w_bool(
            buf,
            SUBSCRIPTION_IDENTIFIER_AVAILABLE,
            self.subscription_identifiers_available,
        );
        w_bool(
            buf,
            SHARED_SUBSCRIPTION_AVAILABLE,
            self.shared_subscription_available,
        );
        w_u16(buf, SERVER_KEEP_ALIVE, self.server_keep_alive);
        w_str(buf, RESPONSE_INFORMATION, &self.response_information)?;
        w_str(buf, SERVER_REFERENCE, &self.server_reference)?;
        w_str(buf, AUTHENTICATION_METHOD, &self.authentication_method)?;
        w_bin(buf, AUTHENTICATION_DATA, &self.authentication_data)
    }
}

impl PublishProperties {
    /// True when no property is set (the common case, checked before summing lengths).
    #[inline]
    fn is_empty(&self) -> bool {
        self.payload_format_indicator.is_none()
            && self.message_expiry_interval.is_none()
            && self.topic_alias.is_none()
            && self.response_topic.is_none()
            && self.correlation_data.is_none()
            && self.user_properties.is_empty()
            && self.subscription_identifiers.is_empty()
            && self.content_type.is_none()
    }

    /// These properties as the encoder writes them (a delivery of a message with exactly these).
    #[inline]
    fn as_delivered(&self) -> DeliveryProps<'_> {
        DeliveryProps {
            base: self,
            message_expiry_interval: self.message_expiry_interval,
            topic_alias: self.topic_alias,
            subscription_identifiers: &self.subscription_identifiers,
        }
    }
}

impl Props for PublishProperties {
    #[inline]
    fn len(&self) -> usize {
        if self.is_empty() {
            return 0;
        }
        self.as_delivered().len()
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.as_delivered().put(buf)
    }
}

/// The properties of one outgoing PUBLISH built from a shared message: the message's own,
/// with what differs per delivery (the expiry left, the topic alias, the subscription
/// identifiers) taken from here instead. Written in the same order as [`PublishProperties`].
pub(crate) struct DeliveryProps<'a> {
    pub(crate) base: &'a PublishProperties,
    pub(crate) message_expiry_interval: Option<u32>,
    pub(crate) topic_alias: Option<u16>,
    pub(crate) subscription_identifiers: &'a [u32],
}

impl Props for DeliveryProps<'_> {
    #[inline]
    fn len(&self) -> usize {
        let b = self.base;
        let own = if b.payload_format_indicator.is_none()
            && b.response_topic.is_none()
            && b.correlation_data.is_none()
            && b.user_properties.is_empty()
            && b.content_type.is_none()
        {
            0
        } else {
            l_u8(&b.payload_format_indicator)
                + l_str(&b.response_topic)
                + l_bin(&b.correlation_data)
                + l_user(&b.user_properties)
                + l_str(&b.content_type)
        };
        own + l_u32(&self.message_expiry_interval)
            + l_u16(&self.topic_alias)
            + self
                .subscription_identifiers
                .iter()
                .map(|&v| 1 + var_int_len(v as usize))
                .sum::<usize>()
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let b = self.base;
        w_u8(buf, PAYLOAD_FORMAT_INDICATOR, b.payload_format_indicator);
        w_u32(buf, MESSAGE_EXPIRY_INTERVAL, self.message_expiry_interval);
        w_u16(buf, TOPIC_ALIAS, self.topic_alias);
        w_str(buf, RESPONSE_TOPIC, &b.response_topic)?;
        w_bin(buf, CORRELATION_DATA, &b.correlation_data)?;
        w_user(buf, &b.user_properties)?;
        for &v in self.subscription_identifiers {
            w_sub_id(buf, v)?;
        }
        w_str(buf, CONTENT_TYPE, &b.content_type)
    }
}

impl Props for AckProperties {
    fn len(&self) -> usize {
        l_str(&self.reason_string) + l_user(&self.user_properties)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        w_str(buf, REASON_STRING, &self.reason_string)?;
        w_user(buf, &self.user_properties)
    }
}

impl Props for SubscribeProperties {
    fn len(&self) -> usize {
        self.subscription_identifier
            .map_or(0, |v| 1 + var_int_len(v as usize))
            + l_user(&self.user_properties)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        if let Some(v) = self.subscription_identifier {
            w_sub_id(buf, v)?;
        }
        w_user(buf, &self.user_properties)
    }
}

impl Props for UnsubscribeProperties {
    fn len(&self) -> usize {
        l_user(&self.user_properties)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        w_user(buf, &self.user_properties)
    }
}

impl Props for DisconnectProperties {
    fn len(&self) -> usize {
        l_u32(&self.session_expiry_interval)
            + l_str(&self.reason_string)
            + l_user(&self.user_properties)
            + l_str(&self.server_reference)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        w_u32(buf, SESSION_EXPIRY_INTERVAL, self.session_expiry_interval);
        w_str(buf, REASON_STRING, &self.reason_string)?;
        w_user(buf, &self.user_properties)?;
        w_str(buf, SERVER_REFERENCE, &self.server_reference)
    }
}

impl Props for AuthProperties {
    fn len(&self) -> usize {
        l_str(&self.authentication_method)
            + l_bin(&self.authentication_data)
            + l_str(&self.reason_string)
            + l_user(&self.user_properties)
    }

    fn put(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        w_str(buf, AUTHENTICATION_METHOD, &self.authentication_method)?;
        w_bin(buf, AUTHENTICATION_DATA, &self.authentication_data)?;
        w_str(buf, REASON_STRING, &self.reason_string)?;
        w_user(buf, &self.user_properties)
    }
}
