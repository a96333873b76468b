//! `vmq-admin` run as a process against a live broker: every subcommand, its output checked.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::{collections::HashMap, path::Path, process::Command};

struct Node {
    broker: vmq_broker::Broker,
    conf: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "allow_anonymous = on\nnodename = VerneMQ@127.0.0.1\nlistener.tcp.default = 127.0.0.1:0\n\
         listener.http.default = 127.0.0.1:0\nsystree_enabled = off\nsetup.data_dir = {}\n",
        dir.path().display()
    );
    let conf = dir.path().join("vernemq.conf");
    std::fs::write(&conf, &text).unwrap();
    let config = vmq_conf::Config::from_str(&text, "vernemq.conf", &HashMap::new()).unwrap();
    let broker = vmq_broker::Broker::builder(config).start().await.unwrap();
    Node {
        broker,
        conf,
        _dir: dir,
    }
}

/// Runs vmq-admin with `args`; (success, stdout, stderr).
async fn admin(node: &Node, args: &[&str]) -> (bool, String, String) {
    let url = node.broker.http_addrs()[0].to_string();
    let conf = node.conf.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_vmq-admin"))
            .arg("--config")
            .arg(Path::new(&conf))
            .arg("--url")
            .arg(url)
            .args(&args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// A raw MQTT 3.1.1 client: CONNECT, optionally SUBSCRIBE and a retained PUBLISH.
async fn mqtt_client(addr: std::net::SocketAddr, id: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut connect = vec![0x10, 0];
    connect.extend_from_slice(&[0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60]);
    connect.extend_from_slice(&(id.len() as u16).to_be_bytes());
    connect.extend_from_slice(id.as_bytes());
    connect[1] = (connect.len() - 2) as u8;
    s.write_all(&connect).await.unwrap();
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).await.unwrap();
    // SUBSCRIBE some/topic QoS 1, then PUBLISH retained to it.
    let topic = b"some/topic";
    let mut sub = vec![0x82, 0, 0, 1, 0, topic.len() as u8];
    sub.extend_from_slice(topic);
    sub.push(1);
    sub[1] = (sub.len() - 2) as u8;
    s.write_all(&sub).await.unwrap();
    let mut suback = [0u8; 5];
    s.read_exact(&mut suback).await.unwrap();
    let mut publish = vec![0x31, 0, 0, topic.len() as u8];
    publish.extend_from_slice(topic);
    publish.extend_from_slice(b"a-message");
    publish[1] = (publish.len() - 2) as u8;
    s.write_all(&publish).await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subcommand_against_a_live_broker() {
    let node = node().await;
    let _client = mqtt_client(node.broker.local_addrs()[0], "client1").await;
    let core = node.broker.core().clone();
    for _ in 0..200 {
        if core.retained.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let (ok, out, err) = admin(&node, &["session", "show"]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1],
        "|client_id|is_online|mountpoint|peer_host|peer_port|  user   |"
    );
    assert!(lines[0].starts_with("+---------+"));
    assert!(
        lines[3].starts_with("| client1 |  true   |          |127.0.0.1|"),
        "{out}"
    );

    let (_, out, _) = admin(
        &node,
        &[
            "session",
            "show",
            "--topic",
            "--client_id",
            "--topic=some/topic",
        ],
    )
    .await;
    assert_eq!(
        out,
        "+----------+---------+\n|  topic   |client_id|\n+----------+---------+\n|some/topic| client1 |\n+----------+---------+\n"
    );
    let (_, out, _) = admin(&node, &["session", "show", "--client_id=nobody"]).await;
    assert_eq!(out, "");
    let (_, out, _) = admin(&node, &["session", "show", "--limit=1", "--format=json"]).await;
    assert!(
        out.starts_with(r#"{"type":"table","table":[{"client_id":"client1""#),
        "{out}"
    );

    let (_, out, _) = admin(&node, &["retain", "show"]).await;
    assert!(out.contains("|a-message|some/topic|"), "{out}");
    let (_, out, _) = admin(
        &node,
        &["retain", "show", "--payload", "--topic=some/topic"],
    )
    .await;
    assert_eq!(
        out,
        "+---------+\n| payload |\n+---------+\n|a-message|\n+---------+\n"
    );

    let (_, out, _) = admin(&node, &["metrics", "show"]).await;
    assert!(out.contains("counter.mqtt_publish_received = 1\n"), "{out}");
    assert!(out.contains("gauge.retain_messages = 1\n"), "{out}");
    let (_, out, _) = admin(&node, &["metrics", "show", "-d", "--mqtt_version=5"]).await;
    assert!(
        out.contains("# PUBLISH packets received.\ncounter.mqtt_publish_received = 0"),
        "{out}"
    );
    assert!(!out.contains("socket_open"), "label filter: {out}");

    let (ok, _, _) = admin(&node, &["set", "systree_interval=5000"]).await;
    assert!(ok);
    let (_, out, _) = admin(&node, &["show", "systree_interval"]).await;
    assert!(
        out.contains("|VerneMQ@127.0.0.1|      5000      |"),
        "{out}"
    );
    let (ok, _, err) = admin(&node, &["set", "max_inflight_messages=3"]).await;
    assert!(!ok && err.contains("cannot be changed at runtime"), "{err}");

    let (_, out, _) = admin(&node, &["listener", "show"]).await;
    assert!(out.contains("|mqtt|running|127.0.0.1|"), "{out}");
    assert!(out.contains("|http|running|127.0.0.1|"), "{out}");
    let (ok, _, err) = admin(&node, &["listener", "stop"]).await;
    assert!(!ok && err.contains("missing address"), "{err}");
    let mqtt = node.broker.local_addrs()[0];
    let (address, port) = (
        format!("address={}", mqtt.ip()),
        format!("port={}", mqtt.port()),
    );
    let (ok, _, err) = admin(&node, &["listener", "stop", &address, &port]).await;
    assert!(ok, "{err}");
    let (_, out, _) = admin(&node, &["listener", "show"]).await;
    assert!(out.contains("|mqtt|stopped|127.0.0.1|"), "{out}");
    let (ok, _, err) = admin(&node, &["listener", "restart", &address, &port]).await;
    assert!(ok, "{err}");
    let (_, out, _) = admin(&node, &["listener", "show"]).await;
    assert!(out.contains("|mqtt|running|127.0.0.1|"), "{out}");

    let (ok, out, _) = admin(&node, &["plugin", "show"]).await;
    assert!(ok && out.contains("Plugin"), "{out}");

    let (_, key, _) = admin(&node, &["api-key", "create"]).await;
    assert_eq!(key.trim().len(), 32);
    let (_, out, _) = admin(&node, &["api-key", "show"]).await;
    assert!(out.contains(&format!("{}...", &key[..4])), "{out}");
    assert!(!out.contains(key.trim()), "keys are not shown in full");
    let (ok, _, _) = admin(
        &node,
        &["api-key", "delete", &format!("key={}", key.trim())],
    )
    .await;
    assert!(ok);

    let (_, out, _) = admin(&node, &["node", "status"]).await;
    assert!(out.contains("|VerneMQ@127.0.0.1| true  |"), "{out}");
    let (_, out, _) = admin(&node, &["cluster", "show"]).await;
    assert!(out.contains("|VerneMQ@127.0.0.1| true  |"), "{out}");

    let (ok, out, _) = admin(
        &node,
        &["session", "reauthorize", "username=u", "client-id=client1"],
    )
    .await;
    assert!(ok && out.trim() == "Unchanged", "{out}");
    let (ok, out, _) = admin(&node, &["trace", "stop_all"]).await;
    assert!(ok && out.trim() == "Done", "{out}");

    let (ok, out, _) = admin(
        &node,
        &["session", "disconnect", "client-id=client1", "--cleanup"],
    )
    .await;
    assert!(ok && out.trim() == "Done", "{out}");
    assert_eq!(core.subscriber_count(), 0);

    // Without the node-local secret the API refuses.
    let out = Command::new(env!("CARGO_BIN_EXE_vmq-admin"))
        .arg("--url")
        .arg(node.broker.http_addrs()[0].to_string())
        .args(["session", "show"])
        .env("VERNEMQ_API_KEY", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Unauthorized"), "{err}");

    // --help on every level.
    for args in [
        vec!["--help"],
        vec!["session", "--help"],
        vec!["session", "show", "--help"],
        vec!["trace", "client", "--help"],
        vec!["api-key", "create", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vmq-admin"))
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: vmq-admin"));
    }
    node.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_register_show_deregister_and_cache() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "allow_anonymous = on\nlistener.tcp.default = 127.0.0.1:0\n\
         listener.http.default = 127.0.0.1:0\nsystree_enabled = off\nsetup.data_dir = {}\n",
        dir.path().display()
    );
    let conf = dir.path().join("vernemq.conf");
    std::fs::write(&conf, &text).unwrap();
    let config = vmq_conf::Config::from_str(&text, "vernemq.conf", &HashMap::new()).unwrap();
    let webhooks = vmq_webhooks::Webhooks::new(Default::default()).unwrap();
    let broker = vmq_broker::Broker::builder(config)
        .admin_commands(std::sync::Arc::new(webhooks.clone()))
        .plugin(std::sync::Arc::new(webhooks.clone()))
        .start()
        .await
        .unwrap();
    let node = Node {
        broker,
        conf,
        _dir: dir,
    };
    let endpoint = "endpoint=http://127.0.0.1:9/hooks";
    let (ok, out, err) = admin(
        &node,
        &["webhooks", "register", "hook=auth_on_register", endpoint],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert_eq!(webhooks.show().len(), 1);
    let (ok, out, _) = admin(&node, &["webhooks", "show"]).await;
    assert!(ok);
    assert!(
        out.contains("auth_on_register") && out.contains("http://127.0.0.1:9/hooks"),
        "{out}"
    );
    // Registering the same endpoint twice is refused.
    let (ok, _, _) = admin(
        &node,
        &["webhooks", "register", "hook=auth_on_register", endpoint],
    )
    .await;
    assert!(!ok);
    let (ok, out, _) = admin(&node, &["webhooks", "cache", "show"]).await;
    assert!(ok, "{out}");
    let (ok, out, err) = admin(
        &node,
        &["webhooks", "deregister", "hook=auth_on_register", endpoint],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(webhooks.show().is_empty());
    let (ok, _, _) = admin(
        &node,
        &["webhooks", "deregister", "hook=auth_on_register", endpoint],
    )
    .await;
    assert!(!ok, "deregistering an unknown webhook is an error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_start_opens_a_new_mqtt_listener_at_runtime() {
    let node = node().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let port_arg = format!("port={port}");
    let (ok, out, err) = admin(
        &node,
        &[
            "listener",
            "start",
            "address=127.0.0.1",
            &port_arg,
            "--mountpoint",
            "test",
            "--max_connections=1000",
        ],
    )
    .await;
    assert!(ok, "{out}{err}");
    let (ok, out, _) = admin(&node, &["listener", "show"]).await;
    assert!(ok);
    let row = out
        .lines()
        .find(|l| l.contains(&port.to_string()))
        .unwrap_or_else(|| panic!("new listener not shown:\n{out}"));
    assert!(row.contains("test") && row.contains("1000"), "{row}");
    // It speaks MQTT.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _client = mqtt_client(addr, "on-runtime-listener").await;
    // The same address again is refused.
    let (ok, _, _) = admin(
        &node,
        &["listener", "start", "address=127.0.0.1", &port_arg],
    )
    .await;
    assert!(!ok);
}
