//! Criterion benchmark of the hot packets, vmq-codec next to mqttbytes 0.6 in the same run:
//! PUBLISH (64 B and 1 KiB payloads, QoS 0 and 1, MQTT 3.1.1 and 5.0), a v5 CONNECT with
//! properties and a SUBSCRIBE with 10 filters, decode and encode. The mqttbytes packets are
//! obtained by decoding our frames with mqttbytes, so both sides work on identical bytes.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use vmq_codec::*;

mod common;

use common::{cases, frame, mqttbytes_read, mqttbytes_write, Theirs};

fn bench(c: &mut Criterion) {
    let cases = cases();
    for (name, packet, v) in &cases {
        let f = frame(packet, *v);
        let theirs = mqttbytes_read(&f, *v);
        let mut g = c.benchmark_group(name.as_str());
        g.bench_function("decode/vmq-codec", |b| {
            b.iter_batched(
                || f.clone(),
                |f| black_box(Packet::decode(f, *v)),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("decode/mqttbytes", |b| {
            b.iter_batched(
                || BytesMut::from(&f[..]),
                |mut f| {
                    // Returned, like ours, so that both packets are dropped outside the timing.
                    black_box(match v {
                        ProtocolVersion::V5 => mqttbytes::v5::read(&mut f, 1 << 28).map(Theirs::V5),
                        _ => mqttbytes::v4::read(&mut f, 1 << 28).map(Theirs::V4),
                    })
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
