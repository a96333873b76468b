//! Debian's `mosquitto_pub` / `mosquitto_sub` against the broker, with `-V mqttv31`, `mqttv311`
//! and `mqttv5`: a publish/subscribe round trip at QoS 0, 1 and 2, retained messages (set,
//! receive, clear with `-r -n`), a will (`--will-topic`) sent when the client is killed and not
//! after a clean exit, and a persistent session (`-c -i`) that receives its offline messages.
//! Subscribers are known to be ready by watching the broker's subscription count, not by
//! sleeping. The tests fail (not skip) when the tools are missing: `cargo xtask deps`.

use std::time::Duration;

use vernemq_rs::*;

const VERSIONS_CLI: [&str; 3] = ["mqttv31", "mqttv311", "mqttv5"];
const TOOL_LIMIT: Duration = Duration::from_secs(30);

/// Common arguments: host, port, protocol version.
fn base(port: &str, version: &'static str) -> Vec<String> {
    ["-h", "127.0.0.1", "-p", port, "-V", version]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Starts `mosquitto_sub` printing `topic qos retain payload` per message, exiting after `count`
/// messages or 20 s without one.
fn sub(port: &str, version: &'static str, extra: &[&str], count: u32) -> tokio::process::Child {
    let mut args = base(port, version);
    let count = count.to_string();
    args.extend(
        ["-F", "%t %q %r %p", "-C", &count, "-W", "20"]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    spawn_tool("mosquitto_sub", &refs(&args), None)
}

async fn publish(port: &str, version: &'static str, extra: &[&str]) {
    let mut args = base(port, version);
    args.extend(extra.iter().map(|s| s.to_string()));
    run_tool("mosquitto_pub", &refs(&args), None, TOOL_LIMIT)
        .await
        .assert_success(&format!("mosquitto_pub {}", args.join(" ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_roundtrip_every_qos_every_version() {
    within(async {
        for version in VERSIONS_CLI {
            for qos in ["0", "1", "2"] {
                let b = TestBroker::start("").await;
                let port = b.port().to_string();
                let topic = format!("mq/{version}/{qos}");
                let s = sub(&port, version, &["-t", &topic, "-q", qos], 1);
                b.wait_subscriptions(1).await;
                let payload = format!("hello-{version}-{qos}");
                publish(&port, version, &["-t", &topic, "-q", qos, "-m", &payload]).await;
                let out = finish_tool(s, "mosquitto_sub", TOOL_LIMIT).await;
                out.assert_success("mosquitto_sub");
                assert_eq!(out.stdout.trim_end(), format!("{topic} {qos} 0 {payload}"));
                b.stop().await;
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_retained() {
    within(async {
        for version in VERSIONS_CLI {
            let b = TestBroker::start("").await;
            let port = b.port().to_string();
            publish(
                &port,
                version,
                &["-t", "mq/ret", "-q", "1", "-r", "-m", "kept"],
            )
            .await;
            let s = sub(&port, version, &["-t", "mq/ret", "-q", "1"], 1);
            let out = finish_tool(s, "mosquitto_sub", TOOL_LIMIT).await;
            out.assert_success("mosquitto_sub retained");
            assert_eq!(out.stdout.trim_end(), "mq/ret 1 1 kept", "{version}");
            assert_eq!(b.core().retained.len(), 1);
            // Clear with an empty retained message.
            publish(&port, version, &["-t", "mq/ret", "-q", "1", "-r", "-n"]).await;
            let core = b.core().clone();
            eventually("retained message cleared", || core.retained.is_empty()).await;
            let mut args = base(&port, version);
            args.extend(
                ["-t", "mq/ret", "-C", "1", "-W", "1"]
                    .iter()
                    .map(|s| s.to_string()),
            );
            let out = run_tool("mosquitto_sub", &refs(&args), None, TOOL_LIMIT).await;
            assert_eq!(out.stdout, "", "{version}: nothing retained any more");
            assert_eq!(out.code, Some(27), "mosquitto_sub -W timed out (exit 27)");
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_will() {
    within(async {
        for version in VERSIONS_CLI {
            let b = TestBroker::start("").await;
            let port = b.port().to_string();
            let watch = sub(&port, version, &["-t", "mq/will/#", "-q", "1"], 1);
            b.wait_subscriptions(1).await;
            // A client that exits cleanly sends DISCONNECT: no will.
            let mut args = base(&port, version);
            args.extend(
                [
                    "-t",
                    "mq/x",
                    "-m",
                    "x",
                    "--will-topic",
                    "mq/will/polite",
                    "--will-payload",
                    "never",
                    "--will-qos",
                    "1",
                ]
                .iter()
                .map(|s| s.to_string()),
            );
            run_tool("mosquitto_pub", &refs(&args), None, TOOL_LIMIT)
                .await
                .assert_success("mosquitto_pub with a will");
            // A killed client: the will is sent.
            let mut dying = sub(
                &port,
                version,
                &[
                    "-t",
                    "mq/idle",
                    "--will-topic",
                    "mq/will/dying",
                    "--will-payload",
                    "gone",
                    "--will-qos",
                    "1",
                ],
                1,
            );
            b.wait_subscriptions(2).await;
            dying.start_kill().expect("kill mosquitto_sub");
            let _ = dying.wait().await;
            let out = finish_tool(watch, "mosquitto_sub (watch)", TOOL_LIMIT).await;
            out.assert_success("watcher");
            assert_eq!(out.stdout.trim_end(), "mq/will/dying 1 0 gone", "{version}");
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_persistent_session() {
    within(async {
        for version in VERSIONS_CLI {
            let b = TestBroker::start("").await;
            let port = b.port().to_string();
            let mut session = vec!["-c", "-i", "mq-keep", "-q", "1", "-t", "mq/off"];
            if version == "mqttv5" {
                session.extend(["-x", "600"]);
            }
            // Subscribe, then exit as soon as the SUBACK is in (-E).
            let mut args = base(&port, version);
            args.extend(session.iter().map(|s| s.to_string()));
            args.push("-E".into());
            run_tool("mosquitto_sub", &refs(&args), None, TOOL_LIMIT)
                .await
                .assert_success("mosquitto_sub -E");
            b.wait_offline(1).await;
            publish(
                &port,
                version,
                &["-t", "mq/off", "-q", "1", "-m", "while-offline"],
            )
            .await;
            let s = sub(&port, version, &session, 1);
            let out = finish_tool(s, "mosquitto_sub (resume)", TOOL_LIMIT).await;
            out.assert_success("mosquitto_sub resume");
            assert_eq!(
                out.stdout.trim_end(),
                "mq/off 1 0 while-offline",
                "{version}"
            );
            b.stop().await;
        }
    })
    .await;
}
