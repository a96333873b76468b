//! The compact hand-written binary encoding of stored values. Every value starts with a
//! version byte ([`FORMAT_VERSION`]); integers are big-endian; strings carry a `u16` length
//! and must be UTF-8; binary blobs (payload, correlation data, attributes) carry a `u32`
//! length. Decoding goes through a bounded reader: a lying length, a truncated value,
//! unknown flag bits, an invalid QoS or trailing bytes are an [`Error::Decode`], never a
//! panic or an over-read. Payloads decoded from a [`Bytes`] are slices of it (no copy).

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::types::{StoredMessage, StoredProperties, StoredSession, StoredSubscription};

/// The version byte that starts every encoded value (and the store's format version).
pub const FORMAT_VERSION: u8 = 1;

// StoredMessage flags.
const M_QOS: u8 = 0b0000_0011;
const M_RETAIN: u8 = 0b0000_0100;
const M_EXPIRY: u8 = 0b0000_1000;
const M_PROPS: u8 = 0b0001_0000;
const M_KNOWN: u8 = M_QOS | M_RETAIN | M_EXPIRY | M_PROPS;

// StoredProperties flags.
const P_PFI: u8 = 0b0000_0001;
const P_CONTENT_TYPE: u8 = 0b0000_0010;
const P_RESPONSE_TOPIC: u8 = 0b0000_0100;
const P_CORRELATION: u8 = 0b0000_1000;
const P_USER: u8 = 0b0001_0000;
const P_KNOWN: u8 = P_PFI | P_CONTENT_TYPE | P_RESPONSE_TOPIC | P_CORRELATION | P_USER;

// StoredSubscription flags.
const S_QOS: u8 = 0b0000_0011;
const S_NO_LOCAL: u8 = 0b0000_0100;
const S_RAP: u8 = 0b0000_1000;
const S_RH: u8 = 0b0011_0000;
const S_SUB_ID: u8 = 0b0100_0000;
const S_KNOWN: u8 = S_QOS | S_NO_LOCAL | S_RAP | S_RH | S_SUB_ID;

// StoredSession flags.
const SS_DISCONNECTED: u8 = 0b0000_0001;

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn new(cap: usize) -> Self {
        let mut buf = Vec::with_capacity(cap + 1);
        buf.push(FORMAT_VERSION);
        Writer { buf }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    fn str(&mut self, what: &str, s: &str) -> Result<()> {
        let len = u16::try_from(s.len())
            .map_err(|_| Error::Invalid(format!("{what} of {} bytes (at most 65535)", s.len())))?;
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn blob(&mut self, what: &str, b: &[u8]) -> Result<()> {
        let len = u32::try_from(b.len())
            .map_err(|_| Error::Invalid(format!("{what} of {} bytes", b.len())))?;
        self.u32(len);
        self.buf.extend_from_slice(b);
        Ok(())
    }
}

/// A bounded reader over an encoded value.
struct Reader<'a> {
    what: &'static str,
    src: &'a Bytes,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, src: &'a Bytes) -> Result<Self> {
        let mut r = Reader { what, src, pos: 0 };
        let v = r.u8()?;
        if v != FORMAT_VERSION {
            return Err(Error::decode(
                what,
                format!("version byte {v}, expected {FORMAT_VERSION}"),
            ));
        }
        Ok(r)
    }
    fn err(&self, reason: impl Into<String>) -> Error {
        Error::decode(self.what, reason)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let left = self.src.len() - self.pos;
        if left < n {
            return Err(self.err(format!(
                "truncated at byte {}: needs {n} bytes, {left} left",
                self.pos
            )));
        }
        let s = &self.src[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn u128(&mut self) -> Result<u128> {
        let mut a = [0u8; 16];
        a.copy_from_slice(self.take(16)?);
        Ok(u128::from_be_bytes(a))
    }
    fn str(&mut self, field: &str) -> Result<String> {
        let len = usize::from(self.u16()?);
        let b = self.take(len)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(self.err(format!("{field} is not UTF-8"))),
        }
    }
    fn blob(&mut self) -> Result<Bytes> {
        let len = usize::try_from(self.u32()?).map_err(|_| self.err("blob length"))?;
        let start = self.pos;
        self.take(len)?;
        Ok(self.src.slice(start..start + len))
    }
    fn flags(&mut self, known: u8) -> Result<u8> {
        let f = self.u8()?;
        if f & !known != 0 {
            return Err(self.err(format!("unknown flag bits {:#010b}", f & !known)));
        }
        Ok(f)
    }
    fn end(self) -> Result<()> {
        let left = self.src.len() - self.pos;
        if left == 0 {
            Ok(())
        } else {
            Err(self.err(format!("{left} trailing bytes")))
        }
    }
}

fn check_qos(what: &'static str, qos: u8) -> Result<u8> {
    if qos <= 2 {
        Ok(qos)
    } else {
        Err(Error::decode(what, format!("QoS {qos}")))
    }
}

/// Encodes a message. Fails only on values the format cannot hold (a string over 65535
/// bytes, a QoS over 2).
pub fn encode_message(m: &StoredMessage) -> Result<Vec<u8>> {
    if m.qos > 2 {
        return Err(Error::Invalid(format!("QoS {}", m.qos)));
    }
    let mut w = Writer::new(40 + m.mountpoint.len() + m.topic.len() + m.payload.len());
    w.u128(m.msg_id);
    let props = !m.properties.is_empty();
    let mut flags = m.qos;
    if m.retain {
        flags |= M_RETAIN;
    }
    if m.expiry_unix_ms.is_some() {
        flags |= M_EXPIRY;
    }
    if props {
        flags |= M_PROPS;
    }
    w.u8(flags);
    if let Some(e) = m.expiry_unix_ms {
        w.u64(e);
    }
    w.str("mountpoint", &m.mountpoint)?;
    w.str("topic", &m.topic)?;
    if props {
        encode_properties(&mut w, &m.properties)?;
    }
    w.blob("payload", &m.payload)?;
    Ok(w.buf)
}

fn encode_properties(w: &mut Writer, p: &StoredProperties) -> Result<()> {
    let mut f = 0;
    if p.payload_format_indicator.is_some() {
        f |= P_PFI;
    }
    if p.content_type.is_some() {
        f |= P_CONTENT_TYPE;
    }
    if p.response_topic.is_some() {
        f |= P_RESPONSE_TOPIC;
    }
    if p.correlation_data.is_some() {
        f |= P_CORRELATION;
    }
    if !p.user_properties.is_empty() {
        f |= P_USER;
    }
    w.u8(f);
    if let Some(v) = p.payload_format_indicator {
        w.u8(v);
    }
    if let Some(v) = &p.content_type {
        w.str("content type", v)?;
    }
    if let Some(v) = &p.response_topic {
        w.str("response topic", v)?;
    }
    if let Some(v) = &p.correlation_data {
        w.blob("correlation data", v)?;
    }
    if !p.user_properties.is_empty() {
        let n = u32::try_from(p.user_properties.len())
            .map_err(|_| Error::Invalid("too many user properties".into()))?;
        w.u32(n);
        for (k, v) in &p.user_properties {
            w.str("user property name", k)?;
            w.str("user property value", v)?;
        }
    }
    Ok(())
}

/// Decodes a message; the payload and correlation data are slices of `src`.
pub fn decode_message(src: &Bytes) -> Result<StoredMessage> {
    let mut r = Reader::new("message", src)?;
    let msg_id = r.u128()?;
    let flags = r.flags(M_KNOWN)?;
    let qos = check_qos("message", flags & M_QOS)?;
    let expiry_unix_ms = if flags & M_EXPIRY != 0 {
        Some(r.u64()?)
    } else {
        None
    };
    let mountpoint = r.str("mountpoint")?;
    let topic = r.str("topic")?;
    let properties = if flags & M_PROPS != 0 {
        decode_properties(&mut r)?
    } else {
        StoredProperties::default()
    };
    let payload = r.blob()?;
    r.end()?;
    Ok(StoredMessage {
        msg_id,
        mountpoint,
        topic,
        payload,
        qos,
        retain: flags & M_RETAIN != 0,
        properties,
        expiry_unix_ms,
    })
}

fn decode_properties(r: &mut Reader<'_>) -> Result<StoredProperties> {
    let f = r.flags(P_KNOWN)?;
    let mut p = StoredProperties::default();
    if f & P_PFI != 0 {
        p.payload_format_indicator = Some(r.u8()?);
    }
    if f & P_CONTENT_TYPE != 0 {
        p.content_type = Some(r.str("content type")?);
    }
    if f & P_RESPONSE_TOPIC != 0 {
        p.response_topic = Some(r.str("response topic")?);
    }
    if f & P_CORRELATION != 0 {
        p.correlation_data = Some(r.blob()?);
    }
    if f & P_USER != 0 {
        let n = r.u32()?;
        if n == 0 {
            return Err(r.err("user property flag with zero properties"));
        }
        // Each pair takes at least 4 bytes: bound the allocation by what is left.
        let left = r.src.len() - r.pos;
        if u64::from(n) * 4 > left as u64 {
            return Err(r.err(format!("{n} user properties cannot fit in {left} bytes")));
        }
        let mut v = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let k = r.str("user property name")?;
            let val = r.str("user property value")?;
            v.push((k, val));
        }
        p.user_properties = v;
    }
    Ok(p)
}

/// Encodes a subscription's options (the filter is in the key).
pub fn encode_subscription(s: &StoredSubscription) -> Result<Vec<u8>> {
    if s.qos > 2 || s.retain_handling > 2 {
        return Err(Error::Invalid(format!(
            "subscription QoS {} / retain handling {}",
            s.qos, s.retain_handling
        )));
    }
    let mut w = Writer::new(6);
    let mut f = s.qos | (s.retain_handling << 4);
    if s.no_local {
        f |= S_NO_LOCAL;
    }
    if s.retain_as_published {
        f |= S_RAP;
    }
    if s.subscription_id.is_some() {
        f |= S_SUB_ID;
    }
    w.u8(f);
    if let Some(id) = s.subscription_id {
        w.u32(id);
    }
    Ok(w.buf)
}

/// Decodes a subscription's options; `filter` comes from the key.
pub fn decode_subscription(filter: String, src: &Bytes) -> Result<StoredSubscription> {
    let mut r = Reader::new("subscription", src)?;
    let f = r.flags(S_KNOWN)?;
    let qos = check_qos("subscription", f & S_QOS)?;
    let retain_handling = (f & S_RH) >> 4;
    if retain_handling > 2 {
        return Err(r.err(format!("retain handling {retain_handling}")));
    }
    let subscription_id = if f & S_SUB_ID != 0 {
        Some(r.u32()?)
    } else {
        None
    };
    r.end()?;
    Ok(StoredSubscription {
        filter,
        qos,
        no_local: f & S_NO_LOCAL != 0,
        retain_as_published: f & S_RAP != 0,
        retain_handling,
        subscription_id,
    })
}

/// Encodes session metadata.
pub fn encode_session(s: &StoredSession) -> Result<Vec<u8>> {
    let mut w = Writer::new(24 + s.attributes.len());
    w.u8(s.protocol_version);
    w.u32(s.session_expiry_interval);
    match s.disconnected_at_unix_ms {
        Some(t) => {
            w.u8(SS_DISCONNECTED);
            w.u64(t);
        }
        None => w.u8(0),
    }
    w.blob("session attributes", &s.attributes)?;
    Ok(w.buf)
}

/// Decodes session metadata.
pub fn decode_session(src: &Bytes) -> Result<StoredSession> {
    let mut r = Reader::new("session", src)?;
    let protocol_version = r.u8()?;
    let session_expiry_interval = r.u32()?;
    let f = r.flags(SS_DISCONNECTED)?;
    let disconnected_at_unix_ms = if f & SS_DISCONNECTED != 0 {
        Some(r.u64()?)
    } else {
        None
    };
    let attributes = r.blob()?;
    r.end()?;
    Ok(StoredSession {
        protocol_version,
        session_expiry_interval,
        disconnected_at_unix_ms,
        attributes,
    })
}

/// Encodes a `u32` counter value (refcounts).
pub(crate) fn encode_u32(v: u32) -> Vec<u8> {
    let mut w = Writer::new(4);
    w.u32(v);
    w.buf
}

/// Decodes a `u32` counter value.
pub(crate) fn decode_u32(what: &'static str, src: &Bytes) -> Result<u32> {
    let mut r = Reader::new(what, src)?;
    let v = r.u32()?;
    r.end()?;
    Ok(v)
}

/// Encodes a `u64` value (sequence numbers).
pub(crate) fn encode_u64(v: u64) -> Vec<u8> {
    let mut w = Writer::new(8);
    w.u64(v);
    w.buf
}

/// Decodes a `u64` value.
pub(crate) fn decode_u64(what: &'static str, src: &Bytes) -> Result<u64> {
    let mut r = Reader::new(what, src)?;
    let v = r.u64()?;
    r.end()?;
    Ok(v)
}

/// Encodes a message id (queue entry values).
pub(crate) fn encode_u128(v: u128) -> Vec<u8> {
    let mut w = Writer::new(16);
    w.u128(v);
    w.buf
}

/// Decodes a message id.
pub(crate) fn decode_u128(what: &'static str, src: &Bytes) -> Result<u128> {
    let mut r = Reader::new(what, src)?;
    let v = r.u128()?;
    r.end()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> StoredMessage {
        StoredMessage {
            msg_id: 0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
            mountpoint: "mp".into(),
            topic: "a/b".into(),
            payload: Bytes::from_static(b"hello"),
            qos: 2,
            retain: true,
            properties: StoredProperties {
                payload_format_indicator: Some(1),
                content_type: Some("text/plain".into()),
                response_topic: Some("r".into()),
                correlation_data: Some(Bytes::from_static(b"\x00\x01")),
                user_properties: vec![("k".into(), "v".into())],
            },
            expiry_unix_ms: Some(1_700_000_000_000),
        }
    }

    #[test]
    fn message_round_trip_and_every_truncation_fails() {
        let m = full();
        let enc = Bytes::from(encode_message(&m).unwrap());
        assert_eq!(decode_message(&enc).unwrap(), m);
        for n in 0..enc.len() {
            assert!(decode_message(&enc.slice(..n)).is_err(), "prefix {n}");
        }
        let mut long = enc.to_vec();
        long.push(0);
        assert!(decode_message(&Bytes::from(long)).is_err());
    }

    #[test]
    fn bad_version_flags_qos_are_rejected() {
        let enc = encode_message(&full()).unwrap();
        let mut v = enc.clone();
        v[0] = 9;
        let e = decode_message(&Bytes::from(v)).unwrap_err().to_string();
        assert!(e.contains("version byte 9"), "{e}");
        let mut v = enc.clone();
        v[17] |= 0x80;
        assert!(decode_message(&Bytes::from(v)).is_err());
        let mut v = enc;
        v[17] |= 0x03;
        assert!(decode_message(&Bytes::from(v)).is_err());
    }
}
