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

mod broker;
mod builtin_plugins;
mod connection;
mod hooks;
mod listener;
mod metrics;
mod persistence;
mod subscriber;
mod systree;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::task::JoinHandle;
use tracing::{info, warn};
use vmq_codec::ReasonCode;
use vmq_conf::{Config, ListenerKind};
use vmq_session::SessionConfig;

pub use broker::{BrokerCore, MatchBuffer, PublishOutcome, Registered, SessionPersistence};
pub use builtin_plugins::{enabled_builtins, VmqAcl, VmqPasswd};
pub use connection::{run_connection, ListenerContext};
pub use hooks::{
    Answer, AuthModifiers, AuthRequest, AuthStep, Chain, DeliverModifiers, HookFuture, HookName,
    HookResult, Hooks, OfflineMessage, Plugin, PluginInfo, PropertyModifiers, PublishModifiers,
    PublishRequest, RegisterEvent, RegisterModifiers, RegisterRequest, SubscribeRequest,
    SubscribeTopic, UnsubscribeRequest,
};
pub use listener::MqttListener;
pub use metrics::{Counter, Metrics};
pub use persistence::{Durable, Persistence, Storage};
pub use subscriber::{
    ConnHandle, ConnId, Control, QueuedDelivery, SubOptions, Subscriber, SubscriberId,
    SubscriberRef,
};

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
    /// No plugin of this name is registered (`vmq-admin plugin enable|disable`).
    #[error("no plugin named {0} is registered")]
    UnknownPlugin(String),
    /// The message store could not be opened or read (the message names the path). Move the
    /// directory aside (or repair a copy with `vmq_store::Store::repair`) to start over.
    #[error("message store: {0}")]
    Store(String),
}

/// Builds a broker: configuration, plugins, then [`BrokerBuilder::start`].
#[derive(Debug)]
pub struct BrokerBuilder {
    config: Config,
    hooks: Hooks,
    storage: Storage,
}

impl BrokerBuilder {
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

    /// Binds every configured MQTT listener and starts serving.
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
        core.restore()
            .map_err(|e| BrokerError::Store(e.to_string()))?;
        let mut tasks = Vec::new();
        let mut addrs = Vec::new();
        for lc in &core.config.listeners {
            match lc.kind {
                ListenerKind::Tcp => {}
                ListenerKind::Vmq | ListenerKind::Vmqs => {
                    // Cluster listeners belong to the clustering work; a single node ignores them.
                    info!(listener = %lc.name, "cluster listener ignored on a single node");
                    continue;
                }
                other => {
                    warn!(
                        listener = %format!("{}.{}", other.as_str(), lc.name),
                        "listener kind not served by this build yet; skipped"
                    );
                    continue;
                }
            }
            let name = format!("{}.{}", lc.kind.as_str(), lc.name);
            let socket = bind(lc.addr).await.map_err(|source| BrokerError::Bind {
                name: name.clone(),
                addr: lc.addr,
                source,
            })?;
            let context = Arc::new(listener_context(&core.config, lc, name));
            let listener = MqttListener {
                context,
                socket,
                max_connections: lc.max_connections,
            };
            if let Ok(addr) = listener.local_addr() {
                addrs.push(addr);
            }
            tasks.push(tokio::spawn(listener.run(core.clone())));
        }
        if core.config.systree_enabled && !core.config.systree_interval.is_zero() {
            tasks.push(tokio::spawn(systree::run(core.clone())));
        }
        Ok(Broker { core, tasks, addrs })
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

async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
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
        }
    }

    /// The addresses the MQTT listeners are bound to, in configuration order.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The shared broker state (metrics, registry, router), for embedding and tests.
    pub fn core(&self) -> &Arc<BrokerCore> {
        &self.core
    }

    /// Stops accepting, disconnects every client (MQTT 5: Server shutting down) and waits for
    /// them to detach.
    pub async fn shutdown(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.core
            .disconnect_all(ReasonCode::ServerShuttingDown)
            .await;
    }
}
