//! paho-mqtt (Python, PyPI `paho-mqtt>=2`) against the broker, for MQTT 3.1.1 and 5.0: a
//! publish/subscribe round trip at QoS 0, 1 and 2, retained messages, wills and a persistent
//! session that receives its offline messages. The client side is `tests/python/paho_client.py`;
//! each test starts its own broker and asserts on the script's exit code and `PASS` lines.
//! The tests fail (not skip) when python3 or paho-mqtt is missing: `cargo xtask deps` installs
//! them.

use std::time::Duration;

use vernemq_rs::*;

async fn paho(version: &str, scenario: &str, expect: &[&str]) {
    within(async {
        let b = TestBroker::start("").await;
        let script = root().join("tests/python/paho_client.py");
        let port = b.port().to_string();
        let out = run_tool(
            "python3",
            &[
                script.to_str().expect("utf-8 path"),
                &port,
                version,
                scenario,
            ],
            None,
            Duration::from_secs(60),
        )
        .await;
        assert!(
            !out.stderr.contains("No module named 'paho'"),
            "paho-mqtt is not installed; run `cargo xtask deps`"
        );
        out.assert_success(&format!("paho {version} {scenario}"));
        out.assert_passes(expect);
        b.stop().await;
    })
    .await;
}

use vernemq_rs::scenarios::{PERSISTENT, RETAINED, ROUNDTRIP, WILL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v311_roundtrip() {
    paho("311", "roundtrip", ROUNDTRIP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v5_roundtrip() {
    paho("5", "roundtrip", ROUNDTRIP).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v311_retained() {
    paho("311", "retained", RETAINED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v5_retained() {
    paho("5", "retained", RETAINED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v311_will() {
    paho("311", "will", WILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v5_will() {
    paho("5", "will", WILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v311_persistent_session() {
    paho("311", "persistent", PERSISTENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paho_v5_persistent_session() {
    paho("5", "persistent", PERSISTENT).await;
}
