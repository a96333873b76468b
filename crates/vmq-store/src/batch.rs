//! [`Batch`]: the unit of group commit. The broker collects the store changes of many
//! publishes and acks into one batch, applies it with
//! [`crate::BatchWrite::write_batch`] (atomic), then calls [`crate::BatchWrite::flush`] once,
//! and only then acknowledges the messages the batch covers.

use crate::types::{StoredMessage, StoredSession, StoredSubscription, SubscriberKey};

/// One change to the store. Ops in a batch apply in order, and later ops see earlier ones
/// (a message written and acked within one batch leaves nothing behind).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Store `message` once (or reuse the stored copy with the same `msg_id`) and append an
    /// entry for it to the end of each subscriber's queue. A subscriber that already has an
    /// entry for this `msg_id` is skipped, so retrying a write is harmless.
    PutMessage {
        /// The message.
        message: StoredMessage,
        /// The subscribers whose queues get it.
        subscribers: Vec<SubscriberKey>,
    },
    /// Remove `subscriber`'s entry for `msg_id` (on PUBACK / PUBCOMP or a drop); the message
    /// is freed when no entry refers to it any more. Absent entries are ignored.
    DeleteEntry {
        /// The subscriber.
        subscriber: SubscriberKey,
        /// The message id.
        msg_id: u128,
    },
    /// Remove all of `subscriber`'s queue entries (session end, expiry, clean start).
    DeleteQueue {
        /// The subscriber.
        subscriber: SubscriberKey,
    },
    /// Set (or overwrite) the retained message of `message.mountpoint` / `message.topic`.
    SetRetained {
        /// The retained message.
        message: StoredMessage,
    },
    /// Remove the retained message of `mountpoint` / `topic`.
    DeleteRetained {
        /// The mountpoint.
        mountpoint: String,
        /// The topic.
        topic: String,
    },
    /// Add or replace one subscription (keyed by its filter).
    SetSubscription {
        /// The subscriber.
        subscriber: SubscriberKey,
        /// The subscription.
        subscription: StoredSubscription,
    },
    /// Remove one subscription.
    DeleteSubscription {
        /// The subscriber.
        subscriber: SubscriberKey,
        /// The filter as subscribed.
        filter: String,
    },
    /// Remove all of a subscriber's subscriptions.
    DeleteSubscriptions {
        /// The subscriber.
        subscriber: SubscriberKey,
    },
    /// Set a subscriber's session metadata.
    SetSession {
        /// The subscriber.
        subscriber: SubscriberKey,
        /// The metadata.
        session: StoredSession,
    },
    /// Remove a subscriber's session metadata.
    DeleteSession {
        /// The subscriber.
        subscriber: SubscriberKey,
    },
    /// Put an opaque value in a generic namespace (the cluster's replicated data).
    PutGeneric {
        /// The namespace name.
        namespace: String,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove a generic value.
    DeleteGeneric {
        /// The namespace name.
        namespace: String,
        /// The key.
        key: Vec<u8>,
    },
}

/// An ordered list of [`Op`]s applied atomically. Reuse one with [`Batch::clear`] to keep
/// its allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty batch with room for `n` ops.
    pub fn with_capacity(n: usize) -> Self {
        Batch {
            ops: Vec::with_capacity(n),
        }
    }

    /// Appends any op.
    pub fn push(&mut self, op: Op) -> &mut Self {
        self.ops.push(op);
        self
    }

    /// Appends [`Op::PutMessage`].
    pub fn put_message(
        &mut self,
        message: StoredMessage,
        subscribers: impl IntoIterator<Item = SubscriberKey>,
    ) -> &mut Self {
        self.push(Op::PutMessage {
            message,
            subscribers: subscribers.into_iter().collect(),
        })
    }

    /// Appends [`Op::DeleteEntry`].
    pub fn delete_entry(&mut self, subscriber: SubscriberKey, msg_id: u128) -> &mut Self {
        self.push(Op::DeleteEntry { subscriber, msg_id })
    }

    /// Appends [`Op::DeleteQueue`].
    pub fn delete_queue(&mut self, subscriber: SubscriberKey) -> &mut Self {
        self.push(Op::DeleteQueue { subscriber })
    }

    /// Appends [`Op::SetRetained`].
    pub fn set_retained(&mut self, message: StoredMessage) -> &mut Self {
        self.push(Op::SetRetained { message })
    }

    /// Appends [`Op::DeleteRetained`].
    pub fn delete_retained(
        &mut self,
        mountpoint: impl Into<String>,
        topic: impl Into<String>,
    ) -> &mut Self {
        self.push(Op::DeleteRetained {
            mountpoint: mountpoint.into(),
            topic: topic.into(),
        })
    }

    /// Appends [`Op::SetSubscription`].
    pub fn set_subscription(
        &mut self,
        subscriber: SubscriberKey,
        subscription: StoredSubscription,
    ) -> &mut Self {
        self.push(Op::SetSubscription {
            subscriber,
            subscription,
        })
    }

    /// Appends [`Op::DeleteSubscription`].
    pub fn delete_subscription(
        &mut self,
        subscriber: SubscriberKey,
        filter: impl Into<String>,
    ) -> &mut Self {
        self.push(Op::DeleteSubscription {
            subscriber,
            filter: filter.into(),
        })
    }

    /// Appends [`Op::DeleteSubscriptions`].
    pub fn delete_subscriptions(&mut self, subscriber: SubscriberKey) -> &mut Self {
        self.push(Op::DeleteSubscriptions { subscriber })
    }

    /// Appends [`Op::SetSession`].
    pub fn set_session(&mut self, subscriber: SubscriberKey, session: StoredSession) -> &mut Self {
        self.push(Op::SetSession {
            subscriber,
            session,
        })
    }

    /// Appends [`Op::DeleteSession`].
    pub fn delete_session(&mut self, subscriber: SubscriberKey) -> &mut Self {
        self.push(Op::DeleteSession { subscriber })
    }

    /// Appends [`Op::PutGeneric`].
    pub fn put_generic(
        &mut self,
        namespace: impl Into<String>,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> &mut Self {
        self.push(Op::PutGeneric {
            namespace: namespace.into(),
            key: key.into(),
            value: value.into(),
        })
    }

    /// Appends [`Op::DeleteGeneric`].
    pub fn delete_generic(
        &mut self,
        namespace: impl Into<String>,
        key: impl Into<Vec<u8>>,
    ) -> &mut Self {
        self.push(Op::DeleteGeneric {
            namespace: namespace.into(),
            key: key.into(),
        })
    }

    /// The ops, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Removes all ops, keeping the allocation.
    pub fn clear(&mut self) {
        self.ops.clear();
    }
}

impl From<Vec<Op>> for Batch {
    fn from(ops: Vec<Op>) -> Self {
        Batch { ops }
    }
}
