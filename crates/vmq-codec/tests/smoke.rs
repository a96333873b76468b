//! Smoke tests: a few packets of each version survive encode then decode.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use bytes::BytesMut;
use vmq_codec::*;

fn rt(p: Packet, v: ProtocolVersion) {
    let mut b = BytesMut::new();
    p.encode(v, &mut b).unwrap();
    assert_eq!(b.len(), p.encoded_len(v));
    assert_eq!(check(&b, &DecodeLimits::default()).unwrap(), Some(b.len()));
    let d = Packet::decode(b.freeze(), v).unwrap();
    assert_eq!(d, p);
}

#[test]
fn smoke_round_trips() {
    for v in [
        ProtocolVersion::V3_1,
        ProtocolVersion::V3_1_1,
        ProtocolVersion::V5,
    ] {
        rt(Packet::Connect(Box::new(Connect::new(v, "c1"))), v);
        rt(
            Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::Success, true))),
            v,
        );
        let mut p = Publish::new("a/b", &b"hello"[..]);
        rt(Packet::Publish(Box::new(p.clone())), v);
        p.qos = QoS::AtLeastOnce;
        p.packet_id = 7;
        rt(Packet::Publish(Box::new(p)), v);
        rt(Packet::PubAck(PubAck::new(7)), v);
        rt(Packet::PubRel(PubRel::new(7)), v);
        rt(
            Packet::Subscribe(Subscribe::new(3, "a/+/#", QoS::ExactlyOnce)),
            v,
        );
        rt(
            Packet::SubAck(SubAck::new(3, vec![ReasonCode::GrantedQoS2])),
            v,
        );
        rt(
            Packet::Unsubscribe(Unsubscribe::new(4, vec!["a/#".into()])),
            v,
        );
        rt(Packet::PingReq, v);
        rt(Packet::PingResp, v);
        rt(Packet::Disconnect(Box::default()), v);
    }
    rt(
        Packet::Auth(Box::new(Auth::new(ReasonCode::ContinueAuthentication))),
        ProtocolVersion::V5,
    );
    rt(
        Packet::UnsubAck(UnsubAck::new(4, vec![ReasonCode::Success])),
        ProtocolVersion::V5,
    );
    rt(
        Packet::UnsubAck(UnsubAck::new(4, vec![])),
        ProtocolVersion::V3_1_1,
    );
}
