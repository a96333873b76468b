//! A bounded, libFuzzer-free version of the fuzz targets in `fuzz/` that CI runs on every test
//! pass: arbitrary bytes and mutated valid frames go through `check`, `decode` and, when they
//! decode, encode-then-decode, which must be the identity. Nothing may panic.

mod common;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use vmq_codec::*;

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

fn decode_encode_decode(data: &[u8]) -> Result<(), TestCaseError> {
    for v in VERSIONS {
        let Ok(Some(n)) = check(data, &DecodeLimits::default()) else {
            let _ = Packet::decode(Bytes::copy_from_slice(data), v);
            continue;
        };
        let Ok(p) = Packet::decode(Bytes::copy_from_slice(&data[..n]), v) else {
            continue;
        };
        let ev = match &p {
            Packet::Connect(c) => c.protocol,
            _ => v,
        };
        let mut buf = BytesMut::new();
        prop_assert_eq!(p.encode(ev, &mut buf), Ok(()));
        prop_assert_eq!(buf.len(), p.encoded_len(ev));
        prop_assert_eq!(Packet::decode(buf.freeze(), ev), Ok(p));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        decode_encode_decode(&data)?;
    }

    #[test]
    fn mutated_valid_frames(
        p in common::packet(ProtocolVersion::V5),
        muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut buf = BytesMut::new();
        prop_assert_eq!(p.encode(ProtocolVersion::V5, &mut buf), Ok(()));
        let mut data = buf.to_vec();
        for (i, b) in muts {
            let at = i.index(data.len());
            data[at] = b;
        }
        decode_encode_decode(&data)?;
    }
}
