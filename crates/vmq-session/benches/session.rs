//! Criterion bench: the session's incoming QoS 2 flow (PUBLISH, PUBREC, PUBREL, PUBCOMP) with
//! W messages left unreleased before the client releases them, so the cost of looking up an
//! unreleased packet id shows as W grows (a window of 1 is the usual client; 10,000 is a
//! client, or a bridge, that keeps a large window open).

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

use std::{hint::black_box, sync::Arc, time::Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use vmq_codec::{
    Connect, ConnectProperties, Packet, ProtocolVersion, PubRel, Publish, PublishProperties, QoS,
    ReasonCode, Utf8Str,
};
use vmq_session::{Action, ConnectAccepted, Session, SessionConfig};

/// A connected MQTT 5 session, CONNACK already taken.
fn connected() -> Session {
    let now = Instant::now();
    let mut session = Session::new(Arc::new(SessionConfig::default()), now);
    session.handle_packet(
        now,
        Packet::Connect(Box::new(Connect {
            protocol: ProtocolVersion::V5,
            bridge: false,
            clean_start: true,
            keep_alive: 60,
            client_id: Utf8Str::from("bench"),
            will: None,
            username: None,
            password: None,
            properties: ConnectProperties::default(),
        })),
    );
    while session.poll_action().is_some() {}
    session.accept_connect(now, ConnectAccepted::default());
    session.transmit().clear();
    session
}

fn publish(packet_id: u16, payload: &Bytes) -> Packet {
    Packet::Publish(Box::new(Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: Utf8Str::from("bench/qos2"),
        packet_id,
        properties: PublishProperties::default(),
        payload: payload.clone(),
    }))
}

/// `window` QoS 2 publishes taken and acknowledged with PUBREC, then all released.
fn qos2_window(session: &mut Session, window: u16, payload: &Bytes) {
    let now = Instant::now();
    for id in 1..=window {
        session.handle_packet(now, publish(id, payload));
    }
    while let Some(action) = session.poll_action() {
        if let Action::Publish(p) = action {
            session.publish_done(p.packet_id, QoS::ExactlyOnce, ReasonCode::Success);
        }
    }
    for id in 1..=window {
        session.handle_packet(now, Packet::PubRel(PubRel::new(id)));
    }
    black_box(session.transmit()).clear();
}

fn incoming_qos2(c: &mut Criterion) {
    let payload = Bytes::from_static(&[0u8; 64]);
    let mut g = c.benchmark_group("session_incoming_qos2");
    for window in [1u16, 64, 1_000, 10_000] {
        g.throughput(Throughput::Elements(u64::from(window)));
        g.bench_function(format!("window_{window}"), |b| {
            b.iter_batched_ref(
                connected,
                |session| qos2_window(session, window, &payload),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, incoming_qos2);
criterion_main!(benches);
