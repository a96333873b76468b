//! Listeners: every `listener.<kind>.<name> = address` key becomes a [`ListenerConfig`] whose
//! options are resolved through VerneMQ's hierarchy: the per-name key
//! (`listener.tcp.<name>.X`), else the per-kind key (`listener.tcp.X`), else, for
//! `max_connections`, `nr_of_acceptors`, `mountpoint` and `max_connection_lifetime` only, the
//! global `listener.X` (as `vmq_schema:extract/4` does). A per-kind integer of `-1` is
//! VerneMQ's "not set" and falls through to the global value.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{ConfigError, Origin};
use crate::provider::RawValue;
use crate::schema;
use crate::value::{self, Unit};

/// The kind of a listener: the second segment of `listener.<kind>.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ListenerKind {
    /// MQTT over TCP (`listener.tcp`).
    Tcp,
    /// MQTT over TLS (`listener.ssl`).
    Ssl,
    /// MQTT over WebSocket (`listener.ws`).
    Ws,
    /// MQTT over secure WebSocket (`listener.wss`).
    Wss,
    /// HTTP (metrics, status, management API; `listener.http`).
    Http,
    /// HTTPS (`listener.https`).
    Https,
    /// Cluster communication (`listener.vmq`).
    Vmq,
    /// Cluster communication over TLS (`listener.vmqs`).
    Vmqs,
    /// MQTT over QUIC (`listener.quic`, UDP): an extension, VerneMQ has no such listener.
    /// TLS 1.3 is part of QUIC, so it takes the TLS options of `ssl` listeners.
    Quic,
}

impl ListenerKind {
    /// All kinds, in VerneMQ's order.
    pub const ALL: [ListenerKind; 9] = [
        ListenerKind::Tcp,
        ListenerKind::Ssl,
        ListenerKind::Ws,
        ListenerKind::Wss,
        ListenerKind::Http,
        ListenerKind::Https,
        ListenerKind::Vmq,
        ListenerKind::Vmqs,
        ListenerKind::Quic,
    ];

    /// The key segment (`tcp`, `ssl`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ListenerKind::Tcp => "tcp",
            ListenerKind::Ssl => "ssl",
            ListenerKind::Ws => "ws",
            ListenerKind::Wss => "wss",
            ListenerKind::Http => "http",
            ListenerKind::Https => "https",
            ListenerKind::Vmq => "vmq",
            ListenerKind::Vmqs => "vmqs",
            ListenerKind::Quic => "quic",
        }
    }

    /// Parses a key segment.
    pub fn from_segment(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// True for the kinds that terminate TLS.
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            ListenerKind::Ssl
                | ListenerKind::Wss
                | ListenerKind::Https
                | ListenerKind::Vmqs
                | ListenerKind::Quic
        )
    }

    /// True for the kinds that carry MQTT client sessions.
    pub fn is_mqtt(self) -> bool {
        matches!(
            self,
            ListenerKind::Tcp
                | ListenerKind::Ssl
                | ListenerKind::Ws
                | ListenerKind::Wss
                | ListenerKind::Quic
        )
    }
}

/// A TLS protocol version accepted by `tls_version` (comma-separated list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TlsVersion {
    /// `tlsv1`.
    Tlsv1,
    /// `tlsv1.1`.
    Tlsv1_1,
    /// `tlsv1.2`.
    Tlsv1_2,
    /// `tlsv1.3`.
    Tlsv1_3,
}

impl TlsVersion {
    fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "tlsv1" => Some(TlsVersion::Tlsv1),
            "tlsv1.1" => Some(TlsVersion::Tlsv1_1),
            "tlsv1.2" => Some(TlsVersion::Tlsv1_2),
            "tlsv1.3" => Some(TlsVersion::Tlsv1_3),
            _ => None,
        }
    }
}

/// TLS settings of an `ssl`, `wss`, `https` or `vmqs` listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM server certificate (`certfile`); `None` when unset (VerneMQ's default is empty).
    pub certfile: Option<PathBuf>,
    /// PEM private key (`keyfile`).
    pub keyfile: Option<PathBuf>,
    /// Password of the private key (`keypasswd`).
    pub keypasswd: Option<String>,
    /// PEM CA certificates trusted for client certificates (`cafile`).
    pub cafile: Option<PathBuf>,
    /// Require a client certificate (`require_certificate`, default off).
    pub require_certificate: bool,
    /// Use the client certificate's CN as user name (`use_identity_as_username`, default off;
    /// only `ssl` and `wss` have the key).
    pub use_identity_as_username: bool,
    /// Accepted TLS versions (`tls_version`, default `tlsv1.2`).
    pub tls_version: Vec<TlsVersion>,
    /// Cipher suites (`ciphers`, `:`- or `,`-separated; empty = the TLS library's defaults).
    pub ciphers: Vec<String>,
    /// Certificate revocation list (`crlfile`).
    pub crlfile: Option<PathBuf>,
    /// Maximum certificate chain depth (`depth`, default 1).
    pub depth: u32,
    /// TLS handshake timeout (`tls_handshake_timeout`, ms); `None` = VerneMQ's default.
    pub handshake_timeout: Option<Duration>,
}

/// One listener with its options resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Its kind.
    pub kind: ListenerKind,
    /// Its name (`default` in `listener.tcp.default`).
    pub name: String,
    /// The address to bind. For a Unix domain socket listener (`local:/path:0`) this is
    /// `0.0.0.0:0` and [`ListenerConfig::local_path`] holds the socket path.
    pub addr: SocketAddr,
    /// The Unix domain socket path, for `listener.tcp.<name> = local:/path:0`.
    pub local_path: Option<PathBuf>,
    /// Maximum concurrent connections; `None` = infinity (default 10000 from `listener.max_connections`).
    pub max_connections: Option<u32>,
    /// Acceptor count (default 10 from `listener.nr_of_acceptors`).
    pub nr_of_acceptors: u32,
    /// Mountpoint prefixed to every topic; empty for none (VerneMQ's `off`).
    pub mountpoint: String,
    /// MQTT protocol levels accepted (`allowed_protocol_versions`; VerneMQ 2.1's default is
    /// `3,4,5,131`: 131 is the MQTT 3.1 bridge level).
    pub allowed_protocol_versions: Vec<u8>,
    /// Expect a PROXY protocol header (`proxy_protocol`, tcp/ws/http, default off).
    pub proxy_protocol: bool,
    /// Use the CN forwarded by the PROXY protocol as user name (default on).
    pub proxy_protocol_use_cn_as_username: bool,
    /// Close connections after this long (`max_connection_lifetime`, seconds); `None` = 0 = no limit.
    pub max_connection_lifetime: Option<Duration>,
    /// This listener may allow anonymous clients even when `allow_anonymous = off`
    /// (`allow_anonymous_override`, tcp/ssl, default off; OR-ed with the global setting).
    pub allow_anonymous_override: bool,
    /// TLS settings for TLS kinds.
    pub tls: Option<TlsOptions>,
    /// Every option set for this listener (per-name over per-kind), raw, by suffix
    /// (`buffer_sizes`, `max_request_line_length`, `http_modules`, ...).
    pub options: BTreeMap<String, String>,
}

/// Suffixes that fall back to the global `listener.X` key (VerneMQ's `extract/4`).
const ROOT_SUFFIXES: [&str; 4] = [
    "max_connections",
    "nr_of_acceptors",
    "mountpoint",
    "max_connection_lifetime",
];

struct Resolver<'a> {
    raw: &'a BTreeMap<String, RawValue>,
    kind: ListenerKind,
    name: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl Resolver<'_> {
    /// The resolved raw value of option `suffix`, with its key and origin.
    fn get(&self, suffix: &str) -> Option<(String, &RawValue)> {
        let k = self.kind.as_str();
        let per_name = format!("listener.{k}.{}.{suffix}", self.name);
        if let Some(v) = self.raw.get(&per_name) {
            return Some((per_name, v));
        }
        let per_kind = format!("listener.{k}.{suffix}");
        if let Some(v) = self.raw.get(&per_kind) {
            if v.value != "-1" {
                return Some((per_kind, v));
            }
        }
        if ROOT_SUFFIXES.contains(&suffix) {
            let root = format!("listener.{suffix}");
            if let Some(v) = self.raw.get(&root) {
                return Some((root, v));
            }
        }
        None
    }

    /// The resolved value, else the per-name pattern's schema default.
    fn value(&self, suffix: &str) -> Option<(String, String, Origin)> {
        if let Some((key, v)) = self.get(suffix) {
            return Some((key, v.value.clone(), v.origin.clone()));
        }
        let pat = format!("listener.{}.$name.{suffix}", self.kind.as_str());
        let d = schema::pattern(&pat)?.default?;
        if d == "-1" {
            return None;
        }
        Some((pat, d.to_string(), Origin::Default))
    }

    fn bad(&mut self, key: String, value: String, origin: Origin, expected: &str) {
        self.errors.push(ConfigError::InvalidValue {
            origin,
            key,
            value,
            expected: expected.to_string(),
        });
    }

    fn flag(&mut self, suffix: &str, default: bool) -> bool {
        match self.value(suffix) {
            None => default,
            Some((k, v, o)) => value::parse_flag(&v).unwrap_or_else(|| {
                self.bad(k, v, o, "on or off");
                default
            }),
        }
    }

    fn u32_or_infinity(&mut self, suffix: &str, default: Option<u32>) -> Option<u32> {
        match self.value(suffix) {
            None => default,
            Some((_, v, _)) if v == "infinity" => None,
            Some((k, v, o)) => match value::parse_int(&v).map(u32::try_from) {
                Some(Ok(n)) => Some(n),
                _ => {
                    self.bad(k, v, o, "a non-negative integer or infinity");
                    default
                }
            },
        }
    }

    fn path(&self, suffix: &str) -> Option<PathBuf> {
        self.value(suffix)
            .map(|(_, v, _)| v)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    fn tls(&mut self) -> TlsOptions {
        let tls_version = match self.value("tls_version") {
            None => vec![TlsVersion::Tlsv1_2],
            Some((k, v, o)) => {
                let parsed: Option<Vec<TlsVersion>> = v
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(TlsVersion::parse)
                    .collect();
                match parsed {
                    Some(list) if !list.is_empty() => list,
                    _ => {
                        self.bad(
                            k,
                            v,
                            o,
                            "tlsv1, tlsv1.1, tlsv1.2 or tlsv1.3 (comma-separated)",
                        );
                        vec![TlsVersion::Tlsv1_2]
                    }
                }
            }
        };
        let ciphers = self
            .value("ciphers")
            .map(|(_, v, _)| {
                v.split([':', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let depth = match self.value("depth") {
            None => 1,
            Some((k, v, o)) => match value::parse_int(&v).map(u32::try_from) {
                Some(Ok(n)) => n,
                _ => {
                    self.bad(k, v, o, "a non-negative integer");
                    1
                }
            },
        };
        let handshake_timeout = match self.value("tls_handshake_timeout") {
            Some((_, v, _)) if v == "infinity" => None,
            Some((k, v, o)) => match value::parse_int(&v) {
                Some(n) if n >= 0 => Some(Duration::from_millis(n.unsigned_abs())),
                Some(_) => None,
                None => {
                    self.bad(k, v, o, "an integer (ms) or infinity");
                    None
                }
            },
            None => None,
        };
        TlsOptions {
            certfile: self.path("certfile"),
            keyfile: self.path("keyfile"),
            keypasswd: self
                .value("keypasswd")
                .map(|(_, v, _)| v)
                .filter(|v| !v.is_empty()),
            cafile: self.path("cafile"),
            require_certificate: self.flag("require_certificate", false),
            use_identity_as_username: self.flag("use_identity_as_username", false),
            tls_version,
            ciphers,
            crlfile: self.path("crlfile"),
            depth,
            handshake_timeout,
        }
    }
}

/// Builds every listener that has an address. Names that only carry options (such as
/// `listener.tcp.name.allow_anonymous_override` in VerneMQ's generated file) define nothing.
pub(crate) fn listeners(
    raw: &BTreeMap<String, RawValue>,
    errors: &mut Vec<ConfigError>,
) -> Vec<ListenerConfig> {
    let mut out = Vec::new();
    for (key, rv) in raw {
        let segs = schema::split_key(key);
        if segs.len() != 3 || segs[0] != "listener" {
            continue;
        }
        let Some(kind) = ListenerKind::from_segment(segs[1]) else {
            continue;
        };
        let pattern = format!("listener.{}.$name", kind.as_str());
        if schema::lookup(key).map(|d| d.key) != Some(pattern.as_str()) {
            continue;
        }
        let name = segs[2].to_string();
        let (addr, local_path) = if let Some(a) = value::parse_addr(&rv.value) {
            (a, None)
        } else if let (ListenerKind::Tcp, Some(p)) = (kind, value::parse_local(&rv.value)) {
            (
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
                Some(p),
            )
        } else {
            errors.push(ConfigError::InvalidValue {
                origin: rv.origin.clone(),
                key: key.clone(),
                value: rv.value.clone(),
                expected: "an IP/port pair, e.g. 127.0.0.1:1883".into(),
            });
            continue;
        };
        let mut r = Resolver {
            raw,
            kind,
            name: &name,
            errors,
        };
        let max_connections = r.u32_or_infinity("max_connections", Some(10_000));
        let nr_of_acceptors = r.u32_or_infinity("nr_of_acceptors", Some(10)).unwrap_or(10);
        let mountpoint = match r.value("mountpoint") {
            Some((_, v, _)) if v != "off" => v,
            _ => String::new(),
        };
        let allowed_protocol_versions = match r.value("allowed_protocol_versions") {
            None => {
                if kind.is_mqtt() {
                    vec![3, 4, 5, 131]
                } else {
                    Vec::new()
                }
            }
            Some((k, v, o)) => {
                let parsed: Option<Vec<u8>> = v
                    .split(',')
                    .map(|p| p.trim().parse::<u8>().ok())
                    .map(|p| p.filter(|n| matches!(n, 3 | 4 | 5 | 131 | 132)))
                    .collect();
                match parsed {
                    Some(list) => list,
                    None => {
                        r.bad(k, v, o, "a comma-separated list of 3, 4, 5, 131, 132");
                        vec![3, 4, 5, 131]
                    }
                }
            }
        };
        let proxy_protocol = r.flag("proxy_protocol", false);
        let proxy_protocol_use_cn_as_username = r.flag("proxy_protocol_use_cn_as_username", true);
        let max_connection_lifetime = match r.value("max_connection_lifetime") {
            None => None,
            Some((k, v, o)) => match value::parse_duration(&v, Unit::S) {
                Some(d) if d.is_zero() => None,
                Some(d) => Some(d),
                None => {
                    r.bad(k, v, o, "a duration in seconds (0 = no limit)");
                    None
                }
            },
        };
        let allow_anonymous_override = r.flag("allow_anonymous_override", false);
        let tls = kind.is_tls().then(|| r.tls());
        let mut options = BTreeMap::new();
        let kind_prefix = format!("listener.{}.", kind.as_str());
        let name_prefix = format!("{kind_prefix}{name}.");
        for (k, v) in raw.range(kind_prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&kind_prefix) else {
                break;
            };
            if let Some(suffix) = k.strip_prefix(&name_prefix) {
                options.insert(suffix.to_string(), v.value.clone());
            } else if schema::lookup(k).is_some_and(|d| !d.key.contains('$')) {
                options
                    .entry(rest.to_string())
                    .or_insert_with(|| v.value.clone());
            }
        }
        out.push(ListenerConfig {
            kind,
            name,
            addr,
            local_path,
            max_connections,
            nr_of_acceptors,
            mountpoint,
            allowed_protocol_versions,
            proxy_protocol,
            proxy_protocol_use_cn_as_username,
            max_connection_lifetime,
            allow_anonymous_override,
            tls,
            options,
        });
    }
    out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    out
}
