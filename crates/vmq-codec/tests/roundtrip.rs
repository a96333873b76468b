//! Property tests: for arbitrary valid packets of each protocol version, encode then decode is
//! the identity, `encoded_len` is exact, and `check` finds exactly one frame (also when the
//! frame arrives byte by byte); a PUBLISH encodes to the same bytes from a `Publish` and from a
//! `PublishView`.

mod common;

use bytes::BytesMut;
use proptest::prelude::*;
use vmq_codec::*;

fn round_trip(p: &Packet, v: ProtocolVersion) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::new();
    p.encode(v, &mut buf)
        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(buf.len(), p.encoded_len(v));
    let limits = DecodeLimits::default();
    prop_assert_eq!(check(&buf, &limits), Ok(Some(buf.len())));
    for cut in 0..buf.len().min(8) {
        prop_assert_eq!(check(&buf[..cut], &limits), Ok(None));
    }
    prop_assert_eq!(check(&buf[..buf.len() - 1], &limits), Ok(None));
    if let Packet::Publish(publish) = p {
        // The PUBLISH-only path writes exactly what the Packet path writes.
        let mut direct = BytesMut::new();
        publish
            .encode(v, &mut direct)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&direct[..], &buf[..]);
        prop_assert_eq!(publish.encoded_len(v), buf.len());
        // So does the borrowed view a broker encodes deliveries from: the three per-delivery
        // properties given beside the message's own (whose copies of them it ignores).
        let mut shared = publish.properties.clone();
        shared.message_expiry_interval = Some(7);
        shared.topic_alias = Some(9);
        shared.subscription_identifiers = vec![11];
        let view = PublishView {
            dup: publish.dup,
            qos: publish.qos,
            retain: publish.retain,
            topic: publish.topic.as_str(),
            packet_id: publish.packet_id,
            properties: &shared,
            message_expiry_interval: publish.properties.message_expiry_interval,
            topic_alias: publish.properties.topic_alias,
            subscription_identifiers: &publish.properties.subscription_identifiers,
            payload: &publish.payload,
        };
        let mut viewed = BytesMut::new();
        view.encode(v, &mut viewed)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&viewed[..], &buf[..]);
        prop_assert_eq!(view.encoded_len(v), buf.len());
    }
    let decoded = Packet::decode(buf.freeze(), v);
    prop_assert_eq!(decoded.as_ref(), Ok(p));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn round_trip_v3_1(p in common::packet(ProtocolVersion::V3_1)) {
        round_trip(&p, ProtocolVersion::V3_1)?;
    }

    #[test]
    fn round_trip_v3_1_1(p in common::packet(ProtocolVersion::V3_1_1)) {
        round_trip(&p, ProtocolVersion::V3_1_1)?;
    }

    #[test]
    fn round_trip_v5(p in common::packet(ProtocolVersion::V5)) {
        round_trip(&p, ProtocolVersion::V5)?;
    }

    /// Several packets back to back are split correctly by `decode_from`.
    #[test]
    fn stream_of_packets_v5(ps in proptest::collection::vec(common::packet(ProtocolVersion::V5), 1..8)) {
        let v = ProtocolVersion::V5;
        let mut buf = BytesMut::new();
        for p in &ps {
            p.encode(v, &mut buf).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        }
        let limits = DecodeLimits::default();
        for p in &ps {
            let d = decode_from(&mut buf, v, &limits);
            prop_assert_eq!(d.as_ref().ok().and_then(|o| o.as_ref()), Some(p));
        }
        prop_assert!(buf.is_empty());
    }
}
