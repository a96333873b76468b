//! Property tests: random operation sequences against the queue's invariants (message
//! conservation in the metrics, limits, store consistency, ordering, expiry) and the
//! fifo / lifo and fanout / balance policies.

mod common;

use std::collections::HashSet;
use std::time::Instant;

use common::*;
use proptest::prelude::*;
use vmq_queue::{DeliverMode, Limit, QoS, Queue, QueueAction, QueueConfig, QueueState, QueueType};

#[derive(Debug, Clone)]
enum Op {
    Enqueue { qos0: bool, ttl: Option<u8> },
    Take(usize),
    Advance(u8),
    Remove,
    Add,
    Expire,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), proptest::option::of(0u8..20)).prop_map(|(qos0, ttl)| Op::Enqueue { qos0, ttl }),
        3 => (0usize..5).prop_map(Op::Take),
        1 => (0u8..10).prop_map(Op::Advance),
        1 => Just(Op::Remove),
        1 => Just(Op::Add),
        1 => Just(Op::Expire),
    ]
}

fn limit() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-1i64), Just(0), 1i64..6]
}

fn config() -> impl Strategy<Value = QueueConfig> {
    (
        limit(),
        limit(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(on, off, lifo, persistent, over)| QueueConfig {
            max_online_messages: Limit::from_conf(on),
            max_offline_messages: Limit::from_conf(off),
            queue_type: if lifo {
                QueueType::Lifo
            } else {
                QueueType::Fifo
            },
            deliver_mode: DeliverMode::Fanout,
            allow_multiple_sessions: false,
            override_max_online_messages: over,
            persistent,
        })
}

fn within(l: Limit, n: usize) -> bool {
    match l {
        Limit::Unlimited => true,
        Limit::Max(m) => n <= m,
    }
}

fn apply_actions(q: &mut Queue<u32, Msg>, store: &mut HashSet<u32>) -> Result<(), TestCaseError> {
    while let Some(a) = q.poll_action() {
        match a {
            QueueAction::Persist(m) => {
                prop_assert!(m.qos != QoS::AtMostOnce, "QoS 0 persisted");
                prop_assert!(store.insert(m.id), "persisted twice: {}", m.id)
            }
            QueueAction::Delete(m) => prop_assert!(store.remove(&m.id), "delete unknown {}", m.id),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// One session coming and going, random config: every message is accounted for, limits
    /// hold, the store mirrors the queue, fifo order is global, lifo batches are newest-first,
    /// and nothing expired is delivered.
    #[test]
    fn single_session_invariants(c in config(), ops in proptest::collection::vec(op(), 1..120)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut q: Queue<u32, Msg> = Queue::new(c.clone());
        let mut store = HashSet::new();
        let mut next = 0u32;
        let mut last_fifo: Option<u32> = None;
        let mut attached = false;
        for o in ops {
            match o {
                Op::Enqueue { qos0, ttl } => {
                    let exp = ttl.map(|s| now + secs(u64::from(s)));
                    let qos = if qos0 { QoS::AtMostOnce } else { QoS::AtLeastOnce };
                    q.enqueue(Msg { id: next, qos, exp }, now);
                    next += 1;
                }
                Op::Take(n) if attached => {
                    let mut out = Vec::new();
                    let got = q.take(&1, n, now, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(got, out.len());
                    prop_assert!(got <= n);
                    for w in out.windows(2) {
                        match c.queue_type {
                            QueueType::Fifo => prop_assert!(w[0].id < w[1].id),
                            QueueType::Lifo => prop_assert!(w[0].id > w[1].id),
                        }
                    }
                    for msg in &out {
                        prop_assert!(!msg.is_expired_at(now), "expired delivered");
                        if c.queue_type == QueueType::Fifo {
                            prop_assert!(!matches!(last_fifo, Some(l) if msg.id <= l), "fifo order");
                            last_fifo = Some(msg.id);
                        }
                    }
                }
                Op::Take(_) => {}
                Op::Advance(s) => now += secs(u64::from(s)),
                Op::Remove if attached => {
                    let d = q.remove_session(&1, [], now).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    let expect = if c.persistent { QueueState::Offline } else { QueueState::Terminated };
                    prop_assert_eq!(d.state, expect);
                    attached = false;
                }
                Op::Remove => {}
                Op::Add => {
                    if q.add_session(1).is_ok() {
                        attached = true;
                    }
                }
                Op::Expire => { q.expire(now); }
            }
            apply_actions(&mut q, &mut store)?;
            let m = *q.metrics();
            prop_assert_eq!(m.message_in, m.message_out + m.message_drop + m.message_expired + m.message_unhandled + q.len() as u64);
            prop_assert_eq!(m.message_drop, m.drop_online_full + m.drop_offline_full);
            prop_assert_eq!(m.message_unhandled, m.unhandled_qos0_offline + m.unhandled_discarded);
            prop_assert!(within(c.max_offline_messages, q.offline_len()));
            if !c.override_max_online_messages {
                prop_assert!(within(c.max_online_messages, q.online_len(&1).unwrap_or(0)));
            }
            prop_assert!(store.len() <= q.len());
            if !c.persistent { prop_assert!(store.is_empty()); }
            if q.state() == QueueState::Offline && c.persistent {
                prop_assert_eq!(store.len(), q.offline_len(), "offline queue fully persisted");
            }
        }
        q.terminate();
        apply_actions(&mut q, &mut store)?;
        prop_assert!(store.is_empty(), "store leak: {:?}", store);
    }

    /// Fifo keeps the first `max` messages, lifo the last `max`; delivery order oldest-first
    /// resp. newest-first; the other messages are dropped and counted.
    #[test]
    fn which_end_is_dropped(max in 0usize..8, n in 0u32..20, lifo: bool, offline: bool) {
        let now = Instant::now();
        let ty = if lifo { QueueType::Lifo } else { QueueType::Fifo };
        let (on, off) = if offline { (-1, max as i64) } else { (max as i64, -1) };
        let mut q: Queue<u32, Msg> = Queue::new(cfg(on, off, ty, DeliverMode::Fanout));
        if !offline { q.add_session(1).map_err(|e| TestCaseError::fail(e.to_string()))?; }
        for i in 0..n { q.enqueue(m(i), now); }
        if offline { q.add_session(1).map_err(|e| TestCaseError::fail(e.to_string()))?; }
        let kept = (max as u32).min(n);
        let expect: Vec<u32> = if lifo { (n - kept..n).rev().collect() } else { (0..kept).collect() };
        prop_assert_eq!(take_all_of(&mut q, 1, now), expect);
        prop_assert_eq!(q.metrics().message_drop, u64::from(n - kept));
    }

    /// Fanout: every session receives every message in order. Balance: each message reaches
    /// exactly one session, and the shares differ by at most one.
    #[test]
    fn fanout_vs_balance(k in 1u32..5, n in 0u32..60, balance: bool, take_every in 1usize..7) {
        let now = Instant::now();
        let mode = if balance { DeliverMode::Balance } else { DeliverMode::Fanout };
        let mut q: Queue<u32, Msg> = Queue::new(cfg(-1, -1, QueueType::Fifo, mode));
        for s in 0..k { q.add_session(s).map_err(|e| TestCaseError::fail(e.to_string()))?; }
        let mut got: Vec<Vec<u32>> = vec![Vec::new(); k as usize];
        let mut countdown = 0usize;
        for i in 0..n {
            q.enqueue(m(i), now);
            countdown = if countdown == 0 { take_every - 1 } else { countdown - 1 };
            if countdown == 0 {
                for s in 0..k { got[s as usize].extend(take_all_of(&mut q, s, now)); }
            }
        }
        for s in 0..k { got[s as usize].extend(take_all_of(&mut q, s, now)); }
        if balance {
            let mut all: Vec<u32> = got.iter().flatten().copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
            let lens: Vec<usize> = got.iter().map(Vec::len).collect();
            let (mn, mx) = (lens.iter().min().copied().unwrap_or(0), lens.iter().max().copied().unwrap_or(0));
            prop_assert!(mx - mn <= 1, "{:?}", lens);
        } else {
            for g in &got { prop_assert_eq!(g, &(0..n).collect::<Vec<_>>()); }
        }
        prop_assert_eq!(q.metrics().message_out, if balance { u64::from(n) } else { u64::from(n * k) });
    }
}

trait ExpiredAt {
    fn is_expired_at(&self, now: Instant) -> bool;
}

impl ExpiredAt for Msg {
    fn is_expired_at(&self, now: Instant) -> bool {
        self.exp.is_some_and(|t| t <= now)
    }
}
