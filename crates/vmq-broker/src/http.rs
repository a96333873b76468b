//! Starts the HTTP listeners (`listener.http.<name>`): binds each, chooses its modules
//! (`listener.http.<name>.http_modules`, else the global `http_modules`) and which of them need
//! an API key (`http_module.<module>.auth.mode`, overridden per listener by
//! `listener.http.<name>.http_module.<module>.auth.mode`), and serves the `vmq-http` router.
//! `listener.https.<name>` needs the TLS listener work and is skipped with a warning.

use std::{net::SocketAddr, sync::Arc};

use tokio::task::JoinHandle;
use tracing::{info, warn};
use vmq_conf::{ListenerConfig, ListenerKind};
use vmq_http::{ApiKeyStore, HttpModule, HttpOptions};

use crate::{admin::HttpListenerInfo, broker::BrokerCore, Admin, BrokerError};

/// VerneMQ's type name of a listener kind (as `listener show` prints it).
pub fn kind_name(kind: ListenerKind) -> &'static str {
    match kind {
        ListenerKind::Tcp => "mqtt",
        ListenerKind::Ssl => "mqtts",
        ListenerKind::Ws => "mqttws",
        ListenerKind::Wss => "mqttwss",
        ListenerKind::Http => "http",
        ListenerKind::Https => "https",
        ListenerKind::Vmq => "vmq",
        ListenerKind::Vmqs => "vmqs",
        _ => "unknown",
    }
}

/// The `listener show` row of a listener.
pub fn listener_info(lc: &ListenerConfig, addr: SocketAddr, status: &str) -> HttpListenerInfo {
    HttpListenerInfo {
        kind: kind_name(lc.kind),
        name: format!("{}.{}", lc.kind.as_str(), lc.name),
        addr,
        status: status.to_string(),
        max_conns: lc.max_connections,
        mountpoint: lc.mountpoint.clone(),
    }
}

fn module_list(value: &str) -> Vec<HttpModule> {
    value
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .filter_map(HttpModule::from_name)
        .collect()
}

fn options(core: &BrokerCore, lc: &ListenerConfig) -> HttpOptions {
    let config = &core.config;
    let prefix = format!("listener.{}.{}", lc.kind.as_str(), lc.name);
    let per_listener = config
        .get(&format!("{prefix}.http_modules"))
        .map(|v| module_list(&v.value))
        .unwrap_or_default();
    let modules = if per_listener.is_empty() {
        config
            .get("http_modules")
            .map(|v| module_list(&v.value))
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| HttpModule::ALL.to_vec())
    } else {
        per_listener
    };
    let need_key = HttpModule::ALL
        .into_iter()
        .filter(|m| {
            let mode = config
                .get(&format!("{prefix}.http_module.{}.auth.mode", m.name()))
                .or_else(|| config.get(&format!("http_module.{}.auth.mode", m.name())))
                .map(|v| v.value.clone());
            match mode.as_deref() {
                Some("apikey") => true,
                Some("noauth") => false,
                _ => m.default_needs_key(),
            }
        })
        .collect();
    let namespace = config
        .get("prometheus_namespace")
        .map_or_else(|| "vernemq_".to_string(), |v| v.value.clone());
    HttpOptions {
        namespace,
        modules,
        need_key,
    }
}

/// The HTTP tasks, bound addresses and `listener show` rows.
pub type Started = (Vec<JoinHandle<()>>, Vec<SocketAddr>, Vec<HttpListenerInfo>);

/// Binds and serves every HTTP listener.
pub async fn start(core: &Arc<BrokerCore>, admin: &Arc<Admin>) -> Result<Started, BrokerError> {
    let config = &core.config;
    let mut tasks = Vec::new();
    let mut addrs = Vec::new();
    let mut infos = Vec::new();
    let http: Vec<&ListenerConfig> = config
        .listeners
        .iter()
        .filter(|l| matches!(l.kind, ListenerKind::Http | ListenerKind::Https))
        .collect();
    if http.is_empty() {
        return Ok((tasks, addrs, infos));
    }
    let min_length = config
        .get("min_apikey_length")
        .and_then(|v| v.value.parse().ok())
        .unwrap_or(0);
    let max_days = config
        .get("max_apikey_expiry_days")
        .and_then(|v| v.value.parse().ok());
    let keys = Arc::new(ApiKeyStore::open(&config.data_dir)?.with_limits(min_length, max_days));
    for lc in http {
        let name = format!("{}.{}", lc.kind.as_str(), lc.name);
        let tls = match (&lc.kind, &lc.tls) {
            (ListenerKind::Https, Some(opts)) => Some(Arc::new(
                crate::transport::tls::TlsSource::new(name.clone(), opts, lc.kind, &lc.options)
                    .map_err(|e| BrokerError::Unsupported(e.to_string()))?,
            )),
            (ListenerKind::Https, None) => {
                return Err(BrokerError::Unsupported(format!(
                    "{name}: an https listener needs certfile and keyfile"
                )))
            }
            _ => None,
        };
        let socket =
            crate::listener::bind_tcp(lc.addr)
                .await
                .map_err(|source| BrokerError::Bind {
                    name: name.clone(),
                    addr: lc.addr,
                    source,
                })?;
        let addr = socket.local_addr().unwrap_or(lc.addr);
        let api: Arc<dyn vmq_http::AdminApi> = admin.clone();
        let router = vmq_http::router(api, keys.clone(), options(core, lc));
        info!(listener = %name, %addr, "http listening");
        tasks.push(tokio::spawn(async move {
            let served = match tls {
                Some(tls) => vmq_http::serve_on(TlsListener::start(socket, tls), router).await,
                None => vmq_http::serve(socket, router).await,
            };
            if let Err(e) = served {
                warn!(listener = %name, error = %e, "http listener stopped");
            }
        }));
        addrs.push(addr);
        infos.push(listener_info(lc, addr, "running"));
    }
    Ok((tasks, addrs, infos))
}

/// An HTTPS listener for axum: connections are accepted and their TLS handshakes run in tasks
/// of their own (a slow client cannot hold up the others); finished ones are handed over.
struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    local: SocketAddr,
    _accept: crate::transport::AbortOnDrop,
}

/// How long an HTTPS client may take for its TLS handshake.
const HTTPS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl TlsListener {
    fn start(socket: tokio::net::TcpListener, tls: Arc<crate::transport::tls::TlsSource>) -> Self {
        let local = socket
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = socket.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                };
                let (tls, tx) = (tls.clone(), tx.clone());
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HTTPS_HANDSHAKE_TIMEOUT, tls.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        let _ = tx.send((stream, peer)).await;
                    }
                });
            }
        });
        TlsListener {
            ready,
            local,
            _accept: crate::transport::AbortOnDrop(accept),
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept task only ends with the listener; wait forever like a closed socket.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
