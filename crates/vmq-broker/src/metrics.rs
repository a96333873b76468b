//! The broker's counters and gauges under VerneMQ's metric names (see
//! shared/compat/vernemq-metric-names.txt). Counters are relaxed atomics registered once; the
//! `$SYS` tree, the HTTP `/metrics` route and `vmq-admin metrics show` all read them here.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($(#[$meta:meta])* $variant:ident => $name:literal),* $(,)?) => {
        /// A counter, named as VerneMQ names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Counter { $($(#[$meta])* $variant),* }

        impl Counter {
            /// Every counter.
            pub const ALL: &'static [Counter] = &[$(Counter::$variant),*];

            /// VerneMQ's name of the counter.
            pub fn name(self) -> &'static str {
                match self { $(Counter::$variant => $name),* }
            }
        }
    };
}

counters! {
    BytesReceived => "bytes_received",
    BytesSent => "bytes_sent",
    ClientExpired => "client_expired",
    ClientKeepaliveExpired => "client_keepalive_expired",
    MqttConnectReceived => "mqtt_connect_received",
    MqttConnackSent => "mqtt_connack_sent",
    MqttConnackAcceptedSent => "mqtt_connack_accepted_sent",
    MqttConnackBadCredentialsSent => "mqtt_connack_bad_credentials_sent",
    MqttConnackIdentifierRejectedSent => "mqtt_connack_identifier_rejected_sent",
    MqttConnackNotAuthorizedSent => "mqtt_connack_not_authorized_sent",
    MqttConnackServerUnavailableSent => "mqtt_connack_server_unavailable_sent",
    MqttConnackUnacceptableProtocolSent => "mqtt_connack_unacceptable_protocol_sent",
    MqttDisconnectReceived => "mqtt_disconnect_received",
    MqttDisconnectSent => "mqtt_disconnect_sent",
    MqttInvalidMsgSizeError => "mqtt_invalid_msg_size_error",
    MqttPingreqReceived => "mqtt_pingreq_received",
    MqttPingrespSent => "mqtt_pingresp_sent",
    MqttPublishReceived => "mqtt_publish_received",
    MqttPublishSent => "mqtt_publish_sent",
    MqttPublishAuthError => "mqtt_publish_auth_error",
    MqttPublishError => "mqtt_publish_error",
    MqttPubackReceived => "mqtt_puback_received",
    MqttPubackSent => "mqtt_puback_sent",
    MqttSubscribeReceived => "mqtt_subscribe_received",
    MqttSubscribeAuthError => "mqtt_subscribe_auth_error",
    MqttSubscribeError => "mqtt_subscribe_error",
    MqttSubackSent => "mqtt_suback_sent",
    MqttUnsubscribeReceived => "mqtt_unsubscribe_received",
    MqttUnsubackSent => "mqtt_unsuback_sent",
    QueueMessageDrop => "queue_message_drop",
    QueueMessageExpired => "queue_message_expired",
    QueueMessageIn => "queue_message_in",
    QueueMessageOut => "queue_message_out",
    QueueMessageUnhandled => "queue_message_unhandled",
    QueueSetup => "queue_setup",
    QueueTeardown => "queue_teardown",
    RouterMatchesLocal => "router_matches_local",
    SocketOpen => "socket_open",
    SocketClose => "socket_close",
    SocketError => "socket_error",
    SocketCloseTimeout => "socket_close_timeout",
    /// Not a VerneMQ name: malformed packets that closed a connection.
    MqttMalformedPacket => "mqtt_malformed_packet",
    /// Not a VerneMQ name: connections refused because a listener's `max_connections` was
    /// reached.
    ListenerMaxConnectionsRefused => "listener_max_connections_refused",
}

/// The broker's metrics.
#[derive(Debug)]
pub struct Metrics {
    counters: Vec<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counters: Counter::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Metrics {
    /// Adds `n` to `counter`.
    #[inline]
    pub fn add(&self, counter: Counter, n: u64) {
        if let Some(c) = self.counters.get(counter as usize) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds one to `counter`.
    #[inline]
    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// The current value of `counter`.
    pub fn get(&self, counter: Counter) -> u64 {
        self.counters
            .get(counter as usize)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Every counter with its value.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        Counter::ALL
            .iter()
            .map(|c| (c.name(), self.get(*c)))
            .collect()
    }
}
