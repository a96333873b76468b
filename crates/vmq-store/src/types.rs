//! The values the store owns: [`SubscriberKey`], [`StoredMessage`] with its
//! [`StoredProperties`], [`StoredSubscription`] and [`StoredSession`]. They are plain data,
//! independent of the codec and router crates, so that the on-disk format changes only when
//! this crate says so; the broker converts at the boundary.

use std::fmt;

use bytes::Bytes;

/// Identifies a subscriber: VerneMQ's `{Mountpoint, ClientId}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SubscriberKey {
    /// The listener's mountpoint (`""` for none).
    pub mountpoint: String,
    /// The MQTT client identifier.
    pub client_id: String,
}

impl SubscriberKey {
    /// Builds a key from a mountpoint and a client id.
    pub fn new(mountpoint: impl Into<String>, client_id: impl Into<String>) -> Self {
        SubscriberKey {
            mountpoint: mountpoint.into(),
            client_id: client_id.into(),
        }
    }
}

impl fmt::Display for SubscriberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}/{:?}", self.mountpoint, self.client_id)
    }
}

/// The MQTT 5 PUBLISH properties that travel with a stored message. Topic alias and
/// subscription identifiers are per connection / per subscription and are not stored;
/// message expiry is [`StoredMessage::expiry_unix_ms`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredProperties {
    /// Payload format indicator (0 bytes, 1 UTF-8).
    pub payload_format_indicator: Option<u8>,
    /// Content type.
    pub content_type: Option<String>,
    /// Response topic.
    pub response_topic: Option<String>,
    /// Correlation data.
    pub correlation_data: Option<Bytes>,
    /// User properties, in order.
    pub user_properties: Vec<(String, String)>,
}

impl StoredProperties {
    /// True when no property is set (the message encodes without a properties section).
    pub fn is_empty(&self) -> bool {
        self.payload_format_indicator.is_none()
            && self.content_type.is_none()
            && self.response_topic.is_none()
            && self.correlation_data.is_none()
            && self.user_properties.is_empty()
    }
}

/// One stored message: the copy shared by every subscriber it is queued for, and the value
/// of a retained message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredMessage {
    /// The broker-wide unique message id (VerneMQ's `msg_ref`). The store refcounts by it.
    pub msg_id: u128,
    /// The mountpoint the message was published under.
    pub mountpoint: String,
    /// The topic name.
    pub topic: String,
    /// The payload (shared, never copied on read from the memory backend).
    pub payload: Bytes,
    /// QoS 0, 1 or 2.
    pub qos: u8,
    /// The retain flag as published.
    pub retain: bool,
    /// MQTT 5 properties.
    pub properties: StoredProperties,
    /// When the message expires, as milliseconds since the Unix epoch (wall clock, because
    /// an `Instant` does not survive a restart). `None`: never.
    pub expiry_unix_ms: Option<u64>,
}

/// One subscription of a subscriber, with its MQTT 5 options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredSubscription {
    /// The topic filter as subscribed, including a `$share/group/` prefix.
    pub filter: String,
    /// Maximum QoS (0, 1 or 2).
    pub qos: u8,
    /// MQTT 5 no-local.
    pub no_local: bool,
    /// MQTT 5 retain-as-published.
    pub retain_as_published: bool,
    /// MQTT 5 retain handling (0, 1 or 2).
    pub retain_handling: u8,
    /// MQTT 5 subscription identifier.
    pub subscription_id: Option<u32>,
}

/// Session metadata of a persistent subscriber, enough to restore it after a restart and
/// to expire it on time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredSession {
    /// The protocol level of the last connection (3, 4 or 5).
    pub protocol_version: u8,
    /// Session expiry interval in seconds; `u32::MAX` means never.
    pub session_expiry_interval: u32,
    /// When the last connection went away, in milliseconds since the Unix epoch; `None`
    /// while connected (or unknown).
    pub disconnected_at_unix_ms: Option<u64>,
    /// Broker-defined extra data (opaque to the store), so that the broker can keep more
    /// per-session state without a store format change.
    pub attributes: Bytes,
}
