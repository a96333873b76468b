//! The broker over real sockets with the workspace's own test client (`vmq-codec` + tokio):
//! publish/subscribe at every QoS for MQTT 3.1, 3.1.1 and 5.0, retained messages, wills,
//! persistent sessions, takeover, keepalive, bad input, VerneMQ's per-listener and session
//! options (client id size, protocol versions, mountpoints, `$SYS`, inflight window, queue
//! limits, QoS upgrade, message size, anonymous refusal) and the MQTT 5 features (shared
//! subscriptions, subscription identifiers, no local, retain as published / handling, topic
//! aliases both ways, message expiry, receive maximum).

use std::time::Duration;

use bytes::Bytes;
use vernemq_rs::*;

const V3: ProtocolVersion = ProtocolVersion::V3_1;
const V4: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;

fn qos_all() -> [QoS; 3] {
    [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
}

/// A CONNECT that asks for a persistent session: clean session off (3.x) or clean start off
/// with a session expiry (5.0).
fn persistent_connect(version: ProtocolVersion, id: &str) -> Connect {
    let mut c = Connect::new(version, id);
    c.clean_start = false;
    if version.is_v5() {
        c.properties.session_expiry_interval = Some(600);
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_every_qos_every_version() {
    within(async {
        for version in VERSIONS {
            let b = TestBroker::start("").await;
            let mut sub = Client::connect(b.addr(), version, "sub").await;
            let mut publ = Client::connect(b.addr(), version, "pub").await;
            for qos in qos_all() {
                let topic = format!("rt/{}/{}", version.level(), qos as u8);
                let granted = sub.subscribe(&topic, qos).await;
                assert_eq!(granted, ReasonCode::granted(qos), "{version:?}");
                let payload = format!("hello {version:?} {qos:?}");
                let code = publ.publish(&topic, payload.as_bytes(), qos, false).await;
                assert!(code.is_success(), "{version:?} {qos:?}: {code:?}");
                let got = sub.recv_publish().await;
                assert_eq!(got.topic.as_str(), topic);
                assert_eq!(&got.payload[..], payload.as_bytes());
                assert_eq!(got.qos, qos, "{version:?}");
                assert!(!got.retain);
            }
            // Many messages at QoS 1 arrive complete and in order.
            sub.subscribe("order", QoS::AtLeastOnce).await;
            for i in 0..50u32 {
                publ.publish("order", &i.to_be_bytes(), QoS::AtLeastOnce, false)
                    .await;
            }
            for i in 0..50u32 {
                let got = sub.recv_publish().await;
                assert_eq!(&got.payload[..], &i.to_be_bytes(), "{version:?}");
            }
            sub.disconnect().await;
            publ.disconnect().await;
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_set_receive_clear() {
    within(async {
        for version in VERSIONS {
            let b = TestBroker::start("").await;
            let mut publ = Client::connect(b.addr(), version, "pub").await;
            publ.publish("ret/a", b"kept", QoS::AtLeastOnce, true).await;
            let mut sub = Client::connect(b.addr(), version, "sub").await;
            sub.subscribe("ret/+", QoS::AtLeastOnce).await;
            let got = sub.recv_publish().await;
            assert_eq!(&got.payload[..], b"kept");
            assert!(got.retain, "{version:?}: retained flag on subscribe");
            // A live message matching a subscription is not flagged retained (v3/v5 default).
            publ.publish("ret/a", b"live", QoS::AtLeastOnce, true).await;
            let got = sub.recv_publish().await;
            assert_eq!(&got.payload[..], b"live");
            assert!(!got.retain, "{version:?}: live delivery has RETAIN 0");
            // Clearing with an empty payload.
            publ.publish("ret/a", b"", QoS::AtLeastOnce, true).await;
            let got = sub.recv_publish().await;
            assert!(got.payload.is_empty());
            let mut late = Client::connect(b.addr(), version, "late").await;
            late.subscribe("ret/#", QoS::AtLeastOnce).await;
            late.expect_no_publish().await;
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_sent_on_abrupt_close_only() {
    within(async {
        for version in VERSIONS {
            let b = TestBroker::start("").await;
            let mut sub = Client::connect(b.addr(), version, "watch").await;
            sub.subscribe("will/#", QoS::AtLeastOnce).await;

            let mut c = Connect::new(version, "dying");
            c.will = Some(will("will/dying", b"gone", QoS::AtLeastOnce, false));
            let (client, ack) = Client::connect_with(b.addr(), c).await;
            assert_eq!(ack.reason_code, ReasonCode::Success);
            client.drop_connection();
            let got = sub.recv_publish().await;
            assert_eq!(got.topic.as_str(), "will/dying");
            assert_eq!(&got.payload[..], b"gone");

            let mut c = Connect::new(version, "polite");
            c.will = Some(will("will/polite", b"never", QoS::AtLeastOnce, false));
            let (client, _) = Client::connect_with(b.addr(), c).await;
            client.disconnect().await;
            b.wait_online(1).await;
            sub.expect_no_publish().await;
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_retained_is_kept() {
    within(async {
        let b = TestBroker::start("").await;
        let mut c = Connect::new(V4, "dying");
        c.will = Some(will("will/ret", b"last", QoS::AtLeastOnce, true));
        let (client, _) = Client::connect_with(b.addr(), c).await;
        client.drop_connection();
        b.wait_online(0).await;
        let mut sub = Client::connect(b.addr(), V4, "later").await;
        sub.subscribe("will/ret", QoS::AtLeastOnce).await;
        let got = sub.recv_publish().await;
        assert_eq!(&got.payload[..], b"last");
        assert!(got.retain);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_disconnect_with_will_message_sends_it() {
    within(async {
        let b = TestBroker::start("").await;
        let mut sub = Client::connect(b.addr(), V5, "watch").await;
        sub.subscribe("will/#", QoS::AtLeastOnce).await;
        let mut c = Connect::new(V5, "leaver");
        c.will = Some(will("will/leaver", b"bye", QoS::AtMostOnce, false));
        let (client, _) = Client::connect_with(b.addr(), c).await;
        client
            .disconnect_with(Disconnect::new(ReasonCode::DisconnectWithWillMessage))
            .await;
        let got = sub.recv_publish().await;
        assert_eq!(&got.payload[..], b"bye");
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_will_delay_interval() {
    within(async {
        let b = TestBroker::start("").await;
        let mut sub = Client::connect(b.addr(), V5, "watch").await;
        sub.subscribe("will/#", QoS::AtLeastOnce).await;

        // Delayed will: not at once, but after the delay.
        let mut c = Connect::new(V5, "delayed");
        c.properties.session_expiry_interval = Some(60);
        let mut w = will("will/delayed", b"late", QoS::AtLeastOnce, false);
        w.properties.will_delay_interval = Some(2);
        c.will = Some(w.clone());
        let (client, _) = Client::connect_with(b.addr(), c.clone()).await;
        let closed_at = tokio::time::Instant::now();
        client.drop_connection();
        sub.expect_no_publish().await;
        let got = sub.recv_publish().await;
        assert_eq!(&got.payload[..], b"late");
        assert!(
            closed_at.elapsed() >= Duration::from_millis(1500),
            "will delay respected"
        );

        // Reconnecting within the delay cancels the will (MQTT-3.1.3-9 / will delay).
        let mut c2 = c.clone();
        c2.will
            .as_mut()
            .expect("will")
            .properties
            .will_delay_interval = Some(3);
        let (client, _) = Client::connect_with(b.addr(), c2).await;
        client.drop_connection();
        b.wait_offline(1).await;
        let mut again = c.clone();
        again.clean_start = false;
        again.will = None;
        let (_back, ack) = Client::connect_with(b.addr(), again).await;
        assert_eq!(ack.reason_code, ReasonCode::Success);
        let r = sub.try_recv(Duration::from_secs(4)).await;
        assert!(
            !matches!(r, Ok(Packet::Publish(_))),
            "will of a resumed session is not sent: {r:?}"
        );
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_session_receives_offline_messages() {
    within(async {
        for version in VERSIONS {
            let b = TestBroker::start("").await;
            let (mut s, ack) =
                Client::connect_with(b.addr(), persistent_connect(version, "keep")).await;
            assert!(!ack.session_present, "{version:?}: new session");
            s.subscribe("off/#", QoS::ExactlyOnce).await;
            s.disconnect().await;
            b.wait_offline(1).await;

            let mut publ = Client::connect(b.addr(), version, "pub").await;
            for (i, qos) in qos_all().into_iter().enumerate() {
                publ.publish(&format!("off/{i}"), format!("m{i}").as_bytes(), qos, false)
                    .await;
            }
            let (mut s, ack) =
                Client::connect_with(b.addr(), persistent_connect(version, "keep")).await;
            assert_eq!(ack.reason_code, ReasonCode::Success);
            assert!(ack.session_present, "{version:?}: session present");
            // QoS 1 and 2 are queued; VerneMQ never stores QoS 0 for an offline session.
            let mut got = Vec::new();
            for _ in 0..2 {
                let p = s.recv_publish().await;
                got.push(String::from_utf8_lossy(&p.payload).into_owned());
            }
            assert_eq!(got, ["m1", "m2"], "{version:?}");
            // The subscription survived too.
            publ.publish("off/x", b"online", QoS::AtLeastOnce, false)
                .await;
            assert_eq!(&s.recv_publish().await.payload[..], b"online");

            // A clean session discards it.
            s.disconnect().await;
            b.wait_offline(1).await;
            let (_c, ack) = Client::connect_with(b.addr(), Connect::new(version, "keep")).await;
            assert!(!ack.session_present, "{version:?}: clean start discards");
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_session_expiry_zero_is_not_persistent() {
    within(async {
        let b = TestBroker::start("").await;
        let mut c = Connect::new(V5, "short");
        c.clean_start = false;
        let (mut s, _) = Client::connect_with(b.addr(), c.clone()).await;
        s.subscribe("t", QoS::AtLeastOnce).await;
        s.disconnect().await;
        b.wait_online(0).await;
        let (_s, ack) = Client::connect_with(b.addr(), c).await;
        assert!(
            !ack.session_present,
            "session expiry 0 ends the session at disconnect"
        );
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takeover_disconnects_the_first_connection() {
    within(async {
        for version in VERSIONS {
            let b = TestBroker::start("").await;
            let mut first = Client::connect(b.addr(), version, "same").await;
            let mut second = Client::connect(b.addr(), version, "same").await;
            let code = first.expect_disconnect().await;
            if version.is_v5() {
                assert_eq!(code, Some(ReasonCode::SessionTakenOver));
            } else {
                assert_eq!(code, None, "no DISCONNECT in 3.x");
            }
            second.subscribe("t", QoS::AtLeastOnce).await;
            second.publish("t", b"x", QoS::AtLeastOnce, false).await;
            assert_eq!(&second.recv_publish().await.payload[..], b"x");
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_expiry_closes_the_connection() {
    within(async {
        for version in [V4, V5] {
            let b = TestBroker::start("").await;
            let mut c = Connect::new(version, "sleepy");
            c.keep_alive = 1;
            c.will = Some(will("ka/will", b"expired", QoS::AtMostOnce, false));
            let mut watch = Client::connect(b.addr(), version, "watch").await;
            watch.subscribe("ka/#", QoS::AtMostOnce).await;
            let (mut client, _) = Client::connect_with(b.addr(), c).await;
            let start = tokio::time::Instant::now();
            let code = client.expect_disconnect().await;
            assert!(
                start.elapsed() >= Duration::from_millis(900),
                "not before 1 s"
            );
            if version.is_v5() {
                assert_eq!(code, Some(ReasonCode::KeepAliveTimeout));
            }
            assert_eq!(&watch.recv_publish().await.payload[..], b"expired");
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pingreq_keeps_the_connection() {
    within(async {
        let b = TestBroker::start("").await;
        let mut c = Connect::new(V4, "pinger");
        c.keep_alive = 1;
        let (mut client, _) = Client::connect_with(b.addr(), c).await;
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(600)).await;
            client.send(Packet::PingReq).await;
            assert_eq!(client.recv().await, Packet::PingResp);
        }
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_packet_closes_only_that_connection() {
    within(async {
        for version in [V4, V5] {
            let b = TestBroker::start("").await;
            let mut good = Client::connect(b.addr(), version, "good").await;
            good.subscribe("g", QoS::AtLeastOnce).await;
            let mut bad = Client::connect(b.addr(), version, "bad").await;
            // PUBLISH with QoS 3 (both QoS bits set): malformed.
            bad.send_raw(&[0x36, 0x05, 0x00, 0x01, b'g', 0x00, 0x01])
                .await;
            let code = bad.expect_disconnect().await;
            if version.is_v5() {
                assert_eq!(code, Some(ReasonCode::MalformedPacket));
            } else {
                assert_eq!(code, None);
            }
            let mut other = Client::connect(b.addr(), version, "other").await;
            other.publish("g", b"still", QoS::AtLeastOnce, false).await;
            assert_eq!(&good.recv_publish().await.payload[..], b"still");
            assert!(
                b.core()
                    .metrics
                    .get(vmq_broker::Counter::MqttMalformedPacket)
                    >= 1,
                "malformed packet counted"
            );
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_invalid_utf8_topic_is_malformed() {
    within(async {
        let b = TestBroker::start("").await;
        let mut bad = Client::connect(b.addr(), V5, "bad").await;
        // PUBLISH QoS 0, topic of 2 bytes 0xC3 0x28 (invalid UTF-8), no properties.
        bad.send_raw(&[0x30, 0x06, 0x00, 0x02, 0xC3, 0x28, 0x00, b'x'])
            .await;
        assert_eq!(
            bad.expect_disconnect().await,
            Some(ReasonCode::MalformedPacket)
        );
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_client_id_size_refuses_long_ids() {
    within(async {
        for version in VERSIONS {
            let b = TestBroker::start("max_client_id_size = 10\n").await;
            let (mut c, ack) =
                Client::connect_with(b.addr(), Connect::new(version, "abcdefghijk")).await;
            assert_eq!(
                ack.reason_code,
                ReasonCode::ClientIdentifierNotValid,
                "{version:?}"
            );
            c.expect_closed().await;
            let (_c, ack) =
                Client::connect_with(b.addr(), Connect::new(version, "abcdefghij")).await;
            assert_eq!(ack.reason_code, ReasonCode::Success, "{version:?}");
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_protocol_versions_per_listener() {
    within(async {
        let b = TestBroker::start_conf(
            "allow_anonymous = on\nsystree_enabled = off\n\
             listener.tcp.only5 = 127.0.0.1:0\n\
             listener.tcp.only5.allowed_protocol_versions = 5\n",
        )
        .await;
        for version in [V3, V4] {
            let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(version, "old")).await;
            assert_eq!(
                ack.reason_code,
                ReasonCode::UnsupportedProtocolVersion,
                "{version:?}"
            );
            c.expect_closed().await;
        }
        let (_c, ack) = Client::connect_with(b.addr(), Connect::new(V5, "new")).await;
        assert_eq!(ack.reason_code, ReasonCode::Success);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mountpoints_separate_listeners() {
    within(async {
        let b = TestBroker::start_conf(
            "allow_anonymous = on\nsystree_enabled = off\n\
             listener.tcp.one = 127.0.0.1:0\n\
             listener.tcp.one.mountpoint = one\n\
             listener.tcp.two = 127.0.0.1:0\n\
             listener.tcp.two.mountpoint = two\n",
        )
        .await;
        let (a, z) = (b.addr_of(0), b.addr_of(1));
        assert_ne!(a, z);
        let mut sub_a = Client::connect(a, V4, "sa").await;
        let mut sub_z = Client::connect(z, V4, "sz").await;
        sub_a.subscribe("#", QoS::AtLeastOnce).await;
        sub_z.subscribe("#", QoS::AtLeastOnce).await;
        let mut pub_a = Client::connect(a, V4, "pa").await;
        pub_a
            .publish("room", b"from a", QoS::AtLeastOnce, true)
            .await;
        let got = sub_a.recv_publish().await;
        assert_eq!(
            got.topic.as_str(),
            "room",
            "mountpoint is not visible to clients"
        );
        assert_eq!(&got.payload[..], b"from a");
        sub_z.expect_no_publish().await;
        // Retained messages are per mountpoint too.
        let mut late_z = Client::connect(z, V4, "lz").await;
        late_z.subscribe("room", QoS::AtLeastOnce).await;
        late_z.expect_no_publish().await;
        // The same client id on two mountpoints are two clients (no takeover).
        let mut same_a = Client::connect(a, V5, "dup").await;
        let _same_z = Client::connect(z, V5, "dup").await;
        same_a.send(Packet::PingReq).await;
        assert_eq!(same_a.recv().await, Packet::PingResp);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sys_topics_are_published() {
    within(async {
        let b = TestBroker::start("systree_enabled = on\nsystree_interval = 200\n").await;
        let mut sub = Client::connect(b.addr(), V4, "sys").await;
        sub.subscribe("$SYS/#", QoS::AtMostOnce).await;
        let mut names = std::collections::HashSet::new();
        // VerneMQ's layout: `$SYS/<node>/` and the metric name with `_` as levels.
        while !(names.contains("socket/open") && names.contains("queue/processes")) {
            let p = sub.recv_publish().await;
            assert!(p.topic.starts_with("$SYS/"), "{}", p.topic.as_str());
            let name = p
                .topic
                .splitn(3, '/')
                .nth(2)
                .expect("metric name")
                .to_owned();
            names.insert(name);
        }
        // `#` alone does not match `$SYS` topics (MQTT-4.7.2-1).
        let mut all = Client::connect(b.addr(), V4, "all").await;
        all.subscribe("#", QoS::AtMostOnce).await;
        all.expect_no_publish().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_subscription_distributes() {
    within(async {
        for version in [V4, V5] {
            let b = TestBroker::start("").await;
            let mut m1 = Client::connect(b.addr(), version, "m1").await;
            let mut m2 = Client::connect(b.addr(), version, "m2").await;
            m1.subscribe("$share/g/jobs/+", QoS::AtLeastOnce).await;
            m2.subscribe("$share/g/jobs/+", QoS::AtLeastOnce).await;
            let mut publ = Client::connect(b.addr(), version, "p").await;
            let n = 40;
            for i in 0..n {
                publ.publish("jobs/x", format!("{i}").as_bytes(), QoS::AtLeastOnce, false)
                    .await;
            }
            let mut count = [0usize; 2];
            let mut seen = std::collections::BTreeSet::new();
            while count[0] + count[1] < n {
                tokio::select! {
                    p = m1.recv_publish() => { count[0] += 1; seen.insert(p.payload); }
                    p = m2.recv_publish() => { count[1] += 1; seen.insert(p.payload); }
                }
            }
            assert_eq!(seen.len(), n, "each message once");
            assert!(
                count[0] > 0 && count[1] > 0,
                "both members got some: {count:?}"
            );
            m1.expect_no_publish().await;
            m2.expect_no_publish().await;
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_subscriptions_v3_one_delivery_at_max_qos() {
    within(async {
        let b = TestBroker::start("").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("a/#", QoS::AtMostOnce).await;
        s.subscribe("a/+", QoS::ExactlyOnce).await;
        s.subscribe("a/b", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        p.publish("a/b", b"once", QoS::ExactlyOnce, false).await;
        let got = s.recv_publish().await;
        assert_eq!(got.qos, QoS::ExactlyOnce);
        s.expect_no_publish().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_subscription_identifiers() {
    within(async {
        let b = TestBroker::start("").await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        for (id, filter) in [(7u32, "x/#"), (9, "x/y")] {
            let mut sub = Subscribe::new(s.next_packet_id(), filter, QoS::AtLeastOnce);
            sub.properties.subscription_identifier = Some(id);
            assert!(s.subscribe_packet(sub).await[0].is_success());
        }
        s.subscribe("x/+", QoS::AtMostOnce).await; // no identifier
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("x/y", b"m", QoS::AtLeastOnce, false).await;
        let mut ids = Vec::new();
        // The server may send one message with every identifier or one per subscription.
        loop {
            match s.try_recv(QUIET).await {
                Ok(Packet::Publish(got)) => {
                    s.ack(&got).await;
                    ids.extend(got.properties.subscription_identifiers);
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => break,
            }
        }
        ids.sort_unstable();
        assert_eq!(ids, [7, 9]);
        // A message matching only one carries only its identifier.
        p.publish("x/z/w", b"n", QoS::AtLeastOnce, false).await;
        let got = s.recv_publish().await;
        assert_eq!(got.properties.subscription_identifiers, [7]);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_no_local() {
    within(async {
        let b = TestBroker::start("").await;
        let mut me = Client::connect(b.addr(), V5, "me").await;
        let mut opts = SubscriptionOptions::new(QoS::AtLeastOnce);
        opts.no_local = true;
        assert!(me.subscribe_opts("chat", opts).await.is_success());
        let mut other = Client::connect(b.addr(), V5, "other").await;
        other.subscribe("chat", QoS::AtLeastOnce).await;
        me.publish("chat", b"mine", QoS::AtLeastOnce, false).await;
        assert_eq!(&other.recv_publish().await.payload[..], b"mine");
        me.expect_no_publish().await;
        other
            .publish("chat", b"theirs", QoS::AtLeastOnce, false)
            .await;
        assert_eq!(&me.recv_publish().await.payload[..], b"theirs");
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_retain_as_published() {
    within(async {
        let b = TestBroker::start("").await;
        let mut rap = Client::connect(b.addr(), V5, "rap").await;
        let mut opts = SubscriptionOptions::new(QoS::AtLeastOnce);
        opts.retain_as_published = true;
        rap.subscribe_opts("r", opts).await;
        let mut plain = Client::connect(b.addr(), V5, "plain").await;
        plain.subscribe("r", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("r", b"flagged", QoS::AtLeastOnce, true).await;
        assert!(
            rap.recv_publish().await.retain,
            "retain as published keeps RETAIN"
        );
        assert!(!plain.recv_publish().await.retain, "default clears RETAIN");
        p.publish("r", b"not", QoS::AtLeastOnce, false).await;
        assert!(!rap.recv_publish().await.retain);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_retain_handling() {
    within(async {
        let b = TestBroker::start("").await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("rh", b"stored", QoS::AtLeastOnce, true).await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        let with = |rh| {
            let mut o = SubscriptionOptions::new(QoS::AtLeastOnce);
            o.retain_handling = rh;
            o
        };
        // 2: never.
        s.subscribe_opts("rh", with(vmq_codec::RetainHandling::DoNotSend))
            .await;
        s.expect_no_publish().await;
        s.unsubscribe("rh").await;
        // 1: only when the subscription is new.
        s.subscribe_opts("rh", with(vmq_codec::RetainHandling::SendAtSubscribeIfNew))
            .await;
        assert_eq!(&s.recv_publish().await.payload[..], b"stored");
        s.subscribe_opts("rh", with(vmq_codec::RetainHandling::SendAtSubscribeIfNew))
            .await;
        s.expect_no_publish().await;
        // 0: at every subscribe.
        s.subscribe_opts("rh", with(vmq_codec::RetainHandling::SendAtSubscribe))
            .await;
        assert_eq!(&s.recv_publish().await.payload[..], b"stored");
        s.subscribe_opts("rh", with(vmq_codec::RetainHandling::SendAtSubscribe))
            .await;
        assert_eq!(&s.recv_publish().await.payload[..], b"stored");
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_topic_alias_client_to_broker() {
    within(async {
        let b = TestBroker::start("topic_alias_max_client = 5\n").await;
        let (mut p, ack) = Client::connect_with(b.addr(), Connect::new(V5, "p")).await;
        assert_eq!(ack.properties.topic_alias_maximum, Some(5));
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("alias/#", QoS::AtLeastOnce).await;
        let mut first = Publish::new("alias/long/topic", Bytes::from_static(b"1"));
        first.qos = QoS::AtLeastOnce;
        first.properties.topic_alias = Some(3);
        p.publish_packet(first).await;
        let mut second = Publish::new("", Bytes::from_static(b"2"));
        second.qos = QoS::AtLeastOnce;
        second.properties.topic_alias = Some(3);
        p.publish_packet(second).await;
        for payload in [b"1", b"2"] {
            let got = s.recv_publish().await;
            assert_eq!(got.topic.as_str(), "alias/long/topic");
            assert_eq!(&got.payload[..], payload);
            assert_eq!(got.properties.topic_alias, None, "alias is per connection");
        }
        // An alias above the maximum is a protocol error: DISCONNECT 0x94.
        let mut bad = Publish::new("alias/x", Bytes::from_static(b"3"));
        bad.properties.topic_alias = Some(6);
        p.send(Packet::Publish(Box::new(bad))).await;
        assert_eq!(
            p.expect_disconnect().await,
            Some(ReasonCode::TopicAliasInvalid)
        );
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_topic_alias_broker_to_client() {
    within(async {
        let b = TestBroker::start("topic_alias_max_broker = 5\n").await;
        let mut c = Connect::new(V5, "s");
        c.properties.topic_alias_maximum = Some(2);
        let (mut s, _) = Client::connect_with(b.addr(), c).await;
        s.subscribe("ab/#", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for _ in 0..3 {
            p.publish("ab/some/topic", b"x", QoS::AtLeastOnce, false)
                .await;
        }
        let first = s.recv_publish().await;
        assert_eq!(first.topic.as_str(), "ab/some/topic");
        let alias = first
            .properties
            .topic_alias
            .expect("broker assigns an alias");
        assert!((1..=2).contains(&alias), "within the client's maximum");
        for _ in 0..2 {
            let next = s.recv_publish().await;
            assert_eq!(next.properties.topic_alias, Some(alias));
            assert!(next.topic.is_empty(), "known alias: empty topic");
        }
        // A client that announces no maximum gets no aliases.
        let mut plain = Client::connect(b.addr(), V5, "plain").await;
        plain.subscribe("ab/#", QoS::AtLeastOnce).await;
        p.publish("ab/some/topic", b"y", QoS::AtLeastOnce, false)
            .await;
        let got = plain.recv_publish().await;
        assert_eq!(got.properties.topic_alias, None);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_message_expiry() {
    within(async {
        let b = TestBroker::start("").await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("exp", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        let mut m = Publish::new("exp", Bytes::from_static(b"short"));
        m.qos = QoS::AtLeastOnce;
        m.properties.message_expiry_interval = Some(100);
        p.publish_packet(m).await;
        let got = s.recv_publish().await;
        let left = got
            .properties
            .message_expiry_interval
            .expect("expiry forwarded");
        assert!(left > 0 && left <= 100, "remaining lifetime {left}");

        // Expired while the session was offline: not delivered.
        let (mut o, _) = Client::connect_with(b.addr(), persistent_connect(V5, "off")).await;
        o.subscribe("exp/off", QoS::AtLeastOnce).await;
        o.disconnect().await;
        b.wait_offline(1).await;
        let mut m = Publish::new("exp/off", Bytes::from_static(b"dies"));
        m.qos = QoS::AtLeastOnce;
        m.properties.message_expiry_interval = Some(1);
        p.publish_packet(m).await;
        let mut m = Publish::new("exp/off", Bytes::from_static(b"lives"));
        m.qos = QoS::AtLeastOnce;
        m.properties.message_expiry_interval = Some(600);
        p.publish_packet(m).await;
        // Waiting for the lifetime to pass is the point of this test.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (mut o, ack) = Client::connect_with(b.addr(), persistent_connect(V5, "off")).await;
        assert!(ack.session_present);
        assert_eq!(&o.recv_publish().await.payload[..], b"lives");
        o.expect_no_publish().await;

        // Expired retained messages are not sent either.
        let mut m = Publish::new("exp/ret", Bytes::from_static(b"old"));
        m.retain = true;
        m.properties.message_expiry_interval = Some(1);
        p.publish_packet(m).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let mut late = Client::connect(b.addr(), V5, "late").await;
        late.subscribe("exp/ret", QoS::AtLeastOnce).await;
        late.expect_no_publish().await;
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_inflight_messages_limits_unacked_deliveries() {
    within(async {
        let b = TestBroker::start("max_inflight_messages = 2\n").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("w", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        for i in 0..5u8 {
            p.publish("w", &[i], QoS::AtLeastOnce, false).await;
        }
        let first = s.recv_unacked(2).await;
        s.expect_no_publish().await; // window of 2
        let mut all: Vec<u8> = first.iter().map(|p| p.payload[0]).collect();
        s.ack(&first[0]).await;
        let third = s.recv_unacked(1).await;
        s.expect_no_publish().await; // one slot freed, one more message
        all.push(third[0].payload[0]);
        s.ack(&first[1]).await;
        s.ack(&third[0]).await;
        for m in s.recv_unacked(2).await {
            all.push(m.payload[0]);
            s.ack(&m).await;
        }
        assert_eq!(all, [0, 1, 2, 3, 4], "in order");
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_receive_maximum_of_the_client() {
    within(async {
        let b = TestBroker::start("").await;
        let mut c = Connect::new(V5, "s");
        c.properties.receive_maximum = Some(1);
        let (mut s, _) = Client::connect_with(b.addr(), c).await;
        s.subscribe("rm", QoS::ExactlyOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for i in 0..3u8 {
            p.publish("rm", &[i], QoS::AtLeastOnce, false).await;
        }
        for i in 0..3u8 {
            let got = s.recv_unacked(1).await;
            s.expect_no_publish().await; // one in flight at a time
            assert_eq!(got[0].payload[0], i);
            s.ack(&got[0]).await;
        }
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_outgoing_qos() {
    within(async {
        let b = TestBroker::start("upgrade_outgoing_qos = on\n").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("up", QoS::ExactlyOnce).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        p.publish("up", b"x", QoS::AtMostOnce, false).await;
        assert_eq!(s.recv_publish().await.qos, QoS::ExactlyOnce);
        b.stop().await;

        let b = TestBroker::start("").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("up", QoS::ExactlyOnce).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        p.publish("up", b"x", QoS::AtMostOnce, false).await;
        assert_eq!(s.recv_publish().await.qos, QoS::AtMostOnce, "default: min");
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_message_size_refuses_oversized_packets() {
    within(async {
        for version in [V4, V5] {
            let b = TestBroker::start("max_message_size = 200\n").await;
            let (mut p, ack) = Client::connect_with(b.addr(), Connect::new(version, "p")).await;
            if version.is_v5() {
                assert_eq!(ack.properties.maximum_packet_size, Some(200));
            }
            let mut s = Client::connect(b.addr(), version, "s").await;
            s.subscribe("big", QoS::AtLeastOnce).await;
            p.publish("big", &[1u8; 100], QoS::AtLeastOnce, false).await;
            assert_eq!(s.recv_publish().await.payload.len(), 100);
            p.send(Packet::Publish(Box::new(Publish::new(
                "big",
                Bytes::from(vec![2u8; 300]),
            ))))
            .await;
            let code = p.expect_disconnect().await;
            if version.is_v5() {
                assert_eq!(code, Some(ReasonCode::PacketTooLarge));
            }
            s.expect_no_publish().await;
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_offline_messages_drops_the_excess() {
    within(async {
        let b = TestBroker::start("max_offline_messages = 2\n").await;
        let (mut s, _) = Client::connect_with(b.addr(), persistent_connect(V4, "s")).await;
        s.subscribe("q", QoS::AtLeastOnce).await;
        s.disconnect().await;
        b.wait_offline(1).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        for i in 0..5u8 {
            p.publish("q", &[i], QoS::AtLeastOnce, false).await;
        }
        let (mut s, ack) = Client::connect_with(b.addr(), persistent_connect(V4, "s")).await;
        assert!(ack.session_present);
        s.recv_unacked(2).await;
        s.expect_no_publish().await; // the other 3 were dropped
        assert!(b.core().metrics.get(vmq_broker::Counter::QueueMessageDrop) >= 3);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_online_messages_drops_the_excess() {
    within(async {
        let b = TestBroker::start("max_online_messages = 2\nmax_inflight_messages = 1\n").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("q", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        let first_seen = {
            p.publish("q", &[0], QoS::AtLeastOnce, false).await;
            match s.recv().await {
                Packet::Publish(m) => m,
                other => panic!("unexpected {other:?}"),
            }
        };
        // One in flight (unacknowledged); the queue holds two more, the rest is dropped.
        for i in 1..8u8 {
            p.publish("q", &[i], QoS::AtLeastOnce, false).await;
        }
        s.ack(&first_seen).await;
        let mut total = 1;
        for _ in 0..2 {
            let m = s.recv_unacked(1).await;
            s.ack(&m[0]).await;
            total += 1;
        }
        s.expect_no_publish().await;
        assert_eq!(total, 3, "1 in flight + max_online_messages queued");
        let metrics = &b.core().metrics;
        assert!(metrics.get(vmq_broker::Counter::QueueMessageDrop) >= 5);
        assert_eq!(
            metrics.get(vmq_broker::Counter::PublishBackoff),
            0,
            "VerneMQ's behaviour by default: a publisher never waits for a subscriber"
        );
        b.stop().await;
    })
    .await;
}

/// Receives and acknowledges QoS 1 messages until `total` distinct payloads arrived (pausing
/// 2 ms after every `pause_every`, a subscriber slower than its publishers); their number.
async fn collect(mut s: Client, total: usize, pause_every: Option<usize>) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < total {
        let m = s.recv_unacked(1).await.remove(0);
        s.ack(&m).await;
        seen.insert(m.payload.clone());
        if pause_every.is_some_and(|n| seen.len() % n == 0) {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    seen.len()
}

/// Back-pressure did its job: nothing was dropped, and publishers were held back.
fn assert_held_back_not_dropped(b: &TestBroker) {
    let metrics = &b.core().metrics;
    assert_eq!(metrics.get(vmq_broker::Counter::QueueMessageDrop), 0);
    assert!(metrics.get(vmq_broker::Counter::PublishBackoff) > 0);
}

/// Writes `n` QoS 1 publishes to `topic` (packet ids 1..=n) without waiting for PUBACKs, then
/// waits for every PUBACK.
async fn qos1_burst(p: &mut Client, topic: &str, n: u16, payload: impl Fn(u16) -> Bytes) {
    for i in 0..n {
        let mut m = Publish::new(topic, payload(i));
        m.qos = QoS::AtLeastOnce;
        m.packet_id = i + 1;
        p.send(Packet::Publish(Box::new(m))).await;
    }
    for i in 0..n {
        p.wait_for(|a| matches!(a, Packet::PubAck(a) if a.packet_id == i + 1))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_falling_behind_slows_qos1_publisher_instead_of_dropping() {
    within(async {
        let b = TestBroker::start("max_online_messages = 50\npublish_backpressure = on\n").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("q", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        const N: u16 = 2000;
        let subscriber = tokio::spawn(collect(s, usize::from(N), None));
        // A burst far beyond max_online_messages, written without waiting for PUBACKs: without
        // back-pressure most of it would be dropped by the queue's policy.
        qos1_burst(&mut p, "q", N, |i| Bytes::copy_from_slice(&i.to_be_bytes())).await;
        assert_eq!(subscriber.await.expect("subscriber task"), usize::from(N));
        assert_held_back_not_dropped(&b);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_publishers_into_a_slow_subscriber_lose_nothing() {
    within(async {
        // Half of max_online_messages (50) is more than the publishers (30): each may add one
        // message after the queue comes under pressure before it is held back.
        let b = TestBroker::start("max_online_messages = 100\npublish_backpressure = on\n").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("q/#", QoS::AtLeastOnce).await;
        const PUBLISHERS: u16 = 30;
        const EACH: u16 = 100;
        let total = usize::from(PUBLISHERS * EACH);
        // A subscriber far slower than the publishers: a pause every 10 messages.
        let subscriber = tokio::spawn(collect(s, total, Some(10)));
        let mut publishers = Vec::new();
        for n in 0..PUBLISHERS {
            let mut p = Client::connect(b.addr(), V4, &format!("p{n}")).await;
            publishers.push(tokio::spawn(async move {
                let topic = format!("q/{n}");
                qos1_burst(&mut p, &topic, EACH, |i| Bytes::from(format!("{n}/{i}"))).await;
            }));
        }
        for p in publishers {
            p.await.expect("publisher task");
        }
        assert_eq!(subscriber.await.expect("subscriber task"), total);
        assert_held_back_not_dropped(&b);
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos0_overload_drops_are_bounded_and_every_one_is_counted() {
    within(async {
        let b = TestBroker::start("max_online_messages = 100\n").await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("q", QoS::AtMostOnce).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        // The subscriber reads nothing while 20,000 QoS 0 messages of 1 KiB arrive: far more
        // than its queue, the connection's write buffer and the socket buffers hold.
        const N: usize = 20_000;
        let payload = Bytes::from(vec![7u8; 1024]);
        for _ in 0..N {
            p.send(Packet::Publish(Box::new(Publish::new(
                "q",
                payload.clone(),
            ))))
            .await;
        }
        // A PINGRESP behind them: the broker has handled every publish.
        p.send(Packet::PingReq).await;
        p.wait_for(|a| matches!(a, Packet::PingResp)).await;
        let mut received = 0usize;
        while let Ok(packet) = s.try_recv(QUIET).await {
            if matches!(packet, Packet::Publish(_)) {
                received += 1;
            }
        }
        let dropped = b.core().metrics.get(vmq_broker::Counter::QueueMessageDrop) as usize;
        assert!(
            received > 0 && dropped > 0,
            "received {received}, dropped {dropped}"
        );
        assert_eq!(
            received + dropped,
            N,
            "every message delivered or counted as dropped"
        );
        b.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_refused_without_auth_plugin() {
    within(async {
        for version in VERSIONS {
            let b = TestBroker::start("allow_anonymous = off\n").await;
            let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(version, "anon")).await;
            assert_eq!(ack.reason_code, ReasonCode::NotAuthorized, "{version:?}");
            assert!(!ack.session_present);
            c.expect_closed().await;
            b.stop().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v5_assigned_client_identifier() {
    within(async {
        let b = TestBroker::start("").await;
        let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(V5, "")).await;
        assert_eq!(ack.reason_code, ReasonCode::Success);
        let id = ack
            .properties
            .assigned_client_identifier
            .expect("assigned client identifier");
        assert!(!id.is_empty());
        c.subscribe("t", QoS::AtMostOnce).await;
        b.stop().await;
    })
    .await;
}
