//! vmq_webhooks against a real HTTP endpoint (a small hyper server on 127.0.0.1:0 started by
//! the test) and real MQTT clients over TCP: the JSON each hook posts (VerneMQ's field names,
//! 3.x and `_m5`), the answers (ok / next / error / modifiers) and their effect on the clients
//! (refused CONNECT, rewritten topic and payload, refused topics, enhanced authentication),
//! `cache-control: max-age` caching, failures treated as refusals, and runtime changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{body::Incoming, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use vernemq_rs::*;
use vmq_codec::{Auth, AuthProperties, Unsubscribe, Utf8Str};
use vmq_webhooks::{EndpointOptions, Webhooks};

/// How the endpoint answers: (status, body, max-age).
type Responder = Arc<dyn Fn(&str, &Value) -> (u16, String, Option<u64>) + Send + Sync>;

struct Endpoint {
    addr: SocketAddr,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Endpoint {
    async fn start(responder: Responder) -> Endpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls: Arc<Mutex<Vec<(String, Value)>>> = Arc::new(Mutex::new(Vec::new()));
        let recorded = calls.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let responder = responder.clone();
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let responder = responder.clone();
                        let recorded = recorded.clone();
                        async move {
                            let hook = req
                                .headers()
                                .get("vernemq-hook")
                                .and_then(|h| h.to_str().ok())
                                .unwrap_or("")
                                .to_owned();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let (status, answer, max_age) = responder(&hook, &value);
                            recorded.lock().unwrap().push((hook, value));
                            let mut response = Response::builder().status(status);
                            if let Some(age) = max_age {
                                response =
                                    response.header("cache-control", format!("max-age={age}"));
                            }
                            Ok::<_, Infallible>(
                                response.body(Full::new(Bytes::from(answer))).unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Endpoint { addr, calls }
    }

    fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// The bodies posted for `hook` so far.
    fn bodies(&self, hook: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(h, _)| h == hook)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Waits until `hook` was posted `n` times; returns the bodies.
    async fn wait(&self, hook: &str, n: usize) -> Vec<Value> {
        eventually(&format!("{n} x {hook}"), || self.bodies(hook).len() >= n).await;
        self.bodies(hook)
    }
}

const ALL_HOOKS: &[&str] = &[
    "auth_on_register",
    "auth_on_publish",
    "auth_on_subscribe",
    "on_register",
    "on_publish",
    "on_subscribe",
    "on_unsubscribe",
    "on_deliver",
    "on_offline_message",
    "on_client_wakeup",
    "on_client_offline",
    "on_client_gone",
    "on_session_expired",
    "auth_on_register_m5",
    "auth_on_publish_m5",
    "auth_on_subscribe_m5",
    "on_register_m5",
    "on_publish_m5",
    "on_subscribe_m5",
    "on_unsubscribe_m5",
    "on_deliver_m5",
    "on_auth_m5",
];

fn ok() -> (u16, String, Option<u64>) {
    (200, json!({"result": "ok"}).to_string(), None)
}

fn answer(v: Value) -> (u16, String, Option<u64>) {
    (200, v.to_string(), None)
}

/// A broker with `plugins.vmq_webhooks = on` and every hook posted to `endpoint`.
async fn broker(endpoint: &Endpoint, extra: &str) -> (TestBroker, Webhooks) {
    let mut conf = String::from(
        "listener.tcp.default = 127.0.0.1:0\nsystree_enabled = off\nallow_anonymous = off\n\
         plugins.vmq_passwd = off\nplugins.vmq_acl = off\nplugins.vmq_webhooks = on\n",
    );
    for (i, hook) in ALL_HOOKS.iter().enumerate() {
        conf.push_str(&format!(
            "vmq_webhooks.wh{i:02}.hook = {hook}\nvmq_webhooks.wh{i:02}.endpoint = {}\n",
            endpoint.url()
        ));
    }
    conf.push_str(extra);
    let config = vmq_conf::Config::from_str(&conf, "test.conf", &HashMap::new()).unwrap();
    let webhooks = Webhooks::from_config(&config).unwrap().expect("enabled");
    assert_eq!(webhooks.show().len(), ALL_HOOKS.len());
    let broker = TestBroker::start_with_plugins(&conf, vec![Arc::new(webhooks.clone())]).await;
    (broker, webhooks)
}

fn connect(version: ProtocolVersion, client_id: &str, user: &str, password: &str) -> Connect {
    let mut c = connect_packet(version, client_id);
    c.username = Some(Utf8Str::from(user));
    c.password = Some(Bytes::copy_from_slice(password.as_bytes()));
    c
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

/// Allows `joe` / `secret` (cached 60 s), refuses everyone else; everything else is ok.
fn joe_only() -> Responder {
    Arc::new(|hook, body| match hook {
        "auth_on_register" | "auth_on_register_m5" => {
            if body["username"] == "joe" && body["password"] == "secret" {
                (200, json!({"result": "ok"}).to_string(), Some(60))
            } else {
                answer(json!({"result": {"error": "not_allowed"}}))
            }
        }
        h if h.starts_with("auth_on_") => ok(),
        _ => (200, "{}".into(), None),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_on_register_json_refusal_cache_and_lifecycle() {
    within(async {
        let endpoint = Endpoint::start(joe_only()).await;
        let (broker, _webhooks) = broker(&endpoint, "").await;
        for (version, hook, n) in [
            (ProtocolVersion::V3_1_1, "auth_on_register", 0usize),
            (ProtocolVersion::V5, "auth_on_register_m5", 0),
        ] {
            let (_, connack) =
                Client::connect_with(broker.addr(), connect(version, "c1", "joe", "wrong")).await;
            assert_eq!(
                connack.reason_code,
                ReasonCode::NotAuthorized,
                "{version:?}"
            );
            let bodies = endpoint.wait(hook, n + 1).await;
            let body = &bodies[n];
            assert_eq!(body["peer_addr"], "127.0.0.1");
            assert!(body["peer_port"].as_u64().unwrap() > 0);
            assert_eq!(body["mountpoint"], "");
            assert_eq!(body["client_id"], "c1");
            assert_eq!(body["username"], "joe");
            assert_eq!(body["password"], "wrong");
            if version == ProtocolVersion::V5 {
                assert_eq!(
                    keys(body),
                    [
                        "clean_start",
                        "client_id",
                        "mountpoint",
                        "password",
                        "peer_addr",
                        "peer_port",
                        "properties",
                        "username"
                    ]
                );
                assert_eq!(body["clean_start"], true);
            } else {
                assert_eq!(
                    keys(body),
                    [
                        "clean_session",
                        "client_id",
                        "mountpoint",
                        "password",
                        "peer_addr",
                        "peer_port",
                        "username"
                    ]
                );
                assert_eq!(body["clean_session"], true);
            }

            // Allowed, and cached: the second CONNECT is answered without the endpoint.
            for _ in 0..2 {
                let (client, connack) =
                    Client::connect_with(broker.addr(), connect(version, "c1", "joe", "secret"))
                        .await;
                assert_eq!(connack.reason_code, ReasonCode::Success, "{version:?}");
                client.disconnect().await;
            }
            assert_eq!(endpoint.bodies(hook).len(), 2, "{hook} cached");
        }

        // Notifications: on_register(_m5), on_client_wakeup, on_client_gone.
        let reg = endpoint.wait("on_register", 2).await;
        assert_eq!(
            keys(&reg[0]),
            [
                "client_id",
                "mountpoint",
                "peer_addr",
                "peer_port",
                "username"
            ]
        );
        let reg5 = endpoint.wait("on_register_m5", 2).await;
        assert!(reg5[0]["properties"].is_object());
        let wakeup = endpoint.wait("on_client_wakeup", 4).await;
        assert_eq!(wakeup[0], json!({"client_id": "c1", "mountpoint": ""}));
        let gone = endpoint.wait("on_client_gone", 4).await;
        assert_eq!(gone[0], json!({"client_id": "c1", "mountpoint": ""}));

        // A persistent session going offline, then expiring.
        let mut c = connect(ProtocolVersion::V5, "p1", "joe", "secret");
        c.clean_start = false;
        c.properties.session_expiry_interval = Some(1);
        let (client, _) = Client::connect_with(broker.addr(), c).await;
        client.disconnect().await;
        let offline = endpoint.wait("on_client_offline", 1).await;
        assert_eq!(offline[0], json!({"client_id": "p1", "mountpoint": ""}));
        let expired = endpoint.wait("on_session_expired", 1).await;
        assert_eq!(expired[0], json!({"client_id": "p1", "mountpoint": ""}));
        broker.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_deliver_rewrites() {
    within(async {
        let endpoint = Endpoint::start(Arc::new(|hook, body| match hook {
            "auth_on_publish" | "auth_on_publish_m5" if body["topic"] == "orig/topic" => {
                answer(json!({"result": "ok", "modifiers": {
                    "topic": "rewritten/topic",
                    "payload": B64.encode("changed"),
                    "qos": 1
                }}))
            }
            "on_deliver" | "on_deliver_m5" => answer(json!({"result": "ok", "modifiers": {
                "payload": B64.encode(format!("delivered:{}", hook))
            }})),
            h if h.starts_with("auth_on_") => ok(),
            _ => (200, "{}".into(), None),
        }))
        .await;
        let (broker, _webhooks) = broker(&endpoint, "").await;
        for (version, suffix) in [(ProtocolVersion::V3_1_1, ""), (ProtocolVersion::V5, "_m5")] {
            let (mut sub, _) =
                Client::connect_with(broker.addr(), connect(version, "sub", "u", "p")).await;
            sub.subscribe("rewritten/#", QoS::AtLeastOnce).await;
            let (mut publisher, _) =
                Client::connect_with(broker.addr(), connect(version, "pub", "u", "p")).await;
            let code = publisher
                .publish("orig/topic", b"hello", QoS::AtLeastOnce, false)
                .await;
            assert!(code.is_success());
            let got = sub.recv_publish().await;
            assert_eq!(got.topic.as_str(), "rewritten/topic");
            let on_deliver = format!("on_deliver{suffix}");
            assert_eq!(got.payload, Bytes::from(format!("delivered:{on_deliver}")));
            assert_eq!(got.qos, QoS::AtLeastOnce);

            let aop = endpoint.bodies(&format!("auth_on_publish{suffix}"));
            let body = aop.iter().find(|b| b["topic"] == "orig/topic").unwrap();
            assert_eq!(body["payload"], B64.encode("hello"));
            assert_eq!(body["qos"], 1);
            assert_eq!(body["retain"], false);
            assert_eq!(body["username"], "u");
            assert_eq!(body["client_id"], "pub");
            assert_eq!(body["mountpoint"], "");
            assert_eq!(
                body.get("properties").is_some(),
                version == ProtocolVersion::V5
            );

            let on_publish = endpoint.wait(&format!("on_publish{suffix}"), 1).await;
            assert_eq!(on_publish[0]["topic"], "rewritten/topic");
            assert_eq!(on_publish[0]["payload"], B64.encode("changed"));

            let deliver = endpoint.wait(&on_deliver, 1).await;
            assert_eq!(deliver[0]["client_id"], "sub");
            assert_eq!(deliver[0]["topic"], "rewritten/topic");
            assert_eq!(deliver[0]["payload"], B64.encode("changed"));
            sub.disconnect().await;
            publisher.disconnect().await;
        }
        broker.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_rewrites_refusals_and_unsubscribe() {
    within(async {
        let endpoint = Endpoint::start(Arc::new(|hook, body| match hook {
            "auth_on_subscribe" if body["topics"][0]["topic"] == "a/b" => answer(json!({
                "result": "ok",
                "topics": [{"topic": "a/b", "qos": 0}, {"topic": "c/d", "qos": 128}]
            })),
            "auth_on_subscribe_m5" if body["topics"][0]["topic"] == "a/b" => answer(json!({
                "result": "ok",
                "modifiers": {"topics": [{"topic": "x/y", "qos": 1}, {"topic": "c/d", "qos": 135}]}
            })),
            "auth_on_subscribe" | "auth_on_subscribe_m5" => {
                answer(json!({"result": {"error": "not_allowed"}}))
            }
            "on_unsubscribe" => answer(json!({"result": "ok", "topics": ["x/y"]})),
            h if h.starts_with("auth_on_") => ok(),
            _ => (200, "{}".into(), None),
        }))
        .await;
        let (broker, _webhooks) = broker(&endpoint, "").await;

        // MQTT 3.1.1: the second topic refused with QoS 128 → SUBACK 0x80.
        let (mut c3, _) = Client::connect_with(
            broker.addr(),
            connect(ProtocolVersion::V3_1_1, "s3", "u", "p"),
        )
        .await;
        let mut sub = Subscribe::new(c3.next_packet_id(), "a/b", QoS::AtLeastOnce);
        sub.filters.push(SubscribeFilter {
            filter: Utf8Str::from("c/d"),
            options: SubscriptionOptions::new(QoS::ExactlyOnce),
        });
        let codes = c3.subscribe_packet(sub).await;
        assert_eq!(codes, [ReasonCode::Success, ReasonCode::UnspecifiedError]);
        let body = &endpoint.bodies("auth_on_subscribe")[0];
        assert_eq!(
            body["topics"],
            json!([{"topic": "a/b", "qos": 1}, {"topic": "c/d", "qos": 2}])
        );
        assert_eq!(
            keys(body),
            ["client_id", "mountpoint", "topics", "username"]
        );
        let on_sub = endpoint.wait("on_subscribe", 1).await;
        assert_eq!(
            on_sub[0]["topics"],
            json!([{"topic": "a/b", "qos": 0}, {"topic": "c/d", "qos": 128}])
        );
        // An error answer refuses every topic of the SUBSCRIBE.
        let code = c3
            .subscribe_opts("e/f", SubscriptionOptions::new(QoS::AtMostOnce))
            .await;
        assert_eq!(code, ReasonCode::UnspecifiedError);

        // on_unsubscribe rewrites the topic (3.x answers `topics` beside `result`).
        let id = c3.next_packet_id();
        c3.send(Packet::Unsubscribe(Unsubscribe::new(
            id,
            vec![Utf8Str::from("a/b")],
        )))
        .await;
        c3.wait_for(|p| matches!(p, Packet::UnsubAck(_))).await;
        let unsub = endpoint.wait("on_unsubscribe", 1).await;
        assert_eq!(unsub[0]["topics"], json!(["a/b"]));
        assert_eq!(
            broker.subscriptions(),
            1,
            "x/y was not subscribed, a/b stays"
        );

        // MQTT 5: rewrite to x/y at QoS 1, c/d refused with 135 → 0x87.
        let (mut c5, _) =
            Client::connect_with(broker.addr(), connect(ProtocolVersion::V5, "s5", "u", "p")).await;
        let mut sub = Subscribe::new(c5.next_packet_id(), "a/b", QoS::AtMostOnce);
        sub.filters.push(SubscribeFilter {
            filter: Utf8Str::from("c/d"),
            options: SubscriptionOptions::new(QoS::AtLeastOnce),
        });
        let codes = c5.subscribe_packet(sub).await;
        assert_eq!(codes, [ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized]);
        let body = &endpoint.bodies("auth_on_subscribe_m5")[0];
        assert_eq!(
            body["topics"][0],
            json!({"topic": "a/b", "qos": 0, "no_local": false, "rap": false,
                   "retain_handling": "send_retain"})
        );
        assert!(body["properties"].is_object());
        let on_sub = endpoint.wait("on_subscribe_m5", 1).await;
        assert_eq!(on_sub[0]["topics"][1], json!({"topic": "c/d", "qos": 135}));
        // The rewritten subscription receives.
        c3.publish("x/y", b"m", QoS::AtMostOnce, false).await;
        let got = c5.recv_publish().await;
        assert_eq!(got.topic.as_str(), "x/y");
        broker.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enhanced_auth_continue_then_success() {
    within(async {
        let endpoint = Endpoint::start(Arc::new(|hook, body| match hook {
            "on_auth_m5" => {
                let data = body["properties"]["p_authentication_data"]
                    .as_str()
                    .unwrap_or("");
                let step = if data == B64.encode("first") {
                    24
                } else if data == B64.encode("second") {
                    0
                } else {
                    135
                };
                if step == 135 {
                    return answer(json!({"result": {"error": "not_allowed"}}));
                }
                answer(json!({"result": "ok", "modifiers": {
                    "reason_code": step,
                    "properties": {
                        "p_authentication_method": "SCRAM",
                        "p_authentication_data": B64.encode(format!("server{step}"))
                    }
                }}))
            }
            h if h.starts_with("auth_on_") => ok(),
            _ => (200, "{}".into(), None),
        }))
        .await;
        let (broker, _webhooks) = broker(&endpoint, "").await;
        let mut c = connect(ProtocolVersion::V5, "ea", "u", "p");
        c.properties.authentication_method = Some(Utf8Str::from("SCRAM"));
        c.properties.authentication_data = Some(Bytes::from_static(b"first"));
        let mut client = Client::tcp(broker.addr(), ProtocolVersion::V5).await;
        client.send(Packet::Connect(Box::new(c))).await;
        let Packet::Auth(auth) = client.recv().await else {
            panic!("AUTH expected")
        };
        assert_eq!(auth.reason_code, ReasonCode::ContinueAuthentication);
        assert_eq!(
            auth.properties.authentication_data,
            Some(Bytes::from_static(b"server24"))
        );
        client
            .send(Packet::Auth(Box::new(Auth {
                reason_code: ReasonCode::ContinueAuthentication,
                properties: AuthProperties {
                    authentication_method: Some(Utf8Str::from("SCRAM")),
                    authentication_data: Some(Bytes::from_static(b"second")),
                    ..AuthProperties::default()
                },
            })))
            .await;
        let Packet::ConnAck(connack) = client.recv().await else {
            panic!("CONNACK expected")
        };
        assert_eq!(connack.reason_code, ReasonCode::Success);
        assert_eq!(
            connack.properties.authentication_data,
            Some(Bytes::from_static(b"server0"))
        );
        let bodies = endpoint.bodies("on_auth_m5");
        assert_eq!(
            keys(&bodies[0]),
            ["client_id", "mountpoint", "properties", "username"]
        );
        assert_eq!(bodies[0]["properties"]["p_authentication_method"], "SCRAM");
        // auth_on_register_m5 still ran after the exchange.
        assert_eq!(endpoint.bodies("auth_on_register_m5").len(), 1);

        // A refused exchange refuses the CONNECT.
        let mut c = connect(ProtocolVersion::V5, "eb", "u", "p");
        c.properties.authentication_method = Some(Utf8Str::from("SCRAM"));
        c.properties.authentication_data = Some(Bytes::from_static(b"bad"));
        let (_, connack) = Client::connect_with(broker.addr(), c).await;
        assert_eq!(connack.reason_code, ReasonCode::NotAuthorized);
        broker.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_refuse_and_runtime_changes() {
    within(async {
        let endpoint = Endpoint::start(Arc::new(|hook, body| match hook {
            "auth_on_register" if body["username"] == "status" => (500, "oops".into(), None),
            "auth_on_register" if body["username"] == "garbage" => (200, "not json".into(), None),
            "auth_on_register" if body["username"] == "next" => answer(json!({"result": "next"})),
            "auth_on_register" if body["username"] == "badmod" => {
                answer(json!({"result": "ok", "modifiers": {"no_such_modifier": 1}}))
            }
            h if h.starts_with("auth_on_") => ok(),
            _ => (200, "{}".into(), None),
        }))
        .await;
        let (broker, webhooks) = broker(&endpoint, "").await;
        for user in ["status", "garbage", "next", "badmod"] {
            let (_, connack) = Client::connect_with(
                broker.addr(),
                connect(ProtocolVersion::V3_1_1, "f", user, "x"),
            )
            .await;
            assert_eq!(connack.reason_code, ReasonCode::NotAuthorized, "{user}");
        }
        let (client, connack) = Client::connect_with(
            broker.addr(),
            connect(ProtocolVersion::V3_1_1, "f", "ok", "x"),
        )
        .await;
        assert_eq!(connack.reason_code, ReasonCode::Success);
        client.disconnect().await;

        // Deregistered at runtime: nobody answers, so the CONNECT is refused.
        webhooks
            .deregister("auth_on_register", &endpoint.url())
            .unwrap();
        assert!(webhooks
            .deregister("auth_on_register", &endpoint.url())
            .is_err());
        let before = endpoint.bodies("auth_on_register").len();
        let (_, connack) = Client::connect_with(
            broker.addr(),
            connect(ProtocolVersion::V3_1_1, "f", "ok", "x"),
        )
        .await;
        assert_eq!(connack.reason_code, ReasonCode::NotAuthorized);
        assert_eq!(endpoint.bodies("auth_on_register").len(), before);
        // Registered again (no_payload on publish): allowed again.
        webhooks
            .register(
                "auth_on_register",
                &endpoint.url(),
                EndpointOptions::default(),
            )
            .unwrap();
        let (client, connack) = Client::connect_with(
            broker.addr(),
            connect(ProtocolVersion::V3_1_1, "f", "ok", "x"),
        )
        .await;
        assert_eq!(connack.reason_code, ReasonCode::Success);
        client.disconnect().await;

        // The plugin disabled at runtime: no plugin decides, refused; enabled again: allowed.
        let hooks = &broker.core().hooks;
        assert!(hooks.disable("vmq_webhooks").unwrap());
        assert!(hooks
            .plugins()
            .iter()
            .any(|p| p.name == "vmq_webhooks" && !p.enabled));
        let (_, connack) = Client::connect_with(
            broker.addr(),
            connect(ProtocolVersion::V3_1_1, "f", "ok", "x"),
        )
        .await;
        assert_eq!(connack.reason_code, ReasonCode::NotAuthorized);
        assert!(hooks.enable("vmq_webhooks").unwrap());
        let (client, connack) = Client::connect_with(
            broker.addr(),
            connect(ProtocolVersion::V3_1_1, "f", "ok", "x"),
        )
        .await;
        assert_eq!(connack.reason_code, ReasonCode::Success);
        client.disconnect().await;
        broker.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_payload_and_raw_payload_options() {
    within(async {
        let endpoint = Endpoint::start(joe_only()).await;
        let extra = "vmq_webhooks.wh01.no_payload = on\nvmq_webhooks.wh07.base64encode = off\n";
        let (broker, _webhooks) = broker(&endpoint, extra).await;
        let (mut sub, _) = Client::connect_with(
            broker.addr(),
            connect(ProtocolVersion::V3_1_1, "s", "joe", "secret"),
        )
        .await;
        sub.subscribe("t", QoS::AtMostOnce).await;
        sub.publish("t", b"plain text", QoS::AtMostOnce, false)
            .await;
        sub.recv_publish().await;
        let aop = endpoint.wait("auth_on_publish", 1).await;
        assert!(aop[0].get("payload").is_none(), "no_payload leaves it out");
        let deliver = endpoint.wait("on_deliver", 1).await;
        assert_eq!(deliver[0]["payload"], "plain text", "base64encode = off");
        broker.stop().await;
    })
    .await;
}
