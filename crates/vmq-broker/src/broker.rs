//! `BrokerCore`: the state shared by every connection of a node (subscriber registry, router,
//! retained messages, hooks, metrics) and the operations on it: register / takeover / unregister
//! a client, route a publish, subscribe and unsubscribe, will messages and session expiry.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use tokio::sync::oneshot;
use vmq_codec::{LastWill, PublishProperties, QoS, ReasonCode, RetainHandling, Utf8Str};
use vmq_conf::Config;
use vmq_queue::{DeliverMode, Limit, QueueConfig, QueueMetrics, QueueType};
use vmq_router::{Matches, NodeName, RetainedStore, SharedPolicy, SubscriptionTrie, TrieConfig};
use vmq_session::{Delivery, Inflight, Message};

use vmq_store::Op;

use crate::{
    hooks::Hooks,
    metrics::{Counter, Metrics},
    persistence::{self, Durable, Persistence},
    subscriber::{
        ConnHandle, ConnId, Control, EnqueueResult, QueuedDelivery, StoreEffect, SubOptions,
        Subscriber, SubscriberId, SubscriberRef, SubscriberState,
    },
};

/// The reused match buffer of one connection task.
pub type MatchBuffer = Matches<SubscriberRef, SubOptions>;

/// The node-wide broker state.
pub struct BrokerCore {
    /// The configuration the node started with.
    pub config: Arc<Config>,
    /// This node's name.
    pub node: NodeName,
    /// Subscriptions.
    pub router: SubscriptionTrie<SubscriberRef, SubOptions>,
    /// Retained messages.
    pub retained: RetainedStore<Arc<Message>>,
    /// Subscribers by id.
    registry: Mutex<HashMap<SubscriberId, Arc<Subscriber>, ahash::RandomState>>,
    /// Plugins.
    pub hooks: Hooks,
    /// Counters.
    pub metrics: Metrics,
    /// The message store, when state survives restarts.
    pub store: Option<Persistence>,
    next_msg_id: AtomicU64,
    msg_id_prefix: u64,
    next_conn_id: AtomicU64,
    /// When the node started.
    pub started: Instant,
    /// Client tracing (`vmq-admin trace client`).
    pub tracer: crate::trace::Tracer,
    /// Admin commands added by plugins (`webhooks ...`), asked for paths the node does not know.
    pub admin_commands: parking_lot::RwLock<Vec<Arc<dyn vmq_http::AdminCommands>>>,
    /// Settings changeable at runtime (`vmq-admin set`).
    pub settings: crate::runtime::RuntimeSettings,
    /// The MQTT listeners (see the listener management methods in `listener.rs`).
    pub(crate) listeners: crate::listener::Listeners,
}

impl std::fmt::Debug for BrokerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerCore")
            .field("node", &self.node)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

/// What [`BrokerCore::register`] decided.
#[derive(Debug)]
pub struct Registered {
    /// The subscriber the connection is now attached to.
    pub subscriber: Arc<Subscriber>,
    /// CONNACK's session present flag.
    pub session_present: bool,
    /// Messages to resend first.
    pub resume: Vec<Inflight>,
}

/// How a client's connection wants its session kept.
#[derive(Debug, Clone, Copy)]
pub struct SessionPersistence {
    /// Clean session / clean start.
    pub clean_start: bool,
    /// Kept after the connection ends.
    pub persistent: bool,
    /// MQTT 5 session expiry interval (seconds; `u32::MAX` never).
    pub session_expiry_interval: u32,
    /// Protocol level (3, 4, 5).
    pub protocol: u8,
}

const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// What [`BrokerCore::publish`] did.
#[derive(Debug)]
pub struct PublishOutcome {
    /// Subscribers the message was queued for.
    pub queued: usize,
    /// Of those, the ones whose connection waited with nothing to send and was woken for it:
    /// the message goes out as soon as that connection's task runs.
    pub woken: usize,
    /// Answers once the message is on disk, when it had to be persisted.
    pub durable: Option<Durable>,
    /// With `publish_backpressure`, for a client's QoS 1/2 publish: a subscriber whose online
    /// queue is at least half full, for which the publisher should pause reading until it has
    /// room (before `max_online_messages` makes the queue drop; see
    /// [`Subscriber::wait_for_room`]).
    pub under_pressure: Option<Arc<Subscriber>>,
}

impl BrokerCore {
    /// A broker state for `config` with `hooks`, persisting through `store` if given.
    pub fn new(config: Arc<Config>, hooks: Hooks, store: Option<Persistence>) -> Arc<Self> {
        let node = NodeName::new(config.nodename.as_str());
        let policy = match config.shared_subscription_policy {
            vmq_conf::SharedSubscriptionPolicy::PreferLocal => SharedPolicy::PreferLocal,
            vmq_conf::SharedSubscriptionPolicy::Random => SharedPolicy::Random,
            vmq_conf::SharedSubscriptionPolicy::LocalOnly => SharedPolicy::LocalOnly,
        };
        let router = SubscriptionTrie::new(TrieConfig {
            local_node: node.clone(),
            policy,
            max_depth: config.topic_max_depth,
        });
        let retained = RetainedStore::with_max_depth(config.topic_max_depth);
        let settings = crate::runtime::RuntimeSettings::from_config(&config);
        Arc::new(BrokerCore {
            config,
            node,
            router,
            retained,
            registry: Mutex::new(HashMap::default()),
            hooks,
            metrics: Metrics::default(),
            store,
            next_msg_id: AtomicU64::new(1),
            msg_id_prefix: rand::random(),
            next_conn_id: AtomicU64::new(1),
            started: Instant::now(),
            tracer: crate::trace::Tracer::default(),
            admin_commands: parking_lot::RwLock::new(Vec::new()),
            settings,
            listeners: crate::listener::Listeners::default(),
        })
    }

    /// A new connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A new broker-wide message reference.
    pub fn next_msg_id(&self) -> u128 {
        (u128::from(self.msg_id_prefix) << 64)
            | u128::from(self.next_msg_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Number of known subscribers (online and offline).
    pub fn subscriber_count(&self) -> usize {
        self.registry.lock().len()
    }

    /// Numbers of (online, offline) subscribers.
    pub fn online_offline(&self) -> (usize, usize) {
        let registry = self.registry.lock();
        let online = registry
            .values()
            .filter(|s| s.online.load(Ordering::Relaxed))
            .count();
        (online, registry.len() - online)
    }

    /// Every subscriber (online and offline), for administration.
    pub fn subscribers(&self) -> Vec<Arc<Subscriber>> {
        self.registry.lock().values().cloned().collect()
    }

    /// Looks a subscriber up.
    pub fn subscriber(&self, id: &SubscriberId) -> Option<Arc<Subscriber>> {
        self.registry.lock().get(id).cloned()
    }

    fn queue_config(&self, persistent: bool) -> QueueConfig {
        let c = &self.config;
        QueueConfig {
            max_online_messages: Limit::from_conf(c.max_online_messages),
            max_offline_messages: Limit::from_conf(c.max_offline_messages),
            queue_type: match c.queue_type {
                vmq_conf::QueueType::Fifo => QueueType::Fifo,
                vmq_conf::QueueType::Lifo => QueueType::Lifo,
            },
            deliver_mode: match c.queue_deliver_mode {
                vmq_conf::QueueDeliverMode::Fanout => DeliverMode::Fanout,
                vmq_conf::QueueDeliverMode::Balance => DeliverMode::Balance,
            },
            allow_multiple_sessions: c.allow_multiple_sessions,
            override_max_online_messages: c.override_max_online_messages,
            persistent,
        }
    }

    /// Attaches connection `conn` to the subscriber `id`: takes over (disconnects) connections
    /// already attached unless `allow_multiple_sessions`, starts a fresh session for clean
    /// start, or resumes the existing one.
    pub async fn register(
        self: &Arc<Self>,
        id: SubscriberId,
        conn: ConnId,
        handle: ConnHandle,
        persistence: SessionPersistence,
    ) -> Registered {
        // Phase 1: ask the connections attached now to leave, and wait until they detached.
        if !self.config.allow_multiple_sessions {
            let to_kick: Vec<ConnHandle> = self
                .subscriber(&id)
                .map(|s| {
                    s.state
                        .lock()
                        .conns
                        .iter()
                        .map(|(_, h)| h.clone())
                        .collect()
                })
                .unwrap_or_default();
            for old in to_kick {
                let (tx, rx) = oneshot::channel();
                if old
                    .send(Control::Disconnect(ReasonCode::SessionTakenOver, tx))
                    .is_ok()
                {
                    let _ = tokio::time::timeout(TAKEOVER_TIMEOUT, rx).await;
                }
            }
        }
        // Phase 2: decide under the registry lock.
        let mut registry = self.registry.lock();
        let existing = registry.get(&id).cloned();
        // With allow_multiple_sessions a connection joins a session that has connections
        // now, whatever its clean start flag says (the others must not lose their state).
        let joins_live = |s: &Arc<Subscriber>| {
            self.config.allow_multiple_sessions && !s.state.lock().conns.is_empty()
        };
        let (subscriber, session_present) = match existing {
            Some(old) if persistence.clean_start && !joins_live(&old) => {
                self.discard_subscriber_locked(&mut registry, &old);
                let fresh = Subscriber::new(id.clone(), self.queue_config(persistence.persistent));
                registry.insert(id.clone(), fresh.clone());
                self.metrics.incr(Counter::QueueSetup);
                (fresh, false)
            }
            Some(old) => (old, true),
            None => {
                let fresh = Subscriber::new(id.clone(), self.queue_config(persistence.persistent));
                registry.insert(id.clone(), fresh.clone());
                self.metrics.incr(Counter::QueueSetup);
                (fresh, false)
            }
        };
        drop(registry);
        let resume = {
            let mut state = subscriber.state.lock();
            state.generation += 1;
            state.protocol = persistence.protocol;
            state.set_persistent(persistence.persistent);
            state.session_expiry_interval = persistence.session_expiry_interval;
            let mut queue_config = self.queue_config(persistence.persistent);
            queue_config.persistent = persistence.persistent;
            state.queue.set_config(queue_config);
            state.conns.retain(|(c, _)| *c != conn);
            // Exact growth: nearly every subscriber has one connection, and a default `push`
            // would reserve four (memory per idle connection).
            state.conns.reserve_exact(1);
            state.conns.push((conn, handle.clone()));
            if let Ok(attached) = state.queue.add_session(conn) {
                // With allow_multiple_sessions off the queue may name sessions it replaced;
                // they were asked to leave above.
                for old in attached.taken_over {
                    state.conns.retain(|(c, _)| *c != old);
                }
            }
            subscriber.online.store(true, Ordering::Relaxed);
            if let Some(store) = &self.store {
                if persistence.persistent {
                    store.submit(vec![Op::SetSession {
                        subscriber: persistence::key_of(&id),
                        session: persistence::stored_session(
                            persistence.protocol,
                            persistence.session_expiry_interval,
                            false,
                        ),
                    }]);
                }
            }
            std::mem::take(&mut state.inflight)
        };
        // Messages queued while offline are waiting: wake the new connection.
        handle.wake();
        Registered {
            subscriber,
            session_present,
            resume,
        }
    }

    /// Removes `sub` from the registry, its subscriptions from the router, and ends its queue.
    fn discard_subscriber_locked(
        &self,
        registry: &mut HashMap<SubscriberId, Arc<Subscriber>, ahash::RandomState>,
        sub: &Arc<Subscriber>,
    ) {
        if registry
            .get(&sub.id)
            .is_some_and(|current| Arc::ptr_eq(current, sub))
        {
            registry.remove(&sub.id);
        }
        let key = SubscriberRef(sub.clone());
        let mut state = sub.state.lock();
        state.gone = true;
        for (filter, _) in state.subscriptions.drain(..) {
            self.router.unsubscribe(&sub.id.mountpoint, &filter, &key);
        }
        let dropped = state.queue.len();
        state.queue.terminate();
        state.drain_store_actions(None, false);
        state.inflight.clear();
        state.persisted.clear();
        let stored = std::mem::take(&mut state.stored);
        drop(state);
        // A session that was never persistent wrote nothing: deleting it would cost the store
        // two scans and a flush for every clean-session client that leaves.
        if let (Some(store), true) = (&self.store, stored) {
            let key = persistence::key_of(&sub.id);
            store.submit(vec![
                Op::DeleteQueue {
                    subscriber: key.clone(),
                },
                Op::DeleteSubscriptions {
                    subscriber: key.clone(),
                },
                Op::DeleteSession { subscriber: key },
            ]);
        }
        self.metrics
            .add(Counter::QueueMessageUnhandled, dropped as u64);
        self.metrics.incr(Counter::QueueTeardown);
    }

    /// Detaches connection `conn` from `sub`. A non-persistent session ends (subscriptions and
    /// queue go); a persistent one keeps `inflight` and, when its expiry is finite, gets a timer.
    /// `v5_expiry` is the MQTT 5 session expiry interval in force at the end (DISCONNECT may have
    /// changed it); `None` for MQTT 3.x.
    pub fn unregister(
        self: &Arc<Self>,
        sub: &Arc<Subscriber>,
        conn: ConnId,
        inflight: Vec<Inflight>,
        v5_expiry: Option<u32>,
    ) {
        let now = Instant::now();
        let (discard, last, generation, expire_after) = {
            let mut state = sub.state.lock();
            if let Some(expiry) = v5_expiry {
                state.set_persistent(expiry > 0);
                state.session_expiry_interval = expiry;
                let config = self.queue_config(state.persistent);
                state.queue.set_config(config);
            }
            state.conns.retain(|(c, _)| *c != conn);
            let last = state.conns.is_empty();
            let mut effects = Vec::new();
            if last && state.persistent && self.store.is_some() {
                // What was in flight is kept for the resume, and stored first (oldest).
                for entry in &inflight {
                    if state.persisted.insert(entry.delivery.msg.id) {
                        effects.push(StoreEffect::Put(entry.delivery.msg.clone()));
                    }
                }
            }
            let _ = state.queue.remove_session(&conn, Vec::new(), now);
            state.drain_store_actions(self.store.is_some().then_some(&mut effects), false);
            // Without that connection's online queue, publishers held back for it go on.
            state.release_waiting(now);
            if last {
                sub.online.store(false, Ordering::Relaxed);
                if state.persistent {
                    state.inflight = inflight;
                }
            }
            if let Some(store) = &self.store {
                let mut ops = self.effect_ops(&sub.id, effects);
                if last && state.persistent {
                    ops.push(Op::SetSession {
                        subscriber: persistence::key_of(&sub.id),
                        session: persistence::stored_session(
                            state.protocol,
                            state.session_expiry_interval,
                            true,
                        ),
                    });
                }
                store.submit(ops);
            }
            let discard = last && !state.persistent;
            (discard, last, state.generation, self.expiry_of(&state))
        };
        if discard {
            let mut registry = self.registry.lock();
            self.discard_subscriber_locked(&mut registry, sub);
            drop(registry);
            self.hooks.on_client_gone(&sub.id);
        } else if last {
            self.hooks.on_client_offline(&sub.id);
            if let Some(after) = expire_after {
                self.schedule_expiry(sub, generation, after);
            }
        }
    }

    /// How long an offline persistent session is kept.
    fn expiry_of(&self, state: &crate::subscriber::SubscriberState) -> Option<Duration> {
        if !state.persistent {
            return None;
        }
        if state.session_expiry_interval == u32::MAX {
            // MQTT 3.x (or MQTT 5 "never"): VerneMQ's persistent_client_expiration.
            self.config.persistent_client_expiration
        } else {
            Some(Duration::from_secs(u64::from(
                state.session_expiry_interval,
            )))
        }
    }

    /// Rebuilds persistent sessions, their subscriptions and offline queues, and the retained
    /// messages from the store (at startup, before the listeners accept).
    pub fn restore(self: &Arc<Self>) -> Result<(), vmq_store::Error> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let Some(reader) = store.store() else {
            return Ok(());
        };
        let restored = persistence::restore(&reader)?;
        drop(reader);
        let now = Instant::now();
        for message in restored.retained {
            let mountpoint = message.mountpoint.clone();
            let msg = Arc::new(persistence::message_from_stored(message));
            if !msg.is_expired(now) {
                let _ = self
                    .retained
                    .set(&mountpoint, &msg.topic, msg.clone(), msg.expires_at);
            }
        }
        let mut by_key: HashMap<vmq_store::SubscriberKey, Arc<Subscriber>, ahash::RandomState> =
            HashMap::default();
        let mut orphans = Vec::new();
        {
            let mut registry = self.registry.lock();
            for (key, session) in restored.sessions {
                let id = SubscriberId {
                    mountpoint: Arc::from(key.mountpoint.as_str()),
                    client_id: Arc::from(key.client_id.as_str()),
                };
                let sub = Subscriber::new(id.clone(), self.queue_config(true));
                {
                    let mut state = sub.state.lock();
                    state.set_persistent(true);
                    state.protocol = session.protocol_version;
                    state.session_expiry_interval = session.session_expiry_interval;
                }
                let offline_for = persistence::offline_for(&session);
                let expire_after = self
                    .expiry_of(&sub.state.lock())
                    .map(|d| d.saturating_sub(offline_for));
                if let Some(after) = expire_after {
                    self.schedule_expiry(&sub, 0, after);
                }
                registry.insert(id, sub.clone());
                by_key.insert(key, sub);
            }
        }
        for (key, stored) in restored.subscriptions {
            let Some(sub) = by_key.get(&key) else {
                orphans.push(key);
                continue;
            };
            let opts = persistence::sub_options_from_stored(&stored);
            let subscriber_ref = SubscriberRef(sub.clone());
            if self
                .router
                .subscribe(&sub.id.mountpoint, &stored.filter, subscriber_ref, opts)
                .is_ok()
            {
                sub.state.lock().subscriptions.push((stored.filter, opts));
            }
        }
        let upgrade = self.config.upgrade_outgoing_qos;
        for (key, messages) in restored.queues {
            let Some(sub) = by_key.get(&key) else {
                orphans.push(key);
                continue;
            };
            let mut state = sub.state.lock();
            let batch: Vec<QueuedDelivery> = messages
                .into_iter()
                .map(|stored| {
                    let msg = Arc::new(persistence::message_from_stored(stored));
                    let sub_qos =
                        granted_qos_for(&state.subscriptions, &msg.topic).unwrap_or(msg.qos);
                    let delivery = Delivery {
                        msg,
                        sub_qos,
                        retain: false,
                        subscription_ids: Box::default(),
                    };
                    let qos = delivery.outgoing_qos(upgrade);
                    QueuedDelivery { delivery, qos }
                })
                .collect();
            for q in &batch {
                state.persisted.insert(q.delivery.msg.id);
            }
            let _ = state.queue.insert_batch(batch, now);
            // The messages are stored already: record them, write nothing.
            let mut ignored = Vec::new();
            state.drain_store_actions(Some(&mut ignored), false);
            let dropped: Vec<u128> = ignored
                .into_iter()
                .filter_map(|e| match e {
                    StoreEffect::Delete(id) => Some(id),
                    StoreEffect::Put(_) => None,
                })
                .collect();
            drop(state);
            if !dropped.is_empty() {
                let ops = dropped
                    .into_iter()
                    .map(|msg_id| Op::DeleteEntry {
                        subscriber: key.clone(),
                        msg_id,
                    })
                    .collect();
                store.submit(ops);
            }
        }
        orphans.sort();
        orphans.dedup();
        for key in orphans {
            // Data of a session whose metadata is gone: it can never be resumed.
            store.submit(vec![
                Op::DeleteQueue {
                    subscriber: key.clone(),
                },
                Op::DeleteSubscriptions { subscriber: key },
            ]);
        }
        Ok(())
    }

    fn schedule_expiry(self: &Arc<Self>, sub: &Arc<Subscriber>, generation: u64, after: Duration) {
        let core = self.clone();
        let sub = sub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            core.expire_session(&sub, generation);
        });
    }

    fn expire_session(&self, sub: &Arc<Subscriber>, generation: u64) {
        let still_offline = {
            let state = sub.state.lock();
            state.generation == generation && state.conns.is_empty() && !state.gone
        };
        if still_offline {
            let mut registry = self.registry.lock();
            self.discard_subscriber_locked(&mut registry, sub);
            drop(registry);
            self.metrics.incr(Counter::ClientExpired);
            self.hooks.on_session_expired(&sub.id);
        }
    }

    /// Disconnects a client by id (administrative action); true if it was connected.
    pub async fn disconnect_client(&self, id: &SubscriberId, code: ReasonCode) -> bool {
        let conns: Vec<ConnHandle> = self
            .subscriber(id)
            .map(|s| {
                s.state
                    .lock()
                    .conns
                    .iter()
                    .map(|(_, h)| h.clone())
                    .collect()
            })
            .unwrap_or_default();
        let any = !conns.is_empty();
        for conn in conns {
            let (tx, rx) = oneshot::channel();
            if conn.send(Control::Disconnect(code, tx)).is_ok() {
                let _ = tokio::time::timeout(TAKEOVER_TIMEOUT, rx).await;
            }
        }
        any
    }

    /// Removes the session of `id` (queue, subscriptions, offline messages) after its
    /// connections are gone (`vmq-admin session disconnect --cleanup`); true if it existed.
    pub fn discard(&self, id: &SubscriberId) -> bool {
        let mut registry = self.registry.lock();
        match registry.get(id).cloned() {
            Some(sub) => {
                self.discard_subscriber_locked(&mut registry, &sub);
                true
            }
            None => false,
        }
    }

    /// Disconnects every client (shutdown).
    pub async fn disconnect_all(&self, code: ReasonCode) {
        let conns: Vec<ConnHandle> = self
            .registry
            .lock()
            .values()
            .flat_map(|s| {
                s.state
                    .lock()
                    .conns
                    .iter()
                    .map(|(_, h)| h.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut waits = Vec::new();
        for conn in conns {
            let (tx, rx) = oneshot::channel();
            if conn.send(Control::Disconnect(code, tx)).is_ok() {
                waits.push(rx);
            }
        }
        for rx in waits {
            let _ = tokio::time::timeout(TAKEOVER_TIMEOUT, rx).await;
        }
    }

    /// Writes what was submitted to the store and closes it (see [`Persistence::close`]).
    pub async fn close_store(&self) {
        if let Some(store) = &self.store {
            store.close().await;
        }
    }

    // ------------------------------------------------------------------ publish

    /// Routes `msg` published in `mountpoint` by `publisher` (for no local): updates the retained
    /// store if the RETAIN flag is set, then queues a delivery for every matching subscriber.
    /// When the message had to be persisted (retained, or queued for an offline persistent
    /// session), `durable` answers once it is on disk: acknowledge the publisher only then.
    pub fn publish(
        &self,
        mountpoint: &str,
        publisher: Option<&Subscriber>,
        msg: Arc<Message>,
        now: Instant,
        matches: &mut MatchBuffer,
    ) -> PublishOutcome {
        let mut ops = Vec::new();
        if msg.retain {
            if msg.payload.is_empty() {
                self.retained.remove(mountpoint, &msg.topic);
                if self.store.is_some() {
                    ops.push(Op::DeleteRetained {
                        mountpoint: mountpoint.to_owned(),
                        topic: msg.topic.to_string(),
                    });
                }
            } else if self
                .retained
                .set(mountpoint, &msg.topic, msg.clone(), msg.expires_at)
                .is_ok()
                && self.store.is_some()
            {
                ops.push(Op::SetRetained {
                    message: persistence::stored_message(mountpoint, &msg),
                });
            }
        }
        matches.clear();
        let presence = |k: &SubscriberRef| k.0.online.load(Ordering::Relaxed);
        self.router
            .matches_with(mountpoint, &msg.topic, &presence, matches);
        let upgrade = self.config.upgrade_outgoing_qos;
        // Queue pressure matters only to a client's QoS 1/2 publish with `publish_backpressure`;
        // otherwise no queue is asked about it.
        let watch_pressure =
            self.config.publish_backpressure && publisher.is_some() && msg.qos != QoS::AtMostOnce;
        let mut queued = 0usize;
        let mut woken = 0usize;
        let mut under_pressure = None;
        let mut metrics = QueueMetrics::default();
        let mut effects = Vec::new();
        let mut stored_for = Vec::new();
        for group in matches.by_subscriber() {
            let subscriber = &group[0].key.0;
            let is_publisher = publisher.is_some_and(|p| std::ptr::eq(p, subscriber.as_ref()));
            let mut sub_qos: Option<QoS> = None;
            let mut retain = false;
            let mut subscription_ids = Vec::new();
            for m in group {
                let opts = &m.value;
                // MQTT-3.8.3-3: no local (not for shared subscriptions, MQTT-3.8.3-4).
                if opts.no_local && is_publisher && !m.is_shared() {
                    continue;
                }
                sub_qos = Some(sub_qos.map_or(opts.qos, |q| q.max(opts.qos)));
                retain |= opts.retain_as_published && msg.retain;
                if let Some(id) = opts.subscription_id {
                    subscription_ids.push(id);
                }
            }
            let Some(sub_qos) = sub_qos else { continue };
            let delivery = Delivery {
                msg: msg.clone(),
                sub_qos,
                retain,
                subscription_ids: subscription_ids.into_boxed_slice(),
            };
            let qos = delivery.outgoing_qos(upgrade);
            let store_effects = self.store.is_some().then_some(&mut effects);
            let enqueued = subscriber.enqueue(
                QueuedDelivery { delivery, qos },
                now,
                store_effects,
                &mut metrics,
                watch_pressure,
            );
            if enqueued == EnqueueResult::QueuedUnderPressure {
                under_pressure = Some(subscriber.clone());
            }
            if enqueued == EnqueueResult::QueuedAndWoken {
                woken += 1;
            }
            if enqueued != EnqueueResult::Dropped {
                queued += 1;
                if !subscriber.online.load(Ordering::Relaxed) && !self.hooks.is_empty() {
                    self.hooks
                        .on_offline_message(&crate::hooks::OfflineMessage {
                            subscriber_id: &subscriber.id,
                            qos,
                            topic: &msg.topic,
                            payload: &msg.payload,
                            retain: msg.retain,
                        });
                }
            }
            for effect in effects.drain(..) {
                match effect {
                    StoreEffect::Put(_) => stored_for.push(persistence::key_of(&subscriber.id)),
                    StoreEffect::Delete(msg_id) => ops.push(Op::DeleteEntry {
                        subscriber: persistence::key_of(&subscriber.id),
                        msg_id,
                    }),
                }
            }
        }
        self.add_queue_metrics(&metrics);
        self.metrics.add(Counter::RouterMatchesLocal, queued as u64);
        if !stored_for.is_empty() {
            ops.push(Op::PutMessage {
                message: persistence::stored_message(mountpoint, &msg),
                subscribers: stored_for,
            });
        }
        let durable = match &self.store {
            Some(store) if !ops.is_empty() => Some(store.submit_durable(ops)),
            _ => None,
        };
        PublishOutcome {
            queued,
            woken,
            durable,
            under_pressure,
        }
    }

    fn effect_ops(&self, id: &SubscriberId, effects: Vec<StoreEffect>) -> Vec<Op> {
        let key = persistence::key_of(id);
        effects
            .into_iter()
            .map(|effect| match effect {
                StoreEffect::Put(msg) => Op::PutMessage {
                    message: persistence::stored_message(&id.mountpoint, &msg),
                    subscribers: vec![key.clone()],
                },
                StoreEffect::Delete(msg_id) => Op::DeleteEntry {
                    subscriber: key.clone(),
                    msg_id,
                },
            })
            .collect()
    }

    /// The client acknowledged messages `msg_ids` (or they were dropped on their way): their
    /// stored queue entries, if any, go. One lock for the batch: the queue's lock is the one
    /// publishers on other threads take, and a lock per acknowledgement showed in profiles.
    pub fn messages_done(&self, sub: &Subscriber, msg_ids: &[u128]) {
        if self.store.is_none() || msg_ids.is_empty() {
            return;
        }
        let ops = Self::stored_entries_done(sub, &mut sub.state.lock(), msg_ids.iter().copied());
        self.submit(ops);
    }

    /// Removes `msg_ids` from the subscriber's stored entries; the deletes to submit (after
    /// the lock is released) for those it had.
    pub(crate) fn stored_entries_done(
        sub: &Subscriber,
        state: &mut SubscriberState,
        msg_ids: impl Iterator<Item = u128>,
    ) -> Vec<Op> {
        // Most subscribers have no stored copy (online clean sessions): no hashing then.
        if state.persisted.is_empty() {
            return Vec::new();
        }
        msg_ids
            .filter(|id| state.persisted.remove(id))
            .map(|msg_id| Op::DeleteEntry {
                subscriber: persistence::key_of(&sub.id),
                msg_id,
            })
            .collect()
    }

    /// Hands store operations to the store (none without one).
    pub(crate) fn submit(&self, ops: Vec<Op>) {
        if ops.is_empty() {
            return;
        }
        if let Some(store) = &self.store {
            store.submit(ops);
        }
    }

    /// Adds counters taken from queues to the node's.
    pub(crate) fn add_queue_metrics(&self, m: &QueueMetrics) {
        // Called for every publish and every pull from a queue: the counters are shared by
        // every thread, so an atomic add of zero is skipped rather than made.
        for (counter, n) in [
            (Counter::QueueMessageIn, m.message_in),
            (Counter::QueueMessageOut, m.message_out),
            (Counter::QueueMessageDrop, m.message_drop),
            (Counter::QueueMessageExpired, m.message_expired),
            (Counter::QueueMessageUnhandled, m.message_unhandled),
        ] {
            if n > 0 {
                self.metrics.add(counter, n);
            }
        }
    }

    /// Builds the broker's message for a will.
    pub fn will_message(&self, will: &LastWill) -> Arc<Message> {
        let props = &will.properties;
        let properties = PublishProperties {
            payload_format_indicator: props.payload_format_indicator,
            content_type: props.content_type.clone(),
            response_topic: props.response_topic.clone(),
            correlation_data: props.correlation_data.clone(),
            user_properties: props.user_properties.clone(),
            ..PublishProperties::default()
        };
        let now = Instant::now();
        Arc::new(Message {
            id: self.next_msg_id(),
            topic: will.topic.clone(),
            payload: will.payload.clone(),
            qos: will.qos,
            retain: will.retain,
            properties,
            expires_at: props
                .message_expiry_interval
                .map(|s| now + Duration::from_secs(u64::from(s))),
        })
    }

    /// Publishes a will now, or after its delay if the session does not resume in between
    /// (MQTT-3.1.3-9).
    pub fn schedule_will(
        self: &Arc<Self>,
        sub: Option<Arc<Subscriber>>,
        mountpoint: Arc<str>,
        will: LastWill,
        delay: Duration,
    ) {
        let msg = self.will_message(&will);
        if delay.is_zero() {
            let mut matches = MatchBuffer::new();
            let _ = self.publish(&mountpoint, None, msg, Instant::now(), &mut matches);
            return;
        }
        let core = self.clone();
        let generation = sub.as_ref().map(|s| s.state.lock().generation);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let resumed = match (&sub, generation) {
                (Some(s), Some(g)) => {
                    let state = s.state.lock();
                    state.generation != g || !state.conns.is_empty()
                }
                _ => false,
            };
            if !resumed {
                let mut matches = MatchBuffer::new();
                let _ = core.publish(&mountpoint, None, msg, Instant::now(), &mut matches);
            }
        });
    }

    // ------------------------------------------------------------------ subscribe

    /// Adds one subscription of `sub`; returns whether it is new. Retained messages are the
    /// caller's to send (after SUBACK).
    pub fn subscribe(
        &self,
        sub: &Arc<Subscriber>,
        filter: &str,
        opts: SubOptions,
    ) -> Result<bool, vmq_router::RouterError> {
        let key = SubscriberRef(sub.clone());
        let subscribed = self
            .router
            .subscribe(&sub.id.mountpoint, filter, key, opts)?;
        let mut state = sub.state.lock();
        match state.subscriptions.iter_mut().find(|(f, _)| f == filter) {
            Some(entry) => entry.1 = opts,
            None => {
                // Exact growth: most clients hold a handful of subscriptions.
                state.subscriptions.reserve_exact(1);
                state.subscriptions.push((filter.to_owned(), opts));
            }
        }
        if let (Some(store), true) = (&self.store, state.persistent) {
            store.submit(vec![Op::SetSubscription {
                subscriber: persistence::key_of(&sub.id),
                subscription: persistence::stored_subscription(filter, &opts),
            }]);
        }
        Ok(subscribed.is_new())
    }

    /// Queues the retained messages matching `filter` for `sub` (MQTT-3.3.1-6), at the lower of
    /// the retained message's QoS and the granted QoS.
    pub fn send_retained(
        &self,
        sub: &Arc<Subscriber>,
        filter: &str,
        opts: SubOptions,
        is_new: bool,
        now: Instant,
    ) {
        match opts.retain_handling {
            RetainHandling::DoNotSend => return,
            RetainHandling::SendAtSubscribeIfNew if !is_new => return,
            _ => {}
        }
        if vmq_router::is_shared_filter(filter) {
            // MQTT-4.8.2: no retained messages for shared subscriptions.
            return;
        }
        let mut found = Vec::new();
        self.retained
            .lookup(&sub.id.mountpoint, filter, now, &mut found);
        let upgrade = self.config.upgrade_outgoing_qos;
        let mut metrics = QueueMetrics::default();
        for msg in found {
            let delivery = Delivery {
                msg,
                sub_qos: opts.qos,
                retain: true,
                subscription_ids: opts.subscription_id.into_iter().collect(),
            };
            let qos = delivery.outgoing_qos(upgrade);
            sub.enqueue(
                QueuedDelivery { delivery, qos },
                now,
                None,
                &mut metrics,
                false,
            );
        }
        self.add_queue_metrics(&metrics);
    }

    /// Removes one subscription of `sub`; true if it existed.
    pub fn unsubscribe(&self, sub: &Arc<Subscriber>, filter: &str) -> bool {
        let key = SubscriberRef(sub.clone());
        let existed = self.router.unsubscribe(&sub.id.mountpoint, filter, &key);
        let mut state = sub.state.lock();
        state.subscriptions.retain(|(f, _)| f != filter);
        if let (Some(store), true) = (&self.store, state.persistent) {
            store.submit(vec![Op::DeleteSubscription {
                subscriber: persistence::key_of(&sub.id),
                filter: filter.to_owned(),
            }]);
        }
        existed
    }

    /// Address-independent description of the peer for logs.
    pub fn describe(peer: SocketAddr, client_id: &Utf8Str) -> String {
        format!("{client_id}@{peer}")
    }
}

/// The highest QoS granted by `subscriptions` that match `topic` (for messages restored from
/// the store, whose per-subscriber delivery options were not stored).
fn granted_qos_for(subscriptions: &[(String, SubOptions)], topic: &str) -> Option<QoS> {
    subscriptions
        .iter()
        .filter(|(filter, _)| {
            vmq_router::parse_subscription(filter, usize::MAX)
                .is_ok_and(|p| vmq_router::filter_matches(p.filter, topic))
        })
        .map(|(_, o)| o.qos)
        .max()
}
