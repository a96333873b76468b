//! MQTT listeners: binds the sockets of `listener.{tcp,ssl,ws,wss,quic}.<name>` entries, accepts
//! connections up to the listener's `max_connections` (refusing and counting the rest), and
//! hands each to its [`Transport`], which ends in the connection driver. Also the runtime
//! management VerneMQ's `vmq-admin listener` offers: start, stop (optionally killing the
//! listener's sessions), restart, delete and show, as methods on [`BrokerCore`].
//!
//! One accept task per listener: the TLS handshake and WebSocket upgrade run in each
//! connection's own task, so an acceptor never waits on a client, and `nr_of_acceptors` (kept
//! in the configuration) has nothing left to tune.

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use parking_lot::Mutex;
use tokio::{
    net::TcpListener,
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinHandle,
};
use tracing::{info, warn};
use vmq_codec::ReasonCode;
use vmq_conf::{ListenerConfig, ListenerKind};

use crate::{
    broker::BrokerCore,
    connection::{ConnTracker, ListenerContext},
    metrics::Counter,
    subscriber::Control,
    transport::{Transport, TransportError},
    BrokerError,
};

/// A bound TCP listener (plain MQTT), ready to accept: the simple embedding of one listener
/// without the registry.
#[derive(Debug)]
pub struct MqttListener {
    /// The listener's context (name, mountpoint, session settings).
    pub context: Arc<ListenerContext>,
    /// The bound socket.
    pub socket: TcpListener,
    /// `None`: no limit.
    pub max_connections: Option<u32>,
}

impl MqttListener {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Accepts connections until the task is dropped.
    pub async fn run(self, core: Arc<BrokerCore>) {
        let shared = Arc::new(Shared {
            context: self.context,
            transport: Transport::plain(),
            tracker: Arc::new(ConnTracker::default()),
            limit: self
                .max_connections
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            refused: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        accept_tcp(self.socket, core, shared).await;
    }
}

/// What the accept task and the connections of one listener share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) context: Arc<ListenerContext>,
    pub(crate) transport: Transport,
    pub(crate) tracker: Arc<ConnTracker>,
    limit: Option<Arc<Semaphore>>,
    refused: AtomicU64,
    pub(crate) accepted: AtomicU64,
}

impl Shared {
    /// A connection slot under `max_connections`; `Err` (counted) when the listener is full.
    pub(crate) fn try_admit(&self, core: &BrokerCore) -> Result<Option<OwnedSemaphorePermit>, ()> {
        match &self.limit {
            None => Ok(None),
            Some(sem) => match sem.clone().try_acquire_owned() {
                Ok(permit) => Ok(Some(permit)),
                Err(_) => {
                    core.metrics.incr(Counter::ListenerMaxConnectionsRefused);
                    self.refused.fetch_add(1, Ordering::Relaxed);
                    warn!(listener = %self.context.name, "max_connections reached, connection refused");
                    Err(())
                }
            },
        }
    }
}

async fn accept_tcp(socket: TcpListener, core: Arc<BrokerCore>, shared: Arc<Shared>) {
    info!(listener = %shared.context.name, addr = ?socket.local_addr().ok(), "listening");
    loop {
        let (stream, peer) = match socket.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                warn!(listener = %shared.context.name, error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = shared.try_admit(&core) else {
            drop(stream);
            continue;
        };
        shared.accepted.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let core = core.clone();
        let tracker = Some(shared.tracker.clone());
        // Each kind of transport spawns its own task type, sized for what it needs: a plain
        // TCP connection's task is the connection's driver itself, not the states of PROXY,
        // TLS and WebSocket handshakes (a task is as large as its largest state, and idle
        // connections pay for it).
        if shared.transport.is_plain() {
            let info = crate::connection::ConnectionInfo {
                tracker,
                admission: permit,
                ..crate::connection::ConnectionInfo::new(peer)
            };
            tokio::spawn(crate::connection::run_connection_with(
                core,
                shared.context.clone(),
                stream,
                info,
            ));
        } else {
            let shared = shared.clone();
            tokio::spawn(Box::pin(async move {
                shared
                    .transport
                    .serve(core, shared.context.clone(), stream, peer, tracker)
                    .await;
                drop(permit);
            }));
        }
    }
}

pub(crate) async fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Whether a listener accepts connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerStatus {
    /// Accepting.
    Running,
    /// Stopped (`vmq-admin listener stop`): not accepting; open connections go on unless
    /// they were killed.
    Stopped,
}

impl ListenerStatus {
    /// VerneMQ's word for it (`running` / `stopped`).
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerStatus::Running => "running",
            ListenerStatus::Stopped => "stopped",
        }
    }
}

/// One listener as `vmq-admin listener show` presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerInfo {
    /// Its kind (`tcp`, `ssl`, `ws`, `wss`, `quic`).
    pub kind: ListenerKind,
    /// Its name (`default` in `listener.tcp.default`).
    pub name: String,
    /// Running or stopped.
    pub status: ListenerStatus,
    /// The address bound (the actual port when the configuration said 0).
    pub addr: SocketAddr,
    /// Its mountpoint ("" for none).
    pub mountpoint: String,
    /// `max_connections` (`None` = infinity).
    pub max_connections: Option<u32>,
    /// Connections open now.
    pub active_connections: usize,
    /// Connections accepted since it was created.
    pub accepted_connections: u64,
    /// Connections refused because `max_connections` was reached.
    pub refused_connections: u64,
    /// The MQTT protocol levels it accepts.
    pub allowed_protocol_versions: Vec<u8>,
    /// Whether it expects a PROXY protocol header.
    pub proxy_protocol: bool,
}

impl ListenerInfo {
    /// VerneMQ's type column: `mqtt`, `mqtts`, `mqttws`, `mqttwss`, plus `mqttquic`.
    pub fn vmq_type(&self) -> &'static str {
        match self.kind {
            ListenerKind::Tcp => "mqtt",
            ListenerKind::Ssl => "mqtts",
            ListenerKind::Ws => "mqttws",
            ListenerKind::Wss => "mqttwss",
            ListenerKind::Quic => "mqttquic",
            ListenerKind::Http => "http",
            ListenerKind::Https => "https",
            ListenerKind::Vmq => "vmq",
            ListenerKind::Vmqs => "vmqs",
            _ => "unknown",
        }
    }
}

/// One registered listener.
#[derive(Debug)]
struct Entry {
    config: ListenerConfig,
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
    #[cfg(feature = "quic")]
    quic: Option<quinn::Endpoint>,
}

impl Entry {
    fn info(&self) -> ListenerInfo {
        let running = self.task.lock().as_ref().is_some_and(|t| !t.is_finished());
        ListenerInfo {
            kind: self.config.kind,
            name: self.config.name.clone(),
            status: if running {
                ListenerStatus::Running
            } else {
                ListenerStatus::Stopped
            },
            addr: self.addr,
            mountpoint: self.config.mountpoint.clone(),
            max_connections: self.config.max_connections,
            active_connections: self.shared.tracker.len(),
            accepted_connections: self.shared.accepted.load(Ordering::Relaxed),
            refused_connections: self.shared.refused.load(Ordering::Relaxed),
            allowed_protocol_versions: self.config.allowed_protocol_versions.clone(),
            proxy_protocol: self.config.proxy_protocol,
        }
    }

    fn matches(&self, addr: SocketAddr) -> bool {
        self.addr == addr || self.config.addr == addr
    }
}

/// The listeners of a node (part of [`BrokerCore`]).
#[derive(Debug, Default)]
pub struct Listeners {
    entries: Mutex<Vec<Arc<Entry>>>,
}

impl Listeners {
    fn find(&self, addr: SocketAddr) -> Option<Arc<Entry>> {
        self.entries
            .lock()
            .iter()
            .find(|e| e.matches(addr))
            .cloned()
    }
}

impl Transport {
    /// Plain TCP: no PROXY header, TLS or WebSocket.
    pub fn plain() -> Transport {
        Transport {
            proxy_protocol: false,
            proxy_use_cn: false,
            tls: None,
            tls_use_cn: false,
            ws: None,
            handshake_timeout: crate::transport::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

impl BrokerCore {
    /// Starts a listener (`vmq-admin listener start`) and returns how it looks. Its address
    /// may have port 0 (the bound port is in the result). A stopped listener on the same
    /// address is replaced; a running one is an error.
    pub async fn start_listener(
        self: &Arc<Self>,
        lc: ListenerConfig,
    ) -> Result<ListenerInfo, BrokerError> {
        if !lc.kind.is_mqtt() {
            return Err(BrokerError::Unsupported(format!(
                "listener.{}.{}: only MQTT listeners (tcp, ssl, ws, wss, quic) are served here",
                lc.kind.as_str(),
                lc.name
            )));
        }
        if lc.addr.port() != 0 {
            if let Some(old) = self.listeners.find(lc.addr) {
                if old.info().status == ListenerStatus::Running {
                    return Err(BrokerError::ListenerExists(lc.addr));
                }
                self.listeners
                    .entries
                    .lock()
                    .retain(|e| !Arc::ptr_eq(e, &old));
            }
        }
        let name = format!("{}.{}", lc.kind.as_str(), lc.name);
        let transport = Transport::for_listener(&lc, self.config.max_ws_frame_size)?;
        let context = Arc::new(crate::listener_context(&self.config, &lc, name.clone()));
        let shared = Arc::new(Shared {
            context,
            transport,
            tracker: Arc::new(ConnTracker::default()),
            limit: lc
                .max_connections
                .map(|n| Arc::new(Semaphore::new(n as usize))),
            refused: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        let entry = if lc.kind == ListenerKind::Quic {
            self.start_quic(lc, name, shared)?
        } else {
            let socket = bind_tcp(lc.addr)
                .await
                .map_err(|source| BrokerError::Bind {
                    name,
                    addr: lc.addr,
                    source,
                })?;
            let addr = socket.local_addr().unwrap_or(lc.addr);
            let task = tokio::spawn(accept_tcp(socket, self.clone(), shared.clone()));
            Entry {
                config: lc,
                addr,
                shared,
                task: Mutex::new(Some(task)),
                #[cfg(feature = "quic")]
                quic: None,
            }
        };
        let entry = Arc::new(entry);
        let info = entry.info();
        self.listeners.entries.lock().push(entry);
        Ok(info)
    }

    #[cfg(feature = "quic")]
    fn start_quic(
        self: &Arc<Self>,
        lc: ListenerConfig,
        name: String,
        shared: Arc<Shared>,
    ) -> Result<Entry, BrokerError> {
        use crate::transport::quic;
        let tls = shared.transport.tls.as_ref().ok_or_else(|| {
            BrokerError::Unsupported(format!("listener.{name}: QUIC needs TLS settings"))
        })?;
        let config = quic::server_config(tls, &name)?;
        let endpoint = quic::bind(lc.addr, config).map_err(|source| BrokerError::Bind {
            name,
            addr: lc.addr,
            source,
        })?;
        let addr = endpoint.local_addr().unwrap_or(lc.addr);
        let task = tokio::spawn(quic::run(endpoint.clone(), self.clone(), shared.clone()));
        Ok(Entry {
            config: lc,
            addr,
            shared,
            task: Mutex::new(Some(task)),
            quic: Some(endpoint),
        })
    }

    #[cfg(not(feature = "quic"))]
    fn start_quic(
        self: &Arc<Self>,
        lc: ListenerConfig,
        _name: String,
        _shared: Arc<Shared>,
    ) -> Result<Entry, BrokerError> {
        Err(BrokerError::Unsupported(format!(
            "listener.quic.{}: this build has no QUIC support (cargo feature `quic`)",
            lc.name
        )))
    }

    /// Every listener of the node, in the order they were started.
    pub fn listeners(&self) -> Vec<ListenerInfo> {
        self.listeners
            .entries
            .lock()
            .iter()
            .map(|e| e.info())
            .collect()
    }

    /// The listener bound to `addr` (or configured with it).
    pub fn listener(&self, addr: SocketAddr) -> Option<ListenerInfo> {
        self.listeners.find(addr).map(|e| e.info())
    }

    /// Stops accepting on the listener at `addr` (`vmq-admin listener stop`); its socket is
    /// closed. With `kill_sessions` every connection it accepted is disconnected (MQTT 5:
    /// Administrative action) and this returns once they have detached.
    pub async fn stop_listener(
        &self,
        addr: SocketAddr,
        kill_sessions: bool,
    ) -> Result<ListenerInfo, BrokerError> {
        let entry = self
            .listeners
            .find(addr)
            .ok_or(BrokerError::NoSuchListener(addr))?;
        if let Some(task) = entry.task.lock().take() {
            task.abort();
        }
        #[cfg(feature = "quic")]
        if let Some(endpoint) = &entry.quic {
            endpoint.set_server_config(None);
        }
        info!(listener = %entry.shared.context.name, "listener stopped");
        if kill_sessions {
            kill(&entry.shared.tracker).await;
        }
        Ok(entry.info())
    }

    /// Starts accepting again on a stopped listener (`vmq-admin listener restart`), on the
    /// address it had.
    pub async fn restart_listener(
        self: &Arc<Self>,
        addr: SocketAddr,
    ) -> Result<ListenerInfo, BrokerError> {
        let entry = self
            .listeners
            .find(addr)
            .ok_or(BrokerError::NoSuchListener(addr))?;
        if entry.info().status == ListenerStatus::Running {
            return Ok(entry.info());
        }
        #[cfg(feature = "quic")]
        if let Some(endpoint) = &entry.quic {
            if let Some(tls) = &entry.shared.transport.tls {
                let config =
                    crate::transport::quic::server_config(tls, &entry.shared.context.name)?;
                endpoint.set_server_config(Some(config));
            }
            let task = tokio::spawn(crate::transport::quic::run(
                endpoint.clone(),
                self.clone(),
                entry.shared.clone(),
            ));
            *entry.task.lock() = Some(task);
            return Ok(entry.info());
        }
        let socket = bind_tcp(entry.addr)
            .await
            .map_err(|source| BrokerError::Bind {
                name: entry.shared.context.name.clone(),
                addr: entry.addr,
                source,
            })?;
        let task = tokio::spawn(accept_tcp(socket, self.clone(), entry.shared.clone()));
        *entry.task.lock() = Some(task);
        info!(listener = %entry.shared.context.name, "listener restarted");
        Ok(entry.info())
    }

    /// Removes a stopped listener (`vmq-admin listener delete`).
    pub fn delete_listener(&self, addr: SocketAddr) -> Result<(), BrokerError> {
        let entry = self
            .listeners
            .find(addr)
            .ok_or(BrokerError::NoSuchListener(addr))?;
        if entry.info().status == ListenerStatus::Running {
            return Err(BrokerError::ListenerRunning(addr));
        }
        self.listeners
            .entries
            .lock()
            .retain(|e| !Arc::ptr_eq(e, &entry));
        Ok(())
    }

    /// Re-reads the certificate, key, CA and CRL files of every TLS listener now (VerneMQ's
    /// `vmq-admin tls clear-pem-cache`; they are also picked up on their own when they change).
    pub fn reload_tls(&self) -> Result<(), TransportError> {
        let entries: Vec<Arc<Entry>> = self.listeners.entries.lock().clone();
        for entry in entries {
            if let Some(tls) = &entry.shared.transport.tls {
                tls.reload()?;
            }
        }
        Ok(())
    }

    /// Stops every listener (shutdown).
    pub(crate) fn stop_all_listeners(&self) {
        for entry in self.listeners.entries.lock().iter() {
            if let Some(task) = entry.task.lock().take() {
                task.abort();
            }
            #[cfg(feature = "quic")]
            if let Some(endpoint) = &entry.quic {
                endpoint.set_server_config(None);
            }
        }
    }
}

/// Disconnects every connection in `tracker` and waits (bounded) for them to detach.
async fn kill(tracker: &ConnTracker) {
    let mut waits = Vec::new();
    for handle in tracker.handles() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if handle
            .send(Control::Disconnect(ReasonCode::AdministrativeAction, tx))
            .is_ok()
        {
            waits.push(rx);
        }
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    for rx in waits {
        let _ = tokio::time::timeout_at(deadline, rx).await;
    }
    // The tasks leave the table right after they acknowledge.
    while !tracker.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
