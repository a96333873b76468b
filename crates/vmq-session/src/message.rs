//! `Message` (an application message as the broker routes it, shared by every subscriber) and
//! `Delivery` (one message on its way to one session, with that subscription's options).

use std::{sync::Arc, time::Instant};

use bytes::Bytes;
use vmq_codec::{PublishProperties, QoS, Utf8Str};

/// An application message after it was accepted from a publisher. One `Message` is shared (in an
/// `Arc`) by every subscriber it is routed to; payload and topic are the publisher's frame slices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Broker-wide unique reference (the store's key, VerneMQ's `msg_ref`).
    pub id: u128,
    /// Topic as published (without the mountpoint).
    pub topic: Utf8Str,
    /// Payload.
    pub payload: Bytes,
    /// QoS as published.
    pub qos: QoS,
    /// RETAIN flag as published.
    pub retain: bool,
    /// MQTT 5 properties forwarded to subscribers (payload format, content type, response topic,
    /// correlation data, user properties). Topic alias and subscription identifiers are never
    /// stored here; message expiry is kept as `expires_at`.
    pub properties: PublishProperties,
    /// When the message expires (MQTT 5 Message Expiry Interval), if it does.
    pub expires_at: Option<Instant>,
}

impl Message {
    /// True when the message expired at `now`.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The remaining expiry interval in seconds at `now` (rounded up), if the message expires.
    pub fn remaining_expiry(&self, now: Instant) -> Option<u32> {
        self.expires_at.map(|at| {
            let left = at.saturating_duration_since(now);
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            u32::try_from(secs).unwrap_or(u32::MAX)
        })
    }
}

/// One message to be sent to one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The shared message.
    pub msg: Arc<Message>,
    /// The matching subscription's maximum QoS (the highest of all matching subscriptions).
    pub sub_qos: QoS,
    /// The RETAIN flag to send (as published with `retain_as_published`, true for retained
    /// messages sent because of a subscribe, false otherwise).
    pub retain: bool,
    /// MQTT 5 subscription identifiers of every matching subscription (nearly always none: a
    /// boxed slice is 8 bytes smaller than a `Vec` in every queued and in-flight delivery).
    pub subscription_ids: Box<[u32]>,
}

impl Delivery {
    /// The QoS this delivery goes out with: the lower of published and subscribed QoS, or the
    /// subscription's when `upgrade` (`upgrade_outgoing_qos`) is on.
    pub fn outgoing_qos(&self, upgrade: bool) -> QoS {
        if upgrade {
            self.sub_qos
        } else {
            self.msg.qos.min(self.sub_qos)
        }
    }
}
