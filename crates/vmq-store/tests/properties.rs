//! Property tests: the key encoding preserves tuple order and never lets one subscriber's
//! prefix cover another's; every value round-trips through the codec; the decoders reject
//! arbitrary or mutated bytes without panicking.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::cmp::Ordering;

use bytes::Bytes;
use proptest::prelude::*;
use vmq_store::codec::{
    decode_message, decode_session, decode_subscription, encode_message, encode_session,
    encode_subscription,
};
use vmq_store::key::{self, KeyBuf, KeyReader};
use vmq_store::{
    StoredMessage, StoredProperties, StoredSession, StoredSubscription, SubscriberKey,
};

/// The order the encoding promises for a length-prefixed string: by length, then bytes.
fn lp_cmp(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then(a.as_bytes().cmp(b.as_bytes()))
}

fn small_str() -> impl Strategy<Value = String> {
    prop_oneof!["[a-c]{0,3}", "\\PC{0,8}", Just(String::new()),]
}

fn subscriber() -> impl Strategy<Value = SubscriberKey> {
    (small_str(), small_str()).prop_map(|(m, c)| SubscriberKey::new(m, c))
}

fn message() -> impl Strategy<Value = StoredMessage> {
    (
        any::<u128>(),
        small_str(),
        "[a-z/+#]{0,12}",
        proptest::collection::vec(any::<u8>(), 0..64),
        0u8..=2,
        any::<bool>(),
        proptest::option::of(any::<u64>()),
        (
            proptest::option::of(any::<u8>()),
            proptest::option::of(small_str()),
            proptest::option::of(small_str()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
            proptest::collection::vec((small_str(), small_str()), 0..3),
        ),
    )
        .prop_map(
            |(msg_id, mountpoint, topic, payload, qos, retain, expiry_unix_ms, p)| StoredMessage {
                msg_id,
                mountpoint,
                topic,
                payload: Bytes::from(payload),
                qos,
                retain,
                properties: StoredProperties {
                    payload_format_indicator: p.0,
                    content_type: p.1,
                    response_topic: p.2,
                    correlation_data: p.3.map(Bytes::from),
                    user_properties: p.4,
                },
                expiry_unix_ms,
            },
        )
}

proptest! {
    #[test]
    fn queue_keys_preserve_order(a in subscriber(), sa in any::<u64>(), b in subscriber(), sb in any::<u64>()) {
        let ka = key::queue_entry(&a, sa).unwrap();
        let kb = key::queue_entry(&b, sb).unwrap();
        let expect = lp_cmp(&a.mountpoint, &b.mountpoint)
            .then(lp_cmp(&a.client_id, &b.client_id))
            .then(sa.cmp(&sb));
        prop_assert_eq!(ka.cmp(&kb), expect);
        // A subscriber's prefix covers exactly its own entries.
        let pa = key::queue_prefix(&a).unwrap();
        prop_assert_eq!(kb.starts_with(&pa), a == b);
        // And the key decodes back.
        let (ns, mut r) = KeyReader::new(&ka).unwrap();
        prop_assert_eq!(ns, key::NS_QUEUE);
        prop_assert_eq!(r.subscriber().unwrap(), a);
        prop_assert_eq!(r.u64().unwrap(), sa);
        prop_assert!(r.end().is_ok());
    }

    #[test]
    fn tail_keys_preserve_order_and_prefixes(mp in small_str(), t1 in "[a-z/]{0,8}", t2 in "[a-z/]{0,8}") {
        let k1 = key::retained(&mp, &t1).unwrap();
        let k2 = key::retained(&mp, &t2).unwrap();
        prop_assert_eq!(k1.cmp(&k2), t1.as_bytes().cmp(t2.as_bytes()));
        prop_assert_eq!(k2.starts_with(&k1), t2.starts_with(t1.as_str()));
    }

    #[test]
    fn integer_components_preserve_order(a in any::<u128>(), b in any::<u128>()) {
        let ka = KeyBuf::new(1).u128(a).finish();
        let kb = KeyBuf::new(1).u128(b).finish();
        prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
    }

    #[test]
    fn message_round_trip(m in message()) {
        let enc = Bytes::from(encode_message(&m).unwrap());
        prop_assert_eq!(decode_message(&enc).unwrap(), m);
    }

    #[test]
    fn subscription_round_trip(
        filter in "[a-z/+#]{0,8}", qos in 0u8..=2, nl in any::<bool>(), rap in any::<bool>(),
        rh in 0u8..=2, id in proptest::option::of(any::<u32>()),
    ) {
        let s = StoredSubscription { filter: filter.clone(), qos, no_local: nl, retain_as_published: rap, retain_handling: rh, subscription_id: id };
        let enc = Bytes::from(encode_subscription(&s).unwrap());
        prop_assert_eq!(decode_subscription(filter, &enc).unwrap(), s);
    }

    #[test]
    fn session_round_trip(pv in any::<u8>(), sei in any::<u32>(), at in proptest::option::of(any::<u64>()), attrs in proptest::collection::vec(any::<u8>(), 0..16)) {
        let s = StoredSession { protocol_version: pv, session_expiry_interval: sei, disconnected_at_unix_ms: at, attributes: Bytes::from(attrs) };
        let enc = Bytes::from(encode_session(&s).unwrap());
        prop_assert_eq!(decode_session(&enc).unwrap(), s);
    }

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(b in proptest::collection::vec(any::<u8>(), 0..128)) {
        let b = Bytes::from(b);
        let _ = decode_message(&b);
        let _ = decode_session(&b);
        let _ = decode_subscription(String::new(), &b);
        let _ = key::describe(&b);
    }

    #[test]
    fn mutated_messages_fail_cleanly_or_decode(m in message(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut enc = encode_message(&m).unwrap();
        let i = pos.index(enc.len());
        enc[i] = byte;
        // Either an error or some message; never a panic or an over-read.
        if let Ok(d) = decode_message(&Bytes::from(enc.clone())) {
            prop_assert_eq!(encode_message(&d).unwrap(), enc);
        }
    }
}
