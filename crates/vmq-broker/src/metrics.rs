//! The broker's counters and gauges under VerneMQ's metric names (see
//! shared/compat/vernemq-metric-names.txt). Counters are relaxed atomics registered once; the
//! `$SYS` tree, the HTTP `/metrics` route and `vmq-admin metrics show` all read them here.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use vmq_codec::{Packet, ProtocolVersion};

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
    /// Not a VerneMQ name: publishes after which the publisher paused reading because a
    /// subscriber's online queue was at least half full (back-pressure).
    PublishBackoff => "publish_backoff",
    MqttPubrecReceived => "mqtt_pubrec_received",
    MqttPubrelReceived => "mqtt_pubrel_received",
    MqttPubcompReceived => "mqtt_pubcomp_received",
    MqttPubrecSent => "mqtt_pubrec_sent",
    MqttPubrelSent => "mqtt_pubrel_sent",
    MqttPubcompSent => "mqtt_pubcomp_sent",
    MqttAuthReceived => "mqtt_auth_received",
    MqttAuthSent => "mqtt_auth_sent",
    MqttPubackInvalidError => "mqtt_puback_invalid_error",
    MqttPubrecInvalidError => "mqtt_pubrec_invalid_error",
    MqttPubcompInvalidError => "mqtt_pubcomp_invalid_error",
    MqttUnsubscribeError => "mqtt_unsubscribe_error",
    QueueInitializedFromStorage => "queue_initialized_from_storage",
    RouterMatchesRemote => "router_matches_remote",
    ClusterBytesReceived => "cluster_bytes_received",
    ClusterBytesSent => "cluster_bytes_sent",
    ClusterBytesDropped => "cluster_bytes_dropped",
    NetsplitDetected => "netsplit_detected",
    NetsplitResolved => "netsplit_resolved",
}

/// The `mqtt_version` label: VerneMQ counts MQTT 3.1 and 3.1.1 under `4`, MQTT 5 under `5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MqttVersion {
    /// MQTT 3.1 / 3.1.1.
    V4 = 0,
    /// MQTT 5.0.
    V5 = 1,
}

impl MqttVersion {
    /// Both labels.
    pub const ALL: [MqttVersion; 2] = [MqttVersion::V4, MqttVersion::V5];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            MqttVersion::V4 => "4",
            MqttVersion::V5 => "5",
        }
    }
}

impl From<ProtocolVersion> for MqttVersion {
    fn from(v: ProtocolVersion) -> Self {
        if v.is_v5() {
            MqttVersion::V5
        } else {
            MqttVersion::V4
        }
    }
}

/// Gauges kept by the broker (others, such as `queue_processes`, are computed when read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    /// `active_mqtt_connections`: MQTT connections over TCP or TLS open now.
    ActiveMqttConnections = 0,
    /// `active_mqttws_connections`: MQTT connections over WebSocket open now.
    ActiveMqttwsConnections = 1,
}

/// Latency histograms (microseconds) under VerneMQ's names; the store records into them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Histogram {
    StorageRead = 0,
    StorageWrite = 1,
    StorageScan = 2,
    MetadataGet = 3,
    MetadataPut = 4,
    MetadataDelete = 5,
    MetadataFold = 6,
}

impl Histogram {
    /// Every histogram.
    pub const ALL: [Histogram; 7] = [
        Histogram::StorageRead,
        Histogram::StorageWrite,
        Histogram::StorageScan,
        Histogram::MetadataGet,
        Histogram::MetadataPut,
        Histogram::MetadataDelete,
        Histogram::MetadataFold,
    ];

    /// VerneMQ's name.
    pub fn name(self) -> &'static str {
        match self {
            Histogram::StorageRead => "storage_read_microseconds",
            Histogram::StorageWrite => "storage_write_microseconds",
            Histogram::StorageScan => "storage_scan_microseconds",
            Histogram::MetadataGet => "metadata_get_microseconds",
            Histogram::MetadataPut => "metadata_put_microseconds",
            Histogram::MetadataDelete => "metadata_delete_microseconds",
            Histogram::MetadataFold => "metadata_fold_microseconds",
        }
    }
}

/// Upper bounds (microseconds) of the histogram buckets; a last bucket is unbounded.
pub const HISTOGRAM_BOUNDS: [u64; 6] = [10, 100, 1_000, 10_000, 100_000, 1_000_000];

#[derive(Debug, Default)]
struct HistogramCells {
    buckets: [AtomicU64; HISTOGRAM_BOUNDS.len() + 1],
    sum: AtomicU64,
    count: AtomicU64,
}

/// The broker's metrics.
///
/// Counters have one cell per `mqtt_version`; those VerneMQ splits by reason code (CONNACK,
/// DISCONNECT, the publish acknowledgements, AUTH) also have one cell per reason code byte and
/// version. Unlabelled counters use the `4` cell.
///
/// The plain counters are kept in [`COUNTER_SHARDS`] copies, one per thread (round robin), and
/// summed when read: every connection counts every packet it sends and receives, and one copy
/// shared by all worker threads would bounce its cache lines between the cores.
#[derive(Debug)]
pub struct Metrics {
    counters: Box<[CounterShard]>,
    reasons: Vec<Vec<AtomicU64>>,
    gauges: [AtomicI64; 2],
    histograms: Vec<HistogramCells>,
}

/// Copies of the plain counters (see [`Metrics`]).
const COUNTER_SHARDS: usize = 4;

/// One copy of the plain counters (a cell per counter and version), on cache lines of its own.
#[derive(Debug)]
#[repr(align(128))]
struct CounterShard([[AtomicU64; 2]; Counter::ALL.len()]);

impl Default for CounterShard {
    fn default() -> Self {
        CounterShard(std::array::from_fn(|_| Default::default()))
    }
}

/// The counter shard this thread writes to.
fn shard_index() -> usize {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % COUNTER_SHARDS;
    }
    SHARD.with(|s| *s)
}

/// The counters with a reason-code breakdown, in the order of `Metrics::reasons`.
const REASON_COUNTERS: [Counter; 13] = [
    Counter::MqttConnackSent,
    Counter::MqttDisconnectReceived,
    Counter::MqttDisconnectSent,
    Counter::MqttPubackReceived,
    Counter::MqttPubackSent,
    Counter::MqttPubrecReceived,
    Counter::MqttPubrecSent,
    Counter::MqttPubrelReceived,
    Counter::MqttPubrelSent,
    Counter::MqttPubcompReceived,
    Counter::MqttPubcompSent,
    Counter::MqttAuthReceived,
    Counter::MqttAuthSent,
];

fn reason_slot(counter: Counter) -> Option<usize> {
    REASON_COUNTERS.iter().position(|c| *c == counter)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counters: (0..COUNTER_SHARDS)
                .map(|_| CounterShard::default())
                .collect(),
            reasons: (0..REASON_COUNTERS.len() * 2)
                .map(|_| (0..256).map(|_| AtomicU64::new(0)).collect())
                .collect(),
            gauges: Default::default(),
            histograms: Histogram::ALL.iter().map(|_| Default::default()).collect(),
        }
    }
}

impl Metrics {
    /// Adds `n` to `counter` (counted under `mqtt_version="4"` where the family has that
    /// label).
    #[inline]
    pub fn add(&self, counter: Counter, n: u64) {
        self.add_v(counter, MqttVersion::V4, n);
    }

    /// Adds one to `counter`.
    #[inline]
    pub fn incr(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Adds `n` to `counter` for protocol `version`.
    #[inline]
    pub fn add_v(&self, counter: Counter, version: MqttVersion, n: u64) {
        let shard = self.counters.get(shard_index()).map(|s| &s.0);
        if let Some(c) = shard.and_then(|cells| cells.get(counter as usize)) {
            c[version as usize].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Adds one to `counter` for protocol `version`.
    #[inline]
    pub fn incr_v(&self, counter: Counter, version: MqttVersion) {
        self.add_v(counter, version, 1);
    }

    /// Adds one to `counter` for `version` and reason (or return) code `code`; counters
    /// without a reason breakdown count it without the code.
    #[inline]
    pub fn incr_reason(&self, counter: Counter, version: MqttVersion, code: u8) {
        match reason_slot(counter) {
            Some(slot) => {
                if let Some(cell) = self
                    .reasons
                    .get(slot * 2 + version as usize)
                    .and_then(|cells| cells.get(usize::from(code)))
                {
                    cell.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => self.incr_v(counter, version),
        }
    }

    /// The current value of `counter` over all its labels.
    pub fn get(&self, counter: Counter) -> u64 {
        let plain: u64 = MqttVersion::ALL
            .iter()
            .map(|v| self.get_v(counter, *v))
            .sum();
        let reasons: u64 = MqttVersion::ALL
            .iter()
            .flat_map(|v| self.reason_values(counter, *v))
            .map(|(_, n)| n)
            .sum();
        plain + reasons
    }

    /// The value of `counter`'s cell for `version` (without the reason-code cells).
    pub fn get_v(&self, counter: Counter, version: MqttVersion) -> u64 {
        self.counters
            .iter()
            .filter_map(|shard| shard.0.get(counter as usize))
            .map(|c| c[version as usize].load(Ordering::Relaxed))
            .sum()
    }

    /// The non-zero reason-code cells of `counter` for `version`.
    pub fn reason_values(&self, counter: Counter, version: MqttVersion) -> Vec<(u8, u64)> {
        let Some(slot) = reason_slot(counter) else {
            return Vec::new();
        };
        self.reasons
            .get(slot * 2 + version as usize)
            .map(|cells| {
                cells
                    .iter()
                    .enumerate()
                    .filter_map(|(code, c)| {
                        let n = c.load(Ordering::Relaxed);
                        (n > 0).then_some((code as u8, n))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The value of one reason-code cell.
    pub fn get_reason(&self, counter: Counter, version: MqttVersion, code: u8) -> u64 {
        reason_slot(counter)
            .and_then(|slot| self.reasons.get(slot * 2 + version as usize))
            .and_then(|cells| cells.get(usize::from(code)))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Adds `delta` to `gauge`.
    #[inline]
    pub fn gauge_add(&self, gauge: Gauge, delta: i64) {
        self.gauges[gauge as usize].fetch_add(delta, Ordering::Relaxed);
    }

    /// The value of `gauge` (never below zero).
    pub fn gauge(&self, gauge: Gauge) -> u64 {
        u64::try_from(self.gauges[gauge as usize].load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Records one observation of `micros` microseconds.
    pub fn observe(&self, histogram: Histogram, micros: u64) {
        if let Some(h) = self.histograms.get(histogram as usize) {
            let bucket = HISTOGRAM_BOUNDS
                .iter()
                .position(|b| micros <= *b)
                .unwrap_or(HISTOGRAM_BOUNDS.len());
            h.buckets[bucket].fetch_add(1, Ordering::Relaxed);
            h.sum.fetch_add(micros, Ordering::Relaxed);
            h.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A histogram's (count, sum, per-bucket counts).
    pub fn histogram(&self, histogram: Histogram) -> (u64, u64, Vec<u64>) {
        self.histograms
            .get(histogram as usize)
            .map(|h| {
                (
                    h.count.load(Ordering::Relaxed),
                    h.sum.load(Ordering::Relaxed),
                    h.buckets
                        .iter()
                        .map(|b| b.load(Ordering::Relaxed))
                        .collect(),
                )
            })
            .unwrap_or_default()
    }

    /// Every counter with its value (over all labels).
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        Counter::ALL
            .iter()
            .map(|c| (c.name(), self.get(*c)))
            .collect()
    }

    /// Counts a packet received from a client speaking `version`.
    pub fn count_received(&self, packet: &Packet, version: ProtocolVersion) {
        let v = MqttVersion::from(version);
        let v5 = v == MqttVersion::V5;
        let (counter, code) = match packet {
            Packet::Connect(_) => (Counter::MqttConnectReceived, None),
            Packet::Publish(_) => (Counter::MqttPublishReceived, None),
            Packet::PubAck(p) => (Counter::MqttPubackReceived, Some(p.reason_code)),
            Packet::PubRec(p) => (Counter::MqttPubrecReceived, Some(p.reason_code)),
            Packet::PubRel(p) => (Counter::MqttPubrelReceived, Some(p.reason_code)),
            Packet::PubComp(p) => (Counter::MqttPubcompReceived, Some(p.reason_code)),
            Packet::Subscribe(_) => (Counter::MqttSubscribeReceived, None),
            Packet::Unsubscribe(_) => (Counter::MqttUnsubscribeReceived, None),
            Packet::PingReq => (Counter::MqttPingreqReceived, None),
            Packet::Disconnect(d) => (Counter::MqttDisconnectReceived, Some(d.reason_code)),
            Packet::Auth(a) => (Counter::MqttAuthReceived, Some(a.reason_code)),
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                return
            }
        };
        match code {
            Some(code) if v5 => self.incr_reason(counter, v, code as u8),
            _ => self.incr_v(counter, v),
        }
    }

    /// Counts the packets in `frames` (whole encoded packets, as written to a client speaking
    /// `version`) by reading their fixed headers and reason codes.
    pub fn count_sent(&self, mut frames: &[u8], version: ProtocolVersion) {
        let v = MqttVersion::from(version);
        let v5 = v == MqttVersion::V5;
        while let Some((kind, body, rest)) = split_frame(frames) {
            frames = rest;
            let ack_code = || if body.len() > 2 { body[2] } else { 0 };
            match kind {
                2 => {
                    let code = body.get(1).copied().unwrap_or(0);
                    self.incr_reason(Counter::MqttConnackSent, v, code);
                    if !v5 {
                        let named = match code {
                            0 => Counter::MqttConnackAcceptedSent,
                            1 => Counter::MqttConnackUnacceptableProtocolSent,
                            2 => Counter::MqttConnackIdentifierRejectedSent,
                            3 => Counter::MqttConnackServerUnavailableSent,
                            4 => Counter::MqttConnackBadCredentialsSent,
                            _ => Counter::MqttConnackNotAuthorizedSent,
                        };
                        self.incr_v(named, v);
                    }
                }
                3 => self.incr_v(Counter::MqttPublishSent, v),
                4..=7 => {
                    let counter = match kind {
                        4 => Counter::MqttPubackSent,
                        5 => Counter::MqttPubrecSent,
                        6 => Counter::MqttPubrelSent,
                        _ => Counter::MqttPubcompSent,
                    };
                    if v5 {
                        self.incr_reason(counter, v, ack_code());
                    } else {
                        self.incr_v(counter, v);
                    }
                }
                9 => self.incr_v(Counter::MqttSubackSent, v),
                11 => self.incr_v(Counter::MqttUnsubackSent, v),
                13 => self.incr_v(Counter::MqttPingrespSent, v),
                14 => {
                    let code = body.first().copied().unwrap_or(0);
                    self.incr_reason(Counter::MqttDisconnectSent, v, code);
                }
                15 => {
                    let code = body.first().copied().unwrap_or(0);
                    self.incr_reason(Counter::MqttAuthSent, v, code);
                }
                _ => {}
            }
        }
    }
}

/// The length of the first whole packet in `buf` (fixed header included), if it is complete.
pub(crate) fn frame_len(buf: &[u8]) -> Option<usize> {
    split_frame(buf).map(|(_, _, rest)| buf.len() - rest.len())
}

/// Splits the first whole packet off `buf`: (packet type, body after the fixed header, rest).
fn split_frame(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let first = *buf.first()?;
    let mut len: usize = 0;
    let mut shift = 0;
    let mut i = 1;
    loop {
        let b = *buf.get(i)?;
        len |= usize::from(b & 0x7f) << shift;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 21 {
            return None;
        }
    }
    let end = i.checked_add(len)?;
    let body = buf.get(i..end)?;
    Some((first >> 4, body, &buf[end..]))
}

/// VerneMQ's label value of a reason code byte in `counter`'s context: snake_case reason names
/// for MQTT 5 (`normal_disconnect`, `not_authorized`), and for MQTT 3.x CONNACK return codes
/// the name of the matching MQTT 5 reason (`success`, `unsupported_protocol_version`, ...).
pub fn reason_label(counter: Counter, version: MqttVersion, code: u8) -> String {
    if counter == Counter::MqttConnackSent && version == MqttVersion::V4 {
        return match code {
            0 => "success",
            1 => "unsupported_protocol_version",
            2 => "client_identifier_not_valid",
            3 => "server_unavailable",
            4 => "bad_username_or_password",
            5 => "not_authorized",
            _ => return format!("return_code_{code}"),
        }
        .to_string();
    }
    let name = match code {
        0x00 => match counter {
            Counter::MqttDisconnectReceived | Counter::MqttDisconnectSent => "normal_disconnect",
            _ => "success",
        },
        0x04 => "disconnect_with_will_msg",
        0x10 => "no_matching_subscribers",
        0x11 => "no_subscription_existed",
        0x18 => "continue_authentication",
        0x19 => "reauthenticate",
        0x80 => "unspecified_error",
        0x81 => "malformed_packet",
        0x82 => "protocol_error",
        0x83 => "impl_specific_error",
        0x84 => "unsupported_protocol_version",
        0x85 => "client_identifier_not_valid",
        0x86 => "bad_username_or_password",
        0x87 => "not_authorized",
        0x88 => "server_unavailable",
        0x89 => "server_busy",
        0x8A => "banned",
        0x8B => "server_shutting_down",
        0x8C => "bad_authentication_method",
        0x8D => "keep_alive_timeout",
        0x8E => "session_taken_over",
        0x8F => "topic_filter_invalid",
        0x90 => "topic_name_invalid",
        0x91 => "packet_id_in_use",
        0x92 => "packet_id_not_found",
        0x93 => "receive_max_exceeded",
        0x94 => "topic_alias_invalid",
        0x95 => "packet_too_large",
        0x96 => "message_rate_too_high",
        0x97 => "quota_exceeded",
        0x98 => "administrative_action",
        0x99 => "payload_format_invalid",
        0x9A => "retain_not_supported",
        0x9B => "qos_not_supported",
        0x9C => "use_another_server",
        0x9D => "server_moved",
        0x9E => "shared_subs_not_supported",
        0x9F => "connection_rate_exceeded",
        0xA0 => "max_connect_time",
        0xA1 => "subscription_ids_not_supported",
        0xA2 => "wildcard_subs_not_supported",
        other => return format!("reason_code_{other}"),
    };
    name.to_string()
}

/// The reason codes VerneMQ always exports for `counter` (MQTT 5; for CONNACK also the MQTT
/// 3.x return codes), even at zero, so dashboards find every series.
pub fn exported_reasons(counter: Counter, version: MqttVersion) -> &'static [u8] {
    const ACKS: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
    const RELS: &[u8] = &[0x00, 0x92];
    match (counter, version) {
        (Counter::MqttConnackSent, MqttVersion::V4) => &[0, 1, 2, 3, 4, 5],
        (_, MqttVersion::V4) => &[],
        (Counter::MqttConnackSent, _) => &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
            0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
        ],
        (Counter::MqttDisconnectReceived, _) => &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        ],
        (Counter::MqttDisconnectSent, _) => &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
            0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
        ],
        (
            Counter::MqttPubackReceived
            | Counter::MqttPubackSent
            | Counter::MqttPubrecReceived
            | Counter::MqttPubrecSent,
            _,
        ) => ACKS,
        (
            Counter::MqttPubrelReceived
            | Counter::MqttPubrelSent
            | Counter::MqttPubcompReceived
            | Counter::MqttPubcompSent,
            _,
        ) => RELS,
        (Counter::MqttAuthReceived | Counter::MqttAuthSent, _) => &[0x00, 0x18, 0x19],
        _ => &[],
    }
}

/// Whether `counter` has a reason-code breakdown.
pub fn has_reasons(counter: Counter) -> bool {
    reason_slot(counter).is_some()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up() {
        let m = std::sync::Arc::new(Metrics::default());
        let threads: Vec<_> = (0..COUNTER_SHARDS * 2 + 1)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        m.incr(Counter::SocketOpen);
                        m.incr_v(Counter::MqttPublishReceived, MqttVersion::V5);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = (COUNTER_SHARDS as u64 * 2 + 1) * 1000;
        assert_eq!(m.get(Counter::SocketOpen), n);
        assert_eq!(m.get_v(Counter::MqttPublishReceived, MqttVersion::V5), n);
        assert_eq!(m.get_v(Counter::MqttPublishReceived, MqttVersion::V4), 0);
    }

    #[test]
    fn sent_frames_are_counted_by_type_and_reason() {
        let m = Metrics::default();
        // CONNACK accepted (3.1.1), PUBLISH qos0, PINGRESP.
        m.count_sent(
            &[0x20, 2, 0, 0, 0x30, 5, 0, 1, b'a', b'x', b'y', 0xD0, 0],
            ProtocolVersion::V3_1_1,
        );
        assert_eq!(
            m.get_reason(Counter::MqttConnackSent, MqttVersion::V4, 0),
            1
        );
        assert_eq!(
            m.get_v(Counter::MqttConnackAcceptedSent, MqttVersion::V4),
            1
        );
        assert_eq!(m.get_v(Counter::MqttPublishSent, MqttVersion::V4), 1);
        assert_eq!(m.get(Counter::MqttPingrespSent), 1);
        // MQTT 5: PUBACK without reason (success), PUBACK not authorized, DISCONNECT 0x8E.
        m.count_sent(
            &[0x40, 2, 0, 1, 0x40, 4, 0, 2, 0x87, 0, 0xE0, 1, 0x8E],
            ProtocolVersion::V5,
        );
        assert_eq!(m.get_reason(Counter::MqttPubackSent, MqttVersion::V5, 0), 1);
        assert_eq!(
            m.get_reason(Counter::MqttPubackSent, MqttVersion::V5, 0x87),
            1
        );
        assert_eq!(m.get(Counter::MqttPubackSent), 2);
        assert_eq!(
            m.get_reason(Counter::MqttDisconnectSent, MqttVersion::V5, 0x8E),
            1
        );
        assert_eq!(
            reason_label(Counter::MqttDisconnectSent, MqttVersion::V5, 0x8E),
            "session_taken_over"
        );
    }
}
