//! The contract between the HTTP layer and the broker: the [`AdminApi`] trait, the commands it
//! runs and what they answer, and the metric and status models the routes render.

use std::{future::Future, pin::Pin};

use serde::{ser::SerializeMap, Serialize, Serializer};
use tokio::sync::mpsc;

use crate::Error;

/// A boxed future, so that [`AdminApi`] stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Commands a plugin adds to the admin API (e.g. `webhooks ...` of `vmq_webhooks`): the node
/// asks each registered set for a command path it does not know itself.
pub trait AdminCommands: Send + Sync + 'static {
    /// Runs `command` if its path is one of this set's; `None` otherwise.
    fn execute(&self, command: &Command) -> Option<Result<CommandOutput, crate::Error>>;
}

/// What the broker offers the HTTP layer.
pub trait AdminApi: Send + Sync + 'static {
    /// The node's name (`nodename`).
    fn node_name(&self) -> String;

    /// Every metric family with its current samples.
    fn metrics(&self) -> Vec<MetricFamily>;

    /// Whether the node is healthy; the reasons when it is not.
    fn health(&self) -> Health;

    /// The figures of the status page.
    fn status(&self) -> StatusSnapshot;

    /// Runs one `vmq-admin` command (everything except `api-key`, which the HTTP layer owns).
    fn execute<'a>(&'a self, command: &'a Command) -> BoxFuture<'a, Result<CommandOutput, Error>>;
}

/// One `vmq-admin` command: its path (`["session", "show"]`) and its arguments in order, each
/// as written: `client-id=x` is `("client-id", Some("x"))`, `--cleanup` is `("--cleanup", None)`,
/// `--limit=5` is `("--limit", Some("5"))`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    /// The command words.
    pub path: Vec<String>,
    /// The arguments.
    pub args: Vec<(String, Option<String>)>,
}

impl Command {
    /// A command from its words and arguments.
    pub fn new(path: &[&str], args: &[(&str, Option<&str>)]) -> Self {
        Command {
            path: path.iter().map(|s| s.to_string()).collect(),
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    /// The command words joined by spaces.
    pub fn name(&self) -> String {
        self.path.join(" ")
    }

    /// The value of `key` (as written: `client-id`, `--limit`), if given with a value.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether `key` is present at all (with or without a value).
    pub fn has(&self, key: &str) -> bool {
        self.args.iter().any(|(k, _)| k == key)
    }

    /// Builds a command from an URL path below `/api/v1/` and its query string.
    pub fn from_http(path: &str, query: Option<&str>) -> Self {
        let path = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let args = query
            .unwrap_or("")
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => (percent_decode(k), Some(percent_decode(v))),
                None => (percent_decode(pair), None),
            })
            .collect();
        Command { path, args }
    }

    /// The path and query string of this command below `/api/v1/`.
    pub fn to_http(&self) -> String {
        let mut out = self
            .path
            .iter()
            .map(|s| percent_encode(s))
            .collect::<Vec<_>>()
            .join("/");
        for (i, (k, v)) in self.args.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(&percent_encode(k));
            if let Some(v) = v {
                out.push('=');
                out.push_str(&percent_encode(v));
            }
        }
        out
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'@' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a command answers.
#[derive(Debug)]
pub enum CommandOutput {
    /// Nothing to say (VerneMQ answers `[]`).
    Done,
    /// A line of text.
    Text(String),
    /// A table: column names in display order, rows of JSON values.
    Table {
        /// Column names.
        columns: Vec<String>,
        /// Rows, each as long as `columns`.
        rows: Vec<Vec<serde_json::Value>>,
    },
    /// Lines produced over time (a trace); ends when the sender is dropped.
    Stream(mpsc::Receiver<String>),
}

impl CommandOutput {
    /// VerneMQ's JSON shape of this output (`Stream` has none and gives `[]`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            CommandOutput::Done | CommandOutput::Stream(_) => serde_json::Value::Array(Vec::new()),
            CommandOutput::Text(text) => serde_json::json!({"type": "text", "text": text}),
            CommandOutput::Table { columns, rows } => {
                let table = rows
                    .iter()
                    .map(|row| {
                        serde_json::Value::Object(
                            columns.iter().cloned().zip(row.iter().cloned()).collect(),
                        )
                    })
                    .collect();
                serde_json::json!({"type": "table", "table": serde_json::Value::Array(table)})
            }
        }
    }

    /// This output serialised as VerneMQ's JSON, keeping the table's column order.
    pub fn to_json_string(&self) -> String {
        match self {
            CommandOutput::Table { columns, rows } => {
                let ordered = OrderedTable { columns, rows };
                serde_json::to_string(&ordered).unwrap_or_else(|_| "[]".into())
            }
            other => other.to_json().to_string(),
        }
    }
}

struct OrderedTable<'a> {
    columns: &'a [String],
    rows: &'a [Vec<serde_json::Value>],
}

struct OrderedRow<'a> {
    columns: &'a [String],
    row: &'a [serde_json::Value],
}

impl Serialize for OrderedRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.columns.len()))?;
        for (k, v) in self.columns.iter().zip(self.row) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for OrderedTable<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let rows: Vec<OrderedRow<'_>> = self
            .rows
            .iter()
            .map(|row| OrderedRow {
                columns: self.columns,
                row,
            })
            .collect();
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("type", "table")?;
        map.serialize_entry("table", &rows)?;
        map.end()
    }
}

/// Prometheus metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl MetricKind {
    /// The name Prometheus and `vmq-admin metrics show` use.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One sample of a family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label pairs besides `node` (added when rendering).
    pub labels: Vec<(&'static str, String)>,
    /// The value (for a histogram: its count).
    pub value: f64,
    /// For a histogram: the sum and the cumulative counts per upper bound (`f64::INFINITY` last).
    pub histogram: Option<(f64, Vec<(f64, u64)>)>,
}

/// A metric family: one name, one type, its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// VerneMQ's name without namespace (`mqtt_publish_received`).
    pub name: &'static str,
    /// Its type.
    pub kind: MetricKind,
    /// One line describing it.
    pub help: &'static str,
    /// The samples.
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    /// The value summed over all samples (VerneMQ's aggregated view: `$SYS`, Graphite,
    /// `vmq-admin metrics show`).
    pub fn total(&self) -> f64 {
        self.samples.iter().map(|s| s.value).sum()
    }
}

/// The answer of `/health`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Empty when healthy; otherwise why not.
    pub concerns: Vec<String>,
}

/// The figures the status page shows for this node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatusSnapshot {
    /// Node name.
    pub node: String,
    /// Software version.
    pub version: String,
    /// Members of the cluster (1 for a single node).
    pub cluster_size: u64,
    /// Nodes reachable from this one, this one included.
    pub reachable_nodes: u64,
    /// Clients connected now.
    pub clients_online: u64,
    /// Persistent sessions whose client is away.
    pub clients_offline: u64,
    /// CONNECT packets received so far.
    pub connect_received: u64,
    /// PUBLISH packets received so far.
    pub publish_received: u64,
    /// PUBLISH packets sent so far.
    pub publish_sent: u64,
    /// Messages dropped by queues so far.
    pub queue_message_drop: u64,
    /// Messages waiting in queues now.
    pub msg_queued: u64,
    /// Subscriptions in the routing table.
    pub subscriptions: u64,
    /// Retained messages.
    pub retained: u64,
    /// Protocols served by the listeners (`mqtt`, `mqttws`, `http`, ...).
    pub protocols: Vec<String>,
    /// Warnings for the Issues table.
    pub issues: Vec<String>,
    /// Milliseconds since the node started.
    pub uptime_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_mapping_round_trips() {
        let c = Command::new(
            &["session", "disconnect"],
            &[("client-id", Some("my client/1")), ("--cleanup", None)],
        );
        let s = c.to_http();
        assert_eq!(s, "session/disconnect?client-id=my%20client%2F1&--cleanup");
        let (path, query) = s.split_once('?').unwrap();
        assert_eq!(Command::from_http(path, Some(query)), c);
    }

    #[test]
    fn table_json_keeps_column_order() {
        let out = CommandOutput::Table {
            columns: vec!["b".into(), "a".into()],
            rows: vec![vec![1.into(), "x".into()]],
        };
        assert_eq!(
            out.to_json_string(),
            r#"{"type":"table","table":[{"b":1,"a":"x"}]}"#
        );
    }
}
