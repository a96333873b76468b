//! Transports: what happens to an accepted socket before the connection driver sees MQTT bytes.
//! A listener's [`Transport`] is a fixed stack built once from its configuration: an optional
//! PROXY protocol header ([`proxy`]), optional TLS ([`tls`]), optional WebSocket framing
//! ([`ws`]). Each layer only establishes facts (the client's address, a pre-authenticated user
//! name) and hands a byte stream on; every stack ends in
//! [`run_connection_with`](crate::connection::run_connection_with). QUIC ([`quic`], behind the
//! `quic` feature) accepts on its own UDP endpoint and feeds the same driver.

pub mod proxy;
#[cfg(feature = "quic")]
pub mod quic;
pub mod tls;
pub mod ws;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use tokio::io::{AsyncRead, AsyncWrite};
use tracing::debug;
use vmq_codec::Utf8Str;
use vmq_conf::{ListenerConfig, ListenerKind};

use crate::{
    broker::BrokerCore,
    connection::{run_connection_with, ConnTracker, ConnectionInfo, ListenerContext},
    metrics::Counter,
};

/// Errors of setting up a listener's transport. Each names the listener and, where a setting is
/// at fault, the `vernemq.conf` key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A required setting is missing (the operator's configuration is at fault).
    #[error("listener.{listener}: {key} is not set, but this listener needs it ({why})")]
    Missing {
        /// `<kind>.<name>`.
        listener: String,
        /// The key suffix (`certfile`, `keyfile`, `cafile`).
        key: &'static str,
        /// Why it is needed.
        why: &'static str,
    },
    /// A file named by a setting could not be read.
    #[error("listener.{listener}.{key} = {}: {source}", path.display())]
    Read {
        /// `<kind>.<name>`.
        listener: String,
        /// The key suffix.
        key: &'static str,
        /// The configured path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file was read but its content is unusable (no PEM certificate, a bad key, ...).
    #[error("listener.{listener}.{key} = {}: {reason}", path.display())]
    Content {
        /// `<kind>.<name>`.
        listener: String,
        /// The key suffix.
        key: &'static str,
        /// The configured path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A setting asks for something this implementation does not support (TLS-PSK, TLS 1.0 /
    /// 1.1, a cipher suite rustls does not implement, ...).
    #[error("listener.{listener}.{key} = {value}: not supported: {reason}")]
    Unsupported {
        /// `<kind>.<name>`.
        listener: String,
        /// The key suffix.
        key: &'static str,
        /// The configured value.
        value: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// The TLS library refused the resulting configuration.
    #[error("listener.{listener}: TLS configuration refused: {reason}")]
    Tls {
        /// `<kind>.<name>`.
        listener: String,
        /// The library's message.
        reason: String,
    },
}

/// The layers one listener puts in front of the connection driver.
#[derive(Debug)]
pub struct Transport {
    /// Read a PROXY protocol (v1 or v2) header first.
    pub proxy_protocol: bool,
    /// Use the client certificate CN forwarded in a PROXY v2 header as user name.
    pub proxy_use_cn: bool,
    /// Terminate TLS.
    pub tls: Option<Arc<tls::TlsSource>>,
    /// Use the client certificate CN as user name (`use_identity_as_username`).
    pub tls_use_cn: bool,
    /// Speak WebSocket (path `/mqtt`).
    pub ws: Option<ws::WsSettings>,
    /// How long the PROXY header, the TLS handshake and the WebSocket upgrade may take.
    pub handshake_timeout: Duration,
}

/// How long a transport handshake may take when the configuration does not say.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

impl Transport {
    /// The stack for `lc` (its kind decides TLS and WebSocket; its options the rest).
    /// `max_ws_frame_size` is the global `max_ws_frame_size` (`None` = infinity).
    pub fn for_listener(
        lc: &ListenerConfig,
        max_ws_frame_size: Option<u64>,
    ) -> Result<Transport, TransportError> {
        let listener = format!("{}.{}", lc.kind.as_str(), lc.name);
        let tls = match (&lc.tls, lc.kind) {
            (Some(opts), ListenerKind::Ssl | ListenerKind::Wss | ListenerKind::Quic) => {
                Some(Arc::new(tls::TlsSource::new(
                    listener.clone(),
                    opts,
                    lc.kind,
                    &lc.options,
                )?))
            }
            _ => None,
        };
        let ws = matches!(lc.kind, ListenerKind::Ws | ListenerKind::Wss).then(|| ws::WsSettings {
            max_frame_size: max_ws_frame_size.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        });
        let handshake_timeout = lc
            .tls
            .as_ref()
            .and_then(|t| t.handshake_timeout)
            .unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT);
        Ok(Transport {
            proxy_protocol: lc.proxy_protocol,
            proxy_use_cn: lc.proxy_protocol_use_cn_as_username,
            tls_use_cn: lc.tls.as_ref().is_some_and(|t| t.use_identity_as_username),
            tls,
            ws,
            handshake_timeout,
        })
    }

    /// Whether the stack is empty (no PROXY header, TLS or WebSocket): the stream goes to the
    /// connection driver as it is.
    pub fn is_plain(&self) -> bool {
        !self.proxy_protocol && self.tls.is_none() && self.ws.is_none()
    }

    /// Runs one accepted stream through the stack and then the connection driver.
    pub async fn serve<S>(
        &self,
        core: Arc<BrokerCore>,
        context: Arc<ListenerContext>,
        stream: S,
        peer: SocketAddr,
        tracker: Option<Arc<ConnTracker>>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut info = ConnectionInfo {
            tracker,
            ..ConnectionInfo::new(peer)
        };
        let stream = if self.proxy_protocol {
            match Box::pin(tokio::time::timeout(
                self.handshake_timeout,
                proxy::read_header(stream),
            ))
            .await
            {
                Ok(Ok((header, stream))) => {
                    if let Some(source) = header.source {
                        info.peer = source;
                    }
                    if self.proxy_use_cn {
                        if let Some(cn) = header.common_name {
                            info.preauth_username = Some(Utf8Str::from(cn));
                        }
                    }
                    stream
                }
                Ok(Err(e)) => {
                    debug!(listener = %context.name, %peer, error = %e, "PROXY header refused");
                    core.metrics.incr(Counter::SocketError);
                    return;
                }
                Err(_) => {
                    debug!(listener = %context.name, %peer, "no PROXY header in time");
                    return;
                }
            }
        } else {
            proxy::Rewind::new(stream)
        };
        match &self.tls {
            Some(tls) => {
                // Boxed (like every transport's future below): the spawned task is as large as
                // its largest state, and a plain TCP connection must not pay for TLS or WebSocket.
                let accepted = Box::pin(tokio::time::timeout(
                    self.handshake_timeout,
                    tls.accept(stream),
                ))
                .await;
                let stream = match accepted {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        debug!(listener = %context.name, peer = %info.peer, error = %e, "TLS handshake failed");
                        core.metrics.incr(Counter::SocketError);
                        return;
                    }
                    Err(_) => {
                        debug!(listener = %context.name, peer = %info.peer, "TLS handshake timed out");
                        return;
                    }
                };
                if self.tls_use_cn {
                    if let Some(cn) = tls::peer_common_name(stream.get_ref().1.peer_certificates())
                    {
                        info.preauth_username = Some(Utf8Str::from(cn));
                    }
                }
                Box::pin(self.serve_framed(core, context, stream, info)).await;
            }
            None => Box::pin(self.serve_framed(core, context, stream, info)).await,
        }
    }

    async fn serve_framed<S>(
        &self,
        core: Arc<BrokerCore>,
        context: Arc<ListenerContext>,
        stream: S,
        info: ConnectionInfo,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        match &self.ws {
            Some(settings) => {
                let upgraded = Box::pin(tokio::time::timeout(
                    self.handshake_timeout,
                    ws::accept(stream, settings),
                ))
                .await;
                match upgraded {
                    Ok(Ok(ws)) => Box::pin(run_connection_with(core, context, ws, info)).await,
                    Ok(Err(e)) => {
                        debug!(listener = %context.name, peer = %info.peer, error = %e, "WebSocket upgrade refused");
                    }
                    Err(_) => {
                        debug!(listener = %context.name, peer = %info.peer, "WebSocket upgrade timed out");
                    }
                }
            }
            None => Box::pin(run_connection_with(core, context, stream, info)).await,
        }
    }
}

/// Aborts a background task when dropped (a listener's accept loop ends with the listener).
#[derive(Debug)]
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
