//! Arrival order across connections: a SUBSCRIBE that reached the broker before another
//! client's PUBLISH is in place when that PUBLISH is routed, also when both arrive while the
//! broker is busy and are picked up in one batch of readiness events (tokio would otherwise
//! run the connection woken last first).

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::mpsc,
    time::{Duration, Instant},
};

use vmq_broker::Broker;

/// A fixed header with a one-byte remaining length, then the body.
fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first, u8::try_from(body.len()).unwrap()];
    out.extend_from_slice(body);
    out
}

fn string(s: &str) -> Vec<u8> {
    let mut out = u16::try_from(s.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
    out
}

/// An MQTT 3.1.1 client with a clean session, connected and acknowledged.
fn connect(addr: SocketAddr, client_id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut body = string("MQTT");
    body.extend_from_slice(&[4, 0x02, 0, 60]);
    body.extend(string(client_id));
    stream.write_all(&packet(0x10, &body)).unwrap();
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack).unwrap();
    assert_eq!(connack, [0x20, 2, 0, 0]);
    stream
}

/// The types of the packets `stream` receives within `wait` (stops at the first PUBLISH).
fn received_types(stream: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let deadline = Instant::now() + wait;
    let mut bytes = Vec::new();
    let mut types = Vec::new();
    while Instant::now() < deadline && !types.contains(&3) {
        stream
            .set_read_timeout(Some(deadline.saturating_duration_since(Instant::now())))
            .unwrap();
        let mut buf = [0u8; 256];
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
        // Every packet here is short: a one-byte remaining length.
        types.clear();
        let mut at = 0;
        while at + 2 <= bytes.len() {
            types.push(bytes[at] >> 4);
            at += 2 + usize::from(bytes[at + 1]);
        }
    }
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_subscribe_read_in_the_same_batch_as_a_publish_is_applied_first() {
    let conf = "allow_anonymous = on\nsystree_enabled = off\nlistener.tcp.default = 127.0.0.1:0\n";
    let config = vmq_conf::Config::from_str(conf, "order.conf", &HashMap::new()).unwrap();
    let broker = Broker::builder(config).start().await.unwrap();
    let addr = broker.local_addrs()[0];

    let (connected_tx, connected_rx) = mpsc::channel();
    let (blocked_tx, blocked_rx) = mpsc::channel();
    let clients = tokio::task::spawn_blocking(move || {
        let mut publisher = connect(addr, "order-publisher");
        let mut subscriber = connect(addr, "order-subscriber");
        connected_tx.send(()).unwrap();
        blocked_rx.recv().unwrap();
        // Both arrive while the broker's only worker is busy: one batch of events, the
        // SUBSCRIBE first.
        let mut subscribe = vec![0, 1];
        subscribe.extend(string("order/t"));
        subscribe.push(1);
        subscriber.write_all(&packet(0x82, &subscribe)).unwrap();
        let mut publish = string("order/t");
        publish.extend_from_slice(&[0, 1]);
        publish.extend_from_slice(b"after the subscribe");
        publisher.write_all(&packet(0x32, &publish)).unwrap();
        received_types(&mut subscriber, Duration::from_secs(5))
    });
    connected_rx.recv().unwrap();
    // Keep the only worker busy (it cannot poll for readiness) while the two packets arrive.
    let blocker = tokio::spawn(async move {
        blocked_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(300));
    });
    blocker.await.unwrap();
    let types = clients.await.unwrap();
    assert_eq!(
        types,
        vec![9, 3],
        "SUBACK, then the message published after the SUBSCRIBE"
    );
    broker.shutdown().await;
}
