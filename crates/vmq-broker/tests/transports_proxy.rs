//! PROXY protocol listeners: headers written by hand (v1, v2 with the client certificate CN in
//! a `PP2_TYPE_SSL` TLV, malformed and missing ones), and a real HAProxy in front of the broker
//! with `send-proxy`, `send-proxy-v2` and, terminating mutual TLS, `send-proxy-v2-ssl-cn`
//! (mosquitto_pub as the client). The auth hook sees the address and CN the proxy reported.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod transports_support;

use std::{net::SocketAddr, time::Duration};

use tokio::{io::AsyncWriteExt, net::TcpStream};
use transports_support::*;
use vmq_codec::ReasonCode;
use vmq_conf::ListenerKind;

const PROXY_CONF: &str = "systree_enabled = off\n\
                          listener.tcp.default = 127.0.0.1:0\n\
                          listener.tcp.default.proxy_protocol = on\n";

fn v2_header(src: SocketAddr, cn: Option<&str>) -> Vec<u8> {
    let mut tlvs = Vec::new();
    if let Some(cn) = cn {
        let mut ssl = vec![0x07, 0, 0, 0, 0]; // client: ssl, cert conn, cert sess; verify ok
        ssl.push(0x21); // PP2_SUBTYPE_SSL_VERSION
        ssl.extend_from_slice(&7u16.to_be_bytes());
        ssl.extend_from_slice(b"TLSv1.3");
        ssl.push(0x22); // PP2_SUBTYPE_SSL_CN
        ssl.extend_from_slice(&(cn.len() as u16).to_be_bytes());
        ssl.extend_from_slice(cn.as_bytes());
        tlvs.push(0x20);
        tlvs.extend_from_slice(&(ssl.len() as u16).to_be_bytes());
        tlvs.extend_from_slice(&ssl);
    }
    let SocketAddr::V4(src) = src else {
        panic!("v4 only")
    };
    let mut h = b"\r\n\r\n\x00\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11]);
    h.extend_from_slice(&((12 + tlvs.len()) as u16).to_be_bytes());
    h.extend_from_slice(&src.ip().octets());
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&src.port().to_be_bytes());
    h.extend_from_slice(&1883u16.to_be_bytes());
    h.extend_from_slice(&tlvs);
    h
}

async fn with_header(addr: SocketAddr, header: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(header).await.unwrap();
    s
}

#[tokio::test]
async fn hand_written_headers() {
    let (broker, recorder) = start(PROXY_CONF).await;
    let addr = broker.listener_addr(ListenerKind::Tcp, "default").unwrap();

    // v1: the client's address comes from the header.
    let s = with_header(addr, b"PROXY TCP4 203.0.113.5 127.0.0.1 41000 1883\r\n").await;
    let (_c1, code) = Mqtt::connect(s, "v1-client", Some("u1")).await;
    assert_eq!(code, ReasonCode::Success);
    let seen = recorder.of("v1-client").unwrap();
    assert_eq!(seen.peer, "203.0.113.5:41000".parse().unwrap());
    assert_eq!(seen.username.as_deref(), Some("u1"));

    // v2 with a CN: address and user name from the header (proxy_protocol_use_cn_as_username
    // defaults to on).
    let src = "198.51.100.20:50001".parse().unwrap();
    let s = with_header(addr, &v2_header(src, Some("cn-from-proxy"))).await;
    let (_c2, code) = Mqtt::connect(s, "v2-client", Some("claimed")).await;
    assert_eq!(code, ReasonCode::Success);
    let seen = recorder.of("v2-client").unwrap();
    assert_eq!(seen.peer, src);
    assert_eq!(seen.username.as_deref(), Some("cn-from-proxy"));

    // v2 without TLVs, v1 UNKNOWN: the CONNECT's user name; UNKNOWN keeps the socket address.
    let s = with_header(addr, &v2_header(src, None)).await;
    let (_c3, _) = Mqtt::connect(s, "v2-plain", Some("own-name")).await;
    assert_eq!(
        recorder.of("v2-plain").unwrap().username.as_deref(),
        Some("own-name")
    );
    let s = with_header(addr, b"PROXY UNKNOWN\r\n").await;
    let local = s.local_addr().unwrap();
    let (_c4, _) = Mqtt::connect(s, "v1-unknown", None).await;
    assert_eq!(recorder.of("v1-unknown").unwrap().peer, local);

    // No header, or a malformed one: the connection is closed before MQTT.
    let s = TcpStream::connect(addr).await.unwrap();
    assert!(Mqtt::try_connect(s, "no-header", None).await.is_none());
    let s = with_header(addr, b"PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n").await;
    assert!(Mqtt::try_connect(s, "bad-v1", None).await.is_none());
    let mut bad_v2 = v2_header(src, None);
    bad_v2[12] = 0x31; // version 3
    let s = with_header(addr, &bad_v2).await;
    assert!(Mqtt::try_connect(s, "bad-v2", None).await.is_none());
    for id in ["no-header", "bad-v1", "bad-v2"] {
        assert!(recorder.of(id).is_none(), "{id} must not reach auth");
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn cn_as_username_can_be_turned_off() {
    let conf =
        format!("{PROXY_CONF}listener.tcp.default.proxy_protocol_use_cn_as_username = off\n");
    let (broker, recorder) = start(&conf).await;
    let addr = broker.listener_addr(ListenerKind::Tcp, "default").unwrap();
    let src = "198.51.100.21:50002".parse().unwrap();
    let s = with_header(addr, &v2_header(src, Some("ignored-cn"))).await;
    let (_c, _) = Mqtt::connect(s, "keeps-name", Some("mine")).await;
    assert_eq!(
        recorder.of("keeps-name").unwrap().username.as_deref(),
        Some("mine")
    );
    broker.shutdown().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn through_haproxy() {
    let haproxy = ["haproxy", "/usr/sbin/haproxy"]
        .into_iter()
        .find(|h| have(h) || std::path::Path::new(h).exists());
    if missing("haproxy", haproxy.is_some()) || missing("mosquitto_pub", have("mosquitto_pub")) {
        return;
    }
    let pki = Pki::new();
    let (broker, recorder) = start(PROXY_CONF).await;
    let backend = broker.listener_addr(ListenerKind::Tcp, "default").unwrap();
    let crt = pki.dir.path().join("haproxy.pem");
    std::fs::write(
        &crt,
        [
            std::fs::read(&pki.certfile).unwrap(),
            std::fs::read(&pki.keyfile).unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    let (v1, v2, tls) = (free_port(), free_port(), free_port());
    let cfg = format!(
        "global\n  maxconn 100\n\
         defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
         frontend v1\n  bind 127.0.0.1:{v1}\n  default_backend b_v1\n\
         frontend v2\n  bind 127.0.0.1:{v2}\n  default_backend b_v2\n\
         frontend tls\n  bind 127.0.0.1:{tls} ssl crt {crt} ca-file {ca} verify required\n  default_backend b_cn\n\
         backend b_v1\n  server broker {backend} send-proxy\n\
         backend b_v2\n  server broker {backend} send-proxy-v2\n\
         backend b_cn\n  server broker {backend} send-proxy-v2-ssl-cn\n",
        crt = crt.display(),
        ca = pki.cafile.display(),
    );
    let cfg_path = pki.dir.path().join("haproxy.cfg");
    std::fs::write(&cfg_path, cfg).unwrap();
    let mut proxy = tokio::process::Command::new(haproxy.unwrap())
        .arg("-db")
        .arg("-f")
        .arg(&cfg_path)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", tls)).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "haproxy did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // send-proxy and send-proxy-v2: our own client through HAProxy.
    for (port, id) in [(v1, "via-v1"), (v2, "via-v2")] {
        let s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let local = s.local_addr().unwrap();
        let (mut c, code) = Mqtt::connect(s, id, Some("plain-user")).await;
        assert_eq!(code, ReasonCode::Success, "{id}");
        assert_eq!(c.subscribe("p/#").await, ReasonCode::GrantedQoS1);
        // The peer the broker saw is the client's side of the HAProxy connection.
        assert_eq!(recorder.of(id).unwrap().peer, local, "{id}");
    }

    // HAProxy terminates mutual TLS and forwards the CN; mosquitto_pub is the client.
    let (cert, key, _) = pki.client("behind-haproxy");
    let mut publisher = tokio::process::Command::new("mosquitto_pub");
    publisher
        .args([
            "-h",
            "localhost",
            "-p",
            &tls.to_string(),
            "-i",
            "via-tls",
            "-t",
            "p/tls",
        ])
        .args(["-m", "through haproxy", "-q", "1", "-u", "claimed"])
        .arg("--cafile")
        .arg(&pki.cafile)
        .arg("--cert")
        .arg(&cert)
        .arg("--key")
        .arg(&key);
    let (ok, _, err) = run(&mut publisher, WAIT).await;
    assert!(ok, "mosquitto_pub through haproxy: {err}");
    assert_eq!(
        recorder.of("via-tls").unwrap().username.as_deref(),
        Some("behind-haproxy")
    );
    let _ = proxy.kill().await;
    broker.shutdown().await;
}
