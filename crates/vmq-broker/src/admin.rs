//! The broker's side of the admin API: [`Admin`] implements [`vmq_http::AdminApi`], running
//! `vmq-admin` commands against [`BrokerCore`] (sessions, retained messages, metrics, runtime
//! settings, listeners, plugins, traces, node status) and providing the figures of `/metrics`,
//! `/health` and `/status`.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use parking_lot::Mutex;
use serde_json::Value;
use vmq_codec::ReasonCode;
use vmq_http::{AdminApi, BoxFuture, Command, CommandOutput, Error, Health, StatusSnapshot};

use crate::{
    broker::BrokerCore,
    hooks::{SubscribeRequest, SubscribeTopic},
    metrics_export,
    subscriber::{Subscriber, SubscriberId},
    trace::TraceOptions,
};

/// `session show` and `retain show` return at most this many rows unless `--limit` says.
pub const DEFAULT_LIMIT: usize = 100;

/// One HTTP listener as `listener show` reports it (MQTT listeners come from
/// [`BrokerCore::listeners`]).
#[derive(Debug, Clone)]
pub struct HttpListenerInfo {
    /// VerneMQ's type name (`mqtt`, `mqtts`, `mqttws`, `mqttwss`, `http`, `https`, `vmq`).
    pub kind: &'static str,
    /// `<kind>.<name>` as configured.
    pub name: String,
    /// The bound (or configured) address.
    pub addr: SocketAddr,
    /// `running`, or why not.
    pub status: String,
    /// `max_connections` (`None`: infinity).
    pub max_conns: Option<u32>,
    /// Mountpoint.
    pub mountpoint: String,
}

/// The broker's implementation of [`AdminApi`].
#[derive(Debug)]
pub struct Admin {
    core: Arc<BrokerCore>,
    listeners: Mutex<Vec<HttpListenerInfo>>,
    accepting: AtomicBool,
}

const SESSION_COLUMNS: &[&str] = &[
    "client_id",
    "mountpoint",
    "user",
    "peer_host",
    "peer_port",
    "is_online",
    "clean_session",
    "protocol",
    "node",
    "topic",
    "qos",
    "online_messages",
    "offline_messages",
    "waiting_acks",
    "session_started_at",
    "queue_started_at",
];
const SESSION_DEFAULT: &[&str] = &[
    "client_id",
    "is_online",
    "mountpoint",
    "peer_host",
    "peer_port",
    "user",
];

/// Matches `value` against a filter: exact, or with `~` a pattern where `.*` is any text.
fn matches_filter(filter: &str, value: &str) -> bool {
    match filter.strip_prefix('~') {
        None => filter == value,
        Some(pattern) => {
            let parts: Vec<&str> = pattern.split(".*").collect();
            let mut rest = value;
            for (i, part) in parts.iter().enumerate() {
                if i == 0 && !pattern.starts_with(".*") {
                    match rest.strip_prefix(part) {
                        Some(r) => rest = r,
                        None => return false,
                    }
                } else if let Some(pos) = rest.find(part) {
                    rest = &rest[pos + part.len()..];
                } else {
                    return false;
                }
            }
            pattern.ends_with(".*") || rest.is_empty()
        }
    }
}

fn text(v: &Value) -> String {
    vmq_http::table::cell(v)
}

/// Column selection and filters of a `show` command.
struct Query {
    columns: Vec<String>,
    filters: Vec<(String, String)>,
    limit: usize,
}

fn query(command: &Command, known: &[&str], default: &[&str]) -> Result<Query, Error> {
    let mut columns = Vec::new();
    let mut filters = Vec::new();
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in &command.args {
        let Some(name) = key.strip_prefix("--") else {
            return Err(Error::Usage(format!("unexpected argument {key}")));
        };
        match (name, value) {
            ("limit", Some(v)) => {
                limit = v
                    .parse()
                    .map_err(|_| Error::Usage(format!("invalid --limit={v}")))?;
            }
            ("rowtimeout" | "format", _) => {}
            (n, _) if !known.contains(&n) => {
                return Err(Error::Usage(format!(
                    "unknown option --{n}; known: {}",
                    known.join(", ")
                )))
            }
            (n, None) => columns.push(n.to_string()),
            (n, Some(v)) => filters.push((n.to_string(), v.clone())),
        }
    }
    if columns.is_empty() {
        columns = default.iter().map(|s| s.to_string()).collect();
    }
    Ok(Query {
        columns,
        filters,
        limit,
    })
}

fn opt_str(v: Option<String>) -> Value {
    v.map_or(Value::String("undefined".into()), Value::String)
}

impl Admin {
    /// The admin API of `core`.
    pub fn new(core: Arc<BrokerCore>) -> Self {
        Admin {
            core,
            listeners: Mutex::new(Vec::new()),
            accepting: AtomicBool::new(true),
        }
    }

    /// Records the listeners (after binding).
    pub fn set_listeners(&self, listeners: Vec<HttpListenerInfo>) {
        *self.listeners.lock() = listeners;
    }

    /// Marks the node as (not) accepting connections (`/health`).
    pub fn set_accepting(&self, accepting: bool) {
        self.accepting.store(accepting, Ordering::Relaxed);
    }

    fn session_rows(&self, sub: &Subscriber, want_subs: bool) -> Vec<Vec<(&'static str, Value)>> {
        let state = sub.state.lock();
        let online = sub.online.load(Ordering::Relaxed);
        let info = &state.info;
        let queued = state.queue.len() as u64;
        let base: Vec<(&'static str, Value)> = vec![
            ("client_id", sub.id.client_id.to_string().into()),
            ("mountpoint", sub.id.mountpoint.to_string().into()),
            ("user", opt_str(info.user.clone())),
            ("peer_host", opt_str(info.peer.map(|p| p.ip().to_string()))),
            (
                "peer_port",
                info.peer
                    .map_or(Value::String("undefined".into()), |p| p.port().into()),
            ),
            ("is_online", online.into()),
            ("clean_session", info.clean_session.into()),
            ("protocol", info.protocol.into()),
            ("node", self.core.node.to_string().into()),
            ("online_messages", if online { queued } else { 0 }.into()),
            ("offline_messages", if online { 0 } else { queued }.into()),
            ("waiting_acks", (state.inflight.len() as u64).into()),
            ("session_started_at", info.session_started_at.into()),
            ("queue_started_at", info.queue_started_at.into()),
        ];
        if !want_subs {
            return vec![base];
        }
        state
            .subscriptions
            .iter()
            .map(|(filter, opts)| {
                let mut row = base.clone();
                row.push(("topic", filter.clone().into()));
                row.push(("qos", (opts.qos as u8).into()));
                row
            })
            .collect()
    }

    fn session_show(&self, command: &Command) -> Result<CommandOutput, Error> {
        let q = query(command, SESSION_COLUMNS, SESSION_DEFAULT)?;
        let want_subs = q
            .columns
            .iter()
            .chain(q.filters.iter().map(|(k, _)| k))
            .any(|c| c == "topic" || c == "qos");
        let mut subs = self.core.subscribers();
        subs.sort_by(|a, b| a.id.cmp(&b.id));
        let mut rows = Vec::new();
        'outer: for sub in subs {
            for row in self.session_rows(&sub, want_subs) {
                let get = |name: &str| row.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
                let keep = q
                    .filters
                    .iter()
                    .all(|(k, f)| get(k).is_some_and(|v| matches_filter(f, &text(v))));
                if keep {
                    rows.push(
                        q.columns
                            .iter()
                            .map(|c| get(c).cloned().unwrap_or(Value::Null))
                            .collect(),
                    );
                    if rows.len() >= q.limit {
                        break 'outer;
                    }
                }
            }
        }
        Ok(CommandOutput::Table {
            columns: q.columns,
            rows,
        })
    }

    fn subscriber_id(&self, command: &Command) -> Result<SubscriberId, Error> {
        let client_id = command
            .value("client-id")
            .ok_or_else(|| Error::Usage("missing client-id=<ClientId>".into()))?;
        let mountpoint = command
            .value("mountpoint")
            .or_else(|| command.value("--mountpoint"))
            .unwrap_or("");
        Ok(SubscriberId {
            mountpoint: Arc::from(mountpoint),
            client_id: Arc::from(client_id),
        })
    }

    async fn session_disconnect(&self, command: &Command) -> Result<CommandOutput, Error> {
        let id = self.subscriber_id(command)?;
        if self.core.subscriber(&id).is_none() {
            return Err(Error::Usage(format!("Session not found for {id}")));
        }
        self.core
            .disconnect_client(&id, ReasonCode::AdministrativeAction)
            .await;
        if command.has("--cleanup") {
            self.core.discard(&id);
        }
        Ok(CommandOutput::Done)
    }

    async fn session_reauthorize(&self, command: &Command) -> Result<CommandOutput, Error> {
        let id = self.subscriber_id(command)?;
        let username = command.value("username").map(vmq_codec::Utf8Str::from);
        let Some(sub) = self.core.subscriber(&id) else {
            return Err(Error::Usage(format!("Session not found for {id}")));
        };
        if self.core.config.allow_anonymous {
            // With allow_anonymous the auth hooks are not called at all.
            return Ok(CommandOutput::Text("Unchanged".into()));
        }
        let subscriptions = sub.state.lock().subscriptions.clone();
        let topics: Vec<SubscribeTopic> = subscriptions
            .iter()
            .map(|(filter, opts)| SubscribeTopic {
                filter: vmq_codec::Utf8Str::from(filter.as_str()),
                grant: Ok(vmq_codec::SubscriptionOptions {
                    qos: opts.qos,
                    no_local: opts.no_local,
                    retain_as_published: opts.retain_as_published,
                    retain_handling: opts.retain_handling,
                }),
            })
            .collect();
        let chain = self.core.hooks.chain();
        let result = chain
            .auth_on_subscribe(&SubscribeRequest {
                username: username.as_ref(),
                subscriber_id: &id,
                topics: &topics,
                properties: None,
            })
            .await;
        let mut changed = false;
        match result {
            Ok(None) => {}
            Err(_) => {
                for (filter, _) in &subscriptions {
                    changed |= self.core.unsubscribe(&sub, filter);
                }
            }
            Ok(Some(rewritten)) => {
                for (filter, _) in &subscriptions {
                    let allowed = rewritten
                        .iter()
                        .any(|t| t.filter.as_str() == filter && t.grant.is_ok());
                    if !allowed {
                        changed |= self.core.unsubscribe(&sub, filter);
                    }
                }
            }
        }
        Ok(CommandOutput::Text(
            if changed { "Changed" } else { "Unchanged" }.into(),
        ))
    }

    fn retain_show(&self, command: &Command) -> Result<CommandOutput, Error> {
        let q = query(
            command,
            &["payload", "topic", "mountpoint"],
            &["payload", "topic"],
        )?;
        let mut rows = Vec::new();
        self.core.retained.for_each(|mountpoint, topic, msg| {
            if rows.len() >= q.limit {
                return;
            }
            let payload = String::from_utf8_lossy(&msg.payload).into_owned();
            let get = |name: &str| match name {
                "payload" => Some(payload.clone()),
                "topic" => Some(topic.to_string()),
                "mountpoint" => Some(mountpoint.to_string()),
                _ => None,
            };
            if q.filters
                .iter()
                .all(|(k, f)| get(k).is_some_and(|v| matches_filter(f, &v)))
            {
                rows.push(
                    q.columns
                        .iter()
                        .map(|c| get(c).map_or(Value::Null, Value::String))
                        .collect(),
                );
            }
        });
        rows.sort_by_key(|r: &Vec<Value>| r.iter().map(text).collect::<Vec<_>>());
        Ok(CommandOutput::Table {
            columns: q.columns,
            rows,
        })
    }

    fn metrics_show(&self, command: &Command) -> Result<CommandOutput, Error> {
        let describe = command.has("-d") || command.has("--with-descriptions");
        let label_filters: Vec<(&str, &str)> = command
            .args
            .iter()
            .filter_map(|(k, v)| {
                let k = k.strip_prefix("--")?;
                if k == "with-descriptions" || k == "aggregate" || k == "format" {
                    return None;
                }
                Some((k, v.as_deref()?))
            })
            .collect();
        let mut lines = Vec::new();
        for family in metrics_export::families(&self.core) {
            let matching: Vec<&vmq_http::Sample> = family
                .samples
                .iter()
                .filter(|s| {
                    label_filters.is_empty()
                        || label_filters
                            .iter()
                            .any(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .collect();
            if matching.is_empty() {
                continue;
            }
            if describe {
                lines.push(format!("# {}", family.help));
            }
            let kind = family.kind.as_str();
            if family.kind == vmq_http::MetricKind::Histogram {
                let count: f64 = matching.iter().map(|s| s.value).sum();
                let sum: f64 = matching
                    .iter()
                    .filter_map(|s| s.histogram.as_ref().map(|h| h.0))
                    .sum();
                lines.push(format!("{kind}.{}_count = {}", family.name, count as u64));
                lines.push(format!("{kind}.{}_sum = {}", family.name, sum as u64));
            } else {
                let total: f64 = matching.iter().map(|s| s.value).sum();
                lines.push(format!("{kind}.{} = {}", family.name, total as u64));
            }
        }
        Ok(CommandOutput::Text(lines.join("\n")))
    }

    fn set(&self, command: &Command) -> Result<CommandOutput, Error> {
        if command.args.is_empty() {
            return Err(Error::Usage("usage: set <key>=<value> ...".into()));
        }
        for (key, value) in &command.args {
            if key.starts_with("--") {
                continue;
            }
            let value = value
                .as_deref()
                .ok_or_else(|| Error::Usage(format!("missing value for {key}")))?;
            self.core.settings.set(key, value).map_err(Error::Usage)?;
        }
        Ok(CommandOutput::Done)
    }

    fn show(&self, command: &Command) -> Result<CommandOutput, Error> {
        let keys: Vec<&str> = command
            .args
            .iter()
            .filter(|(k, _)| !k.starts_with("--"))
            .map(|(k, _)| k.as_str())
            .collect();
        if keys.is_empty() {
            return Err(Error::Usage("usage: show <key> ...".into()));
        }
        let mut columns = vec!["node".to_string()];
        let mut row = vec![Value::String(self.core.node.to_string())];
        for key in keys {
            let value = self
                .core
                .settings
                .get(key)
                .or_else(|| self.core.config.get(key).map(|v| v.value.clone()))
                .ok_or_else(|| Error::Usage(format!("unknown setting {key}")))?;
            columns.push(key.to_string());
            row.push(Value::String(value));
        }
        Ok(CommandOutput::Table {
            columns,
            rows: vec![row],
        })
    }

    fn listener_show(&self) -> CommandOutput {
        let mut rows: Vec<Vec<Value>> = self
            .core
            .listeners()
            .iter()
            .map(|l| {
                vec![
                    l.vmq_type().into(),
                    l.status.as_str().into(),
                    l.addr.ip().to_string().into(),
                    l.addr.port().to_string().into(),
                    l.mountpoint.clone().into(),
                    l.max_connections
                        .map_or(Value::String("infinity".into()), Value::from),
                    (l.active_connections as u64).into(),
                ]
            })
            .collect();
        rows.extend(self.listeners.lock().iter().map(|l| {
            let active = 0u64;
            {
                vec![
                    l.kind.into(),
                    l.status.clone().into(),
                    l.addr.ip().to_string().into(),
                    l.addr.port().to_string().into(),
                    l.mountpoint.clone().into(),
                    l.max_conns
                        .map_or(Value::String("infinity".into()), Value::from),
                    active.into(),
                ]
            }
        }));
        CommandOutput::Table {
            columns: [
                "type",
                "status",
                "address",
                "port",
                "mountpoint",
                "max_conns",
                "active_conns",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows,
        }
    }

    fn plugin_show(&self) -> CommandOutput {
        let rows = self
            .core
            .hooks
            .plugins()
            .into_iter()
            .map(|p| vec![p.name.into(), "application".into(), p.enabled.into()])
            .collect();
        CommandOutput::Table {
            columns: vec!["Plugin".into(), "Type".into(), "Enabled".into()],
            rows,
        }
    }

    fn trace_client(&self, command: &Command) -> Result<CommandOutput, Error> {
        let client_id = command
            .value("client-id")
            .ok_or_else(|| Error::Usage("missing client-id=<ClientId>".into()))?;
        let mut options = TraceOptions::new(client_id);
        if let Some(mp) = command.value("--mountpoint") {
            options.mountpoint = mp.to_string();
        }
        let number = |key: &str| -> Result<Option<u64>, Error> {
            command
                .value(key)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| Error::Usage(format!("invalid {key}={v}")))
                })
                .transpose()
        };
        if let Some(n) = number("--rate-max")? {
            options.rate_max = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = number("--rate-interval")? {
            options.rate_interval = Duration::from_millis(n.max(1));
        }
        if let Some(n) = number("--trunc-payload")? {
            options.trunc_payload = usize::try_from(n).unwrap_or(usize::MAX);
        }
        let id = SubscriberId {
            mountpoint: Arc::from(options.mountpoint.as_str()),
            client_id: Arc::from(client_id),
        };
        let online = self
            .core
            .subscriber(&id)
            .is_some_and(|s| s.online.load(Ordering::Relaxed));
        let Some(rx) = self.core.tracer.start(options) else {
            return Err(Error::Usage(
                "Cannot start trace as another trace is already running.".into(),
            ));
        };
        // The first line says what was found, as VerneMQ's tracer does.
        let (tx, out) = tokio::sync::mpsc::channel(16);
        let first = if online {
            format!("Session found for client {client_id:?}")
        } else {
            format!("No sessions found for client {client_id:?}")
        };
        tokio::spawn(async move {
            let mut rx = rx;
            if tx.send(first).await.is_err() {
                return;
            }
            while let Some(line) = rx.recv().await {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        });
        Ok(CommandOutput::Stream(out))
    }

    fn node_status(&self) -> CommandOutput {
        let s = self.status();
        CommandOutput::Table {
            columns: [
                "node",
                "running",
                "version",
                "uptime_seconds",
                "clients_online",
                "clients_offline",
                "subscriptions",
                "retained",
            ]
            .iter()
            .map(|c| c.to_string())
            .collect(),
            rows: vec![vec![
                s.node.into(),
                true.into(),
                s.version.into(),
                (s.uptime_ms / 1000).into(),
                s.clients_online.into(),
                s.clients_offline.into(),
                s.subscriptions.into(),
                s.retained.into(),
            ]],
        }
    }
}

impl AdminApi for Admin {
    fn node_name(&self) -> String {
        self.core.node.to_string()
    }

    fn metrics(&self) -> Vec<vmq_http::MetricFamily> {
        metrics_export::families(&self.core)
    }

    fn health(&self) -> Health {
        let mut concerns = Vec::new();
        if !self.accepting.load(Ordering::Relaxed) {
            concerns.push("Node is shutting down".to_string());
        }
        let mqtt = self.core.listeners();
        let mqtt_running = mqtt
            .iter()
            .any(|l| l.status == crate::ListenerStatus::Running);
        if !mqtt_running {
            concerns.push("No MQTT listener is accepting connections".to_string());
        }
        let down: Vec<String> = mqtt
            .iter()
            .filter(|l| l.status != crate::ListenerStatus::Running)
            .map(|l| format!("{}.{}", l.kind.as_str(), l.name))
            .chain(
                self.listeners
                    .lock()
                    .iter()
                    .filter(|l| l.status != "running")
                    .map(|l| l.name.clone()),
            )
            .collect();
        if !down.is_empty() {
            concerns.push(format!("Listeners are not ready: {}", down.join(", ")));
        }
        Health { concerns }
    }

    fn status(&self) -> StatusSnapshot {
        let core = &self.core;
        let m = &core.metrics;
        let (online, offline) = core.online_offline();
        let queued: u64 = core
            .subscribers()
            .iter()
            .map(|s| s.state.lock().queue.len() as u64)
            .sum();
        let mqtt = self.core.listeners();
        let mut protocols: Vec<String> = mqtt
            .iter()
            .filter(|l| l.status == crate::ListenerStatus::Running)
            .map(|l| l.vmq_type().to_string())
            .chain(
                self.listeners
                    .lock()
                    .iter()
                    .filter(|l| l.status == "running")
                    .map(|l| l.kind.to_string()),
            )
            .collect();
        protocols.dedup();
        let mut issues = Vec::new();
        if mqtt.iter().any(|l| l.addr.ip().is_unspecified()) {
            issues.push("An MQTT listener is bound to all interfaces (0.0.0.0).".to_string());
        }
        StatusSnapshot {
            node: core.node.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            cluster_size: 1,
            reachable_nodes: 1,
            clients_online: online as u64,
            clients_offline: offline as u64,
            connect_received: m.get(crate::Counter::MqttConnectReceived),
            publish_received: m.get(crate::Counter::MqttPublishReceived),
            publish_sent: m.get(crate::Counter::MqttPublishSent),
            queue_message_drop: m.get(crate::Counter::QueueMessageDrop),
            msg_queued: queued,
            subscriptions: core.router.len() as u64,
            retained: core.retained.len() as u64,
            protocols,
            issues,
            uptime_ms: u64::try_from(core.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn execute<'a>(&'a self, command: &'a Command) -> BoxFuture<'a, Result<CommandOutput, Error>> {
        Box::pin(async move {
            let path: Vec<&str> = command.path.iter().map(String::as_str).collect();
            match path.as_slice() {
                ["session", "show"] => self.session_show(command),
                ["session", "disconnect"] => self.session_disconnect(command).await,
                ["session", "reauthorize"] => self.session_reauthorize(command).await,
                ["retain", "show"] => self.retain_show(command),
                ["metrics", "show"] => self.metrics_show(command),
                ["set"] => self.set(command),
                ["show"] => self.show(command),
                ["listener", "show"] => Ok(self.listener_show()),
                ["listener", "stop"] => {
                    let addr = listener_addr(command)?;
                    self.core
                        .stop_listener(addr, command.has("--kill_sessions"))
                        .await
                        .map_err(|e| Error::Usage(e.to_string()))?;
                    Ok(CommandOutput::Done)
                }
                ["listener", "restart"] => {
                    let addr = listener_addr(command)?;
                    self.core
                        .restart_listener(addr)
                        .await
                        .map_err(|e| Error::Usage(e.to_string()))?;
                    Ok(CommandOutput::Done)
                }
                ["listener", "delete"] => {
                    let addr = listener_addr(command)?;
                    self.core
                        .delete_listener(addr)
                        .map_err(|e| Error::Usage(e.to_string()))?;
                    Ok(CommandOutput::Done)
                }
                ["listener", "start"] => {
                    let lc = runtime_listener(command)?;
                    self.core
                        .start_listener(lc)
                        .await
                        .map_err(|e| Error::Usage(e.to_string()))?;
                    Ok(CommandOutput::Done)
                }
                ["plugin", "show"] => Ok(self.plugin_show()),
                ["plugin", verb @ ("enable" | "disable")] => {
                    let name = command
                        .value("name")
                        .or_else(|| command.value("--name"))
                        .ok_or_else(|| Error::Usage("missing name=<PluginName>".into()))?;
                    let hooks = &self.core.hooks;
                    let result = if *verb == "enable" {
                        hooks.enable(name)
                    } else {
                        hooks.disable(name)
                    };
                    result.map_err(|e| Error::Usage(e.to_string()))?;
                    Ok(CommandOutput::Done)
                }
                ["trace", "client"] => self.trace_client(command),
                ["trace", "stop_all"] => {
                    self.core.tracer.stop_all();
                    Ok(CommandOutput::Done)
                }
                ["node", "status"] => Ok(self.node_status()),
                ["cluster", "show"] => Ok(CommandOutput::Table {
                    columns: vec!["Node".into(), "Running".into()],
                    rows: vec![vec![self.core.node.to_string().into(), true.into()]],
                }),
                _ => {
                    let extensions = self.core.admin_commands.read().clone();
                    extensions
                        .iter()
                        .find_map(|ext| ext.execute(command))
                        .unwrap_or_else(|| Err(Error::UnknownCommand(command.name())))
                }
            }
        })
    }
}

/// An option of `listener start`: `--name=value`, `name=value`, or `--name value`.
fn start_option(command: &Command, name: &str) -> Option<String> {
    let flag = format!("--{name}");
    if let Some(v) = command.value(&flag).or_else(|| command.value(name)) {
        return Some(v.to_owned());
    }
    let at = command
        .args
        .iter()
        .position(|(k, v)| *k == flag && v.is_none())?;
    match command.args.get(at + 1) {
        Some((next, None)) if !next.starts_with("--") => Some(next.clone()),
        _ => None,
    }
}

/// The listener `vmq-admin listener start address=<IP> port=<Port> [options]` describes, built
/// through the configuration reader so the options mean what they mean in `vernemq.conf`:
/// `--websocket`, `--ssl` (with `--certfile`, `--keyfile`, `--cafile`, `--require_certificate`,
/// `--use_identity_as_username`), `--mountpoint`, `--max_connections`, `--nr_of_acceptors`,
/// `--proxy_protocol`, `--allowed_protocol_versions`. Such a listener does not survive a restart.
fn runtime_listener(command: &Command) -> Result<vmq_conf::ListenerConfig, Error> {
    let addr = listener_addr(command)?;
    let secure = command.has("--ssl") || command.has("ssl");
    let websocket = command.has("--websocket") || command.has("websocket");
    let kind = match (websocket, secure) {
        (false, false) => "tcp",
        (false, true) => "ssl",
        (true, false) => "ws",
        (true, true) => "wss",
    };
    let name = format!("runtime_{}", addr.port());
    let mut text = format!("listener.{kind}.{name} = {addr}\n");
    let options = [
        "mountpoint",
        "max_connections",
        "nr_of_acceptors",
        "proxy_protocol",
        "allowed_protocol_versions",
        "certfile",
        "keyfile",
        "cafile",
        "require_certificate",
        "use_identity_as_username",
        "tls_version",
        "ciphers",
        "crlfile",
    ];
    for option in options {
        let flag_only = matches!(
            option,
            "proxy_protocol" | "require_certificate" | "use_identity_as_username"
        );
        let value = match start_option(command, option) {
            Some(v) => Some(v),
            None if flag_only && command.has(&format!("--{option}")) => Some("on".to_owned()),
            None => None,
        };
        if let Some(value) = value {
            text.push_str(&format!("listener.{kind}.{name}.{option} = {value}\n"));
        }
    }
    let config = vmq_conf::Config::from_str(&text, "vmq-admin listener start", &Default::default())
        .map_err(|e| Error::Usage(e.to_string()))?;
    config
        .listeners
        .into_iter()
        .find(|l| l.name == name)
        .ok_or_else(|| Error::Usage("no listener described".into()))
}

/// The listener named by `address=<IP> port=<Port>` (VerneMQ's options).
fn listener_addr(command: &Command) -> Result<SocketAddr, Error> {
    let ip = command
        .value("address")
        .or_else(|| command.value("--address"))
        .ok_or_else(|| Error::Usage("missing address=<IP>".into()))?;
    let port = command
        .value("port")
        .or_else(|| command.value("--port"))
        .ok_or_else(|| Error::Usage("missing port=<Port>".into()))?;
    format!("{ip}:{port}")
        .parse()
        .map_err(|_| Error::Usage(format!("invalid address {ip}:{port}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn filters_match_exactly_or_by_pattern() {
        assert!(matches_filter("some/topic", "some/topic"));
        assert!(!matches_filter("some/topic", "some/topic2"));
        assert!(matches_filter("~some/other/.*", "some/other/topic1"));
        assert!(!matches_filter("~some/other/.*", "any/other/topic1"));
        assert!(matches_filter("~.*topic", "a/topic"));
    }
}
