//! Criterion benches of the store: write+flush batches of 1, 64 and 1024 messages, and
//! reading a 1000-message queue, for sled and memory. Kept short (the machine is shared).

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vmq_store::{
    Batch, BatchWrite, MessageStore, Store, StoreOptions, StoredMessage, SubscriberKey,
};

fn message(id: u128, payload: &Bytes) -> StoredMessage {
    StoredMessage {
        msg_id: id,
        topic: "bench/topic".into(),
        payload: payload.clone(),
        qos: 1,
        ..Default::default()
    }
}

fn stores() -> Vec<(&'static str, Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = StoreOptions {
        cache_capacity: 64 << 20,
        flush_every_ms: None,
        ..StoreOptions::default()
    };
    let sled = Store::open(dir.path(), &opts).expect("open sled");
    vec![("sled", sled, Some(dir)), ("memory", Store::memory(), None)]
}

fn write_flush(c: &mut Criterion) {
    let payload = Bytes::from(vec![0x42; 256]);
    let mut g = c.benchmark_group("write_flush");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, store, _dir) in stores() {
        let sub = SubscriberKey::new("", "bench");
        let mut next: u128 = 0;
        for n in [1u128, 64, 1024] {
            g.throughput(Throughput::Elements(n as u64));
            let mut batch = Batch::with_capacity(n as usize * 2);
            g.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    // Enqueue n, flush; ack the previous round's n in the same batch so the
                    // store keeps a steady size.
                    batch.clear();
                    for i in 0..n {
                        batch.put_message(message(next + i, &payload), [sub.clone()]);
                        if next >= n {
                            batch.delete_entry(sub.clone(), next - n + i);
                        }
                    }
                    next += n;
                    store.write_batch(&batch).expect("write");
                    store.flush().expect("flush");
                })
            });
            // Start the next size from an empty queue.
            store.delete_queue(&sub).expect("delete");
            next += 1 << 20;
        }
    }
    g.finish();
}

fn read_queue(c: &mut Criterion) {
    let payload = Bytes::from(vec![0x42; 256]);
    let mut g = c.benchmark_group("read_queue");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (name, store, _dir) in stores() {
        let sub = SubscriberKey::new("", "reader");
        let mut batch = Batch::new();
        for i in 0..1000 {
            batch.put_message(message(i, &payload), [sub.clone()]);
        }
        store.write_batch(&batch).expect("write");
        store.flush().expect("flush");
        g.throughput(Throughput::Elements(1000));
        g.bench_function(BenchmarkId::new(name, 1000), |b| {
            b.iter(|| store.read_queue(&sub).expect("read").len())
        });
    }
    g.finish();
}

criterion_group!(benches, write_flush, read_queue);
criterion_main!(benches);
