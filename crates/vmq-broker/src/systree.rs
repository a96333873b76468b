//! The `$SYS/<nodename>/...` tree: every `systree_interval` the broker's counters are published
//! as retained messages under VerneMQ's metric names (e.g. `$SYS/VerneMQ@127.0.0.1/socket_open`).

use std::{sync::Arc, time::Instant};

use bytes::Bytes;
use vmq_codec::{PublishProperties, QoS, Utf8Str};
use vmq_session::Message;

use crate::broker::{BrokerCore, MatchBuffer};

/// Publishes the tree forever (the task is aborted at shutdown).
pub async fn run(core: Arc<BrokerCore>) {
    let mut interval = tokio::time::interval(core.config.systree_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut matches = MatchBuffer::new();
    loop {
        interval.tick().await;
        publish_once(&core, &mut matches);
    }
}

/// Publishes every metric once.
pub fn publish_once(core: &BrokerCore, matches: &mut MatchBuffer) {
    let now = Instant::now();
    let (online, offline) = core.online_offline();
    let mut values = core.metrics.snapshot();
    values.push(("queue_processes", core.subscriber_count() as u64));
    values.push(("router_subscriptions", core.router.len() as u64));
    values.push(("retain_messages", core.retained.len() as u64));
    values.push(("client_online", online as u64));
    values.push(("client_offline", offline as u64));
    values.push(("system_uptime", core.started.elapsed().as_millis() as u64));
    for (name, value) in values {
        let topic = format!("$SYS/{}/{}", core.node, name);
        let msg = Arc::new(Message {
            id: core.next_msg_id(),
            topic: Utf8Str::from(topic),
            payload: Bytes::from(value.to_string()),
            qos: QoS::AtMostOnce,
            retain: true,
            properties: PublishProperties::default(),
            expires_at: None,
        });
        let _ = core.publish("", None, msg, now, matches);
    }
}
