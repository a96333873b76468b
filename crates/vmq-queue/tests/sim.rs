//! Deterministic simulation: a publisher, three sessions of one client id (balance and
//! fanout), inflight windows, acks with latency, random disconnects / reconnects, message
//! expiry and a simulated message store, all on a virtual clock. Checks conservation,
//! wake-ups, expiry, store consistency and that a run is reproducible from its seed.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::*;
use vmq_queue::{DeliverMode, QoS, Queue, QueueAction, QueueMessage, QueueState, QueueType};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Session {
    connected: bool,
    reconnect_at: Option<Instant>,
    inflight: Vec<(Instant, Msg)>,
    woken: bool,
    window: usize,
}

struct Outcome {
    trace: u64,
    delivered: usize,
    published: u32,
}

fn run(seed: u64, mode: DeliverMode, ty: QueueType, steps: u32) -> Outcome {
    let mut rng = Rng(seed | 1);
    let t0 = Instant::now();
    let mut now = t0;
    let mut c = cfg(20, 50, ty, mode);
    c.allow_multiple_sessions = true;
    let mut q: Queue<u32, Msg> = Queue::new(c);
    let mut store: HashSet<u32> = HashSet::new();
    let mut sessions: HashMap<u32, Session> = HashMap::new();
    for id in 1..=3u32 {
        sessions.insert(
            id,
            Session {
                window: 2 + id as usize * 2,
                ..Session::default()
            },
        );
    }
    let mut returned = 0u64;
    let mut next_id = 0u32;
    let mut delivered = 0usize;
    let mut trace = 0u64;
    let mut out = Vec::new();
    let mut acked: HashMap<u32, u32> = HashMap::new();

    let drain_actions = |q: &mut Queue<u32, Msg>, store: &mut HashSet<u32>| {
        while let Some(a) = q.poll_action() {
            match a {
                QueueAction::Persist(m) => assert!(store.insert(m.id), "double persist {}", m.id),
                QueueAction::Delete(m) => assert!(store.remove(&m.id), "unknown delete {}", m.id),
            }
        }
    };

    for _ in 0..steps {
        now += Duration::from_millis(10);
        // Reconnects.
        for id in 1..=3u32 {
            let s = sessions.get_mut(&id).expect("session");
            if !s.connected && s.reconnect_at.is_some_and(|t| t <= now) {
                q.add_session(id).expect("attach");
                s.connected = true;
                s.reconnect_at = None;
                s.woken = true;
            }
        }
        // Publisher.
        for _ in 0..rng.below(4) {
            let qos = if rng.below(4) == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            let exp =
                (rng.below(5) == 0).then(|| now + Duration::from_millis(50 + rng.below(2000)));
            let e = q.enqueue(
                Msg {
                    id: next_id,
                    qos,
                    exp,
                },
                now,
            );
            for w in e.wake {
                let s = sessions.get_mut(w).expect("woken session exists");
                assert!(s.connected, "woke a detached session");
                s.woken = true;
            }
            next_id += 1;
        }
        // Sessions: acks, takes, disconnects.
        for id in 1..=3u32 {
            let s = sessions.get_mut(&id).expect("session");
            if !s.connected {
                if s.reconnect_at.is_none() {
                    s.reconnect_at = Some(now + Duration::from_millis(rng.below(500)));
                }
                continue;
            }
            s.inflight.retain(|(at, m)| {
                if *at <= now {
                    *acked.entry(m.id).or_default() += 1;
                    false
                } else {
                    true
                }
            });
            let free = s.window - s.inflight.len();
            if free > 0 && (s.woken || rng.below(3) == 0) {
                out.clear();
                let n = q.take(&id, free, now, &mut out).expect("attached");
                assert!(n <= free);
                s.woken = false;
                for m in out.drain(..) {
                    assert!(!m.is_expired(now), "expired message delivered");
                    trace = trace
                        .wrapping_mul(31)
                        .wrapping_add(u64::from(m.id) * 7 + u64::from(id));
                    delivered += 1;
                    let ack = now + Duration::from_millis(10 + rng.below(90));
                    s.inflight.push((ack, m));
                }
            }
            if rng.below(200) == 0 {
                let unacked: Vec<Msg> = s.inflight.drain(..).map(|(_, m)| m).collect();
                returned += unacked.len() as u64;
                let d = q.remove_session(&id, unacked, now).expect("attached");
                for w in d.wake {
                    sessions.get_mut(w).expect("session").woken = true;
                }
                let s = sessions.get_mut(&id).expect("session");
                s.connected = false;
                s.reconnect_at = None;
            }
        }
        drain_actions(&mut q, &mut store);
        // Invariants.
        let m = *q.metrics();
        // Fanout copies a message per session (and counts per copy), so the identity only
        // holds message-for-message in balance mode.
        if mode == DeliverMode::Balance {
            assert_eq!(
                m.message_in + returned,
                m.message_out
                    + m.message_drop
                    + m.message_expired
                    + m.message_unhandled
                    + q.len() as u64,
                "conservation"
            );
        }
        for id in 1..=3u32 {
            if q.is_waiting(&id) {
                assert_eq!(
                    q.online_len(&id),
                    Some(0),
                    "waiting session with messages was not woken"
                );
            }
        }
        match q.state() {
            QueueState::Offline => assert_eq!(store.len(), q.offline_len()),
            QueueState::Online => assert!(store.len() <= q.len()),
            s => panic!("unexpected state {s:?}"),
        }
        assert!(q.offline_len() <= 50);
    }
    // Wind down: everybody leaves, the queue is expired by the caller.
    for id in 1..=3u32 {
        if sessions[&id].connected {
            let unacked: Vec<Msg> = sessions
                .get_mut(&id)
                .expect("session")
                .inflight
                .drain(..)
                .map(|(_, m)| m)
                .collect();
            q.remove_session(&id, unacked, now).expect("attached");
        }
    }
    assert_eq!(q.state(), QueueState::Offline);
    q.terminate();
    drain_actions(&mut q, &mut store);
    assert!(store.is_empty(), "store leak");
    if mode == DeliverMode::Balance {
        // A message is acked more than once only after being returned unacked.
        let dups: u64 = acked
            .values()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .sum();
        assert!(dups <= returned);
    }
    Outcome {
        trace,
        delivered,
        published: next_id,
    }
}

#[test]
fn simulation_balance_fifo() {
    for seed in [1, 2, 3, 42, 1234] {
        let o = run(seed, DeliverMode::Balance, QueueType::Fifo, 3000);
        assert!(
            o.delivered > o.published as usize / 2,
            "most messages delivered"
        );
    }
}

#[test]
fn simulation_fanout_fifo() {
    for seed in [5, 6, 7] {
        let o = run(seed, DeliverMode::Fanout, QueueType::Fifo, 3000);
        assert!(o.delivered > o.published as usize);
    }
}

#[test]
fn simulation_lifo() {
    for seed in [8, 9] {
        run(seed, DeliverMode::Balance, QueueType::Lifo, 2000);
        run(seed, DeliverMode::Fanout, QueueType::Lifo, 2000);
    }
}

#[test]
fn simulation_is_deterministic() {
    let a = run(77, DeliverMode::Balance, QueueType::Fifo, 1500);
    let b = run(77, DeliverMode::Balance, QueueType::Fifo, 1500);
    assert_eq!((a.trace, a.delivered), (b.trace, b.delivered));
}
