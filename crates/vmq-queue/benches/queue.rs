//! Criterion bench: enqueue + take throughput (one session fifo / lifo, fanout to 4 sessions,
//! balance over 4 sessions) and offline enqueue with persist actions. The take buffer is
//! reused, so the steady state allocates nothing.

// `criterion_group!` generates an undocumented function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vmq_queue::{DeliverMode, Limit, QoS, Queue, QueueConfig, QueueMessage, QueueType};

struct Payload {
    qos: QoS,
    _body: [u8; 64],
}

impl QueueMessage for Payload {
    fn qos(&self) -> QoS {
        self.qos
    }
    fn expires_at(&self) -> Option<Instant> {
        None
    }
}

type Msg = Arc<Payload>;

const BATCH: usize = 64;

fn config(ty: QueueType, mode: DeliverMode) -> QueueConfig {
    QueueConfig {
        max_online_messages: Limit::Max(1000),
        max_offline_messages: Limit::Max(1000),
        queue_type: ty,
        deliver_mode: mode,
        allow_multiple_sessions: true,
        override_max_online_messages: false,
        persistent: true,
    }
}

fn online(c: &mut Criterion, name: &str, ty: QueueType, mode: DeliverMode, sessions: u32) {
    let now = Instant::now();
    let msg: Msg = Arc::new(Payload {
        qos: QoS::AtLeastOnce,
        _body: [0; 64],
    });
    let mut q: Queue<u32, Msg> = Queue::new(config(ty, mode));
    for s in 0..sessions {
        if q.add_session(s).is_err() {
            return;
        }
    }
    let mut out: Vec<Msg> = Vec::with_capacity(BATCH);
    let mut g = c.benchmark_group("queue");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let e = q.enqueue(msg.clone(), now);
                black_box(e.outcome);
            }
            for s in 0..sessions {
                out.clear();
                let _ = black_box(q.take(&s, BATCH, now, &mut out));
            }
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    online(
        c,
        "enqueue_take_fifo_1session",
        QueueType::Fifo,
        DeliverMode::Fanout,
        1,
    );
    online(
        c,
        "enqueue_take_lifo_1session",
        QueueType::Lifo,
        DeliverMode::Fanout,
        1,
    );
    online(
        c,
        "enqueue_take_fanout_4sessions",
        QueueType::Fifo,
        DeliverMode::Fanout,
        4,
    );
    online(
        c,
        "enqueue_take_balance_4sessions",
        QueueType::Fifo,
        DeliverMode::Balance,
        4,
    );

    // Offline: enqueue with Persist actions, then a session attaches and takes everything.
    let now = Instant::now();
    let msg: Msg = Arc::new(Payload {
        qos: QoS::AtLeastOnce,
        _body: [0; 64],
    });
    let mut out: Vec<Msg> = Vec::with_capacity(BATCH);
    let mut g = c.benchmark_group("queue");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut q: Queue<u32, Msg> = Queue::new(config(QueueType::Fifo, DeliverMode::Fanout));
    g.bench_function("offline_persist_then_attach_take", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                black_box(q.enqueue(msg.clone(), now).outcome);
            }
            while let Some(a) = q.poll_action() {
                black_box(a);
            }
            let _ = q.add_session(1);
            out.clear();
            let _ = q.take(&1, BATCH, now, &mut out);
            while let Some(a) = q.poll_action() {
                black_box(a);
            }
            let _ = q.remove_session(&1, std::iter::empty(), now);
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
