//! VerneMQ's webhook JSON: the request bodies of every hook (field names, base64 payloads,
//! MQTT 5 properties as `p_*` keys, topics lists) and the modifiers of the answers, as
//! `apps/vmq_webhooks` writes and reads them.

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use vmq_broker::{
    AuthModifiers, AuthStep, DeliverModifiers, PropertyModifiers, PublishModifiers,
    RegisterModifiers, SubscribeTopic, SubscriberId,
};
use vmq_codec::{
    AuthProperties, ConnectProperties, PublishProperties, QoS, ReasonCode, RetainHandling,
    SubscribeProperties, SubscriptionOptions, UnsubscribeProperties, UserProperty, Utf8Str,
};

use crate::EndpointOptions;

/// A JSON object under construction.
pub(crate) type Args = Map<String, Value>;

/// Why an answer's modifiers were refused (logged; the hook then answers `error`).
pub(crate) type ModifierError = String;

/// `mountpoint` and `client_id`.
pub(crate) fn subscriber(args: &mut Args, id: &SubscriberId) {
    args.insert("mountpoint".into(), Value::from(&*id.mountpoint));
    args.insert("client_id".into(), Value::from(&*id.client_id));
}

/// `username`, `null` when absent.
pub(crate) fn username(args: &mut Args, user: Option<&Utf8Str>) {
    args.insert(
        "username".into(),
        user.map_or(Value::Null, |u| Value::from(u.as_str())),
    );
}

/// Bytes as a JSON string: UTF-8 as is (lossy otherwise).
pub(crate) fn text(b: &[u8]) -> Value {
    Value::from(String::from_utf8_lossy(b).into_owned())
}

/// A payload: base64 unless the endpoint has `base64encode = off`.
pub(crate) fn payload(p: &Bytes, opts: &EndpointOptions) -> Value {
    if opts.base64_payload {
        Value::from(B64.encode(p))
    } else {
        text(p)
    }
}

fn user_props(props: &[UserProperty]) -> Value {
    Value::Array(
        props
            .iter()
            .map(|(k, v)| json!({"key": B64.encode(k.as_bytes()), "val": B64.encode(v.as_bytes())}))
            .collect(),
    )
}

fn put<T: Into<Value>>(m: &mut Args, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), v.into());
    }
}

/// CONNECT properties as VerneMQ names them.
pub(crate) fn connect_props(p: &ConnectProperties) -> Value {
    let mut m = Args::new();
    put(
        &mut m,
        "p_session_expiry_interval",
        p.session_expiry_interval,
    );
    put(&mut m, "p_receive_max", p.receive_maximum);
    put(&mut m, "p_max_packet_size", p.maximum_packet_size);
    put(&mut m, "p_topic_alias_max", p.topic_alias_maximum);
    put(
        &mut m,
        "p_request_response_info",
        p.request_response_information,
    );
    put(
        &mut m,
        "p_request_problem_info",
        p.request_problem_information,
    );
    put(
        &mut m,
        "p_authentication_method",
        p.authentication_method.as_ref().map(|s| s.as_str()),
    );
    put(
        &mut m,
        "p_authentication_data",
        p.authentication_data.as_ref().map(|d| B64.encode(d)),
    );
    if !p.user_properties.is_empty() {
        m.insert("p_user_property".into(), user_props(&p.user_properties));
    }
    Value::Object(m)
}

/// PUBLISH properties as VerneMQ names them.
pub(crate) fn publish_props(p: &PublishProperties) -> Value {
    let mut m = Args::new();
    put(
        &mut m,
        "p_payload_format_indicator",
        p.payload_format_indicator
            .map(|v| if v == 1 { "utf8" } else { "unspecified" }),
    );
    put(
        &mut m,
        "p_message_expiry_interval",
        p.message_expiry_interval,
    );
    put(
        &mut m,
        "p_content_type",
        p.content_type.as_ref().map(|s| s.as_str()),
    );
    put(
        &mut m,
        "p_response_topic",
        p.response_topic.as_ref().map(|s| s.as_str()),
    );
    put(
        &mut m,
        "p_correlation_data",
        p.correlation_data.as_deref().map(text),
    );
    if !p.subscription_identifiers.is_empty() {
        m.insert(
            "p_subscription_id".into(),
            Value::from(p.subscription_identifiers.clone()),
        );
    }
    if !p.user_properties.is_empty() {
        m.insert("p_user_property".into(), user_props(&p.user_properties));
    }
    Value::Object(m)
}

/// SUBSCRIBE properties.
pub(crate) fn subscribe_props(p: &SubscribeProperties) -> Value {
    let mut m = Args::new();
    if let Some(id) = p.subscription_identifier {
        m.insert("p_subscription_id".into(), json!([id]));
    }
    if !p.user_properties.is_empty() {
        m.insert("p_user_property".into(), user_props(&p.user_properties));
    }
    Value::Object(m)
}

/// UNSUBSCRIBE properties.
pub(crate) fn unsubscribe_props(p: &UnsubscribeProperties) -> Value {
    let mut m = Args::new();
    if !p.user_properties.is_empty() {
        m.insert("p_user_property".into(), user_props(&p.user_properties));
    }
    Value::Object(m)
}

/// AUTH properties.
pub(crate) fn auth_props(p: &AuthProperties) -> Value {
    let mut m = Args::new();
    put(
        &mut m,
        "p_authentication_method",
        p.authentication_method.as_ref().map(|s| s.as_str()),
    );
    put(
        &mut m,
        "p_authentication_data",
        p.authentication_data.as_ref().map(|d| B64.encode(d)),
    );
    put(
        &mut m,
        "p_reason_string",
        p.reason_string.as_ref().map(|s| s.as_str()),
    );
    if !p.user_properties.is_empty() {
        m.insert("p_user_property".into(), user_props(&p.user_properties));
    }
    Value::Object(m)
}

fn retain_handling_name(rh: RetainHandling) -> &'static str {
    match rh {
        RetainHandling::SendAtSubscribe => "send_retain",
        RetainHandling::SendAtSubscribeIfNew => "send_if_new_sub",
        RetainHandling::DoNotSend => "dont_send",
    }
}

/// The `topics` list of the subscribe hooks: `{"topic", "qos"}` (3.x: 128 for a refusal),
/// plus `no_local`, `rap`, `retain_handling` for MQTT 5 (the reason code for a refusal).
pub(crate) fn sub_topics(topics: &[SubscribeTopic], m5: bool) -> Value {
    Value::Array(
        topics
            .iter()
            .map(|t| match (&t.grant, m5) {
                (Ok(o), false) => json!({"topic": t.filter.as_str(), "qos": o.qos as u8}),
                (Ok(o), true) => json!({
                    "topic": t.filter.as_str(),
                    "qos": o.qos as u8,
                    "no_local": o.no_local,
                    "rap": o.retain_as_published,
                    "retain_handling": retain_handling_name(o.retain_handling),
                }),
                (Err(_), false) => json!({"topic": t.filter.as_str(), "qos": 128}),
                (Err(code), true) => json!({"topic": t.filter.as_str(), "qos": *code as u8}),
            })
            .collect(),
    )
}

// ---------------------------------------------------------------------------- answers

fn as_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, ModifierError> {
    v.as_str().ok_or_else(|| format!("{what} is not a string"))
}

fn as_u64(v: &Value, what: &str) -> Result<u64, ModifierError> {
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
        .ok_or_else(|| format!("{what} is not a non-negative integer"))
}

fn as_u32(v: &Value, what: &str) -> Result<u32, ModifierError> {
    u32::try_from(as_u64(v, what)?).map_err(|_| format!("{what} is too large"))
}

fn as_bool(v: &Value, what: &str) -> Result<bool, ModifierError> {
    v.as_bool()
        .ok_or_else(|| format!("{what} is not a boolean"))
}

fn decode_b64(v: &Value, what: &str) -> Result<Bytes, ModifierError> {
    B64.decode(as_str(v, what)?)
        .map(Bytes::from)
        .map_err(|_| format!("{what} is not base64"))
}

fn decode_payload(v: &Value, opts: &EndpointOptions) -> Result<Bytes, ModifierError> {
    if opts.base64_payload {
        decode_b64(v, "payload")
    } else {
        Ok(Bytes::copy_from_slice(as_str(v, "payload")?.as_bytes()))
    }
}

fn pub_topic(v: &Value) -> Result<Utf8Str, ModifierError> {
    let t = as_str(v, "topic")?;
    if t.is_empty() || t.contains(['+', '#', '\0']) {
        return Err(format!("{t:?} is not a publish topic"));
    }
    Ok(Utf8Str::from(t))
}

fn objects<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, ModifierError> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not an object"))
}

fn parse_user_props(v: &Value) -> Result<Vec<UserProperty>, ModifierError> {
    let list = v
        .as_array()
        .ok_or_else(|| "p_user_property is not a list".to_owned())?;
    list.iter()
        .map(|e| {
            let k = decode_b64(&e["key"], "p_user_property key")?;
            let v = decode_b64(&e["val"], "p_user_property val")?;
            let k = Utf8Str::from_mqtt_bytes(k).map_err(|_| "user property key not UTF-8")?;
            let v = Utf8Str::from_mqtt_bytes(v).map_err(|_| "user property value not UTF-8")?;
            Ok((k, v))
        })
        .collect()
}

fn parse_message_props(v: &Value) -> Result<PropertyModifiers, ModifierError> {
    let mut p = PropertyModifiers::default();
    for (k, v) in objects(v, "properties")? {
        match k.as_str() {
            "p_user_property" => p.user_properties = Some(parse_user_props(v)?),
            "p_message_expiry_interval" => p.message_expiry_interval = Some(as_u32(v, k)?),
            "p_content_type" => p.content_type = Some(Utf8Str::from(as_str(v, k)?)),
            "p_payload_format_indicator" => {
                p.payload_format_indicator = Some(match as_str(v, k)? {
                    "utf8" => 1,
                    "undefined" | "unspecified" => 0,
                    other => return Err(format!("p_payload_format_indicator {other:?}")),
                });
            }
            "p_response_topic" => p.response_topic = Some(pub_topic(v)?),
            "p_correlation_data" => {
                p.correlation_data = Some(Bytes::copy_from_slice(as_str(v, k)?.as_bytes()));
            }
            other => return Err(format!("property {other} may not be changed")),
        }
    }
    Ok(p)
}

/// The modifiers object of a reply; `None` for an empty list (how VerneMQ's JSON encodes "no
/// modifiers").
fn modifier_object(v: &Value) -> Result<Option<&Map<String, Value>>, ModifierError> {
    match v.as_object() {
        Some(obj) => Ok(Some(obj)),
        None if v.as_array().is_some_and(Vec::is_empty) => Ok(None),
        None => Err("modifiers is not an object".into()),
    }
}

/// `auth_on_register(_m5)` modifiers.
pub(crate) fn register_modifiers(v: &Value) -> Result<RegisterModifiers, ModifierError> {
    let mut m = RegisterModifiers::default();
    let Some(obj) = modifier_object(v)? else {
        return Ok(m);
    };
    let (client_id, mountpoint) = (obj.get("client_id"), obj.get("mountpoint"));
    if let (Some(c), Some(mp)) = (client_id, mountpoint) {
        m.subscriber_id = Some(SubscriberId {
            mountpoint: Arc::from(as_str(mp, "mountpoint")?),
            client_id: Arc::from(as_str(c, "client_id")?),
        });
    }
    for (k, v) in obj {
        match k.as_str() {
            // Only both together change the subscriber id (VerneMQ's documented rule).
            "client_id" | "mountpoint" => {}
            "subscriber_id" => {
                let o = objects(v, k)?;
                m.subscriber_id = Some(SubscriberId {
                    mountpoint: Arc::from(as_str(&o["mountpoint"], "mountpoint")?),
                    client_id: Arc::from(as_str(&o["client_id"], "client_id")?),
                });
            }
            "username" => m.username = Some(Utf8Str::from(as_str(v, k)?)),
            "clean_session" | "clean_start" => m.clean_session = Some(as_bool(v, k)?),
            "max_message_size" => m.max_message_size = Some(as_u32(v, k)?),
            "max_message_rate" => m.max_message_rate = Some(as_u32(v, k)?),
            "max_inflight_messages" => {
                m.max_inflight_messages = Some(u16::try_from(as_u64(v, k)?).unwrap_or(u16::MAX));
            }
            "retry_interval" => m.retry_interval = Some(Duration::from_millis(as_u64(v, k)?)),
            "upgrade_qos" => m.upgrade_qos = Some(as_bool(v, k)?),
            "properties" => {
                for (pk, pv) in objects(v, k)? {
                    match pk.as_str() {
                        "p_user_property" => m.user_properties = Some(parse_user_props(pv)?),
                        "p_session_expiry_interval" => {
                            m.session_expiry_interval = Some(as_u32(pv, pk)?);
                        }
                        other => return Err(format!("property {other} may not be changed")),
                    }
                }
            }
            // Valid VerneMQ modifiers this broker does not apply per session (yet).
            "allow_register"
            | "allow_publish"
            | "allow_subscribe"
            | "allow_unsubscribe"
            | "max_connection_lifetime"
            | "shared_subscription_policy"
            | "max_online_messages"
            | "max_offline_messages"
            | "queue_type"
            | "max_drain_time"
            | "max_msgs_per_drain_step"
            | "tcp_opts"
            | "reg_view" => {
                tracing::debug!(modifier = %k, "auth_on_register modifier not applied");
            }
            other => return Err(format!("{other} is not an auth_on_register modifier")),
        }
    }
    Ok(m)
}

/// `auth_on_publish(_m5)` modifiers.
pub(crate) fn publish_modifiers(
    v: &Value,
    opts: &EndpointOptions,
) -> Result<PublishModifiers, ModifierError> {
    let mut m = PublishModifiers::default();
    let Some(obj) = modifier_object(v)? else {
        return Ok(m);
    };
    for (k, v) in obj {
        match k.as_str() {
            "topic" => m.topic = Some(pub_topic(v)?),
            "payload" => m.payload = Some(decode_payload(v, opts)?),
            "qos" => {
                let q = u8::try_from(as_u64(v, k)?).ok().and_then(QoS::from_u8);
                m.qos = Some(q.ok_or_else(|| "qos is not 0, 1 or 2".to_owned())?);
            }
            "retain" => m.retain = Some(as_bool(v, k)?),
            "mountpoint" => m.mountpoint = Some(Arc::from(as_str(v, k)?)),
            "throttle" => tracing::debug!("auth_on_publish throttle modifier not applied"),
            "properties" => m.properties = parse_message_props(v)?,
            other => return Err(format!("{other} is not an auth_on_publish modifier")),
        }
    }
    Ok(m)
}

/// `on_deliver(_m5)` modifiers.
pub(crate) fn deliver_modifiers(
    v: &Value,
    opts: &EndpointOptions,
) -> Result<DeliverModifiers, ModifierError> {
    let mut m = DeliverModifiers::default();
    let Some(obj) = modifier_object(v)? else {
        return Ok(m);
    };
    for (k, v) in obj {
        match k.as_str() {
            "topic" => m.topic = Some(pub_topic(v)?),
            "payload" => m.payload = Some(decode_payload(v, opts)?),
            "properties" => m.properties = parse_message_props(v)?,
            other => return Err(format!("{other} is not an on_deliver modifier")),
        }
    }
    Ok(m)
}

fn retain_handling(v: Option<&Value>) -> Result<RetainHandling, ModifierError> {
    Ok(match v.map(|v| as_str(v, "retain_handling")).transpose()? {
        None | Some("send_retain") => RetainHandling::SendAtSubscribe,
        Some("send_if_new_sub") => RetainHandling::SendAtSubscribeIfNew,
        Some("dont_send") => RetainHandling::DoNotSend,
        Some(other) => return Err(format!("retain_handling {other:?}")),
    })
}

/// The rewritten topics of `auth_on_subscribe(_m5)`: `[{"topic", "qos", ...}]`; a QoS other
/// than 0..2 refuses that topic (128 or 135 as VerneMQ documents; other reason codes as given).
pub(crate) fn sub_topic_modifiers(v: &Value) -> Result<Vec<SubscribeTopic>, ModifierError> {
    let list = v
        .as_array()
        .ok_or_else(|| "topics is not a list".to_owned())?;
    list.iter()
        .map(|t| {
            let filter = Utf8Str::from(as_str(&t["topic"], "topic")?);
            if filter.is_empty() {
                return Err("empty topic".to_owned());
            }
            let q = as_u64(&t["qos"], "qos")?;
            let grant = match u8::try_from(q).ok().and_then(QoS::from_u8) {
                Some(qos) => Ok(SubscriptionOptions {
                    qos,
                    no_local: t.get("no_local").and_then(Value::as_bool).unwrap_or(false),
                    retain_as_published: t.get("rap").and_then(Value::as_bool).unwrap_or(false),
                    retain_handling: retain_handling(t.get("retain_handling"))?,
                }),
                None => Err(u8::try_from(q)
                    .ok()
                    .and_then(ReasonCode::from_u8)
                    .filter(|c| *c as u8 >= 0x80)
                    .unwrap_or(ReasonCode::NotAuthorized)),
            };
            Ok(SubscribeTopic { filter, grant })
        })
        .collect()
}

/// The rewritten topics of `on_unsubscribe(_m5)`: a list of strings.
pub(crate) fn unsub_topic_modifiers(v: &Value) -> Result<Vec<Utf8Str>, ModifierError> {
    let list = v
        .as_array()
        .ok_or_else(|| "topics is not a list".to_owned())?;
    list.iter()
        .map(|t| {
            let t = as_str(t, "topic")?;
            if t.is_empty() {
                return Err("empty topic".to_owned());
            }
            Ok(Utf8Str::from(t))
        })
        .collect()
}

/// `on_auth_m5` modifiers: `reason_code` 0 or 24 and the `p_authentication_*` properties.
pub(crate) fn auth_modifiers(v: &Value) -> Result<AuthModifiers, ModifierError> {
    let obj = objects(v, "modifiers")?;
    let reason_code = match obj.get("reason_code").map(|c| as_u64(c, "reason_code")) {
        None | Some(Ok(0)) => AuthStep::Success,
        Some(Ok(0x18)) => AuthStep::Continue,
        Some(Ok(other)) => return Err(format!("reason_code {other} is not 0 or 24")),
        Some(Err(e)) => return Err(e),
    };
    let mut properties = AuthProperties::default();
    if let Some(p) = obj.get("properties") {
        for (k, v) in objects(p, "properties")? {
            match k.as_str() {
                "p_authentication_method" => {
                    properties.authentication_method = Some(Utf8Str::from(as_str(v, k)?));
                }
                "p_authentication_data" => {
                    properties.authentication_data = Some(decode_b64(v, k)?);
                }
                "p_reason_string" => properties.reason_string = Some(Utf8Str::from(as_str(v, k)?)),
                other => return Err(format!("property {other} may not be changed")),
            }
        }
    }
    Ok(AuthModifiers {
        reason_code,
        properties,
    })
}

/// The reason code for an `{"error": ...}` answer: VerneMQ's reason names where given
/// (`not_authorized`, `bad_username_or_password`, ...), `NotAuthorized` otherwise
/// (`not_allowed` and free text).
pub(crate) fn error_code(v: &Value) -> ReasonCode {
    let name = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("reason_code").and_then(Value::as_str).unwrap_or(""),
        _ => "",
    };
    match name {
        "invalid_credentials" | "bad_username_or_password" => ReasonCode::BadUserNameOrPassword,
        "client_identifier_not_valid" => ReasonCode::ClientIdentifierNotValid,
        "server_unavailable" => ReasonCode::ServerUnavailable,
        "server_busy" => ReasonCode::ServerBusy,
        "banned" => ReasonCode::Banned,
        "bad_authentication_method" => ReasonCode::BadAuthenticationMethod,
        "quota_exceeded" => ReasonCode::QuotaExceeded,
        "payload_format_invalid" => ReasonCode::PayloadFormatInvalid,
        "topic_name_invalid" => ReasonCode::TopicNameInvalid,
        "unspecified_error" => ReasonCode::UnspecifiedError,
        "implementation_specific_error" => ReasonCode::ImplementationSpecificError,
        _ => ReasonCode::NotAuthorized,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn opts() -> EndpointOptions {
        EndpointOptions::default()
    }

    #[test]
    fn register_modifiers_need_client_id_and_mountpoint_together() {
        let m = register_modifiers(&json!({"client_id": "x"})).unwrap();
        assert_eq!(m.subscriber_id, None);
        let m = register_modifiers(&json!({"client_id": "x", "mountpoint": "mp",
            "max_inflight_messages": 5, "retry_interval": 1500, "upgrade_qos": true}))
        .unwrap();
        let id = m.subscriber_id.unwrap();
        assert_eq!((&*id.mountpoint, &*id.client_id), ("mp", "x"));
        assert_eq!(m.max_inflight_messages, Some(5));
        assert_eq!(m.retry_interval, Some(Duration::from_millis(1500)));
        assert_eq!(m.upgrade_qos, Some(true));
        assert!(register_modifiers(&json!({"bogus": 1})).is_err());
        assert_eq!(
            register_modifiers(&json!([])).unwrap(),
            RegisterModifiers::default()
        );
    }

    #[test]
    fn publish_modifiers_decode_base64_payload() {
        let m = publish_modifiers(
            &json!({"topic": "a/b", "payload": B64.encode("hi"), "qos": 1, "retain": true}),
            &opts(),
        )
        .unwrap();
        assert_eq!(m.topic.unwrap().as_str(), "a/b");
        assert_eq!(m.payload.unwrap(), Bytes::from_static(b"hi"));
        assert_eq!(m.qos, Some(QoS::AtLeastOnce));
        assert_eq!(m.retain, Some(true));
        assert!(publish_modifiers(&json!({"topic": "a/#"}), &opts()).is_err());
        assert!(publish_modifiers(&json!({"qos": 3}), &opts()).is_err());
        let raw = EndpointOptions {
            base64_payload: false,
            ..opts()
        };
        let m = publish_modifiers(&json!({"payload": "plain"}), &raw).unwrap();
        assert_eq!(m.payload.unwrap(), Bytes::from_static(b"plain"));
    }

    #[test]
    fn subscribe_rewrites_and_refusals() {
        let t = sub_topic_modifiers(&json!([
            {"topic": "a", "qos": 2},
            {"topic": "b", "qos": 128},
            {"topic": "c", "qos": 135}
        ]))
        .unwrap();
        assert_eq!(t[0].grant.unwrap().qos, QoS::ExactlyOnce);
        assert_eq!(t[1].grant, Err(ReasonCode::UnspecifiedError));
        assert_eq!(t[2].grant, Err(ReasonCode::NotAuthorized));
    }

    #[test]
    fn request_topics_as_vernemq_writes_them() {
        let topics = vec![
            SubscribeTopic {
                filter: "a/b".into(),
                grant: Ok(SubscriptionOptions {
                    qos: QoS::AtLeastOnce,
                    ..Default::default()
                }),
            },
            SubscribeTopic {
                filter: "c".into(),
                grant: Err(ReasonCode::NotAuthorized),
            },
        ];
        assert_eq!(
            sub_topics(&topics, false),
            json!([{"topic": "a/b", "qos": 1}, {"topic": "c", "qos": 128}])
        );
        assert_eq!(
            sub_topics(&topics, true),
            json!([{"topic": "a/b", "qos": 1, "no_local": false, "rap": false,
                    "retain_handling": "send_retain"}, {"topic": "c", "qos": 135}])
        );
    }

    #[test]
    fn auth_answers() {
        let m = auth_modifiers(&json!({"reason_code": 24, "properties": {
            "p_authentication_method": "M", "p_authentication_data": B64.encode("d")}}))
        .unwrap();
        assert_eq!(m.reason_code, AuthStep::Continue);
        assert_eq!(
            m.properties.authentication_data.unwrap(),
            Bytes::from_static(b"d")
        );
        assert!(auth_modifiers(&json!({"reason_code": 135})).is_err());
    }

    #[test]
    fn error_names() {
        assert_eq!(error_code(&json!("not_allowed")), ReasonCode::NotAuthorized);
        assert_eq!(
            error_code(&json!("invalid_credentials")),
            ReasonCode::BadUserNameOrPassword
        );
        assert_eq!(
            error_code(&json!({"reason_code": "banned"})),
            ReasonCode::Banned
        );
    }
}
