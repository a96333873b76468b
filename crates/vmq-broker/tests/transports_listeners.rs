//! Per-listener settings and runtime listener management (what `vmq-admin listener` drives):
//! `max_connections` refuses and counts, mountpoints isolate topic trees, and
//! `allowed_protocol_versions` refuses other protocol levels, on TCP and WebSocket alike;
//! listeners are started, shown, stopped (with and without killing their sessions),
//! restarted and deleted on a running broker.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod transports_support;

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use tokio::net::TcpStream;
use transports_support::*;
use vmq_broker::{BrokerError, ListenerStatus};
use vmq_codec::ReasonCode;
use vmq_conf::{ListenerConfig, ListenerKind};

const BASE: &str = "systree_enabled = off\nlistener.tcp.default = 127.0.0.1:0\n";

/// A listener configuration as `vernemq.conf` lines would give it.
fn listener(lines: &str) -> ListenerConfig {
    let config = vmq_conf::Config::from_str(lines, "runtime.conf", &HashMap::new()).unwrap();
    config.listeners.into_iter().next().unwrap()
}

async fn tcp(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

#[tokio::test]
async fn runtime_start_show_limits_mountpoint_and_versions() {
    let (broker, _) = start(BASE).await;
    let core = broker.core().clone();
    let default = broker.listener_addr(ListenerKind::Tcp, "default").unwrap();

    let info = core
        .start_listener(listener(
            "listener.tcp.tenant = 127.0.0.1:0\n\
             listener.tcp.tenant.mountpoint = tenant-a\n\
             listener.tcp.tenant.max_connections = 2\n",
        ))
        .await
        .unwrap();
    assert_eq!(info.status, ListenerStatus::Running);
    assert_eq!(
        (info.kind, info.name.as_str()),
        (ListenerKind::Tcp, "tenant")
    );
    assert_eq!(info.mountpoint, "tenant-a");
    assert_eq!(info.max_connections, Some(2));
    assert_eq!(info.vmq_type(), "mqtt");
    let tenant = info.addr;

    // Mountpoints: the same topic on two listeners is two topics.
    let (mut outside, _) = Mqtt::connect(tcp(default).await, "outside", None).await;
    assert_eq!(outside.subscribe("#").await, ReasonCode::GrantedQoS1);
    let (mut t1, _) = Mqtt::connect(tcp(tenant).await, "t1", None).await;
    let (mut t2, _) = Mqtt::connect(tcp(tenant).await, "t2", None).await;
    assert_eq!(t1.subscribe("news").await, ReasonCode::GrantedQoS1);
    t2.publish("news", b"for tenant a").await;
    assert_eq!(t1.delivered().await.1.as_ref(), b"for tenant a");
    assert!(outside
        .recv_within(Duration::from_millis(500))
        .await
        .is_none());

    // max_connections = 2: the third is refused and counted.
    let s = tcp(tenant).await;
    assert!(Mqtt::try_connect(s, "t3", None).await.is_none());
    let shown = core.listener(tenant).unwrap();
    assert_eq!(shown.active_connections, 2);
    assert_eq!(shown.refused_connections, 1);
    assert_eq!(core.listeners().len(), 2);

    // allowed_protocol_versions on a WebSocket listener started at runtime: 3.1.1 refused.
    let ws = core
        .start_listener(listener(
            "listener.ws.v5only = 127.0.0.1:0\n\
             listener.ws.v5only.allowed_protocol_versions = 5\n",
        ))
        .await
        .unwrap();
    assert_eq!(ws.vmq_type(), "mqttws");
    let (stream, _) = tokio_tungstenite::client_async(
        {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = format!("ws://{}/mqtt", ws.addr)
                .into_client_request()
                .unwrap();
            req.headers_mut()
                .insert("sec-websocket-protocol", "mqtt".parse().unwrap());
            req
        },
        tcp(ws.addr).await,
    )
    .await
    .unwrap();
    let io = vmq_broker::transport::ws::WsIo::new(stream);
    let (_, code) = Mqtt::connect(io, "old", None).await;
    assert_eq!(code, ReasonCode::UnsupportedProtocolVersion);

    // Starting a second listener on a running listener's address fails.
    let busy = core
        .start_listener(listener(&format!("listener.tcp.again = {tenant}\n")))
        .await;
    assert!(matches!(busy, Err(BrokerError::ListenerExists(a)) if a == tenant));
    broker.shutdown().await;
}

#[tokio::test]
async fn stop_restart_kill_and_delete() {
    let (broker, _) = start(BASE).await;
    let core = broker.core().clone();
    let addr = broker.listener_addr(ListenerKind::Tcp, "default").unwrap();
    let (mut kept, _) = Mqtt::connect(tcp(addr).await, "kept", None).await;

    // Stop: no new connections; the open one goes on.
    let info = core.stop_listener(addr, false).await.unwrap();
    assert_eq!(info.status, ListenerStatus::Stopped);
    assert!(TcpStream::connect(addr).await.is_err());
    assert_eq!(kept.subscribe("still/open").await, ReasonCode::GrantedQoS1);
    assert!(matches!(
        core.delete_listener("127.0.0.1:1".parse().unwrap()),
        Err(BrokerError::NoSuchListener(_))
    ));

    // Restart on the same address.
    let info = core.restart_listener(addr).await.unwrap();
    assert_eq!((info.status, info.addr), (ListenerStatus::Running, addr));
    let (mut second, code) = Mqtt::connect(tcp(addr).await, "second", None).await;
    assert_eq!(code, ReasonCode::Success);
    assert!(matches!(
        core.delete_listener(addr),
        Err(BrokerError::ListenerRunning(_))
    ));

    // Stop with kill_sessions: every connection of the listener is closed.
    let info = core.stop_listener(addr, true).await.unwrap();
    assert_eq!(info.active_connections, 0);
    assert!(kept.recv().await.is_none());
    assert!(second.recv().await.is_none());

    core.delete_listener(addr).unwrap();
    assert!(core.listeners().is_empty());
    broker.shutdown().await;
}
