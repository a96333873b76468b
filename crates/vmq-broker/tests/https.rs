//! `listener.https.<name>`: the HTTP listener over TLS (the same certificate options as the
//! MQTT TLS listeners) serves `/health` and `/metrics` to a client that trusts the CA, and a
//! plain-HTTP request to it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod transports_support;

use std::collections::HashMap;

use transports_support::Pki;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_listener_serves_health_and_metrics_over_tls() {
    let pki = Pki::new();
    let data = tempfile::tempdir().unwrap();
    let conf = format!(
        "allow_anonymous = on\nsystree_enabled = off\nlistener.tcp.default = 127.0.0.1:0\n\
         listener.https.default = 127.0.0.1:0\nlistener.https.certfile = {}\n\
         listener.https.keyfile = {}\nsetup.data_dir = {}\n",
        pki.certfile.display(),
        pki.keyfile.display(),
        data.path().display()
    );
    let config = vmq_conf::Config::from_str(&conf, "test.conf", &HashMap::new()).unwrap();
    let broker = vmq_broker::Broker::builder(config).start().await.unwrap();
    let addr = broker.http_addrs()[0];

    let ca = reqwest::Certificate::from_pem(&std::fs::read(&pki.cafile).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let health = client
        .get(format!("https://localhost:{}/health", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(health.text().await.unwrap().contains("OK"));
    let metrics = client
        .get(format!("https://localhost:{}/metrics", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains("mqtt_connect_received"));

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/health", addr.port()))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
    broker.shutdown().await;
}
