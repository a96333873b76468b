//! Keys this implementation knows beyond VerneMQ 2.1.2's schemas (extensions, marked with the
//! schema name `vernemq-rs`). Each one is documented where it is used; VerneMQ itself rejects
//! them. Today: MQTT over QUIC listeners, `listener.quic.<name> = ip:port` (UDP), with the
//! same option hierarchy as the other listener kinds (per-name over per-kind over global), and
//! `publish_backpressure` (see `Config::publish_backpressure`).

use crate::schema::{Datatype, KeyDef};

const fn ext(key: &'static str, datatype: Datatype, default: Option<&'static str>) -> KeyDef {
    KeyDef {
        key,
        datatype,
        default,
        schema: "vernemq-rs",
        hidden: true,
    }
}

/// The extension keys.
pub(crate) const EXTENSION_KEYS: &[KeyDef] = &[
    ext("publish_backpressure", Datatype::Flag, Some("off")),
    ext("listener.quic.$name", Datatype::Ip, None),
    ext(
        "listener.quic.max_connections",
        Datatype::IntegerOrInfinity,
        Some("-1"),
    ),
    ext(
        "listener.quic.$name.max_connections",
        Datatype::IntegerOrInfinity,
        Some("-1"),
    ),
    ext("listener.quic.mountpoint", Datatype::String, None),
    ext("listener.quic.$name.mountpoint", Datatype::String, None),
    ext(
        "listener.quic.allowed_protocol_versions",
        Datatype::String,
        Some("3,4,5,131"),
    ),
    ext(
        "listener.quic.$name.allowed_protocol_versions",
        Datatype::String,
        None,
    ),
    ext(
        "listener.quic.$name.allow_anonymous_override",
        Datatype::Flag,
        Some("off"),
    ),
    ext("listener.quic.cafile", Datatype::Path, Some("")),
    ext("listener.quic.$name.cafile", Datatype::Path, None),
    ext("listener.quic.certfile", Datatype::Path, Some("")),
    ext("listener.quic.$name.certfile", Datatype::Path, None),
    ext("listener.quic.keyfile", Datatype::Path, Some("")),
    ext("listener.quic.$name.keyfile", Datatype::Path, None),
    ext("listener.quic.crlfile", Datatype::Path, Some("")),
    ext("listener.quic.$name.crlfile", Datatype::Path, None),
    ext("listener.quic.ciphers", Datatype::String, Some("")),
    ext("listener.quic.$name.ciphers", Datatype::String, None),
    ext(
        "listener.quic.require_certificate",
        Datatype::Flag,
        Some("off"),
    ),
    ext(
        "listener.quic.$name.require_certificate",
        Datatype::Flag,
        None,
    ),
    ext(
        "listener.quic.use_identity_as_username",
        Datatype::Flag,
        Some("off"),
    ),
    ext(
        "listener.quic.$name.use_identity_as_username",
        Datatype::Flag,
        None,
    ),
    ext(
        "listener.quic.tls_version",
        Datatype::String,
        Some("tlsv1.3"),
    ),
    ext("listener.quic.$name.tls_version", Datatype::String, None),
];
