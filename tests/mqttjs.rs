//! MQTT.js (npm `mqtt`, installed into `tests/js/node_modules` by `cargo xtask deps`) against
//! the broker, for MQTT 3.1.1 and 5.0: a publish/subscribe round trip at QoS 0, 1 and 2,
//! retained messages, wills and a persistent session that receives its offline messages. The
//! client side is `tests/js/mqttjs_client.js`; each test starts its own broker and asserts on
//! the script's exit code and `PASS` lines. The tests fail (not skip) when node or the `mqtt`
//! package is missing.

use std::time::Duration;

use vernemq_rs::*;

async fn mqttjs(version: &str, scenario: &str, expect: &[&str]) {
    within(async {
        let dir = root().join("tests/js");
        assert!(
            dir.join("node_modules/mqtt").exists(),
            "MQTT.js is not installed in tests/js/node_modules; run `cargo xtask deps`"
        );
        let b = TestBroker::start("").await;
        let port = b.port().to_string();
        let out = run_tool(
            "node",
            &["mqttjs_client.js", &port, version, scenario],
            Some(&dir),
            Duration::from_secs(60),
        )
        .await;
        out.assert_success(&format!("MQTT.js {version} {scenario}"));
        out.assert_passes(expect);
        b.stop().await;
    })
    .await;
}

use vernemq_rs::scenarios::{PERSISTENT, RETAINED, ROUNDTRIP, WILL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v311_roundtrip() {
    mqttjs("4", "roundtrip", ROUNDTRIP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v5_roundtrip() {
    mqttjs("5", "roundtrip", ROUNDTRIP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v311_retained() {
    mqttjs("4", "retained", RETAINED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v5_retained() {
    mqttjs("5", "retained", RETAINED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v311_will() {
    mqttjs("4", "will", WILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v5_will() {
    mqttjs("5", "will", WILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v311_persistent_session() {
    mqttjs("4", "persistent", PERSISTENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqttjs_v5_persistent_session() {
    mqttjs("5", "persistent", PERSISTENT).await;
}
