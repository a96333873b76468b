//! `vmq-admin`: VerneMQ's administration command. It finds the local node's HTTP listener in
//! `vernemq.conf` (`--config`, the first `listener.http.<name>`), authenticates with the
//! node-local secret under `data_dir` (or `VERNEMQ_API_KEY`), turns the command into
//! `GET /api/v1/<command path>?<options>` and prints the answer as VerneMQ does: tables with
//! `+---+` borders, or the JSON itself with `--format=json`.

use std::{collections::HashMap, path::PathBuf, process::ExitCode};

use anyhow::{bail, Context, Result};
use base64::Engine;
use clap::{Args, Parser, Subcommand};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use vmq_http::{Command, ADMIN_SECRET_FILE};

#[derive(Parser, Debug)]
#[command(
    name = "vmq-admin",
    version,
    about = "Administrate the VerneMQ node",
    after_help = "Use --help after a sub-command for more details."
)]
struct Cli {
    /// vernemq.conf of the node (default: ./vernemq.conf if present, else the built-in defaults).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The node's HTTP address (default: the first listener.http in the configuration).
    #[arg(long, global = true, value_name = "HOST:PORT")]
    url: Option<String>,
    /// Output format: human (tables) or json.
    #[arg(long, global = true, default_value = "human", value_parser = ["human", "json"])]
    format: String,
    #[command(subcommand)]
    command: Top,
}

/// Raw options of a leaf command, passed to the node as written.
#[derive(Args, Debug, Default)]
struct Raw {
    /// Options: key=value, --flag, --flag=value (see the description above).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "OPTIONS"
    )]
    args: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Top {
    /// Manage this node.
    #[command(subcommand)]
    Node(NodeCmd),
    /// Manage this node's cluster membership.
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Retrieve session information.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Show and filter MQTT retained messages.
    #[command(subcommand)]
    Retain(RetainCmd),
    /// Manage plugin system.
    #[command(subcommand)]
    Plugin(PluginCmd),
    /// Manage listener interfaces.
    #[command(subcommand)]
    Listener(ListenerCmd),
    /// Retrieve System Metrics.
    #[command(subcommand)]
    Metrics(MetricsCmd),
    /// Manage API keys for the HTTP management interface.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCmd),
    /// Trace various aspects of VerneMQ.
    #[command(subcommand)]
    Trace(TraceCmd),
    /// Manage the webhooks of vmq_webhooks.
    #[command(subcommand)]
    Webhooks(WebhooksCmd),
    /// Set configuration values at runtime: set key=value ...
    ///
    /// Changeable at runtime: systree_enabled, systree_interval, systree_mountpoint,
    /// systree_qos, systree_retain, graphite_enabled, graphite_host, graphite_port,
    /// graphite_interval, graphite_prefix, graphite_api_key, graphite_include_labels,
    /// graphite_connect_timeout, graphite_reconnect_timeout, log.console.level.
    /// Changes are lost at restart.
    Set(Raw),
    /// Show configuration values: show key ...
    Show(Raw),
}

#[derive(Subcommand, Debug)]
enum NodeCmd {
    /// Show the node's status (running, version, uptime, clients, subscriptions).
    Status(Raw),
}

#[derive(Subcommand, Debug)]
enum ClusterCmd {
    /// Show the cluster's nodes.
    Show(Raw),
}

#[derive(Subcommand, Debug)]
enum SessionCmd {
    /// Show and filter information about MQTT sessions.
    ///
    /// Select columns with --<column> and filter with --<column>=<value> (--<column>=~<pattern>
    /// where .* matches any text). Columns: client_id, mountpoint, user, peer_host, peer_port,
    /// is_online, clean_session, protocol, node, topic, qos, online_messages,
    /// offline_messages, waiting_acks, session_started_at, queue_started_at.
    /// Default columns: client_id is_online mountpoint peer_host peer_port user.
    ///
    /// --limit=<RowLimit> limits the rows returned (default 100).
    ///
    /// Example: vmq-admin session show --topic --client_id --topic=some/topic
    Show(Raw),
    /// Forcefully disconnect a client: client-id=<ClientId> [mountpoint=<MP>] [--cleanup]
    ///
    /// --cleanup also removes the session: its subscriptions and offline messages.
    Disconnect(Raw),
    /// Reauthorize a client's subscriptions: username=<User> client-id=<ClientId>
    ///
    /// Runs auth_on_subscribe again for every subscription and removes those no longer
    /// allowed; answers Changed or Unchanged.
    Reauthorize(Raw),
}

#[derive(Subcommand, Debug)]
enum RetainCmd {
    /// Show and filter MQTT retained messages.
    ///
    /// Columns: --payload --topic --mountpoint (default: --payload --topic); filter with
    /// --topic=<Topic>, --payload=<Payload>, --mountpoint=<MP>. --limit=<NumberOfResults>
    /// (default 100).
    Show(Raw),
}

#[derive(Subcommand, Debug)]
enum WebhooksCmd {
    /// Register a webhook: hook=<Hook> endpoint=<Url> [--base64payload=true|false]
    /// [--no_payload=true|false] [--response_timeout=<ms>]
    Register(Raw),
    /// Deregister a webhook: hook=<Hook> endpoint=<Url>
    Deregister(Raw),
    /// Show the registered webhooks.
    Show(Raw),
    /// The webhook cache.
    #[command(subcommand)]
    Cache(WebhooksCacheCmd),
}

#[derive(Subcommand, Debug)]
enum WebhooksCacheCmd {
    /// Show the cache statistics per endpoint and hook [--reset].
    Show(Raw),
}

#[derive(Subcommand, Debug)]
enum PluginCmd {
    /// Show the enabled plugins.
    Show(Raw),
    /// Enable a registered plugin: name=<PluginName>
    Enable(Raw),
    /// Disable a plugin (it stays registered and is asked no more): name=<PluginName>
    Disable(Raw),
}

#[derive(Subcommand, Debug)]
enum ListenerCmd {
    /// Show the listeners: type, status, address, port, mountpoint, max_conns, active_conns.
    Show(Raw),
    /// Start a new listener: address=<IP> port=<Port> [--mountpoint <mp>] [--max_connections=<n>]
    /// [--nr_of_acceptors=<n>] [--websocket] [--ssl --certfile=<f> --keyfile=<f> [--cafile=<f>]
    /// [--require_certificate] [--use_identity_as_username]] [--proxy_protocol]
    /// [--allowed_protocol_versions=3,4,5]. It does not survive a restart.
    Start(Raw),
    /// Stop a listener: address=<IP> port=<Port> [--kill_sessions]
    Stop(Raw),
    /// Restart a stopped listener: address=<IP> port=<Port>
    Restart(Raw),
    /// Delete a stopped listener: address=<IP> port=<Port>
    Delete(Raw),
}

#[derive(Subcommand, Debug)]
enum MetricsCmd {
    /// Show and filter metrics for this node.
    ///
    /// -d, --with-descriptions: annotate metrics with their descriptions.
    /// Filter by labels: --mqtt_version=4|5, --reason_code=<name>, --return_code=<name>.
    Show(Raw),
}

#[derive(Subcommand, Debug)]
enum ApiKeyCmd {
    /// Create a new API key: [scope=mgmt|status|metrics|health] [expires=YYYY-MM-DDTHH:MM:SS]
    Create(Raw),
    /// Add an API key of your own: key=<Key> [scope=...] [expires=...]
    Add(Raw),
    /// Delete an API key: key=<Key>
    Delete(Raw),
    /// Show the API keys (their first characters; keys are stored hashed).
    Show(Raw),
}

#[derive(Subcommand, Debug)]
enum TraceCmd {
    /// Trace a client: client-id=<ClientId>
    ///
    /// --mountpoint=<Mountpoint> (default ""), --rate-max=<RateMaxMessages> (default 10),
    /// --rate-interval=<RateIntervalMS> (default 100), --trunc-payload=<SizeInBytes>
    /// (default 200). Stops at the rate limit, at Ctrl-C, or by `trace stop_all`.
    Client(Raw),
    /// Stop every running trace.
    #[command(name = "stop_all")]
    StopAll(Raw),
}

fn command_of(top: &Top) -> (Vec<&'static str>, &Raw) {
    match top {
        Top::Node(NodeCmd::Status(r)) => (vec!["node", "status"], r),
        Top::Cluster(ClusterCmd::Show(r)) => (vec!["cluster", "show"], r),
        Top::Session(SessionCmd::Show(r)) => (vec!["session", "show"], r),
        Top::Session(SessionCmd::Disconnect(r)) => (vec!["session", "disconnect"], r),
        Top::Session(SessionCmd::Reauthorize(r)) => (vec!["session", "reauthorize"], r),
        Top::Retain(RetainCmd::Show(r)) => (vec!["retain", "show"], r),
        Top::Plugin(PluginCmd::Show(r)) => (vec!["plugin", "show"], r),
        Top::Plugin(PluginCmd::Enable(r)) => (vec!["plugin", "enable"], r),
        Top::Plugin(PluginCmd::Disable(r)) => (vec!["plugin", "disable"], r),
        Top::Listener(ListenerCmd::Show(r)) => (vec!["listener", "show"], r),
        Top::Listener(ListenerCmd::Start(r)) => (vec!["listener", "start"], r),
        Top::Listener(ListenerCmd::Stop(r)) => (vec!["listener", "stop"], r),
        Top::Listener(ListenerCmd::Delete(r)) => (vec!["listener", "delete"], r),
        Top::Listener(ListenerCmd::Restart(r)) => (vec!["listener", "restart"], r),
        Top::Metrics(MetricsCmd::Show(r)) => (vec!["metrics", "show"], r),
        Top::ApiKey(ApiKeyCmd::Create(r)) => (vec!["api-key", "create"], r),
        Top::ApiKey(ApiKeyCmd::Add(r)) => (vec!["api-key", "add"], r),
        Top::ApiKey(ApiKeyCmd::Delete(r)) => (vec!["api-key", "delete"], r),
        Top::ApiKey(ApiKeyCmd::Show(r)) => (vec!["api-key", "show"], r),
        Top::Trace(TraceCmd::Client(r)) => (vec!["trace", "client"], r),
        Top::Trace(TraceCmd::StopAll(r)) => (vec!["trace", "stop_all"], r),
        Top::Webhooks(WebhooksCmd::Register(r)) => (vec!["webhooks", "register"], r),
        Top::Webhooks(WebhooksCmd::Deregister(r)) => (vec!["webhooks", "deregister"], r),
        Top::Webhooks(WebhooksCmd::Show(r)) => (vec!["webhooks", "show"], r),
        Top::Webhooks(WebhooksCmd::Cache(WebhooksCacheCmd::Show(r))) => {
            (vec!["webhooks", "cache", "show"], r)
        }
        Top::Set(r) => (vec!["set"], r),
        Top::Show(r) => (vec!["show"], r),
    }
}

/// Splits raw options into (key, value) pairs as the API expects them.
fn parse_args(raw: &[String]) -> Vec<(String, Option<String>)> {
    raw.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (a.to_string(), None),
        })
        .collect()
}

/// The node's HTTP address and the key to use.
fn target(cli: &Cli) -> Result<(String, Option<String>)> {
    let path = cli.config.clone().or_else(|| {
        let p = PathBuf::from("vernemq.conf");
        p.exists().then_some(p)
    });
    let env: HashMap<String, String> = std::env::vars().collect();
    let config = vmq_conf::Config::load(path.as_deref(), &env).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        anyhow::anyhow!("invalid configuration:\n{}", text.join("\n"))
    })?;
    let key = std::env::var("VERNEMQ_API_KEY").ok().or_else(|| {
        std::fs::read_to_string(config.data_dir.join(ADMIN_SECRET_FILE))
            .ok()
            .map(|s| s.trim().to_string())
    });
    if let Some(url) = &cli.url {
        return Ok((url.clone(), key));
    }
    // VerneMQ's default HTTP listener when the configuration names none.
    let mut addr = config
        .listeners_of(vmq_conf::ListenerKind::Http)
        .next()
        .map_or_else(
            || std::net::SocketAddr::from(([127, 0, 0, 1], 8888)),
            |l| l.addr,
        );
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    Ok((addr.to_string(), key))
}

/// A table row with its columns in the order the node sent them.
struct Row(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Row;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a table row object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Row, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Row(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(serde::Deserialize)]
struct TableAnswer {
    table: Vec<Row>,
}

/// Writes to standard output; a closed pipe (`| head`) is not an error.
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn print_human(body: &str) -> Result<()> {
    let value: Value = serde_json::from_str(body).context("the node's answer is not JSON")?;
    match value.get("type").and_then(Value::as_str) {
        Some("table") => {
            let answer: TableAnswer = serde_json::from_str(body)?;
            let columns: Vec<String> = answer
                .table
                .first()
                .map(|r| r.0.iter().map(|(k, _)| k.clone()).collect())
                .unwrap_or_default();
            let rows: Vec<Vec<Value>> = answer
                .table
                .into_iter()
                .map(|r| r.0.into_iter().map(|(_, v)| v).collect())
                .collect();
            out(&vmq_http::table::render(&columns, &rows));
        }
        Some("text") => out(&format!(
            "{}\n",
            value
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )),
        _ => out("Done\n"),
    }
    Ok(())
}

/// Takes the global options written after the command's options out of them.
fn take_globals(cli: &mut Cli, args: &mut Vec<(String, Option<String>)>) {
    let mut i = 0;
    while i < args.len() {
        let (k, v) = &args[i];
        let global = matches!(k.as_str(), "--format" | "--config" | "--url");
        if !global {
            i += 1;
            continue;
        }
        let (k, v) = (k.clone(), v.clone());
        args.remove(i);
        let value = match v {
            Some(v) => Some(v),
            None if i < args.len() && args[i].1.is_none() && !args[i].0.starts_with('-') => {
                Some(args.remove(i).0)
            }
            None => None,
        };
        match (k.as_str(), value) {
            ("--format", Some(v)) => cli.format = v,
            ("--config", Some(v)) => cli.config = Some(PathBuf::from(v)),
            ("--url", Some(v)) => cli.url = Some(v),
            _ => {}
        }
    }
}

async fn run(mut cli: Cli) -> Result<ExitCode> {
    let (path, raw) = command_of(&cli.command);
    let path: Vec<&'static str> = path;
    let mut args = parse_args(&raw.args);
    take_globals(&mut cli, &mut args);
    if args.iter().any(|(k, _)| k == "--help" || k == "-h") {
        bail!(
            "put --help before the options: vmq-admin {} --help",
            path.join(" ")
        );
    }
    let command = Command {
        path: path.iter().map(|s| s.to_string()).collect(),
        args,
    };
    let (addr, key) = target(&cli)?;
    let url = format!("http://{addr}/api/v1/{}", command.to_http());
    let client = reqwest::Client::builder()
        .build()
        .context("creating the HTTP client")?;
    let mut request = client.get(&url);
    if let Some(key) = key {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{key}:"));
        request = request.header("authorization", format!("Basic {token}"));
    }
    let mut response = request
        .send()
        .await
        .with_context(|| format!("cannot reach the node at {addr}; is it running?"))?;
    let status = response.status();
    let is_stream = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if status.is_success() && is_stream {
        use std::io::Write;
        let mut stdout = std::io::stdout();
        while let Some(chunk) = response.chunk().await? {
            stdout.write_all(&chunk)?;
            stdout.flush()?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let body = response.text().await?;
    if !status.is_success() {
        let text = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("text").and_then(Value::as_str).map(str::to_string))
            .unwrap_or(body);
        eprintln!("{text}");
        return Ok(ExitCode::FAILURE);
    }
    if cli.format == "json" {
        out(&format!("{body}\n"));
    } else {
        print_human(&body)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vmq-admin: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vmq-admin: {e:#}");
            ExitCode::FAILURE
        }
    }
}
