//! The typed configuration the broker uses, built from the merged raw key map, plus access to
//! every key's final value and origin (`raw()`, `get()`) for plugins and `vmq-admin show`.
//! Loading order: schema defaults, then the embedded default file (only when no file is given),
//! then the file and its includes, then `DOCKER_VERNEMQ_*` / `VMQ_*` variables.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::env;
use crate::error::{ConfigError, ConfigErrors, Origin};
use crate::listener::{self, ListenerConfig};
use crate::parse::{self, Setting};
use crate::provider::{self, Layer, RawValue};
use crate::schema;
use crate::value::{self, Unit};

/// The configuration used when no file is given: VerneMQ's packaged files define an MQTT
/// listener on 127.0.0.1:1883, so `vernemq console` with no file serves MQTT there.
pub const EMBEDDED_DEFAULT_CONF: &str = "listener.tcp.default = 127.0.0.1:1883\n";

/// `queue_type`: the order offline/online queues deliver in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    /// First in, first out (default).
    #[default]
    Fifo,
    /// Last in, first out.
    Lifo,
}

/// `queue_deliver_mode`: how a queue with several sessions delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueDeliverMode {
    /// Every session gets every message (default).
    #[default]
    Fanout,
    /// Messages are balanced over the sessions.
    Balance,
}

/// `shared_subscription_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SharedSubscriptionPolicy {
    /// Prefer subscribers on the local node (default).
    #[default]
    PreferLocal,
    /// Any subscriber, at random.
    Random,
    /// Only subscribers on the local node.
    LocalOnly,
}

/// `log.console`: where console logging goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogTarget {
    /// No console log.
    Off,
    /// To `log.console.file` (VerneMQ's default).
    #[default]
    File,
    /// To standard output.
    Console,
    /// Both.
    Both,
}

/// `log.console.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// `debug`.
    Debug,
    /// `info` (default).
    #[default]
    Info,
    /// `notice`.
    Notice,
    /// `warning`.
    Warning,
    /// `error`.
    Error,
    /// `critical`.
    Critical,
    /// `alert`.
    Alert,
    /// `emergency`.
    Emergency,
}

/// Text or JSON log lines (`log.console.console.format`, `log.console.file.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Plain text (default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// VerneMQ's log settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// `log.console` (default `file`).
    pub console: LogTarget,
    /// `log.console.level` (default `info`).
    pub level: LogLevel,
    /// `log.console.file` (default `./log/console.log`).
    pub file: PathBuf,
    /// `log.console.console.format`.
    pub console_format: LogFormat,
    /// `log.console.file.format`.
    pub file_format: LogFormat,
    /// `log.console.rotation.size` in bytes; `None` = infinity (default).
    pub rotation_size: Option<u64>,
    /// `log.console.rotation.keep` (default 5).
    pub rotation_keep: u32,
    /// `log.error` (default on): also write errors to `error_file`.
    pub error: bool,
    /// `log.error.file` (default `./log/error.log`).
    pub error_file: PathBuf,
    /// `log.syslog` (default off).
    pub syslog: bool,
}

/// The broker's configuration. Field names are VerneMQ's keys; defaults are VerneMQ 2.1.2's
/// (`apps/vmq_server/priv/vmq_server.schema`, `files/vmq.schema`).
#[derive(Debug, Clone)]
pub struct Config {
    /// `nodename` (default `VerneMQ@127.0.0.1`).
    pub nodename: String,
    /// `distributed_cookie` (default `vmq`).
    pub distributed_cookie: String,
    /// `allow_anonymous` (default off).
    pub allow_anonymous: bool,
    /// `allow_register_during_netsplit` (default off).
    pub allow_register_during_netsplit: bool,
    /// `allow_publish_during_netsplit` (default off).
    pub allow_publish_during_netsplit: bool,
    /// `allow_subscribe_during_netsplit` (default off).
    pub allow_subscribe_during_netsplit: bool,
    /// `allow_unsubscribe_during_netsplit` (default off).
    pub allow_unsubscribe_during_netsplit: bool,
    /// `coordinate_registrations` (default on).
    pub coordinate_registrations: bool,
    /// `max_client_id_size` (default 100 in VerneMQ 2.1; 23 is MQTT 3.1's limit).
    pub max_client_id_size: usize,
    /// `max_inflight_messages` (default 20; 0 = no maximum).
    pub max_inflight_messages: u16,
    /// `max_online_messages` (default 1000; -1 = no maximum).
    pub max_online_messages: i64,
    /// `max_offline_messages` (default 1000; -1 = no maximum, 0 = none stored).
    pub max_offline_messages: i64,
    /// `override_max_online_messages` (default off).
    pub override_max_online_messages: bool,
    /// `retry_interval` (seconds, default 20).
    pub retry_interval: Duration,
    /// `queue_type` (default fifo).
    pub queue_type: QueueType,
    /// `queue_deliver_mode` (default fanout).
    pub queue_deliver_mode: QueueDeliverMode,
    /// `persistent_client_expiration`: `None` = `never` (default).
    pub persistent_client_expiration: Option<Duration>,
    /// `max_last_will_delay`: `None` = `client` (the client's value is used, default).
    pub max_last_will_delay: Option<Duration>,
    /// `max_message_size` in bytes (default 0 = unlimited). VerneMQ has no
    /// `max_packet_size` key: this one also bounds MQTT 5 packets.
    pub max_message_size: u32,
    /// `max_message_rate` per second per client (default 0 = unlimited).
    pub max_message_rate: u32,
    /// `upgrade_outgoing_qos` (default off).
    pub upgrade_outgoing_qos: bool,
    /// `allow_multiple_sessions` (default off): several connections may share a client id,
    /// the queue delivering by `queue_deliver_mode`. VerneMQ 1.x had this key; the 2.1 schema
    /// dropped it, so it is accepted here as an extension for old configurations.
    pub allow_multiple_sessions: bool,
    /// `mqtt_connect_timeout` (ms, default 5000).
    pub mqtt_connect_timeout: Duration,
    /// `suppress_lwt_on_session_takeover` (default off).
    pub suppress_lwt_on_session_takeover: bool,
    /// `disconnect_on_unauthorized_publish_v3` (default off).
    pub disconnect_on_unauthorized_publish_v3: bool,
    /// `publish_backpressure` (extension, default off): a QoS 1/2 publish that finds a
    /// subscriber's online queue at least half of `max_online_messages` full holds its
    /// publisher back until the queue has room, instead of VerneMQ's behaviour, where the
    /// queue drops by its policy and the publisher never waits for a subscriber.
    pub publish_backpressure: bool,
    /// `erlang.schedulers.online`, else `erlang.schedulers.total` (VerneMQ hands them to the
    /// Erlang VM as `+S`): how many runtime worker threads the broker runs. 0 (both unset, the
    /// default) means one per core, as Erlang does. Fewer workers than cores trade peak
    /// throughput for fewer wake-ups between threads, which on a small machine shared with
    /// other busy processes shortens the latency tail.
    pub schedulers: u16,
    /// `topic_alias_max_client` (default 0).
    pub topic_alias_max_client: u16,
    /// `topic_alias_max_broker` (default 0).
    pub topic_alias_max_broker: u16,
    /// `receive_max_client` (default 65535).
    pub receive_max_client: u16,
    /// `receive_max_broker` (default 65535).
    pub receive_max_broker: u16,
    /// `shared_subscription_policy` (default prefer_local).
    pub shared_subscription_policy: SharedSubscriptionPolicy,
    /// `systree_enabled` (default on).
    pub systree_enabled: bool,
    /// `systree_interval` (ms, default 20000).
    pub systree_interval: Duration,
    /// `topic_max_depth` (default 10).
    pub topic_max_depth: usize,
    /// `max_ws_frame_size` in bytes; `None` = infinity (default 268435456).
    pub max_ws_frame_size: Option<u64>,
    /// `setup.data_dir` (default `./data/`).
    pub data_dir: PathBuf,
    /// Logging.
    pub log: LogConfig,
    /// `plugins.<name> = on|off` (defaults: vmq_passwd and vmq_acl on; vmq_diversity,
    /// vmq_webhooks, vmq_bridge off).
    pub plugins: BTreeMap<String, bool>,
    /// Every `listener.<kind>.<name>` with an address.
    pub listeners: Vec<ListenerConfig>,
    raw: BTreeMap<String, RawValue>,
}

impl Default for Config {
    /// Built-in defaults plus [`EMBEDDED_DEFAULT_CONF`] (a TCP listener on 127.0.0.1:1883).
    fn default() -> Self {
        match Self::build(None, &HashMap::new()) {
            Ok(c) => c,
            // The defaults are checked by this crate's tests; this arm is unreachable in
            // practice, but never panic: fall back to the schema defaults alone.
            Err(_) => Self::from_raw(BTreeMap::new()).0,
        }
    }
}

impl Config {
    /// Loads `path` (with its includes) or, when `None`, the embedded default; applies the
    /// `DOCKER_VERNEMQ_*` / `VMQ_*` overrides found in `env`. All problems are reported
    /// together.
    pub fn load(
        path: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let settings = path.map(|p| parse::read_file(p, &mut errors));
        Self::finish(settings, env, errors)
    }

    /// Parses `text` as a configuration file named `origin_name` (includes resolve relative to
    /// the current directory) and applies `env`.
    pub fn from_str(
        text: &str,
        origin_name: &str,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigErrors> {
        let mut errors = ConfigErrors::default();
        let mut settings = Vec::new();
        parse::expand(
            text,
            origin_name,
            Path::new(""),
            0,
            &mut errors,
            &mut settings,
        );
        Self::finish(Some(settings), env, errors)
    }

    fn build(
        settings: Option<Vec<Setting>>,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigErrors> {
        Self::finish(settings, env, ConfigErrors::default())
    }

    fn finish(
        file: Option<Vec<Setting>>,
        env: &HashMap<String, String>,
        mut errors: ConfigErrors,
    ) -> Result<Config, ConfigErrors> {
        let defaults: Vec<Setting> = schema::all_keys()
            .iter()
            .filter(|d| !d.is_pattern())
            .filter_map(|d| {
                d.default.map(|v| Setting {
                    key: d.key.to_string(),
                    value: v.to_string(),
                    origin: Origin::Default,
                })
            })
            .collect();
        let mut layers = vec![Layer::new("defaults", defaults)];
        match file {
            None => {
                let mut embedded = Vec::new();
                let mut e = ConfigErrors::default();
                parse::expand(
                    EMBEDDED_DEFAULT_CONF,
                    "embedded",
                    Path::new(""),
                    0,
                    &mut e,
                    &mut embedded,
                );
                for s in &mut embedded {
                    s.origin = Origin::Embedded;
                }
                layers.push(Layer::new("embedded", embedded));
            }
            Some(settings) => layers.push(Layer::new("file", validate(settings, &mut errors))),
        }
        layers.push(Layer::new("env", validate(env::settings(env), &mut errors)));
        let raw = match provider::merge(&layers) {
            Ok(r) => r,
            Err(e) => {
                errors.push(e);
                return Err(errors);
            }
        };
        let (cfg, more) = Self::from_raw(raw);
        errors.errors.extend(more);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(errors)
        }
    }

    /// Every key's final value (defaults included), with its origin.
    pub fn raw(&self) -> &BTreeMap<String, RawValue> {
        &self.raw
    }

    /// The final value of `key` and where it came from, if the key is set or has a default.
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.raw.get(key)
    }

    /// Every key under `prefix.` (e.g. `vmq_webhooks`), for plugins reading their options.
    pub fn prefixed<'a>(
        &'a self,
        prefix: &str,
    ) -> impl Iterator<Item = (&'a str, &'a RawValue)> + 'a {
        let p = format!("{prefix}.");
        self.raw
            .range(p.clone()..)
            .take_while(move |(k, _)| k.starts_with(&p))
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The listeners of one kind.
    pub fn listeners_of(
        &self,
        kind: listener::ListenerKind,
    ) -> impl Iterator<Item = &ListenerConfig> {
        self.listeners.iter().filter(move |l| l.kind == kind)
    }

    /// Builds the typed view: a best-effort config and the problems found (if any).
    fn from_raw(raw: BTreeMap<String, RawValue>) -> (Config, Vec<ConfigError>) {
        let mut t = Typed {
            raw: &raw,
            errors: Vec::new(),
        };
        let plugins = raw
            .iter()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("plugins.")?;
                (!name.contains('.')).then(|| {
                    (
                        name.to_string(),
                        value::parse_flag(&v.value).unwrap_or(false),
                    )
                })
            })
            .collect();
        let log = LogConfig {
            console: t.word(
                "log.console",
                LogTarget::File,
                &[
                    ("off", LogTarget::Off),
                    ("file", LogTarget::File),
                    ("console", LogTarget::Console),
                    ("both", LogTarget::Both),
                ],
            ),
            level: t.word(
                "log.console.level",
                LogLevel::Info,
                &[
                    ("debug", LogLevel::Debug),
                    ("info", LogLevel::Info),
                    ("notice", LogLevel::Notice),
                    ("warning", LogLevel::Warning),
                    ("error", LogLevel::Error),
                    ("critical", LogLevel::Critical),
                    ("alert", LogLevel::Alert),
                    ("emergency", LogLevel::Emergency),
                ],
            ),
            file: t.path("log.console.file", "./log/console.log"),
            console_format: t.word(
                "log.console.console.format",
                LogFormat::Text,
                &[("text", LogFormat::Text), ("json", LogFormat::Json)],
            ),
            file_format: t.word(
                "log.console.file.format",
                LogFormat::Text,
                &[("text", LogFormat::Text), ("json", LogFormat::Json)],
            ),
            rotation_size: t.bytes_or_infinity("log.console.rotation.size", None),
            rotation_keep: t.int("log.console.rotation.keep", 5),
            error: t.flag("log.error", true),
            error_file: t.path("log.error.file", "./log/error.log"),
            syslog: t.flag("log.syslog", false),
        };
        let persistent_client_expiration = t.period("persistent_client_expiration", "never");
        let max_last_will_delay = t.period("max_last_will_delay", "client");
        let max_ws_frame_size = match t.get("max_ws_frame_size") {
            Some(v) if v.value == "infinity" => None,
            _ => Some(t.int::<u64>("max_ws_frame_size", 268_435_456)),
        };
        let mut cfg = Config {
            nodename: t.string("nodename", "VerneMQ@127.0.0.1"),
            distributed_cookie: t.string("distributed_cookie", "vmq"),
            allow_anonymous: t.flag("allow_anonymous", false),
            allow_register_during_netsplit: t.flag("allow_register_during_netsplit", false),
            allow_publish_during_netsplit: t.flag("allow_publish_during_netsplit", false),
            allow_subscribe_during_netsplit: t.flag("allow_subscribe_during_netsplit", false),
            allow_unsubscribe_during_netsplit: t.flag("allow_unsubscribe_during_netsplit", false),
            coordinate_registrations: t.flag("coordinate_registrations", true),
            max_client_id_size: t.int("max_client_id_size", 100),
            max_inflight_messages: t.int("max_inflight_messages", 20),
            max_online_messages: t.int("max_online_messages", 1000),
            max_offline_messages: t.int("max_offline_messages", 1000),
            override_max_online_messages: t.flag("override_max_online_messages", false),
            retry_interval: t.duration("retry_interval", Unit::S, Duration::from_secs(20)),
            queue_type: t.word(
                "queue_type",
                QueueType::Fifo,
                &[("fifo", QueueType::Fifo), ("lifo", QueueType::Lifo)],
            ),
            queue_deliver_mode: t.word(
                "queue_deliver_mode",
                QueueDeliverMode::Fanout,
                &[
                    ("fanout", QueueDeliverMode::Fanout),
                    ("balance", QueueDeliverMode::Balance),
                ],
            ),
            persistent_client_expiration,
            max_last_will_delay,
            max_message_size: t.int("max_message_size", 0),
            max_message_rate: t.int("max_message_rate", 0),
            upgrade_outgoing_qos: t.flag("upgrade_outgoing_qos", false),
            allow_multiple_sessions: t.flag("allow_multiple_sessions", false),
            mqtt_connect_timeout: t.duration(
                "mqtt_connect_timeout",
                Unit::Ms,
                Duration::from_millis(5000),
            ),
            suppress_lwt_on_session_takeover: t.flag("suppress_lwt_on_session_takeover", false),
            disconnect_on_unauthorized_publish_v3: t
                .flag("disconnect_on_unauthorized_publish_v3", false),
            publish_backpressure: t.flag("publish_backpressure", false),
            schedulers: match t.int("erlang.schedulers.online", 0) {
                0 => t.int("erlang.schedulers.total", 0),
                online => online,
            },
            topic_alias_max_client: t.int("topic_alias_max_client", 0),
            topic_alias_max_broker: t.int("topic_alias_max_broker", 0),
            receive_max_client: t.int("receive_max_client", 65535),
            receive_max_broker: t.int("receive_max_broker", 65535),
            shared_subscription_policy: t.word(
                "shared_subscription_policy",
                SharedSubscriptionPolicy::PreferLocal,
                &[
                    ("prefer_local", SharedSubscriptionPolicy::PreferLocal),
                    ("random", SharedSubscriptionPolicy::Random),
                    ("local_only", SharedSubscriptionPolicy::LocalOnly),
                ],
            ),
            systree_enabled: t.flag("systree_enabled", true),
            systree_interval: t.duration(
                "systree_interval",
                Unit::Ms,
                Duration::from_millis(20_000),
            ),
            topic_max_depth: t.int("topic_max_depth", 10),
            max_ws_frame_size,
            data_dir: t.path("setup.data_dir", "./data/"),
            log,
            plugins,
            listeners: Vec::new(),
            raw: BTreeMap::new(),
        };
        let mut errors = t.errors;
        cfg.listeners = listener::listeners(&raw, &mut errors);
        cfg.raw = raw;
        (cfg, errors)
    }
}

/// Drops (and reports) settings whose key is unknown or whose value does not fit the schema.
fn validate(settings: Vec<Setting>, errors: &mut ConfigErrors) -> Vec<Setting> {
    settings
        .into_iter()
        .filter(|s| match schema::lookup(&s.key) {
            None => {
                errors.push(ConfigError::UnknownKey {
                    origin: s.origin.clone(),
                    key: s.key.clone(),
                });
                false
            }
            Some(def) => match def.datatype.check(&s.value) {
                Ok(()) => true,
                Err(expected) => {
                    errors.push(ConfigError::InvalidValue {
                        origin: s.origin.clone(),
                        key: s.key.clone(),
                        value: s.value.clone(),
                        expected,
                    });
                    false
                }
            },
        })
        .collect()
}

/// Typed reads of the raw map that record errors with the value's origin.
struct Typed<'a> {
    raw: &'a BTreeMap<String, RawValue>,
    errors: Vec<ConfigError>,
}

impl Typed<'_> {
    fn get(&self, key: &str) -> Option<&RawValue> {
        self.raw.get(key)
    }

    fn bad(&mut self, key: &str, v: &RawValue, expected: impl Into<String>) {
        self.errors.push(ConfigError::InvalidValue {
            origin: v.origin.clone(),
            key: key.to_string(),
            value: v.value.clone(),
            expected: expected.into(),
        });
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.get(key)
            .map_or_else(|| default.to_string(), |v| v.value.clone())
    }

    fn path(&self, key: &str, default: &str) -> PathBuf {
        PathBuf::from(self.string(key, default))
    }

    fn flag(&mut self, key: &str, default: bool) -> bool {
        let Some(v) = self.get(key).cloned() else {
            return default;
        };
        value::parse_flag(&v.value).unwrap_or_else(|| {
            self.bad(key, &v, "on or off");
            default
        })
    }

    fn int<T: TryFrom<i64>>(&mut self, key: &str, default: T) -> T {
        let Some(v) = self.get(key).cloned() else {
            return default;
        };
        match value::parse_int(&v.value).map(T::try_from) {
            Some(Ok(n)) => n,
            _ => {
                let (lo, hi) = range_of::<T>();
                self.bad(key, &v, format!("an integer between {lo} and {hi}"));
                default
            }
        }
    }

    fn duration(&mut self, key: &str, unit: Unit, default: Duration) -> Duration {
        let Some(v) = self.get(key).cloned() else {
            return default;
        };
        value::parse_duration(&v.value, unit).unwrap_or_else(|| {
            self.bad(key, &v, "a duration");
            default
        })
    }

    /// `never`/`client` → `None`; else VerneMQ's `<n>{s,h,d,w,m,y}` period.
    fn period(&mut self, key: &str, none_word: &str) -> Option<Duration> {
        let v = self.get(key).cloned()?;
        if v.value == none_word {
            return None;
        }
        match value::parse_vmq_period(&v.value) {
            Some(d) => Some(d),
            None => {
                self.bad(
                    key,
                    &v,
                    format!(
                        "'{none_word}' or an integer followed by one of s, h, d, w, m (month), y"
                    ),
                );
                None
            }
        }
    }

    fn bytes_or_infinity(&mut self, key: &str, default: Option<u64>) -> Option<u64> {
        let Some(v) = self.get(key).cloned() else {
            return default;
        };
        if v.value == "infinity" {
            return None;
        }
        value::parse_bytesize(&v.value).or_else(|| {
            self.bad(key, &v, "a byte size or infinity");
            default
        })
    }

    fn word<T: Copy>(&mut self, key: &str, default: T, words: &[(&str, T)]) -> T {
        let Some(v) = self.get(key).cloned() else {
            return default;
        };
        match words.iter().find(|(w, _)| *w == v.value) {
            Some((_, t)) => *t,
            None => {
                let list: Vec<&str> = words.iter().map(|(w, _)| *w).collect();
                self.bad(key, &v, format!("one of {}", list.join(", ")));
                default
            }
        }
    }
}

fn range_of<T: TryFrom<i64>>() -> (i64, i64) {
    let fits = |n: i64| T::try_from(n).is_ok();
    let mut lo = 0;
    for cand in [i64::MIN, i32::MIN as i64, i16::MIN as i64, 0] {
        if fits(cand) {
            lo = cand;
            break;
        }
    }
    let mut hi = 0;
    for cand in [
        i64::MAX,
        u32::MAX as i64,
        i32::MAX as i64,
        u16::MAX as i64,
        i16::MAX as i64,
        u8::MAX as i64,
    ] {
        if fits(cand) {
            hi = cand;
            break;
        }
    }
    (lo, hi)
}
