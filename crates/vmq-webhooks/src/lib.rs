//! `vmq-webhooks`: the `vmq_webhooks` plugin. Every VerneMQ hook can be served by HTTP
//! endpoints: the broker POSTs VerneMQ's JSON body with the header `vernemq-hook: <hook>`
//! (`auth_on_register`, `auth_on_publish_m5`, ...) and applies the answer: `{"result": "ok"}`
//! (optionally with modifiers), `{"result": "next"}`, `{"result": {"error": ...}}`.
//!
//! Configuration, as VerneMQ's schema: `plugins.vmq_webhooks = on`, then per webhook name
//! `vmq_webhooks.<name>.hook`, `.endpoint`, `.base64encode` (payloads in base64, default on),
//! `.no_payload` (leave the payload out of `auth_on_publish(_m5)`, default off),
//! `.response_timeout` (ms, default 5000); globally `vmq_webhooks.pool_max_connections` (idle
//! connections kept per endpoint, default 100) and `vmq_webhooks.pool_timeout` (ms an idle
//! connection is kept, default 60000). Webhooks are registered in the order of their names;
//! the endpoints of one hook are asked in registration order, like a plugin chain.
//!
//! Semantics: the conditional hooks (`auth_on_*`, `on_auth_m5`, `on_unsubscribe(_m5)`,
//! `on_deliver(_m5)`) are awaited by the connection; the notification hooks are posted from a
//! spawned task and never delay the client. A non-200 status, a timeout, a body that is not
//! JSON, or invalid modifiers are logged and answered as an error (a refusal for the `auth_*`
//! hooks), never as success. Successful `auth_on_register`, `auth_on_publish` and
//! `auth_on_subscribe` answers (both variants) carrying `cache-control: max-age=N` are cached
//! for N seconds (see [`cache`](crate::CacheStats)).
//!
//! The runtime API ([`Webhooks::register`], [`Webhooks::deregister`], [`Webhooks::show`],
//! [`Webhooks::cache_stats`]) is what `vmq-admin webhooks ...` calls. The embedding program
//! keeps the `Arc<Webhooks>` it registered with the broker to reach it.
//!
//! This crate must not: log passwords (request bodies are never logged), or block a
//! connection task on I/O.

mod cache;
mod json;

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::RwLock;
use serde_json::{Map, Value};
use tracing::{debug, error, warn};
use vmq_broker::{
    Answer, AuthModifiers, AuthRequest, DeliverModifiers, HookName, HookResult, OfflineMessage,
    Plugin, PublishModifiers, PublishRequest, RegisterEvent, RegisterModifiers, RegisterRequest,
    SubscribeRequest, SubscribeTopic, SubscriberId, UnsubscribeRequest,
};
use vmq_codec::{ReasonCode, Utf8Str};
use vmq_conf::Config;

pub use cache::CacheStats;

use crate::{cache::Cache, json::Args};

/// Errors of configuring and managing webhooks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhooksError {
    /// `vmq_webhooks.<name>` lacks its hook or endpoint (the user's configuration).
    #[error("vmq_webhooks.{name}.{missing} is not defined")]
    Incomplete {
        /// The webhook name.
        name: String,
        /// `hook` or `endpoint`.
        missing: &'static str,
    },
    /// Not a hook name VerneMQ knows.
    #[error("{0} is not a webhook hook name")]
    UnknownHook(String),
    /// Not an http(s) URL.
    #[error("{0} is not an http:// or https:// endpoint")]
    BadEndpoint(String),
    /// A value of the wrong type.
    #[error("{key}: invalid value {value:?}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// `register` of a hook/endpoint pair that is registered already.
    #[error("endpoint already registered for this hook")]
    AlreadyRegistered,
    /// `deregister` of a hook/endpoint pair that is not registered.
    #[error("endpoint not registered for this hook")]
    NotFound,
    /// The HTTP client could not be built (TLS setup).
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Options of one registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointOptions {
    /// Payloads (and payload modifiers) in base64 (`base64encode`, default on).
    pub base64_payload: bool,
    /// Leave the payload out of `auth_on_publish(_m5)` (`no_payload`, default off).
    pub no_payload: bool,
    /// How long an answer is waited for (`response_timeout`, default 5 s).
    pub response_timeout: Duration,
}

impl Default for EndpointOptions {
    fn default() -> Self {
        EndpointOptions {
            base64_payload: true,
            no_payload: false,
            response_timeout: Duration::from_millis(5000),
        }
    }
}

/// One registered webhook (a row of `vmq-admin webhooks show`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// VerneMQ's hook name (`auth_on_publish_m5`, ...).
    pub hook: &'static str,
    /// The URL.
    pub endpoint: String,
    /// Its options.
    pub options: EndpointOptions,
}

/// HTTP client pool settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolOptions {
    /// Idle connections kept per endpoint (`pool_max_connections`).
    pub max_connections: usize,
    /// How long an idle connection is kept (`pool_timeout`).
    pub idle_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 100,
            idle_timeout: Duration::from_millis(60_000),
        }
    }
}

type Endpoints = Arc<Vec<(Arc<str>, EndpointOptions)>>;

struct Inner {
    client: reqwest::Client,
    table: RwLock<BTreeMap<&'static str, Endpoints>>,
    cache: Cache,
}

/// The `vmq_webhooks` plugin.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("registered", &self.show())
            .finish()
    }
}

/// The VerneMQ name of a hook string (`"auth_on_register_m5"` → its `&'static str`).
fn static_hook_name(name: &str) -> Option<&'static str> {
    let (hook, m5) = HookName::parse(name)?;
    Some(hook.for_version(m5))
}

fn flag(config: &Config, key: &str, default: bool) -> Result<bool, WebhooksError> {
    match config.get(key).map(|v| v.value.as_str()) {
        None => Ok(default),
        Some("on" | "true") => Ok(true),
        Some("off" | "false") => Ok(false),
        Some(other) => Err(WebhooksError::BadValue {
            key: key.to_owned(),
            value: other.to_owned(),
        }),
    }
}

fn millis(config: &Config, key: &str, default: u64) -> Result<Duration, WebhooksError> {
    match config.get(key) {
        None => Ok(Duration::from_millis(default)),
        Some(v) => {
            vmq_conf::value::parse_duration(&v.value, vmq_conf::value::Unit::Ms).ok_or_else(|| {
                WebhooksError::BadValue {
                    key: key.to_owned(),
                    value: v.value.clone(),
                }
            })
        }
    }
}

impl Webhooks {
    /// A plugin without webhooks, with a client built from `pool`.
    pub fn new(pool: PoolOptions) -> Result<Webhooks, WebhooksError> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool.max_connections)
            .pool_idle_timeout(pool.idle_timeout)
            .build()
            .map_err(|e| WebhooksError::Client(e.to_string()))?;
        Ok(Webhooks {
            inner: Arc::new(Inner {
                client,
                table: RwLock::new(BTreeMap::new()),
                cache: Cache::default(),
            }),
        })
    }

    /// The plugin as `config` describes it, or `None` when `plugins.vmq_webhooks` is off.
    pub fn from_config(config: &Config) -> Result<Option<Webhooks>, WebhooksError> {
        if !config.plugins.get("vmq_webhooks").copied().unwrap_or(false) {
            return Ok(None);
        }
        let pool = PoolOptions {
            max_connections: match config.get("vmq_webhooks.pool_max_connections") {
                None => 100,
                Some(v) => v.value.parse().map_err(|_| WebhooksError::BadValue {
                    key: "vmq_webhooks.pool_max_connections".into(),
                    value: v.value.clone(),
                })?,
            },
            idle_timeout: millis(config, "vmq_webhooks.pool_timeout", 60_000)?,
        };
        let webhooks = Webhooks::new(pool)?;
        // Names in order (VerneMQ registers webhook1 before webhook2).
        let mut names: Vec<String> = config
            .prefixed("vmq_webhooks")
            .filter_map(|(key, _)| {
                let rest = key.strip_prefix("vmq_webhooks.")?;
                let (name, option) = rest.split_once('.')?;
                matches!(
                    option,
                    "hook" | "endpoint" | "base64encode" | "no_payload" | "response_timeout"
                )
                .then(|| name.to_owned())
            })
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let get = |option: &str| {
                config
                    .get(&format!("vmq_webhooks.{name}.{option}"))
                    .map(|v| v.value.clone())
            };
            let hook = get("hook").ok_or_else(|| WebhooksError::Incomplete {
                name: name.clone(),
                missing: "hook",
            })?;
            let endpoint = get("endpoint").ok_or_else(|| WebhooksError::Incomplete {
                name: name.clone(),
                missing: "endpoint",
            })?;
            let options = EndpointOptions {
                base64_payload: flag(config, &format!("vmq_webhooks.{name}.base64encode"), true)?,
                no_payload: flag(config, &format!("vmq_webhooks.{name}.no_payload"), false)?,
                response_timeout: millis(
                    config,
                    &format!("vmq_webhooks.{name}.response_timeout"),
                    5000,
                )?,
            };
            webhooks.register(&hook, &endpoint, options)?;
        }
        Ok(Some(webhooks))
    }

    /// Registers `endpoint` for `hook` after those registered before
    /// (`vmq-admin webhooks register hook=.. endpoint=..`).
    pub fn register(
        &self,
        hook: &str,
        endpoint: &str,
        options: EndpointOptions,
    ) -> Result<(), WebhooksError> {
        let name =
            static_hook_name(hook).ok_or_else(|| WebhooksError::UnknownHook(hook.to_owned()))?;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
            || reqwest::Url::parse(endpoint).is_err()
        {
            return Err(WebhooksError::BadEndpoint(endpoint.to_owned()));
        }
        let mut table = self.inner.table.write();
        let mut list: Vec<_> = table
            .get(name)
            .map(|l| l.as_ref().clone())
            .unwrap_or_default();
        if list.iter().any(|(e, _)| &**e == endpoint) {
            return Err(WebhooksError::AlreadyRegistered);
        }
        list.push((Arc::from(endpoint), options));
        table.insert(name, Arc::new(list));
        Ok(())
    }

    /// Removes `endpoint` from `hook` (`vmq-admin webhooks deregister`).
    pub fn deregister(&self, hook: &str, endpoint: &str) -> Result<(), WebhooksError> {
        let name =
            static_hook_name(hook).ok_or_else(|| WebhooksError::UnknownHook(hook.to_owned()))?;
        let mut table = self.inner.table.write();
        let Some(list) = table.get(name) else {
            return Err(WebhooksError::NotFound);
        };
        let list: Vec<_> = list
            .iter()
            .filter(|(e, _)| &**e != endpoint)
            .cloned()
            .collect();
        if list.len() == table.get(name).map_or(0, |l| l.len()) {
            return Err(WebhooksError::NotFound);
        }
        if list.is_empty() {
            table.remove(name);
        } else {
            table.insert(name, Arc::new(list));
        }
        Ok(())
    }

    /// Every registration, by hook name then registration order (`vmq-admin webhooks show`).
    pub fn show(&self) -> Vec<Registration> {
        self.inner
            .table
            .read()
            .iter()
            .flat_map(|(hook, list)| {
                list.iter().map(|(endpoint, options)| Registration {
                    hook,
                    endpoint: endpoint.to_string(),
                    options: options.clone(),
                })
            })
            .collect()
    }

    /// Cache counters by (endpoint, hook) (`vmq-admin webhooks cache show`).
    pub fn cache_stats(&self) -> BTreeMap<(String, &'static str), CacheStats> {
        self.inner.cache.stats()
    }

    /// Zeroes the hit and miss counters (`cache show --reset`).
    pub fn cache_reset_stats(&self) {
        self.inner.cache.reset_stats();
    }

    /// Drops every cached answer (`vmq-admin webhooks cache clear`).
    pub fn cache_clear(&self) {
        self.inner.cache.clear();
    }

    /// Answers `webhooks register|deregister|show` and `webhooks cache show [--reset]` (see
    /// [`vmq_http::AdminCommands`]).
    fn admin(
        &self,
        command: &vmq_http::Command,
    ) -> Result<vmq_http::CommandOutput, vmq_http::Error> {
        use vmq_http::{CommandOutput, Error};
        let path: Vec<&str> = command.path.iter().map(String::as_str).collect();
        let arg = |key: &str| {
            command
                .value(key)
                .or_else(|| command.value(&format!("--{key}")))
                .map(|v| v.trim_matches('"').to_owned())
        };
        let required =
            |key: &str| arg(key).ok_or_else(|| Error::Usage(format!("missing {key}=<value>")));
        match path.as_slice() {
            ["webhooks", "show"] => Ok(CommandOutput::Table {
                columns: vec![
                    "hook".into(),
                    "endpoint".into(),
                    "base64payload".into(),
                    "no_payload".into(),
                    "response_timeout".into(),
                ],
                rows: self
                    .show()
                    .into_iter()
                    .map(|r| {
                        vec![
                            r.hook.into(),
                            r.endpoint.into(),
                            r.options.base64_payload.into(),
                            r.options.no_payload.into(),
                            (r.options.response_timeout.as_millis() as u64).into(),
                        ]
                    })
                    .collect(),
            }),
            ["webhooks", "register"] => {
                let hook = required("hook")?;
                let endpoint = required("endpoint")?;
                let flag = |key: &str, default: bool| match arg(key).as_deref() {
                    None => Ok(default),
                    Some("true" | "on") => Ok(true),
                    Some("false" | "off") => Ok(false),
                    Some(other) => Err(Error::Usage(format!(
                        "{key}={other}: expected true or false"
                    ))),
                };
                let mut options = EndpointOptions {
                    base64_payload: flag("base64payload", true)?,
                    no_payload: flag("no_payload", false)?,
                    ..EndpointOptions::default()
                };
                if let Some(ms) = arg("response_timeout") {
                    let ms: u64 = ms.parse().map_err(|_| {
                        Error::Usage(format!("response_timeout={ms}: milliseconds expected"))
                    })?;
                    options.response_timeout = Duration::from_millis(ms);
                }
                self.register(&hook, &endpoint, options)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                Ok(CommandOutput::Done)
            }
            ["webhooks", "deregister"] => {
                let hook = required("hook")?;
                let endpoint = required("endpoint")?;
                self.deregister(&hook, &endpoint)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                Ok(CommandOutput::Done)
            }
            ["webhooks", "cache", "show"] => {
                let rows = self
                    .cache_stats()
                    .into_iter()
                    .map(|((endpoint, hook), stats)| {
                        vec![
                            endpoint.into(),
                            hook.into(),
                            stats.entries.into(),
                            stats.hits.into(),
                            stats.misses.into(),
                        ]
                    })
                    .collect();
                if command.has("--reset") || command.has("reset") {
                    self.cache_reset_stats();
                }
                Ok(CommandOutput::Table {
                    columns: vec![
                        "endpoint".into(),
                        "hook".into(),
                        "entries".into(),
                        "hits".into(),
                        "misses".into(),
                    ],
                    rows,
                })
            }
            _ => Err(Error::UnknownCommand(command.path.join(" "))),
        }
    }

    fn endpoints(&self, hook: &'static str) -> Option<Endpoints> {
        self.inner.table.read().get(hook).cloned()
    }

    /// Posts a notification to every endpoint of `hook` from a spawned task.
    fn notify(
        &self,
        hook: HookName,
        m5: bool,
        payload: Option<&bytes::Bytes>,
        build: impl FnOnce(&mut Args),
    ) {
        let name = hook.for_version(m5);
        let Some(endpoints) = self.endpoints(name) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            warn!(hook = name, "no runtime to post a webhook from");
            return;
        };
        let mut args = Args::new();
        build(&mut args);
        let inner = self.inner.clone();
        let payload = payload.cloned();
        runtime.spawn(async move {
            for (endpoint, options) in endpoints.iter() {
                let body = body_for(name, &args, payload.as_ref(), options);
                let _ = inner.call(endpoint, name, body, options).await;
            }
        });
    }

    /// Runs the endpoints of a conditional hook as a chain; cached answers are ready at once.
    fn conditional<M: Send + 'static>(
        &self,
        hook: HookName,
        m5: bool,
        payload: Option<&bytes::Bytes>,
        build: impl FnOnce(&mut Args),
        parse: fn(&Value, &EndpointOptions, &'static str) -> Result<M, json::ModifierError>,
    ) -> Answer<HookResult<M>> {
        let name = hook.for_version(m5);
        let Some(endpoints) = self.endpoints(name) else {
            return Answer::Ready(HookResult::Next);
        };
        let mut args = Args::new();
        build(&mut args);
        let cacheable = matches!(
            hook,
            HookName::AuthOnRegister | HookName::AuthOnPublish | HookName::AuthOnSubscribe
        );
        if cacheable {
            if let Some((endpoint, options)) = endpoints.first() {
                let now = Instant::now();
                if let Some(mods) = self.inner.cache.lookup(endpoint, name, &args, now) {
                    return Answer::Ready(checked(parse(&mods, options, name), name));
                }
            }
        }
        let inner = self.inner.clone();
        let payload = payload.cloned();
        Answer::Pending(Box::pin(async move {
            for (i, (endpoint, options)) in endpoints.iter().enumerate() {
                if cacheable && i > 0 {
                    let now = Instant::now();
                    if let Some(mods) = inner.cache.lookup(endpoint, name, &args, now) {
                        return checked(parse(&mods, options, name), name);
                    }
                }
                let body = body_for(name, &args, payload.as_ref(), options);
                match inner.call(endpoint, name, body, options).await {
                    Err(()) => return HookResult::Error(ReasonCode::NotAuthorized),
                    Ok((answer, max_age)) => match answer {
                        Verdict::Next => continue,
                        Verdict::Error(code) => return HookResult::Error(code),
                        Verdict::Ok(mods) => {
                            let result = checked(parse(&mods, options, name), name);
                            if let (true, Some(age), HookResult::Ok(_)) =
                                (cacheable, max_age, &result)
                            {
                                inner.cache.insert(
                                    endpoint,
                                    name,
                                    &args,
                                    Duration::from_secs(age),
                                    mods,
                                    Instant::now(),
                                );
                            }
                            return result;
                        }
                    },
                }
            }
            HookResult::Next
        }))
    }
}

fn checked<M>(parsed: Result<M, json::ModifierError>, hook: &'static str) -> HookResult<M> {
    match parsed {
        Ok(m) => HookResult::Ok(m),
        Err(e) => {
            error!(hook, error = %e, "webhook answered invalid modifiers");
            HookResult::Error(ReasonCode::NotAuthorized)
        }
    }
}

/// A decoded answer.
enum Verdict {
    Ok(Value),
    Next,
    Error(ReasonCode),
}

/// The body for one endpoint: the payload left out (`no_payload`) or encoded per its options.
fn body_for(
    hook: &'static str,
    args: &Args,
    payload: Option<&bytes::Bytes>,
    options: &EndpointOptions,
) -> Vec<u8> {
    let skip = options.no_payload && hook.starts_with("auth_on_publish");
    match payload {
        Some(p) if !skip => {
            let mut args = args.clone();
            args.insert("payload".into(), json::payload(p, options));
            Value::Object(args).to_string().into_bytes()
        }
        _ => serde_json::to_vec(args).unwrap_or_default(),
    }
}

impl Inner {
    /// One POST; `Err(())` when it failed (logged), else the verdict and `max-age`.
    async fn call(
        &self,
        endpoint: &str,
        hook: &'static str,
        body: Vec<u8>,
        options: &EndpointOptions,
    ) -> Result<(Verdict, Option<u64>), ()> {
        let response = self
            .client
            .post(endpoint)
            .header("content-type", "application/json")
            .header("vernemq-hook", hook)
            .timeout(options.response_timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| error!(hook, endpoint, error = %e, "calling endpoint failed"))?;
        let status = response.status();
        if status != reqwest::StatusCode::OK {
            error!(
                hook,
                endpoint,
                status = status.as_u16(),
                "calling endpoint failed: invalid response code"
            );
            return Err(());
        }
        let max_age = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(cache::parse_max_age);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| error!(hook, endpoint, error = %e, "reading endpoint answer failed"))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
            error!(
                hook,
                endpoint, "calling endpoint failed: answer is not JSON"
            )
        })?;
        Ok((decode_answer(hook, &value), max_age))
    }
}

/// `{"result": "ok", "modifiers": ..}` / `"next"` / `{"error": ..}`; for the 3.x
/// `auth_on_subscribe` and `on_unsubscribe` the rewritten list is `topics` beside `result`.
fn decode_answer(hook: &'static str, v: &Value) -> Verdict {
    match &v["result"] {
        Value::String(s) if s == "ok" => {
            let key = if matches!(hook, "auth_on_subscribe" | "on_unsubscribe") {
                "topics"
            } else {
                "modifiers"
            };
            Verdict::Ok(v.get(key).cloned().unwrap_or(Value::Null))
        }
        Value::String(s) if s == "next" => Verdict::Next,
        Value::Object(o) => {
            let reason = o.get("error").cloned().unwrap_or(Value::Null);
            debug!(hook, ?reason, "endpoint answered error");
            Verdict::Error(json::error_code(&reason))
        }
        // Notifications answer `{}`; anything else is "no opinion", as in VerneMQ.
        _ => Verdict::Next,
    }
}

fn publish_args(args: &mut Args, req: &PublishRequest<'_>) {
    json::username(args, req.username);
    json::subscriber(args, req.subscriber_id);
    args.insert("qos".into(), Value::from(req.qos as u8));
    args.insert("topic".into(), Value::from(req.topic));
    args.insert("retain".into(), Value::from(req.retain));
    if let Some(p) = req.properties {
        args.insert("properties".into(), json::publish_props(p));
    }
}

fn unit_or<M: Default>(
    v: &Value,
    f: impl FnOnce(&Value) -> Result<M, String>,
) -> Result<M, String> {
    if v.is_null() {
        Ok(M::default())
    } else {
        f(v)
    }
}

fn parse_register(
    v: &Value,
    _: &EndpointOptions,
    _: &'static str,
) -> Result<RegisterModifiers, String> {
    unit_or(v, json::register_modifiers)
}

fn parse_publish(
    v: &Value,
    o: &EndpointOptions,
    _: &'static str,
) -> Result<PublishModifiers, String> {
    unit_or(v, |v| json::publish_modifiers(v, o))
}

fn parse_deliver(
    v: &Value,
    o: &EndpointOptions,
    _: &'static str,
) -> Result<DeliverModifiers, String> {
    unit_or(v, |v| json::deliver_modifiers(v, o))
}

fn parse_auth(v: &Value, _: &EndpointOptions, _: &'static str) -> Result<AuthModifiers, String> {
    json::auth_modifiers(v)
}

/// `[]`/absent: unchanged; else the rewritten list (3.x: the list itself; m5: `{"topics": ..}`).
fn topics_value(v: &Value) -> Option<&Value> {
    match v {
        Value::Null => None,
        Value::Array(a) if a.is_empty() => None,
        Value::Object(o) => o.get("topics"),
        other => Some(other),
    }
}

fn parse_subscribe(
    v: &Value,
    _: &EndpointOptions,
    _: &'static str,
) -> Result<Option<Vec<SubscribeTopic>>, String> {
    topics_value(v).map(json::sub_topic_modifiers).transpose()
}

fn parse_unsubscribe(
    v: &Value,
    _: &EndpointOptions,
    _: &'static str,
) -> Result<Option<Vec<Utf8Str>>, String> {
    topics_value(v).map(json::unsub_topic_modifiers).transpose()
}

fn peer_args(args: &mut Args, peer: std::net::SocketAddr) {
    args.insert("peer_addr".into(), Value::from(peer.ip().to_string()));
    args.insert("peer_port".into(), Value::from(peer.port()));
}

impl Plugin for Webhooks {
    fn name(&self) -> &str {
        "vmq_webhooks"
    }

    fn auth_on_register(&self, req: &RegisterRequest<'_>) -> Answer<HookResult<RegisterModifiers>> {
        let m5 = req.properties.is_some();
        self.conditional(
            HookName::AuthOnRegister,
            m5,
            None,
            |a| {
                peer_args(a, req.peer);
                json::subscriber(a, req.subscriber_id);
                json::username(a, req.username);
                a.insert(
                    "password".into(),
                    req.password.map_or(Value::Null, |p| json::text(p)),
                );
                let clean = if m5 { "clean_start" } else { "clean_session" };
                a.insert(clean.into(), Value::from(req.clean_start));
                if let Some(p) = req.properties {
                    a.insert("properties".into(), json::connect_props(p));
                }
            },
            parse_register,
        )
    }

    fn auth_on_publish(&self, req: &PublishRequest<'_>) -> Answer<HookResult<PublishModifiers>> {
        self.conditional(
            HookName::AuthOnPublish,
            req.properties.is_some(),
            Some(req.payload),
            |a| publish_args(a, req),
            parse_publish,
        )
    }

    fn auth_on_subscribe(
        &self,
        req: &SubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<SubscribeTopic>>>> {
        let m5 = req.properties.is_some();
        self.conditional(
            HookName::AuthOnSubscribe,
            m5,
            None,
            |a| subscribe_args(a, req, m5),
            parse_subscribe,
        )
    }

    fn on_auth(&self, req: &AuthRequest<'_>) -> Answer<HookResult<AuthModifiers>> {
        self.conditional(
            HookName::OnAuth,
            true,
            None,
            |a| {
                json::username(a, req.username);
                json::subscriber(a, req.subscriber_id);
                a.insert("properties".into(), json::auth_props(req.properties));
            },
            parse_auth,
        )
    }

    fn on_unsubscribe(
        &self,
        req: &UnsubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<Utf8Str>>>> {
        self.conditional(
            HookName::OnUnsubscribe,
            req.properties.is_some(),
            None,
            |a| {
                json::username(a, req.username);
                json::subscriber(a, req.subscriber_id);
                a.insert(
                    "topics".into(),
                    Value::Array(req.topics.iter().map(|t| Value::from(t.as_str())).collect()),
                );
                if let Some(p) = req.properties {
                    a.insert("properties".into(), json::unsubscribe_props(p));
                }
            },
            parse_unsubscribe,
        )
    }

    fn on_deliver(&self, req: &PublishRequest<'_>) -> Answer<HookResult<DeliverModifiers>> {
        let m5 = req.properties.is_some();
        self.conditional(
            HookName::OnDeliver,
            m5,
            Some(req.payload),
            |a| {
                publish_args(a, req);
                // VerneMQ's on_deliver/7 has properties for 3.x sessions too (empty).
                a.entry("properties")
                    .or_insert_with(|| Value::Object(Map::new()));
            },
            parse_deliver,
        )
    }

    fn on_register(&self, event: &RegisterEvent<'_>) {
        self.notify(
            HookName::OnRegister,
            event.properties.is_some(),
            None,
            |a| {
                peer_args(a, event.peer);
                json::subscriber(a, event.subscriber_id);
                json::username(a, event.username);
                if let Some(p) = event.properties {
                    a.insert("properties".into(), json::connect_props(p));
                }
            },
        );
    }

    fn on_publish(&self, req: &PublishRequest<'_>) {
        self.notify(
            HookName::OnPublish,
            req.properties.is_some(),
            Some(req.payload),
            |a| {
                publish_args(a, req);
            },
        );
    }

    fn on_subscribe(&self, req: &SubscribeRequest<'_>) {
        let m5 = req.properties.is_some();
        self.notify(HookName::OnSubscribe, m5, None, |a| {
            subscribe_args(a, req, m5)
        });
    }

    fn on_offline_message(&self, msg: &OfflineMessage<'_>) {
        self.notify(HookName::OnOfflineMessage, false, Some(msg.payload), |a| {
            json::subscriber(a, msg.subscriber_id);
            a.insert("qos".into(), Value::from(msg.qos as u8));
            a.insert("topic".into(), Value::from(msg.topic));
            a.insert("retain".into(), Value::from(msg.retain));
        });
    }

    fn on_client_wakeup(&self, id: &SubscriberId) {
        self.notify(HookName::OnClientWakeup, false, None, |a| {
            json::subscriber(a, id)
        });
    }

    fn on_client_offline(&self, id: &SubscriberId) {
        self.notify(HookName::OnClientOffline, false, None, |a| {
            json::subscriber(a, id)
        });
    }

    fn on_client_gone(&self, id: &SubscriberId) {
        self.notify(HookName::OnClientGone, false, None, |a| {
            json::subscriber(a, id)
        });
    }

    fn on_session_expired(&self, id: &SubscriberId) {
        self.notify(HookName::OnSessionExpired, false, None, |a| {
            json::subscriber(a, id);
        });
    }
}

fn subscribe_args(a: &mut Args, req: &SubscribeRequest<'_>, m5: bool) {
    json::username(a, req.username);
    json::subscriber(a, req.subscriber_id);
    a.insert("topics".into(), json::sub_topics(req.topics, m5));
    if let Some(p) = req.properties {
        a.insert("properties".into(), json::subscribe_props(p));
    }
}

impl vmq_http::AdminCommands for Webhooks {
    fn execute(
        &self,
        command: &vmq_http::Command,
    ) -> Option<Result<vmq_http::CommandOutput, vmq_http::Error>> {
        (command.path.first().map(String::as_str) == Some("webhooks")).then(|| self.admin(command))
    }
}
