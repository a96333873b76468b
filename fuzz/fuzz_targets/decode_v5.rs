//! Fuzz target: `check` then `Packet::decode` on an MQTT V5 connection must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vmq_codec::{check, DecodeLimits, Packet, ProtocolVersion};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(n)) = check(data, &DecodeLimits::default()) {
        let _ = Packet::decode(
            bytes::Bytes::copy_from_slice(&data[..n]),
            ProtocolVersion::V5,
        );
    }
    let _ = Packet::decode(bytes::Bytes::copy_from_slice(data), ProtocolVersion::V5);
});
