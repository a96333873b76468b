//! Fuzz target: whatever decodes must encode (with the exact `encoded_len`) and decode again to
//! the same packet. The first input byte picks the protocol version.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use vmq_codec::{check, DecodeLimits, Packet, ProtocolVersion};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, data)) = data.split_first() else {
        return;
    };
    let version = match sel % 3 {
        0 => ProtocolVersion::V3_1,
        1 => ProtocolVersion::V3_1_1,
        _ => ProtocolVersion::V5,
    };
    let Ok(Some(n)) = check(data, &DecodeLimits::default()) else {
        return;
    };
    let Ok(packet) = Packet::decode(Bytes::copy_from_slice(&data[..n]), version) else {
        return;
    };
    // CONNECT is encoded for its own protocol version.
    let version = match &packet {
        Packet::Connect(c) => c.protocol,
        _ => version,
    };
    let mut buf = BytesMut::new();
    packet
        .encode(version, &mut buf)
        .expect("a decoded packet encodes");
    assert_eq!(buf.len(), packet.encoded_len(version));
    let again = Packet::decode(buf.freeze(), version).expect("re-encoded packet decodes");
    assert_eq!(again, packet);
});
