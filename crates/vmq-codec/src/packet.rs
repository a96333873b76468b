//! The packet types of MQTT 3.1, 3.1.1 and 5.0: one struct per control packet, one properties
//! struct per packet kind, QoS, reason codes and subscription options.
//!
//! These types are the contract between the codec and everything above it (session, broker,
//! clients). Strings are [`Utf8Str`] and binary data is [`Bytes`]: after `decode` both are slices
//! of the received frame, never copies.

use bytes::Bytes;

use crate::Utf8Str;

/// The protocol level a connection speaks. It belongs to the connection (learnt from CONNECT),
/// not to each packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// MQTT 3.1: protocol name `MQIsdp`, level 3.
    V3_1,
    /// MQTT 3.1.1: protocol name `MQTT`, level 4.
    V3_1_1,
    /// MQTT 5.0: protocol name `MQTT`, level 5.
    V5,
}

impl ProtocolVersion {
    /// The protocol level byte (3, 4 or 5) without the bridge bit.
    pub fn level(self) -> u8 {
        match self {
            ProtocolVersion::V3_1 => 3,
            ProtocolVersion::V3_1_1 => 4,
            ProtocolVersion::V5 => 5,
        }
    }

    /// True for MQTT 5.0.
    pub fn is_v5(self) -> bool {
        self == ProtocolVersion::V5
    }
}

/// Quality of service of a PUBLISH or a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[repr(u8)]
pub enum QoS {
    /// QoS 0.
    #[default]
    AtMostOnce = 0,
    /// QoS 1.
    AtLeastOnce = 1,
    /// QoS 2.
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses 0, 1 or 2.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// MQTT 5 reason codes (one numbering shared by all packets). For MQTT 3.x the codec maps
/// CONNACK return codes and SUBACK return codes to and from these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum ReasonCode {
    /// Success / Normal disconnection / Granted QoS 0.
    Success = 0x00,
    GrantedQoS1 = 0x01,
    GrantedQoS2 = 0x02,
    DisconnectWithWillMessage = 0x04,
    NoMatchingSubscribers = 0x10,
    NoSubscriptionExisted = 0x11,
    ContinueAuthentication = 0x18,
    ReAuthenticate = 0x19,
    UnspecifiedError = 0x80,
    MalformedPacket = 0x81,
    ProtocolError = 0x82,
    ImplementationSpecificError = 0x83,
    UnsupportedProtocolVersion = 0x84,
    ClientIdentifierNotValid = 0x85,
    BadUserNameOrPassword = 0x86,
    NotAuthorized = 0x87,
    ServerUnavailable = 0x88,
    ServerBusy = 0x89,
    Banned = 0x8A,
    ServerShuttingDown = 0x8B,
    BadAuthenticationMethod = 0x8C,
    KeepAliveTimeout = 0x8D,
    SessionTakenOver = 0x8E,
    TopicFilterInvalid = 0x8F,
    TopicNameInvalid = 0x90,
    PacketIdentifierInUse = 0x91,
    PacketIdentifierNotFound = 0x92,
    ReceiveMaximumExceeded = 0x93,
    TopicAliasInvalid = 0x94,
    PacketTooLarge = 0x95,
    MessageRateTooHigh = 0x96,
    QuotaExceeded = 0x97,
    AdministrativeAction = 0x98,
    PayloadFormatInvalid = 0x99,
    RetainNotSupported = 0x9A,
    QoSNotSupported = 0x9B,
    UseAnotherServer = 0x9C,
    ServerMoved = 0x9D,
    SharedSubscriptionsNotSupported = 0x9E,
    ConnectionRateExceeded = 0x9F,
    MaximumConnectTime = 0xA0,
    SubscriptionIdentifiersNotSupported = 0xA1,
    WildcardSubscriptionsNotSupported = 0xA2,
}

/// What the server does with retained messages when a subscription is made (MQTT 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe,
    /// 1: send them only if the subscription did not exist yet.
    SendAtSubscribeIfNew,
    /// 2: do not send retained messages.
    DoNotSend,
}

/// The options byte of one SUBSCRIBE entry. For MQTT 3.x only `qos` is on the wire; the other
/// fields are their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS the subscriber accepts.
    pub qos: QoS,
    /// MQTT 5: do not forward messages published by this same client.
    pub no_local: bool,
    /// MQTT 5: keep the RETAIN flag as published when forwarding.
    pub retain_as_published: bool,
    /// MQTT 5: retained message handling at subscribe time.
    pub retain_handling: RetainHandling,
}

/// A user property (MQTT 5): a UTF-8 string pair; may repeat, order is kept.
pub type UserProperty = (Utf8Str, Utf8Str);

/// A whole MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Packet {
    Connect(Box<Connect>),
    /// Boxed, as are the other rare packets with large properties (DISCONNECT, AUTH), so that
    /// the common ones (a PUBACK for each delivery) are not moved around at their size.
    ConnAck(Box<ConnAck>),
    /// Boxed: a PUBLISH is the largest common packet.
    Publish(Box<Publish>),
    PubAck(PubAck),
    PubRec(PubRec),
    PubRel(PubRel),
    PubComp(PubComp),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Box<Disconnect>),
    /// MQTT 5 only.
    Auth(Box<Auth>),
}

impl From<Publish> for Packet {
    fn from(publish: Publish) -> Packet {
        Packet::Publish(Box::new(publish))
    }
}

/// CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Protocol level announced by the client.
    pub protocol: ProtocolVersion,
    /// The bridge bit (`0x80 | level`), used by bridges (VerneMQ accepts 131 and 132).
    pub bridge: bool,
    /// Clean session (3.x) / clean start (5.0).
    pub clean_start: bool,
    /// Keep alive in seconds (0 = disabled).
    pub keep_alive: u16,
    /// Client identifier (may be empty).
    pub client_id: Utf8Str,
    /// The will message, if the will flag is set.
    pub will: Option<LastWill>,
    /// User name, if the flag is set.
    pub username: Option<Utf8Str>,
    /// Password, if the flag is set.
    pub password: Option<Bytes>,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: ConnectProperties,
}

/// The will message carried in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWill {
    /// Will topic (a topic name, no wildcards).
    pub topic: Utf8Str,
    /// Will payload.
    pub payload: Bytes,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// MQTT 5 will properties.
    pub properties: WillProperties,
}

/// CONNECT properties (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct ConnectProperties {
    pub session_expiry_interval: Option<u32>,
    pub receive_maximum: Option<u16>,
    pub maximum_packet_size: Option<u32>,
    pub topic_alias_maximum: Option<u16>,
    pub request_response_information: Option<bool>,
    pub request_problem_information: Option<bool>,
    pub user_properties: Vec<UserProperty>,
    pub authentication_method: Option<Utf8Str>,
    pub authentication_data: Option<Bytes>,
}

/// Will properties (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct WillProperties {
    pub will_delay_interval: Option<u32>,
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<Utf8Str>,
    pub response_topic: Option<Utf8Str>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: Vec<UserProperty>,
}

/// CONNACK. For MQTT 3.x the reason code is mapped to the v3 return code on encode
/// (Success→0, UnsupportedProtocolVersion→1, ClientIdentifierNotValid→2, ServerUnavailable→3,
/// BadUserNameOrPassword→4, NotAuthorized→5; any other refusal → 3) and back on decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck {
    /// Session present flag.
    pub session_present: bool,
    /// Connect reason code / return code.
    pub reason_code: ReasonCode,
    /// MQTT 5 properties.
    pub properties: ConnAckProperties,
}

/// CONNACK properties (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct ConnAckProperties {
    pub session_expiry_interval: Option<u32>,
    pub receive_maximum: Option<u16>,
    pub maximum_qos: Option<QoS>,
    pub retain_available: Option<bool>,
    pub maximum_packet_size: Option<u32>,
    pub assigned_client_identifier: Option<Utf8Str>,
    pub topic_alias_maximum: Option<u16>,
    pub reason_string: Option<Utf8Str>,
    pub user_properties: Vec<UserProperty>,
    pub wildcard_subscription_available: Option<bool>,
    pub subscription_identifiers_available: Option<bool>,
    pub shared_subscription_available: Option<bool>,
    pub server_keep_alive: Option<u16>,
    pub response_information: Option<Utf8Str>,
    pub server_reference: Option<Utf8Str>,
    pub authentication_method: Option<Utf8Str>,
    pub authentication_data: Option<Bytes>,
}

/// PUBLISH. `topic` and `payload` are slices of the received frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP flag.
    pub dup: bool,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name; may be empty in MQTT 5 when a topic alias is used.
    pub topic: Utf8Str,
    /// Packet identifier; 0 for QoS 0 (not on the wire), non-zero otherwise.
    pub packet_id: u16,
    /// MQTT 5 properties.
    pub properties: PublishProperties,
    /// Application payload.
    pub payload: Bytes,
}

/// PUBLISH properties (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct PublishProperties {
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub topic_alias: Option<u16>,
    pub response_topic: Option<Utf8Str>,
    pub correlation_data: Option<Bytes>,
    pub user_properties: Vec<UserProperty>,
    /// Zero or more subscription identifiers (server to client only).
    pub subscription_identifiers: Vec<u32>,
    pub content_type: Option<Utf8Str>,
}

/// Properties of PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct AckProperties {
    pub reason_string: Option<Utf8Str>,
    pub user_properties: Vec<UserProperty>,
}

macro_rules! pub_response {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            /// Packet identifier (non-zero).
            pub packet_id: u16,
            /// Reason code (MQTT 5; `Success` for 3.x).
            pub reason_code: ReasonCode,
            /// MQTT 5 properties.
            pub properties: AckProperties,
        }

        impl $name {
            /// A successful response for `packet_id` without properties.
            pub fn new(packet_id: u16) -> Self {
                Self { packet_id, reason_code: ReasonCode::Success, properties: AckProperties::default() }
            }
        }
    };
}

pub_response!(
    /// PUBACK.
    PubAck
);
pub_response!(
    /// PUBREC.
    PubRec
);
pub_response!(
    /// PUBREL.
    PubRel
);
pub_response!(
    /// PUBCOMP.
    PubComp
);

/// One entry of a SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// Topic filter (wildcards allowed; `$share/<group>/<filter>` for shared subscriptions).
    pub filter: Utf8Str,
    /// Subscription options.
    pub options: SubscriptionOptions,
}

/// SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier (non-zero).
    pub packet_id: u16,
    /// At least one filter.
    pub filters: Vec<SubscribeFilter>,
    /// MQTT 5 properties.
    pub properties: SubscribeProperties,
}

/// SUBSCRIBE properties (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct SubscribeProperties {
    /// 1..=268_435_455.
    pub subscription_identifier: Option<u32>,
    pub user_properties: Vec<UserProperty>,
}

/// SUBACK. One reason code per filter: `Success`/`GrantedQoS1`/`GrantedQoS2` or a failure;
/// for 3.x every failure is encoded as 0x80.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// Packet identifier.
    pub packet_id: u16,
    /// One per filter, in order.
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5 properties.
    pub properties: AckProperties,
}

/// UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier (non-zero).
    pub packet_id: u16,
    /// At least one filter.
    pub filters: Vec<Utf8Str>,
    /// MQTT 5 properties.
    pub properties: UnsubscribeProperties,
}

/// UNSUBSCRIBE properties (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct UnsubscribeProperties {
    pub user_properties: Vec<UserProperty>,
}

/// UNSUBACK. `reason_codes` is empty for 3.x (not on the wire), one per filter for 5.0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// Packet identifier.
    pub packet_id: u16,
    /// MQTT 5: one per filter.
    pub reason_codes: Vec<ReasonCode>,
    /// MQTT 5 properties.
    pub properties: AckProperties,
}

/// DISCONNECT. For 3.x and for a body-less v5 DISCONNECT the reason code is `Success`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// Disconnect reason code.
    pub reason_code: ReasonCode,
    /// MQTT 5 properties.
    pub properties: DisconnectProperties,
}

/// DISCONNECT properties (MQTT 5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct DisconnectProperties {
    pub session_expiry_interval: Option<u32>,
    pub reason_string: Option<Utf8Str>,
    pub user_properties: Vec<UserProperty>,
    pub server_reference: Option<Utf8Str>,
}

/// AUTH (MQTT 5 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth {
    /// Success, ContinueAuthentication or ReAuthenticate.
    pub reason_code: ReasonCode,
    /// Properties.
    pub properties: AuthProperties,
}

/// AUTH properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[allow(missing_docs)]
pub struct AuthProperties {
    pub authentication_method: Option<Utf8Str>,
    pub authentication_data: Option<Bytes>,
    pub reason_string: Option<Utf8Str>,
    pub user_properties: Vec<UserProperty>,
}
