//! `SessionConfig`: the per-listener and global settings that shape one MQTT session, with
//! VerneMQ's defaults.

use std::time::Duration;

/// Settings of a session, resolved by the broker from `vernemq.conf` (global keys plus the
/// listener's overrides) before the connection starts.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Protocol levels accepted on this listener (3, 4, 5; `allowed_protocol_versions`).
    pub allowed_protocol_versions: Vec<u8>,
    /// Longest accepted client identifier in bytes (`max_client_id_size`).
    pub max_client_id_size: usize,
    /// Outgoing QoS 1/2 messages in flight at once (`max_inflight_messages`; 0 = no limit).
    /// For MQTT 5 the client's Receive Maximum lowers it further.
    pub max_inflight_messages: u16,
    /// Resend delay for unacknowledged QoS 1/2 messages on MQTT 3.x (`retry_interval`).
    pub retry_interval: Duration,
    /// Incoming PUBLISH packets per second before reading is paused (`max_message_rate`; 0 = no
    /// limit).
    pub max_message_rate: u32,
    /// Deliver at the subscription's QoS even when the message was published with a lower one
    /// (`upgrade_outgoing_qos`).
    pub upgrade_outgoing_qos: bool,
    /// Topic aliases a client may use towards the broker, announced in CONNACK
    /// (`topic_alias_max_client`; 0 = none).
    pub topic_alias_max_client: u16,
    /// Topic aliases the broker may use towards a client, capped by the client's own Topic Alias
    /// Maximum (`topic_alias_max_broker`; 0 = none).
    pub topic_alias_max_broker: u16,
    /// Upper bound for the client's Receive Maximum (`receive_max_client`).
    pub receive_max_client: u16,
    /// Receive Maximum announced to MQTT 5 clients (`receive_max_broker`).
    pub receive_max_broker: u16,
    /// Largest packet the broker accepts, announced as Maximum Packet Size to MQTT 5 clients
    /// (from `max_message_size`; 0 = no limit).
    pub max_packet_size: u32,
    /// How long a socket may stay without a CONNECT (`mqtt_connect_timeout`).
    pub connect_timeout: Duration,
    /// Longest will delay honoured (`max_last_will_delay`).
    pub max_last_will_delay: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            allowed_protocol_versions: vec![3, 4, 5],
            max_client_id_size: 100,
            max_inflight_messages: 20,
            retry_interval: Duration::from_secs(20),
            max_message_rate: 0,
            upgrade_outgoing_qos: false,
            topic_alias_max_client: 0,
            topic_alias_max_broker: 0,
            receive_max_client: u16::MAX,
            receive_max_broker: u16::MAX,
            max_packet_size: 0,
            connect_timeout: Duration::from_secs(30),
            max_last_will_delay: Duration::from_secs(0),
        }
    }
}
