//! Packets shared by the criterion benchmark (`codec.rs`) and the instruction-count benchmark
//! (`icount.rs`), and the mqttbytes 0.6 side of the comparison.

#![allow(dead_code)] // each bench uses part of this module

use bytes::{Bytes, BytesMut};
use vmq_codec::*;

/// Encodes `p` the way a connection's read buffer would hold it: split off a `BytesMut`.
pub fn frame(p: &Packet, v: ProtocolVersion) -> Bytes {
    let mut b = BytesMut::new();
    if p.encode(v, &mut b).is_err() {
        panic!("bench packet encodes");
    }
    let n = b.len();
    b.split_to(n).freeze()
}

pub fn publish(payload: usize, qos: QoS) -> Packet {
    Packet::Publish(Box::new(Publish {
        qos,
        packet_id: if qos == QoS::AtMostOnce { 0 } else { 42 },
        ..Publish::new(
            "devices/sensor-0042/telemetry/temperature",
            vec![0xA5u8; payload],
        )
    }))
}

pub fn connect_v5() -> Packet {
    Packet::Connect(Box::new(Connect {
        properties: ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: Some(100),
            maximum_packet_size: Some(1 << 20),
            topic_alias_maximum: Some(10),
            request_problem_information: Some(true),
            user_properties: vec![("region".into(), "eu-west".into())],
            ..Default::default()
        },
        will: Some(LastWill {
            topic: "devices/sensor-0042/status".into(),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(5),
                ..Default::default()
            },
        }),
        username: Some("sensor-0042".into()),
        password: Some(Bytes::from_static(b"correct horse battery staple")),
        ..Connect::new(ProtocolVersion::V5, "sensor-0042")
    }))
}

pub fn subscribe10() -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: 7,
        filters: (0..10)
            .map(|i| SubscribeFilter {
                filter: format!("devices/+/telemetry/{i}/#").into(),
                options: SubscriptionOptions::new(QoS::AtLeastOnce),
            })
            .collect(),
        properties: SubscribeProperties::default(),
    })
}

#[allow(clippy::large_enum_variant)]
pub enum Theirs {
    /// MQTT 3.1.1.
    V4(mqttbytes::v4::Packet),
    /// MQTT 5.0.
    V5(mqttbytes::v5::Packet),
}

pub fn mqttbytes_read(f: &Bytes, v: ProtocolVersion) -> Theirs {
    let mut b = BytesMut::from(&f[..]);
    let r = match v {
        ProtocolVersion::V5 => mqttbytes::v5::read(&mut b, 1 << 28).map(Theirs::V5),
        _ => mqttbytes::v4::read(&mut b, 1 << 28).map(Theirs::V4),
    };
    match r {
        Ok(p) => p,
        Err(e) => panic!("mqttbytes reads the bench frame: {e:?}"),
    }
}

pub fn mqttbytes_write(p: &Theirs, buf: &mut BytesMut) -> usize {
    use mqttbytes::{v4, v5};
    let r = match p {
        Theirs::V4(v4::Packet::Publish(p)) => p.write(buf),
        Theirs::V4(v4::Packet::Subscribe(p)) => p.write(buf),
        Theirs::V4(v4::Packet::Connect(p)) => p.write(buf),
        Theirs::V5(v5::Packet::Publish(p)) => p.write(buf),
        Theirs::V5(v5::Packet::Subscribe(p)) => p.write(buf),
        Theirs::V5(v5::Packet::Connect(p)) => p.write(buf),
        _ => panic!("not benchmarked"),
    };
    r.unwrap_or(0)
}

/// The benchmarked packets: name, packet, protocol version of the connection.
pub fn cases() -> Vec<(String, Packet, ProtocolVersion)> {
    vec![
        (
            "publish_64B_qos0_v4".into(),
            publish(64, QoS::AtMostOnce),
            ProtocolVersion::V3_1_1,
        ),
        (
            "publish_64B_qos1_v4".into(),
            publish(64, QoS::AtLeastOnce),
            ProtocolVersion::V3_1_1,
        ),
        (
            "publish_1KiB_qos0_v4".into(),
            publish(1024, QoS::AtMostOnce),
            ProtocolVersion::V3_1_1,
        ),
        (
            "publish_1KiB_qos1_v4".into(),
            publish(1024, QoS::AtLeastOnce),
            ProtocolVersion::V3_1_1,
        ),
        (
            "publish_64B_qos1_v5".into(),
            publish(64, QoS::AtLeastOnce),
            ProtocolVersion::V5,
        ),
        (
            "publish_1KiB_qos1_v5".into(),
            publish(1024, QoS::AtLeastOnce),
            ProtocolVersion::V5,
        ),
        ("connect_props_v5".into(), connect_v5(), ProtocolVersion::V5),
        (
            "subscribe_10_v4".into(),
            subscribe10(),
            ProtocolVersion::V3_1_1,
        ),
    ]
}
