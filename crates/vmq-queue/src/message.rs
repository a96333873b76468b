//! What the queue needs to know about a message: its delivery QoS and its expiry instant.

use std::sync::Arc;
use std::time::Instant;

pub use vmq_codec::QoS;

/// A message as the queue sees it. The queue also needs `M: Clone`, and the clone must be
/// cheap (an `Arc`, or a struct of `Bytes`): fanout clones the message once per attached
/// session. `Arc<T>` implements this trait for any `T: QueueMessage`, so `T` itself need not
/// be `Clone`.
pub trait QueueMessage {
    /// The QoS this message is delivered with *to this subscriber*: `min(publish QoS,
    /// granted QoS)`, or the granted QoS when `upgrade_outgoing_qos` is on. The queue drops a
    /// QoS 0 delivery when no session is attached (VerneMQ's `queue_message_unhandled`).
    fn qos(&self) -> QoS;

    /// When the MQTT 5 message expiry interval runs out (`None`: never). The broker computes it
    /// once when the PUBLISH arrives; the queue compares it with the `now` it is given.
    fn expires_at(&self) -> Option<Instant>;

    /// True when the message must not be delivered any more at `now`.
    fn is_expired(&self, now: Instant) -> bool {
        matches!(self.expires_at(), Some(t) if t <= now)
    }
}

impl<T: QueueMessage + ?Sized> QueueMessage for Arc<T> {
    fn qos(&self) -> QoS {
        (**self).qos()
    }

    fn expires_at(&self) -> Option<Instant> {
        (**self).expires_at()
    }
}
