//! `Subscriber`: everything the broker keeps for one client id (mountpoint + client id): its
//! queue, the connections attached to it, its subscriptions, and the QoS 1/2 messages that were
//! in flight when its last connection ended. The router stores `SubscriberRef`s, so a match
//! reaches the queue without another lookup.

use std::{
    fmt,
    hash::{Hash, Hasher},
    sync::{
        atomic::{AtomicBool, AtomicU8, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use vmq_codec::{QoS, ReasonCode, RetainHandling};
use vmq_queue::{Queue, QueueAction, QueueMessage};
use vmq_session::{Delivery, Inflight, Message};

/// A subscriber's identity: mountpoint and client id (VerneMQ's `subscriber_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriberId {
    /// Mountpoint of the listener the client connected to ("" for none).
    pub mountpoint: Arc<str>,
    /// Client identifier.
    pub client_id: Arc<str>,
}

impl fmt::Display for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mountpoint.is_empty() {
            f.write_str(&self.client_id)
        } else {
            write!(f, "{}/{}", self.mountpoint, self.client_id)
        }
    }
}

/// Connection id: one per accepted socket.
pub type ConnId = u64;

/// A delivery as it waits in a queue, with the QoS it will go out with.
#[derive(Debug, Clone)]
pub struct QueuedDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// Outgoing QoS (after downgrade or `upgrade_outgoing_qos`).
    pub qos: QoS,
}

impl QueueMessage for QueuedDelivery {
    fn qos(&self) -> QoS {
        self.qos
    }

    fn expires_at(&self) -> Option<Instant> {
        self.delivery.msg.expires_at
    }
}

/// Options of one subscription, stored in the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubOptions {
    /// Granted QoS.
    pub qos: QoS,
    /// MQTT 5 no local.
    pub no_local: bool,
    /// MQTT 5 retain as published.
    pub retain_as_published: bool,
    /// MQTT 5 retain handling.
    pub retain_handling: RetainHandling,
    /// MQTT 5 subscription identifier.
    pub subscription_id: Option<u32>,
}

/// A command to a connection task.
#[derive(Debug)]
pub enum Control {
    /// End the connection with this reason (takeover, administrative disconnect, shutdown);
    /// the sender is told once the connection has detached from its queue.
    Disconnect(ReasonCode, tokio::sync::oneshot::Sender<()>),
}

/// What a connection task is told through its [`ConnInbox`].
#[derive(Debug)]
pub enum Signal {
    /// A command.
    Command(Control),
    /// The queue has messages for the connection.
    Deliveries,
    /// A subscriber this connection's publishes were held back for has room again.
    Room,
}

/// The queue has messages for the connection.
const DELIVERIES: u8 = 1;
/// At least one command waits in the mailbox.
const COMMANDS: u8 = 2;
/// A subscriber this connection waits for has room again.
const ROOM: u8 = 4;

/// What the broker and a connection task share: one allocation per connection, with no
/// future to keep (the connection polls it directly), so an idle connection pays a few dozen
/// bytes for being reachable.
#[derive(Debug)]
struct ConnSignal {
    waker: AtomicWaker,
    /// `DELIVERIES | COMMANDS | ROOM`, set by the broker and cleared by the connection.
    flags: AtomicU8,
    /// Commands are rare (takeover, admin disconnect, shutdown); `None` once the connection
    /// task is gone.
    commands: Mutex<Option<Vec<Control>>>,
}

impl ConnSignal {
    fn raise(&self, flag: u8) {
        if self.flags.fetch_or(flag, Ordering::AcqRel) & flag == 0 {
            self.waker.wake();
        }
    }
}

/// How the broker reaches one connection task: wake it for deliveries, or send it a command.
#[derive(Debug, Clone)]
pub struct ConnHandle(Arc<ConnSignal>);

impl ConnHandle {
    /// Tells the connection its queue has messages for it.
    pub fn wake(&self) {
        self.0.raise(DELIVERIES);
    }

    /// Tells the connection that a subscriber it waits for has room again.
    pub fn room(&self) {
        self.0.raise(ROOM);
    }

    /// True when both are handles of the same connection.
    pub fn same(&self, other: &ConnHandle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Delivers `command`; gives it back when the connection task is gone.
    pub fn send(&self, command: Control) -> Result<(), Control> {
        let mut queue = self.0.commands.lock();
        match queue.as_mut() {
            Some(q) => {
                q.push(command);
                drop(queue);
                self.0.raise(COMMANDS);
                Ok(())
            }
            None => Err(command),
        }
    }
}

/// The connection task's end of its [`ConnHandle`]s; closes the mailbox when dropped.
#[derive(Debug)]
pub struct ConnInbox(Arc<ConnSignal>);

/// A handle for the broker and the inbox for the connection task.
pub fn conn_channel() -> (ConnHandle, ConnInbox) {
    let signal = Arc::new(ConnSignal {
        waker: AtomicWaker::new(),
        flags: AtomicU8::new(0),
        commands: Mutex::new(Some(Vec::new())),
    });
    (ConnHandle(signal.clone()), ConnInbox(signal))
}

impl ConnInbox {
    /// The next signal (commands, then room, then deliveries); registers the task to be woken
    /// otherwise. Nothing is lost between polls: what this poll does not return stays raised,
    /// and a wake that finds its flag already set was seen by a wake before.
    pub fn poll_signal(&mut self, cx: &mut Context<'_>) -> Poll<Signal> {
        self.0.waker.register(cx.waker());
        let flags = self.0.flags.swap(0, Ordering::AcqRel);
        let command = if flags & COMMANDS != 0 {
            self.next_command()
        } else {
            None
        };
        // A command flag without a command (the mailbox was closed) is simply cleared.
        let mut rest = flags & !COMMANDS;
        let signal = match command {
            Some((command, more)) => {
                if more {
                    rest |= COMMANDS;
                }
                Signal::Command(command)
            }
            None if flags & ROOM != 0 => {
                rest &= !ROOM;
                Signal::Room
            }
            None if flags & DELIVERIES != 0 => {
                rest &= !DELIVERIES;
                Signal::Deliveries
            }
            None => return Poll::Pending,
        };
        if rest != 0 {
            // The task is running: no wake needed.
            self.0.flags.fetch_or(rest, Ordering::AcqRel);
        }
        Poll::Ready(signal)
    }

    /// The oldest queued command, and whether more wait.
    fn next_command(&self) -> Option<(Control, bool)> {
        let mut queue = self.0.commands.lock();
        let q = queue.as_mut().filter(|q| !q.is_empty())?;
        let command = q.remove(0);
        Some((command, !q.is_empty()))
    }

    /// The connection is gone: commands sent from now on are given back, and those still
    /// queued are dropped with their acknowledgement senders, which tells their senders.
    pub fn close(&mut self) {
        self.0.commands.lock().take();
    }
}

impl Drop for ConnInbox {
    fn drop(&mut self) {
        self.close();
    }
}

/// How long a subscriber may take nothing from its queue while publishers wait for room
/// before it counts as stalled (and publishers are no longer held back for it).
pub const STALLED_AFTER: Duration = Duration::from_millis(50);

/// Publishers held back for one subscriber, and when it last took messages.
#[derive(Debug)]
pub struct RoomWaiters {
    publishers: Vec<ConnHandle>,
    last_take: Instant,
}

/// The mutable part of a subscriber, under its lock.
#[derive(Debug)]
pub struct SubscriberState {
    /// The queue (sessions are identified by connection id).
    pub queue: Queue<ConnId, QueuedDelivery>,
    /// Connections attached now.
    pub conns: Vec<(ConnId, ConnHandle)>,
    /// Subscriptions: the filter as sent (with `$share/...`) and its options.
    pub subscriptions: Vec<(String, SubOptions)>,
    /// QoS 1/2 messages in flight when the last connection ended (resent on resume).
    pub inflight: Vec<Inflight>,
    /// Keeps its state while offline (3.x clean session false, MQTT 5 session expiry > 0).
    pub persistent: bool,
    /// Incremented at every connect; timers (session expiry, delayed will) compare it.
    pub generation: u64,
    /// MQTT 5 session expiry interval in seconds (`u32::MAX` never), for offline expiry.
    pub session_expiry_interval: u32,
    /// Removed from the registry: no new message may be queued.
    pub gone: bool,
    /// The store may hold state of this subscriber: it was persistent at some point (or was
    /// restored from the store). A subscriber that never was has nothing there to delete.
    pub stored: bool,
    /// Protocol level of the last connection (3, 4 or 5).
    pub protocol: u8,
    /// Ids of the messages that have an entry in this subscriber's stored queue; the entry is
    /// deleted when the client acknowledges the message (or it is dropped).
    pub persisted: std::collections::HashSet<u128, ahash::RandomState>,
    /// What `vmq-admin session show` reports about the last connection.
    pub info: SessionInfo,
    /// Publishers held back until the online queue has room again (see
    /// [`Subscriber::wait_for_room`]); boxed, since most subscribers never have any.
    pub waiting_for_room: Option<Box<RoomWaiters>>,
}

/// Facts about a subscriber's session for `vmq-admin session show`.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    /// Peer address of the last connection.
    pub peer: Option<std::net::SocketAddr>,
    /// User name of the last connection.
    pub user: Option<String>,
    /// Protocol level (3, 4, 5) of the last connection.
    pub protocol: u8,
    /// Clean session / clean start of the last connection.
    pub clean_session: bool,
    /// When the last connection was accepted (Unix microseconds).
    pub session_started_at: u64,
    /// When the queue was created (Unix microseconds).
    pub queue_started_at: u64,
}

/// Now, in Unix microseconds.
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// What a queue operation means for the message store.
#[derive(Debug, Clone)]
pub enum StoreEffect {
    /// Store the message in this subscriber's queue.
    Put(Arc<Message>),
    /// Delete this subscriber's entry for the message id.
    Delete(u128),
}

impl SubscriberState {
    /// Sets whether the session keeps its state while offline. Once persistent, the store may
    /// hold its state from then on, so it counts as [`stored`](Self::stored) for good.
    pub fn set_persistent(&mut self, persistent: bool) {
        self.persistent = persistent;
        self.stored |= persistent;
    }

    /// The subscriber took messages from its queue (or lost a connection): publishers held
    /// back for it go on, as many as its online queue has room for before it is under
    /// pressure again, oldest first. Each of them may add one message beyond that before it
    /// is held again, so with half of `max_online_messages` as the threshold the queue does
    /// not overflow.
    pub fn release_waiting(&mut self, now: Instant) {
        let Some(waiting) = self.waiting_for_room.as_mut() else {
            return;
        };
        waiting.last_take = now;
        let room = self
            .queue
            .room_before_pressure()
            .min(waiting.publishers.len());
        for publisher in waiting.publishers.drain(..room) {
            publisher.room();
        }
        if waiting.publishers.is_empty() {
            self.waiting_for_room = None;
        }
    }

    /// Turns the queue's store actions into effects (when `effects` is given; otherwise they
    /// are dropped). `taking`: the actions come from `take`, whose deletes wait for the
    /// client's acknowledgement instead.
    pub fn drain_store_actions(&mut self, effects: Option<&mut Vec<StoreEffect>>, taking: bool) {
        let Some(effects) = effects else {
            while self.queue.poll_action().is_some() {}
            return;
        };
        while let Some(action) = self.queue.poll_action() {
            match action {
                QueueAction::Persist(q) => {
                    if self.persisted.insert(q.delivery.msg.id) {
                        effects.push(StoreEffect::Put(q.delivery.msg));
                    }
                }
                QueueAction::Delete(q) => {
                    if !taking && self.persisted.remove(&q.delivery.msg.id) {
                        effects.push(StoreEffect::Delete(q.delivery.msg.id));
                    }
                }
            }
        }
    }
}

/// Everything the broker keeps for one subscriber id.
pub struct Subscriber {
    /// Mountpoint and client id.
    pub id: SubscriberId,
    /// Whether a connection is attached (read by shared-subscription selection without the
    /// lock).
    pub online: AtomicBool,
    /// The mutable state.
    pub state: Mutex<SubscriberState>,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("online", &self.online.load(Ordering::Relaxed))
            .finish()
    }
}

/// A subscriber as the router stores it: compared and hashed by identity.
#[derive(Debug, Clone)]
pub struct SubscriberRef(pub Arc<Subscriber>);

impl PartialEq for SubscriberRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SubscriberRef {}

impl Hash for SubscriberRef {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as usize).hash(state)
    }
}

impl Subscriber {
    /// A new subscriber with an empty queue configured by `queue`.
    pub fn new(id: SubscriberId, queue: vmq_queue::QueueConfig) -> Arc<Self> {
        Arc::new(Subscriber {
            id,
            online: AtomicBool::new(false),
            state: Mutex::new(SubscriberState {
                queue: Queue::new(queue),
                conns: Vec::new(),
                subscriptions: Vec::new(),
                inflight: Vec::new(),
                persistent: false,
                stored: false,
                generation: 0,
                session_expiry_interval: 0,
                gone: false,
                protocol: 4,
                persisted: Default::default(),
                info: SessionInfo {
                    queue_started_at: unix_micros(),
                    ..SessionInfo::default()
                },
                waiting_for_room: None,
            }),
        })
    }

    /// Holds a publisher back until this subscriber's online queue has room again: true when
    /// the queue is still under pressure and `publisher` will be told (`Signal::Room`), false
    /// when it already has room (checked under the same lock, so no release is missed) or the
    /// subscriber has taken nothing for [`STALLED_AFTER`] while publishers waited (a stalled
    /// subscriber does not hold publishers back; its queue's drop policy applies).
    pub fn wait_for_room(&self, publisher: &ConnHandle, now: Instant) -> bool {
        let mut state = self.state.lock();
        if state.gone || !state.queue.under_pressure() {
            return false;
        }
        let waiting = state.waiting_for_room.get_or_insert_with(|| {
            Box::new(RoomWaiters {
                publishers: Vec::new(),
                last_take: now,
            })
        });
        if now.saturating_duration_since(waiting.last_take) >= STALLED_AFTER {
            return false;
        }
        if !waiting.publishers.iter().any(|w| w.same(publisher)) {
            waiting.publishers.push(publisher.clone());
        }
        true
    }

    /// Queues `delivery` and wakes the connections that must take it. With `effects`, what the
    /// store must do is appended there; the queue's counters are added to `metrics` under the
    /// same lock. With `watch_pressure`, an accepted delivery that leaves the queue under
    /// pressure is [`EnqueueResult::QueuedUnderPressure`].
    pub fn enqueue(
        &self,
        delivery: QueuedDelivery,
        now: Instant,
        effects: Option<&mut Vec<StoreEffect>>,
        metrics: &mut vmq_queue::QueueMetrics,
        watch_pressure: bool,
    ) -> EnqueueResult {
        let mut state = self.state.lock();
        if state.gone {
            return EnqueueResult::Dropped;
        }
        let SubscriberState { queue, conns, .. } = &mut *state;
        let enqueued = queue.enqueue(delivery, now);
        let accepted = enqueued.outcome.is_accepted();
        let woke = !enqueued.wake.is_empty();
        for id in enqueued.wake {
            if let Some((_, conn)) = conns.iter().find(|(c, _)| c == id) {
                conn.wake();
            }
        }
        state.drain_store_actions(effects, false);
        metrics.add(&state.queue.take_metrics());
        if accepted && watch_pressure && state.queue.under_pressure() {
            EnqueueResult::QueuedUnderPressure
        } else if accepted && woke {
            EnqueueResult::QueuedAndWoken
        } else if accepted {
            EnqueueResult::Queued
        } else {
            EnqueueResult::Dropped
        }
    }
}

/// Outcome of [`Subscriber::enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueResult {
    /// Queued (online or offline).
    Queued,
    /// Queued, and an online queue of this subscriber is at least half full (see
    /// [`vmq_queue::Queue::under_pressure`]): the publisher should back off.
    QueuedUnderPressure,
    /// Queued for a connection that had taken everything before and waited: it was woken and
    /// sends the message as soon as it runs.
    QueuedAndWoken,
    /// Dropped by the queue's policy (counted in the queue's metrics).
    Dropped,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn poll(inbox: &mut ConnInbox) -> Poll<Signal> {
        inbox.poll_signal(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn commands_come_first_and_nothing_raised_is_lost() {
        let (handle, mut inbox) = conn_channel();
        assert!(poll(&mut inbox).is_pending());
        handle.wake();
        handle.wake();
        let (tx1, _rx1) = tokio::sync::oneshot::channel();
        let (tx2, _rx2) = tokio::sync::oneshot::channel();
        handle
            .send(Control::Disconnect(ReasonCode::SessionTakenOver, tx1))
            .unwrap();
        handle
            .send(Control::Disconnect(ReasonCode::AdministrativeAction, tx2))
            .unwrap();
        let codes: Vec<_> = (0..3)
            .map(|_| match poll(&mut inbox) {
                Poll::Ready(Signal::Command(Control::Disconnect(code, _))) => Some(code),
                Poll::Ready(Signal::Deliveries) => None,
                Poll::Ready(Signal::Room) | Poll::Pending => panic!("not what was raised"),
            })
            .collect();
        assert_eq!(
            codes,
            [
                Some(ReasonCode::SessionTakenOver),
                Some(ReasonCode::AdministrativeAction),
                None
            ],
            "both commands in order, then the wake-up (once for two wakes)"
        );
        assert!(poll(&mut inbox).is_pending());
    }

    #[test]
    fn room_comes_before_deliveries_and_keeps_them() {
        let (handle, mut inbox) = conn_channel();
        handle.wake();
        handle.room();
        assert!(matches!(poll(&mut inbox), Poll::Ready(Signal::Room)));
        assert!(matches!(poll(&mut inbox), Poll::Ready(Signal::Deliveries)));
        assert!(poll(&mut inbox).is_pending());
        assert!(handle.same(&handle.clone()));
        assert!(!handle.same(&conn_channel().0));
    }

    #[test]
    fn an_enqueue_tells_when_it_woke_a_waiting_connection() {
        let sub = Subscriber::new(
            SubscriberId {
                mountpoint: Arc::from(""),
                client_id: Arc::from("c"),
            },
            vmq_queue::QueueConfig::default(),
        );
        let (handle, mut inbox) = conn_channel();
        let now = Instant::now();
        {
            let mut state = sub.state.lock();
            state.queue.add_session(7).unwrap();
            state.conns.push((7, handle));
            // Taking from the empty queue marks the connection as waiting.
            assert_eq!(state.queue.take(&7, 10, now, &mut Vec::new()).unwrap(), 0);
        }
        let delivery = |id| QueuedDelivery {
            delivery: Delivery {
                msg: Arc::new(Message {
                    id,
                    topic: "t".into(),
                    payload: bytes::Bytes::from_static(b"x"),
                    qos: QoS::AtLeastOnce,
                    retain: false,
                    properties: Default::default(),
                    expires_at: None,
                }),
                sub_qos: QoS::AtLeastOnce,
                retain: false,
                subscription_ids: Box::new([]),
            },
            qos: QoS::AtLeastOnce,
        };
        let mut metrics = vmq_queue::QueueMetrics::default();
        let mut enqueue = |id| sub.enqueue(delivery(id), now, None, &mut metrics, false);
        assert_eq!(enqueue(1), EnqueueResult::QueuedAndWoken);
        assert!(matches!(poll(&mut inbox), Poll::Ready(Signal::Deliveries)));
        // The connection has not taken the first one yet: nothing to wake.
        assert_eq!(enqueue(2), EnqueueResult::Queued);
        assert!(poll(&mut inbox).is_pending());
    }

    #[test]
    fn a_gone_connection_gives_commands_back() {
        let (handle, inbox) = conn_channel();
        drop(inbox);
        let (tx, _rx) = tokio::sync::oneshot::channel();
        assert!(handle
            .send(Control::Disconnect(ReasonCode::SessionTakenOver, tx))
            .is_err());
        handle.wake();
    }
}
