//! WebSocket and secure WebSocket listeners over real sockets: paho-mqtt's websockets
//! transport (ws and wss), MQTT.js in headless Chromium on a page this test serves, and a
//! tungstenite client for what browsers do not show: MQTT packets split across frames and
//! several packets in one frame, the `/mqtt` path and subprotocol checks, text frames and
//! `max_ws_frame_size`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod transports_support;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use bytes::BytesMut;
use futures_util::SinkExt;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};
use transports_support::*;
use vmq_broker::transport::ws::WsIo;
use vmq_codec::{Connect, Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe};
use vmq_conf::ListenerKind;

const WS_CONF: &str = "systree_enabled = off\n\
                       listener.ws.default = 127.0.0.1:0\n";

async fn ws_client(
    addr: SocketAddr,
    path: &str,
    protocol: Option<&str>,
) -> Result<tokio_tungstenite::WebSocketStream<TcpStream>, tokio_tungstenite::tungstenite::Error> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(p) = protocol {
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
    }
    tokio_tungstenite::client_async(req, tcp)
        .await
        .map(|(ws, _)| ws)
}

fn encode(packets: &[Packet]) -> Vec<u8> {
    let mut buf = BytesMut::new();
    for p in packets {
        p.clone().encode(ProtocolVersion::V3_1_1, &mut buf).unwrap();
    }
    buf.to_vec()
}

#[tokio::test]
async fn packets_may_span_and_share_frames() {
    let (broker, _) = start(WS_CONF).await;
    let addr = broker.listener_addr(ListenerKind::Ws, "default").unwrap();
    let mut ws = ws_client(addr, "/mqtt", Some("mqtt")).await.unwrap();

    // CONNECT split over three frames.
    let connect = encode(&[Packet::Connect(Box::new(Connect::new(
        ProtocolVersion::V3_1_1,
        "frames",
    )))]);
    for chunk in [&connect[..3], &connect[3..7], &connect[7..]] {
        ws.send(Message::binary(chunk.to_vec())).await.unwrap();
    }
    // SUBSCRIBE and a PUBLISH to it in one frame.
    let mut publish = Publish::new("ws/t", bytes::Bytes::from_static(b"shared frame"));
    publish.qos = QoS::AtLeastOnce;
    publish.packet_id = 2;
    let both = encode(&[
        Packet::Subscribe(Subscribe::new(1, "ws/#", QoS::AtLeastOnce)),
        Packet::Publish(Box::new(publish)),
    ]);
    ws.send(Message::binary(both)).await.unwrap();

    // CONNACK, SUBACK, PUBACK and the delivery, however the broker frames them.
    let mut c = Mqtt::raw(WsIo::new(ws));
    assert!(
        matches!(c.recv().await, Some(Packet::ConnAck(a)) if a.reason_code == ReasonCode::Success)
    );
    let mut got = Vec::new();
    while got.len() < 3 {
        match c.recv().await {
            Some(Packet::SubAck(_)) => got.push("suback".to_string()),
            Some(Packet::PubAck(_)) => got.push("puback".to_string()),
            Some(Packet::Publish(p)) => {
                got.push(String::from_utf8(p.payload.to_vec()).unwrap());
                c.send(Packet::PubAck(vmq_codec::PubAck::new(p.packet_id)))
                    .await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    got.sort();
    assert_eq!(got, ["puback", "shared frame", "suback"]);
    broker.shutdown().await;
}

#[tokio::test]
async fn path_subprotocol_and_frame_rules() {
    let conf = format!("{WS_CONF}max_ws_frame_size = 1024\n");
    let (broker, _) = start(&conf).await;
    let addr = broker.listener_addr(ListenerKind::Ws, "default").unwrap();

    // Only /mqtt, and only with the mqtt / mqttv3.1 subprotocols.
    assert!(ws_client(addr, "/", Some("mqtt")).await.is_err());
    assert!(ws_client(addr, "/mqtt", None).await.is_err());
    assert!(ws_client(addr, "/mqtt", Some("stomp")).await.is_err());
    let ws = ws_client(addr, "/mqtt", Some("mqttv3.1")).await.unwrap();
    let (_c, code) = Mqtt::connect(WsIo::new(ws), "old-client", None).await;
    assert_eq!(code, ReasonCode::Success);

    // A text frame closes the connection (MQTT-6.0.0-1).
    let ws = ws_client(addr, "/mqtt", Some("mqtt")).await.unwrap();
    let (mut c, _) = Mqtt::connect(WsIo::new(ws), "texter", None).await;
    // (The client side adapter only sends binary; reach under it for a text frame.)
    c.stream
        .get_mut()
        .send(Message::text("hello"))
        .await
        .unwrap();
    assert!(c.recv().await.is_none());

    // A frame over max_ws_frame_size closes the connection.
    let ws = ws_client(addr, "/mqtt", Some("mqtt")).await.unwrap();
    let (mut c, _) = Mqtt::connect(WsIo::new(ws), "big", None).await;
    let mut big = Publish::new("big", bytes::Bytes::from(vec![7u8; 4096]));
    big.qos = QoS::AtMostOnce;
    let frame = encode(&[Packet::Publish(Box::new(big))]);
    let _ = c.stream.get_mut().send(Message::binary(frame)).await;
    assert!(c.recv().await.is_none());
    broker.shutdown().await;
}

#[tokio::test]
async fn paho_over_websocket_and_secure_websocket() {
    let Some(python) = paho_python() else {
        missing("paho-mqtt 2 (python)", false);
        return;
    };
    let pki = Pki::new();
    let conf = format!(
        "{WS_CONF}listener.wss.default = 127.0.0.1:0\n\
         listener.wss.certfile = {}\n\
         listener.wss.keyfile = {}\n",
        pki.certfile.display(),
        pki.keyfile.display()
    );
    let (broker, recorder) = start(&conf).await;
    let script = r#"
import sys, threading
import paho.mqtt.client as mqtt
port, ca, cid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
got = threading.Event()
def on_connect(c, u, f, rc, p=None):
    c.subscribe("paho/ws", qos=1)
def on_subscribe(c, u, mid, rc, p=None):
    c.publish("paho/ws", b"x" * 3000 + b" over " + cid.encode(), qos=1)
def on_message(c, u, m):
    print(len(m.payload)); got.set()
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, transport="websockets")
c.ws_set_options(path="/mqtt")
if ca != "-":
    c.tls_set(ca_certs=ca)
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect("localhost", port)
c.loop_start()
ok = got.wait(15)
c.disconnect(); c.loop_stop()
sys.exit(0 if ok else 1)
"#;
    for (kind, ca, cid) in [
        (ListenerKind::Ws, "-".to_string(), "paho-ws"),
        (
            ListenerKind::Wss,
            pki.cafile.display().to_string(),
            "paho-wss",
        ),
    ] {
        let port = broker.listener_addr(kind, "default").unwrap().port();
        let mut cmd = tokio::process::Command::new(python);
        cmd.arg("-c")
            .arg(script)
            .arg(port.to_string())
            .arg(&ca)
            .arg(cid);
        let (ok, out, err) = run(&mut cmd, Duration::from_secs(30)).await;
        assert!(ok, "paho {cid}: {out} {err}");
        assert_eq!(out.trim(), (3000 + " over ".len() + cid.len()).to_string());
        assert!(recorder.of(cid).is_some());
    }
    broker.shutdown().await;
}

/// The directory of MQTT.js's browser bundle (installed by `cargo xtask deps`).
fn mqttjs_bundle() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/js/node_modules/mqtt/dist/mqtt.min.js")
}

/// Serves `page` at `/` and MQTT.js at `/mqtt.min.js`, one response per connection.
async fn serve_page(page: String, bundle: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let page = page.clone();
            let bundle = bundle.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 2048];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let (status, ctype, body) = if line.starts_with("GET / ") {
                    ("200 OK", "text/html", page.into_bytes())
                } else if line.starts_with("GET /mqtt.min.js ") {
                    ("200 OK", "application/javascript", bundle)
                } else {
                    ("404 Not Found", "text/plain", b"not found".to_vec())
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
                let _ = s.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn mqttjs_in_headless_chromium() {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| have(c));
    let bundle = std::fs::read(mqttjs_bundle()).ok();
    if missing("chromium", chromium.is_some()) || missing("MQTT.js (tests/js)", bundle.is_some()) {
        return;
    }
    let (chromium, bundle) = (chromium.unwrap(), bundle.unwrap());
    let (broker, recorder) = start(WS_CONF).await;
    let ws = broker.listener_addr(ListenerKind::Ws, "default").unwrap();

    // The test listens for the page's verdict through the broker itself.
    let own = ws_client(ws, "/mqtt", Some("mqtt")).await.unwrap();
    let (mut watcher, code) = Mqtt::connect(WsIo::new(own), "watcher", None).await;
    assert_eq!(code, ReasonCode::Success);
    assert_eq!(
        watcher.subscribe("browser/result").await,
        ReasonCode::GrantedQoS1
    );

    let page = format!(
        r#"<!doctype html><html><head><title>mqtt.js</title>
<script src="/mqtt.min.js"></script></head><body><div id="out">pending</div>
<script>
const out = document.getElementById('out');
const c = mqtt.connect('ws://{ws}/mqtt', {{ clientId: 'browser-1', protocolVersion: 5 }});
c.on('connect', () => {{
  c.subscribe('browser/echo', {{ qos: 1 }}, () => {{
    c.publish('browser/echo', 'ping-from-browser', {{ qos: 1 }});
  }});
}});
c.on('message', (topic, payload) => {{
  if (topic === 'browser/echo') {{
    out.textContent = 'ok:' + payload.toString();
    c.publish('browser/result', 'ok:' + payload.toString(), {{ qos: 1 }});
  }}
}});
c.on('error', (e) => {{ out.textContent = 'error:' + e; }});
</script></body></html>"#
    );
    let http = serve_page(page, bundle).await;
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg("--remote-debugging-port=0")
    .arg(format!("http://{http}/"))
    .kill_on_drop(true)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), watcher.delivered()).await;
    let _ = child.kill().await;
    let (topic, payload) = result.expect("the browser never reported");
    assert_eq!(topic, "browser/result");
    assert_eq!(payload.as_ref(), b"ok:ping-from-browser");
    assert!(recorder.of("browser-1").is_some());
    broker.shutdown().await;
}
