//! TLS listeners over real sockets: mosquitto_pub / mosquitto_sub and paho-mqtt with
//! `--cafile` / `--cert` / `--key` against certificates made in the test; mutual TLS where the
//! client certificate's CN reaches `auth_on_register` as the user name
//! (`use_identity_as_username`); clients without a certificate and revoked ones (`crlfile`)
//! refused; a replaced certificate served without a restart; configuration mistakes refused
//! with the key named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod transports_support;

use std::{path::Path, sync::Arc, time::Duration};

use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use transports_support::*;
use vmq_codec::ReasonCode;
use vmq_conf::ListenerKind;

fn ssl_conf(pki: &Pki, extra: &str) -> String {
    format!(
        "allow_anonymous = off\n\
         systree_enabled = off\n\
         listener.ssl.default = 127.0.0.1:0\n\
         listener.ssl.cafile = {}\n\
         listener.ssl.certfile = {}\n\
         listener.ssl.keyfile = {}\n{extra}",
        pki.cafile.display(),
        pki.certfile.display(),
        pki.keyfile.display()
    )
}

const MTLS: &str = "listener.ssl.require_certificate = on\n\
                    listener.ssl.use_identity_as_username = on\n";

async fn tls_connect(
    pki: &Pki,
    port: u16,
    client: Option<(&Path, &Path)>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let connector = TlsConnector::from(Arc::new(pki.client_config(client)));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await
}

#[tokio::test]
async fn mutual_tls_cn_becomes_the_username() {
    let pki = Pki::new();
    let (broker, recorder) = start(&ssl_conf(&pki, MTLS)).await;
    let port = broker
        .listener_addr(ListenerKind::Ssl, "default")
        .unwrap()
        .port();
    let (cert, key, _) = pki.client("device-17");

    let tls = tls_connect(&pki, port, Some((&cert, &key))).await.unwrap();
    // The CONNECT's user name is replaced by the certificate's CN, as VerneMQ does.
    let (mut c, code) = Mqtt::connect(tls, "dev17", Some("claimed-name")).await;
    assert_eq!(code, ReasonCode::Success);
    assert_eq!(
        recorder.of("dev17").unwrap().username.as_deref(),
        Some("device-17")
    );
    assert_eq!(c.subscribe("t/#").await, ReasonCode::GrantedQoS1);
    c.publish("t/1", b"over tls").await;
    assert_eq!(c.delivered().await.1.as_ref(), b"over tls");

    // Without a client certificate the handshake fails (require_certificate = on).
    let refused = async {
        let mut s = tls_connect(&pki, port, None).await?;
        // TLS 1.2/1.3: the server's refusal may only show on the first read.
        let mut buf = [0u8; 1];
        tokio::io::AsyncReadExt::read(&mut s, &mut buf).await
    };
    assert!(!matches!(refused.await, Ok(n) if n > 0));
    broker.shutdown().await;
}

#[tokio::test]
async fn mosquitto_clients_over_mutual_tls() {
    if missing(
        "mosquitto_pub/mosquitto_sub",
        have("mosquitto_pub") && have("mosquitto_sub"),
    ) {
        return;
    }
    let pki = Pki::new();
    let (broker, recorder) = start(&ssl_conf(&pki, MTLS)).await;
    let port = broker
        .listener_addr(ListenerKind::Ssl, "default")
        .unwrap()
        .port()
        .to_string();
    let (sub_cert, sub_key, _) = pki.client("sub-cn");
    let (pub_cert, pub_key, _) = pki.client("pub-cn");
    let ca = pki.cafile.display().to_string();

    let mut sub = tokio::process::Command::new("mosquitto_sub");
    sub.args([
        "-h",
        "localhost",
        "-p",
        &port,
        "-i",
        "msub",
        "-t",
        "tls/t",
        "-C",
        "1",
    ])
    .args(["-q", "1", "-W", "20", "--cafile", &ca])
    .arg("--cert")
    .arg(&sub_cert)
    .arg("--key")
    .arg(&sub_key);
    let sub = tokio::spawn(async move { run(&mut sub, Duration::from_secs(25)).await });
    let deadline = tokio::time::Instant::now() + WAIT;
    while recorder.of("msub").is_none() || broker.core().subscriber_count() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "mosquitto_sub never connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give the SUBSCRIBE a moment after the CONNECT.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut publisher = tokio::process::Command::new("mosquitto_pub");
    publisher
        .args([
            "-h",
            "localhost",
            "-p",
            &port,
            "-i",
            "mpub",
            "-t",
            "tls/t",
            "-q",
            "1",
        ])
        .args(["-m", "hello over mutual TLS", "--cafile", &ca])
        .arg("--cert")
        .arg(&pub_cert)
        .arg("--key")
        .arg(&pub_key);
    let (ok, _, err) = run(&mut publisher, WAIT).await;
    assert!(ok, "mosquitto_pub: {err}");
    let (ok, out, err) = sub.await.unwrap();
    assert!(ok, "mosquitto_sub: {err}");
    assert_eq!(out.trim(), "hello over mutual TLS");
    assert_eq!(
        recorder.of("msub").unwrap().username.as_deref(),
        Some("sub-cn")
    );
    assert_eq!(
        recorder.of("mpub").unwrap().username.as_deref(),
        Some("pub-cn")
    );

    // No client certificate: refused.
    let mut nocert = tokio::process::Command::new("mosquitto_pub");
    nocert.args([
        "-h",
        "localhost",
        "-p",
        &port,
        "-i",
        "nocert",
        "-t",
        "x",
        "-m",
        "x",
    ]);
    nocert.args(["--cafile", &ca]);
    let (ok, _, _) = run(&mut nocert, WAIT).await;
    assert!(!ok, "a client without a certificate must be refused");
    assert!(recorder.of("nocert").is_none());
    broker.shutdown().await;
}

#[tokio::test]
async fn paho_over_tls_with_client_certificate() {
    let Some(python) = paho_python() else {
        missing("paho-mqtt 2 (python)", false);
        return;
    };
    let pki = Pki::new();
    let (broker, recorder) = start(&ssl_conf(&pki, MTLS)).await;
    let port = broker
        .listener_addr(ListenerKind::Ssl, "default")
        .unwrap()
        .port();
    let (cert, key, _) = pki.client("paho-cn");
    let script = r#"
import sys, threading
import paho.mqtt.client as mqtt
port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
got = threading.Event()
def on_connect(c, u, f, rc, p=None):
    c.subscribe("paho/tls", qos=1)
def on_subscribe(c, u, mid, rc, p=None):
    c.publish("paho/tls", b"paho says hi", qos=1)
def on_message(c, u, m):
    print(m.payload.decode()); got.set()
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-tls")
c.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect("localhost", port)
c.loop_start()
ok = got.wait(15)
c.disconnect(); c.loop_stop()
sys.exit(0 if ok else 1)
"#;
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg("-c")
        .arg(script)
        .arg(port.to_string())
        .arg(&pki.cafile)
        .arg(&cert)
        .arg(&key);
    let (ok, out, err) = run(&mut cmd, Duration::from_secs(30)).await;
    assert!(ok, "paho: {out} {err}");
    assert_eq!(out.trim(), "paho says hi");
    assert_eq!(
        recorder.of("paho-tls").unwrap().username.as_deref(),
        Some("paho-cn")
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn revoked_client_certificates_are_refused() {
    let pki = Pki::new();
    let (good_cert, good_key, _) = pki.client("good");
    let (bad_cert, bad_key, bad_serial) = pki.client("revoked");
    let crl = pki.crl(&[bad_serial]);
    let extra = format!("{MTLS}listener.ssl.crlfile = {}\n", crl.display());
    let (broker, recorder) = start(&ssl_conf(&pki, &extra)).await;
    let port = broker
        .listener_addr(ListenerKind::Ssl, "default")
        .unwrap()
        .port();

    let tls = tls_connect(&pki, port, Some((&good_cert, &good_key)))
        .await
        .unwrap();
    let (_c, code) = Mqtt::connect(tls, "good-client", None).await;
    assert_eq!(code, ReasonCode::Success);

    let attempt = async {
        let tls = tls_connect(&pki, port, Some((&bad_cert, &bad_key))).await?;
        Ok::<_, std::io::Error>(Mqtt::try_connect(tls, "revoked-client", None).await)
    };
    assert!(matches!(attempt.await, Err(_) | Ok(None)));
    assert!(recorder.of("revoked-client").is_none());
    broker.shutdown().await;
}

#[tokio::test]
async fn replaced_certificate_is_served_without_restart() {
    let pki = Pki::new();
    let (broker, _) = start(&ssl_conf(&pki, "")).await;
    let port = broker
        .listener_addr(ListenerKind::Ssl, "default")
        .unwrap()
        .port();
    let serial_of = |s: &tokio_rustls::client::TlsStream<TcpStream>| {
        let der = s.get_ref().1.peer_certificates().unwrap()[0].clone();
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
        cert.raw_serial().to_vec()
    };
    let first = tls_connect(&pki, port, None).await.unwrap();
    let before = serial_of(&first);
    let (mut kept, code) = Mqtt::connect(first, "kept", None).await;
    assert_eq!(code, ReasonCode::Success);

    // Overwrite the files (as an operator renewing a certificate would).
    tokio::time::sleep(Duration::from_millis(20)).await;
    pki.write_server_cert("broker-renewed");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let s = tls_connect(&pki, port, None).await.unwrap();
        if serial_of(&s) != before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The connection opened before the renewal goes on.
    assert_eq!(kept.subscribe("still/here").await, ReasonCode::GrantedQoS1);
    // And an explicit reload (vmq-admin tls clear-pem-cache) works too.
    broker.core().reload_tls().unwrap();
    broker.shutdown().await;
}

#[tokio::test]
async fn tls_configuration_mistakes_name_the_key() {
    let pki = Pki::new();
    let err = |conf: String| async move {
        let config =
            vmq_conf::Config::from_str(&conf, "t.conf", &std::collections::HashMap::new()).unwrap();
        vmq_broker::Broker::builder(config)
            .start()
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let e = err(ssl_conf(
        &pki,
        "listener.ssl.default.certfile = /nonexistent/c.pem\n",
    ))
    .await;
    assert!(
        e.contains("listener.ssl.default.certfile") && e.contains("/nonexistent/c.pem"),
        "{e}"
    );
    let e = err(ssl_conf(&pki, "listener.ssl.tls_version = tlsv1.1\n")).await;
    assert!(
        e.contains("tls_version") && e.contains("not supported"),
        "{e}"
    );
    let e = err(ssl_conf(&pki, "listener.ssl.ciphers = AES128-SHA\n")).await;
    assert!(e.contains("ciphers = AES128-SHA"), "{e}");
    let e = err(ssl_conf(&pki, "listener.ssl.psk_support = on\n")).await;
    assert!(e.contains("psk_support"), "{e}");
    let conf = format!(
        "listener.ssl.default = 127.0.0.1:0\nlistener.ssl.default.keyfile = {}\n",
        pki.keyfile.display()
    );
    let e = err(conf).await;
    assert!(e.contains("certfile is not set"), "{e}");

    // A listener restricted to TLS 1.3 and one cipher suite still serves.
    let (broker, _) = start(&ssl_conf(
        &pki,
        "listener.ssl.tls_version = tlsv1.3\n\
         listener.ssl.ciphers = TLS_AES_128_GCM_SHA256\n",
    ))
    .await;
    let port = broker
        .listener_addr(ListenerKind::Ssl, "default")
        .unwrap()
        .port();
    let s = tls_connect(&pki, port, None).await.unwrap();
    assert_eq!(
        s.get_ref().1.negotiated_cipher_suite().unwrap().suite(),
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
    );
    broker.shutdown().await;
}
