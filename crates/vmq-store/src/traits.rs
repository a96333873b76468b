//! The store's interface as traits: [`BatchWrite`] (atomic batches and the group-commit
//! flush), [`MessageStore`] (refcounted offline queues) and [`MetadataStore`]
//! (subscriptions, retained messages, sessions, generic namespaces). All are object safe, so
//! the broker can hold an `Arc<dyn MessageStore>`; [`crate::Store`] implements all three.
//!
//! Writes are visible to reads as soon as the call returns; they are durable only after a
//! later [`BatchWrite::flush`] returns `Ok`.

use bytes::Bytes;

use crate::batch::{Batch, Op};
use crate::error::Result;
use crate::types::{StoredMessage, StoredSession, StoredSubscription, SubscriberKey};

/// Atomic batches and the flush that makes them durable.
pub trait BatchWrite: Send + Sync {
    /// Applies every op of `batch` atomically and in order. Not yet durable: see
    /// [`BatchWrite::flush`]. An `Err` means nothing of the batch was applied.
    fn write_batch(&self, batch: &Batch) -> Result<()>;

    /// Makes every write applied before this call durable (an fsync for sled, a no-op for
    /// memory). Acknowledge a persisted message only after a flush that started after its
    /// `write_batch` returned.
    fn flush(&self) -> Result<()>;

    /// Applies a single op (a one-op batch).
    fn write_op(&self, op: Op) -> Result<()> {
        self.write_batch(&Batch::from(vec![op]))
    }
}

/// VerneMQ's message store: one stored copy per message, one queue entry per subscriber,
/// each subscriber's entries read back in enqueue order.
pub trait MessageStore: BatchWrite {
    /// Every message queued for `subscriber`, in enqueue order.
    fn read_queue(&self, subscriber: &SubscriberKey) -> Result<Vec<StoredMessage>>;

    /// The number of entries in `subscriber`'s queue.
    fn queue_len(&self, subscriber: &SubscriberKey) -> Result<usize>;

    /// Visits every non-empty queue (subscribers in key order, messages in enqueue order):
    /// what the broker does at startup to restore offline queues.
    fn for_each_queue(
        &self,
        visit: &mut dyn FnMut(SubscriberKey, Vec<StoredMessage>),
    ) -> Result<()>;

    /// How many queue entries refer to `msg_id` (`None`: the message is not stored).
    fn refcount(&self, msg_id: u128) -> Result<Option<u32>>;

    /// The number of stored message copies.
    fn message_count(&self) -> Result<usize>;

    /// Stores `message` for `subscribers` ([`Op::PutMessage`]).
    fn write_message(&self, message: &StoredMessage, subscribers: &[SubscriberKey]) -> Result<()> {
        self.write_op(Op::PutMessage {
            message: message.clone(),
            subscribers: subscribers.to_vec(),
        })
    }

    /// Removes one entry, freeing the message with its last one ([`Op::DeleteEntry`]).
    fn delete_entry(&self, subscriber: &SubscriberKey, msg_id: u128) -> Result<()> {
        self.write_op(Op::DeleteEntry {
            subscriber: subscriber.clone(),
            msg_id,
        })
    }

    /// Removes all of a subscriber's entries ([`Op::DeleteQueue`]).
    fn delete_queue(&self, subscriber: &SubscriberKey) -> Result<()> {
        self.write_op(Op::DeleteQueue {
            subscriber: subscriber.clone(),
        })
    }
}

/// Subscriptions, retained messages, session metadata and generic namespaces.
pub trait MetadataStore: BatchWrite {
    /// The subscriber's subscriptions, ordered by filter.
    fn subscriptions(&self, subscriber: &SubscriberKey) -> Result<Vec<StoredSubscription>>;

    /// Visits every subscription of every subscriber (startup: rebuild the router).
    fn for_each_subscription(
        &self,
        visit: &mut dyn FnMut(&SubscriberKey, StoredSubscription),
    ) -> Result<()>;

    /// The retained message of `mountpoint` / `topic`.
    fn retained(&self, mountpoint: &str, topic: &str) -> Result<Option<StoredMessage>>;

    /// Visits the retained messages of `mountpoint` whose topic starts with `topic_prefix`
    /// (`""`: all of the mountpoint's), ordered by topic.
    fn scan_retained(
        &self,
        mountpoint: &str,
        topic_prefix: &str,
        visit: &mut dyn FnMut(StoredMessage),
    ) -> Result<()>;

    /// Visits every retained message of every mountpoint (startup: rebuild the index).
    fn for_each_retained(&self, visit: &mut dyn FnMut(StoredMessage)) -> Result<()>;

    /// The subscriber's session metadata.
    fn session(&self, subscriber: &SubscriberKey) -> Result<Option<StoredSession>>;

    /// Visits every stored session (startup: restore persistent sessions and their expiry
    /// timers).
    fn for_each_session(&self, visit: &mut dyn FnMut(SubscriberKey, StoredSession)) -> Result<()>;

    /// Reads a generic value.
    fn generic_get(&self, namespace: &str, key: &[u8]) -> Result<Option<Bytes>>;

    /// Visits the generic values of `namespace` whose key starts with `key_prefix`, in key
    /// order.
    fn generic_scan(
        &self,
        namespace: &str,
        key_prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], Bytes),
    ) -> Result<()>;

    /// Sets a retained message ([`Op::SetRetained`]).
    fn set_retained(&self, message: &StoredMessage) -> Result<()> {
        self.write_op(Op::SetRetained {
            message: message.clone(),
        })
    }

    /// Removes a retained message ([`Op::DeleteRetained`]).
    fn delete_retained(&self, mountpoint: &str, topic: &str) -> Result<()> {
        self.write_op(Op::DeleteRetained {
            mountpoint: mountpoint.to_owned(),
            topic: topic.to_owned(),
        })
    }

    /// Adds or replaces a subscription ([`Op::SetSubscription`]).
    fn set_subscription(
        &self,
        subscriber: &SubscriberKey,
        subscription: &StoredSubscription,
    ) -> Result<()> {
        self.write_op(Op::SetSubscription {
            subscriber: subscriber.clone(),
            subscription: subscription.clone(),
        })
    }

    /// Removes a subscription ([`Op::DeleteSubscription`]).
    fn delete_subscription(&self, subscriber: &SubscriberKey, filter: &str) -> Result<()> {
        self.write_op(Op::DeleteSubscription {
            subscriber: subscriber.clone(),
            filter: filter.to_owned(),
        })
    }

    /// Sets session metadata ([`Op::SetSession`]).
    fn set_session(&self, subscriber: &SubscriberKey, session: &StoredSession) -> Result<()> {
        self.write_op(Op::SetSession {
            subscriber: subscriber.clone(),
            session: session.clone(),
        })
    }

    /// Removes session metadata ([`Op::DeleteSession`]).
    fn delete_session(&self, subscriber: &SubscriberKey) -> Result<()> {
        self.write_op(Op::DeleteSession {
            subscriber: subscriber.clone(),
        })
    }
}
