//! The Graphite exporter (`graphite_enabled`, `graphite_host`, `graphite_port`,
//! `graphite_interval`, `graphite_prefix`, `graphite_api_key`, `graphite_include_labels`,
//! `graphite_connect_timeout`, `graphite_reconnect_timeout`): every interval it writes each
//! metric's total to a Carbon server in the plaintext protocol, one line
//! `[<api key>.][<prefix>.]<name with _ as .> <value> <unix seconds>` per metric (with
//! `graphite_include_labels`, also one line per labelled sample, the labels appended as
//! `.<key>_<value>`). The settings are read at every round, so `vmq-admin set` applies.

use std::{
    fmt::Write as _,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tokio::{io::AsyncWriteExt, net::TcpStream};
use tracing::{debug, error};
use vmq_http::MetricKind;

use crate::broker::BrokerCore;

const DISABLED_RECHECK: Duration = Duration::from_secs(1);

fn key(api_key: &str, prefix: &str, name: &str) -> String {
    let mut out = String::new();
    for part in [api_key, prefix] {
        if !part.is_empty() {
            out.push_str(part);
            out.push('.');
        }
    }
    out.push_str(&name.replace('_', "."));
    out
}

/// The lines of one round.
pub fn lines(core: &BrokerCore, now_unix: u64) -> String {
    let settings = &core.settings;
    let (prefix, api_key) = settings.graphite_prefix_and_key();
    let labels = settings.graphite_include_labels();
    let mut out = String::new();
    for family in crate::metrics_export::families(core) {
        if family.kind == MetricKind::Histogram {
            continue;
        }
        let base = key(&api_key, &prefix, family.name);
        let _ = writeln!(out, "{base} {} {now_unix}", family.total() as u64);
        if labels {
            for sample in family.samples.iter().filter(|s| !s.labels.is_empty()) {
                let suffix: String = sample
                    .labels
                    .iter()
                    .map(|(k, v)| format!(".{k}_{v}"))
                    .collect();
                let _ = writeln!(out, "{base}{suffix} {} {now_unix}", sample.value as u64);
            }
        }
    }
    out
}

/// Runs the exporter forever (the task is aborted at shutdown).
pub async fn run(core: Arc<BrokerCore>) {
    let mut socket: Option<TcpStream> = None;
    loop {
        let settings = &core.settings;
        if !settings.graphite_enabled() {
            socket = None;
            tokio::time::sleep(DISABLED_RECHECK).await;
            continue;
        }
        let Some(stream) = socket.as_mut() else {
            let (host, port) = settings.graphite_target();
            let timeout = settings.graphite_connect_timeout();
            match tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port))).await {
                Ok(Ok(s)) => {
                    debug!(%host, port, "connected to graphite");
                    socket = Some(s);
                }
                Ok(Err(e)) => {
                    error!(%host, port, error = %e, "can't connect to Graphite");
                    tokio::time::sleep(settings.graphite_reconnect_timeout()).await;
                }
                Err(_) => {
                    error!(%host, port, "can't connect to Graphite: timeout");
                    tokio::time::sleep(settings.graphite_reconnect_timeout()).await;
                }
            }
            continue;
        };
        tokio::time::sleep(settings.graphite_interval()).await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let text = lines(&core, now);
        if let Err(e) = stream.write_all(text.as_bytes()).await {
            error!(error = %e, "writing to Graphite failed; reconnecting");
            socket = None;
            tokio::time::sleep(core.settings.graphite_reconnect_timeout()).await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn keys_follow_vernemq() {
        assert_eq!(
            key("", "", "mqtt_publish_received"),
            "mqtt.publish.received"
        );
        assert_eq!(key("K", "vernemq", "socket_open"), "K.vernemq.socket.open");
    }
}
