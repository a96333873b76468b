//! Deterministic tests of the session state machine: a virtual clock, packets in, decoded packets
//! and actions out. Test names cite the normative statement they check where there is one.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use vmq_codec::{
    check, Connect, ConnectProperties, DecodeLimits, Disconnect, DisconnectProperties, LastWill,
    Packet, ProtocolVersion, PubAck, PubComp, PubRec, PubRel, Publish, PublishProperties, QoS,
    ReasonCode, Subscribe, SubscribeFilter, SubscribeProperties, SubscriptionOptions, Utf8Str,
    WillProperties,
};

use crate::{
    Action, CloseReason, ConnectAccepted, Delivery, Message, Session, SessionConfig, State,
};

/// A session under test with its virtual clock.
struct Harness {
    session: Session,
    now: Instant,
}

impl Harness {
    fn new(config: SessionConfig) -> Self {
        let now = Instant::now();
        Harness {
            session: Session::new(Arc::new(config), now),
            now,
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.session.handle_timeout(self.now);
    }

    fn send(&mut self, packet: Packet) {
        self.session.handle_packet(self.now, packet);
    }

    /// Every packet the session wrote since the last call, decoded.
    fn sent(&mut self) -> Vec<Packet> {
        let version = self.session.version();
        let mut bytes = self.session.transmit().split().freeze();
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len = check(&bytes, &DecodeLimits::default())
                .expect("valid frame")
                .expect("whole frame");
            let frame = bytes.split_to(len);
            out.push(Packet::decode(frame, version).expect("decodes"));
        }
        out
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.session.poll_action()).collect()
    }

    /// CONNECT, accept, and check CONNACK success.
    fn connect(&mut self, connect: Connect) {
        self.send(Packet::Connect(Box::new(connect)));
        let actions = self.actions();
        assert!(
            matches!(actions.as_slice(), [Action::Connect(_)]),
            "{actions:?}"
        );
        self.session
            .accept_connect(self.now, ConnectAccepted::default());
        let sent = self.sent();
        match sent.as_slice() {
            [Packet::ConnAck(ack)] => assert_eq!(ack.reason_code, ReasonCode::Success),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }
}

fn connect(version: ProtocolVersion, client_id: &str) -> Connect {
    Connect {
        protocol: version,
        bridge: false,
        clean_start: true,
        keep_alive: 60,
        client_id: Utf8Str::from(client_id),
        will: None,
        username: None,
        password: None,
        properties: ConnectProperties::default(),
    }
}

fn publish(topic: &str, qos: QoS, packet_id: u16) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: Utf8Str::from(topic),
        packet_id,
        properties: PublishProperties::default(),
        payload: Bytes::from_static(b"hello"),
    }
}

fn delivery(topic: &str, qos: QoS) -> Delivery {
    Delivery {
        msg: Arc::new(Message {
            id: 1,
            topic: Utf8Str::from(topic),
            payload: Bytes::from_static(b"payload"),
            qos,
            retain: false,
            properties: PublishProperties::default(),
            expires_at: None,
        }),
        sub_qos: QoS::ExactlyOnce,
        retain: false,
        subscription_ids: Box::default(),
    }
}

fn connected(version: ProtocolVersion) -> Harness {
    let mut h = Harness::new(SessionConfig::default());
    h.connect(connect(version, "client"));
    h
}

fn closed_reason(actions: &[Action]) -> Option<CloseReason> {
    actions.iter().find_map(|a| match a {
        Action::Closed { reason, .. } => Some(*reason),
        _ => None,
    })
}

#[test]
fn mqtt_3_1_0_1_first_packet_must_be_connect() {
    let mut h = Harness::new(SessionConfig::default());
    h.send(Packet::PingReq);
    assert_eq!(h.session.state(), State::Closed);
    assert!(h.sent().is_empty());
    assert_eq!(
        closed_reason(&h.actions()),
        Some(CloseReason::ProtocolViolation(ReasonCode::ProtocolError))
    );
}

#[test]
fn mqtt_3_1_0_2_second_connect_is_a_protocol_violation() {
    for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        let mut h = connected(version);
        h.send(Packet::Connect(Box::new(connect(version, "client"))));
        assert!(h.session.is_closed());
        let sent = h.sent();
        if version.is_v5() {
            assert!(matches!(
                sent.as_slice(),
                [Packet::Disconnect(d)] if d.reason_code == ReasonCode::ProtocolError
            ));
        } else {
            assert!(sent.is_empty());
        }
    }
}

#[test]
fn mqtt_3_1_2_2_unsupported_protocol_version_is_refused() {
    let config = SessionConfig {
        allowed_protocol_versions: vec![4, 5],
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    h.send(Packet::Connect(Box::new(connect(
        ProtocolVersion::V3_1,
        "old",
    ))));
    let sent = h.sent();
    match sent.as_slice() {
        [Packet::ConnAck(ack)] => {
            assert_eq!(ack.reason_code, ReasonCode::UnsupportedProtocolVersion)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        closed_reason(&h.actions()),
        Some(CloseReason::ConnectRefused(
            ReasonCode::UnsupportedProtocolVersion
        ))
    );
}

#[test]
fn mqtt_3_1_3_8_empty_client_id_needs_clean_session_in_3_1_1() {
    let mut h = Harness::new(SessionConfig::default());
    let mut c = connect(ProtocolVersion::V3_1_1, "");
    c.clean_start = false;
    h.send(Packet::Connect(Box::new(c)));
    match h.sent().as_slice() {
        [Packet::ConnAck(ack)] => assert_eq!(ack.reason_code, ReasonCode::ClientIdentifierNotValid),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mqtt_3_1_3_6_empty_client_id_with_clean_session_is_assigned_one() {
    let mut h = Harness::new(SessionConfig::default());
    h.send(Packet::Connect(Box::new(connect(
        ProtocolVersion::V3_1_1,
        "",
    ))));
    let actions = h.actions();
    let Some(Action::Connect(req)) = actions.first() else {
        panic!("{actions:?}")
    };
    assert!(req.client_id_assigned);
    assert!(!req.client_id.is_empty());
}

#[test]
fn mqtt_3_2_2_16_v5_assigned_client_identifier_is_returned_in_connack() {
    let mut h = Harness::new(SessionConfig::default());
    h.send(Packet::Connect(Box::new(connect(ProtocolVersion::V5, ""))));
    let _ = h.actions();
    h.session.accept_connect(h.now, ConnectAccepted::default());
    match h.sent().as_slice() {
        [Packet::ConnAck(ack)] => {
            let assigned = ack.properties.assigned_client_identifier.clone();
            assert_eq!(assigned.as_deref(), Some(h.session.client_id().as_str()));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mqtt_3_1_0_empty_client_id_is_refused_in_3_1() {
    let mut h = Harness::new(SessionConfig::default());
    h.send(Packet::Connect(Box::new(connect(
        ProtocolVersion::V3_1,
        "",
    ))));
    match h.sent().as_slice() {
        [Packet::ConnAck(ack)] => assert_eq!(ack.reason_code, ReasonCode::ClientIdentifierNotValid),
        other => panic!("{other:?}"),
    }
}

#[test]
fn client_id_longer_than_max_client_id_size_is_refused() {
    let config = SessionConfig {
        max_client_id_size: 5,
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    h.send(Packet::Connect(Box::new(connect(
        ProtocolVersion::V3_1_1,
        "toolong",
    ))));
    match h.sent().as_slice() {
        [Packet::ConnAck(ack)] => assert_eq!(ack.reason_code, ReasonCode::ClientIdentifierNotValid),
        other => panic!("{other:?}"),
    }
}

#[test]
fn mqtt_connect_timeout_closes_a_silent_socket() {
    let mut h = Harness::new(SessionConfig::default());
    h.advance(Duration::from_secs(29));
    assert_eq!(h.session.state(), State::AwaitingConnect);
    h.advance(Duration::from_secs(2));
    assert_eq!(
        closed_reason(&h.actions()),
        Some(CloseReason::ConnectTimeout)
    );
}

#[test]
fn mqtt_3_1_2_24_keepalive_closes_after_one_and_a_half_periods() {
    let mut h = connected(ProtocolVersion::V5);
    // keep_alive is 60 s: 89 s of silence is tolerated, 90 s is not.
    h.advance(Duration::from_secs(89));
    assert_eq!(h.session.state(), State::Connected);
    h.send(Packet::PingReq);
    assert!(matches!(h.sent().as_slice(), [Packet::PingResp]));
    h.advance(Duration::from_secs(89));
    assert_eq!(h.session.state(), State::Connected);
    h.advance(Duration::from_secs(1));
    assert!(h.session.is_closed());
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::Disconnect(d)] if d.reason_code == ReasonCode::KeepAliveTimeout
    ));
    assert_eq!(
        closed_reason(&h.actions()),
        Some(CloseReason::KeepAliveTimeout)
    );
}

#[test]
fn qos1_incoming_is_acknowledged_after_the_broker_routed_it() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    h.send(Packet::Publish(Box::new(publish(
        "a/b",
        QoS::AtLeastOnce,
        7,
    ))));
    assert!(h.sent().is_empty(), "no PUBACK before the broker is done");
    let actions = h.actions();
    assert!(matches!(actions.as_slice(), [Action::Publish(p)] if p.packet_id == 7));
    h.session
        .publish_done(7, QoS::AtLeastOnce, ReasonCode::Success);
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubAck(PubAck { packet_id: 7, .. })]
    ));
}

#[test]
fn mqtt_4_3_3_qos2_incoming_is_routed_once_even_when_resent() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    h.send(Packet::Publish(Box::new(publish(
        "a/b",
        QoS::ExactlyOnce,
        9,
    ))));
    assert_eq!(h.actions().len(), 1);
    h.session
        .publish_done(9, QoS::ExactlyOnce, ReasonCode::Success);
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubRec(PubRec { packet_id: 9, .. })]
    ));
    // The client did not see PUBREC and resends with DUP: no second route, PUBREC again.
    let mut dup = publish("a/b", QoS::ExactlyOnce, 9);
    dup.dup = true;
    h.send(Packet::Publish(Box::new(dup)));
    assert!(h.actions().is_empty());
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubRec(PubRec { packet_id: 9, .. })]
    ));
    h.send(Packet::PubRel(PubRel::new(9)));
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubComp(PubComp {
            packet_id: 9,
            reason_code: ReasonCode::Success,
            ..
        })]
    ));
    // After PUBCOMP the id is free: the same id is a new message.
    h.send(Packet::Publish(Box::new(publish(
        "a/b",
        QoS::ExactlyOnce,
        9,
    ))));
    assert_eq!(h.actions().len(), 1);
}

#[test]
fn mqtt_4_3_3_a_large_qos2_window_keeps_every_id_until_released() {
    // 1,000 unreleased ids: far more than a short list holds (the set moves to bitmaps).
    let mut h = connected(ProtocolVersion::V5);
    for id in 1..=1000u16 {
        h.send(Packet::Publish(Box::new(publish(
            "t",
            QoS::ExactlyOnce,
            id,
        ))));
    }
    assert_eq!(h.actions().len(), 1000);
    for id in 1..=1000u16 {
        h.session
            .publish_done(id, QoS::ExactlyOnce, ReasonCode::Success);
    }
    assert_eq!(h.sent().len(), 1000);
    // A resend of any of them is not routed again and gets its PUBREC again.
    let mut dup = publish("t", QoS::ExactlyOnce, 777);
    dup.dup = true;
    h.send(Packet::Publish(Box::new(dup)));
    assert!(h.actions().is_empty());
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubRec(PubRec { packet_id: 777, .. })]
    ));
    for id in (1..=1000u16).rev() {
        h.send(Packet::PubRel(PubRel::new(id)));
    }
    let sent = h.sent();
    assert_eq!(sent.len(), 1000);
    assert!(sent.iter().all(|p| matches!(
        p,
        Packet::PubComp(PubComp {
            reason_code: ReasonCode::Success,
            ..
        })
    )));
    // Released: a second PUBREL is unknown, and the id is free for a new message.
    h.send(Packet::PubRel(PubRel::new(500)));
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubComp(PubComp {
            reason_code: ReasonCode::PacketIdentifierNotFound,
            ..
        })]
    ));
    h.send(Packet::Publish(Box::new(publish(
        "t",
        QoS::ExactlyOnce,
        500,
    ))));
    assert_eq!(h.actions().len(), 1);
}

#[test]
fn v5_pubrel_for_unknown_id_gets_packet_identifier_not_found() {
    let mut h = connected(ProtocolVersion::V5);
    h.send(Packet::PubRel(PubRel::new(33)));
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::PubComp(PubComp {
            reason_code: ReasonCode::PacketIdentifierNotFound,
            ..
        })]
    ));
}

#[test]
fn mqtt_3_3_4_9_receive_maximum_exceeded_disconnects() {
    let config = SessionConfig {
        receive_max_broker: 2,
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    h.connect(connect(ProtocolVersion::V5, "c"));
    h.send(Packet::Publish(Box::new(publish("t", QoS::AtLeastOnce, 1))));
    h.send(Packet::Publish(Box::new(publish("t", QoS::AtLeastOnce, 2))));
    assert_eq!(h.session.state(), State::Connected);
    h.send(Packet::Publish(Box::new(publish("t", QoS::AtLeastOnce, 3))));
    assert!(h.session.is_closed());
    let sent = h.sent();
    assert!(matches!(
        sent.last(),
        Some(Packet::Disconnect(d)) if d.reason_code == ReasonCode::ReceiveMaximumExceeded
    ));
}

#[test]
fn outgoing_qos1_respects_max_inflight_messages() {
    let config = SessionConfig {
        max_inflight_messages: 2,
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    h.connect(connect(ProtocolVersion::V3_1_1, "c"));
    assert_eq!(h.session.send_capacity(), 2);
    assert!(h
        .session
        .deliver(h.now, delivery("t", QoS::AtLeastOnce))
        .is_ok());
    assert!(h
        .session
        .deliver(h.now, delivery("t", QoS::AtLeastOnce))
        .is_ok());
    assert!(h
        .session
        .deliver(h.now, delivery("t", QoS::AtLeastOnce))
        .is_err());
    // QoS 0 is not limited by the window.
    assert!(h
        .session
        .deliver(h.now, delivery("t", QoS::AtMostOnce))
        .is_ok());
    let sent = h.sent();
    let ids: Vec<u16> = sent
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) if p.qos == QoS::AtLeastOnce => Some(p.packet_id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec![1, 2]);
    h.send(Packet::PubAck(PubAck::new(1)));
    assert!(matches!(h.actions().as_slice(), [Action::Acknowledged(_)]));
    assert_eq!(h.session.send_capacity(), 1);
}

#[test]
fn v5_client_receive_maximum_lowers_the_window() {
    let mut h = Harness::new(SessionConfig::default());
    let mut c = connect(ProtocolVersion::V5, "c");
    c.properties.receive_maximum = Some(1);
    h.connect(c);
    assert_eq!(h.session.send_capacity(), 1);
}

#[test]
fn qos_is_downgraded_to_the_subscription_unless_upgrade_outgoing_qos() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    let mut d = delivery("t", QoS::ExactlyOnce);
    d.sub_qos = QoS::AtLeastOnce;
    h.session.deliver(h.now, d).expect("taken");
    assert!(matches!(h.sent().as_slice(), [Packet::Publish(p)] if p.qos == QoS::AtLeastOnce));

    let config = SessionConfig {
        upgrade_outgoing_qos: true,
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    h.connect(connect(ProtocolVersion::V3_1_1, "c"));
    let mut d = delivery("t", QoS::AtMostOnce);
    d.sub_qos = QoS::ExactlyOnce;
    h.session.deliver(h.now, d).expect("taken");
    assert!(matches!(h.sent().as_slice(), [Packet::Publish(p)] if p.qos == QoS::ExactlyOnce));
}

#[test]
fn qos2_outgoing_flow_publish_pubrec_pubrel_pubcomp() {
    let mut h = connected(ProtocolVersion::V5);
    h.session
        .deliver(h.now, delivery("t", QoS::ExactlyOnce))
        .expect("taken");
    let id = match h.sent().as_slice() {
        [Packet::Publish(p)] => p.packet_id,
        other => panic!("{other:?}"),
    };
    h.send(Packet::PubRec(PubRec::new(id)));
    assert!(matches!(h.sent().as_slice(), [Packet::PubRel(r)] if r.packet_id == id));
    assert!(h.actions().is_empty());
    h.send(Packet::PubComp(PubComp::new(id)));
    assert!(matches!(h.actions().as_slice(), [Action::Acknowledged(_)]));
    assert_eq!(h.session.inflight_len(), 0);
}

#[test]
fn v3_unacknowledged_messages_are_resent_with_dup_after_retry_interval() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    h.session
        .deliver(h.now, delivery("t", QoS::AtLeastOnce))
        .expect("taken");
    assert!(matches!(h.sent().as_slice(), [Packet::Publish(p)] if !p.dup));
    h.advance(Duration::from_secs(19));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_secs(1));
    assert!(matches!(h.sent().as_slice(), [Packet::Publish(p)] if p.dup && p.packet_id == 1));
}

#[test]
fn mqtt_4_4_0_1_v5_never_resends_while_connected() {
    let mut h = connected(ProtocolVersion::V5);
    h.session
        .deliver(h.now, delivery("t", QoS::AtLeastOnce))
        .expect("taken");
    let _ = h.sent();
    h.advance(Duration::from_secs(50));
    assert!(h.sent().is_empty());
}

#[test]
fn mqtt_4_4_0_1_inflight_messages_are_resent_with_dup_on_resume() {
    let mut h = connected(ProtocolVersion::V5);
    h.session
        .deliver(h.now, delivery("t", QoS::AtLeastOnce))
        .expect("taken");
    let _ = h.sent();
    h.session.handle_connection_lost();
    let inflight = h.session.take_inflight();
    assert_eq!(inflight.len(), 1);

    let mut h2 = Harness::new(SessionConfig::default());
    let mut c = connect(ProtocolVersion::V5, "client");
    c.clean_start = false;
    h2.send(Packet::Connect(Box::new(c)));
    let _ = h2.actions();
    h2.session.accept_connect(
        h2.now,
        ConnectAccepted {
            session_present: true,
            resume: inflight,
            ..ConnectAccepted::default()
        },
    );
    let sent = h2.sent();
    assert!(matches!(&sent[0], Packet::ConnAck(a) if a.session_present));
    assert!(matches!(&sent[1], Packet::Publish(p) if p.dup && p.packet_id == 1));
}

#[test]
fn mqtt_3_3_2_topic_alias_from_client_is_resolved() {
    let config = SessionConfig {
        topic_alias_max_client: 5,
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    h.connect(connect(ProtocolVersion::V5, "c"));
    let mut p = publish("long/topic", QoS::AtMostOnce, 0);
    p.properties.topic_alias = Some(3);
    h.send(Packet::Publish(Box::new(p)));
    let mut p = publish("", QoS::AtMostOnce, 0);
    p.properties.topic_alias = Some(3);
    h.send(Packet::Publish(Box::new(p)));
    let topics: Vec<String> = h
        .actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Publish(p) => Some(p.topic.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(topics, vec!["long/topic", "long/topic"]);
}

#[test]
fn mqtt_3_3_2_8_topic_alias_zero_or_too_large_disconnects() {
    for alias in [0u16, 6] {
        let config = SessionConfig {
            topic_alias_max_client: 5,
            ..SessionConfig::default()
        };
        let mut h = Harness::new(config);
        h.connect(connect(ProtocolVersion::V5, "c"));
        let mut p = publish("t", QoS::AtMostOnce, 0);
        p.properties.topic_alias = Some(alias);
        h.send(Packet::Publish(Box::new(p)));
        assert!(h.session.is_closed());
        assert!(matches!(
            h.sent().as_slice(),
            [Packet::Disconnect(d)] if d.reason_code == ReasonCode::TopicAliasInvalid
        ));
    }
}

#[test]
fn outgoing_topic_alias_is_used_up_to_the_client_maximum() {
    let config = SessionConfig {
        topic_alias_max_broker: 10,
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    let mut c = connect(ProtocolVersion::V5, "c");
    c.properties.topic_alias_maximum = Some(1);
    h.connect(c);
    for topic in ["a", "a", "b"] {
        h.session
            .deliver(h.now, delivery(topic, QoS::AtMostOnce))
            .expect("taken");
    }
    let sent = h.sent();
    let seen: Vec<(String, Option<u16>)> = sent
        .iter()
        .map(|p| match p {
            Packet::Publish(p) => (p.topic.to_string(), p.properties.topic_alias),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a".to_string(), Some(1)),
            (String::new(), Some(1)),
            ("b".to_string(), None)
        ]
    );
}

#[test]
fn will_is_published_on_connection_loss_but_not_after_disconnect() {
    let will = LastWill {
        topic: Utf8Str::from("will/t"),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties::default(),
    };
    let mut c = connect(ProtocolVersion::V3_1_1, "c");
    c.will = Some(will.clone());

    let mut h = Harness::new(SessionConfig::default());
    h.connect(c.clone());
    h.session.handle_connection_lost();
    assert!(matches!(
        h.actions().as_slice(),
        [Action::Closed { will: Some(w), .. }] if **w == will
    ));

    // MQTT-3.1.2-10: DISCONNECT removes the will.
    let mut h = Harness::new(SessionConfig::default());
    h.connect(c.clone());
    h.send(Packet::Disconnect(Box::new(Disconnect {
        reason_code: ReasonCode::Success,
        properties: DisconnectProperties::default(),
    })));
    assert!(matches!(
        h.actions().as_slice(),
        [Action::Closed { will: None, .. }]
    ));
}

#[test]
fn mqtt_3_14_4_3_v5_disconnect_with_will_message_publishes_the_will() {
    let mut c = connect(ProtocolVersion::V5, "c");
    c.will = Some(LastWill {
        topic: Utf8Str::from("will/t"),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: true,
        properties: WillProperties::default(),
    });
    let mut h = Harness::new(SessionConfig::default());
    h.connect(c);
    h.send(Packet::Disconnect(Box::new(Disconnect {
        reason_code: ReasonCode::DisconnectWithWillMessage,
        properties: DisconnectProperties::default(),
    })));
    assert!(matches!(
        h.actions().as_slice(),
        [Action::Closed { will: Some(_), .. }]
    ));
}

#[test]
fn mqtt_3_14_2_2_disconnect_cannot_set_expiry_when_connect_had_zero() {
    let mut h = connected(ProtocolVersion::V5);
    h.send(Packet::Disconnect(Box::new(Disconnect {
        reason_code: ReasonCode::Success,
        properties: DisconnectProperties {
            session_expiry_interval: Some(100),
            ..DisconnectProperties::default()
        },
    })));
    assert_eq!(
        closed_reason(&h.actions()),
        Some(CloseReason::ProtocolViolation(ReasonCode::ProtocolError))
    );
}

#[test]
fn takeover_sends_session_taken_over_to_v5_clients() {
    let mut h = connected(ProtocolVersion::V5);
    h.session.disconnect(ReasonCode::SessionTakenOver);
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::Disconnect(d)] if d.reason_code == ReasonCode::SessionTakenOver
    ));
    assert_eq!(
        closed_reason(&h.actions()),
        Some(CloseReason::ServerDisconnect(ReasonCode::SessionTakenOver))
    );
}

#[test]
fn subscribe_is_forwarded_and_answered_with_suback() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    h.send(Packet::Subscribe(Subscribe {
        packet_id: 4,
        filters: vec![SubscribeFilter {
            filter: Utf8Str::from("a/+"),
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                ..SubscriptionOptions::default()
            },
        }],
        properties: SubscribeProperties::default(),
    }));
    assert!(matches!(h.actions().as_slice(), [Action::Subscribe(s)] if s.packet_id == 4));
    h.session.subscribe_done(4, vec![ReasonCode::GrantedQoS1]);
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::SubAck(s)] if s.reason_codes == vec![ReasonCode::GrantedQoS1]
    ));
}

#[test]
fn expired_messages_are_dropped_not_sent() {
    let mut h = connected(ProtocolVersion::V5);
    let mut d = delivery("t", QoS::AtLeastOnce);
    Arc::make_mut(&mut d.msg).expires_at = Some(h.now);
    h.session.deliver(h.now, d).expect("taken");
    assert!(h.sent().is_empty());
    assert!(matches!(
        h.actions().as_slice(),
        [Action::Dropped(_, crate::DropReason::Expired)]
    ));
}

#[test]
fn v5_message_expiry_interval_counts_down() {
    let mut h = connected(ProtocolVersion::V5);
    let mut d = delivery("t", QoS::AtMostOnce);
    Arc::make_mut(&mut d.msg).expires_at = Some(h.now + Duration::from_secs(30));
    h.now += Duration::from_secs(10);
    h.session.deliver(h.now, d).expect("taken");
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::Publish(p)] if p.properties.message_expiry_interval == Some(20)
    ));
}

#[test]
fn mqtt_3_1_2_25_messages_above_client_maximum_packet_size_are_dropped() {
    let mut h = Harness::new(SessionConfig::default());
    let mut c = connect(ProtocolVersion::V5, "c");
    c.properties.maximum_packet_size = Some(20);
    h.connect(c);
    let mut d = delivery("t", QoS::AtLeastOnce);
    Arc::make_mut(&mut d.msg).payload = Bytes::from(vec![0u8; 100]);
    h.session.deliver(h.now, d).expect("taken");
    assert!(h.sent().is_empty());
    assert!(matches!(
        h.actions().as_slice(),
        [Action::Dropped(_, crate::DropReason::PacketTooLarge)]
    ));
    assert_eq!(h.session.inflight_len(), 0);
}

#[test]
fn max_message_rate_pauses_reading() {
    let config = SessionConfig {
        max_message_rate: 2,
        ..SessionConfig::default()
    };
    let mut h = Harness::new(config);
    h.connect(connect(ProtocolVersion::V3_1_1, "c"));
    h.send(Packet::Publish(Box::new(publish("t", QoS::AtMostOnce, 0))));
    assert!(h.session.read_paused_until().is_none());
    h.send(Packet::Publish(Box::new(publish("t", QoS::AtMostOnce, 0))));
    let until = h.session.read_paused_until().expect("paused");
    assert!(until > h.now);
    h.advance(Duration::from_secs(1));
    assert!(h.session.read_paused_until().is_none());
}

#[test]
fn v5_subscription_identifiers_are_sent_with_the_publish() {
    let mut h = connected(ProtocolVersion::V5);
    let mut d = delivery("t", QoS::AtMostOnce);
    d.subscription_ids = Box::new([3, 9]);
    h.session.deliver(h.now, d).expect("taken");
    assert!(matches!(
        h.sent().as_slice(),
        [Packet::Publish(p)] if p.properties.subscription_identifiers == vec![3, 9]
    ));
}

#[test]
fn malformed_connect_of_a_v5_client_gets_connack_with_the_reason_code() {
    let mut h = Harness::new(SessionConfig::default());
    // CONNECT, MQTT level 5, with reserved flag bit 0 set.
    let frame = [0x10u8, 10, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x01, 0, 60];
    let err = Packet::decode(Bytes::copy_from_slice(&frame), ProtocolVersion::V5)
        .expect_err("reserved bit set");
    h.session.handle_decode_error(&err, &frame);
    match h.sent().as_slice() {
        [Packet::ConnAck(ack)] => assert_eq!(ack.reason_code, err.reason_code()),
        other => panic!("{other:?}"),
    }
    assert!(h.session.is_closed());
}

/// Delivers one QoS 1 message; the packet id it was sent with.
fn deliver_qos1(h: &mut Harness) -> u16 {
    h.session
        .deliver(h.now, delivery("t", QoS::AtLeastOnce))
        .expect("window has room");
    match h.sent().as_slice() {
        [Packet::Publish(p)] => p.packet_id,
        other => panic!("expected one PUBLISH, got {other:?}"),
    }
}

#[test]
fn mqtt_2_2_1_3_packet_ids_in_flight_stay_unique_across_the_wrap() {
    // Two messages are never acknowledged while more than a lap of ids goes by around them,
    // acknowledged out of order in small batches: no id may be handed out twice.
    let mut h = connected(ProtocolVersion::V3_1_1);
    let stuck = [deliver_qos1(&mut h), {
        for _ in 0..5 {
            let id = deliver_qos1(&mut h);
            h.send(Packet::PubAck(PubAck::new(id)));
        }
        deliver_qos1(&mut h)
    }];
    let mut in_flight: std::collections::BTreeSet<u16> = stuck.into_iter().collect();
    let _ = h.actions();
    let mut batch = Vec::new();
    for round in 0..140_000u32 {
        let id = deliver_qos1(&mut h);
        assert!(
            in_flight.insert(id),
            "id {id} handed out twice (round {round})"
        );
        batch.push(id);
        if batch.len() == 3 || round % 7 == 0 {
            // Newest first: the session's queue of ids in flight is no longer in send order.
            for id in batch.drain(..).rev() {
                h.send(Packet::PubAck(PubAck::new(id)));
                in_flight.remove(&id);
            }
        }
    }
    assert_eq!(h.session.inflight_len(), in_flight.len());
    assert!(in_flight.is_superset(&stuck.into_iter().collect()));
}

#[test]
fn v3_retry_follows_the_oldest_unacknowledged_message() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    let first = deliver_qos1(&mut h);
    h.advance(Duration::from_secs(5));
    let second = deliver_qos1(&mut h);
    h.advance(Duration::from_secs(1));
    h.send(Packet::PubAck(PubAck::new(first)));
    // The first one's deadline (20 s) passes: nothing is due.
    h.advance(Duration::from_secs(14));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_secs(4));
    assert!(h.sent().is_empty());
    // The second one's (25 s) does.
    h.advance(Duration::from_secs(1));
    assert!(matches!(h.sent().as_slice(), [Packet::Publish(p)] if p.dup && p.packet_id == second));
    // Then again a retry interval after its resend, not before.
    h.advance(Duration::from_secs(19));
    assert!(h.sent().is_empty());
    assert_eq!(
        h.session.poll_timeout(),
        Some(h.now + Duration::from_secs(1))
    );
    h.advance(Duration::from_secs(1));
    assert!(matches!(h.sent().as_slice(), [Packet::Publish(p)] if p.dup && p.packet_id == second));
}
