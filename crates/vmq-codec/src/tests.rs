//! Unit tests on raw bytes, per packet and version, named after the normative statement they
//! check where one applies (`mqtt_<section>_<n>_...`).

use bytes::{Bytes, BytesMut};

use crate::ProtocolVersion::{V3_1, V3_1_1, V5};
use crate::*;

fn dec(b: &[u8], v: ProtocolVersion) -> Result<Packet, DecodeError> {
    Packet::decode(Bytes::copy_from_slice(b), v)
}

fn enc(p: &Packet, v: ProtocolVersion) -> Vec<u8> {
    let mut b = BytesMut::new();
    p.encode(v, &mut b).unwrap();
    assert_eq!(b.len(), p.encoded_len(v), "encoded_len for {p:?}");
    b.to_vec()
}

fn err(b: &[u8], v: ProtocolVersion) -> DecodeError {
    dec(b, v).unwrap_err()
}

/// A v3.1.1 CONNECT with the given flags byte and payload.
fn connect_v4(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 60];
    body.extend_from_slice(payload);
    let mut f = vec![0x10, body.len() as u8];
    f.extend(body);
    f
}

// ---- fixed header and framing ------------------------------------------------------------------

#[test]
fn check_needs_more_bytes() {
    let l = DecodeLimits::default();
    assert_eq!(check(&[], &l), Ok(None));
    assert_eq!(check(&[0x30], &l), Ok(None));
    assert_eq!(check(&[0x30, 0x80], &l), Ok(None));
    assert_eq!(check(&[0x30, 3, 0, 1], &l), Ok(None));
    assert_eq!(check(&[0x30, 3, 0, 1, b'a', 0xFF], &l), Ok(Some(5)));
    assert_eq!(check(&[0xC0, 0], &l), Ok(Some(2)));
}

#[test]
fn mqtt_1_5_5_remaining_length_at_most_four_bytes() {
    let l = DecodeLimits::default();
    assert_eq!(
        check(&[0x30, 0xFF, 0xFF, 0xFF, 0x80], &l),
        Err(DecodeError::MalformedVarInt)
    );
    // The maximum (268,435,455) is fine: more bytes are needed.
    assert_eq!(check(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F], &l), Ok(None));
    assert_eq!(
        err(&[0x30, 0xFF, 0xFF, 0xFF, 0x80], V5).reason_code(),
        ReasonCode::MalformedPacket
    );
}

#[test]
fn check_refuses_oversized_frame_from_its_header() {
    let l = DecodeLimits::new(100);
    // Only the fixed header is buffered: the 1 MiB body is refused before it arrives.
    let e = check(&[0x30, 0x80, 0x80, 0x40], &l).unwrap_err();
    assert_eq!(
        e,
        DecodeError::PacketTooLarge {
            size: 4 + 1_048_576,
            max: 100
        }
    );
    assert_eq!(e.reason_code(), ReasonCode::PacketTooLarge);
    assert_eq!(check(&[0x30, 98], &l), Ok(None));
    assert!(check(&[0x30, 99], &l).is_err());
}

#[test]
fn mqtt_2_1_2_packet_type_zero_is_invalid() {
    assert_eq!(
        check(&[0x00, 0], &DecodeLimits::default()),
        Err(DecodeError::InvalidPacketType(0))
    );
    assert_eq!(err(&[0x00, 0], V3_1_1), DecodeError::InvalidPacketType(0));
}

#[test]
fn auth_packet_type_is_invalid_before_v5() {
    assert_eq!(err(&[0xF0, 0], V3_1_1), DecodeError::InvalidPacketType(15));
    assert_eq!(err(&[0xF0, 0], V3_1), DecodeError::InvalidPacketType(15));
    assert_eq!(
        dec(&[0xF0, 0], V5),
        Ok(Packet::Auth(Box::new(Auth::new(ReasonCode::Success))))
    );
}

#[test]
fn mqtt_2_2_2_2_reserved_header_flags_must_match() {
    for v in [V3_1, V3_1_1, V5] {
        assert!(matches!(
            err(&[0xC1, 0], v),
            DecodeError::InvalidHeaderFlags { .. }
        ));
        assert!(matches!(
            err(&[0x60, 2, 0, 1], v),
            DecodeError::InvalidHeaderFlags { .. }
        ));
        assert!(matches!(
            err(&[0x80, 6, 0, 1, 0, 1, b'a', 0], v),
            DecodeError::InvalidHeaderFlags { .. }
        ));
        assert!(matches!(
            err(&[0xA0, 5, 0, 1, 0, 1, b'a'], v),
            DecodeError::InvalidHeaderFlags { .. }
        ));
        assert_eq!(
            err(&[0x41, 2, 0, 1], v).reason_code(),
            ReasonCode::MalformedPacket
        );
    }
}

#[test]
fn decode_requires_exactly_one_frame() {
    assert!(matches!(
        err(&[0xC0, 0, 0], V3_1_1),
        DecodeError::FrameLength {
            expected: 2,
            actual: 3
        }
    ));
    assert!(matches!(
        err(&[0x40, 2, 0], V3_1_1),
        DecodeError::FrameLength { .. }
    ));
    assert_eq!(err(&[], V3_1_1), DecodeError::Truncated);
}

#[test]
fn trailing_bytes_are_errors() {
    assert_eq!(err(&[0xC0, 1, 0], V3_1_1), DecodeError::TrailingBytes(1));
    assert_eq!(
        err(&[0x40, 3, 0, 1, 0], V3_1_1),
        DecodeError::TrailingBytes(1)
    );
    assert_eq!(err(&[0xE0, 1, 0], V3_1_1), DecodeError::TrailingBytes(1));
    // v5 PUBACK: reason code, property length 0, then an extra byte.
    assert_eq!(
        err(&[0x40, 5, 0, 1, 0x10, 0, 9], V5),
        DecodeError::TrailingBytes(1)
    );
}

#[test]
fn nested_length_cannot_read_past_its_parent() {
    // PUBLISH v5 whose property length (5) claims more than the remaining length holds.
    assert_eq!(
        err(&[0x30, 5, 0, 1, b'a', 5, 0x01], V5),
        DecodeError::Truncated
    );
    // A user property string length that runs past the property block (but not the frame).
    let f = [0x30, 10, 0, 1, b'a', 3, 0x26, 0, 5, b'x', b'y', b'z'];
    assert_eq!(err(&f, V5), DecodeError::Truncated);
    // A topic length longer than the frame.
    assert_eq!(err(&[0x30, 3, 0, 9, b'a'], V3_1_1), DecodeError::Truncated);
}

// ---- UTF-8 -------------------------------------------------------------------------------------

#[test]
fn mqtt_1_5_4_1_strings_must_be_well_formed_utf8() {
    // Encoded surrogate U+D800 (ED A0 80) in a topic.
    let f = [0x30, 5, 0, 3, 0xED, 0xA0, 0x80];
    assert_eq!(err(&f, V3_1_1), DecodeError::InvalidUtf8);
    assert_eq!(err(&f, V3_1_1).reason_code(), ReasonCode::MalformedPacket);
    // Overlong encoding of '/'.
    assert_eq!(
        err(&[0x30, 4, 0, 2, 0xC0, 0xAF], V3_1_1),
        DecodeError::InvalidUtf8
    );
}

#[test]
fn mqtt_1_5_4_2_strings_must_not_contain_null() {
    assert_eq!(
        err(&[0x30, 5, 0, 3, b'a', 0, b'b'], V3_1_1),
        DecodeError::InvalidUtf8
    );
    let f = connect_v4(0x02, &[0, 2, b'a', 0]);
    assert_eq!(err(&f, V3_1_1), DecodeError::InvalidUtf8);
}

#[test]
fn utf8_bom_is_not_stripped() {
    // MQTT-1.5.4-3: U+FEFF must not be skipped or stripped.
    let f = [0x30, 6, 0, 4, 0xEF, 0xBB, 0xBF, b'a'];
    match dec(&f, V3_1_1).unwrap() {
        Packet::Publish(p) => assert_eq!(p.topic.as_str(), "\u{FEFF}a"),
        p => panic!("{p:?}"),
    }
}

// ---- CONNECT -----------------------------------------------------------------------------------

#[test]
fn connect_v3_1_1_minimal() {
    let f = connect_v4(0x02, &[0, 2, b'c', b'1']);
    let Packet::Connect(c) = dec(&f, V5).unwrap() else {
        panic!()
    };
    assert_eq!(c.protocol, V3_1_1);
    assert!(c.clean_start && !c.bridge);
    assert_eq!(c.keep_alive, 60);
    assert_eq!(c.client_id, "c1");
    assert_eq!(enc(&Packet::Connect(c), V3_1), f);
}

#[test]
fn connect_v3_1_mqisdp_level_3() {
    let f = [
        0x10, 16, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0x02, 0, 10, 0, 2, b'i', b'd',
    ];
    let Packet::Connect(c) = dec(&f, V3_1_1).unwrap() else {
        panic!()
    };
    assert_eq!(c.protocol, V3_1);
    assert_eq!(c.client_id, "id");
    assert_eq!(enc(&Packet::Connect(c), V3_1_1), f);
}

#[test]
fn connect_bridge_bit_levels_131_and_132() {
    let mut f = connect_v4(0x02, &[0, 1, b'b']);
    f[8] = 0x84;
    let Packet::Connect(c) = dec(&f, V3_1_1).unwrap() else {
        panic!()
    };
    assert!(c.bridge);
    assert_eq!(c.protocol, V3_1_1);
    assert_eq!(enc(&Packet::Connect(c), V3_1_1), f);

    let f = [
        0x10, 15, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 0x83, 0x02, 0, 10, 0, 1, b'b',
    ];
    let Packet::Connect(c) = dec(&f, V3_1_1).unwrap() else {
        panic!()
    };
    assert!(c.bridge);
    assert_eq!(c.protocol, V3_1);

    // 0x85 (bridge on v5) is not accepted.
    let mut f = connect_v4(0x02, &[0, 1, b'b']);
    f[8] = 0x85;
    assert_eq!(
        err(&f, V3_1_1),
        DecodeError::UnsupportedProtocolVersion(0x85)
    );
}

#[test]
fn mqtt_3_1_2_2_unsupported_protocol_level() {
    let mut f = connect_v4(0x02, &[0, 1, b'b']);
    f[8] = 6;
    let e = err(&f, V3_1_1);
    assert_eq!(e, DecodeError::UnsupportedProtocolVersion(6));
    assert_eq!(e.reason_code(), ReasonCode::UnsupportedProtocolVersion);
    assert_eq!(e.reason_code().to_v3_connack(), 1);
}

#[test]
fn mqtt_3_1_2_1_protocol_name_must_match_level() {
    let mut f = connect_v4(0x02, &[0, 1, b'b']);
    f[4] = b'X';
    assert_eq!(err(&f, V3_1_1), DecodeError::InvalidProtocolName);
    // "MQTT" with level 3.
    let mut f = connect_v4(0x02, &[0, 1, b'b']);
    f[8] = 3;
    assert_eq!(err(&f, V3_1_1), DecodeError::InvalidProtocolName);
}

#[test]
fn mqtt_3_1_2_3_reserved_flag_must_be_zero() {
    let f = connect_v4(0x03, &[0, 1, b'b']);
    assert_eq!(err(&f, V3_1_1), DecodeError::ReservedConnectFlag);
    assert_eq!(err(&f, V3_1_1).reason_code(), ReasonCode::MalformedPacket);
}

#[test]
fn mqtt_3_1_2_11_will_qos_and_retain_need_will_flag() {
    // Will QoS 1 without will flag.
    assert_eq!(
        err(&connect_v4(0x0A, &[0, 1, b'b']), V3_1_1),
        DecodeError::InvalidWillFlags
    );
    // Will retain without will flag.
    assert_eq!(
        err(&connect_v4(0x22, &[0, 1, b'b']), V3_1_1),
        DecodeError::InvalidWillFlags
    );
}

#[test]
fn mqtt_3_1_2_14_will_qos_3_is_malformed() {
    let f = connect_v4(0x1E, &[0, 1, b'b', 0, 1, b't', 0, 0]);
    assert_eq!(err(&f, V3_1_1), DecodeError::InvalidQoS);
}

#[test]
fn mqtt_3_1_3_8_empty_client_id_requires_clean_session_in_v3() {
    let e = err(&connect_v4(0x00, &[0, 0]), V3_1_1);
    assert_eq!(e, DecodeError::EmptyClientId);
    assert_eq!(e.reason_code().to_v3_connack(), 2);
    assert!(dec(&connect_v4(0x02, &[0, 0]), V3_1_1).is_ok());
    // MQTT 5 lets the server assign an identifier.
    let c = Connect {
        clean_start: false,
        ..Connect::new(V5, "")
    };
    let p = Packet::Connect(Box::new(c));
    assert_eq!(dec(&enc(&p, V5), V5).unwrap(), p);
}

#[test]
fn mqtt_3_1_2_22_password_requires_username_in_v3() {
    let f = connect_v4(0x42, &[0, 1, b'b', 0, 1, b'p']);
    assert_eq!(err(&f, V3_1_1), DecodeError::PasswordWithoutUsername);
}

#[test]
fn connect_v5_password_without_username_is_allowed() {
    let c = Connect {
        password: Some(Bytes::from_static(b"secret")),
        ..Connect::new(V5, "c")
    };
    let p = Packet::Connect(Box::new(c));
    assert_eq!(dec(&enc(&p, V5), V3_1_1).unwrap(), p);
}

#[test]
fn connect_will_username_password_v3_1_1() {
    let f = connect_v4(
        0xEE, // user, password, will retain, will QoS 1, will, clean
        &[
            0, 1, b'c', 0, 3, b'a', b'/', b'b', 0, 2, b'h', b'i', 0, 1, b'u', 0, 1, b'p',
        ],
    );
    let Packet::Connect(c) = dec(&f, V3_1_1).unwrap() else {
        panic!()
    };
    let w = c.will.as_ref().unwrap();
    assert_eq!(w.topic, "a/b");
    assert_eq!(&w.payload[..], b"hi");
    assert_eq!(w.qos, QoS::AtLeastOnce);
    assert!(w.retain);
    assert_eq!(c.username.as_deref(), Some("u"));
    assert_eq!(c.password.as_deref(), Some(&b"p"[..]));
    assert_eq!(enc(&Packet::Connect(c), V3_1_1), f);
}

#[test]
fn mqtt_3_1_3_11_will_topic_must_be_a_topic_name() {
    let f = connect_v4(0x06, &[0, 1, b'c', 0, 3, b'a', b'/', b'#', 0, 0]);
    let e = err(&f, V3_1_1);
    assert_eq!(e, DecodeError::InvalidTopicName);
    assert_eq!(e.reason_code(), ReasonCode::TopicNameInvalid);
}

#[test]
fn connect_v5_properties_and_will_properties() {
    let c = Connect {
        properties: ConnectProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: Some(10),
            maximum_packet_size: Some(65536),
            topic_alias_maximum: Some(5),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            user_properties: vec![("k".into(), "v".into()), ("k".into(), "v2".into())],
            authentication_method: Some("SCRAM".into()),
            authentication_data: Some(Bytes::from_static(b"\x00\x01")),
        },
        will: Some(LastWill {
            topic: "will/t".into(),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::ExactlyOnce,
            retain: false,
            properties: WillProperties {
                will_delay_interval: Some(30),
                payload_format_indicator: Some(1),
                message_expiry_interval: Some(60),
                content_type: Some("text/plain".into()),
                response_topic: Some("r/t".into()),
                correlation_data: Some(Bytes::from_static(b"cd")),
                user_properties: vec![("a".into(), "b".into())],
            },
        }),
        username: Some("user".into()),
        password: Some(Bytes::from_static(b"pw")),
        keep_alive: 0,
        clean_start: false,
        ..Connect::new(V5, "client")
    };
    let p = Packet::Connect(Box::new(c));
    let b = enc(&p, V3_1_1);
    assert_eq!(dec(&b, V3_1).unwrap(), p);
}

#[test]
fn connect_v5_will_property_not_allowed_in_connect_properties() {
    // Property 0x18 (will delay) in CONNECT properties.
    let mut body = vec![
        0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 60, 5, 0x18, 0, 0, 0, 1,
    ];
    body.extend_from_slice(&[0, 1, b'c']);
    let mut f = vec![0x10, body.len() as u8];
    f.extend(body);
    let e = err(&f, V5);
    assert!(matches!(e, DecodeError::InvalidProperty { id: 0x18, .. }));
    assert_eq!(e.reason_code(), ReasonCode::MalformedPacket);
}

fn v5_connect_with_props(props: &[u8]) -> Vec<u8> {
    let mut body = vec![
        0,
        4,
        b'M',
        b'Q',
        b'T',
        b'T',
        5,
        0x02,
        0,
        60,
        props.len() as u8,
    ];
    body.extend_from_slice(props);
    body.extend_from_slice(&[0, 1, b'c']);
    let mut f = vec![0x10, body.len() as u8];
    f.extend(body);
    f
}

#[test]
fn v5_2_2_2_2_duplicate_property_is_a_protocol_error() {
    let f = v5_connect_with_props(&[0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2]);
    let e = err(&f, V5);
    assert_eq!(e, DecodeError::DuplicateProperty(0x11));
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
    // User properties may repeat.
    let f = v5_connect_with_props(&[0x26, 0, 1, b'a', 0, 0, 0x26, 0, 1, b'a', 0, 0]);
    let Packet::Connect(c) = dec(&f, V5).unwrap() else {
        panic!()
    };
    assert_eq!(c.properties.user_properties.len(), 2);
}

#[test]
fn v5_3_1_2_11_receive_maximum_zero_is_a_protocol_error() {
    let e = err(&v5_connect_with_props(&[0x21, 0, 0]), V5);
    assert_eq!(e, DecodeError::InvalidPropertyValue(0x21));
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
}

#[test]
fn v5_3_1_2_11_maximum_packet_size_zero_is_a_protocol_error() {
    assert_eq!(
        err(&v5_connect_with_props(&[0x27, 0, 0, 0, 0]), V5),
        DecodeError::InvalidPropertyValue(0x27)
    );
}

#[test]
fn v5_3_1_2_11_request_problem_information_must_be_0_or_1() {
    assert_eq!(
        err(&v5_connect_with_props(&[0x17, 2]), V5),
        DecodeError::InvalidPropertyValue(0x17)
    );
}

#[test]
fn v5_3_1_2_11_authentication_data_without_method_is_a_protocol_error() {
    assert_eq!(
        err(&v5_connect_with_props(&[0x16, 0, 1, 7]), V5),
        DecodeError::InvalidPropertyValue(0x16)
    );
}

#[test]
fn v5_unknown_property_is_malformed() {
    let e = err(&v5_connect_with_props(&[0x7F, 0]), V5);
    assert!(matches!(e, DecodeError::InvalidProperty { id: 0x7F, .. }));
    // An identifier encoded on two bytes (0x80 0x01 = 128) is not a defined property either.
    let e = err(&v5_connect_with_props(&[0x80, 0x01]), V5);
    assert!(matches!(e, DecodeError::InvalidProperty { id: 128, .. }));
}

// ---- CONNACK -----------------------------------------------------------------------------------

#[test]
fn connack_v3_return_codes_map_to_reason_codes() {
    for (code, rc) in [
        (0u8, ReasonCode::Success),
        (1, ReasonCode::UnsupportedProtocolVersion),
        (2, ReasonCode::ClientIdentifierNotValid),
        (3, ReasonCode::ServerUnavailable),
        (4, ReasonCode::BadUserNameOrPassword),
        (5, ReasonCode::NotAuthorized),
    ] {
        let f = [0x20, 2, 0, code];
        assert_eq!(
            dec(&f, V3_1_1).unwrap(),
            Packet::ConnAck(Box::new(ConnAck::new(rc, false)))
        );
        assert_eq!(
            enc(&Packet::ConnAck(Box::new(ConnAck::new(rc, false))), V3_1),
            f
        );
    }
    assert!(matches!(
        err(&[0x20, 2, 0, 6], V3_1_1),
        DecodeError::InvalidReasonCode { code: 6, .. }
    ));
    // Any other refusal is sent as 3 (server unavailable).
    assert_eq!(
        enc(
            &Packet::ConnAck(Box::new(ConnAck::new(ReasonCode::Banned, false))),
            V3_1_1
        ),
        [0x20, 2, 0, 3]
    );
}

#[test]
fn mqtt_3_2_2_1_connack_reserved_flags_must_be_zero() {
    assert_eq!(
        err(&[0x20, 2, 2, 0], V3_1_1),
        DecodeError::InvalidConnAckFlags
    );
}

#[test]
fn mqtt_3_2_2_4_session_present_requires_success() {
    assert_eq!(
        err(&[0x20, 2, 1, 5], V3_1_1),
        DecodeError::InvalidConnAckFlags
    );
    assert_eq!(
        err(&[0x20, 3, 1, 0x87, 0], V5),
        DecodeError::InvalidConnAckFlags
    );
}

#[test]
fn connack_v5_with_properties() {
    let c = ConnAck {
        session_present: true,
        reason_code: ReasonCode::Success,
        properties: ConnAckProperties {
            session_expiry_interval: Some(1),
            receive_maximum: Some(2),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            maximum_packet_size: Some(1000),
            assigned_client_identifier: Some("gen-1".into()),
            topic_alias_maximum: Some(3),
            reason_string: Some("ok".into()),
            user_properties: vec![("x".into(), "y".into())],
            wildcard_subscription_available: Some(true),
            subscription_identifiers_available: Some(false),
            shared_subscription_available: Some(true),
            server_keep_alive: Some(30),
            response_information: Some("ri".into()),
            server_reference: Some("other:1883".into()),
            authentication_method: Some("m".into()),
            authentication_data: Some(Bytes::from_static(b"d")),
        },
    };
    let p = Packet::ConnAck(Box::new(c));
    assert_eq!(dec(&enc(&p, V5), V5).unwrap(), p);
}

#[test]
fn v5_3_2_2_3_4_maximum_qos_must_be_0_or_1() {
    assert_eq!(
        err(&[0x20, 5, 0, 0, 2, 0x24, 2], V5),
        DecodeError::InvalidPropertyValue(0x24)
    );
}

#[test]
fn connack_v5_reason_code_must_be_a_connack_code() {
    // 0x04 (disconnect with will) is not a CONNACK reason code.
    assert!(matches!(
        err(&[0x20, 3, 0, 0x04, 0], V5),
        DecodeError::InvalidReasonCode { code: 4, .. }
    ));
}

// ---- PUBLISH -----------------------------------------------------------------------------------

#[test]
fn publish_topic_and_payload_are_slices_of_the_frame() {
    let frame = Bytes::from_static(&[0x32, 10, 0, 3, b'a', b'/', b'b', 0, 9, b'x', b'y', b'z']);
    let Packet::Publish(p) = Packet::decode(frame.clone(), V3_1_1).unwrap() else {
        panic!()
    };
    assert_eq!(p.qos, QoS::AtLeastOnce);
    assert_eq!(p.packet_id, 9);
    let range = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
    assert!(range.contains(&(p.topic.as_bytes().as_ptr() as usize)));
    assert!(range.contains(&(p.payload.as_ptr() as usize)));
    assert_eq!(&p.payload[..], b"xyz");
}

#[test]
fn mqtt_3_3_1_4_publish_qos_3_is_malformed() {
    let e = err(&[0x36, 5, 0, 1, b'a', 0, 1], V3_1_1);
    assert_eq!(e, DecodeError::InvalidQoS);
    assert_eq!(e.reason_code(), ReasonCode::MalformedPacket);
}

#[test]
fn mqtt_3_3_1_2_dup_must_be_zero_for_qos_0() {
    assert_eq!(
        err(&[0x38, 3, 0, 1, b'a'], V3_1_1),
        DecodeError::DupWithQoS0
    );
}

#[test]
fn mqtt_3_3_2_2_publish_topic_must_not_contain_wildcards() {
    for t in [&b"a/+"[..], b"#", b"a/#"] {
        let mut f = vec![0x30, 3 + t.len() as u8, 0, t.len() as u8];
        f.extend_from_slice(t);
        f.push(0); // v5 property length
        let e = err(&f, V5);
        assert_eq!(e, DecodeError::InvalidTopicName);
        assert_eq!(e.reason_code(), ReasonCode::TopicNameInvalid);
    }
}

#[test]
fn mqtt_4_7_3_1_publish_topic_must_not_be_empty_in_v3() {
    assert_eq!(err(&[0x30, 2, 0, 0], V3_1_1), DecodeError::InvalidTopicName);
}

#[test]
fn v5_3_3_2_3_4_empty_topic_needs_topic_alias() {
    let e = err(&[0x30, 3, 0, 0, 0], V5);
    assert_eq!(e, DecodeError::MissingTopic);
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
    let Packet::Publish(p) = dec(&[0x30, 6, 0, 0, 3, 0x23, 0, 4], V5).unwrap() else {
        panic!()
    };
    assert!(p.topic.is_empty());
    assert_eq!(p.properties.topic_alias, Some(4));
}

#[test]
fn mqtt_3_3_2_8_topic_alias_zero_is_invalid() {
    let e = err(&[0x30, 7, 0, 1, b'a', 3, 0x23, 0, 0], V5);
    assert_eq!(e, DecodeError::InvalidTopicAlias);
    assert_eq!(e.reason_code(), ReasonCode::TopicAliasInvalid);
}

#[test]
fn mqtt_2_2_1_3_publish_qos_1_packet_id_must_be_non_zero() {
    let e = err(&[0x32, 5, 0, 1, b'a', 0, 0], V3_1_1);
    assert_eq!(e, DecodeError::ZeroPacketId);
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
}

#[test]
fn publish_v5_properties_round_trip() {
    let p = Packet::Publish(Box::new(Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: "t".into(),
        packet_id: 65535,
        properties: PublishProperties {
            payload_format_indicator: Some(0),
            message_expiry_interval: Some(10),
            topic_alias: Some(1),
            response_topic: Some("resp".into()),
            correlation_data: Some(Bytes::from_static(b"\xff")),
            user_properties: vec![("u".into(), "".into())],
            subscription_identifiers: vec![1, 268_435_455, 128],
            content_type: Some("ct".into()),
        },
        payload: Bytes::from_static(b""),
    }));
    assert_eq!(dec(&enc(&p, V5), V5).unwrap(), p);
}

#[test]
fn v5_3_3_2_3_2_payload_format_indicator_must_be_0_or_1() {
    assert_eq!(
        err(&[0x30, 6, 0, 1, b'a', 2, 0x01, 2], V5),
        DecodeError::InvalidPropertyValue(0x01)
    );
}

#[test]
fn v5_3_3_2_3_5_response_topic_must_not_contain_wildcards() {
    assert_eq!(
        err(&[0x30, 9, 0, 1, b'a', 5, 0x08, 0, 2, b'a', b'#'], V5),
        DecodeError::InvalidPropertyValue(0x08)
    );
}

#[test]
fn v5_subscription_identifier_zero_is_a_protocol_error() {
    assert_eq!(
        err(&[0x30, 6, 0, 1, b'a', 2, 0x0B, 0], V5),
        DecodeError::InvalidPropertyValue(0x0B)
    );
}

#[test]
fn publish_property_not_allowed_in_publish() {
    // Session expiry interval (0x11) in PUBLISH.
    assert!(matches!(
        err(&[0x30, 9, 0, 1, b'a', 5, 0x11, 0, 0, 0, 1], V5),
        DecodeError::InvalidProperty { id: 0x11, .. }
    ));
}

#[test]
fn publish_v3_has_no_properties() {
    // The byte after the topic is payload in 3.1.1, a property length in 5.0.
    let f = [0x30, 4, 0, 1, b'a', 0x00];
    let Packet::Publish(p) = dec(&f, V3_1_1).unwrap() else {
        panic!()
    };
    assert_eq!(&p.payload[..], &[0]);
    let Packet::Publish(p) = dec(&f, V5).unwrap() else {
        panic!()
    };
    assert!(p.payload.is_empty());
}

// ---- PUBACK, PUBREC, PUBREL, PUBCOMP -------------------------------------------------------------

#[test]
fn v5_3_4_2_1_puback_reason_code_and_properties_may_be_omitted() {
    assert_eq!(
        dec(&[0x40, 2, 0, 5], V5).unwrap(),
        Packet::PubAck(PubAck::new(5))
    );
    assert_eq!(enc(&Packet::PubAck(PubAck::new(5)), V5), [0x40, 2, 0, 5]);
    let p = PubAck {
        reason_code: ReasonCode::NoMatchingSubscribers,
        ..PubAck::new(5)
    };
    assert_eq!(
        dec(&[0x40, 3, 0, 5, 0x10], V5).unwrap(),
        Packet::PubAck(p.clone())
    );
    assert_eq!(enc(&Packet::PubAck(p), V5), [0x40, 3, 0, 5, 0x10]);
    // Reason code with an explicit empty property list.
    assert_eq!(
        dec(&[0x40, 4, 0, 5, 0, 0], V5).unwrap(),
        Packet::PubAck(PubAck::new(5))
    );
}

#[test]
fn v3_puback_ignores_reason_code_on_encode() {
    let p = PubRec {
        reason_code: ReasonCode::QuotaExceeded,
        ..PubRec::new(1)
    };
    assert_eq!(enc(&Packet::PubRec(p), V3_1_1), [0x50, 2, 0, 1]);
}

#[test]
fn pubrel_flags_and_reason_codes() {
    assert_eq!(
        dec(&[0x62, 2, 0, 1], V3_1_1).unwrap(),
        Packet::PubRel(PubRel::new(1))
    );
    let p = PubComp {
        reason_code: ReasonCode::PacketIdentifierNotFound,
        properties: AckProperties {
            reason_string: Some("gone".into()),
            user_properties: vec![],
        },
        packet_id: 2,
    };
    let b = enc(&Packet::PubComp(p.clone()), V5);
    assert_eq!(dec(&b, V5).unwrap(), Packet::PubComp(p));
    // 0x10 is a PUBACK code, not a PUBREL one.
    assert!(matches!(
        err(&[0x62, 3, 0, 1, 0x10], V5),
        DecodeError::InvalidReasonCode { code: 0x10, .. }
    ));
}

#[test]
fn mqtt_2_2_1_3_ack_packet_id_must_be_non_zero() {
    for first in [0x40u8, 0x50, 0x62, 0x70] {
        assert_eq!(err(&[first, 2, 0, 0], V5), DecodeError::ZeroPacketId);
    }
    assert_eq!(
        Packet::PubAck(PubAck::new(0)).encode(V5, &mut BytesMut::new()),
        Err(EncodeError::ZeroPacketId)
    );
}

// ---- SUBSCRIBE / SUBACK --------------------------------------------------------------------------

#[test]
fn subscribe_v3_1_1() {
    let f = [0x82, 8, 0, 1, 0, 3, b'a', b'/', b'+', 1];
    let Packet::Subscribe(s) = dec(&f, V3_1_1).unwrap() else {
        panic!()
    };
    assert_eq!(s.packet_id, 1);
    assert_eq!(s.filters[0].filter, "a/+");
    assert_eq!(s.filters[0].options.qos, QoS::AtLeastOnce);
    assert_eq!(enc(&Packet::Subscribe(s), V3_1_1), f);
}

#[test]
fn mqtt_3_8_3_3_subscribe_without_filters_is_a_protocol_error() {
    let e = err(&[0x82, 2, 0, 1], V3_1_1);
    assert_eq!(e, DecodeError::EmptyPayload(PacketType::Subscribe));
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
    assert_eq!(err(&[0x82, 3, 0, 1, 0], V5), e);
}

#[test]
fn mqtt_3_8_3_4_subscribe_v3_reserved_option_bits_must_be_zero() {
    assert_eq!(
        err(&[0x82, 6, 0, 1, 0, 1, b'a', 0x04], V3_1_1),
        DecodeError::ReservedSubscriptionBits
    );
    assert_eq!(
        err(&[0x82, 6, 0, 1, 0, 1, b'a', 0x03], V3_1_1),
        DecodeError::InvalidQoS
    );
}

#[test]
fn mqtt_3_8_3_5_subscribe_v5_reserved_option_bits_must_be_zero() {
    assert_eq!(
        err(&[0x82, 7, 0, 1, 0, 0, 1, b'a', 0x40], V5),
        DecodeError::ReservedSubscriptionBits
    );
}

#[test]
fn v5_3_8_3_1_retain_handling_3_is_a_protocol_error() {
    let e = err(&[0x82, 7, 0, 1, 0, 0, 1, b'a', 0x30], V5);
    assert_eq!(e, DecodeError::InvalidRetainHandling);
    assert_eq!(e.reason_code(), ReasonCode::ProtocolError);
}

#[test]
fn subscribe_v5_options_round_trip() {
    let s = Subscribe {
        packet_id: 10,
        filters: vec![
            SubscribeFilter {
                filter: "a/#".into(),
                options: SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: true,
                    retain_as_published: true,
                    retain_handling: RetainHandling::DoNotSend,
                },
            },
            SubscribeFilter {
                filter: "$share/g/x/+".into(),
                options: SubscriptionOptions {
                    retain_handling: RetainHandling::SendAtSubscribeIfNew,
                    ..SubscriptionOptions::new(QoS::AtLeastOnce)
                },
            },
        ],
        properties: SubscribeProperties {
            subscription_identifier: Some(77),
            user_properties: vec![("a".into(), "b".into())],
        },
    };
    let p = Packet::Subscribe(s);
    let b = enc(&p, V5);
    assert_eq!(b[b.len() - 1], 0x11);
    assert_eq!(dec(&b, V5).unwrap(), p);
}

#[test]
fn mqtt_3_8_3_4_no_local_on_shared_subscription_is_a_protocol_error() {
    let mut f = vec![0x82, 0, 0, 1, 0];
    let t = b"$share/g/a";
    f.extend_from_slice(&[0, t.len() as u8]);
    f.extend_from_slice(t);
    f.push(0x04);
    f[1] = (f.len() - 2) as u8;
    assert_eq!(err(&f, V5), DecodeError::NoLocalOnSharedSubscription);
}

#[test]
fn mqtt_4_7_1_subscribe_invalid_filters_are_rejected() {
    for t in [
        &b"a/#/b"[..],
        b"a+",
        b"",
        b"$share/g",
        b"$share//a",
        b"$share/g+/a",
    ] {
        let mut f = vec![0x82, 0, 0, 1, 0, t.len() as u8];
        f.extend_from_slice(t);
        f.push(0);
        f[1] = (f.len() - 2) as u8;
        let e = err(&f, V3_1_1);
        assert_eq!(e, DecodeError::InvalidTopicFilter, "{t:?}");
        assert_eq!(e.reason_code(), ReasonCode::TopicFilterInvalid);
    }
}

#[test]
fn v5_subscribe_duplicate_subscription_identifier() {
    assert_eq!(
        err(&[0x82, 11, 0, 1, 4, 0x0B, 1, 0x0B, 2, 0, 1, b'a', 0], V5),
        DecodeError::DuplicateProperty(0x0B)
    );
}

#[test]
fn suback_v3_return_codes() {
    let f = [0x90, 6, 0, 1, 0, 1, 2, 0x80];
    let Packet::SubAck(s) = dec(&f, V3_1_1).unwrap() else {
        panic!()
    };
    assert_eq!(
        s.reason_codes,
        [
            ReasonCode::Success,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError
        ]
    );
    assert_eq!(enc(&Packet::SubAck(s), V3_1_1), f);
    // Any failure is 0x80 in 3.x.
    let s = SubAck::new(1, vec![ReasonCode::NotAuthorized]);
    assert_eq!(enc(&Packet::SubAck(s), V3_1_1), [0x90, 3, 0, 1, 0x80]);
    assert!(matches!(
        err(&[0x90, 3, 0, 1, 3], V3_1_1),
        DecodeError::InvalidReasonCode { code: 3, .. }
    ));
}

#[test]
fn suback_v5_with_properties() {
    let s = SubAck {
        packet_id: 4,
        reason_codes: vec![ReasonCode::GrantedQoS1, ReasonCode::TopicFilterInvalid],
        properties: AckProperties {
            reason_string: Some("r".into()),
            user_properties: vec![],
        },
    };
    let p = Packet::SubAck(s);
    assert_eq!(dec(&enc(&p, V5), V5).unwrap(), p);
}

// ---- UNSUBSCRIBE / UNSUBACK ----------------------------------------------------------------------

#[test]
fn unsubscribe_round_trip_each_version() {
    let u = Unsubscribe::new(3, vec!["a/b".into(), "$share/g/#".into()]);
    for v in [V3_1, V3_1_1, V5] {
        let p = Packet::Unsubscribe(u.clone());
        assert_eq!(dec(&enc(&p, v), v).unwrap(), p);
    }
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_without_filters_is_a_protocol_error() {
    assert_eq!(
        err(&[0xA2, 2, 0, 1], V3_1_1),
        DecodeError::EmptyPayload(PacketType::Unsubscribe)
    );
}

#[test]
fn unsuback_v3_has_no_reason_codes() {
    assert_eq!(
        dec(&[0xB0, 2, 0, 7], V3_1_1).unwrap(),
        Packet::UnsubAck(UnsubAck::new(7, vec![]))
    );
    assert_eq!(
        err(&[0xB0, 3, 0, 7, 0], V3_1_1),
        DecodeError::TrailingBytes(1)
    );
    let p = Packet::UnsubAck(UnsubAck::new(7, vec![ReasonCode::NoSubscriptionExisted]));
    assert_eq!(enc(&p, V3_1_1), [0xB0, 2, 0, 7]);
    assert_eq!(dec(&enc(&p, V5), V5).unwrap(), p);
}

// ---- PINGREQ / PINGRESP / DISCONNECT / AUTH ------------------------------------------------------

#[test]
fn ping_round_trip() {
    for v in [V3_1, V3_1_1, V5] {
        assert_eq!(enc(&Packet::PingReq, v), [0xC0, 0]);
        assert_eq!(enc(&Packet::PingResp, v), [0xD0, 0]);
        assert_eq!(dec(&[0xC0, 0], v).unwrap(), Packet::PingReq);
        assert_eq!(dec(&[0xD0, 0], v).unwrap(), Packet::PingResp);
    }
}

#[test]
fn v5_3_14_2_1_bodyless_disconnect_means_success() {
    assert_eq!(
        dec(&[0xE0, 0], V5).unwrap(),
        Packet::Disconnect(Box::default())
    );
    assert_eq!(enc(&Packet::Disconnect(Box::default()), V5), [0xE0, 0]);
    // Reason code only.
    let d = Disconnect::new(ReasonCode::DisconnectWithWillMessage);
    assert_eq!(
        dec(&[0xE0, 1, 4], V5).unwrap(),
        Packet::Disconnect(Box::new(d.clone()))
    );
    assert_eq!(enc(&Packet::Disconnect(Box::new(d)), V5), [0xE0, 1, 4]);
}

#[test]
fn disconnect_v5_with_properties() {
    let d = Disconnect {
        reason_code: ReasonCode::ServerMoved,
        properties: DisconnectProperties {
            session_expiry_interval: Some(0),
            reason_string: Some("moved".into()),
            user_properties: vec![("a".into(), "b".into())],
            server_reference: Some("host2".into()),
        },
    };
    let p = Packet::Disconnect(Box::new(d));
    assert_eq!(dec(&enc(&p, V5), V5).unwrap(), p);
    // v3 drops everything.
    assert_eq!(enc(&p, V3_1_1), [0xE0, 0]);
    // 0x91 is not a DISCONNECT reason code.
    assert!(matches!(
        err(&[0xE0, 1, 0x91], V5),
        DecodeError::InvalidReasonCode { .. }
    ));
}

#[test]
fn auth_v5_round_trip_and_reason_codes() {
    let a = Auth {
        reason_code: ReasonCode::ContinueAuthentication,
        properties: AuthProperties {
            authentication_method: Some("SCRAM-SHA-1".into()),
            authentication_data: Some(Bytes::from_static(b"client-first")),
            reason_string: None,
            user_properties: vec![],
        },
    };
    let p = Packet::Auth(Box::new(a));
    assert_eq!(dec(&enc(&p, V5), V5).unwrap(), p);
    assert!(matches!(
        err(&[0xF0, 1, 0x80], V5),
        DecodeError::InvalidReasonCode { .. }
    ));
    assert_eq!(
        p.encode(V3_1_1, &mut BytesMut::new()),
        Err(EncodeError::NotInVersion {
            packet: PacketType::Auth,
            version: V3_1_1
        })
    );
}

// ---- encoding errors -----------------------------------------------------------------------------

#[test]
fn encode_rejects_overlong_strings_and_leaves_buffer_unchanged() {
    let long = "x".repeat(70_000);
    let p = Packet::Publish(Box::new(Publish::new(long.as_str(), Bytes::new())));
    let mut b = BytesMut::from(&b"keep"[..]);
    assert_eq!(
        p.encode(V3_1_1, &mut b),
        Err(EncodeError::FieldTooLong(70_000))
    );
    assert_eq!(&b[..], b"keep");
}

#[test]
fn encode_rejects_empty_subscribe_and_disallowed_reason_codes() {
    let s = Subscribe {
        filters: vec![],
        ..Subscribe::new(1, "a", QoS::AtMostOnce)
    };
    assert_eq!(
        Packet::Subscribe(s).encode(V5, &mut BytesMut::new()),
        Err(EncodeError::EmptyPayload(PacketType::Subscribe))
    );
    let p = PubAck {
        reason_code: ReasonCode::Banned,
        ..PubAck::new(1)
    };
    assert!(matches!(
        Packet::PubAck(p).encode(V5, &mut BytesMut::new()),
        Err(EncodeError::ReasonCodeNotAllowed { .. })
    ));
}

#[test]
fn encode_large_publish_uses_multi_byte_remaining_length() {
    let payload = Bytes::from(vec![7u8; 2_100_000]);
    let p = Packet::Publish(Box::new(Publish::new("t", payload)));
    let b = enc(&p, V3_1_1);
    assert_eq!(b[1] & 0x80, 0x80);
    assert_eq!(check(&b, &DecodeLimits::default()), Ok(Some(b.len())));
    assert_eq!(dec(&b, V3_1_1).unwrap(), p);
}

#[test]
fn decode_from_splits_frames() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&[0xC0, 0, 0xD0, 0, 0x30]);
    let l = DecodeLimits::default();
    assert_eq!(decode_from(&mut buf, V3_1_1, &l), Ok(Some(Packet::PingReq)));
    assert_eq!(
        decode_from(&mut buf, V3_1_1, &l),
        Ok(Some(Packet::PingResp))
    );
    assert_eq!(decode_from(&mut buf, V3_1_1, &l), Ok(None));
    assert_eq!(&buf[..], &[0x30]);
}

#[test]
fn reason_code_from_u8_round_trips() {
    let mut n = 0;
    for v in 0..=255u8 {
        if let Some(rc) = ReasonCode::from_u8(v) {
            assert_eq!(rc.as_u8(), v);
            n += 1;
        }
    }
    assert_eq!(n, 43);
}

#[test]
fn publish_remaining_length_boundaries_round_trip() {
    // Remaining lengths of 127/128 and 16,383/16,384 bytes: 1, 2 and 3 byte encodings.
    for v in [V3_1_1, V5] {
        let fixed = 2 + 1 + 2 + usize::from(v == V5);
        for remaining in [127usize, 128, 16_383, 16_384] {
            let p = Packet::Publish(Box::new(Publish {
                qos: QoS::AtLeastOnce,
                packet_id: 9,
                ..Publish::new("t", vec![7u8; remaining - fixed])
            }));
            let b = enc(&p, v);
            assert_eq!(check(&b, &DecodeLimits::default()), Ok(Some(b.len())));
            assert_eq!(dec(&b, v).unwrap(), p, "{remaining} {v:?}");
        }
    }
}
