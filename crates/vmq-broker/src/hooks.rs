//! The plugin hooks of VerneMQ's plugin development guide, the [`Plugin`] trait that implements
//! them, and the registry ([`Hooks`]) that runs their chains.
//!
//! Where the types live: here, in `vmq-broker`, not in `vmq-auth`. The requests borrow broker
//! and codec values ([`SubscriberId`], MQTT 5 property sets, the publish payload as `Bytes`) and
//! the answers may be futures; `vmq-auth` stays the sans-I/O home of the file formats. A
//! third-party plugin depends on `vmq-broker` (as `vmq-webhooks` does).
//!
//! Every hook pair `x` / `x_m5` is one method: the `_m5` variant is the same call with
//! `properties: Some(..)` (an MQTT 5 session); a plugin that needs the VerneMQ name asks
//! [`HookName::for_version`].
//!
//! Chain kinds, as in VerneMQ:
//! - conditional (`auth_on_register`, `auth_on_publish`, `auth_on_subscribe`, `on_auth_m5`): the
//!   first plugin answering [`HookResult::Ok`] (with modifiers) or [`HookResult::Error`] decides;
//!   [`HookResult::Next`] asks the next plugin; when no plugin decides, the request is refused.
//!   With `allow_anonymous = on` the broker does not call the `auth_on_*` chains.
//! - conditional without a verdict (`on_unsubscribe`, `on_deliver`): the first `Ok` may rewrite;
//!   otherwise (next, error, nobody) the request goes on unchanged.
//! - all plugins (`on_register`, `on_publish`, `on_subscribe`, `on_offline_message`,
//!   `on_client_wakeup`, `on_client_offline`, `on_client_gone`, `on_session_expired`):
//!   notifications, every enabled plugin is told, nothing is awaited.
//! - only one: [`Hooks::only`] gives the first enabled plugin that claims a hook (VerneMQ uses
//!   these for pluggable stores; none of the hooks above is one).
//!
//! Cost: a hook that answers at once returns [`Answer::Ready`], which is neither boxed nor
//! spawned; only a plugin that must wait (an HTTP call) returns a boxed [`Answer::Pending`]. A
//! connection keeps a [`Chain`] snapshot and refreshes it only when the registry's generation
//! changed (one relaxed atomic load per call), so enabling and disabling plugins at runtime
//! never puts a shared lock on the publish path.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use parking_lot::RwLock;
use vmq_codec::{
    AuthProperties, ConnectProperties, PublishProperties, QoS, ReasonCode, SubscribeProperties,
    SubscriptionOptions, UnsubscribeProperties, UserProperty, Utf8Str,
};

use crate::{BrokerError, SubscriberId};

/// A boxed hook answer that is still being computed (e.g. an HTTP call).
pub type HookFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A plugin's answer: ready now (no allocation), or a future the connection awaits.
pub enum Answer<T> {
    /// The answer.
    Ready(T),
    /// The answer, later.
    Pending(HookFuture<T>),
}

impl<T> Answer<T> {
    /// Waits for the answer.
    pub async fn resolve(self) -> T {
        match self {
            Answer::Ready(v) => v,
            Answer::Pending(f) => f.await,
        }
    }
}

impl<T> From<T> for Answer<T> {
    fn from(v: T) -> Self {
        Answer::Ready(v)
    }
}

impl<T> std::fmt::Debug for Answer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Ready(_) => "Answer::Ready",
            Answer::Pending(_) => "Answer::Pending",
        })
    }
}

/// A plugin's verdict in a conditional chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult<M = ()> {
    /// Allowed, with modifiers (`M::default()` for none).
    Ok(M),
    /// This plugin has no opinion; ask the next one.
    Next,
    /// Refused, with the reason code to send.
    Error(ReasonCode),
}

/// The hooks, by VerneMQ's names (without the `_m5` suffix; see [`HookName::for_version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HookName {
    /// `auth_on_register`.
    AuthOnRegister,
    /// `auth_on_publish`.
    AuthOnPublish,
    /// `auth_on_subscribe`.
    AuthOnSubscribe,
    /// `on_auth_m5` (MQTT 5 only).
    OnAuth,
    /// `on_register`.
    OnRegister,
    /// `on_publish`.
    OnPublish,
    /// `on_subscribe`.
    OnSubscribe,
    /// `on_unsubscribe`.
    OnUnsubscribe,
    /// `on_deliver`.
    OnDeliver,
    /// `on_offline_message`.
    OnOfflineMessage,
    /// `on_client_wakeup`.
    OnClientWakeup,
    /// `on_client_offline`.
    OnClientOffline,
    /// `on_client_gone`.
    OnClientGone,
    /// `on_session_expired`.
    OnSessionExpired,
}

impl HookName {
    /// Every hook.
    pub const ALL: [HookName; 14] = [
        HookName::AuthOnRegister,
        HookName::AuthOnPublish,
        HookName::AuthOnSubscribe,
        HookName::OnAuth,
        HookName::OnRegister,
        HookName::OnPublish,
        HookName::OnSubscribe,
        HookName::OnUnsubscribe,
        HookName::OnDeliver,
        HookName::OnOfflineMessage,
        HookName::OnClientWakeup,
        HookName::OnClientOffline,
        HookName::OnClientGone,
        HookName::OnSessionExpired,
    ];

    /// The 3.x name (`on_auth_m5` has only its MQTT 5 name).
    pub fn as_str(self) -> &'static str {
        match self {
            HookName::AuthOnRegister => "auth_on_register",
            HookName::AuthOnPublish => "auth_on_publish",
            HookName::AuthOnSubscribe => "auth_on_subscribe",
            HookName::OnAuth => "on_auth_m5",
            HookName::OnRegister => "on_register",
            HookName::OnPublish => "on_publish",
            HookName::OnSubscribe => "on_subscribe",
            HookName::OnUnsubscribe => "on_unsubscribe",
            HookName::OnDeliver => "on_deliver",
            HookName::OnOfflineMessage => "on_offline_message",
            HookName::OnClientWakeup => "on_client_wakeup",
            HookName::OnClientOffline => "on_client_offline",
            HookName::OnClientGone => "on_client_gone",
            HookName::OnSessionExpired => "on_session_expired",
        }
    }

    /// The `_m5` name, for the hooks that have one.
    pub fn m5_str(self) -> Option<&'static str> {
        Some(match self {
            HookName::AuthOnRegister => "auth_on_register_m5",
            HookName::AuthOnPublish => "auth_on_publish_m5",
            HookName::AuthOnSubscribe => "auth_on_subscribe_m5",
            HookName::OnAuth => "on_auth_m5",
            HookName::OnRegister => "on_register_m5",
            HookName::OnPublish => "on_publish_m5",
            HookName::OnSubscribe => "on_subscribe_m5",
            HookName::OnUnsubscribe => "on_unsubscribe_m5",
            HookName::OnDeliver => "on_deliver_m5",
            _ => return None,
        })
    }

    /// The VerneMQ name used for a session of protocol `m5` (true: MQTT 5).
    pub fn for_version(self, m5: bool) -> &'static str {
        match (m5, self.m5_str()) {
            (true, Some(name)) => name,
            _ => self.as_str(),
        }
    }

    /// Parses a VerneMQ hook name (`auth_on_publish_m5` → (`AuthOnPublish`, true)).
    pub fn parse(name: &str) -> Option<(HookName, bool)> {
        HookName::ALL.into_iter().find_map(|h| {
            if h.m5_str() == Some(name) {
                Some((h, true))
            } else if h.as_str() == name {
                Some((h, false))
            } else {
                None
            }
        })
    }
}

impl std::fmt::Display for HookName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------- requests

/// What `auth_on_register(_m5)` sees.
#[derive(Debug, Clone)]
pub struct RegisterRequest<'a> {
    /// Peer address.
    pub peer: SocketAddr,
    /// Mountpoint and client id.
    pub subscriber_id: &'a SubscriberId,
    /// User name, if sent.
    pub username: Option<&'a Utf8Str>,
    /// Password, if sent. Never log it.
    pub password: Option<&'a Bytes>,
    /// Clean session / clean start.
    pub clean_start: bool,
    /// MQTT 5: the CONNECT properties (`auth_on_register_m5`); `None` for 3.x.
    pub properties: Option<&'a ConnectProperties>,
}

/// What `auth_on_register` may change (VerneMQ's `reg_modifiers` that apply to this broker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterModifiers {
    /// New mountpoint and client id (VerneMQ's `subscriber_id`: both or neither).
    pub subscriber_id: Option<SubscriberId>,
    /// New user name for the later hooks.
    pub username: Option<Utf8Str>,
    /// Clean session / clean start.
    pub clean_session: Option<bool>,
    /// Largest packet accepted from this client (bytes; 0: no limit).
    pub max_message_size: Option<u32>,
    /// Incoming publishes per second (0: no limit).
    pub max_message_rate: Option<u32>,
    /// Outgoing QoS 1/2 messages in flight (0: no limit).
    pub max_inflight_messages: Option<u16>,
    /// MQTT 3.x resend delay.
    pub retry_interval: Option<Duration>,
    /// Deliver at the subscription's QoS (`upgrade_outgoing_qos`).
    pub upgrade_qos: Option<bool>,
    /// MQTT 5: session expiry interval (seconds).
    pub session_expiry_interval: Option<u32>,
    /// MQTT 5: user properties added to CONNACK.
    pub user_properties: Option<Vec<UserProperty>>,
}

/// What `auth_on_publish(_m5)`, `on_publish(_m5)` and `on_deliver(_m5)` see.
#[derive(Debug, Clone)]
pub struct PublishRequest<'a> {
    /// User name of the publisher (for `on_deliver`: of the receiving subscriber).
    pub username: Option<&'a Utf8Str>,
    /// Publisher (for `on_deliver`: the receiving subscriber).
    pub subscriber_id: &'a SubscriberId,
    /// QoS.
    pub qos: QoS,
    /// Topic.
    pub topic: &'a str,
    /// Payload.
    pub payload: &'a Bytes,
    /// Retain flag.
    pub retain: bool,
    /// MQTT 5 properties (`_m5` variants); `None` for 3.x.
    pub properties: Option<&'a PublishProperties>,
}

/// Property changes a plugin may make to a message (`auth_on_publish_m5`, `on_deliver_m5`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyModifiers {
    /// Replaces the user properties.
    pub user_properties: Option<Vec<UserProperty>>,
    /// Message expiry interval (seconds).
    pub message_expiry_interval: Option<u32>,
    /// Content type.
    pub content_type: Option<Utf8Str>,
    /// Payload format indicator (0 unspecified, 1 UTF-8).
    pub payload_format_indicator: Option<u8>,
    /// Response topic.
    pub response_topic: Option<Utf8Str>,
    /// Correlation data.
    pub correlation_data: Option<Bytes>,
}

impl PropertyModifiers {
    /// True when nothing is changed.
    pub fn is_empty(&self) -> bool {
        *self == PropertyModifiers::default()
    }

    /// Applies the changes to `props`.
    pub fn apply(&self, props: &mut PublishProperties) {
        if let Some(v) = &self.user_properties {
            props.user_properties.clone_from(v);
        }
        if let Some(v) = self.message_expiry_interval {
            props.message_expiry_interval = Some(v);
        }
        if let Some(v) = &self.content_type {
            props.content_type = Some(v.clone());
        }
        if let Some(v) = self.payload_format_indicator {
            props.payload_format_indicator = Some(v);
        }
        if let Some(v) = &self.response_topic {
            props.response_topic = Some(v.clone());
        }
        if let Some(v) = &self.correlation_data {
            props.correlation_data = Some(v.clone());
        }
    }
}

/// What `auth_on_publish(_m5)` may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishModifiers {
    /// New topic.
    pub topic: Option<Utf8Str>,
    /// New payload.
    pub payload: Option<Bytes>,
    /// New QoS (of the routed message; the publisher's acknowledgement follows its own QoS).
    pub qos: Option<QoS>,
    /// New retain flag.
    pub retain: Option<bool>,
    /// Route in another mountpoint.
    pub mountpoint: Option<Arc<str>>,
    /// MQTT 5 property changes.
    pub properties: PropertyModifiers,
}

/// What `on_deliver(_m5)` may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliverModifiers {
    /// New topic.
    pub topic: Option<Utf8Str>,
    /// New payload.
    pub payload: Option<Bytes>,
    /// MQTT 5 property changes.
    pub properties: PropertyModifiers,
}

impl DeliverModifiers {
    /// True when nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.topic.is_none() && self.payload.is_none() && self.properties.is_empty()
    }
}

/// One topic of a SUBSCRIBE as the hooks see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeTopic {
    /// The topic filter (with `$share/<group>/` when shared).
    pub filter: Utf8Str,
    /// Granted options, or the refusal (VerneMQ's QoS 128 / 0x87 in a rewrite).
    pub grant: Result<SubscriptionOptions, ReasonCode>,
}

/// What `auth_on_subscribe(_m5)` and `on_subscribe(_m5)` see: all topics of one SUBSCRIBE.
#[derive(Debug, Clone)]
pub struct SubscribeRequest<'a> {
    /// User name of the subscriber.
    pub username: Option<&'a Utf8Str>,
    /// Subscriber.
    pub subscriber_id: &'a SubscriberId,
    /// The topics: as requested (`auth_on_subscribe`), as granted (`on_subscribe`).
    pub topics: &'a [SubscribeTopic],
    /// MQTT 5 properties; `None` for 3.x.
    pub properties: Option<&'a SubscribeProperties>,
}

/// What `on_unsubscribe(_m5)` sees.
#[derive(Debug, Clone)]
pub struct UnsubscribeRequest<'a> {
    /// User name of the subscriber.
    pub username: Option<&'a Utf8Str>,
    /// Subscriber.
    pub subscriber_id: &'a SubscriberId,
    /// Topic filters.
    pub topics: &'a [Utf8Str],
    /// MQTT 5 properties; `None` for 3.x.
    pub properties: Option<&'a UnsubscribeProperties>,
}

/// What `on_auth_m5` sees: one step of MQTT 5 enhanced authentication (at CONNECT, after an
/// AUTH packet, or a re-authentication).
#[derive(Debug, Clone)]
pub struct AuthRequest<'a> {
    /// User name from CONNECT.
    pub username: Option<&'a Utf8Str>,
    /// Client.
    pub subscriber_id: &'a SubscriberId,
    /// Authentication method, data (and reason string / user properties) from the client.
    pub properties: &'a AuthProperties,
}

/// A plugin's `on_auth_m5` success: go on (`ContinueAuthentication`) or done (`Success`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthModifiers {
    /// `Success` (0) or `ContinueAuthentication` (0x18).
    pub reason_code: AuthStep,
    /// Method and data to send back.
    pub properties: AuthProperties,
}

/// The two successful answers of `on_auth_m5`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthStep {
    /// Authenticated.
    #[default]
    Success,
    /// Another round: send AUTH (Continue authentication).
    Continue,
}

/// What `on_register(_m5)` sees.
#[derive(Debug, Clone)]
pub struct RegisterEvent<'a> {
    /// Peer address.
    pub peer: SocketAddr,
    /// Client.
    pub subscriber_id: &'a SubscriberId,
    /// User name.
    pub username: Option<&'a Utf8Str>,
    /// MQTT 5 CONNECT properties; `None` for 3.x.
    pub properties: Option<&'a ConnectProperties>,
}

/// What `on_offline_message` sees: a message queued for an offline client.
#[derive(Debug, Clone)]
pub struct OfflineMessage<'a> {
    /// The offline subscriber.
    pub subscriber_id: &'a SubscriberId,
    /// QoS.
    pub qos: QoS,
    /// Topic.
    pub topic: &'a str,
    /// Payload.
    pub payload: &'a Bytes,
    /// Retain flag.
    pub retain: bool,
}

// ---------------------------------------------------------------------------- the trait

/// A plugin: implement the hooks you need; the defaults answer `Next` and ignore notifications.
///
/// Methods are called from connection tasks and must not block; a plugin that waits for I/O
/// returns [`Answer::Pending`] from the conditional hooks and spawns its work for
/// notifications.
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's name (`vmq_passwd`, `vmq_acl`, `vmq_webhooks`, ...).
    fn name(&self) -> &str;

    /// `auth_on_register(_m5)`.
    fn auth_on_register(
        &self,
        _req: &RegisterRequest<'_>,
    ) -> Answer<HookResult<RegisterModifiers>> {
        Answer::Ready(HookResult::Next)
    }

    /// `auth_on_publish(_m5)`.
    fn auth_on_publish(&self, _req: &PublishRequest<'_>) -> Answer<HookResult<PublishModifiers>> {
        Answer::Ready(HookResult::Next)
    }

    /// `auth_on_subscribe(_m5)`: `Ok(Some(topics))` replaces the topic list (one entry per
    /// requested topic; a refused one carries its reason code).
    fn auth_on_subscribe(
        &self,
        _req: &SubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<SubscribeTopic>>>> {
        Answer::Ready(HookResult::Next)
    }

    /// `on_auth_m5`.
    fn on_auth(&self, _req: &AuthRequest<'_>) -> Answer<HookResult<AuthModifiers>> {
        Answer::Ready(HookResult::Next)
    }

    /// `on_unsubscribe(_m5)`: `Ok(Some(topics))` rewrites the topics to unsubscribe.
    fn on_unsubscribe(
        &self,
        _req: &UnsubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<Utf8Str>>>> {
        Answer::Ready(HookResult::Next)
    }

    /// `on_deliver(_m5)`: `Ok(modifiers)` may rewrite topic, payload (and MQTT 5 properties).
    fn on_deliver(&self, _req: &PublishRequest<'_>) -> Answer<HookResult<DeliverModifiers>> {
        Answer::Ready(HookResult::Next)
    }

    /// `on_register(_m5)`: the client is authenticated and registered.
    fn on_register(&self, _event: &RegisterEvent<'_>) {}

    /// `on_publish(_m5)`: an authorized publish.
    fn on_publish(&self, _req: &PublishRequest<'_>) {}

    /// `on_subscribe(_m5)`: an authorized subscribe, topics with what was granted.
    fn on_subscribe(&self, _req: &SubscribeRequest<'_>) {}

    /// `on_offline_message`: a message was queued for an offline client.
    fn on_offline_message(&self, _msg: &OfflineMessage<'_>) {}

    /// `on_client_wakeup`: the client is attached to its queue.
    fn on_client_wakeup(&self, _subscriber_id: &SubscriberId) {}

    /// `on_client_offline`: a persistent session's client went away.
    fn on_client_offline(&self, _subscriber_id: &SubscriberId) {}

    /// `on_client_gone`: a non-persistent session's client went away.
    fn on_client_gone(&self, _subscriber_id: &SubscriberId) {}

    /// `on_session_expired`: an offline persistent session expired.
    fn on_session_expired(&self, _subscriber_id: &SubscriberId) {}

    /// For [`Hooks::only`]: whether this plugin serves an only-one hook.
    fn claims(&self, _hook: &str) -> bool {
        false
    }
}

// ---------------------------------------------------------------------------- chains

/// An immutable snapshot of the enabled plugins, in chain order; cheap to keep per connection.
#[derive(Clone, Default)]
pub struct Chain {
    plugins: Arc<[Arc<dyn Plugin>]>,
    generation: u64,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.plugins.iter().map(|p| p.name().to_owned()))
            .finish()
    }
}

/// What one answer means for a conditional chain: decided, or ask the next plugin.
fn decision<T>(answer: HookResult<T>) -> Option<Result<T, ReasonCode>> {
    match answer {
        HookResult::Ok(m) => Some(Ok(m)),
        HookResult::Error(code) => Some(Err(code)),
        HookResult::Next => None,
    }
}

/// A conditional chain run as far as it goes without waiting: its outcome `R`, or a plugin's
/// answer (of type `HookResult<T>`) is still being computed.
pub enum Now<R, T> {
    /// The chain's outcome.
    Ready(R),
    /// Waiting for one plugin; the plugins after it are still to ask.
    Waiting(Pending<T>),
}

impl<R, T> Now<R, T> {
    /// The outcome turned into `S` by `f` when ready; still waiting otherwise.
    fn map<S>(self, f: impl FnOnce(R) -> S) -> Now<S, T> {
        match self {
            Now::Ready(outcome) => Now::Ready(f(outcome)),
            Now::Waiting(pending) => Now::Waiting(pending),
        }
    }
}

/// What a conditional chain decided: the first `Ok` / `Error`, `None` when nobody did.
type Decided<T> = Option<Result<T, ReasonCode>>;

/// A conditional chain stopped at a plugin whose answer is a future.
pub struct Pending<T> {
    answer: HookFuture<HookResult<T>>,
    next: usize,
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("next", &self.next).finish()
    }
}

/// Asks `plugins[from..]` in turn until one decides or answers later.
fn run_now<T>(
    plugins: &[Arc<dyn Plugin>],
    from: usize,
    ask: &mut impl FnMut(&dyn Plugin) -> Answer<HookResult<T>>,
) -> Now<Decided<T>, T> {
    for (i, plugin) in plugins.iter().enumerate().skip(from) {
        match ask(plugin.as_ref()) {
            Answer::Ready(answer) => {
                if let Some(decided) = decision(answer) {
                    return Now::Ready(Some(decided));
                }
            }
            Answer::Pending(answer) => {
                return Now::Waiting(Pending {
                    answer,
                    next: i + 1,
                })
            }
        }
    }
    Now::Ready(None)
}

/// Waits for a stopped chain's answer and asks the plugins after it.
async fn run_on<T>(
    plugins: &[Arc<dyn Plugin>],
    mut pending: Pending<T>,
    mut ask: impl FnMut(&dyn Plugin) -> Answer<HookResult<T>>,
) -> Decided<T> {
    loop {
        if let Some(decided) = decision(pending.answer.await) {
            return Some(decided);
        }
        match run_now(plugins, pending.next, &mut ask) {
            Now::Ready(decided) => return decided,
            Now::Waiting(next) => pending = next,
        }
    }
}

/// The modifiers an `on_deliver(_m5)` outcome asks for, if any.
fn deliver_modifiers(decided: Decided<DeliverModifiers>) -> Option<DeliverModifiers> {
    match decided {
        Some(Ok(m)) if !m.is_empty() => Some(m),
        _ => None,
    }
}

/// Runs a conditional chain to its end.
async fn run_all<T>(
    plugins: &[Arc<dyn Plugin>],
    mut ask: impl FnMut(&dyn Plugin) -> Answer<HookResult<T>>,
) -> Decided<T> {
    match run_now(plugins, 0, &mut ask) {
        Now::Ready(decided) => decided,
        Now::Waiting(pending) => run_on(plugins, pending, ask).await,
    }
}

impl Chain {
    /// The registry generation this snapshot was taken at.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// True when no plugin is enabled.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }

    /// Runs `auth_on_register(_m5)`; nobody deciding is `NotAuthorized`.
    pub async fn auth_on_register(
        &self,
        req: &RegisterRequest<'_>,
    ) -> Result<RegisterModifiers, ReasonCode> {
        run_all(&self.plugins, |p| p.auth_on_register(req))
            .await
            .unwrap_or(Err(ReasonCode::NotAuthorized))
    }

    /// Runs `auth_on_publish(_m5)`; nobody deciding is `NotAuthorized`.
    pub async fn auth_on_publish(
        &self,
        req: &PublishRequest<'_>,
    ) -> Result<PublishModifiers, ReasonCode> {
        run_all(&self.plugins, |p| p.auth_on_publish(req))
            .await
            .unwrap_or(Err(ReasonCode::NotAuthorized))
    }

    /// `auth_on_publish(_m5)` as far as it goes without waiting (plugins answer at once unless
    /// they call out, e.g. a webhook); nobody deciding is `NotAuthorized`.
    pub fn auth_on_publish_now(
        &self,
        req: &PublishRequest<'_>,
    ) -> Now<Result<PublishModifiers, ReasonCode>, PublishModifiers> {
        run_now(&self.plugins, 0, &mut |p| p.auth_on_publish(req))
            .map(|decided| decided.unwrap_or(Err(ReasonCode::NotAuthorized)))
    }

    /// The rest of an `auth_on_publish(_m5)` chain that had to wait; nobody deciding is
    /// `NotAuthorized`.
    pub async fn auth_on_publish_finish(
        &self,
        pending: Pending<PublishModifiers>,
        req: &PublishRequest<'_>,
    ) -> Result<PublishModifiers, ReasonCode> {
        run_on(&self.plugins, pending, |p| p.auth_on_publish(req))
            .await
            .unwrap_or(Err(ReasonCode::NotAuthorized))
    }

    /// Runs `auth_on_subscribe(_m5)`; nobody deciding is `NotAuthorized`.
    pub async fn auth_on_subscribe(
        &self,
        req: &SubscribeRequest<'_>,
    ) -> Result<Option<Vec<SubscribeTopic>>, ReasonCode> {
        run_all(&self.plugins, |p| p.auth_on_subscribe(req))
            .await
            .unwrap_or(Err(ReasonCode::NotAuthorized))
    }

    /// Runs `on_auth_m5`; nobody deciding is `BadAuthenticationMethod`.
    pub async fn on_auth(&self, req: &AuthRequest<'_>) -> Result<AuthModifiers, ReasonCode> {
        run_all(&self.plugins, |p| p.on_auth(req))
            .await
            .unwrap_or(Err(ReasonCode::BadAuthenticationMethod))
    }

    /// Runs `on_unsubscribe(_m5)`: the rewritten topics, or `None` to keep them.
    pub async fn on_unsubscribe(&self, req: &UnsubscribeRequest<'_>) -> Option<Vec<Utf8Str>> {
        match run_all(&self.plugins, |p| p.on_unsubscribe(req)).await {
            Some(Ok(rewritten)) => rewritten,
            _ => None,
        }
    }

    /// `on_deliver(_m5)` as far as it goes without waiting: the modifiers of the first plugin
    /// answering `Ok`, if any (a plugin may rewrite topic, payload and MQTT 5 properties).
    pub fn on_deliver_now(
        &self,
        req: &PublishRequest<'_>,
    ) -> Now<Option<DeliverModifiers>, DeliverModifiers> {
        run_now(&self.plugins, 0, &mut |p| p.on_deliver(req)).map(deliver_modifiers)
    }

    /// The rest of an `on_deliver(_m5)` chain that had to wait.
    pub async fn on_deliver_finish(
        &self,
        pending: Pending<DeliverModifiers>,
        req: &PublishRequest<'_>,
    ) -> Option<DeliverModifiers> {
        deliver_modifiers(run_on(&self.plugins, pending, |p| p.on_deliver(req)).await)
    }

    /// Tells every plugin (`on_register(_m5)`).
    pub fn on_register(&self, event: &RegisterEvent<'_>) {
        self.plugins.iter().for_each(|p| p.on_register(event));
    }

    /// Tells every plugin (`on_publish(_m5)`).
    pub fn on_publish(&self, req: &PublishRequest<'_>) {
        self.plugins.iter().for_each(|p| p.on_publish(req));
    }

    /// Tells every plugin (`on_subscribe(_m5)`).
    pub fn on_subscribe(&self, req: &SubscribeRequest<'_>) {
        self.plugins.iter().for_each(|p| p.on_subscribe(req));
    }

    /// Tells every plugin (`on_client_wakeup`).
    pub fn on_client_wakeup(&self, id: &SubscriberId) {
        self.plugins.iter().for_each(|p| p.on_client_wakeup(id));
    }
}

/// One registered plugin and whether it is enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The plugin's name.
    pub name: String,
    /// In the chains now.
    pub enabled: bool,
}

struct Registration {
    plugin: Arc<dyn Plugin>,
    enabled: bool,
}

/// The plugin registry: every registered plugin in registration order, which of them are
/// enabled, and the current [`Chain`].
#[derive(Default)]
pub struct Hooks {
    registered: RwLock<Vec<Registration>>,
    chain: RwLock<Chain>,
    generation: AtomicU64,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins()).finish()
    }
}

impl Hooks {
    /// Registers and enables a plugin at the end of every chain. A plugin whose name is
    /// already registered replaces it (in its place).
    pub fn add(&self, plugin: Arc<dyn Plugin>) {
        let mut registered = self.registered.write();
        match registered
            .iter_mut()
            .find(|r| r.plugin.name() == plugin.name())
        {
            Some(r) => {
                r.plugin = plugin;
                r.enabled = true;
            }
            None => registered.push(Registration {
                plugin,
                enabled: true,
            }),
        }
        self.rebuild(&registered);
    }

    /// Names of the enabled plugins, in chain order.
    pub fn names(&self) -> Vec<String> {
        self.chain
            .read()
            .plugins
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    /// Every registered plugin and its state (`vmq-admin plugin show`).
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.registered
            .read()
            .iter()
            .map(|r| PluginInfo {
                name: r.plugin.name().to_owned(),
                enabled: r.enabled,
            })
            .collect()
    }

    /// Enables a registered plugin (`vmq-admin plugin enable`); true if it was disabled.
    pub fn enable(&self, name: &str) -> Result<bool, BrokerError> {
        self.set_enabled(name, true)
    }

    /// Disables a plugin (`vmq-admin plugin disable`): it stays registered and is asked no
    /// more; true if it was enabled.
    pub fn disable(&self, name: &str) -> Result<bool, BrokerError> {
        self.set_enabled(name, false)
    }

    fn set_enabled(&self, name: &str, enabled: bool) -> Result<bool, BrokerError> {
        let mut registered = self.registered.write();
        let r = registered
            .iter_mut()
            .find(|r| r.plugin.name() == name)
            .ok_or_else(|| BrokerError::UnknownPlugin(name.to_owned()))?;
        let changed = r.enabled != enabled;
        r.enabled = enabled;
        if changed {
            self.rebuild(&registered);
        }
        Ok(changed)
    }

    /// A registered plugin by name (enabled or not).
    pub fn get(&self, name: &str) -> Option<Arc<dyn Plugin>> {
        self.registered
            .read()
            .iter()
            .find(|r| r.plugin.name() == name)
            .map(|r| r.plugin.clone())
    }

    fn rebuild(&self, registered: &[Registration]) {
        let mut chain = self.chain.write();
        let generation = self.generation.load(Ordering::Relaxed) + 1;
        *chain = Chain {
            plugins: registered
                .iter()
                .filter(|r| r.enabled)
                .map(|r| r.plugin.clone())
                .collect(),
            generation,
        };
        self.generation.store(generation, Ordering::Release);
    }

    /// The current generation; changes whenever the chain does.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// A snapshot of the current chain.
    pub fn chain(&self) -> Chain {
        self.chain.read().clone()
    }

    /// Refreshes a connection's snapshot if the registry changed since it was taken.
    pub fn refresh(&self, chain: &mut Chain) {
        if chain.generation != self.generation() {
            *chain = self.chain();
        }
    }

    /// The only-one hook: the first enabled plugin claiming `hook`.
    pub fn only(&self, hook: &str) -> Option<Arc<dyn Plugin>> {
        self.chain
            .read()
            .plugins
            .iter()
            .find(|p| p.claims(hook))
            .cloned()
    }

    /// Tells every enabled plugin (`on_offline_message`).
    pub fn on_offline_message(&self, msg: &OfflineMessage<'_>) {
        let chain = self.chain.read();
        chain.plugins.iter().for_each(|p| p.on_offline_message(msg));
    }

    /// True when no plugin is enabled (lets hot paths skip building requests).
    pub fn is_empty(&self) -> bool {
        self.chain.read().plugins.is_empty()
    }

    /// Tells every enabled plugin (`on_client_offline`).
    pub fn on_client_offline(&self, id: &SubscriberId) {
        let chain = self.chain.read();
        chain.plugins.iter().for_each(|p| p.on_client_offline(id));
    }

    /// Tells every enabled plugin (`on_client_gone`).
    pub fn on_client_gone(&self, id: &SubscriberId) {
        let chain = self.chain.read();
        chain.plugins.iter().for_each(|p| p.on_client_gone(id));
    }

    /// Tells every enabled plugin (`on_session_expired`).
    pub fn on_session_expired(&self, id: &SubscriberId) {
        let chain = self.chain.read();
        chain.plugins.iter().for_each(|p| p.on_session_expired(id));
    }
}

#[cfg(test)]
mod tests;
