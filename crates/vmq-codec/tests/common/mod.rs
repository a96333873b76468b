//! Shared proptest strategies: arbitrary *valid* packets for each protocol version (fields that
//! do not exist on a version's wire are left at their defaults so encode then decode is the
//! identity).

#![allow(dead_code)]

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use vmq_codec::*;

/// A string without U+0000.
pub fn string(max: usize) -> impl Strategy<Value = Utf8Str> {
    vec(any::<char>(), 0..max)
        .prop_map(|v| Utf8Str::from(v.into_iter().filter(|&c| c != '\0').collect::<String>()))
}

fn level() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..6).prop_map(|v| {
        v.into_iter()
            .filter(|&c| !matches!(c, '\0' | '+' | '#' | '/'))
            .collect()
    })
}

/// A valid topic name.
pub fn topic_name() -> impl Strategy<Value = Utf8Str> {
    vec(level(), 1..5).prop_map(|levels| {
        let t = levels.join("/");
        Utf8Str::from(if t.is_empty() { "t".to_string() } else { t })
    })
}

/// A valid topic filter, possibly shared.
pub fn topic_filter() -> impl Strategy<Value = Utf8Str> {
    (
        vec(prop_oneof![3 => level(), 1 => Just("+".to_string())], 1..5),
        any::<bool>(),
        of("[a-z]{1,5}"),
    )
        .prop_map(|(levels, hash, share)| {
            let mut f = levels.join("/");
            if hash {
                f.push_str(if f.is_empty() { "#" } else { "/#" });
            }
            if f.is_empty() {
                f.push('x');
            }
            match share {
                Some(g) => Utf8Str::from(format!("$share/{g}/{f}")),
                None => Utf8Str::from(f),
            }
        })
}

/// Arbitrary binary data.
pub fn bin(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

/// QoS 0..=2.
pub fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn user_props(v5: bool) -> BoxedStrategy<Vec<UserProperty>> {
    if v5 {
        vec((string(6), string(6)), 0..3).boxed()
    } else {
        Just(Vec::new()).boxed()
    }
}

fn reason(packet: PacketType) -> impl Strategy<Value = ReasonCode> {
    let codes: Vec<ReasonCode> = (0..=255u8)
        .filter_map(ReasonCode::from_u8)
        .filter(|rc| rc.allowed_in(packet))
        .collect();
    proptest::sample::select(codes)
}

fn nz_u16() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

fn ack_props(v5: bool) -> BoxedStrategy<AckProperties> {
    if !v5 {
        return Just(AckProperties::default()).boxed();
    }
    (of(string(8)), user_props(true))
        .prop_map(|(reason_string, user_properties)| AckProperties {
            reason_string,
            user_properties,
        })
        .boxed()
}

fn connect(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let v5 = v.is_v5();
    let props = if v5 {
        (
            (
                of(any::<u32>()),
                of(nz_u16()),
                of(1..=u32::MAX),
                of(any::<u16>()),
            ),
            (of(any::<bool>()), of(any::<bool>()), user_props(true)),
            of((string(8), of(bin(8)))),
        )
            .prop_map(|((sei, rm, mps, tam), (rri, rpi, up), auth)| {
                let (authentication_method, authentication_data) = match auth {
                    Some((m, d)) => (Some(m), d),
                    None => (None, None),
                };
                ConnectProperties {
                    session_expiry_interval: sei,
                    receive_maximum: rm,
                    maximum_packet_size: mps,
                    topic_alias_maximum: tam,
                    request_response_information: rri,
                    request_problem_information: rpi,
                    user_properties: up,
                    authentication_method,
                    authentication_data,
                }
            })
            .boxed()
    } else {
        Just(ConnectProperties::default()).boxed()
    };
    let will_props = if v5 {
        (
            (of(any::<u32>()), of(0..=1u8), of(any::<u32>())),
            (
                of(string(6)),
                of(topic_name()),
                of(bin(6)),
                user_props(true),
            ),
        )
            .prop_map(|((wdi, pfi, mei), (ct, rt, cd, up))| WillProperties {
                will_delay_interval: wdi,
                payload_format_indicator: pfi,
                message_expiry_interval: mei,
                content_type: ct,
                response_topic: rt,
                correlation_data: cd,
                user_properties: up,
            })
            .boxed()
    } else {
        Just(WillProperties::default()).boxed()
    };
    let will = of(
        (topic_name(), bin(16), qos(), any::<bool>(), will_props).prop_map(
            |(topic, payload, qos, retain, properties)| LastWill {
                topic,
                payload,
                qos,
                retain,
                properties,
            },
        ),
    );
    let login = of((string(8), of(bin(8)))).prop_map(move |l| match l {
        Some((u, p)) => (Some(u), p),
        // 5.0 allows a password without a user name.
        None => (None, None),
    });
    (
        any::<bool>(),
        any::<bool>(),
        any::<u16>(),
        string(23),
        will,
        login,
        props,
        of(bin(4)),
    )
        .prop_map(
            move |(
                bridge,
                clean_start,
                keep_alive,
                client_id,
                will,
                (username, password),
                properties,
                v5pw,
            )| {
                let password = if v5 && username.is_none() {
                    v5pw
                } else {
                    password
                };
                Packet::Connect(Box::new(Connect {
                    protocol: v,
                    bridge: bridge && !v5,
                    clean_start: clean_start || (!v5 && client_id.is_empty()),
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                }))
            },
        )
        .boxed()
}

fn connack(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let v5 = v.is_v5();
    let rc = if v5 {
        reason(PacketType::ConnAck).boxed()
    } else {
        proptest::sample::select(vec![
            ReasonCode::Success,
            ReasonCode::UnsupportedProtocolVersion,
            ReasonCode::ClientIdentifierNotValid,
            ReasonCode::ServerUnavailable,
            ReasonCode::BadUserNameOrPassword,
            ReasonCode::NotAuthorized,
        ])
        .boxed()
    };
    let props = if v5 {
        (
            (
                of(any::<u32>()),
                of(nz_u16()),
                of(prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)]),
                of(any::<bool>()),
                of(1..=u32::MAX),
            ),
            (
                of(string(8)),
                of(any::<u16>()),
                of(string(8)),
                user_props(true),
            ),
            (
                of(any::<bool>()),
                of(any::<bool>()),
                of(any::<bool>()),
                of(any::<u16>()),
            ),
            (of(string(8)), of(string(8)), of((string(8), of(bin(8))))),
        )
            .prop_map(
                |(
                    (sei, rm, mq, ra, mps),
                    (aci, tam, rs, up),
                    (wsa, sia, ssa, ska),
                    (ri, sr, auth),
                )| {
                    let (authentication_method, authentication_data) = match auth {
                        Some((m, d)) => (Some(m), d),
                        None => (None, None),
                    };
                    ConnAckProperties {
                        session_expiry_interval: sei,
                        receive_maximum: rm,
                        maximum_qos: mq,
                        retain_available: ra,
                        maximum_packet_size: mps,
                        assigned_client_identifier: aci,
                        topic_alias_maximum: tam,
                        reason_string: rs,
                        user_properties: up,
                        wildcard_subscription_available: wsa,
                        subscription_identifiers_available: sia,
                        shared_subscription_available: ssa,
                        server_keep_alive: ska,
                        response_information: ri,
                        server_reference: sr,
                        authentication_method,
                        authentication_data,
                    }
                },
            )
            .boxed()
    } else {
        Just(ConnAckProperties::default()).boxed()
    };
    (any::<bool>(), rc, props)
        .prop_map(|(sp, reason_code, properties)| {
            Packet::ConnAck(Box::new(ConnAck {
                session_present: sp && reason_code == ReasonCode::Success,
                reason_code,
                properties,
            }))
        })
        .boxed()
}

/// An arbitrary valid PUBLISH for `v`.
pub fn publish(v: ProtocolVersion) -> BoxedStrategy<Publish> {
    let v5 = v.is_v5();
    let props = if v5 {
        (
            (
                of(0..=1u8),
                of(any::<u32>()),
                of(nz_u16()),
                of(topic_name()),
            ),
            (
                of(bin(8)),
                user_props(true),
                vec(1..=268_435_455u32, 0..3),
                of(string(8)),
            ),
        )
            .prop_map(|((pfi, mei, ta, rt), (cd, up, si, ct))| PublishProperties {
                payload_format_indicator: pfi,
                message_expiry_interval: mei,
                topic_alias: ta,
                response_topic: rt,
                correlation_data: cd,
                user_properties: up,
                subscription_identifiers: si,
                content_type: ct,
            })
            .boxed()
    } else {
        Just(PublishProperties::default()).boxed()
    };
    (
        any::<bool>(),
        qos(),
        any::<bool>(),
        topic_name(),
        nz_u16(),
        props,
        bin(64),
        any::<bool>(),
    )
        .prop_map(
            move |(dup, qos, retain, topic, pid, properties, payload, alias_only)| {
                let topic = if v5 && alias_only && properties.topic_alias.is_some() {
                    Utf8Str::new()
                } else {
                    topic
                };
                Publish {
                    dup: dup && qos != QoS::AtMostOnce,
                    qos,
                    retain,
                    topic,
                    packet_id: if qos == QoS::AtMostOnce { 0 } else { pid },
                    properties,
                    payload,
                }
            },
        )
        .boxed()
}

fn pub_response(v: ProtocolVersion, packet: PacketType) -> BoxedStrategy<Packet> {
    let v5 = v.is_v5();
    let rc = if v5 {
        reason(packet).boxed()
    } else {
        Just(ReasonCode::Success).boxed()
    };
    (nz_u16(), rc, ack_props(v5))
        .prop_map(move |(packet_id, reason_code, properties)| match packet {
            PacketType::PubAck => Packet::PubAck(PubAck {
                packet_id,
                reason_code,
                properties,
            }),
            PacketType::PubRec => Packet::PubRec(PubRec {
                packet_id,
                reason_code,
                properties,
            }),
            PacketType::PubRel => Packet::PubRel(PubRel {
                packet_id,
                reason_code,
                properties,
            }),
            _ => Packet::PubComp(PubComp {
                packet_id,
                reason_code,
                properties,
            }),
        })
        .boxed()
}

/// An arbitrary valid SUBSCRIBE for `v`.
pub fn subscribe(v: ProtocolVersion) -> BoxedStrategy<Subscribe> {
    let v5 = v.is_v5();
    let opts =
        (qos(), any::<bool>(), any::<bool>(), 0..=2u8).prop_map(move |(qos, nl, rap, rh)| {
            if v5 {
                SubscriptionOptions {
                    qos,
                    no_local: nl,
                    retain_as_published: rap,
                    retain_handling: RetainHandling::from_u8(rh).unwrap_or_default(),
                }
            } else {
                SubscriptionOptions::new(qos)
            }
        });
    let filters = vec((topic_filter(), opts), 1..6).prop_map(|v| {
        v.into_iter()
            .map(|(filter, mut options)| {
                if topic::is_shared(&filter) {
                    options.no_local = false;
                }
                SubscribeFilter { filter, options }
            })
            .collect::<Vec<_>>()
    });
    let props = if v5 {
        (of(1..=268_435_455u32), user_props(true))
            .prop_map(
                |(subscription_identifier, user_properties)| SubscribeProperties {
                    subscription_identifier,
                    user_properties,
                },
            )
            .boxed()
    } else {
        Just(SubscribeProperties::default()).boxed()
    };
    (nz_u16(), filters, props)
        .prop_map(|(packet_id, filters, properties)| Subscribe {
            packet_id,
            filters,
            properties,
        })
        .boxed()
}

fn suback(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let v5 = v.is_v5();
    let rc = if v5 {
        reason(PacketType::SubAck).boxed()
    } else {
        proptest::sample::select(vec![
            ReasonCode::Success,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ])
        .boxed()
    };
    (nz_u16(), vec(rc, 1..8), ack_props(v5))
        .prop_map(|(packet_id, reason_codes, properties)| {
            Packet::SubAck(SubAck {
                packet_id,
                reason_codes,
                properties,
            })
        })
        .boxed()
}

fn unsubscribe(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    (nz_u16(), vec(topic_filter(), 1..5), user_props(v.is_v5()))
        .prop_map(|(packet_id, filters, user_properties)| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                filters,
                properties: UnsubscribeProperties { user_properties },
            })
        })
        .boxed()
}

fn unsuback(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let v5 = v.is_v5();
    let codes = if v5 {
        vec(reason(PacketType::UnsubAck), 1..6).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (nz_u16(), codes, ack_props(v5))
        .prop_map(|(packet_id, reason_codes, properties)| {
            Packet::UnsubAck(UnsubAck {
                packet_id,
                reason_codes,
                properties,
            })
        })
        .boxed()
}

fn disconnect(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    if !v.is_v5() {
        return Just(Packet::Disconnect(Box::default())).boxed();
    }
    (
        reason(PacketType::Disconnect),
        of(any::<u32>()),
        of(string(8)),
        user_props(true),
        of(string(8)),
    )
        .prop_map(|(reason_code, sei, rs, up, sr)| {
            Packet::Disconnect(Box::new(Disconnect {
                reason_code,
                properties: DisconnectProperties {
                    session_expiry_interval: sei,
                    reason_string: rs,
                    user_properties: up,
                    server_reference: sr,
                },
            }))
        })
        .boxed()
}

fn auth() -> BoxedStrategy<Packet> {
    (
        reason(PacketType::Auth),
        of((string(8), of(bin(8)))),
        of(string(8)),
        user_props(true),
    )
        .prop_map(|(reason_code, am, rs, up)| {
            let (authentication_method, authentication_data) = match am {
                Some((m, d)) => (Some(m), d),
                None => (None, None),
            };
            Packet::Auth(Box::new(Auth {
                reason_code,
                properties: AuthProperties {
                    authentication_method,
                    authentication_data,
                    reason_string: rs,
                    user_properties: up,
                },
            }))
        })
        .boxed()
}

/// An arbitrary valid packet for `v`.
pub fn packet(v: ProtocolVersion) -> BoxedStrategy<Packet> {
    let mut s: Vec<BoxedStrategy<Packet>> = vec![
        connect(v),
        connack(v),
        publish(v).prop_map(Packet::from).boxed(),
        pub_response(v, PacketType::PubAck),
        pub_response(v, PacketType::PubRec),
        pub_response(v, PacketType::PubRel),
        pub_response(v, PacketType::PubComp),
        subscribe(v).prop_map(Packet::Subscribe).boxed(),
        suback(v),
        unsubscribe(v),
        unsuback(v),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        disconnect(v),
    ];
    if v.is_v5() {
        s.push(auth());
    }
    proptest::strategy::Union::new(s).boxed()
}
