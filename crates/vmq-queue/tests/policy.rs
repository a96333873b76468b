//! Unit tests of each queue policy against VerneMQ's `vmq_queue.erl` behaviour: limits and
//! which end is dropped, ordering, expiry, QoS 0 offline, fanout vs balance, state
//! transitions, store actions, drain / migration, and the metrics.

mod common;

use std::time::Instant;

use common::*;
use vmq_queue::{
    DeliverMode::{Balance, Fanout},
    DropReason, EnqueueOutcome, Queue, QueueError, QueueState,
    QueueType::{Fifo, Lifo},
};

fn online(c: vmq_queue::QueueConfig) -> Queue<u32, Msg> {
    let mut q = Queue::new(c);
    q.add_session(1).expect("attach");
    q
}

#[test]
fn new_queue_is_offline_and_first_session_brings_it_online() {
    let mut q: Queue<u32, Msg> = Queue::new(cfg(10, 10, Fifo, Fanout));
    assert_eq!(q.state(), QueueState::Offline);
    let a = q.add_session(1).expect("attach");
    assert!(a.taken_over.is_empty());
    assert_eq!(q.state(), QueueState::Online);
    assert_eq!(q.session_count(), 1);
}

#[test]
fn under_pressure_from_half_of_max_online_messages() {
    let now = Instant::now();
    let mut q = online(cfg(4, 10, Fifo, Fanout));
    assert_eq!(q.room_before_pressure(), 2);
    q.enqueue(m(1), now);
    assert!(!q.under_pressure(), "1 of 4");
    assert_eq!(q.room_before_pressure(), 1);
    q.enqueue(m(2), now);
    assert!(q.under_pressure(), "2 of 4");
    assert_eq!(q.room_before_pressure(), 0);
    q.enqueue(m(3), now);
    assert_eq!(q.room_before_pressure(), 0, "never negative");
    assert_eq!(take_all_of(&mut q, 1, now), vec![1, 2, 3]);
    assert!(!q.under_pressure(), "drained");
    assert_eq!(q.room_before_pressure(), 2);
    // No limit, no pressure: nothing would be dropped.
    let mut unlimited = online(cfg(-1, 10, Fifo, Fanout));
    for i in 1..=100 {
        unlimited.enqueue(m(i), now);
    }
    assert!(!unlimited.under_pressure());
    assert_eq!(unlimited.room_before_pressure(), usize::MAX);
    // Offline messages do not count: no publisher waits for a client that is away.
    let mut offline: Queue<u32, Msg> = Queue::new(cfg(2, 10, Fifo, Fanout));
    for i in 1..=5 {
        offline.enqueue(m(i), now);
    }
    assert!(!offline.under_pressure());
}

#[test]
fn fifo_online_full_drops_the_incoming_message() {
    let now = Instant::now();
    let mut q = online(cfg(2, 10, Fifo, Fanout));
    for i in 1..=2 {
        assert_eq!(
            q.enqueue(m(i), now).outcome,
            EnqueueOutcome::Online {
                queued: 1,
                dropped: 0
            }
        );
    }
    let r = q.enqueue(m(3), now).outcome;
    assert_eq!(r, EnqueueOutcome::Dropped(DropReason::OnlineQueueFull));
    assert_eq!(take_all_of(&mut q, 1, now), vec![1, 2]);
    let mt = q.metrics();
    assert_eq!(
        (
            mt.message_in,
            mt.message_out,
            mt.message_drop,
            mt.drop_online_full
        ),
        (3, 2, 1, 1)
    );
}

#[test]
fn lifo_online_full_drops_the_oldest_and_delivers_newest_first() {
    let now = Instant::now();
    let mut q = online(cfg(2, 10, Lifo, Fanout));
    q.enqueue(m(1), now);
    q.enqueue(m(2), now);
    let r = q.enqueue(m(3), now).outcome;
    assert_eq!(
        r,
        EnqueueOutcome::Online {
            queued: 1,
            dropped: 1
        }
    );
    assert_eq!(take_all_of(&mut q, 1, now), vec![3, 2]);
    assert_eq!(q.metrics().drop_online_full, 1);
}

#[test]
fn minus_one_is_unlimited() {
    let now = Instant::now();
    let mut q = online(cfg(-1, -1, Fifo, Fanout));
    for i in 0..5000 {
        assert!(q.enqueue(m(i), now).outcome.is_accepted());
    }
    assert_eq!(q.online_len(&1), Some(5000));
    let mut off: Queue<u32, Msg> = Queue::new(cfg(-1, -1, Fifo, Fanout));
    for i in 0..5000 {
        assert!(off.enqueue(m(i), now).outcome.is_accepted());
    }
    assert_eq!(off.offline_len(), 5000);
    assert_eq!(off.metrics().message_drop, 0);
}

#[test]
fn zero_online_blocks_all_delivery_fifo_and_lifo() {
    let now = Instant::now();
    for ty in [Fifo, Lifo] {
        let mut q = online(cfg(0, 10, ty, Fanout));
        let r = q.enqueue(m(1), now).outcome;
        assert_eq!(
            r,
            EnqueueOutcome::Dropped(DropReason::OnlineQueueFull),
            "{ty:?}"
        );
        assert_eq!(take_all_of(&mut q, 1, now), Vec::<u32>::new());
        assert_eq!(q.metrics().message_drop, 1);
    }
}

#[test]
fn zero_offline_stores_nothing() {
    let now = Instant::now();
    for ty in [Fifo, Lifo] {
        let mut q: Queue<u32, Msg> = Queue::new(cfg(10, 0, ty, Fanout));
        let r = q.enqueue(m(1), now).outcome;
        assert_eq!(r, EnqueueOutcome::Dropped(DropReason::OfflineQueueFull));
        assert_eq!(q.offline_len(), 0);
        assert!(actions(&mut q).is_empty(), "nothing persisted");
        assert_eq!(q.metrics().drop_offline_full, 1);
    }
}

#[test]
fn qos0_offline_is_unhandled_never_stored() {
    let now = Instant::now();
    let mut q: Queue<u32, Msg> = Queue::new(cfg(10, 10, Fifo, Fanout));
    assert_eq!(
        q.enqueue(m0(1), now).outcome,
        EnqueueOutcome::Dropped(DropReason::Qos0Offline)
    );
    assert_eq!(
        q.enqueue(m(2), now).outcome,
        EnqueueOutcome::Offline { evicted: false }
    );
    assert_eq!(actions(&mut q), vec![('P', 2)]);
    let mt = q.metrics();
    assert_eq!(
        (
            mt.message_unhandled,
            mt.unhandled_qos0_offline,
            mt.message_drop
        ),
        (1, 1, 0)
    );
    // QoS 0 while online is queued normally.
    q.add_session(1).expect("attach");
    assert!(q.enqueue(m0(3), now).outcome.is_accepted());
    assert_eq!(take_all_of(&mut q, 1, now), vec![2, 3]);
}

#[test]
fn qos0_in_online_queue_is_lost_when_last_session_leaves() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    q.enqueue(m0(1), now);
    q.enqueue(m(2), now);
    let d = q.remove_session(&1, [], now).expect("attached");
    assert_eq!(d.state, QueueState::Offline);
    assert_eq!(q.offline_len(), 1);
    assert_eq!(q.metrics().unhandled_qos0_offline, 1);
    assert_eq!(actions(&mut q), vec![('P', 2)]);
}

#[test]
fn offline_fifo_full_drops_new_lifo_drops_oldest_with_store_actions() {
    let now = Instant::now();
    let mut f: Queue<u32, Msg> = Queue::new(cfg(10, 2, Fifo, Fanout));
    for i in 1..=3 {
        f.enqueue(m(i), now);
    }
    assert_eq!(actions(&mut f), vec![('P', 1), ('P', 2)]);
    f.add_session(1).expect("attach");
    assert_eq!(take_all_of(&mut f, 1, now), vec![1, 2]);
    assert_eq!(actions(&mut f), vec![('D', 1), ('D', 2)]);

    let mut l: Queue<u32, Msg> = Queue::new(cfg(10, 2, Lifo, Fanout));
    for i in 1..=3 {
        l.enqueue(m(i), now);
    }
    assert_eq!(
        actions(&mut l),
        vec![('P', 1), ('P', 2), ('D', 1), ('P', 3)]
    );
    assert_eq!(l.metrics().drop_offline_full, 1);
    l.add_session(1).expect("attach");
    assert_eq!(take_all_of(&mut l, 1, now), vec![3, 2]);
}

#[test]
fn clean_queue_does_not_persist() {
    let now = Instant::now();
    let mut c = cfg(10, 10, Fifo, Fanout);
    c.persistent = false;
    let mut q: Queue<u32, Msg> = Queue::new(c);
    q.enqueue(m(1), now);
    assert!(actions(&mut q).is_empty());
}

#[test]
fn expired_at_enqueue_is_dropped_and_counted() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    let r = q.enqueue(mexp(1, now), now).outcome;
    assert_eq!(r, EnqueueOutcome::Dropped(DropReason::Expired));
    assert_eq!(
        (q.metrics().message_in, q.metrics().message_expired),
        (1, 1)
    );
}

#[test]
fn messages_expiring_in_queue_are_skipped_at_take() {
    let t0 = Instant::now();
    let mut q: Queue<u32, Msg> = Queue::new(cfg(10, 10, Fifo, Fanout));
    q.enqueue(mexp(1, t0 + secs(5)), t0);
    q.enqueue(m(2), t0);
    q.enqueue(mexp(3, t0 + secs(50)), t0);
    actions(&mut q);
    q.add_session(1).expect("attach");
    let mut out = Vec::new();
    let n = q.take(&1, 10, t0 + secs(10), &mut out).expect("attached");
    assert_eq!((n, ids(&out)), (2, vec![2, 3]));
    assert_eq!(q.metrics().message_expired, 1);
    assert_eq!(actions(&mut q), vec![('D', 1), ('D', 2), ('D', 3)]);
}

#[test]
fn expire_purges_all_buffers() {
    let t0 = Instant::now();
    let mut q: Queue<u32, Msg> = Queue::new(cfg(10, 10, Fifo, Fanout));
    q.enqueue(mexp(1, t0 + secs(5)), t0);
    q.enqueue(m(2), t0);
    actions(&mut q);
    assert_eq!(q.expire(t0 + secs(4)), 0);
    assert_eq!(q.expire(t0 + secs(5)), 1);
    assert_eq!(actions(&mut q), vec![('D', 1)]);
    assert_eq!(q.offline_len(), 1);
    // Expiry frees space in a full offline queue.
    let mut f: Queue<u32, Msg> = Queue::new(cfg(10, 1, Fifo, Fanout));
    f.enqueue(mexp(1, t0 + secs(1)), t0);
    assert!(!f.enqueue(m(2), t0).outcome.is_accepted());
    f.expire(t0 + secs(2));
    assert!(f.enqueue(m(3), t0 + secs(2)).outcome.is_accepted());
}

#[test]
fn take_respects_max_and_order() {
    let now = Instant::now();
    let mut q = online(cfg(-1, 10, Fifo, Fanout));
    for i in 0..10 {
        q.enqueue(m(i), now);
    }
    let mut out = Vec::new();
    assert_eq!(q.take(&1, 3, now, &mut out), Ok(3));
    assert_eq!(q.take(&1, 0, now, &mut out), Ok(0));
    assert_eq!(q.take(&1, 4, now, &mut out), Ok(4));
    assert_eq!(ids(&out), vec![0, 1, 2, 3, 4, 5, 6]);
    assert!(!q.is_waiting(&1));
    assert_eq!(
        q.take(&9, 4, now, &mut out),
        Err(QueueError::UnknownSession)
    );
}

#[test]
fn waiting_session_is_woken_once() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    assert!(take_all_of(&mut q, 1, now).is_empty());
    assert!(q.is_waiting(&1));
    assert_eq!(q.enqueue(m(1), now).wake, &[1]);
    assert!(q.enqueue(m(2), now).wake.is_empty(), "already woken");
    assert_eq!(take_all_of(&mut q, 1, now), vec![1, 2]);
    assert_eq!(q.enqueue(m(3), now).wake, &[1]);
}

#[test]
fn full_queue_does_not_wake() {
    let now = Instant::now();
    let mut q = online(cfg(0, 10, Fifo, Fanout));
    take_all_of(&mut q, 1, now);
    assert!(q.enqueue(m(1), now).wake.is_empty());
}

#[test]
fn fanout_gives_every_session_every_message() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    q.add_session(2).expect("attach");
    take_all_of(&mut q, 1, now);
    take_all_of(&mut q, 2, now);
    let e = q.enqueue(m(1), now);
    assert_eq!(
        e.outcome,
        EnqueueOutcome::Online {
            queued: 2,
            dropped: 0
        }
    );
    assert_eq!(e.wake, &[1, 2]);
    q.enqueue(m(2), now);
    assert_eq!(take_all_of(&mut q, 1, now), vec![1, 2]);
    assert_eq!(take_all_of(&mut q, 2, now), vec![1, 2]);
    assert_eq!(q.metrics().message_out, 4);
}

#[test]
fn fanout_partial_drop_when_one_session_is_full() {
    let now = Instant::now();
    let mut q = online(cfg(1, 10, Fifo, Fanout));
    q.add_session(2).expect("attach");
    q.enqueue(m(1), now);
    take_all_of(&mut q, 2, now);
    let r = q.enqueue(m(2), now).outcome;
    assert_eq!(
        r,
        EnqueueOutcome::Online {
            queued: 1,
            dropped: 1
        }
    );
}

#[test]
fn balance_gives_each_message_to_one_session() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Balance));
    q.add_session(2).expect("attach");
    q.add_session(3).expect("attach");
    for i in 0..9 {
        assert_eq!(
            q.enqueue(m(i), now).outcome,
            EnqueueOutcome::Online {
                queued: 1,
                dropped: 0
            }
        );
    }
    let a = take_all_of(&mut q, 1, now);
    let b = take_all_of(&mut q, 2, now);
    let c = take_all_of(&mut q, 3, now);
    assert_eq!((a.len(), b.len(), c.len()), (3, 3, 3));
    let mut all: Vec<u32> = a.into_iter().chain(b).chain(c).collect();
    all.sort_unstable();
    assert_eq!(all, (0..9).collect::<Vec<_>>());
}

#[test]
fn balance_respreads_messages_of_a_leaving_session() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Balance));
    q.add_session(2).expect("attach");
    for i in 0..4 {
        q.enqueue(m(i), now);
    }
    take_all_of(&mut q, 2, now);
    // Session 1 leaves with 2 queued messages and 1 unacked: all go to session 2.
    let d = q.remove_session(&1, [m(100)], now).expect("attached");
    assert_eq!(d.state, QueueState::Online);
    assert_eq!(d.wake, &[2]);
    assert_eq!(take_all_of(&mut q, 2, now), vec![100, 0, 2]);
}

#[test]
fn fanout_leaving_session_with_others_drops_its_copies_silently() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    q.add_session(2).expect("attach");
    q.enqueue(m(1), now);
    q.remove_session(&1, [m(0)], now).expect("attached");
    assert_eq!(q.metrics().message_unhandled, 0);
    assert_eq!(take_all_of(&mut q, 2, now), vec![1]);
}

#[test]
fn persistent_last_session_leaving_goes_offline_unacked_first() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    q.enqueue(m(3), now);
    q.enqueue(m(4), now);
    let d = q.remove_session(&1, [m(1), m(2)], now).expect("attached");
    assert_eq!(d.state, QueueState::Offline);
    assert_eq!(
        actions(&mut q),
        vec![('P', 1), ('P', 2), ('P', 3), ('P', 4)]
    );
    q.add_session(7).expect("attach");
    assert_eq!(take_all_of(&mut q, 7, now), vec![1, 2, 3, 4]);
}

#[test]
fn offline_limit_applies_when_going_offline() {
    let now = Instant::now();
    let mut q = online(cfg(10, 2, Fifo, Fanout));
    for i in 1..=4 {
        q.enqueue(m(i), now);
    }
    q.remove_session(&1, [], now).expect("attached");
    assert_eq!(q.offline_len(), 2);
    assert_eq!(q.metrics().drop_offline_full, 2);
}

#[test]
fn clean_queue_terminates_when_last_session_leaves() {
    let now = Instant::now();
    let mut c = cfg(10, 10, Fifo, Fanout);
    c.persistent = false;
    let mut q = online(c);
    q.enqueue(m(1), now);
    q.enqueue(m0(2), now);
    let d = q.remove_session(&1, [m(0)], now).expect("attached");
    assert_eq!(d.state, QueueState::Terminated);
    assert_eq!(q.metrics().unhandled_discarded, 3);
    assert_eq!(
        q.enqueue(m(3), now).outcome,
        EnqueueOutcome::Dropped(DropReason::Terminated)
    );
    assert_eq!(q.add_session(1), Err(QueueError::Terminated));
    assert_eq!(q.metrics().refused_terminated, 1);
    assert_eq!(q.metrics().message_in, 2);
}

#[test]
fn takeover_when_multiple_sessions_not_allowed() {
    let now = Instant::now();
    let mut c = cfg(10, 10, Fifo, Fanout);
    c.allow_multiple_sessions = false;
    let mut q = online(c);
    q.enqueue(m(1), now);
    q.enqueue(m0(2), now);
    let a = q.add_session(2).expect("attach");
    assert_eq!(a.taken_over, vec![1]);
    assert_eq!(a.moved, 1);
    assert_eq!(q.sessions().copied().collect::<Vec<_>>(), vec![2]);
    // QoS 0 is lost in the takeover (it passes through the offline queue, as in VerneMQ).
    assert_eq!(take_all_of(&mut q, 2, now), vec![1]);
    assert_eq!(q.metrics().unhandled_qos0_offline, 1);
}

#[test]
fn add_same_session_twice_is_noop() {
    let mut q: Queue<u32, Msg> = online(cfg(10, 10, Fifo, Fanout));
    let a = q.add_session(1).expect("attach");
    assert!(a.taken_over.is_empty());
    assert_eq!(q.session_count(), 1);
}

#[test]
fn online_limit_applies_when_moving_offline_messages_unless_overridden() {
    let now = Instant::now();
    for (over, kept) in [(false, 2usize), (true, 5)] {
        let mut c = cfg(2, 10, Fifo, Fanout);
        c.override_max_online_messages = over;
        let mut q: Queue<u32, Msg> = Queue::new(c);
        for i in 1..=5 {
            q.enqueue(m(i), now);
        }
        let a = q.add_session(1).expect("attach");
        assert_eq!(a.moved, 5);
        assert_eq!(q.online_len(&1), Some(kept));
        assert_eq!(q.metrics().drop_online_full, (5 - kept) as u64);
        // After the move the normal limit applies again.
        if over {
            assert!(!q.enqueue(m(9), now).outcome.is_accepted());
        }
    }
}

#[test]
fn dropped_persisted_messages_are_deleted_from_store() {
    let now = Instant::now();
    let mut q: Queue<u32, Msg> = Queue::new(cfg(2, 10, Fifo, Fanout));
    for i in 1..=4 {
        q.enqueue(m(i), now);
    }
    q.add_session(1).expect("attach");
    let acts = actions(&mut q);
    assert_eq!(
        acts,
        vec![('P', 1), ('P', 2), ('P', 3), ('P', 4), ('D', 3), ('D', 4)]
    );
}

#[test]
fn terminate_discards_everything() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    q.add_session(2).expect("attach");
    q.enqueue(m(1), now);
    let ids = q.terminate();
    assert_eq!(ids, vec![1, 2]);
    assert_eq!(q.state(), QueueState::Terminated);
    assert_eq!(q.metrics().unhandled_discarded, 2);
    assert!(q.is_empty());
    // Offline persisted messages get deleted.
    let mut p: Queue<u32, Msg> = Queue::new(cfg(10, 10, Fifo, Fanout));
    p.enqueue(m(5), now);
    p.terminate();
    assert_eq!(actions(&mut p), vec![('P', 5), ('D', 5)]);
}

#[test]
fn drain_migrates_in_batches_with_ack_and_nack() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    assert_eq!(
        q.start_drain(),
        Err(QueueError::InvalidState(QueueState::Online))
    );
    q.remove_session(&1, [], now).expect("attached");
    for i in 1..=5 {
        q.enqueue(m(i), now);
    }
    actions(&mut q);
    q.start_drain().expect("offline");
    assert_eq!(q.state(), QueueState::Draining);
    assert_eq!(q.add_session(2), Err(QueueError::Draining));
    let mut out = Vec::new();
    assert_eq!(q.drain_batch(2, &mut out), Ok(2));
    q.drain_nack(false);
    assert!(actions(&mut q).is_empty());
    out.clear();
    q.drain_batch(2, &mut out).expect("draining");
    assert_eq!(ids(&out), vec![1, 2]);
    assert_eq!(q.drain_ack(), 2);
    assert_eq!(actions(&mut q), vec![('D', 1), ('D', 2)]);
    // New messages during the drain are kept (and drained too).
    assert_eq!(
        q.enqueue(m(6), now).outcome,
        EnqueueOutcome::Offline { evicted: false }
    );
    assert_eq!(q.finish_drain(), Err(QueueError::NotEmpty(4)));
    out.clear();
    q.drain_batch(100, &mut out).expect("draining");
    assert_eq!(ids(&out), vec![3, 4, 5, 6]);
    q.drain_ack();
    q.finish_drain().expect("empty");
    assert_eq!(q.state(), QueueState::Terminated);
    assert_eq!(q.metrics().message_out, 6);
}

#[test]
fn drain_abort_returns_to_offline() {
    let now = Instant::now();
    let mut q: Queue<u32, Msg> = Queue::new(cfg(10, 10, Fifo, Fanout));
    q.enqueue(m(1), now);
    q.start_drain().expect("offline");
    let mut out = Vec::new();
    q.drain_batch(10, &mut out).expect("draining");
    q.drain_nack(true);
    assert_eq!(q.state(), QueueState::Offline);
    q.add_session(1).expect("attach");
    assert_eq!(take_all_of(&mut q, 1, now), vec![1]);
}

#[test]
fn take_all_and_insert_batch_move_a_queue_in_order() {
    let now = Instant::now();
    for ty in [Fifo, Lifo] {
        let mut a: Queue<u32, Msg> = Queue::new(cfg(10, 10, ty, Fanout));
        for i in 1..=4 {
            a.enqueue(m(i), now);
        }
        let mut moved = Vec::new();
        assert_eq!(a.take_all(&mut moved), Ok(4));
        assert_eq!(ids(&moved), vec![1, 2, 3, 4]);
        assert_eq!(actions(&mut a).iter().filter(|a| a.0 == 'D').count(), 4);
        let mut b: Queue<u32, Msg> = Queue::new(cfg(10, 10, ty, Fanout));
        let r = b.insert_batch(moved, now);
        assert_eq!((r.online, r.offline, r.dropped), (0, 4, 0));
        b.add_session(1).expect("attach");
        let expect = if ty == Fifo {
            vec![1, 2, 3, 4]
        } else {
            vec![4, 3, 2, 1]
        };
        assert_eq!(take_all_of(&mut b, 1, now), expect);
    }
    let mut on = online(cfg(10, 10, Fifo, Fanout));
    assert_eq!(
        on.take_all(&mut Vec::new()),
        Err(QueueError::InvalidState(QueueState::Online))
    );
}

#[test]
fn insert_batch_online_wakes() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    take_all_of(&mut q, 1, now);
    let r = q.insert_batch([m(1), m(2)], now);
    assert_eq!((r.online, r.wake), (2, &[1][..]));
}

#[test]
fn unknown_session_is_an_error() {
    let now = Instant::now();
    let mut q = online(cfg(10, 10, Fifo, Fanout));
    assert!(matches!(
        q.remove_session(&5, [], now),
        Err(QueueError::UnknownSession)
    ));
}

#[test]
fn limit_from_conf() {
    use vmq_queue::Limit;
    assert_eq!(Limit::from_conf(-1), Limit::Unlimited);
    assert_eq!(Limit::from_conf(0), Limit::Max(0));
    assert_eq!(Limit::from_conf(1000), Limit::Max(1000));
}

#[test]
fn defaults_match_vernemq() {
    let c = vmq_queue::QueueConfig::default();
    assert_eq!(c.max_online_messages, vmq_queue::Limit::Max(1000));
    assert_eq!(c.max_offline_messages, vmq_queue::Limit::Max(1000));
    assert_eq!((c.queue_type, c.deliver_mode), (Fifo, Fanout));
    assert!(!c.allow_multiple_sessions && !c.override_max_online_messages);
}
