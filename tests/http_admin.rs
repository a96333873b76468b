//! The HTTP listener over real sockets with a real HTTP client: `/metrics` after a known
//! workload (exact counts, and every family of VerneMQ 2.1 with its type and label keys),
//! `/health` transitions, `/api/v1` with and without API keys, client tracing, the `$SYS` tree,
//! and the `/status` page rendered in headless Chromium (screenshot saved).

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use vernemq_rs::{within, Client, TestBroker};
use vmq_broker::{Answer, HookResult, Plugin, RegisterRequest, SubscribeRequest};
use vmq_codec::{Packet, ProtocolVersion, QoS};

fn http_conf(dir: &Path) -> String {
    format!(
        "listener.http.default = 127.0.0.1:0\nnodename = VerneMQ@127.0.0.1\nsetup.data_dir = {}\n",
        dir.display()
    )
}

/// The node-local admin secret the broker wrote under its data directory.
fn admin_key(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(vmq_http::ADMIN_SECRET_FILE))
        .expect("admin secret written")
        .trim()
        .to_string()
}

/// `(name, sorted label keys besides node)` → value, from Prometheus text.
type Scrape = BTreeMap<(String, Vec<(String, String)>), f64>;

fn parse_prometheus(text: &str) -> (BTreeMap<String, String>, Scrape) {
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut pairs: Vec<(String, String)> = labels
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .filter(|(k, _)| k != "node")
            .collect();
        pairs.sort();
        let value = if value == "+Inf" {
            f64::INFINITY
        } else {
            value.parse().unwrap()
        };
        samples.insert((name.to_string(), pairs), value);
    }
    (types, samples)
}

fn get(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut l: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    l.sort();
    *s.get(&(format!("vernemq_{name}"), l.clone()))
        .unwrap_or_else(|| panic!("no sample {name}{l:?}"))
}

async fn scrape(b: &TestBroker) -> String {
    reqwest::get(format!("http://{}/metrics", b.http_addr()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_count_a_known_workload_exactly() {
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let b = TestBroker::start(&http_conf(dir.path())).await;
        let mut sub = Client::connect(b.addr(), ProtocolVersion::V3_1_1, "sub4").await;
        sub.subscribe("a/#", QoS::AtLeastOnce).await;
        let mut publisher = Client::connect(b.addr(), ProtocolVersion::V5, "pub5").await;
        for i in 0..3 {
            publisher
                .publish("a/b", format!("m{i}").as_bytes(), QoS::AtLeastOnce, false)
                .await;
        }
        for _ in 0..3 {
            // Acknowledged by the test client (auto_ack).
            let _ = sub.recv_publish().await;
        }
        publisher.send(Packet::PingReq).await;
        assert_eq!(publisher.recv().await, Packet::PingResp);
        let core = b.core().clone();
        vernemq_rs::eventually("PUBACKs counted", || {
            core.metrics.get(vmq_broker::Counter::MqttPubackReceived) == 3
        })
        .await;
        let (_, s) = parse_prometheus(&scrape(&b).await);
        let v4 = ("mqtt_version", "4");
        let v5 = ("mqtt_version", "5");
        assert_eq!(get(&s, "mqtt_connect_received", &[v4]), 1.0);
        assert_eq!(get(&s, "mqtt_connect_received", &[v5]), 1.0);
        assert_eq!(
            get(&s, "mqtt_connack_sent", &[v4, ("return_code", "success")]),
            1.0
        );
        assert_eq!(
            get(&s, "mqtt_connack_sent", &[v5, ("reason_code", "success")]),
            1.0
        );
        assert_eq!(get(&s, "mqtt_connack_accepted_sent", &[v4]), 1.0);
        assert_eq!(get(&s, "mqtt_publish_received", &[v5]), 3.0);
        assert_eq!(get(&s, "mqtt_publish_received", &[v4]), 0.0);
        assert_eq!(get(&s, "mqtt_publish_sent", &[v4]), 3.0);
        assert_eq!(
            get(&s, "mqtt_puback_sent", &[v5, ("reason_code", "success")]),
            3.0
        );
        assert_eq!(get(&s, "mqtt_puback_received", &[v4]), 3.0);
        assert_eq!(get(&s, "mqtt_subscribe_received", &[v4]), 1.0);
        assert_eq!(get(&s, "mqtt_suback_sent", &[v4]), 1.0);
        assert_eq!(get(&s, "mqtt_pingreq_received", &[v5]), 1.0);
        assert_eq!(get(&s, "mqtt_pingresp_sent", &[v5]), 1.0);
        assert_eq!(get(&s, "router_subscriptions", &[]), 1.0);
        assert_eq!(get(&s, "router_matches_local", &[]), 3.0);
        assert_eq!(get(&s, "queue_message_in", &[]), 3.0);
        assert_eq!(get(&s, "queue_processes", &[]), 2.0);
        assert_eq!(get(&s, "active_mqtt_connections", &[]), 2.0);
        assert_eq!(get(&s, "socket_open", &[]), 2.0);

        // A v5 client ending with DISCONNECT counts its reason code.
        publisher.disconnect().await;
        let core = b.core().clone();
        vernemq_rs::eventually("connection closed", || {
            core.metrics.get(vmq_broker::Counter::SocketClose) == 1
        })
        .await;
        let (_, s) = parse_prometheus(&scrape(&b).await);
        assert_eq!(
            get(
                &s,
                "mqtt_disconnect_received",
                &[v5, ("reason_code", "normal_disconnect")]
            ),
            1.0
        );
        assert_eq!(get(&s, "active_mqtt_connections", &[]), 1.0);
        b.stop().await;
    })
    .await;
}

fn compat_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/compat/vernemq-2.1-prometheus.txt")
}

#[tokio::test]
async fn prometheus_families_match_vernemq_2_1() {
    let Ok(reference) = std::fs::read_to_string(compat_file()) else {
        eprintln!("skipped: {} not found", compat_file().display());
        return;
    };
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let b = TestBroker::start(&http_conf(dir.path())).await;
        let (types, samples) = parse_prometheus(&scrape(&b).await);
        // Label-key sets per family in our output.
        let mut ours: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
        for (name, labels) in samples.keys() {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|b| types.get(*b).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            let keys = labels
                .iter()
                .map(|(k, _)| k.clone())
                .filter(|k| k != "le")
                .collect();
            ours.entry(base.to_string()).or_default().insert(keys);
        }
        let mut checked = 0;
        for line in reference.lines().filter(|l| !l.starts_with('#')) {
            let mut parts = line.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
            let mut keys: Vec<String> = parts
                .next()
                .map(|l| {
                    l.trim_matches(|c| c == '{' || c == '}')
                        .split(',')
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            keys.sort();
            let optional = ["vernemq_vm_memory_", "vernemq_system_", "vernemq_swc_"]
                .iter()
                .any(|p| name.starts_with(p));
            match types.get(name) {
                None if optional => continue,
                None => panic!("family {name} missing"),
                Some(t) => assert_eq!(t, kind, "type of {name}"),
            }
            assert!(
                ours[name].contains(&keys),
                "{name}: no sample with label keys {keys:?}; ours: {:?}",
                ours[name]
            );
            checked += 1;
        }
        assert!(checked >= 85, "only {checked} families checked");
        b.stop().await;
    })
    .await;
}

#[tokio::test]
async fn health_is_200_while_accepting_and_503_otherwise() {
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let b = TestBroker::start(&http_conf(dir.path())).await;
        let url = format!("http://{}/health", b.http_addr());
        let r = reqwest::get(&url).await.unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body, serde_json::json!({"status": "OK"}));
        b.inner().admin().set_accepting(false);
        let r = reqwest::get(&url).await.unwrap();
        assert_eq!(r.status(), 503);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], "DOWN");
        assert_eq!(body["reasons"][0], "Node is shutting down");
        b.inner().admin().set_accepting(true);
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);

        // Stopping the MQTT listener (vmq-admin listener stop) makes the node unhealthy;
        // restarting it heals it.
        let secret = admin_key(dir.path());
        let mqtt = b.addr();
        let stop = format!("listener/stop?address={}&port={}", mqtt.ip(), mqtt.port());
        assert_eq!(api(&b, &stop, Some(&secret)).await.0, 200);
        let r = reqwest::get(&url).await.unwrap();
        assert_eq!(r.status(), 503);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            body["reasons"][0],
            "No MQTT listener is accepting connections"
        );
        let restart = format!(
            "listener/restart?address={}&port={}",
            mqtt.ip(),
            mqtt.port()
        );
        assert_eq!(api(&b, &restart, Some(&secret)).await.0, 200);
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
        b.stop().await;
    })
    .await;
}

async fn api(b: &TestBroker, path: &str, key: Option<&str>) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client.get(format!("http://{}/api/v1/{path}", b.http_addr()));
    if let Some(key) = key {
        req = req.basic_auth(key, Some(""));
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn api_needs_a_valid_key_and_answers_in_vernemqs_shape() {
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let b = TestBroker::start(&http_conf(dir.path())).await;
        let secret = admin_key(dir.path());
        assert_eq!(api(&b, "session/show", None).await.0, 401);
        assert_eq!(api(&b, "session/show", Some("wrong")).await.0, 401);
        let (code, key) = api(&b, "api-key/create", Some(&secret)).await;
        assert_eq!(code, 200);
        let key: serde_json::Value = serde_json::from_str(&key).unwrap();
        assert_eq!(key["type"], "text");
        let key = key["text"].as_str().unwrap().to_string();
        assert_eq!(key.len(), 32);

        let mut c = Client::connect(b.addr(), ProtocolVersion::V3_1_1, "client1").await;
        c.subscribe("some/topic", QoS::AtLeastOnce).await;
        c.publish("some/topic", b"a-message", QoS::AtMostOnce, true)
            .await;
        b.wait_subscriptions(1).await;
        let (code, body) = api(&b, "session/show", Some(&key)).await;
        assert_eq!(code, 200);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["type"], "table");
        let row = &v["table"][0];
        assert_eq!(row["client_id"], "client1");
        assert_eq!(row["is_online"], true);
        assert_eq!(row["peer_host"], "127.0.0.1");
        assert_eq!(row["mountpoint"], "");
        assert_eq!(row["user"], "undefined");
        assert!(row["peer_port"].is_u64());

        let (_, body) = api(
            &b,
            "session/show?--client_id&--topic&--qos&--topic=some/topic",
            Some(&key),
        )
        .await;
        assert_eq!(
            body,
            r#"{"type":"table","table":[{"client_id":"client1","topic":"some/topic","qos":1}]}"#
        );
        let (_, body) = api(&b, "retain/show", Some(&key)).await;
        assert_eq!(
            body,
            r#"{"type":"table","table":[{"payload":"a-message","topic":"some/topic"}]}"#
        );
        // x-api-key header works too; a metrics-scoped key does not open the API.
        let r = reqwest::Client::new()
            .get(format!("http://{}/api/v1/node/status", b.http_addr()))
            .header("x-api-key", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        api(
            &b,
            "api-key/add?key=metrics-only-key&scope=metrics",
            Some(&secret),
        )
        .await;
        assert_eq!(
            api(&b, "node/status", Some("metrics-only-key")).await.0,
            401
        );

        let (code, body) = api(
            &b,
            "session/disconnect?client-id=client1&--cleanup",
            Some(&key),
        )
        .await;
        assert_eq!((code, body.as_str()), (200, "[]"));
        b.wait_subscriptions(0).await;
        assert_eq!(b.core().subscriber_count(), 0);
        let (code, _) = api(&b, "session/disconnect?client-id=nobody", Some(&key)).await;
        assert_eq!(code, 400);
        let (code, body) = api(&b, "api-key/delete?key=".to_string().as_str(), Some(&key)).await;
        assert_eq!(code, 400, "{body}");
        api(&b, &format!("api-key/delete?key={key}"), Some(&secret)).await;
        assert_eq!(api(&b, "session/show", Some(&key)).await.0, 401);
        assert_eq!(api(&b, "no/such/command", Some(&secret)).await.0, 404);
        b.stop().await;
    })
    .await;
}

/// Allows everything, so that the auth hooks run (and show in traces).
struct AllowAll;

impl Plugin for AllowAll {
    fn name(&self) -> &str {
        "allow_all"
    }
    fn auth_on_register(
        &self,
        _req: &RegisterRequest<'_>,
    ) -> Answer<HookResult<vmq_broker::RegisterModifiers>> {
        HookResult::Ok(Default::default()).into()
    }
    fn auth_on_subscribe(
        &self,
        _req: &SubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<vmq_broker::SubscribeTopic>>>> {
        HookResult::Ok(None).into()
    }
    fn auth_on_publish(
        &self,
        _req: &vmq_broker::PublishRequest<'_>,
    ) -> Answer<HookResult<vmq_broker::PublishModifiers>> {
        HookResult::Ok(Default::default()).into()
    }
}

#[tokio::test]
async fn trace_shows_a_client_session_in_order() {
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let conf = format!(
            "allow_anonymous = off\nlistener.tcp.default = 127.0.0.1:0\nsystree_enabled = off\n{}",
            http_conf(dir.path())
        );
        let config = vmq_conf::Config::from_str(&conf, "t.conf", &Default::default()).unwrap();
        let broker = vmq_broker::Broker::builder(config)
            .plugin(Arc::new(AllowAll))
            .start()
            .await
            .unwrap();
        let secret = admin_key(dir.path());
        let mut response = reqwest::Client::new()
            .get(format!(
                "http://{}/api/v1/trace/client?client-id=traced&--rate-max=1000",
                broker.http_addrs()[0]
            ))
            .basic_auth(&secret, Some(""))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut text = String::new();
        let first = response.chunk().await.unwrap().unwrap();
        text.push_str(&String::from_utf8_lossy(&first));
        assert!(
            text.contains("No sessions found for client \"traced\""),
            "{text}"
        );

        let addr = broker.local_addrs()[0];
        let mut c = Client::connect(addr, ProtocolVersion::V3_1_1, "traced").await;
        c.subscribe("t/#", QoS::AtMostOnce).await;
        c.publish("t/x", b"hello", QoS::AtMostOnce, false).await;
        let _ = c.recv_publish().await;
        let order = [
            "MQTT RECV: CID: \"traced\" CONNECT(c: traced, v: 4",
            "Calling auth_on_register(",
            "Hook returned \"ok\"",
            "MQTT SEND: CID: \"traced\" CONNACK(sp: 0, rc: 0)",
            "MQTT RECV: CID: \"traced\" SUBSCRIBE(m",
            "Calling auth_on_subscribe(",
            "MQTT SEND: CID: \"traced\" SUBACK(",
            "MQTT RECV: CID: \"traced\" PUBLISH(d0, q0, r0, m0, \"t/x\")",
            "Calling auth_on_publish(",
            "MQTT SEND: CID: \"traced\" PUBLISH(d0, q0, r0, m0, \"t/x\")",
        ];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !text.contains(order[order.len() - 1]) && tokio::time::Instant::now() < deadline {
            if let Ok(Ok(Some(chunk))) =
                tokio::time::timeout(Duration::from_millis(500), response.chunk()).await
            {
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
        let mut at = 0;
        for step in order {
            let found = text[at..]
                .find(step)
                .unwrap_or_else(|| panic!("{step:?} not found in order in:\n{text}"));
            at += found + step.len();
        }
        assert!(!text.contains("password"), "no secrets in traces");
        // A second trace is refused while this one runs.
        let (code, _) = {
            let r = reqwest::Client::new()
                .get(format!(
                    "http://{}/api/v1/trace/client?client-id=other",
                    broker.http_addrs()[0]
                ))
                .basic_auth(&secret, Some(""))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), ())
        };
        assert_eq!(code, 400);
        c.disconnect().await;
        broker.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn systree_publishes_vernemq_topics_with_runtime_settings() {
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let b = TestBroker::start(&format!(
            "{}systree_enabled = on\nsystree_interval = 200\n",
            http_conf(dir.path())
        ))
        .await;
        let mut c = Client::connect(b.addr(), ProtocolVersion::V3_1_1, "sys").await;
        c.subscribe("$SYS/VerneMQ@127.0.0.1/mqtt/connect/#", QoS::AtMostOnce)
            .await;
        let p = c.recv_publish().await;
        assert_eq!(
            p.topic.as_str(),
            "$SYS/VerneMQ@127.0.0.1/mqtt/connect/received"
        );
        assert_eq!(&p.payload[..], b"1");
        assert!(!p.retain, "systree_retain defaults to off");
        // Turned off at runtime through the API: nothing more arrives.
        let secret = admin_key(dir.path());
        let (code, _) = api(&b, "set?systree_enabled=off", Some(&secret)).await;
        assert_eq!(code, 200);
        let (_, shown) = api(&b, "show?systree_enabled", Some(&secret)).await;
        assert!(shown.contains(r#""systree_enabled":"off""#), "{shown}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        while c.try_recv(Duration::from_millis(50)).await.is_ok() {}
        c.expect_no_publish().await;
        b.stop().await;
    })
    .await;
}

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

fn run_chromium(args: &[String]) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(chromium().unwrap());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(args);
    cmd.output().expect("chromium runs")
}

/// The text of the element with `id` in a dumped DOM.
fn element_text(dom: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = dom.find(&marker).unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[start..];
    let open_end = rest.find('>').unwrap() + 1;
    let close = rest[open_end..].find('<').unwrap();
    rest[open_end..open_end + close].trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_shows_the_workload_in_chromium() {
    if chromium().is_none() {
        eprintln!("skipped: chromium not installed (cargo xtask deps installs it)");
        return;
    }
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let b = TestBroker::start(&http_conf(dir.path())).await;
        // Workload: 2 clients online, 1 persistent session offline, 3 subscriptions,
        // 2 retained messages, 4 publishes in, 2 out.
        let mut a = Client::connect(b.addr(), ProtocolVersion::V3_1_1, "a").await;
        a.subscribe("x/#", QoS::AtMostOnce).await;
        a.subscribe("y/#", QoS::AtMostOnce).await;
        let mut gone = vmq_codec::Connect::new(ProtocolVersion::V3_1_1, "offline-one");
        gone.clean_start = false;
        let (mut off, _) = Client::connect_with(b.addr(), gone).await;
        off.subscribe("z/#", QoS::AtLeastOnce).await;
        off.disconnect().await;
        b.wait_offline(1).await;
        let mut p = Client::connect(b.addr(), ProtocolVersion::V5, "p").await;
        p.publish("x/1", b"r1", QoS::AtMostOnce, true).await;
        p.publish("y/1", b"r2", QoS::AtMostOnce, true).await;
        p.publish("q/1", b"n", QoS::AtMostOnce, false).await;
        p.publish("q/2", b"n", QoS::AtMostOnce, false).await;
        let _ = a.recv_publish().await;
        let _ = a.recv_publish().await;
        b.wait_online(2).await;

        let url = format!("http://{}/status?refresh=500", b.http_addr());
        let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
        let (dom, shot_out) = tokio::task::spawn_blocking({
            let url = url.clone();
            let shot = shot.clone();
            move || {
                let dom = run_chromium(&[
                    "--virtual-time-budget=3000".into(),
                    "--dump-dom".into(),
                    url.clone(),
                ]);
                let shot_out = run_chromium(&[
                    "--virtual-time-budget=3000".into(),
                    "--window-size=1200,640".into(),
                    format!("--screenshot={}", shot.display()),
                    url,
                ]);
                (dom, shot_out)
            }
        })
        .await
        .unwrap();
        let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
        assert!(
            dom.contains("data-loaded=\"true\""),
            "page script ran:\n{dom}"
        );
        assert_eq!(element_text(&dom, "cluster-size"), "1");
        assert_eq!(element_text(&dom, "clients-online"), "2");
        assert_eq!(element_text(&dom, "clients-offline"), "1");
        assert_eq!(element_text(&dom, "node-name"), "VerneMQ@127.0.0.1");
        assert_eq!(element_text(&dom, "node-subscriptions"), "3");
        assert_eq!(element_text(&dom, "node-retained"), "2");
        assert_eq!(element_text(&dom, "node-publish-in"), "4");
        assert_eq!(element_text(&dom, "node-publish-out"), "2");
        assert!(
            shot.exists(),
            "screenshot written: {}",
            String::from_utf8_lossy(&shot_out.stderr)
        );
        eprintln!("status page screenshot: {}", shot.display());
        b.stop().await;
    })
    .await;
}
