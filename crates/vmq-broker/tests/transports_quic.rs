//! MQTT over QUIC (`listener.quic.<name>`, the `quic` feature) with a quinn client: ALPN
//! `mqtt`, one bidirectional stream carrying MQTT; a subscriber on QUIC receives from a
//! publisher on QUIC; the client certificate CN becomes the user name; the session survives
//! the client moving to another UDP port (connection migration); a client without the ALPN
//! is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod transports_support;

use std::{net::SocketAddr, path::Path, sync::Arc};

use quinn::crypto::rustls::QuicClientConfig;
use transports_support::*;
use vmq_codec::ReasonCode;
use vmq_conf::ListenerKind;

fn quic_conf(pki: &Pki, extra: &str) -> String {
    format!(
        "systree_enabled = off\n\
         listener.quic.default = 127.0.0.1:0\n\
         listener.quic.cafile = {}\n\
         listener.quic.certfile = {}\n\
         listener.quic.keyfile = {}\n{extra}",
        pki.cafile.display(),
        pki.certfile.display(),
        pki.keyfile.display()
    )
}

fn client_endpoint(pki: &Pki, client: Option<(&Path, &Path)>, alpn: &[u8]) -> quinn::Endpoint {
    let mut crypto = pki.client_config(client);
    crypto.alpn_protocols = vec![alpn.to_vec()];
    let config = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(crypto).unwrap()));
    let mut endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    endpoint.set_default_client_config(config);
    endpoint
}

type QuicIo = tokio::io::Join<quinn::RecvStream, quinn::SendStream>;

async fn open(endpoint: &quinn::Endpoint, addr: SocketAddr) -> (quinn::Connection, QuicIo) {
    let conn = endpoint.connect(addr, "localhost").unwrap().await.unwrap();
    let (send, recv) = conn.open_bi().await.unwrap();
    (conn, tokio::io::join(recv, send))
}

#[tokio::test]
async fn publish_and_subscribe_over_quic_with_migration() {
    let pki = Pki::new();
    let (broker, recorder) = start(&quic_conf(&pki, "")).await;
    let addr = broker.listener_addr(ListenerKind::Quic, "default").unwrap();

    let sub_ep = client_endpoint(&pki, None, b"mqtt");
    let (_sub_conn, io) = open(&sub_ep, addr).await;
    let (mut sub, code) = Mqtt::connect(io, "quic-sub", None).await;
    assert_eq!(code, ReasonCode::Success);
    assert_eq!(sub.subscribe("q/#").await, ReasonCode::GrantedQoS1);

    let pub_ep = client_endpoint(&pki, None, b"mqtt");
    let (_pub_conn, io) = open(&pub_ep, addr).await;
    let (mut publisher, code) = Mqtt::connect(io, "quic-pub", None).await;
    assert_eq!(code, ReasonCode::Success);
    publisher.publish("q/1", b"over quic").await;
    assert_eq!(
        sub.delivered().await,
        ("q/1".to_string(), "over quic".into())
    );
    let registrations = recorder.seen.lock().len();

    // The subscriber's client moves to another UDP socket; the same session keeps receiving.
    let before = sub_ep.local_addr().unwrap();
    sub_ep
        .rebind(std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
        .unwrap();
    assert_ne!(sub_ep.local_addr().unwrap(), before);
    // Traffic from the new address lets the server validate the path.
    assert_eq!(sub.subscribe("q2/#").await, ReasonCode::GrantedQoS1);
    publisher.publish("q/2", b"after migration").await;
    assert_eq!(
        sub.delivered().await,
        ("q/2".to_string(), "after migration".into())
    );
    assert_eq!(
        recorder.seen.lock().len(),
        registrations,
        "no reconnect happened"
    );
    assert_eq!(broker.core().listeners()[0].active_connections, 2);
    broker.shutdown().await;
}

#[tokio::test]
async fn client_certificate_cn_and_alpn() {
    let pki = Pki::new();
    let conf = quic_conf(
        &pki,
        "listener.quic.require_certificate = on\nlistener.quic.use_identity_as_username = on\n",
    );
    let (broker, recorder) = start(&conf).await;
    let addr = broker.listener_addr(ListenerKind::Quic, "default").unwrap();
    let (cert, key, _) = pki.client("quic-device");
    let ep = client_endpoint(&pki, Some((&cert, &key)), b"mqtt");
    let (_conn, io) = open(&ep, addr).await;
    let (_c, code) = Mqtt::connect(io, "qd", Some("claimed")).await;
    assert_eq!(code, ReasonCode::Success);
    assert_eq!(
        recorder.of("qd").unwrap().username.as_deref(),
        Some("quic-device")
    );

    // Another ALPN, or no client certificate: the handshake fails.
    let ep = client_endpoint(&pki, Some((&cert, &key)), b"h3");
    assert!(ep.connect(addr, "localhost").unwrap().await.is_err());
    let ep = client_endpoint(&pki, None, b"mqtt");
    let refused = async {
        let conn = ep.connect(addr, "localhost").unwrap().await?;
        let (send, recv) = conn.open_bi().await?;
        Ok::<_, quinn::ConnectionError>(
            Mqtt::try_connect(tokio::io::join(recv, send), "nocert", None).await,
        )
    };
    assert!(matches!(refused.await, Err(_) | Ok(None)));
    broker.shutdown().await;
}
