//! Sessions in the on-disk store across a restart: what a persistent session left is deleted
//! when a clean connect discards it, and a session that was never persistent leaves nothing.
//! (The broker skips the store's deletes for sessions that never wrote to it.) Each restart
//! opens the directory right after `Broker::shutdown`, which closes the store before returning.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod transports_support;

use std::{collections::HashMap, net::SocketAddr, path::Path};

use tokio::net::TcpStream;
use transports_support::*;
use vmq_broker::{Broker, Storage};
use vmq_codec::{Connect, Disconnect, DisconnectProperties, Packet, ProtocolVersion, ReasonCode};

async fn start_on(dir: &Path) -> Broker {
    let conf = "allow_anonymous = on\nsystree_enabled = off\nlistener.tcp.default = 127.0.0.1:0\n";
    let config = vmq_conf::Config::from_str(conf, "store.conf", &HashMap::new()).unwrap();
    // No retry: `Broker::shutdown` returns only once the previous broker's store is closed.
    Broker::builder(config)
        .storage(Storage::Disk(dir.to_path_buf()))
        .start()
        .await
        .unwrap()
}

/// Connects `client_id` (MQTT 3.1.1) and returns the client and CONNACK's session present.
async fn connect(addr: SocketAddr, client_id: &str, clean: bool) -> (Mqtt<TcpStream>, bool) {
    let mut connect = Connect::new(ProtocolVersion::V3_1_1, client_id);
    connect.clean_start = clean;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (client, ack) = Mqtt::connect_with(stream, connect).await;
    assert_eq!(ack.reason_code, ReasonCode::Success);
    (client, ack.session_present)
}

async fn leave(mut client: Mqtt<TcpStream>) {
    client
        .send(Packet::Disconnect(Box::new(Disconnect {
            reason_code: ReasonCode::Success,
            properties: DisconnectProperties::default(),
        })))
        .await;
    // The broker closes after a DISCONNECT.
    assert!(client.recv().await.is_none());
}

#[tokio::test]
async fn sessions_discarded_or_never_persistent_are_not_restored() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_on(dir.path()).await;
    let addr = broker.local_addrs()[0];

    // A persistent session with a subscription, then discarded by a clean connect.
    let (mut c1, present) = connect(addr, "was-persistent", false).await;
    assert!(!present);
    assert_eq!(c1.subscribe("store/a").await, ReasonCode::GrantedQoS1);
    leave(c1).await;
    let (c1, present) = connect(addr, "was-persistent", true).await;
    assert!(!present, "a clean connect starts a new session");
    leave(c1).await;
    // A clean session from start to end.
    let (mut c2, _) = connect(addr, "never-persistent", true).await;
    c2.subscribe("store/b").await;
    leave(c2).await;
    // A persistent session that stays, as the control.
    let (mut c3, _) = connect(addr, "stays-persistent", false).await;
    c3.subscribe("store/c").await;
    leave(c3).await;
    broker.shutdown().await;

    let broker = start_on(dir.path()).await;
    let addr = broker.local_addrs()[0];
    for (client_id, restored) in [
        ("was-persistent", false),
        ("never-persistent", false),
        ("stays-persistent", true),
    ] {
        let (client, present) = connect(addr, client_id, false).await;
        assert_eq!(
            present, restored,
            "session of {client_id} after the restart"
        );
        leave(client).await;
    }
    broker.shutdown().await;
}
