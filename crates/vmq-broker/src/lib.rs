//! `vmq-broker`: the VerneMQ-compatible MQTT broker assembled from the workspace's sans-I/O
//! crates, and the API to embed it in a Rust service.
//!
//! It owns the wiring: listeners and their limits, one connection driver task per client
//! (bytes ⇄ [`vmq_session::Session`]), the subscriber registry (takeover, persistent sessions
//! and their expiry), routing through [`vmq_router`] into [`vmq_queue`] queues, retained
//! messages, wills, hooks for plugins, metrics under VerneMQ's names and the `$SYS` tree.
//! Protocol rules are not here: they live in `vmq-session` and `vmq-codec`.
//!
//! ```no_run
//! # async fn run() -> Result<(), vmq_broker::BrokerError> {
//! let mut config = vmq_conf::Config::default();
//! config.allow_anonymous = true;
//! let broker = vmq_broker::Broker::builder(config).start().await?;
//! println!("listening on {:?}", broker.local_addrs());
//! broker.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod broker;
mod builtin_plugins;
mod connection;
mod graphite;
mod hooks;
mod http;
mod listener;
pub mod logging;
mod metrics;
mod metrics_export;
mod persistence;
mod runtime;
mod subscriber;
mod systree;
mod trace;
pub mod transport;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::task::JoinHandle;
use tracing::{info, warn};
use vmq_codec::ReasonCode;
use vmq_conf::{Config, ListenerKind};
use vmq_session::SessionConfig;

pub use admin::{Admin, HttpListenerInfo};
pub use broker::{BrokerCore, MatchBuffer, PublishOutcome, Registered, SessionPersistence};
pub use builtin_plugins::{enabled_builtins, VmqAcl, VmqPasswd};
pub use connection::{
    run_connection, run_connection_with, ConnTracker, ConnectionInfo, ListenerContext,
};
pub use hooks::{
    Answer, AuthModifiers, AuthRequest, AuthStep, Chain, DeliverModifiers, HookFuture, HookName,
    HookResult, Hooks, OfflineMessage, Plugin, PluginInfo, PropertyModifiers, PublishModifiers,
    PublishRequest, RegisterEvent, RegisterModifiers, RegisterRequest, SubscribeRequest,
    SubscribeTopic, UnsubscribeRequest,
};
pub use listener::{ListenerInfo, ListenerStatus, Listeners, MqttListener};
pub use metrics::{Counter, Gauge, Histogram, Metrics, MqttVersion};
pub use metrics_export::{families as metric_families, totals as metric_totals};
pub use persistence::{Durable, Persistence, Storage};
pub use runtime::{LogLevelSetter, RuntimeSettings, RUNTIME_KEYS};
pub use subscriber::{
    conn_channel, ConnHandle, ConnId, ConnInbox, Control, QueuedDelivery, SessionInfo, Signal,
    SubOptions, Subscriber, SubscriberId, SubscriberRef,
};
pub use systree::topic as systree_topic;
pub use trace::{TraceOptions, Tracer};
pub use transport::TransportError;

/// Errors of starting or running the broker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// A listener could not bind its address (in use, no permission, ...).
    #[error("listener {name} could not bind {addr}: {source}")]
    Bind {
        /// `<kind>.<name>`.
        name: String,
        /// The configured address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration asks for something this build cannot do.
    #[error("unsupported configuration: {0}")]
    Unsupported(String),
    /// The HTTP listener could not be set up (API key store under `data_dir`).
    #[error("http listener: {0}")]
    Http(#[from] vmq_http::Error),
    /// No plugin of this name is registered (`vmq-admin plugin enable|disable`).
    #[error("no plugin named {0} is registered")]
    UnknownPlugin(String),
    /// A listener's transport (TLS files and settings, ...) could not be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No listener has this address (listener management).
    #[error("no listener on {0}")]
    NoSuchListener(SocketAddr),
    /// A running listener already has this address (listener management).
    #[error("a listener is already running on {0}")]
    ListenerExists(SocketAddr),
    /// The listener must be stopped first (listener management).
    #[error("the listener on {0} is running; stop it first")]
    ListenerRunning(SocketAddr),
    /// The message store could not be opened or read (the message names the path). Move the
    /// directory aside (or repair a copy with `vmq_store::Store::repair`) to start over.
    #[error("message store: {0}")]
    Store(String),
}

/// Builds a broker: configuration, plugins, then [`BrokerBuilder::start`].
pub struct BrokerBuilder {
    config: Config,
    hooks: Hooks,
    storage: Storage,
    log_level: Option<LogLevelSetter>,
    admin_extensions: Vec<Arc<dyn vmq_http::AdminCommands>>,
}

impl std::fmt::Debug for LogLevelSetterDebug<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

struct LogLevelSetterDebug<'a>(&'a Option<LogLevelSetter>);

impl std::fmt::Debug for BrokerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerBuilder")
            .field("hooks", &self.hooks)
            .field("storage", &self.storage)
            .field("log_level", &LogLevelSetterDebug(&self.log_level))
            .finish_non_exhaustive()
    }
}

impl BrokerBuilder {
    /// Adds admin commands of a plugin (e.g. `vmq-admin webhooks ...`), answered through
    /// `/api/v1` and `vmq-admin` for command paths the node does not know itself.
    pub fn admin_commands(self, commands: Arc<dyn vmq_http::AdminCommands>) -> Self {
        let mut this = self;
        this.admin_extensions.push(commands);
        this
    }

    /// Lets `vmq-admin set log.console.level=...` change the log level through `setter`
    /// (see [`logging::init`]).
    pub fn log_level_setter(mut self, setter: LogLevelSetter) -> Self {
        self.log_level = Some(setter);
        self
    }

    /// Where state is kept: [`Storage::Memory`] (the default when embedding) or
    /// [`Storage::Disk`] (persistent sessions, their queues and subscriptions, and retained
    /// messages survive a restart; the `vernemq` binary uses the configured data directory).
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = storage;
        self
    }

    /// Registers a plugin (asked after those registered before it).
    pub fn plugin(self, plugin: Arc<dyn Plugin>) -> Self {
        self.hooks.add(plugin);
        self
    }

    /// Binds every configured MQTT listener (`tcp`, `ssl`, `ws`, `wss`, and `quic` with the
    /// `quic` feature) and starts serving. A listener that cannot be set up (an address in
    /// use, a missing certificate file, ...) stops the start with an error naming it.
    pub async fn start(self) -> Result<Broker, BrokerError> {
        let store = match &self.storage {
            Storage::Memory => None,
            Storage::Disk(dir) => {
                let options = store_options(&self.config);
                Some(
                    Persistence::open(dir, &options)
                        .map_err(|e| BrokerError::Store(e.to_string()))?,
                )
            }
        };
        let core = BrokerCore::new(Arc::new(self.config), self.hooks, store);
        core.admin_commands
            .write()
            .extend(self.admin_extensions.iter().cloned());
        core.restore()
            .map_err(|e| BrokerError::Store(e.to_string()))?;
        if let Some(setter) = self.log_level {
            core.settings.set_log_level_setter(setter);
        }
        let admin = Arc::new(Admin::new(core.clone()));
        let mut tasks = Vec::new();
        let mut addrs = Vec::new();
        for lc in &core.config.listeners {
            if !lc.kind.is_mqtt() {
                // Cluster listeners belong to the clustering work, HTTP ones to vmq-http.
                info!(
                    listener = %format!("{}.{}", lc.kind.as_str(), lc.name),
                    "not an MQTT listener; not served by the broker"
                );
                continue;
            }
            if lc.local_path.is_some() {
                warn!(listener = %lc.name, "unix domain socket listeners are not served yet; skipped");
                continue;
            }
            match core.start_listener(lc.clone()).await {
                Ok(info) => addrs.push(info.addr),
                Err(e) => {
                    core.stop_all_listeners();
                    return Err(e);
                }
            }
        }
        // The HTTP listeners come last, so that /health is green only once MQTT is served.
        let (http_tasks, http_addrs, http_infos) = http::start(&core, &admin).await?;
        admin.set_listeners(http_infos);
        tasks.push(tokio::spawn(systree::run(core.clone())));
        tasks.push(tokio::spawn(graphite::run(core.clone())));
        Ok(Broker {
            core,
            tasks,
            addrs,
            admin,
            http_tasks,
            http_addrs,
        })
    }
}

/// sled's cache size from VerneMQ's `leveldb.maximum_memory` (bytes) or
/// `leveldb.maximum_memory.percent` (of the machine's memory, from /proc/meminfo).
fn store_options(config: &Config) -> vmq_store::StoreOptions {
    let number = |key: &str| {
        config
            .get(key)
            .and_then(|v| v.value.trim().parse::<u64>().ok())
    };
    let total_ram = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
                .map(|kib| kib * 1024)
        });
    vmq_store::StoreOptions {
        cache_capacity: vmq_store::cache_capacity_from_vernemq(
            number("leveldb.maximum_memory"),
            number("leveldb.maximum_memory.percent"),
            total_ram,
        ),
        ..vmq_store::StoreOptions::default()
    }
}

/// The session settings and limits of one listener, from the global keys and its overrides.
pub fn listener_context(
    config: &Config,
    lc: &vmq_conf::ListenerConfig,
    name: String,
) -> ListenerContext {
    let session = SessionConfig {
        allowed_protocol_versions: lc.allowed_protocol_versions.clone(),
        max_client_id_size: config.max_client_id_size,
        max_inflight_messages: config.max_inflight_messages,
        retry_interval: config.retry_interval,
        max_message_rate: config.max_message_rate,
        upgrade_outgoing_qos: config.upgrade_outgoing_qos,
        topic_alias_max_client: config.topic_alias_max_client,
        topic_alias_max_broker: config.topic_alias_max_broker,
        receive_max_client: config.receive_max_client,
        receive_max_broker: config.receive_max_broker,
        max_packet_size: config.max_message_size,
        connect_timeout: config.mqtt_connect_timeout,
        max_last_will_delay: config.max_last_will_delay.unwrap_or(Duration::MAX),
    };
    ListenerContext {
        name,
        mountpoint: Arc::from(lc.mountpoint.trim_end_matches('/')),
        session: Arc::new(session),
        allow_anonymous: config.allow_anonymous || lc.allow_anonymous_override,
        max_packet_size: config.max_message_size,
    }
}

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    core: Arc<BrokerCore>,
    tasks: Vec<JoinHandle<()>>,
    addrs: Vec<SocketAddr>,
    admin: Arc<Admin>,
    http_tasks: Vec<JoinHandle<()>>,
    http_addrs: Vec<SocketAddr>,
}

impl Broker {
    /// Starts building a broker from a configuration.
    ///
    /// The built-ins enabled by `plugins.vmq_passwd` / `plugins.vmq_acl` come first.
    pub fn builder(config: Config) -> BrokerBuilder {
        let hooks = Hooks::default();
        enabled_builtins(&config)
            .into_iter()
            .for_each(|p| hooks.add(p));
        BrokerBuilder {
            config,
            hooks,
            storage: Storage::Memory,
            log_level: None,
            admin_extensions: Vec::new(),
        }
    }

    /// The addresses the MQTT listeners are bound to, in configuration order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The addresses the HTTP listeners are bound to, in configuration order.
    pub fn http_addrs(&self) -> &[SocketAddr] {
        &self.http_addrs
    }

    /// The admin API (what `/api/v1` runs), for embedding and tests.
    pub fn admin(&self) -> &Arc<Admin> {
        &self.admin
    }

    /// The address of the listener `listener.<kind>.<name>`, if it is running or stopped.
    pub fn listener_addr(&self, kind: ListenerKind, name: &str) -> Option<SocketAddr> {
        self.core
            .listeners()
            .into_iter()
            .find(|l| l.kind == kind && l.name == name)
            .map(|l| l.addr)
    }

    /// The shared broker state (metrics, registry, router), for embedding and tests.
    pub fn core(&self) -> &Arc<BrokerCore> {
        &self.core
    }

    /// Stops accepting, disconnects every client (MQTT 5: Server shutting down), waits for
    /// them to detach, and closes the on-disk store after writing what they left: a broker
    /// started next in the same process can open the same data directory at once.
    pub async fn shutdown(self) {
        self.admin.set_accepting(false);
        for task in &self.tasks {
            task.abort();
        }
        self.core.stop_all_listeners();
        self.core
            .disconnect_all(ReasonCode::ServerShuttingDown)
            .await;
        self.core.tracer.stop_all();
        for task in &self.http_tasks {
            task.abort();
        }
        self.core.close_store().await;
    }
}
