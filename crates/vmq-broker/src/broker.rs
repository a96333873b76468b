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

use crate::{
    hooks::Hooks,
    metrics::{Counter, Metrics},
    subscriber::{
        ConnHandle, ConnId, Control, EnqueueResult, QueuedDelivery, SubOptions, Subscriber,
        SubscriberId, SubscriberRef,
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
    next_msg_id: AtomicU64,
    msg_id_prefix: u64,
    next_conn_id: AtomicU64,
    /// When the node started.
    pub started: Instant,
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
}

const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(5);

impl BrokerCore {
    /// A broker state for `config` with `hooks`.
    pub fn new(config: Arc<Config>, hooks: Hooks) -> Arc<Self> {
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
        Arc::new(BrokerCore {
            config,
            node,
            router,
            retained,
            registry: Mutex::new(HashMap::default()),
            hooks,
            metrics: Metrics::default(),
            next_msg_id: AtomicU64::new(1),
            msg_id_prefix: rand::random(),
            next_conn_id: AtomicU64::new(1),
            started: Instant::now(),
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
                    .control
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
        let (subscriber, session_present) = match existing {
            Some(old) if persistence.clean_start => {
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
            state.persistent = persistence.persistent;
            state.session_expiry_interval = persistence.session_expiry_interval;
            let mut queue_config = self.queue_config(persistence.persistent);
            queue_config.persistent = persistence.persistent;
            state.queue.set_config(queue_config);
            state.conns.retain(|(c, _)| *c != conn);
            state.conns.push((conn, handle.clone()));
            if let Ok(attached) = state.queue.add_session(conn) {
                // With allow_multiple_sessions off the queue may name sessions it replaced;
                // they were asked to leave above.
                for old in attached.taken_over {
                    state.conns.retain(|(c, _)| *c != old);
                }
            }
            subscriber.online.store(true, Ordering::Relaxed);
            std::mem::take(&mut state.inflight)
        };
        // Messages queued while offline are waiting: wake the new connection.
        handle.wake.notify_one();
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
        while state.queue.poll_action().is_some() {}
        state.inflight.clear();
        drop(state);
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
                state.persistent = expiry > 0;
                state.session_expiry_interval = expiry;
                let config = self.queue_config(state.persistent);
                state.queue.set_config(config);
            }
            state.conns.retain(|(c, _)| *c != conn);
            let _ = state.queue.remove_session(&conn, Vec::new(), now);
            while state.queue.poll_action().is_some() {}
            let last = state.conns.is_empty();
            if last {
                sub.online.store(false, Ordering::Relaxed);
                if state.persistent {
                    state.inflight = inflight;
                }
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
                let core = self.clone();
                let sub = sub.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    core.expire_session(&sub, generation);
                });
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
            if conn.control.send(Control::Disconnect(code, tx)).is_ok() {
                let _ = tokio::time::timeout(TAKEOVER_TIMEOUT, rx).await;
            }
        }
        any
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
            if conn.control.send(Control::Disconnect(code, tx)).is_ok() {
                waits.push(rx);
            }
        }
        for rx in waits {
            let _ = tokio::time::timeout(TAKEOVER_TIMEOUT, rx).await;
        }
    }

    // ------------------------------------------------------------------ publish

    /// Routes `msg` published in `mountpoint` by `publisher` (for no local): updates the retained
    /// store if the RETAIN flag is set, then queues a delivery for every matching subscriber.
    /// Returns the number of subscribers it was queued for.
    pub fn publish(
        &self,
        mountpoint: &str,
        publisher: Option<&Subscriber>,
        msg: Arc<Message>,
        now: Instant,
        matches: &mut MatchBuffer,
    ) -> usize {
        if msg.retain {
            if msg.payload.is_empty() {
                self.retained.remove(mountpoint, &msg.topic);
            } else {
                let _ = self
                    .retained
                    .set(mountpoint, &msg.topic, msg.clone(), msg.expires_at);
            }
        }
        matches.clear();
        let presence = |k: &SubscriberRef| k.0.online.load(Ordering::Relaxed);
        self.router
            .matches_with(mountpoint, &msg.topic, &presence, matches);
        let upgrade = self.config.upgrade_outgoing_qos;
        let mut queued = 0usize;
        let mut metrics = QueueMetrics::default();
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
                subscription_ids,
            };
            let qos = delivery.outgoing_qos(upgrade);
            if subscriber.enqueue(QueuedDelivery { delivery, qos }, now) == EnqueueResult::Queued {
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
            let mut state = subscriber.state.lock();
            metrics.add(&state.queue.take_metrics());
        }
        self.add_queue_metrics(&metrics);
        self.metrics.add(Counter::RouterMatchesLocal, queued as u64);
        queued
    }

    fn add_queue_metrics(&self, m: &QueueMetrics) {
        self.metrics.add(Counter::QueueMessageIn, m.message_in);
        self.metrics.add(Counter::QueueMessageOut, m.message_out);
        self.metrics.add(Counter::QueueMessageDrop, m.message_drop);
        self.metrics
            .add(Counter::QueueMessageExpired, m.message_expired);
        self.metrics
            .add(Counter::QueueMessageUnhandled, m.message_unhandled);
    }

    /// Collects the queue metrics of `sub` into the node's counters.
    pub fn collect_queue_metrics(&self, sub: &Subscriber) {
        let m = sub.state.lock().queue.take_metrics();
        self.add_queue_metrics(&m);
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
            self.publish(&mountpoint, None, msg, Instant::now(), &mut matches);
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
                core.publish(&mountpoint, None, msg, Instant::now(), &mut matches);
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
            None => state.subscriptions.push((filter.to_owned(), opts)),
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
        for msg in found {
            let delivery = Delivery {
                msg,
                sub_qos: opts.qos,
                retain: true,
                subscription_ids: opts.subscription_id.into_iter().collect(),
            };
            let qos = delivery.outgoing_qos(upgrade);
            sub.enqueue(QueuedDelivery { delivery, qos }, now);
        }
        self.collect_queue_metrics(sub);
    }

    /// Removes one subscription of `sub`; true if it existed.
    pub fn unsubscribe(&self, sub: &Arc<Subscriber>, filter: &str) -> bool {
        let key = SubscriberRef(sub.clone());
        let existed = self.router.unsubscribe(&sub.id.mountpoint, filter, &key);
        sub.state.lock().subscriptions.retain(|(f, _)| f != filter);
        existed
    }

    /// Address-independent description of the peer for logs.
    pub fn describe(peer: SocketAddr, client_id: &Utf8Str) -> String {
        format!("{client_id}@{peer}")
    }
}
