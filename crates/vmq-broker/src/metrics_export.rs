//! The broker's metrics as [`vmq_http::MetricFamily`]s: the families, types and label keys of
//! VerneMQ 2.1 (shared/compat/vernemq-2.1-prometheus.txt) for `/metrics`, and their totals for
//! `$SYS`, Graphite and `vmq-admin metrics show`.
//!
//! Of the Erlang VM families only the closest equivalents are exported: `vm_memory_total`
//! (resident memory of the process), `system_process_count` (threads), `system_runtime` (CPU
//! milliseconds) and `system_wallclock` (milliseconds since start). `swc_*` (VerneMQ's metadata
//! store) has no equivalent and is left out.

use vmq_http::{MetricFamily, MetricKind, Sample};

use crate::{
    broker::BrokerCore,
    metrics::{
        exported_reasons, has_reasons, reason_label, Counter, Gauge, Histogram, MqttVersion,
        HISTOGRAM_BOUNDS,
    },
};

/// Which `mqtt_version` cells a counter exports without a reason code.
enum Versions {
    None,
    V4,
    Both,
    ReasonOnly,
}

fn versions(c: Counter) -> Versions {
    use Counter::*;
    match c {
        BytesReceived
        | BytesSent
        | ClientExpired
        | QueueMessageDrop
        | QueueMessageExpired
        | QueueMessageIn
        | QueueMessageOut
        | QueueMessageUnhandled
        | QueueSetup
        | QueueTeardown
        | RouterMatchesLocal
        | RouterMatchesRemote
        | SocketOpen
        | SocketClose
        | SocketError
        | SocketCloseTimeout
        | MqttMalformedPacket
        | ListenerMaxConnectionsRefused
        | PublishBackoff
        | QueueInitializedFromStorage
        | ClusterBytesReceived
        | ClusterBytesSent
        | ClusterBytesDropped
        | NetsplitDetected
        | NetsplitResolved => Versions::None,
        MqttConnackSent | MqttDisconnectSent | MqttAuthReceived | MqttAuthSent => {
            Versions::ReasonOnly
        }
        MqttConnackAcceptedSent
        | MqttConnackBadCredentialsSent
        | MqttConnackIdentifierRejectedSent
        | MqttConnackNotAuthorizedSent
        | MqttConnackServerUnavailableSent
        | MqttConnackUnacceptableProtocolSent
        | MqttPubrecInvalidError
        | MqttDisconnectReceived
        | MqttPubackReceived
        | MqttPubackSent
        | MqttPubrecReceived
        | MqttPubrecSent
        | MqttPubrelReceived
        | MqttPubrelSent
        | MqttPubcompReceived
        | MqttPubcompSent => Versions::V4,
        _ => Versions::Both,
    }
}

fn help(c: Counter) -> &'static str {
    use Counter::*;
    match c {
        BytesReceived => "Bytes received from MQTT clients.",
        BytesSent => "Bytes sent to MQTT clients.",
        ClientExpired => "Persistent sessions removed after persistent_client_expiration.",
        ClientKeepaliveExpired => "Clients disconnected because their keepalive expired.",
        SocketOpen => "MQTT sockets opened.",
        SocketClose => "MQTT sockets closed.",
        SocketError => "Socket errors.",
        SocketCloseTimeout => "Sockets closed because no CONNECT arrived in time.",
        QueueSetup => "Queues created.",
        QueueTeardown => "Queues removed.",
        QueueMessageIn => "Messages put into queues.",
        QueueMessageOut => "Messages taken from queues for delivery.",
        QueueMessageDrop => "Messages dropped by full queues.",
        QueueMessageExpired => "Messages expired in queues.",
        QueueMessageUnhandled => "Messages left in queues that were removed.",
        QueueInitializedFromStorage => "Queues restored from the message store.",
        RouterMatchesLocal => "Subscribers on this node matched by published messages.",
        RouterMatchesRemote => "Subscribers on other nodes matched by published messages.",
        MqttMalformedPacket => "Connections closed after a malformed packet.",
        ListenerMaxConnectionsRefused => "Connections refused at a listener's max_connections.",
        PublishBackoff => {
            "Publishes after which the publisher paused because a subscriber fell behind."
        }
        NetsplitDetected => "Netsplits detected.",
        NetsplitResolved => "Netsplits resolved.",
        ClusterBytesReceived => "Bytes received from other cluster nodes.",
        ClusterBytesSent => "Bytes sent to other cluster nodes.",
        ClusterBytesDropped => "Bytes for other cluster nodes dropped.",
        MqttConnectReceived => "CONNECT packets received.",
        MqttConnackSent => "CONNACK packets sent.",
        MqttPublishReceived => "PUBLISH packets received.",
        MqttPublishSent => "PUBLISH packets sent.",
        MqttPubackReceived => "PUBACK packets received.",
        MqttPubackSent => "PUBACK packets sent.",
        MqttPubrecReceived => "PUBREC packets received.",
        MqttPubrecSent => "PUBREC packets sent.",
        MqttPubrelReceived => "PUBREL packets received.",
        MqttPubrelSent => "PUBREL packets sent.",
        MqttPubcompReceived => "PUBCOMP packets received.",
        MqttPubcompSent => "PUBCOMP packets sent.",
        MqttSubscribeReceived => "SUBSCRIBE packets received.",
        MqttSubackSent => "SUBACK packets sent.",
        MqttUnsubscribeReceived => "UNSUBSCRIBE packets received.",
        MqttUnsubackSent => "UNSUBACK packets sent.",
        MqttPingreqReceived => "PINGREQ packets received.",
        MqttPingrespSent => "PINGRESP packets sent.",
        MqttDisconnectReceived => "DISCONNECT packets received.",
        MqttDisconnectSent => "DISCONNECT packets sent.",
        MqttAuthReceived => "AUTH packets received.",
        MqttAuthSent => "AUTH packets sent.",
        MqttPublishAuthError => "PUBLISH packets refused by auth_on_publish.",
        MqttSubscribeAuthError => "Subscriptions refused by auth_on_subscribe.",
        MqttPublishError => "PUBLISH packets that could not be handled.",
        MqttSubscribeError => "Subscriptions that could not be made.",
        MqttUnsubscribeError => "Unsubscriptions that could not be made.",
        MqttInvalidMsgSizeError => "Packets refused for exceeding max_message_size.",
        MqttPubackInvalidError => "PUBACK packets for unknown packet ids.",
        MqttPubrecInvalidError => "PUBREC packets for unknown packet ids.",
        MqttPubcompInvalidError => "PUBCOMP packets for unknown packet ids.",
        MqttConnackAcceptedSent => "CONNACK packets sent: connection accepted.",
        MqttConnackBadCredentialsSent => "CONNACK packets sent: bad user name or password.",
        MqttConnackIdentifierRejectedSent => "CONNACK packets sent: client identifier rejected.",
        MqttConnackNotAuthorizedSent => "CONNACK packets sent: not authorized.",
        MqttConnackServerUnavailableSent => "CONNACK packets sent: server unavailable.",
        MqttConnackUnacceptableProtocolSent => "CONNACK packets sent: unacceptable protocol.",
    }
}

fn sample(labels: Vec<(&'static str, String)>, value: u64) -> Sample {
    Sample {
        labels,
        value: value as f64,
        histogram: None,
    }
}

fn counter_family(core: &BrokerCore, c: Counter) -> MetricFamily {
    let m = &core.metrics;
    let mut samples = Vec::new();
    let version_label = |v: MqttVersion| vec![("mqtt_version", v.label().to_string())];
    match versions(c) {
        Versions::None => samples.push(sample(Vec::new(), m.get(c))),
        Versions::V4 => samples.push(sample(
            version_label(MqttVersion::V4),
            m.get_v(c, MqttVersion::V4),
        )),
        Versions::Both => {
            for v in MqttVersion::ALL {
                samples.push(sample(version_label(v), m.get_v(c, v)));
            }
        }
        Versions::ReasonOnly => {}
    }
    if has_reasons(c) {
        for v in MqttVersion::ALL {
            let mut codes: Vec<u8> = exported_reasons(c, v).to_vec();
            for (code, _) in m.reason_values(c, v) {
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            let key = if c == Counter::MqttConnackSent && v == MqttVersion::V4 {
                "return_code"
            } else {
                "reason_code"
            };
            for code in codes {
                samples.push(sample(
                    vec![
                        ("mqtt_version", v.label().to_string()),
                        (key, reason_label(c, v, code)),
                    ],
                    m.get_reason(c, v, code),
                ));
            }
        }
    }
    MetricFamily {
        name: c.name(),
        kind: MetricKind::Counter,
        help: help(c),
        samples,
    }
}

fn gauge(name: &'static str, help: &'static str, value: u64) -> MetricFamily {
    MetricFamily {
        name,
        kind: MetricKind::Gauge,
        help,
        samples: vec![sample(Vec::new(), value)],
    }
}

fn plain_counter(name: &'static str, help: &'static str, value: u64) -> MetricFamily {
    MetricFamily {
        kind: MetricKind::Counter,
        ..gauge(name, help, value)
    }
}

/// (resident bytes, threads, CPU milliseconds) of this process, from /proc (zeros elsewhere).
fn process_stats() -> (u64, u64, u64) {
    let page = 4096u64;
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3; utime 14, stime 15,
    // num_threads 20 (1-based).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Clock ticks are 100 per second on Linux.
    let cpu_ms = (field(14) + field(15)) * 10;
    (rss, field(20), cpu_ms)
}

/// Bytes used by retained messages (topics and payloads) and by subscriptions (filters).
fn memory_estimates(core: &BrokerCore) -> (u64, u64) {
    let mut retained = 0u64;
    core.retained.for_each(|mp, topic, msg| {
        retained += (mp.len() + topic.len() + msg.payload.len()) as u64;
    });
    let router: u64 = core
        .subscribers()
        .iter()
        .map(|s| {
            s.state
                .lock()
                .subscriptions
                .iter()
                .map(|(f, _)| (f.len() + std::mem::size_of::<crate::SubOptions>()) as u64)
                .sum::<u64>()
        })
        .sum();
    (retained, router)
}

/// Every family the node exports, in VerneMQ's order of names.
pub fn families(core: &BrokerCore) -> Vec<MetricFamily> {
    let m = &core.metrics;
    let mut out: Vec<MetricFamily> = Counter::ALL
        .iter()
        .map(|c| counter_family(core, *c))
        .collect();
    let mqtt = m.gauge(Gauge::ActiveMqttConnections);
    let ws = m.gauge(Gauge::ActiveMqttwsConnections);
    let (retain_memory, router_memory) = memory_estimates(core);
    let (rss, threads, cpu_ms) = process_stats();
    out.extend([
        gauge(
            "active_mqtt_connections",
            "MQTT connections (TCP, TLS) open now.",
            mqtt,
        ),
        gauge(
            "active_mqttws_connections",
            "MQTT connections over WebSocket open now.",
            ws,
        ),
        gauge(
            "total_active_connections",
            "MQTT connections open now.",
            mqtt + ws,
        ),
        gauge(
            "queue_processes",
            "Queues (online and offline sessions).",
            core.subscriber_count() as u64,
        ),
        gauge(
            "retain_messages",
            "Retained messages stored.",
            core.retained.len() as u64,
        ),
        gauge(
            "retain_memory",
            "Bytes of retained topics and payloads.",
            retain_memory,
        ),
        gauge(
            "router_subscriptions",
            "Subscriptions in the routing table.",
            core.router.len() as u64,
        ),
        gauge(
            "router_memory",
            "Bytes of subscription filters and options.",
            router_memory,
        ),
        gauge(
            "vm_memory_total",
            "Resident memory of the broker process in bytes.",
            rss,
        ),
        gauge(
            "system_process_count",
            "Threads of the broker process.",
            threads,
        ),
        plain_counter(
            "system_runtime",
            "CPU time of the broker process in milliseconds.",
            cpu_ms,
        ),
        plain_counter(
            "system_wallclock",
            "Milliseconds since the broker started.",
            u64::try_from(core.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ),
    ]);
    for h in Histogram::ALL {
        let (count, sum, buckets) = m.histogram(h);
        let mut cumulative = 0u64;
        let bounds: Vec<(f64, u64)> = buckets
            .iter()
            .enumerate()
            .map(|(i, n)| {
                cumulative += n;
                let le = HISTOGRAM_BOUNDS.get(i).map_or(f64::INFINITY, |b| *b as f64);
                (le, cumulative)
            })
            .collect();
        out.push(MetricFamily {
            name: h.name(),
            kind: MetricKind::Histogram,
            help: "Latency in microseconds.",
            samples: vec![Sample {
                labels: Vec::new(),
                value: count as f64,
                histogram: Some((sum as f64, bounds)),
            }],
        });
    }
    out.sort_by(|a, b| a.name.cmp(b.name));
    out
}

/// (name, total over labels) of every family except histograms: what `$SYS` and Graphite
/// publish.
pub fn totals(core: &BrokerCore) -> Vec<(&'static str, u64)> {
    families(core)
        .iter()
        .filter(|f| f.kind != MetricKind::Histogram)
        .map(|f| (f.name, f.total() as u64))
        .collect()
}
