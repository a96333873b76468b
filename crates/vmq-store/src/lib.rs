//! `vmq-store`: VerneMQ's persistence. It owns the refcounted offline message store
//! ([`MessageStore`]: one stored copy per message, one queue entry per subscriber), the
//! metadata store ([`MetadataStore`]: subscriptions, retained messages, session metadata,
//! generic namespaces for the cluster), the one order-preserving [`key`] encoding, the
//! binary [`codec`] of stored values, and the backends: sled 0.34.7 (feature `sled`,
//! default) and memory. The API is blocking: no tokio here; the broker calls it from a
//! dedicated store thread (or `spawn_blocking`). It must not know about sessions, queues or
//! sockets: the broker converts its messages to [`StoredMessage`] at the boundary.
//!
//! # How the broker drives it
//!
//! 1. Startup: `Store::open(&config.data_dir, &options)` with
//!    `options.cache_capacity = cache_capacity_from_vernemq(leveldb.maximum_memory,
//!    leveldb.maximum_memory.percent, MemTotal from /proc/meminfo)`. On
//!    [`Error::is_corruption`] or [`Error::Open`], log the error (it names the path) and
//!    exit non-zero; do not retry in a loop. Then restore state with
//!    [`MetadataStore::for_each_session`], [`MetadataStore::for_each_subscription`],
//!    [`MetadataStore::for_each_retained`] and [`MessageStore::for_each_queue`]
//!    (→ `Queue::insert_batch`).
//! 2. Group commit, one store thread: it owns a [`Batch`] and receives [`Op`]s (plus,
//!    for ops that gate an acknowledgement, a completion handle such as a oneshot sender)
//!    from a channel. Loop: block for the first op, then drain whatever else is queued (up
//!    to a cap, e.g. 1024 ops); [`BatchWrite::write_batch`]`(&batch)`;
//!    [`BatchWrite::flush`]`()`; then complete every handle of the batch (Ok or the error);
//!    `batch.clear()`. Under load, many publishes share one flush; idle, a lone publish
//!    costs one flush.
//! 3. Publish path: when a QoS 1/2 message must be persisted (a persistent subscriber is
//!    offline, i.e. the queue emitted `QueueAction::Persist`, or it is retained) send
//!    [`Op::PutMessage`] (all matched offline subscribers in one op when possible; separate
//!    ops for the same `msg_id` are fine, they share the stored copy) / [`Op::SetRetained`]
//!    and send PUBACK / PUBREC only after its completion arrives, i.e. after the flush that
//!    covers it. Messages that did not need persisting are acknowledged at once.
//! 4. Acks and drops: `QueueAction::Delete` → [`Op::DeleteEntry`] (no completion needed: a
//!    lost delete only means a redelivery with DUP, which QoS 1 allows). Session end or
//!    expiry: [`Op::DeleteQueue`], [`Op::DeleteSubscriptions`], [`Op::DeleteSession`].
//!    SUBSCRIBE / UNSUBSCRIBE of persistent sessions: [`Op::SetSubscription`] /
//!    [`Op::DeleteSubscription`] (await completion before SUBACK if subscriptions must
//!    survive a crash).
//!
//! Guarantee: everything a successful `write_batch` applied is on disk once a later
//! `flush` returns `Ok` (sled: its log is fsynced); a batch is atomic, also across a crash.
//! A failed `flush` means nothing after the previous successful flush is known durable:
//! do not acknowledge.
//!
//! # A broken store
//!
//! Errors name the directory (`<data_dir>/store-sled`). To start over keeping the data,
//! stop the broker and `mv data/store-sled data/store-sled.broken-$(date +%s)`: the broker
//! starts with an empty store. To salvage, open a copy with [`Store::open`] and call
//! [`Store::verify`] (report only) or [`Store::repair`] (drops undecodable records and
//! dangling references, recomputes refcounts, reports every change). If sled itself cannot
//! open the directory, only moving it aside helps.
//!
//! # Space
//!
//! A message's body and refcount are deleted with its last queue entry, in the same atomic
//! batch. sled reclaims the space of deleted records in its segment cleaner, so
//! [`Store::size_on_disk`] stays bounded under a steady enqueue-and-ack load (see the
//! `space` test) but does not shrink to zero at once.
//!
//! ```
//! use vmq_store::{Batch, BatchWrite, MessageStore, Store, StoredMessage, SubscriberKey};
//!
//! let store = Store::memory();
//! let a = SubscriberKey::new("", "a");
//! let b = SubscriberKey::new("", "b");
//! let msg = StoredMessage { msg_id: 1, topic: "t".into(), qos: 1, ..Default::default() };
//! let mut batch = Batch::new();
//! batch.put_message(msg.clone(), [a.clone(), b.clone()]);
//! store.write_batch(&batch)?;
//! store.flush()?; // now PUBACK the publisher
//! assert_eq!(store.read_queue(&a)?, vec![msg]);
//! store.delete_entry(&a, 1)?;
//! assert_eq!(store.refcount(1)?, Some(1));
//! store.delete_entry(&b, 1)?;
//! assert_eq!(store.message_count()?, 0);
//! # Ok::<(), vmq_store::Error>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod batch;
pub mod codec;
pub mod engine;
mod error;
pub mod key;
mod memory;
mod options;
#[cfg(feature = "sled")]
mod sled_engine;
mod store;
mod traits;
mod types;
mod verify;

pub use batch::{Batch, Op};
pub use engine::{EngineBatch, EngineOp, KvEngine};
pub use error::{Error, Result};
pub use memory::MemoryEngine;
pub use options::{
    cache_capacity_from_vernemq, Backend, StoreOptions, DEFAULT_CACHE_CAPACITY,
    DEFAULT_MAXIMUM_MEMORY_PERCENT, MIN_CACHE_CAPACITY,
};
pub use store::Store;
pub use traits::{BatchWrite, MessageStore, MetadataStore};
pub use types::{
    StoredMessage, StoredProperties, StoredSession, StoredSubscription, SubscriberKey,
};
pub use verify::{Problem, VerifyReport};
