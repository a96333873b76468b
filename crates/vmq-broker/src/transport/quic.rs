//! MQTT over QUIC (`listener.quic.<name> = ip:port`, an extension; the `quic` cargo feature),
//! with quinn: ALPN `mqtt`, and one bidirectional stream per connection carrying the MQTT byte
//! stream, the mapping EMQX and its clients use. The client opens the stream; the first one is
//! the MQTT connection, further ones are refused (the transport allows one at a time). TLS
//! settings are those of `ssl` listeners (always TLS 1.3); the certificate CN becomes the user
//! name with `use_identity_as_username`. quinn follows a client's address change (connection
//! migration), so a session survives it.

use std::{
    net::SocketAddr,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use quinn::{crypto::rustls::QuicServerConfig, Endpoint, Incoming, VarInt};
use rustls::pki_types::CertificateDer;
use tracing::{debug, info};
use vmq_codec::Utf8Str;

use super::{tls::TlsSource, TransportError};
use crate::{
    broker::BrokerCore,
    connection::{run_connection_with, ConnectionInfo},
    listener::Shared,
    metrics::Counter,
};

/// Idle timeout of a QUIC connection (MQTT keepalive runs above it; PINGs keep it open).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The quinn server configuration for the current TLS configuration of `tls`.
pub fn server_config(
    tls: &TlsSource,
    listener: &str,
) -> Result<quinn::ServerConfig, TransportError> {
    let crypto = QuicServerConfig::try_from(tls.current()).map_err(|e| TransportError::Tls {
        listener: listener.to_owned(),
        reason: format!("not usable for QUIC: {e}"),
    })?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let transport = Arc::get_mut(&mut config.transport).ok_or_else(|| TransportError::Tls {
        listener: listener.to_owned(),
        reason: "transport configuration is shared".into(),
    })?;
    transport.max_concurrent_bidi_streams(VarInt::from_u32(1));
    transport.max_concurrent_uni_streams(VarInt::from_u32(0));
    if let Ok(timeout) = IDLE_TIMEOUT.try_into() {
        transport.max_idle_timeout(Some(timeout));
    }
    Ok(config)
}

/// Binds a QUIC endpoint.
pub fn bind(addr: SocketAddr, config: quinn::ServerConfig) -> std::io::Result<Endpoint> {
    Endpoint::server(config, addr)
}

/// Accepts QUIC connections on `endpoint` until the task is dropped.
pub(crate) async fn run(endpoint: Endpoint, core: Arc<BrokerCore>, shared: Arc<Shared>) {
    let name = shared.context.name.clone();
    info!(listener = %name, addr = ?endpoint.local_addr().ok(), "listening (QUIC)");
    while let Some(incoming) = endpoint.accept().await {
        let permit = match shared.try_admit(&core) {
            Ok(permit) => permit,
            Err(()) => {
                incoming.refuse();
                continue;
            }
        };
        let core = core.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            serve(incoming, core, shared).await;
            drop(permit);
        });
    }
}

async fn serve(incoming: Incoming, core: Arc<BrokerCore>, shared: Arc<Shared>) {
    let name = &shared.context.name;
    let Some(tls) = shared.transport.tls.as_ref() else {
        return;
    };
    let config = match server_config(tls, name) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            debug!(listener = %name, error = %e, "QUIC configuration unusable");
            incoming.refuse();
            return;
        }
    };
    let connecting = match incoming.accept_with(config) {
        Ok(c) => c,
        Err(e) => {
            debug!(listener = %name, error = %e, "QUIC connection failed");
            return;
        }
    };
    let timeout = shared.transport.handshake_timeout;
    let conn = match tokio::time::timeout(timeout, connecting).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            debug!(listener = %name, error = %e, "QUIC handshake failed");
            core.metrics.incr(Counter::SocketError);
            return;
        }
        Err(_) => return,
    };
    let peer = conn.remote_address();
    let (send, recv) = match tokio::time::timeout(timeout, conn.accept_bi()).await {
        Ok(Ok(streams)) => streams,
        Ok(Err(e)) => {
            debug!(listener = %name, %peer, error = %e, "no MQTT stream opened");
            return;
        }
        Err(_) => {
            conn.close(VarInt::from_u32(0), b"no stream");
            return;
        }
    };
    let mut info = ConnectionInfo {
        tracker: Some(shared.tracker.clone()),
        ..ConnectionInfo::new(peer)
    };
    if shared.transport.tls_use_cn {
        let certs = conn
            .peer_identity()
            .and_then(|id| id.downcast::<Vec<CertificateDer<'static>>>().ok());
        if let Some(cn) = certs.and_then(|c| super::tls::peer_common_name(Some(&c))) {
            info.preauth_username = Some(Utf8Str::from(cn));
        }
    }
    shared.accepted.fetch_add(1, Ordering::Relaxed);
    run_connection_with(
        core,
        shared.context.clone(),
        tokio::io::join(recv, send),
        info,
    )
    .await;
    conn.close(VarInt::from_u32(0), b"");
}
