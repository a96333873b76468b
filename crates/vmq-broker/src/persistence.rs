//! Persistence of the broker's state through `vmq-store`: a dedicated store thread that
//! group-commits (one `write_batch` and one `flush` for everything queued since the last one),
//! completion handles for writes that gate an acknowledgement, the conversions between the
//! broker's messages and the store's records, and the restore at startup.
//!
//! Guarantee: a PUBACK / PUBREC for a message that had to be persisted (a persistent subscriber
//! was offline, or the message is retained) is sent only after a flush that covers it.

use std::{
    path::{Path, PathBuf},
    sync::{mpsc, Arc},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use parking_lot::Mutex;
use tokio::sync::oneshot;
use tracing::{error, info};
use vmq_codec::{PublishProperties, QoS, Utf8Str};
use vmq_session::Message;
use vmq_store::{
    Batch, BatchWrite, MessageStore, MetadataStore, Op, Store, StoreOptions, StoredMessage,
    StoredProperties, StoredSession, StoredSubscription, SubscriberKey,
};

use crate::subscriber::{SubOptions, SubscriberId};

/// Where the broker keeps its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Nothing survives a restart (the default when embedding).
    Memory,
    /// sled under this data directory (`<dir>/store-sled`); the `vernemq` binary uses
    /// `setup.data_dir` / `metadata_dir` from the configuration.
    Disk(PathBuf),
}

/// The answer to a durable write: `Err` carries the store's error text.
pub type Durable = oneshot::Receiver<Result<(), Arc<str>>>;

enum Request {
    /// Operations for the next batch; `done` answers after the flush that covers them.
    Write {
        ops: Vec<Op>,
        done: Option<oneshot::Sender<Result<(), Arc<str>>>>,
    },
    /// Write what came before, stop, and answer once the thread's handle on the store is gone.
    Close(oneshot::Sender<()>),
}

/// Requests drained into one batch at most (bounds the latency of the first in the batch).
const MAX_REQUESTS_PER_BATCH: usize = 4096;

/// The handle to the store thread.
#[derive(Debug)]
pub struct Persistence {
    tx: mpsc::Sender<Request>,
    /// For reads (the restore at startup). [`Persistence::close`] gives it up, so that the
    /// store thread holds the last handle and the store closes when that thread ends.
    store: Mutex<Option<Arc<Store>>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Write { ops, .. } => f.debug_struct("Write").field("ops", &ops.len()).finish(),
            Request::Close(_) => f.write_str("Close"),
        }
    }
}

impl Persistence {
    /// Opens the store under `data_dir` and starts the store thread.
    pub fn open(data_dir: &Path, options: &StoreOptions) -> Result<Persistence, vmq_store::Error> {
        let store = Arc::new(Store::open(data_dir, options)?);
        Ok(Self::start(store))
    }

    /// An in-memory store (for tests of the persistence path itself).
    pub fn memory() -> Persistence {
        Self::start(Arc::new(Store::memory()))
    }

    fn start(store: Arc<Store>) -> Persistence {
        let (tx, rx) = mpsc::channel::<Request>();
        let thread_store = store.clone();
        let spawned = std::thread::Builder::new()
            .name("vmq-store".into())
            .spawn(move || {
                let closing = store_thread(&thread_store, &rx);
                // Requests that came after the close are dropped unanswered: their senders
                // see the thread as stopped.
                drop(rx);
                // Normally the last handle: the store flushes, closes its files and releases
                // its lock here, before the close is answered.
                drop(thread_store);
                if let Some(closed) = closing {
                    let _ = closed.send(());
                }
            });
        if let Err(e) = spawned {
            error!(error = %e, "could not start the store thread; writes will fail");
        }
        Persistence {
            tx,
            store: Mutex::new(Some(store)),
        }
    }

    /// The store, for reads (the restore); `None` once closed.
    pub fn store(&self) -> Option<Arc<Store>> {
        self.store.lock().clone()
    }

    /// Queues `ops` for the next batch; nobody waits for them.
    pub fn submit(&self, ops: Vec<Op>) {
        if !ops.is_empty() {
            let _ = self.tx.send(Request::Write { ops, done: None });
        }
    }

    /// Queues `ops`; the receiver answers after the flush that covers them.
    pub fn submit_durable(&self, ops: Vec<Op>) -> Durable {
        let (done, rx) = oneshot::channel();
        if let Err(mpsc::SendError(Request::Write {
            done: Some(done), ..
        })) = self.tx.send(Request::Write {
            ops,
            done: Some(done),
        }) {
            let _ = done.send(Err(Arc::from("the store thread has stopped")));
        }
        rx
    }

    /// Writes everything submitted so far, stops the store thread and returns once the store
    /// is closed (unless a handle from [`Persistence::store`] is still held elsewhere): a
    /// broker started afterwards in the same process can open the same directory. Writes
    /// submitted afterwards fail as if the thread had stopped.
    pub async fn close(&self) {
        drop(self.store.lock().take());
        let (closed, rx) = oneshot::channel();
        if self.tx.send(Request::Close(closed)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// The store thread's loop: group commits until the channel closes (`None`) or a close
/// arrives (returned, to be answered once the store is dropped).
fn store_thread(store: &Store, rx: &mpsc::Receiver<Request>) -> Option<oneshot::Sender<()>> {
    let mut batch = Batch::new();
    let mut waiting = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut n = 0;
        let mut closing = None;
        while let Some(req) = next.take() {
            match req {
                Request::Write { ops, done } => {
                    for op in ops {
                        batch.push(op);
                    }
                    if let Some(done) = done {
                        waiting.push(done);
                    }
                }
                Request::Close(closed) => {
                    closing = Some(closed);
                    break;
                }
            }
            n += 1;
            if n < MAX_REQUESTS_PER_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if closing.is_some() && batch.is_empty() && waiting.is_empty() {
            return closing;
        }
        let result = store
            .write_batch(&batch)
            .and_then(|()| store.flush())
            .map_err(|e| {
                error!(error = %e, "store write failed; acknowledgements withheld");
                Arc::<str>::from(e.to_string())
            });
        batch.clear();
        for done in waiting.drain(..) {
            let _ = done.send(result.clone());
        }
        if closing.is_some() {
            return closing;
        }
    }
    None
}

/// The store's key for a subscriber.
pub fn key_of(id: &SubscriberId) -> SubscriberKey {
    SubscriberKey::new(&*id.mountpoint, &*id.client_id)
}

fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A message as the store keeps it (expiry as wall-clock time, since `Instant`s do not
/// survive a restart).
pub fn stored_message(mountpoint: &str, msg: &Message) -> StoredMessage {
    let now = Instant::now();
    let p = &msg.properties;
    StoredMessage {
        msg_id: msg.id,
        mountpoint: mountpoint.to_owned(),
        topic: msg.topic.to_string(),
        payload: msg.payload.clone(),
        qos: msg.qos as u8,
        retain: msg.retain,
        properties: StoredProperties {
            payload_format_indicator: p.payload_format_indicator,
            content_type: p.content_type.as_ref().map(|s| s.to_string()),
            response_topic: p.response_topic.as_ref().map(|s| s.to_string()),
            correlation_data: p.correlation_data.clone(),
            user_properties: p
                .user_properties
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        expiry_unix_ms: msg.expires_at.map(|at| {
            let left = at.saturating_duration_since(now);
            unix_ms_now().saturating_add(u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
        }),
    }
}

/// A stored message back as the broker's message.
pub fn message_from_stored(stored: StoredMessage) -> Message {
    let now = Instant::now();
    let p = stored.properties;
    Message {
        id: stored.msg_id,
        topic: Utf8Str::from(stored.topic),
        payload: stored.payload,
        qos: QoS::from_u8(stored.qos).unwrap_or(QoS::AtLeastOnce),
        retain: stored.retain,
        properties: PublishProperties {
            payload_format_indicator: p.payload_format_indicator,
            content_type: p.content_type.map(Utf8Str::from),
            response_topic: p.response_topic.map(Utf8Str::from),
            correlation_data: p.correlation_data,
            user_properties: p
                .user_properties
                .into_iter()
                .map(|(k, v)| (Utf8Str::from(k), Utf8Str::from(v)))
                .collect(),
            ..PublishProperties::default()
        },
        expires_at: stored
            .expiry_unix_ms
            .map(|at| now + Duration::from_millis(at.saturating_sub(unix_ms_now()))),
    }
}

/// A subscription as the store keeps it.
pub fn stored_subscription(filter: &str, o: &SubOptions) -> StoredSubscription {
    StoredSubscription {
        filter: filter.to_owned(),
        qos: o.qos as u8,
        no_local: o.no_local,
        retain_as_published: o.retain_as_published,
        retain_handling: match o.retain_handling {
            vmq_codec::RetainHandling::SendAtSubscribe => 0,
            vmq_codec::RetainHandling::SendAtSubscribeIfNew => 1,
            vmq_codec::RetainHandling::DoNotSend => 2,
        },
        subscription_id: o.subscription_id,
    }
}

/// A stored subscription back as options.
pub fn sub_options_from_stored(s: &StoredSubscription) -> SubOptions {
    SubOptions {
        qos: QoS::from_u8(s.qos).unwrap_or(QoS::AtMostOnce),
        no_local: s.no_local,
        retain_as_published: s.retain_as_published,
        retain_handling: match s.retain_handling {
            1 => vmq_codec::RetainHandling::SendAtSubscribeIfNew,
            2 => vmq_codec::RetainHandling::DoNotSend,
            _ => vmq_codec::RetainHandling::SendAtSubscribe,
        },
        subscription_id: s.subscription_id,
    }
}

/// Session metadata as the store keeps it.
pub fn stored_session(protocol: u8, expiry: u32, offline: bool) -> StoredSession {
    StoredSession {
        protocol_version: protocol,
        session_expiry_interval: expiry,
        disconnected_at_unix_ms: offline.then(unix_ms_now),
        attributes: bytes::Bytes::new(),
    }
}

/// How long ago (from the stored wall clock) a session went offline.
pub fn offline_for(session: &StoredSession) -> Duration {
    session
        .disconnected_at_unix_ms
        .map_or(Duration::ZERO, |at| {
            Duration::from_millis(unix_ms_now().saturating_sub(at))
        })
}

/// Everything read back from the store at startup.
#[derive(Debug, Default)]
pub struct Restored {
    /// Persistent sessions with their metadata.
    pub sessions: Vec<(SubscriberKey, StoredSession)>,
    /// Subscriptions, one entry each.
    pub subscriptions: Vec<(SubscriberKey, StoredSubscription)>,
    /// Retained messages.
    pub retained: Vec<StoredMessage>,
    /// Offline queues, in order.
    pub queues: Vec<(SubscriberKey, Vec<StoredMessage>)>,
}

/// Reads the whole state back.
pub fn restore(store: &Store) -> Result<Restored, vmq_store::Error> {
    let started = Instant::now();
    let mut restored = Restored::default();
    store.for_each_session(&mut |k, s| restored.sessions.push((k, s)))?;
    store.for_each_subscription(&mut |k, sub| restored.subscriptions.push((k.clone(), sub)))?;
    store.for_each_retained(&mut |m| restored.retained.push(m))?;
    store.for_each_queue(&mut |k, msgs| restored.queues.push((k, msgs)))?;
    let messages: usize = restored.queues.iter().map(|(_, q)| q.len()).sum();
    info!(
        sessions = restored.sessions.len(),
        retained = restored.retained.len(),
        queued_messages = messages,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "restored state from the message store"
    );
    Ok(restored)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests may unwrap

    use super::*;

    fn set_session(client_id: &str) -> Op {
        Op::SetSession {
            subscriber: SubscriberKey::new("", client_id),
            session: stored_session(5, 3600, true),
        }
    }

    #[tokio::test]
    async fn close_writes_what_came_before_and_releases_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let persistence = Persistence::open(dir.path(), &StoreOptions::default()).unwrap();
        persistence.submit(vec![set_session("a")]);
        let durable = persistence.submit_durable(vec![set_session("b")]);
        persistence.close().await;
        assert_eq!(durable.await.unwrap(), Ok(()));
        assert!(persistence.store().is_none());

        // Reopened at once: the lock is free and both writes are there.
        let store = Store::open(dir.path(), &StoreOptions::default()).unwrap();
        for client_id in ["a", "b"] {
            let key = SubscriberKey::new("", client_id);
            assert!(store.session(&key).unwrap().is_some(), "{client_id}");
        }
    }

    #[tokio::test]
    async fn writes_after_close_are_refused() {
        let persistence = Persistence::memory();
        persistence.close().await;
        let durable = persistence.submit_durable(vec![set_session("late")]);
        assert!(durable.await.unwrap().is_err());
        // A second close has nothing to wait for.
        persistence.close().await;
    }
}
