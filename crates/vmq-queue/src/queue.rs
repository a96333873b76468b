//! The per-subscriber queue state machine: sessions, the online and offline buffers, the
//! insertion policies (limits, fifo / lifo, fanout / balance, QoS 0 offline, expiry), the
//! store actions and the drop accounting. No I/O, no clock: `now` is always a parameter.

use std::collections::VecDeque;
use std::mem;
use std::time::Instant;

use crate::{
    DeliverMode, Limit, QoS, QueueConfig, QueueError, QueueMessage, QueueMetrics, QueueType,
};

/// VerneMQ's queue states (`vmq_queue.erl`'s gen_fsm state names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueState {
    /// At least one session is attached; messages go to the sessions' online queues.
    Online,
    /// No session attached; QoS 1/2 messages go to the offline queue (persisted when the queue
    /// is persistent), QoS 0 messages are dropped as unhandled. A new queue starts here.
    Offline,
    /// The offline messages are being migrated to another queue (VerneMQ `drain`): new
    /// messages are still accepted (and migrated too), new sessions are refused.
    Draining,
    /// The queue is gone (clean session left, drain finished, cleanup / session expiry).
    /// Every further call is refused; the owner should drop it.
    Terminated,
}

/// Why a message was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Every attached session's online queue was full (`max_online_messages`, fifo).
    OnlineQueueFull,
    /// The offline queue was full (`max_offline_messages`, fifo), or its limit is 0.
    OfflineQueueFull,
    /// The MQTT 5 message expiry had passed already.
    Expired,
    /// A QoS 0 delivery while no session is attached (VerneMQ never stores those).
    Qos0Offline,
    /// The queue has terminated.
    Terminated,
}

/// What [`Queue::enqueue`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// Queued for delivery in `queued` sessions' online queues (fanout: possibly several).
    /// `dropped` counts the drops this call caused: sessions whose full fifo queue rejected
    /// it, or older messages evicted from full lifo queues.
    Online {
        /// Sessions that received the message.
        queued: u32,
        /// Messages dropped because of it (see above), each counted in `queue_message_drop`.
        dropped: u32,
    },
    /// Stored in the offline queue (a `Persist` action was emitted when the queue is
    /// persistent). `evicted`: the queue was full (lifo) and its oldest message was dropped.
    Offline {
        /// True when an older message was dropped to make room.
        evicted: bool,
    },
    /// Not queued anywhere; already counted in the queue's metrics.
    Dropped(DropReason),
}

impl EnqueueOutcome {
    /// True when the message was queued online or stored offline.
    pub fn is_accepted(&self) -> bool {
        !matches!(self, EnqueueOutcome::Dropped(_))
    }
}

/// The result of [`Queue::enqueue`]: the outcome and the sessions the caller must wake
/// (sessions that had asked for messages and found none; each is woken once, then must
/// call [`Queue::take`]).
#[derive(Debug)]
pub struct Enqueued<'a, S> {
    /// What happened to the message.
    pub outcome: EnqueueOutcome,
    /// Sessions to wake. Borrowed from a buffer the queue reuses: no allocation.
    pub wake: &'a [S],
}

/// The result of [`Queue::insert_batch`].
#[derive(Debug)]
pub struct BatchInserted<'a, S> {
    /// Messages queued online in at least one session.
    pub online: usize,
    /// Messages stored in the offline queue.
    pub offline: usize,
    /// Messages dropped (the reasons are in the metrics).
    pub dropped: usize,
    /// Sessions to wake.
    pub wake: &'a [S],
}

/// The result of [`Queue::add_session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached<S> {
    /// Sessions detached because `allow_multiple_sessions` is off: the broker must disconnect
    /// them (VerneMQ: `session_taken_over`). Empty in the common case (no allocation).
    pub taken_over: Vec<S>,
    /// Offline messages moved to the new session's online queue (it should `take` now).
    pub moved: usize,
}

/// The result of [`Queue::remove_session`].
#[derive(Debug)]
pub struct Detached<'a, S> {
    /// The queue's state afterwards: `Online` (other sessions remain), `Offline` (persistent
    /// queue, last session gone) or `Terminated` (clean queue, last session gone).
    pub state: QueueState,
    /// Sessions to wake (balance mode re-spreads the leaving session's messages).
    pub wake: &'a [S],
}

/// Storage work for the broker to carry out, in order, via [`Queue::poll_action`]. The queue
/// only asks for persistence of messages in the offline queue of a persistent queue; the
/// store keys them by subscriber id and the message's own reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueAction<M> {
    /// Write this message to the message store (it entered the offline queue).
    Persist(M),
    /// Remove this previously persisted message from the store (delivered, drained and
    /// acknowledged, dropped, expired or discarded).
    Delete(M),
}

#[derive(Debug, Clone)]
struct Entry<M> {
    msg: M,
    /// A `Persist` was emitted for it; leaving the queue must emit `Delete`.
    persisted: bool,
}

#[derive(Debug)]
struct Slot<S, M> {
    id: S,
    buf: VecDeque<Entry<M>>,
    /// The session asked for messages and got none: wake it on the next insert.
    waiting: bool,
    /// `override_max_online_messages` while the offline queue is moved in.
    ignore_max: bool,
}

enum Push<M> {
    Stored,
    Evicted(Entry<M>),
    Rejected(Entry<M>),
}

/// VerneMQ's `queue_insert`: `-1` unlimited; full fifo drops the new message; full lifo
/// drops the oldest (front) and appends the new one. With a limit of 0 lifo has nothing to
/// evict, so the new message is dropped (VerneMQ would crash on the empty queue).
fn push<M>(buf: &mut VecDeque<Entry<M>>, limit: Limit, kind: QueueType, e: Entry<M>) -> Push<M> {
    if !limit.is_full(buf.len()) {
        buf.push_back(e);
        return Push::Stored;
    }
    match kind {
        QueueType::Fifo => Push::Rejected(e),
        QueueType::Lifo => match buf.pop_front() {
            Some(old) => {
                buf.push_back(e);
                Push::Evicted(old)
            }
            None => Push::Rejected(e),
        },
    }
}

/// A per-subscriber queue with VerneMQ's semantics, generic over the session id `S` and the
/// message `M`. See the crate documentation for how the broker drives it.
#[derive(Debug)]
pub struct Queue<S, M> {
    config: QueueConfig,
    state: QueueState,
    offline: VecDeque<Entry<M>>,
    sessions: Vec<Slot<S, M>>,
    next_balance: usize,
    drain_pending: VecDeque<Entry<M>>,
    actions: VecDeque<QueueAction<M>>,
    wake: Vec<S>,
    metrics: QueueMetrics,
}

impl<S: Clone + Eq, M: QueueMessage + Clone> Queue<S, M> {
    /// A new queue, `Offline` with no session (as VerneMQ starts one). Attach the first
    /// session with [`Queue::add_session`]; restore persisted messages first with
    /// [`Queue::insert_batch`].
    pub fn new(config: QueueConfig) -> Self {
        Queue {
            config,
            state: QueueState::Offline,
            offline: VecDeque::new(),
            sessions: Vec::new(),
            next_balance: 0,
            drain_pending: VecDeque::new(),
            actions: VecDeque::new(),
            wake: Vec::new(),
            metrics: QueueMetrics::default(),
        }
    }

    // ----- queries -------------------------------------------------------------------------

    /// The current state.
    pub fn state(&self) -> QueueState {
        self.state
    }

    /// The configuration in force.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// Replaces the configuration (VerneMQ `set_opts`). New limits apply to later inserts;
    /// messages already queued are kept.
    pub fn set_config(&mut self, config: QueueConfig) {
        self.config = config;
    }

    /// Attached sessions, in attach order.
    pub fn sessions(&self) -> impl Iterator<Item = &S> + '_ {
        self.sessions.iter().map(|s| &s.id)
    }

    /// Number of attached sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Messages in the offline queue (plus an unacknowledged drain batch).
    pub fn offline_len(&self) -> usize {
        self.offline.len() + self.drain_pending.len()
    }

    /// Messages in one session's online queue, `None` if it is not attached.
    pub fn online_len(&self, session: &S) -> Option<usize> {
        self.slot(session).map(|i| self.sessions[i].buf.len())
    }

    /// True when an attached session's online queue holds at least half of
    /// `max_online_messages`: the subscriber falls behind, and publishers should slow down
    /// before the queue is full and its drop policy applies. Never true without a limit.
    pub fn under_pressure(&self) -> bool {
        match self.config.max_online_messages {
            Limit::Max(max) if max > 0 => self.sessions.iter().any(|s| s.buf.len() * 2 >= max),
            _ => false,
        }
    }

    /// How many more messages the fullest attached session's online queue takes before the
    /// queue is [under pressure](Queue::under_pressure); unbounded without a limit.
    pub fn room_before_pressure(&self) -> usize {
        match self.config.max_online_messages {
            Limit::Max(max) if max > 0 => {
                let fullest = self.sessions.iter().map(|s| s.buf.len()).max().unwrap_or(0);
                max.div_ceil(2).saturating_sub(fullest)
            }
            _ => usize::MAX,
        }
    }

    /// Total stored messages, as VerneMQ's `status` reports them (offline plus every
    /// session's online queue; fanout copies are counted per session).
    pub fn len(&self) -> usize {
        self.offline_len() + self.sessions.iter().map(|s| s.buf.len()).sum::<usize>()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the session found its queue empty and will be named in a `wake` list.
    pub fn is_waiting(&self, session: &S) -> bool {
        self.slot(session).is_some_and(|i| self.sessions[i].waiting)
    }

    /// Cumulative counters.
    pub fn metrics(&self) -> &QueueMetrics {
        &self.metrics
    }

    /// Returns the counters accumulated since the last call and resets them (for adding into
    /// the broker's global metrics).
    pub fn take_metrics(&mut self) -> QueueMetrics {
        mem::take(&mut self.metrics)
    }

    /// The next storage action, in the order they were produced. Drain after every call.
    pub fn poll_action(&mut self) -> Option<QueueAction<M>> {
        self.actions.pop_front()
    }

    /// True when actions are waiting for [`Queue::poll_action`].
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    fn slot(&self, session: &S) -> Option<usize> {
        self.sessions.iter().position(|s| &s.id == session)
    }

    // ----- sessions ------------------------------------------------------------------------

    /// Attaches a session (VerneMQ `add_session`). From `Offline`, the offline messages move
    /// to its online queue (limited by `max_online_messages` unless
    /// `override_max_online_messages`) and the queue goes `Online`. With
    /// `allow_multiple_sessions` off, sessions already attached are detached first (as if they
    /// had disconnected; their QoS 0 messages are lost as VerneMQ loses them) and returned in
    /// `taken_over`. Attaching an already attached session is a no-op.
    ///
    /// After attaching, the session's task should call [`Queue::take`].
    pub fn add_session(&mut self, id: S) -> Result<Attached<S>, QueueError> {
        match self.state {
            QueueState::Draining => return Err(QueueError::Draining),
            QueueState::Terminated => return Err(QueueError::Terminated),
            QueueState::Online | QueueState::Offline => {}
        }
        if self.slot(&id).is_some() {
            return Ok(Attached {
                taken_over: Vec::new(),
                moved: 0,
            });
        }
        self.wake.clear();
        let mut taken_over = Vec::new();
        let from_offline = self.sessions.is_empty();
        if !self.config.allow_multiple_sessions {
            while !self.sessions.is_empty() {
                let old = self.detach(0, std::iter::empty(), None);
                taken_over.push(old);
            }
        }
        let ignore_max = from_offline && self.config.override_max_online_messages;
        // Exact growth: a queue nearly always has one session (memory per idle connection).
        self.sessions.reserve_exact(1);
        self.sessions.push(Slot {
            id,
            buf: VecDeque::new(),
            waiting: false,
            ignore_max,
        });
        let offline = mem::take(&mut self.offline);
        let moved = offline.len();
        for e in offline {
            self.insert(e);
        }
        for s in &mut self.sessions {
            s.ignore_max = false;
        }
        self.wake.clear();
        self.state = QueueState::Online;
        Ok(Attached { taken_over, moved })
    }

    /// Detaches a session (its connection ended), handing back the messages it had taken but
    /// not completed (`unacked`, in delivery order; VerneMQ `set_last_waiting_acks`).
    ///
    /// - Clean (non-persistent) queue: the session's online messages and `unacked` are
    ///   discarded (`queue_message_unhandled`); the last session leaving terminates the queue.
    /// - Persistent queue, last session: `unacked` then the online queue (in arrival order) go
    ///   to the offline queue under `max_offline_messages`; QoS 0 online messages are dropped
    ///   as unhandled. The queue goes `Offline`. Session expiry is the caller's decision
    ///   (see [`Queue::terminate`]).
    /// - Other sessions remain: fanout drops the copies (the others have theirs); balance
    ///   spreads `unacked` and the online queue over the remaining sessions.
    pub fn remove_session(
        &mut self,
        id: &S,
        unacked: impl IntoIterator<Item = M>,
        now: Instant,
    ) -> Result<Detached<'_, S>, QueueError> {
        let idx = self.slot(id).ok_or(QueueError::UnknownSession)?;
        self.wake.clear();
        self.detach(idx, unacked.into_iter(), now);
        if self.sessions.is_empty() {
            if self.config.persistent {
                self.state = QueueState::Offline;
            } else {
                self.discard_all();
                self.state = QueueState::Terminated;
            }
        }
        Ok(Detached {
            state: self.state,
            wake: &self.wake,
        })
    }

    /// Removes slot `idx` and re-homes or discards its messages; returns its id.
    fn detach(
        &mut self,
        idx: usize,
        unacked: impl Iterator<Item = M>,
        now: impl Into<Option<Instant>>,
    ) -> S {
        let now = now.into();
        let slot = self.sessions.remove(idx);
        if !self.config.persistent {
            for msg in unacked {
                self.discard(Entry {
                    msg,
                    persisted: false,
                });
            }
            for e in slot.buf {
                self.discard(e);
            }
        } else if self.sessions.is_empty() {
            // VerneMQ: waiting acks go straight into the offline queue (no QoS 0 filter),
            // then the session's queue is re-inserted message by message.
            for msg in unacked {
                if self.live(&msg, now) {
                    self.insert_offline(Entry {
                        msg,
                        persisted: false,
                    });
                }
            }
            for e in slot.buf {
                self.insert(e);
            }
        } else {
            match self.config.deliver_mode {
                DeliverMode::Fanout => {
                    drop(unacked);
                    for e in slot.buf {
                        if e.persisted {
                            self.actions.push_back(QueueAction::Delete(e.msg));
                        }
                    }
                }
                DeliverMode::Balance => {
                    for msg in unacked {
                        if self.live(&msg, now) {
                            self.insert(Entry {
                                msg,
                                persisted: false,
                            });
                        }
                    }
                    for e in slot.buf {
                        self.insert(e);
                    }
                }
            }
        }
        slot.id
    }

    /// False (and counted as expired) when `msg` expired at `now`.
    fn live(&mut self, msg: &M, now: Option<Instant>) -> bool {
        let expired = now.is_some_and(|t| msg.is_expired(t));
        if expired {
            self.metrics.message_expired += 1;
        }
        !expired
    }

    // ----- messages in ---------------------------------------------------------------------

    /// Offers a message to the queue (VerneMQ `enqueue`). Counted in `queue_message_in`
    /// unless the queue has terminated. An already expired message is dropped
    /// (`queue_message_expired`). The outcome says where it went; `wake` lists sessions to
    /// notify. Store actions may follow ([`Queue::poll_action`]).
    pub fn enqueue(&mut self, msg: M, now: Instant) -> Enqueued<'_, S> {
        self.wake.clear();
        let outcome = self.enqueue_one(msg, now);
        Enqueued {
            outcome,
            wake: &self.wake,
        }
    }

    /// Inserts messages in order (VerneMQ `enqueue_many`: restoring from the store at
    /// startup, receiving a migrated queue). Each message is handled as by
    /// [`Queue::enqueue`].
    pub fn insert_batch(
        &mut self,
        msgs: impl IntoIterator<Item = M>,
        now: Instant,
    ) -> BatchInserted<'_, S> {
        self.wake.clear();
        let (mut online, mut offline, mut dropped) = (0, 0, 0);
        for msg in msgs {
            match self.enqueue_one(msg, now) {
                EnqueueOutcome::Online { .. } => online += 1,
                EnqueueOutcome::Offline { .. } => offline += 1,
                EnqueueOutcome::Dropped(_) => dropped += 1,
            }
        }
        BatchInserted {
            online,
            offline,
            dropped,
            wake: &self.wake,
        }
    }

    fn enqueue_one(&mut self, msg: M, now: Instant) -> EnqueueOutcome {
        if self.state == QueueState::Terminated {
            self.metrics.refused_terminated += 1;
            return EnqueueOutcome::Dropped(DropReason::Terminated);
        }
        self.metrics.message_in += 1;
        if msg.is_expired(now) {
            self.metrics.message_expired += 1;
            return EnqueueOutcome::Dropped(DropReason::Expired);
        }
        self.insert(Entry {
            msg,
            persisted: false,
        })
    }

    /// VerneMQ's `insert`: offline (QoS 0 dropped) when no session, else fanout / balance.
    fn insert(&mut self, e: Entry<M>) -> EnqueueOutcome {
        let n = self.sessions.len();
        if n == 0 {
            if e.msg.qos() == QoS::AtMostOnce {
                self.metrics.message_unhandled += 1;
                self.metrics.unhandled_qos0_offline += 1;
                if e.persisted {
                    self.actions.push_back(QueueAction::Delete(e.msg));
                }
                return EnqueueOutcome::Dropped(DropReason::Qos0Offline);
            }
            return self.insert_offline(e);
        }
        let (mut queued, mut dropped) = (0u32, 0u32);
        match self.config.deliver_mode {
            DeliverMode::Fanout => {
                for i in 0..n - 1 {
                    let (q, d) = self.insert_session(i, e.clone());
                    queued += u32::from(q);
                    dropped += u32::from(d);
                }
                let (q, d) = self.insert_session(n - 1, e);
                queued += u32::from(q);
                dropped += u32::from(d);
            }
            DeliverMode::Balance => {
                let i = self.next_balance % n;
                self.next_balance = self.next_balance.wrapping_add(1);
                let (q, d) = self.insert_session(i, e);
                queued += u32::from(q);
                dropped += u32::from(d);
            }
        }
        if queued == 0 {
            EnqueueOutcome::Dropped(DropReason::OnlineQueueFull)
        } else {
            EnqueueOutcome::Online { queued, dropped }
        }
    }

    /// Returns (queued, a message was dropped).
    fn insert_session(&mut self, i: usize, e: Entry<M>) -> (bool, bool) {
        let kind = self.config.queue_type;
        let slot = &mut self.sessions[i];
        let limit = if slot.ignore_max {
            Limit::Unlimited
        } else {
            self.config.max_online_messages
        };
        let (queued, dropped) = match push(&mut slot.buf, limit, kind, e) {
            Push::Stored => (true, None),
            Push::Evicted(old) => (true, Some(old)),
            Push::Rejected(new) => (false, Some(new)),
        };
        if queued && slot.waiting {
            slot.waiting = false;
            self.wake.push(slot.id.clone());
        }
        let was_dropped = dropped.is_some();
        if let Some(d) = dropped {
            self.metrics.drop_online_full += 1;
            self.drop_full(d);
        }
        (queued, was_dropped)
    }

    fn insert_offline(&mut self, e: Entry<M>) -> EnqueueOutcome {
        let persist = self.config.persistent && !e.persisted;
        let outcome = match push(
            &mut self.offline,
            self.config.max_offline_messages,
            self.config.queue_type,
            e,
        ) {
            Push::Stored => EnqueueOutcome::Offline { evicted: false },
            Push::Evicted(old) => {
                self.metrics.drop_offline_full += 1;
                self.drop_full(old);
                EnqueueOutcome::Offline { evicted: true }
            }
            Push::Rejected(new) => {
                self.metrics.drop_offline_full += 1;
                self.drop_full(new);
                return EnqueueOutcome::Dropped(DropReason::OfflineQueueFull);
            }
        };
        if persist {
            if let Some(last) = self.offline.back_mut() {
                last.persisted = true;
                self.actions
                    .push_back(QueueAction::Persist(last.msg.clone()));
            }
        }
        outcome
    }

    fn drop_full(&mut self, e: Entry<M>) {
        self.metrics.message_drop += 1;
        if e.persisted {
            self.actions.push_back(QueueAction::Delete(e.msg));
        }
    }

    fn discard(&mut self, e: Entry<M>) {
        self.metrics.message_unhandled += 1;
        self.metrics.unhandled_discarded += 1;
        if e.persisted {
            self.actions.push_back(QueueAction::Delete(e.msg));
        }
    }

    fn discard_all(&mut self) {
        let offline = mem::take(&mut self.offline);
        let pending = mem::take(&mut self.drain_pending);
        for e in pending.into_iter().chain(offline) {
            self.discard(e);
        }
        let sessions = mem::take(&mut self.sessions);
        for s in sessions {
            for e in s.buf {
                self.discard(e);
            }
        }
    }

    // ----- messages out --------------------------------------------------------------------

    /// Moves up to `max` ready messages of `session` into `out` (appended; fifo: oldest
    /// first, lifo: newest first) and returns how many. Expired messages met on the way are
    /// dropped and counted. `max` is the session's free inflight window (QoS 0 messages are
    /// taken too). When the session's online queue is left empty the session is marked
    /// waiting: the next message queued for it names it in `wake`.
    pub fn take(
        &mut self,
        session: &S,
        max: usize,
        now: Instant,
        out: &mut Vec<M>,
    ) -> Result<usize, QueueError> {
        let idx = self.slot(session).ok_or(QueueError::UnknownSession)?;
        let lifo = self.config.queue_type == QueueType::Lifo;
        let slot = &mut self.sessions[idx];
        let mut n = 0;
        while n < max {
            let next = if lifo {
                slot.buf.pop_back()
            } else {
                slot.buf.pop_front()
            };
            let Some(e) = next else { break };
            if e.msg.is_expired(now) {
                self.metrics.message_expired += 1;
                if e.persisted {
                    self.actions.push_back(QueueAction::Delete(e.msg));
                }
                continue;
            }
            if e.persisted {
                self.actions.push_back(QueueAction::Delete(e.msg.clone()));
            }
            out.push(e.msg);
            n += 1;
        }
        if slot.buf.is_empty() {
            slot.waiting = true;
        }
        self.metrics.message_out += n as u64;
        Ok(n)
    }

    /// Drops every expired message now (all buffers) and returns how many; optional, since
    /// [`Queue::take`] skips expired messages anyway. Lets a timer free offline space.
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut expired = Vec::new();
        let keep = |e: &Entry<M>, expired: &mut Vec<Entry<M>>| {
            if e.msg.is_expired(now) {
                expired.push(e.clone());
                false
            } else {
                true
            }
        };
        self.offline.retain(|e| keep(e, &mut expired));
        for s in &mut self.sessions {
            s.buf.retain(|e| keep(e, &mut expired));
        }
        let n = expired.len();
        self.metrics.message_expired += n as u64;
        for e in expired {
            if e.persisted {
                self.actions.push_back(QueueAction::Delete(e.msg));
            }
        }
        n
    }

    // ----- cleanup and migration -----------------------------------------------------------

    /// Discards everything and terminates (VerneMQ `cleanup`, `expire_session`,
    /// `force_disconnect` with cleanup): session expiry / `persistent_client_expiration`
    /// decided by the caller, or a clean-start registration wiping an old session. Every
    /// message counts as `queue_message_unhandled` and persisted ones get `Delete`. Returns
    /// the sessions that were attached; the broker disconnects them.
    pub fn terminate(&mut self) -> Vec<S> {
        let ids: Vec<S> = self.sessions.iter().map(|s| s.id.clone()).collect();
        self.discard_all();
        self.state = QueueState::Terminated;
        ids
    }

    /// Takes every offline message out, in arrival order, into `out` (takeover by another
    /// queue instance, or a one-shot migration). Only valid while `Offline` (detach the
    /// sessions first). Persisted messages get `Delete` (the receiver persists its own
    /// copy); counted in `queue_message_out`. The queue stays `Offline` and usable.
    pub fn take_all(&mut self, out: &mut Vec<M>) -> Result<usize, QueueError> {
        if self.state != QueueState::Offline {
            return Err(QueueError::InvalidState(self.state));
        }
        let n = self.offline.len();
        for e in self.offline.drain(..) {
            if e.persisted {
                self.actions.push_back(QueueAction::Delete(e.msg.clone()));
            }
            out.push(e.msg);
        }
        self.metrics.message_out += n as u64;
        Ok(n)
    }

    /// Starts a migration of the offline queue to another queue (VerneMQ `migrate` →
    /// `drain`). Only from `Offline`. While draining, enqueues still land in the offline
    /// queue and `add_session` is refused with [`QueueError::Draining`].
    pub fn start_drain(&mut self) -> Result<(), QueueError> {
        if self.state != QueueState::Offline {
            return Err(QueueError::InvalidState(self.state));
        }
        self.state = QueueState::Draining;
        Ok(())
    }

    /// Copies the next up-to-`max` offline messages (arrival order; VerneMQ
    /// `max_msgs_per_drain_step`) into `out` for sending to the new queue. They stay
    /// pending until [`Queue::drain_ack`] (deleted, counted out) or [`Queue::drain_nack`]
    /// (put back in front).
    pub fn drain_batch(&mut self, max: usize, out: &mut Vec<M>) -> Result<usize, QueueError> {
        if self.state != QueueState::Draining {
            return Err(QueueError::InvalidState(self.state));
        }
        let n = max.min(self.offline.len());
        for e in self.offline.drain(..n) {
            out.push(e.msg.clone());
            self.drain_pending.push_back(e);
        }
        Ok(n)
    }

    /// The receiver stored the pending drain batches: `Delete` persisted ones, count them in
    /// `queue_message_out`. Returns how many were acknowledged.
    pub fn drain_ack(&mut self) -> usize {
        let n = self.drain_pending.len();
        for e in self.drain_pending.drain(..) {
            if e.persisted {
                self.actions.push_back(QueueAction::Delete(e.msg));
            }
        }
        self.metrics.message_out += n as u64;
        n
    }

    /// Sending the pending drain batches failed: they go back to the front of the offline
    /// queue, in order. With `abort` the drain is abandoned and the queue returns to
    /// `Offline` (VerneMQ, on a non-retryable error); otherwise retry with `drain_batch`.
    pub fn drain_nack(&mut self, abort: bool) {
        while let Some(e) = self.drain_pending.pop_back() {
            self.offline.push_front(e);
        }
        if abort && self.state == QueueState::Draining {
            self.state = QueueState::Offline;
        }
    }

    /// Ends a drain: `Terminated` when the offline queue is empty and nothing is pending,
    /// otherwise [`QueueError::NotEmpty`] (messages arrived meanwhile: drain them too).
    pub fn finish_drain(&mut self) -> Result<(), QueueError> {
        if self.state != QueueState::Draining {
            return Err(QueueError::InvalidState(self.state));
        }
        let left = self.offline_len();
        if left > 0 {
            return Err(QueueError::NotEmpty(left));
        }
        self.state = QueueState::Terminated;
        Ok(())
    }
}
