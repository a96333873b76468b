//! The `$SYS/<nodename>/...` tree, as VerneMQ's `vmq_systree`: every `systree_interval` each
//! metric's total is published with its name's `_` turned into levels
//! (`mqtt_publish_received` → `$SYS/VerneMQ@127.0.0.1/mqtt/publish/received`), in
//! `systree_mountpoint`, with `systree_qos` and `systree_retain`. All five settings are read
//! at every round, so `vmq-admin set` changes them at runtime.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use vmq_codec::{PublishProperties, QoS, Utf8Str};
use vmq_session::Message;

use crate::broker::{BrokerCore, MatchBuffer};

/// How often a disabled tree checks whether it was enabled.
const DISABLED_RECHECK: Duration = Duration::from_secs(1);

/// Publishes the tree forever (the task is aborted at shutdown).
pub async fn run(core: Arc<BrokerCore>) {
    let mut matches = MatchBuffer::new();
    loop {
        let settings = &core.settings;
        let interval = settings.systree_interval();
        if !settings.systree_enabled() || interval.is_zero() {
            tokio::time::sleep(DISABLED_RECHECK).await;
            continue;
        }
        tokio::time::sleep(interval).await;
        if core.settings.systree_enabled() {
            publish_once(&core, &mut matches);
        }
    }
}

/// The topic of metric `name` on `node`.
pub fn topic(node: &str, name: &str) -> String {
    format!("$SYS/{node}/{}", name.replace('_', "/"))
}

/// Publishes every metric once.
pub fn publish_once(core: &BrokerCore, matches: &mut MatchBuffer) {
    let now = Instant::now();
    let settings = &core.settings;
    let qos = match settings.systree_qos() {
        1 => QoS::AtLeastOnce,
        2 => QoS::ExactlyOnce,
        _ => QoS::AtMostOnce,
    };
    let retain = settings.systree_retain();
    let mountpoint = settings.systree_mountpoint();
    for (name, value) in crate::metrics_export::totals(core) {
        let msg = Arc::new(Message {
            id: core.next_msg_id(),
            topic: Utf8Str::from(topic(core.node.as_str(), name)),
            payload: Bytes::from(value.to_string()),
            qos,
            retain,
            properties: PublishProperties::default(),
            expires_at: None,
        });
        let _ = core.publish(&mountpoint, None, msg, now, matches);
    }
}
