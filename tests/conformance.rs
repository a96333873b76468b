//! Conformance: the normative statements of MQTT 5.0 (OASIS Standard, 7 March 2019) and
//! MQTT 3.1.1 (OASIS Standard, 29 October 2014) that bind a server, each checked by a test named
//! after it (`v5_mqtt_3_1_0_1_...` for `MQTT-3.1.0-1` of 5.0, `v311_...` for 3.1.1), over real
//! sockets against a broker of its own.
//!
//! Statements that apply to a server but are not claimed here, and why:
//! - MQTT-3.1.2-28 / -29 (response information, request problem information = 0): the broker
//!   sends neither response information nor reason strings on acks yet, so there is nothing to
//!   suppress; a test would pass vacuously.
//! - MQTT-3.1.3-5 (allow 1..23 alphanumeric ids): implied by every test; not separately listed.
//! - MQTT-3.2.2-9 / -10 / -12 / -13 (Maximum QoS, Retain Available = 0): the broker supports QoS
//!   2 and retained messages, so these conditions do not arise.
//! - MQTT-3.2.2-19 / -20 and every "MUST NOT send this property if it would exceed the Maximum
//!   Packet Size" (3.4.2-2, 3.5.2-2, ...): the broker sends no reason strings or user properties
//!   on acks, so the condition cannot be produced from outside.
//! - MQTT-3.3.4-6, -7, -8 and the other client-only rules (3.1.2-20/21, 3.2.2-4/5/11/14/15/17/18,
//!   4.6.0-1..4, 4.12.0-3/7, 4.12.1-1): they bind the client.
//! - MQTT-4.3.3-7 / -13 (QoS 2 and expiry on the sender side once sent): not observable without
//!   a fault-injecting client; covered by vmq-session's unit tests.
//! - MQTT-4.8.2-4 / -5 / -6 (shared subscription redelivery on reconnect, reason codes >= 0x80 on
//!   PUBACK from a shared subscriber): not implemented yet (VerneMQ re-queues to the group).
//! - MQTT-4.12.0-2 / -4 / -5, MQTT-4.12.1-2 (enhanced authentication exchange): no on_auth_m5
//!   plugin exists yet; only the refusal (4.12.0-1, 4.12.0-6) is claimed.
//! - MQTT-6.0.0-1..4 (WebSocket): no WebSocket listener in this build.
//! - MQTT-4.1.0-2 (discard the session when its expiry passes): takes the expiry interval of
//!   wall time; covered by the registry's virtual-clock tests rather than here.

use std::time::Duration;

use bytes::Bytes;
use vernemq_rs::*;
use vmq_codec::{RetainHandling, UserProperty, Utf8Str};

const V4: ProtocolVersion = ProtocolVersion::V3_1_1;
const V5: ProtocolVersion = ProtocolVersion::V5;

/// One test per statement: a broker of its own (with `extra` configuration), a deadline.
macro_rules! statement {
    ($(#[$doc:meta])* $name:ident, $extra:expr, |$b:ident| $body:block) => {
        $(#[$doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            within(async {
                let $b = TestBroker::start($extra).await;
                $body
                $b.stop().await;
            })
            .await;
        }
    };
}

/// A raw frame: `byte1`, the remaining length as a variable byte integer, `body`.
fn frame(byte1: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![byte1];
    let mut len = body.len();
    loop {
        let mut digit = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            digit |= 0x80;
        }
        out.push(digit);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// A CONNECT body with `name`, `level`, `flags`, keep alive 60 and client id `c` (a v5
/// property length of 0 when `level == 5`).
fn connect_body(name: &[u8], level: u8, flags: u8) -> Vec<u8> {
    let mut b = vec![0, name.len() as u8];
    b.extend_from_slice(name);
    b.extend_from_slice(&[level, flags, 0, 60]);
    if level == 5 {
        b.push(0);
    }
    b.extend_from_slice(&[0, 1, b'c']);
    b
}

/// Connects a client of `version`, sends `raw` and asserts the server closes the connection;
/// returns the DISCONNECT reason code, if one was sent.
async fn closes_on(b: &TestBroker, version: ProtocolVersion, raw: &[u8]) -> Option<ReasonCode> {
    let mut c = Client::connect(b.addr(), version, "offender").await;
    c.send_raw(raw).await;
    let code = c.expect_disconnect().await;
    if let Some(code) = code {
        assert!(code.as_u8() >= 0x80, "an error DISCONNECT, got {code:?}");
    }
    code
}

/// A broker that still serves others after a connection was closed.
async fn still_serving(b: &TestBroker) {
    let mut c = Client::connect(b.addr(), V5, "bystander").await;
    c.send(Packet::PingReq).await;
    assert_eq!(c.recv().await, Packet::PingResp);
}

fn persistent(version: ProtocolVersion, id: &str, clean: bool) -> Connect {
    let mut c = Connect::new(version, id);
    c.clean_start = clean;
    if version.is_v5() {
        c.properties.session_expiry_interval = Some(300);
    }
    c
}

fn qos1(topic: &str, payload: &'static [u8]) -> Publish {
    let mut p = Publish::new(topic, Bytes::from_static(payload));
    p.qos = QoS::AtLeastOnce;
    p
}

// ------------------------------------------------------------------ MQTT 5.0: CONNECT

statement!(
    /// MQTT-3.1.0-1: the first packet from the client must be CONNECT.
    v5_mqtt_3_1_0_1_first_packet_must_be_connect, "", |b| {
        let mut c = Client::tcp(b.addr(), V5).await;
        c.send(Packet::PingReq).await;
        let got = c.expect_closed().await;
        assert!(!got.contains(&Packet::PingResp), "no answer before CONNECT: {got:?}");
    }
);

statement!(
    /// MQTT-3.1.0-2: a second CONNECT is a protocol error and closes the connection.
    v5_mqtt_3_1_0_2_second_connect_is_protocol_error, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "twice").await;
        c.send(Packet::Connect(Box::new(Connect::new(V5, "twice")))).await;
        let got = c.expect_closed().await;
        assert!(
            got.iter().all(|p| !matches!(p, Packet::ConnAck(_))),
            "MQTT-3.2.0-2: no second CONNACK: {got:?}"
        );
        let codes: Vec<_> = got
            .iter()
            .filter_map(|p| match p { Packet::Disconnect(d) => Some(d.reason_code), _ => None })
            .collect();
        assert_eq!(codes, [ReasonCode::ProtocolError]);
    }
);

statement!(
    /// MQTT-3.2.0-2: the server sends no more than one CONNACK on a connection.
    v5_mqtt_3_2_0_2_one_connack_only, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "once").await;
        c.send(Packet::Connect(Box::new(Connect::new(V5, "once")))).await;
        let got = c.expect_closed().await;
        assert!(got.iter().all(|p| !matches!(p, Packet::ConnAck(_))), "{got:?}");
    }
);

statement!(
    /// MQTT-3.1.2-1: a protocol name other than "MQTT" is refused (CONNACK 0x84 allowed) and
    /// the connection closed.
    v5_mqtt_3_1_2_1_protocol_name, "", |b| {
        let mut c = Client::tcp(b.addr(), V5).await;
        c.send_raw(&frame(0x10, &connect_body(b"MQTX", 5, 0x02))).await;
        // The version is unknown with an unknown name: either silence or a refusing CONNACK
        // (0x84 in 5.0 format, or 0x01 in 3.1.1 format), then the close.
        let raw = c.raw_until_closed().await;
        if !raw.is_empty() {
            assert_eq!(raw[0], 0x20, "a CONNACK: {raw:?}");
            assert!(matches!(raw.get(3), Some(0x01) | Some(0x84)), "a refusal: {raw:?}");
        }
    }
);

statement!(
    /// MQTT-3.1.2-2: a protocol version the server does not accept gets CONNACK 0x84 (5.0) and
    /// the connection is closed.
    v5_mqtt_3_1_2_2_unsupported_protocol_version,
    "listener.tcp.default.allowed_protocol_versions = 3,4\n",
    |b| {
        let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(V5, "v5")).await;
        assert_eq!(ack.reason_code, ReasonCode::UnsupportedProtocolVersion);
        c.expect_closed().await;
    }
);

statement!(
    /// MQTT-3.1.2-3: the reserved CONNECT flag must be 0; otherwise the packet is malformed.
    v5_mqtt_3_1_2_3_connect_reserved_flag, "", |b| {
        let mut c = Client::tcp(b.addr(), V5).await;
        c.send_raw(&frame(0x10, &connect_body(b"MQTT", 5, 0x03))).await;
        for p in c.expect_closed().await {
            match p {
                Packet::ConnAck(a) => assert_eq!(a.reason_code, ReasonCode::MalformedPacket),
                other => panic!("unexpected {other:?}"),
            }
        }
        still_serving(&b).await;
    }
);

statement!(
    /// MQTT-3.1.2-4: Clean Start 1 discards an existing session.
    v5_mqtt_3_1_2_4_clean_start_discards_session, "", |b| {
        let (mut c, _) = Client::connect_with(b.addr(), persistent(V5, "cs", false)).await;
        c.subscribe("cs/t", QoS::AtLeastOnce).await;
        c.disconnect().await;
        b.wait_offline(1).await;
        let (mut c, ack) = Client::connect_with(b.addr(), persistent(V5, "cs", true)).await;
        assert!(!ack.session_present);
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("cs/t", b"x", QoS::AtLeastOnce, false).await;
        c.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.1.2-5: Clean Start 0 resumes the existing session (subscriptions and queue).
    v5_mqtt_3_1_2_5_clean_start_0_resumes, "", |b| {
        let (mut c, _) = Client::connect_with(b.addr(), persistent(V5, "rs", false)).await;
        c.subscribe("rs/t", QoS::AtLeastOnce).await;
        c.disconnect().await;
        b.wait_offline(1).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("rs/t", b"queued", QoS::AtLeastOnce, false).await;
        let (mut c, ack) = Client::connect_with(b.addr(), persistent(V5, "rs", false)).await;
        assert!(ack.session_present);
        assert_eq!(&c.recv_publish().await.payload[..], b"queued");
        p.publish("rs/t", b"live", QoS::AtLeastOnce, false).await;
        assert_eq!(&c.recv_publish().await.payload[..], b"live");
    }
);

statement!(
    /// MQTT-3.1.2-6: Clean Start 0 without a session creates a new one (session present 0).
    v5_mqtt_3_1_2_6_clean_start_0_new_session, "", |b| {
        let (_c, ack) = Client::connect_with(b.addr(), persistent(V5, "fresh", false)).await;
        assert_eq!(ack.reason_code, ReasonCode::Success);
        assert!(!ack.session_present);
    }
);

async fn will_watch(b: &TestBroker) -> Client {
    let mut w = Client::connect(b.addr(), V5, "watch").await;
    w.subscribe("w/#", QoS::AtLeastOnce).await;
    w
}

statement!(
    /// MQTT-3.1.2-8: the will is published after the network connection closes without
    /// DISCONNECT.
    v5_mqtt_3_1_2_8_will_published_on_close, "", |b| {
        let mut w = will_watch(&b).await;
        let mut c = Connect::new(V5, "dies");
        c.will = Some(will("w/dies", b"gone", QoS::AtLeastOnce, false));
        Client::connect_with(b.addr(), c).await.0.drop_connection();
        assert_eq!(&w.recv_publish().await.payload[..], b"gone");
    }
);

statement!(
    /// MQTT-3.1.2-10 (and MQTT-3.14.4-3): DISCONNECT 0x00 removes the will unpublished.
    v5_mqtt_3_1_2_10_will_removed_on_normal_disconnect, "", |b| {
        let mut w = will_watch(&b).await;
        let mut c = Connect::new(V5, "polite");
        c.will = Some(will("w/polite", b"never", QoS::AtLeastOnce, false));
        Client::connect_with(b.addr(), c).await.0.disconnect().await;
        b.wait_online(1).await;
        w.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.14.4-3: on DISCONNECT 0x00 the server discards the will.
    v5_mqtt_3_14_4_3_disconnect_discards_will, "", |b| {
        let mut w = will_watch(&b).await;
        let mut c = Connect::new(V5, "polite");
        c.will = Some(will("w/polite", b"never", QoS::AtMostOnce, true));
        Client::connect_with(b.addr(), c).await.0
            .disconnect_with(Disconnect::new(ReasonCode::Success)).await;
        b.wait_online(1).await;
        w.expect_no_publish().await;
        assert!(b.core().retained.is_empty(), "not retained either");
    }
);

statement!(
    /// MQTT-3.1.2-14: a will with Will Retain 0 is published as a non-retained message.
    v5_mqtt_3_1_2_14_will_not_retained, "", |b| {
        let mut w = will_watch(&b).await;
        let mut c = Connect::new(V5, "d");
        c.will = Some(will("w/nr", b"x", QoS::AtLeastOnce, false));
        Client::connect_with(b.addr(), c).await.0.drop_connection();
        assert!(!w.recv_publish().await.retain);
        assert!(b.core().retained.is_empty());
    }
);

statement!(
    /// MQTT-3.1.2-15: a will with Will Retain 1 is published as a retained message.
    v5_mqtt_3_1_2_15_will_retained, "", |b| {
        let mut c = Connect::new(V5, "d");
        c.will = Some(will("w/r", b"kept", QoS::AtLeastOnce, true));
        Client::connect_with(b.addr(), c).await.0.drop_connection();
        b.wait_online(0).await;
        let core = b.core().clone();
        eventually("will stored as retained", || core.retained.len() == 1).await;
        let mut late = Client::connect(b.addr(), V5, "late").await;
        late.subscribe("w/r", QoS::AtLeastOnce).await;
        let got = late.recv_publish().await;
        assert!(got.retain);
        assert_eq!(&got.payload[..], b"kept");
    }
);

statement!(
    /// MQTT-3.1.2-22: no packet within 1.5 x Keep Alive closes the connection.
    v5_mqtt_3_1_2_22_keep_alive, "", |b| {
        let mut c = Connect::new(V5, "idle");
        c.keep_alive = 1;
        let (mut c, _) = Client::connect_with(b.addr(), c).await;
        let start = tokio::time::Instant::now();
        assert_eq!(c.expect_disconnect().await, Some(ReasonCode::KeepAliveTimeout));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1400), "not before 1.5 s: {took:?}");
    }
);

statement!(
    /// MQTT-3.1.2-23: the session is stored after the connection closes when Session Expiry
    /// Interval > 0 (here an abrupt close).
    v5_mqtt_3_1_2_23_session_stored_after_close, "", |b| {
        let (mut c, _) = Client::connect_with(b.addr(), persistent(V5, "st", true)).await;
        c.subscribe("st", QoS::AtLeastOnce).await;
        c.drop_connection();
        b.wait_offline(1).await;
        let (_c, ack) = Client::connect_with(b.addr(), persistent(V5, "st", false)).await;
        assert!(ack.session_present);
    }
);

statement!(
    /// MQTT-3.1.2-24: the server does not send packets larger than the client's Maximum Packet
    /// Size.
    v5_mqtt_3_1_2_24_respects_client_maximum_packet_size, "", |b| {
        let mut c = Connect::new(V5, "small");
        c.properties.maximum_packet_size = Some(64);
        let (mut s, _) = Client::connect_with(b.addr(), c).await;
        s.subscribe("mps", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("mps", &[7u8; 200], QoS::AtLeastOnce, false).await;
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.1.2-25: a message too large for the client is discarded as if delivered; the
    /// next one still arrives.
    v5_mqtt_3_1_2_25_too_large_discarded_then_continue, "", |b| {
        let mut c = Connect::new(V5, "small");
        c.properties.maximum_packet_size = Some(64);
        let (mut s, _) = Client::connect_with(b.addr(), c).await;
        s.subscribe("mps", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("mps", &[7u8; 200], QoS::AtLeastOnce, false).await;
        p.publish("mps", b"small", QoS::AtLeastOnce, false).await;
        assert_eq!(&s.recv_publish().await.payload[..], b"small");
    }
);

statement!(
    /// MQTT-3.1.2-26 (and MQTT-3.3.2-11): no Topic Alias above the client's Topic Alias
    /// Maximum.
    v5_mqtt_3_1_2_26_topic_alias_within_client_maximum, "topic_alias_max_broker = 100\n", |b| {
        let mut c = Connect::new(V5, "s");
        c.properties.topic_alias_maximum = Some(2);
        let (mut s, _) = Client::connect_with(b.addr(), c).await;
        s.subscribe("ta/#", QoS::AtMostOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for i in 0..6 {
            p.publish(&format!("ta/{i}"), b"x", QoS::AtLeastOnce, false).await;
        }
        for _ in 0..6 {
            let got = s.recv_publish().await;
            if let Some(a) = got.properties.topic_alias {
                assert!((1..=2).contains(&a), "alias {a}");
            }
        }
    }
);

statement!(
    /// MQTT-3.1.2-27: without a Topic Alias Maximum from the client, no Topic Alias is sent.
    v5_mqtt_3_1_2_27_no_topic_alias_without_maximum, "topic_alias_max_broker = 100\n", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("ta/#", QoS::AtMostOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for _ in 0..3 {
            p.publish("ta/same", b"x", QoS::AtLeastOnce, false).await;
            assert_eq!(s.recv_publish().await.properties.topic_alias, None);
        }
    }
);

statement!(
    /// MQTT-3.1.3-7 (and MQTT-3.1.3-6, MQTT-3.2.2-16): a zero-length client id gets a unique
    /// Assigned Client Identifier in CONNACK.
    v5_mqtt_3_1_3_7_assigned_client_identifier, "", |b| {
        let (_a, ack_a) = Client::connect_with(b.addr(), Connect::new(V5, "")).await;
        let (_b, ack_b) = Client::connect_with(b.addr(), Connect::new(V5, "")).await;
        let a = ack_a.properties.assigned_client_identifier.expect("assigned id");
        let z = ack_b.properties.assigned_client_identifier.expect("assigned id");
        assert!(!a.is_empty());
        assert_ne!(a, z, "unique");
        b.wait_online(2).await;
    }
);

statement!(
    /// MQTT-3.1.3-8: a rejected client id gets CONNACK 0x85 and the connection is closed.
    v5_mqtt_3_1_3_8_rejected_client_id, "max_client_id_size = 8\n", |b| {
        let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(V5, "much-too-long")).await;
        assert_eq!(ack.reason_code, ReasonCode::ClientIdentifierNotValid);
        c.expect_closed().await;
    }
);

statement!(
    /// MQTT-3.1.3-9: a new connection for the session before the Will Delay Interval passes
    /// means the will is not sent.
    v5_mqtt_3_1_3_9_reconnect_within_will_delay, "", |b| {
        let mut w = will_watch(&b).await;
        let mut c = persistent(V5, "wd", true);
        let mut lw = will("w/wd", b"no", QoS::AtLeastOnce, false);
        lw.properties.will_delay_interval = Some(2);
        c.will = Some(lw);
        Client::connect_with(b.addr(), c).await.0.drop_connection();
        b.wait_offline(1).await;
        let (_back, ack) = Client::connect_with(b.addr(), persistent(V5, "wd", false)).await;
        assert!(ack.session_present);
        let r = w.try_recv(Duration::from_secs(3)).await;
        assert!(!matches!(r, Ok(Packet::Publish(_))), "will not sent: {r:?}");
    }
);

statement!(
    /// MQTT-3.1.4-3: a second connection with the same client id makes the server send
    /// DISCONNECT 0x8E to the first and close it.
    v5_mqtt_3_1_4_3_session_taken_over, "", |b| {
        let mut first = Client::connect(b.addr(), V5, "same").await;
        let _second = Client::connect(b.addr(), V5, "same").await;
        assert_eq!(first.expect_disconnect().await, Some(ReasonCode::SessionTakenOver));
    }
);

statement!(
    /// MQTT-3.14.2-2: a DISCONNECT sent by the server carries no Session Expiry Interval.
    v5_mqtt_3_14_2_2_no_session_expiry_in_server_disconnect, "", |b| {
        let mut first = Client::connect_with(b.addr(), persistent(V5, "same", true)).await.0;
        let _second = Client::connect(b.addr(), V5, "same").await;
        let d = first
            .expect_closed()
            .await
            .into_iter()
            .find_map(|p| match p { Packet::Disconnect(d) => Some(d), _ => None })
            .expect("DISCONNECT");
        assert_eq!(d.properties.session_expiry_interval, None);
    }
);

statement!(
    /// MQTT-3.1.4-6: after a refused CONNECT the server processes no further data.
    v5_mqtt_3_1_4_6_no_processing_after_refusal, "allow_anonymous = off\n", |b| {
        let mut c = Client::tcp(b.addr(), V5).await;
        let mut bytes = bytes::BytesMut::new();
        Packet::Connect(Box::new(Connect::new(V5, "x"))).encode(V5, &mut bytes).expect("encode");
        let mut p = Publish::new("refused/t", Bytes::from_static(b"x"));
        p.retain = true;
        Packet::Publish(Box::new(p)).encode(V5, &mut bytes).expect("encode");
        c.send_raw(&bytes).await;
        let got = c.expect_closed().await;
        assert!(matches!(&got[..], [Packet::ConnAck(a)] if a.reason_code == ReasonCode::NotAuthorized), "{got:?}");
        assert!(b.core().retained.is_empty(), "the PUBLISH was not processed");
    }
);

statement!(
    /// MQTT-3.2.0-1: the first packet from the server is CONNACK.
    v5_mqtt_3_2_0_1_connack_first, "", |b| {
        let mut c = Client::tcp(b.addr(), V5).await;
        let mut bytes = bytes::BytesMut::new();
        Packet::Connect(Box::new(Connect::new(V5, "x"))).encode(V5, &mut bytes).expect("encode");
        Packet::PingReq.encode(V5, &mut bytes).expect("encode");
        c.send_raw(&bytes).await;
        assert!(matches!(c.recv().await, Packet::ConnAck(_)));
        assert_eq!(c.recv().await, Packet::PingResp);
    }
);

statement!(
    /// MQTT-3.2.2-2: Clean Start 1 gives Session Present 0 even when a session existed.
    v5_mqtt_3_2_2_2_clean_start_session_present_0, "", |b| {
        Client::connect_with(b.addr(), persistent(V5, "sp", true)).await.0.disconnect().await;
        b.wait_offline(1).await;
        let (_c, ack) = Client::connect_with(b.addr(), persistent(V5, "sp", true)).await;
        assert!(!ack.session_present);
    }
);

statement!(
    /// MQTT-3.2.2-3: Clean Start 0 with a stored session gives Session Present 1, without one 0.
    v5_mqtt_3_2_2_3_session_present, "", |b| {
        let (c, ack) = Client::connect_with(b.addr(), persistent(V5, "sp", false)).await;
        assert!(!ack.session_present);
        c.disconnect().await;
        b.wait_offline(1).await;
        let (_c, ack) = Client::connect_with(b.addr(), persistent(V5, "sp", false)).await;
        assert!(ack.session_present);
        assert_eq!(ack.reason_code, ReasonCode::Success);
    }
);

statement!(
    /// MQTT-3.2.2-6: a CONNACK with a non-zero reason code has Session Present 0.
    v5_mqtt_3_2_2_6_refusal_session_present_0, "allow_anonymous = off\n", |b| {
        let (_c, ack) = Client::connect_with(b.addr(), persistent(V5, "sp", false)).await;
        assert_eq!(ack.reason_code, ReasonCode::NotAuthorized);
        assert!(!ack.session_present);
    }
);

statement!(
    /// MQTT-3.2.2-7 (and MQTT-4.13.2-1): after a CONNACK >= 0x80 the connection is closed.
    v5_mqtt_3_2_2_7_refusal_closes, "allow_anonymous = off\n", |b| {
        let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(V5, "x")).await;
        assert!(ack.reason_code.as_u8() >= 0x80);
        c.expect_closed().await;
    }
);

statement!(
    /// MQTT-3.14.0-1: no DISCONNECT before a successful CONNACK (a refused CONNECT gets the
    /// CONNACK alone).
    v5_mqtt_3_14_0_1_no_disconnect_before_connack, "allow_anonymous = off\n", |b| {
        let (mut c, _) = Client::connect_with(b.addr(), Connect::new(V5, "x")).await;
        let rest = c.expect_closed().await;
        assert!(rest.is_empty(), "nothing after the refusal: {rest:?}");
    }
);

// ------------------------------------------------------------------ MQTT 5.0: PUBLISH

statement!(
    /// MQTT-3.3.1-4: a PUBLISH with both QoS bits set is malformed.
    v5_mqtt_3_3_1_4_qos_3_malformed, "", |b| {
        let code = closes_on(&b, V5, &frame(0x36, &[0, 1, b't', 0, 1, 0])).await;
        assert_eq!(code, Some(ReasonCode::MalformedPacket));
        still_serving(&b).await;
    }
);

statement!(
    /// MQTT-3.3.1-5: RETAIN 1 stores the message, replacing the previous one.
    v5_mqtt_3_3_1_5_retain_replaces, "", |b| {
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("r", b"one", QoS::AtLeastOnce, true).await;
        p.publish("r", b"two", QoS::AtLeastOnce, true).await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("r", QoS::AtLeastOnce).await;
        assert_eq!(&s.recv_publish().await.payload[..], b"two");
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.3.1-6 (and MQTT-3.3.1-7): a zero-byte retained message removes the retained
    /// message and is not stored.
    v5_mqtt_3_3_1_6_empty_retained_removes, "", |b| {
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("r", b"one", QoS::AtLeastOnce, true).await;
        p.publish("r", b"", QoS::AtLeastOnce, true).await;
        assert!(b.core().retained.is_empty());
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("r", QoS::AtLeastOnce).await;
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.3.1-8: RETAIN 0 neither stores nor removes a retained message.
    v5_mqtt_3_3_1_8_retain_0_leaves_retained, "", |b| {
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("r", b"kept", QoS::AtLeastOnce, true).await;
        p.publish("r", b"plain", QoS::AtLeastOnce, false).await;
        p.publish("r", b"", QoS::AtLeastOnce, false).await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("r", QoS::AtLeastOnce).await;
        assert_eq!(&s.recv_publish().await.payload[..], b"kept");
    }
);

fn rh(h: RetainHandling) -> SubscriptionOptions {
    let mut o = SubscriptionOptions::new(QoS::AtLeastOnce);
    o.retain_handling = h;
    o
}

statement!(
    /// MQTT-3.3.1-9: Retain Handling 0 sends the retained messages at every subscribe.
    v5_mqtt_3_3_1_9_retain_handling_0, "", |b| {
        Client::connect(b.addr(), V5, "p").await.publish("r", b"m", QoS::AtLeastOnce, true).await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        for _ in 0..2 {
            s.subscribe_opts("r", rh(RetainHandling::SendAtSubscribe)).await;
            assert_eq!(&s.recv_publish().await.payload[..], b"m");
        }
    }
);

statement!(
    /// MQTT-3.3.1-10: Retain Handling 1 sends them only when the subscription is new.
    v5_mqtt_3_3_1_10_retain_handling_1, "", |b| {
        Client::connect(b.addr(), V5, "p").await.publish("r", b"m", QoS::AtLeastOnce, true).await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe_opts("r", rh(RetainHandling::SendAtSubscribeIfNew)).await;
        assert_eq!(&s.recv_publish().await.payload[..], b"m");
        s.subscribe_opts("r", rh(RetainHandling::SendAtSubscribeIfNew)).await;
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.3.1-11: Retain Handling 2 sends no retained messages.
    v5_mqtt_3_3_1_11_retain_handling_2, "", |b| {
        Client::connect(b.addr(), V5, "p").await.publish("r", b"m", QoS::AtLeastOnce, true).await;
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe_opts("r", rh(RetainHandling::DoNotSend)).await;
        s.expect_no_publish().await;
    }
);

async fn retain_flag_forwarded(b: &TestBroker, rap: bool) -> bool {
    let mut s = Client::connect(b.addr(), V5, "s").await;
    let mut o = SubscriptionOptions::new(QoS::AtLeastOnce);
    o.retain_as_published = rap;
    s.subscribe_opts("rap", o).await;
    Client::connect(b.addr(), V5, "p")
        .await
        .publish("rap", b"m", QoS::AtLeastOnce, true)
        .await;
    s.recv_publish().await.retain
}

statement!(
    /// MQTT-3.3.1-12: Retain As Published 0 forwards with RETAIN 0.
    v5_mqtt_3_3_1_12_retain_as_published_0, "", |b| {
        assert!(!retain_flag_forwarded(&b, false).await);
    }
);

statement!(
    /// MQTT-3.3.1-13: Retain As Published 1 forwards the RETAIN flag as published.
    v5_mqtt_3_3_1_13_retain_as_published_1, "", |b| {
        assert!(retain_flag_forwarded(&b, true).await);
    }
);

statement!(
    /// MQTT-3.3.2-2 (and MQTT-4.7.0-1): a topic name with wildcards is refused and the
    /// connection closed.
    v5_mqtt_3_3_2_2_no_wildcards_in_topic_name, "", |b| {
        closes_on(&b, V5, &frame(0x30, &[0, 3, b'a', b'/', b'+', 0, b'x'])).await;
        closes_on(&b, V5, &frame(0x30, &[0, 3, b'a', b'/', b'#', 0, b'x'])).await;
        still_serving(&b).await;
    }
);

statement!(
    /// MQTT-3.3.2-3: the topic name sent to a subscriber matches its filter (and is the
    /// published one, MQTT-4.7.3-4: no normalisation).
    v5_mqtt_3_3_2_3_topic_name_matches_filter, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("a/+/c", QoS::AtMostOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for t in ["a/b/c", "a/ü/c", "a//c", "a/b/c/d", "A/b/c"] {
            p.publish(t, t.as_bytes(), QoS::AtLeastOnce, false).await;
        }
        for t in ["a/b/c", "a/ü/c", "a//c"] {
            assert_eq!(s.recv_publish().await.topic.as_str(), t);
        }
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.3.2-4 (and -15, -16, -17, -18, -20): Payload Format Indicator, Response Topic,
    /// Correlation Data, User Properties (in order) and Content Type are forwarded unaltered.
    v5_mqtt_3_3_2_4_properties_forwarded_unaltered, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("props", QoS::AtLeastOnce).await;
        let mut m = qos1("props", b"{}");
        m.properties.payload_format_indicator = Some(1);
        m.properties.response_topic = Some(Utf8Str::from("reply/here"));
        m.properties.correlation_data = Some(Bytes::from_static(&[1, 2, 3]));
        m.properties.content_type = Some(Utf8Str::from("application/json"));
        let ups: Vec<UserProperty> = [("b", "1"), ("a", "2"), ("b", "3")]
            .iter()
            .map(|(k, v)| (Utf8Str::from(*k), Utf8Str::from(*v)))
            .collect();
        m.properties.user_properties = ups.clone();
        Client::connect(b.addr(), V5, "p").await.publish_packet(m).await;
        let got = s.recv_publish().await;
        assert_eq!(got.properties.payload_format_indicator, Some(1));
        assert_eq!(got.properties.response_topic.as_deref(), Some("reply/here"));
        assert_eq!(got.properties.correlation_data.as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(got.properties.content_type.as_deref(), Some("application/json"));
        assert_eq!(got.properties.user_properties, ups, "MQTT-3.3.2-18: order kept");
    }
);

statement!(
    /// MQTT-3.3.2-5: a message whose expiry passed before delivery started is deleted.
    v5_mqtt_3_3_2_5_expired_message_deleted, "", |b| {
        let (c, _) = Client::connect_with(b.addr(), persistent(V5, "late", true)).await;
        let mut c = c;
        c.subscribe("exp", QoS::AtLeastOnce).await;
        c.disconnect().await;
        b.wait_offline(1).await;
        let mut m = qos1("exp", b"dies");
        m.properties.message_expiry_interval = Some(1);
        Client::connect(b.addr(), V5, "p").await.publish_packet(m).await;
        // The point of this statement is time passing.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (mut c, ack) = Client::connect_with(b.addr(), persistent(V5, "late", false)).await;
        assert!(ack.session_present);
        c.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.3.2-6: the forwarded Message Expiry Interval is the received one minus the time
    /// the message waited in the server.
    v5_mqtt_3_3_2_6_expiry_decremented, "", |b| {
        let (mut c, _) = Client::connect_with(b.addr(), persistent(V5, "w", true)).await;
        c.subscribe("exp", QoS::AtLeastOnce).await;
        c.disconnect().await;
        b.wait_offline(1).await;
        let mut m = qos1("exp", b"waits");
        m.properties.message_expiry_interval = Some(60);
        Client::connect(b.addr(), V5, "p").await.publish_packet(m).await;
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (mut c, _) = Client::connect_with(b.addr(), persistent(V5, "w", false)).await;
        let left = c.recv_publish().await.properties.message_expiry_interval.expect("expiry");
        assert!((1..=58).contains(&left), "60 s minus the ~2 s waited, got {left}");
    }
);

statement!(
    /// MQTT-3.3.2-7: topic alias mappings do not survive the connection.
    v5_mqtt_3_3_2_7_aliases_per_connection, "topic_alias_max_client = 10\n", |b| {
        let mut p = Client::connect(b.addr(), V5, "p").await;
        let mut m = qos1("alias/t", b"1");
        m.properties.topic_alias = Some(1);
        p.publish_packet(m).await;
        p.disconnect().await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        let mut m = Publish::new("", Bytes::from_static(b"2"));
        m.properties.topic_alias = Some(1);
        p.send(Packet::Publish(Box::new(m))).await;
        assert_eq!(p.expect_disconnect().await, Some(ReasonCode::ProtocolError));
    }
);

statement!(
    /// MQTT-3.3.2-12: the server accepts every Topic Alias from 1 to the maximum it returned
    /// (and MQTT-3.3.2-8 / -9 violations, 0 or above the maximum, are refused with 0x94).
    v5_mqtt_3_3_2_12_accepts_aliases_up_to_maximum, "topic_alias_max_client = 3\n", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("al/#", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for a in 1..=3u16 {
            let mut m = qos1(&format!("al/{a}"), b"x");
            m.properties.topic_alias = Some(a);
            assert!(p.publish_packet(m).await.is_success());
        }
        for a in 1..=3u16 {
            let mut m = qos1("", b"y");
            m.properties.topic_alias = Some(a);
            p.publish_packet(m).await;
        }
        let mut topics = Vec::new();
        for _ in 0..6 {
            topics.push(s.recv_publish().await.topic.as_str().to_owned());
        }
        assert_eq!(topics, ["al/1", "al/2", "al/3", "al/1", "al/2", "al/3"]);
        let mut m = Publish::new("al/0", Bytes::new());
        m.properties.topic_alias = Some(0);
        let mut bad = Client::connect(b.addr(), V5, "bad").await;
        bad.send(Packet::Publish(Box::new(m))).await;
        assert_eq!(bad.expect_disconnect().await, Some(ReasonCode::TopicAliasInvalid));
    }
);

statement!(
    /// MQTT-3.3.4-1 (and MQTT-4.3.2-4, MQTT-4.3.3-8, MQTT-4.3.3-11): the server answers a
    /// PUBLISH per its QoS with the same packet identifier.
    v5_mqtt_3_3_4_1_ack_per_qos, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "c").await;
        let mut m = qos1("ack", b"1");
        m.packet_id = 4242;
        c.send(Packet::Publish(Box::new(m))).await;
        assert!(matches!(c.recv().await, Packet::PubAck(a) if a.packet_id == 4242));
        let mut m = qos1("ack", b"2");
        m.qos = QoS::ExactlyOnce;
        m.packet_id = 77;
        c.send(Packet::Publish(Box::new(m))).await;
        assert!(matches!(c.recv().await, Packet::PubRec(a) if a.packet_id == 77));
        c.send(Packet::PubRel(PubRel::new(77))).await;
        assert!(matches!(c.recv().await, Packet::PubComp(a) if a.packet_id == 77));
        m = Publish::new("ack", Bytes::from_static(b"0"));
        c.send(Packet::Publish(Box::new(m))).await;
        c.send(Packet::PingReq).await;
        assert_eq!(c.recv().await, Packet::PingResp, "nothing for QoS 0");
    }
);

statement!(
    /// MQTT-3.3.4-2: overlapping subscriptions: delivered respecting the maximum QoS of all.
    v5_mqtt_3_3_4_2_overlap_max_qos, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("o/#", QoS::AtMostOnce).await;
        s.subscribe("o/+", QoS::ExactlyOnce).await;
        Client::connect(b.addr(), V5, "p").await.publish("o/x", b"m", QoS::ExactlyOnce, false).await;
        // One copy per subscription is allowed in 5.0; one of them carries QoS 2.
        loop {
            let p = s.recv_publish().await;
            if p.qos == QoS::ExactlyOnce {
                break;
            }
        }
    }
);

async fn sub_ids_received(b: &TestBroker) -> Vec<u32> {
    let mut s = Client::connect(b.addr(), V5, "s").await;
    for (id, f) in [(1u32, "si/#"), (2, "si/+")] {
        let mut sub = Subscribe::new(s.next_packet_id(), f, QoS::AtLeastOnce);
        sub.properties.subscription_identifier = Some(id);
        s.subscribe_packet(sub).await;
    }
    Client::connect(b.addr(), V5, "p")
        .await
        .publish("si/x", b"m", QoS::AtLeastOnce, false)
        .await;
    let mut ids = Vec::new();
    while ids.len() < 2 {
        ids.extend(s.recv_publish().await.properties.subscription_identifiers);
    }
    s.expect_no_publish().await;
    ids.sort_unstable();
    ids
}

statement!(
    /// MQTT-3.3.4-3: the subscription identifiers of the overlapping subscriptions are sent.
    v5_mqtt_3_3_4_3_subscription_identifiers_sent, "", |b| {
        assert_eq!(sub_ids_received(&b).await, [1, 2]);
    }
);

statement!(
    /// MQTT-3.3.4-4 / -5: a single copy carries all matching identifiers (or each copy its own).
    v5_mqtt_3_3_4_4_single_copy_all_identifiers, "", |b| {
        assert_eq!(sub_ids_received(&b).await, [1, 2]);
    }
);

statement!(
    /// MQTT-3.3.4-9 (and MQTT-4.9.0-2): no more unacknowledged QoS > 0 PUBLISHes than the
    /// client's Receive Maximum.
    v5_mqtt_3_3_4_9_receive_maximum, "", |b| {
        let mut c = Connect::new(V5, "s");
        c.properties.receive_maximum = Some(2);
        let (mut s, _) = Client::connect_with(b.addr(), c).await;
        s.subscribe("rm", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for i in 0..5u8 {
            p.publish("rm", &[i], QoS::AtLeastOnce, false).await;
        }
        let first = s.recv_unacked(2).await;
        s.expect_no_publish().await;
        s.ack(&first[0]).await;
        s.recv_unacked(1).await;
        s.expect_no_publish().await; // one freed slot, one more message
    }
);

statement!(
    /// MQTT-3.3.4-10 (and MQTT-4.9.0-3): with the send quota at zero, other packets (PINGRESP,
    /// SUBACK, PUBACK) are not delayed.
    v5_mqtt_3_3_4_10_other_packets_not_delayed, "", |b| {
        let mut c = Connect::new(V5, "s");
        c.properties.receive_maximum = Some(1);
        let (mut s, _) = Client::connect_with(b.addr(), c).await;
        s.subscribe("q", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("q", b"1", QoS::AtLeastOnce, false).await;
        p.publish("q", b"2", QoS::AtLeastOnce, false).await;
        s.recv_unacked(1).await;
        s.expect_no_publish().await;
        s.send(Packet::PingReq).await;
        assert_eq!(s.recv().await, Packet::PingResp);
        s.subscribe("other", QoS::AtLeastOnce).await;
        assert!(s.publish("x", b"y", QoS::AtLeastOnce, false).await.is_success());
    }
);

// ------------------------------------------------------------------ MQTT 5.0: acks, SUBSCRIBE

statement!(
    /// MQTT-3.6.1-1: a PUBREL with fixed header flags other than 0010 is malformed.
    v5_mqtt_3_6_1_1_pubrel_flags, "", |b| {
        closes_on(&b, V5, &frame(0x60, &[0, 1])).await;
        still_serving(&b).await;
    }
);

statement!(
    /// MQTT-3.8.1-1: a SUBSCRIBE with fixed header flags other than 0010 is malformed.
    v5_mqtt_3_8_1_1_subscribe_flags, "", |b| {
        closes_on(&b, V5, &frame(0x80, &[0, 1, 0, 0, 1, b't', 1])).await;
    }
);

statement!(
    /// MQTT-3.8.3-2: a SUBSCRIBE without any topic filter is a protocol error.
    v5_mqtt_3_8_3_2_subscribe_needs_a_filter, "", |b| {
        closes_on(&b, V5, &frame(0x82, &[0, 1, 0])).await;
    }
);

statement!(
    /// MQTT-3.8.3-3: No Local: not forwarded to the publishing connection.
    v5_mqtt_3_8_3_3_no_local, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "me").await;
        let mut o = SubscriptionOptions::new(QoS::AtLeastOnce);
        o.no_local = true;
        c.subscribe_opts("nl", o).await;
        c.publish("nl", b"mine", QoS::AtLeastOnce, false).await;
        c.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.8.3-4: No Local on a shared subscription is a protocol error.
    v5_mqtt_3_8_3_4_no_local_on_shared, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "me").await;
        let mut sub = Subscribe::new(1, "$share/g/t", QoS::AtLeastOnce);
        sub.filters[0].options.no_local = true;
        c.send(Packet::Subscribe(sub)).await;
        assert_eq!(c.expect_disconnect().await, Some(ReasonCode::ProtocolError));
    }
);

statement!(
    /// MQTT-3.8.3-5: reserved bits in the subscription options make the packet malformed.
    v5_mqtt_3_8_3_5_subscription_options_reserved_bits, "", |b| {
        let code = closes_on(&b, V5, &frame(0x82, &[0, 1, 0, 0, 1, b't', 0xC1])).await;
        assert_eq!(code, Some(ReasonCode::MalformedPacket));
    }
);

statement!(
    /// MQTT-3.8.4-1 / -2: a SUBSCRIBE is answered by a SUBACK with its packet identifier.
    v5_mqtt_3_8_4_2_suback_same_packet_id, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "c").await;
        c.send(Packet::Subscribe(Subscribe::new(513, "t", QoS::AtLeastOnce))).await;
        assert!(matches!(c.recv().await, Packet::SubAck(a) if a.packet_id == 513));
    }
);

statement!(
    /// MQTT-3.8.4-3: subscribing again to the same filter replaces the subscription (one copy,
    /// the new QoS).
    v5_mqtt_3_8_4_3_resubscribe_replaces, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("re", QoS::ExactlyOnce).await;
        s.subscribe("re", QoS::AtLeastOnce).await;
        assert_eq!(b.subscriptions(), 1);
        Client::connect(b.addr(), V5, "p").await.publish("re", b"m", QoS::ExactlyOnce, false).await;
        assert_eq!(s.recv_publish().await.qos, QoS::AtLeastOnce);
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.8.4-6 (and -5, MQTT-3.9.3-1): one reason code per filter, in order, failures
    /// included.
    v5_mqtt_3_8_4_6_one_reason_code_per_filter, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "c").await;
        let mut sub = Subscribe::new(9, "a", QoS::AtMostOnce);
        for (f, q) in [("b/#", QoS::ExactlyOnce), ("$share/g/c", QoS::AtLeastOnce)] {
            sub.filters.push(SubscribeFilter { filter: Utf8Str::from(f), options: SubscriptionOptions::new(q) });
        }
        let codes = c.subscribe_packet(sub).await;
        assert_eq!(codes, [ReasonCode::Success, ReasonCode::GrantedQoS2, ReasonCode::GrantedQoS1]);
    }
);

statement!(
    /// MQTT-3.8.4-8: a delivery has the minimum of the published QoS and the granted QoS.
    v5_mqtt_3_8_4_8_delivery_qos_is_minimum, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("m1", QoS::AtLeastOnce).await;
        s.subscribe("m2", QoS::ExactlyOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("m1", b"x", QoS::ExactlyOnce, false).await;
        assert_eq!(s.recv_publish().await.qos, QoS::AtLeastOnce);
        p.publish("m2", b"x", QoS::AtMostOnce, false).await;
        assert_eq!(s.recv_publish().await.qos, QoS::AtMostOnce);
    }
);

statement!(
    /// MQTT-3.10.1-1: an UNSUBSCRIBE with fixed header flags other than 0010 is malformed.
    v5_mqtt_3_10_1_1_unsubscribe_flags, "", |b| {
        closes_on(&b, V5, &frame(0xA0, &[0, 1, 0, 0, 1, b't'])).await;
    }
);

statement!(
    /// MQTT-3.10.3-2: an UNSUBSCRIBE without any topic filter is a protocol error.
    v5_mqtt_3_10_3_2_unsubscribe_needs_a_filter, "", |b| {
        closes_on(&b, V5, &frame(0xA2, &[0, 1, 0])).await;
    }
);

statement!(
    /// MQTT-3.10.4-1 / -2: UNSUBSCRIBE deletes the exactly matching subscription and no new
    /// messages are added for it.
    v5_mqtt_3_10_4_1_unsubscribe_stops_delivery, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("u/+", QoS::AtLeastOnce).await;
        s.subscribe("u/x", QoS::AtLeastOnce).await;
        s.unsubscribe("u/+").await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        p.publish("u/y", b"gone", QoS::AtLeastOnce, false).await;
        p.publish("u/x", b"kept", QoS::AtLeastOnce, false).await;
        assert_eq!(&s.recv_publish().await.payload[..], b"kept");
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-3.10.4-5 (and -4, MQTT-3.11.3-1/-2): UNSUBACK with the same packet identifier even
    /// when nothing was deleted; one reason code per filter, in order.
    v5_mqtt_3_10_4_5_unsuback_always, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "c").await;
        c.subscribe("there", QoS::AtMostOnce).await;
        let u = vmq_codec::Unsubscribe::new(300, vec![Utf8Str::from("nothere"), Utf8Str::from("there")]);
        c.send(Packet::Unsubscribe(u)).await;
        match c.recv().await {
            Packet::UnsubAck(a) => {
                assert_eq!(a.packet_id, 300);
                assert_eq!(a.reason_codes, [ReasonCode::NoSubscriptionExisted, ReasonCode::Success]);
            }
            other => panic!("expected UNSUBACK, got {other:?}"),
        }
    }
);

statement!(
    /// MQTT-3.12.4-1: PINGREQ is answered by PINGRESP.
    v5_mqtt_3_12_4_1_pingresp, "", |b| {
        let mut c = Client::connect(b.addr(), V5, "c").await;
        c.send(Packet::PingReq).await;
        assert_eq!(c.recv().await, Packet::PingResp);
    }
);

statement!(
    /// MQTT-3.14.1-1: a DISCONNECT with reserved bits set is malformed (0x81).
    v5_mqtt_3_14_1_1_disconnect_reserved_bits, "", |b| {
        let code = closes_on(&b, V5, &frame(0xE1, &[])).await;
        assert_eq!(code, Some(ReasonCode::MalformedPacket));
    }
);

statement!(
    /// MQTT-3.15.1-1: an AUTH with reserved bits set is malformed.
    v5_mqtt_3_15_1_1_auth_reserved_bits, "", |b| {
        closes_on(&b, V5, &frame(0xF1, &[])).await;
    }
);

// ------------------------------------------------------------------ MQTT 5.0: operation

statement!(
    /// MQTT-4.3.3-10: a repeated QoS 2 PUBLISH before PUBREL is answered with PUBREC and not
    /// delivered twice.
    v5_mqtt_4_3_3_10_qos2_duplicate_not_redelivered, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("q2", QoS::ExactlyOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        let mut m = qos1("q2", b"once");
        m.qos = QoS::ExactlyOnce;
        m.packet_id = 5;
        p.send(Packet::Publish(Box::new(m.clone()))).await;
        assert!(matches!(p.recv().await, Packet::PubRec(a) if a.packet_id == 5));
        m.dup = true;
        p.send(Packet::Publish(Box::new(m))).await;
        assert!(matches!(p.recv().await, Packet::PubRec(a) if a.packet_id == 5));
        p.send(Packet::PubRel(PubRel::new(5))).await;
        assert!(matches!(p.recv().await, Packet::PubComp(a) if a.packet_id == 5));
        assert_eq!(&s.recv_publish().await.payload[..], b"once");
        s.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-4.3.3-12 (and MQTT-4.3.2-5): after PUBCOMP the same packet identifier is a new
    /// message.
    v5_mqtt_4_3_3_12_packet_id_reusable_after_pubcomp, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("q2", QoS::AtMostOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for payload in [&b"first"[..], b"second"] {
            let mut m = Publish::new("q2", Bytes::copy_from_slice(payload));
            m.qos = QoS::ExactlyOnce;
            m.packet_id = 9;
            p.publish_packet(m).await;
            assert_eq!(&s.recv_publish().await.payload[..], payload);
        }
    }
);

statement!(
    /// MQTT-4.4.0-1: on resuming a session the server resends unacknowledged PUBLISHes with
    /// their original packet identifiers (and DUP 1, MQTT-3.3.1-1).
    v5_mqtt_4_4_0_1_resend_on_resume, "", |b| {
        let (mut s, _) = Client::connect_with(b.addr(), persistent(V5, "rs", true)).await;
        s.subscribe("r", QoS::AtLeastOnce).await;
        Client::connect(b.addr(), V5, "p").await.publish("r", b"unacked", QoS::AtLeastOnce, false).await;
        let first = match s.recv().await { Packet::Publish(p) => p, o => panic!("{o:?}") };
        assert!(!first.dup, "MQTT-4.3.2-2: DUP 0 on first delivery");
        s.drop_connection();
        b.wait_offline(1).await;
        let (mut s, ack) = Client::connect_with(b.addr(), persistent(V5, "rs", false)).await;
        assert!(ack.session_present);
        let again = match s.recv().await { Packet::Publish(p) => p, o => panic!("{o:?}") };
        assert_eq!(again.packet_id, first.packet_id);
        assert_eq!(&again.payload[..], b"unacked");
        assert!(again.dup);
    }
);

statement!(
    /// MQTT-4.6.0-6 (and -5): messages from one client on a topic arrive in order.
    v5_mqtt_4_6_0_6_ordered_topics, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("ord", QoS::ExactlyOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for i in 0..30u8 {
            let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][usize::from(i % 3)];
            p.publish("ord", &[i], qos, false).await;
        }
        for i in 0..30u8 {
            assert_eq!(s.recv_publish().await.payload[0], i);
        }
    }
);

statement!(
    /// MQTT-4.7.2-1: filters starting with a wildcard do not match topics starting with `$`.
    v5_mqtt_4_7_2_1_wildcards_skip_dollar_topics, "systree_enabled = on\nsystree_interval = 100\n", |b| {
        let mut all = Client::connect(b.addr(), V5, "all").await;
        all.subscribe("#", QoS::AtMostOnce).await;
        all.subscribe("+/+/+", QoS::AtMostOnce).await;
        let mut sys = Client::connect(b.addr(), V5, "sys").await;
        sys.subscribe("$SYS/#", QoS::AtMostOnce).await;
        assert!(sys.recv_publish().await.topic.starts_with("$SYS/"));
        all.expect_no_publish().await;
    }
);

statement!(
    /// MQTT-4.7.3-1: a topic name must be at least one character (an empty topic without
    /// alias is a protocol error).
    v5_mqtt_4_7_3_1_empty_topic_name, "", |b| {
        closes_on(&b, V5, &frame(0x30, &[0, 0, 0, b'x'])).await;
    }
);

statement!(
    /// MQTT-4.7.3-2 (and MQTT-1.5.4-2): U+0000 in a topic is malformed.
    v5_mqtt_4_7_3_2_null_character, "", |b| {
        let code = closes_on(&b, V5, &frame(0x30, &[0, 3, b'a', 0, b'b', 0, b'x'])).await;
        assert_eq!(code, Some(ReasonCode::MalformedPacket));
    }
);

statement!(
    /// MQTT-1.5.4-1: ill-formed UTF-8 (a surrogate code point) is malformed.
    v5_mqtt_1_5_4_1_ill_formed_utf8, "", |b| {
        let code = closes_on(&b, V5, &frame(0x30, &[0, 3, 0xED, 0xA0, 0x80, 0, b'x'])).await;
        assert_eq!(code, Some(ReasonCode::MalformedPacket));
    }
);

statement!(
    /// MQTT-4.8.2-1 / -2: a shared subscription needs `$share/<name>/<filter>` with a name
    /// without `/`, `+`, `#`; otherwise it is refused.
    v5_mqtt_4_8_2_1_share_name_rules, "", |b| {
        for f in ["$share//t", "$share/g+/t", "$share/g"] {
            let mut c = Client::connect(b.addr(), V5, "c").await;
            c.send(Packet::Subscribe(Subscribe::new(1, f, QoS::AtMostOnce))).await;
            match c.try_recv(WAIT).await {
                Ok(Packet::SubAck(a)) => assert!(!a.reason_codes[0].is_success(), "{f}"),
                Ok(Packet::Disconnect(d)) => assert!(d.reason_code.as_u8() >= 0x80, "{f}"),
                Err(ReadEnd::Closed) => {}
                other => panic!("{f}: unexpected {other:?}"),
            }
        }
        assert_eq!(b.subscriptions(), 0);
    }
);

statement!(
    /// MQTT-4.8.2-3: the server respects the granted QoS of each shared subscriber.
    v5_mqtt_4_8_2_3_shared_granted_qos, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("$share/g/sq", QoS::AtLeastOnce).await;
        Client::connect(b.addr(), V5, "p").await.publish("sq", b"x", QoS::ExactlyOnce, false).await;
        assert_eq!(s.recv_publish().await.qos, QoS::AtLeastOnce);
    }
);

statement!(
    /// MQTT-4.12.0-1: an unsupported Authentication Method gets CONNACK 0x8C (or 0x87) and
    /// the connection is closed.
    v5_mqtt_4_12_0_1_unsupported_auth_method, "", |b| {
        let mut c = Connect::new(V5, "auth");
        c.properties.authentication_method = Some(Utf8Str::from("SCRAM-SHA-1"));
        let (mut c, ack) = Client::connect_with(b.addr(), c).await;
        assert!(
            matches!(ack.reason_code, ReasonCode::BadAuthenticationMethod | ReasonCode::NotAuthorized),
            "{:?}", ack.reason_code
        );
        c.expect_closed().await;
    }
);

statement!(
    /// MQTT-4.12.0-6: without an Authentication Method in CONNECT, no AUTH and no
    /// Authentication Method in CONNACK.
    v5_mqtt_4_12_0_6_no_auth_without_method, "", |b| {
        let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(V5, "c")).await;
        assert_eq!(ack.properties.authentication_method, None);
        c.send(Packet::PingReq).await;
        assert_eq!(c.recv().await, Packet::PingResp);
    }
);

statement!(
    /// MQTT-4.13.1-1: a malformed packet closes the connection (others are unaffected).
    v5_mqtt_4_13_1_1_malformed_closes, "", |b| {
        // Remaining length longer than 4 bytes.
        closes_on(&b, V5, &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]).await;
        still_serving(&b).await;
    }
);

statement!(
    /// MQTT-2.2.1-2: a QoS 0 PUBLISH from the server carries no packet identifier.
    v5_mqtt_2_2_1_2_qos0_no_packet_id, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("z", QoS::AtMostOnce).await;
        Client::connect(b.addr(), V5, "p").await.publish("z", b"x", QoS::AtLeastOnce, false).await;
        let got = s.recv_publish().await;
        assert_eq!((got.qos, got.packet_id, got.dup), (QoS::AtMostOnce, 0, false));
    }
);

statement!(
    /// MQTT-2.2.1-4 (and MQTT-4.3.2-1): the server uses non-zero, currently unused packet
    /// identifiers for its QoS > 0 PUBLISHes.
    v5_mqtt_2_2_1_4_server_packet_ids_unused, "", |b| {
        let mut s = Client::connect(b.addr(), V5, "s").await;
        s.subscribe("ids", QoS::AtLeastOnce).await;
        let mut p = Client::connect(b.addr(), V5, "p").await;
        for i in 0..10u8 {
            p.publish("ids", &[i], QoS::AtLeastOnce, false).await;
        }
        let mut got = Vec::new();
        while got.len() < 10 {
            match s.recv().await {
                Packet::Publish(m) => got.push(m.packet_id),
                other => panic!("{other:?}"),
            }
        }
        assert!(got.iter().all(|&id| id != 0));
        let unique: std::collections::HashSet<_> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "all in flight at once, all distinct: {got:?}");
    }
);

// ------------------------------------------------------------------ MQTT 3.1.1

statement!(
    /// 3.1.1 MQTT-3.1.0-1: the first packet must be CONNECT; otherwise the server closes.
    v311_mqtt_3_1_0_1_first_packet_must_be_connect, "", |b| {
        let mut c = Client::tcp(b.addr(), V4).await;
        c.send(Packet::Subscribe(Subscribe::new(1, "t", QoS::AtMostOnce))).await;
        assert!(c.expect_closed().await.is_empty());
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.0-2: a second CONNECT is a protocol violation: the server disconnects.
    v311_mqtt_3_1_0_2_second_connect, "", |b| {
        let mut c = Client::connect(b.addr(), V4, "twice").await;
        c.send(Packet::Connect(Box::new(Connect::new(V4, "twice")))).await;
        assert!(c.expect_closed().await.is_empty());
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.2-2: an unsupported protocol level gets CONNACK return code 0x01 and the
    /// connection is closed.
    v311_mqtt_3_1_2_2_unacceptable_protocol_level, "", |b| {
        let mut c = Client::tcp(b.addr(), V4).await;
        c.send_raw(&frame(0x10, &connect_body(b"MQTT", 6, 0x02))).await;
        let got = c.expect_closed().await;
        assert!(
            matches!(&got[..], [Packet::ConnAck(a)] if a.reason_code == ReasonCode::UnsupportedProtocolVersion),
            "{got:?}"
        );
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.2-3: a set reserved CONNECT flag makes the server disconnect.
    v311_mqtt_3_1_2_3_connect_reserved_flag, "", |b| {
        let mut c = Client::tcp(b.addr(), V4).await;
        c.send_raw(&frame(0x10, &connect_body(b"MQTT", 4, 0x03))).await;
        for p in c.expect_closed().await {
            assert!(matches!(p, Packet::ConnAck(ref a) if !a.reason_code.is_success()), "{p:?}");
        }
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.2-4 (and -5): Clean Session 0 resumes the session; QoS 1 and 2 messages
    /// arriving while disconnected are stored.
    v311_mqtt_3_1_2_4_clean_session_0_resumes, "", |b| {
        let (mut s, _) = Client::connect_with(b.addr(), persistent(V4, "k", false)).await;
        s.subscribe("k", QoS::ExactlyOnce).await;
        s.disconnect().await;
        b.wait_offline(1).await;
        let mut p = Client::connect(b.addr(), V4, "p").await;
        p.publish("k", b"1", QoS::AtLeastOnce, false).await;
        p.publish("k", b"2", QoS::ExactlyOnce, false).await;
        let (mut s, ack) = Client::connect_with(b.addr(), persistent(V4, "k", false)).await;
        assert!(ack.session_present);
        assert_eq!(&s.recv_publish().await.payload[..], b"1");
        assert_eq!(&s.recv_publish().await.payload[..], b"2");
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.2-6: Clean Session 1 discards the previous session.
    v311_mqtt_3_1_2_6_clean_session_1_discards, "", |b| {
        let (mut s, _) = Client::connect_with(b.addr(), persistent(V4, "k", false)).await;
        s.subscribe("k", QoS::AtLeastOnce).await;
        s.disconnect().await;
        b.wait_offline(1).await;
        let (mut s, ack) = Client::connect_with(b.addr(), Connect::new(V4, "k")).await;
        assert!(!ack.session_present);
        Client::connect(b.addr(), V4, "p").await.publish("k", b"x", QoS::AtLeastOnce, false).await;
        s.expect_no_publish().await;
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.2-8: the will is published when the connection is closed without
    /// DISCONNECT (here: keep alive expiry, MQTT-3.1.2-24).
    v311_mqtt_3_1_2_8_will_on_keepalive_expiry, "", |b| {
        let mut w = Client::connect(b.addr(), V4, "w").await;
        w.subscribe("w/#", QoS::AtLeastOnce).await;
        let mut c = Connect::new(V4, "idle");
        c.keep_alive = 1;
        c.will = Some(will("w/idle", b"expired", QoS::AtLeastOnce, false));
        let (_idle, _) = Client::connect_with(b.addr(), c).await;
        assert_eq!(&w.recv_publish().await.payload[..], b"expired");
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.2-10 (and MQTT-3.14.4-3): the will is deleted on DISCONNECT.
    v311_mqtt_3_1_2_10_will_deleted_on_disconnect, "", |b| {
        let mut w = Client::connect(b.addr(), V4, "w").await;
        w.subscribe("w/#", QoS::AtLeastOnce).await;
        let mut c = Connect::new(V4, "polite");
        c.will = Some(will("w/polite", b"never", QoS::AtLeastOnce, false));
        Client::connect_with(b.addr(), c).await.0.disconnect().await;
        b.wait_online(1).await;
        w.expect_no_publish().await;
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.2-24: no packet within 1.5 x Keep Alive: the server disconnects.
    v311_mqtt_3_1_2_24_keep_alive, "", |b| {
        let mut c = Connect::new(V4, "idle");
        c.keep_alive = 1;
        let (mut c, _) = Client::connect_with(b.addr(), c).await;
        let start = tokio::time::Instant::now();
        assert!(c.expect_closed().await.is_empty());
        assert!(start.elapsed() >= Duration::from_millis(1400));
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.3-6: a zero-byte client id with Clean Session 1 is accepted.
    v311_mqtt_3_1_3_6_empty_client_id_clean, "", |b| {
        let (mut c, ack) = Client::connect_with(b.addr(), Connect::new(V4, "")).await;
        assert_eq!(ack.reason_code, ReasonCode::Success);
        c.subscribe("t", QoS::AtMostOnce).await;
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.3-8: a zero-byte client id with Clean Session 0 gets CONNACK 0x02 and
    /// the connection is closed.
    v311_mqtt_3_1_3_8_empty_client_id_persistent, "", |b| {
        let (mut c, ack) = Client::connect_with(b.addr(), persistent(V4, "", false)).await;
        assert_eq!(ack.reason_code, ReasonCode::ClientIdentifierNotValid);
        c.expect_closed().await;
    }
);

statement!(
    /// 3.1.1 MQTT-3.1.4-2: a second client with the same id makes the server disconnect the
    /// existing one.
    v311_mqtt_3_1_4_2_takeover, "", |b| {
        let mut first = Client::connect(b.addr(), V4, "same").await;
        let _second = Client::connect(b.addr(), V4, "same").await;
        assert!(first.expect_closed().await.is_empty());
    }
);

statement!(
    /// 3.1.1 MQTT-3.2.2-4 (and -5): a non-zero return code has Session Present 0 and the
    /// server closes the connection.
    v311_mqtt_3_2_2_4_refusal, "allow_anonymous = off\n", |b| {
        let (mut c, ack) = Client::connect_with(b.addr(), persistent(V4, "x", false)).await;
        assert_eq!(ack.reason_code, ReasonCode::NotAuthorized);
        assert!(!ack.session_present);
        c.expect_closed().await;
    }
);

statement!(
    /// 3.1.1 MQTT-3.3.1-8 / -9: RETAIN is 1 for a retained message sent on subscribe and 0
    /// when forwarded to an established subscription.
    v311_mqtt_3_3_1_9_retain_flag_on_forward, "", |b| {
        let mut p = Client::connect(b.addr(), V4, "p").await;
        p.publish("r", b"old", QoS::AtLeastOnce, true).await;
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("r", QoS::AtLeastOnce).await;
        assert!(s.recv_publish().await.retain);
        p.publish("r", b"new", QoS::AtLeastOnce, true).await;
        assert!(!s.recv_publish().await.retain);
    }
);

statement!(
    /// 3.1.1 MQTT-3.3.5-1: overlapping subscriptions: delivered respecting the maximum QoS.
    v311_mqtt_3_3_5_1_overlap_max_qos, "", |b| {
        let mut s = Client::connect(b.addr(), V4, "s").await;
        s.subscribe("o/#", QoS::AtLeastOnce).await;
        s.subscribe("o/x", QoS::ExactlyOnce).await;
        Client::connect(b.addr(), V4, "p").await.publish("o/x", b"m", QoS::ExactlyOnce, false).await;
        assert_eq!(s.recv_publish().await.qos, QoS::ExactlyOnce);
        s.expect_no_publish().await;
    }
);

statement!(
    /// 3.1.1 MQTT-2.3.1-1: a QoS > 0 PUBLISH needs a non-zero packet identifier.
    v311_mqtt_2_3_1_1_zero_packet_id, "", |b| {
        closes_on(&b, V4, &frame(0x32, &[0, 1, b't', 0, 0, b'x'])).await;
    }
);

statement!(
    /// 3.1.1 MQTT-4.4.0-1: on reconnect with Clean Session 0 unacknowledged PUBLISHes are
    /// resent with DUP 1 and the original packet identifier.
    v311_mqtt_4_4_0_1_resend_on_reconnect, "", |b| {
        let (mut s, _) = Client::connect_with(b.addr(), persistent(V4, "rs", false)).await;
        s.subscribe("r", QoS::ExactlyOnce).await;
        Client::connect(b.addr(), V4, "p").await.publish("r", b"unacked", QoS::ExactlyOnce, false).await;
        let first = match s.recv().await { Packet::Publish(p) => p, o => panic!("{o:?}") };
        s.drop_connection();
        b.wait_offline(1).await;
        let (mut s, _) = Client::connect_with(b.addr(), persistent(V4, "rs", false)).await;
        let again = match s.recv().await { Packet::Publish(p) => p, o => panic!("{o:?}") };
        assert_eq!((again.packet_id, again.dup), (first.packet_id, true));
    }
);

statement!(
    /// 3.1.1 MQTT-3.6.1-1 (PUBREL), MQTT-3.8.1-1 (SUBSCRIBE), MQTT-3.10.1-1 (UNSUBSCRIBE):
    /// wrong reserved fixed header flags close the connection.
    v311_mqtt_3_8_1_1_reserved_header_flags, "", |b| {
        closes_on(&b, V4, &frame(0x60, &[0, 1])).await;
        closes_on(&b, V4, &frame(0x80, &[0, 1, 0, 1, b't', 1])).await;
        closes_on(&b, V4, &frame(0xA0, &[0, 1, 0, 1, b't'])).await;
        still_serving(&b).await;
    }
);

statement!(
    /// 3.1.1 MQTT-3.8.3-3 (and MQTT-3.10.3-2): SUBSCRIBE / UNSUBSCRIBE without filters is a
    /// protocol violation.
    v311_mqtt_3_8_3_3_subscribe_without_filters, "", |b| {
        closes_on(&b, V4, &frame(0x82, &[0, 1])).await;
        closes_on(&b, V4, &frame(0xA2, &[0, 1])).await;
    }
);

statement!(
    /// 3.1.1 MQTT-4.7.1-1 / -2: wildcard rules: a filter with a misplaced wildcard gets SUBACK
    /// 0x80 or the connection is closed; it never becomes a subscription.
    v311_mqtt_4_7_1_1_wildcard_placement, "", |b| {
        for f in ["a/#/b", "a/b#", "a+/b"] {
            let mut c = Client::connect(b.addr(), V4, "c").await;
            c.send(Packet::Subscribe(Subscribe::new(1, f, QoS::AtMostOnce))).await;
            match c.try_recv(WAIT).await {
                Ok(Packet::SubAck(a)) => assert_eq!(a.reason_codes, [ReasonCode::UnspecifiedError], "{f}"),
                Err(ReadEnd::Closed) => {}
                other => panic!("{f}: unexpected {other:?}"),
            }
        }
        assert_eq!(b.subscriptions(), 0);
    }
);
