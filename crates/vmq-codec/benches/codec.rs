//! Criterion benchmark of the hot packets, vmq-codec next to mqttbytes 0.6 in the same run:
//! PUBLISH (64 B and 1 KiB payloads, QoS 0 and 1, MQTT 3.1.1 and 5.0), a v5 CONNECT with
//! properties and a SUBSCRIBE with 10 filters, decode and encode. The mqttbytes packets are
//! obtained by decoding our frames with mqttbytes, so both sides work on identical bytes.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use vmq_codec::*;

/// Encodes `p` the way a connection's read buffer would hold it: split off a `BytesMut`.
fn frame(p: &Packet, v: ProtocolVersion) -> Bytes {
    let mut b = BytesMut::new();
    if p.encode(v, &mut b).is_err() {
        panic!("bench packet encodes");
    }
    let n = b.len();
    b.split_to(n).freeze()
}

fn publish(payload: usize, qos: QoS) -> Packet {
    Packet::Publish(Publish {
        qos,
        packet_id: if qos == QoS::AtMostOnce { 0 } else { 42 },
        ..Publish::new(
            "devices/sensor-0042/telemetry/temperature",
            vec![0xA5u8; payload],
        )
    })
}

fn connect_v5() -> Packet {
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

fn subscribe10() -> Packet {
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
enum Theirs {
    V4(mqttbytes::v4::Packet),
    V5(mqttbytes::v5::Packet),
}

fn mqttbytes_read(f: &Bytes, v: ProtocolVersion) -> Theirs {
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

fn mqttbytes_write(p: &Theirs, buf: &mut BytesMut) -> usize {
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

fn bench(c: &mut Criterion) {
    let cases: Vec<(String, Packet, ProtocolVersion)> = vec![
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
    ];
    for (name, packet, v) in &cases {
        let f = frame(packet, *v);
        let theirs = mqttbytes_read(&f, *v);
        let mut g = c.benchmark_group(name.as_str());
        g.bench_function("decode/vmq-codec", |b| {
            b.iter_batched(
                || f.clone(),
                |f| black_box(Packet::decode(f, *v).ok()),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("decode/mqttbytes", |b| {
            b.iter_batched(
                || BytesMut::from(&f[..]),
                |mut f| match v {
                    ProtocolVersion::V5 => {
                        black_box(mqttbytes::v5::read(&mut f, 1 << 28).ok());
                    }
                    _ => {
                        black_box(mqttbytes::v4::read(&mut f, 1 << 28).ok());
                    }
                },
                BatchSize::SmallInput,
            )
        });
        let mut buf = BytesMut::with_capacity(4096);
        g.bench_function("encode/vmq-codec", |b| {
            b.iter(|| {
                buf.clear();
                black_box(packet.encode(*v, &mut buf).is_ok())
            })
        });
        g.bench_function("encode/mqttbytes", |b| {
            b.iter(|| {
                buf.clear();
                black_box(mqttbytes_write(&theirs, &mut buf))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
