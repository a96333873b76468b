//! The Graphite exporter against a real TCP listener speaking the plaintext protocol.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::{collections::HashMap, time::Duration};

use tokio::{io::AsyncReadExt, net::TcpListener};

#[tokio::test]
async fn graphite_receives_plaintext_lines_with_prefix_and_api_key() {
    let carbon = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = carbon.local_addr().unwrap().port();
    let conf = format!(
        "allow_anonymous = on\nlistener.tcp.default = 127.0.0.1:0\nsystree_enabled = off\n\
         graphite_enabled = on\ngraphite_host = 127.0.0.1\ngraphite_port = {port}\n\
         graphite_interval = 100\ngraphite_prefix = vernemq\ngraphite_api_key = KEY\n"
    );
    let config = vmq_conf::Config::from_str(&conf, "t.conf", &HashMap::new()).unwrap();
    let broker = vmq_broker::Broker::builder(config).start().await.unwrap();
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(5), carbon.accept())
        .await
        .unwrap()
        .unwrap();
    let mut text = String::new();
    let mut buf = [0u8; 8192];
    while !text.contains("KEY.vernemq.socket.open ") || !text.ends_with('\n') {
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "graphite connection closed");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert!(parts[0].starts_with("KEY.vernemq."), "{line}");
        assert!(!parts[0].contains('_'), "{line}");
        parts[1].parse::<u64>().unwrap();
        let ts: u64 = parts[2].parse().unwrap();
        assert!(ts.abs_diff(now) < 60, "{line}");
    }
    assert!(
        text.contains("KEY.vernemq.mqtt.publish.received 0 "),
        "{text}"
    );
    broker.shutdown().await;
}
