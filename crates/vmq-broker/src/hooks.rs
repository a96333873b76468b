//! The hooks the broker calls at the points VerneMQ's plugins hook into (`auth_on_register`,
//! `auth_on_publish`, `auth_on_subscribe` and the `on_*` notifications), and the chain that
//! asks every registered plugin in order.
//!
//! Chain semantics follow VerneMQ: for the `auth_*` hooks the first plugin that answers `Ok` or
//! `Error` decides; `Next` asks the next plugin; when no plugin decides the request is refused.
//! With `allow_anonymous = on` the auth hooks are not called at all.

use std::sync::Arc;

use bytes::Bytes;
use vmq_codec::{QoS, ReasonCode, Utf8Str};

use crate::SubscriberId;

/// A plugin's answer to an `auth_*` hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookResult<M = ()> {
    /// Allowed (optionally with modifiers).
    Ok(M),
    /// This plugin has no opinion; ask the next one.
    Next,
    /// Refused, with the reason code to send.
    Error(ReasonCode),
}

/// What `auth_on_register` sees.
#[derive(Debug, Clone)]
pub struct RegisterRequest<'a> {
    /// Peer address.
    pub peer: std::net::SocketAddr,
    /// Mountpoint and client id.
    pub subscriber_id: &'a SubscriberId,
    /// User name, if sent.
    pub username: Option<&'a Utf8Str>,
    /// Password, if sent.
    pub password: Option<&'a Bytes>,
    /// Clean session / clean start.
    pub clean_start: bool,
}

/// What `auth_on_publish` sees.
#[derive(Debug, Clone)]
pub struct PublishRequest<'a> {
    /// User name of the publisher.
    pub username: Option<&'a Utf8Str>,
    /// Publisher.
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

/// What `auth_on_subscribe` sees for one filter.
#[derive(Debug, Clone)]
pub struct SubscribeRequest<'a> {
    /// User name of the subscriber.
    pub username: Option<&'a Utf8Str>,
    /// Subscriber.
    pub subscriber_id: &'a SubscriberId,
    /// The topic filter as sent (with `$share/<group>/` when shared).
    pub filter: &'a str,
    /// Requested QoS.
    pub qos: QoS,
}

/// A plugin: implement the hooks you need; the defaults answer `Next` and ignore notifications.
pub trait Plugin: Send + Sync + 'static {
    /// The plugin's name (`vmq_passwd`, `vmq_acl`, ...).
    fn name(&self) -> &str;

    /// `auth_on_register(_m5)`.
    fn auth_on_register(&self, _req: &RegisterRequest<'_>) -> HookResult {
        HookResult::Next
    }

    /// `auth_on_publish(_m5)`.
    fn auth_on_publish(&self, _req: &PublishRequest<'_>) -> HookResult {
        HookResult::Next
    }

    /// `auth_on_subscribe(_m5)`; `Ok(Some(qos))` may lower the granted QoS.
    fn auth_on_subscribe(&self, _req: &SubscribeRequest<'_>) -> HookResult<Option<QoS>> {
        HookResult::Next
    }

    /// `on_register(_m5)`: the client is connected.
    fn on_register(&self, _subscriber_id: &SubscriberId, _username: Option<&Utf8Str>) {}

    /// `on_client_offline`: a persistent session's client went away.
    fn on_client_offline(&self, _subscriber_id: &SubscriberId) {}

    /// `on_client_gone`: a non-persistent session's client went away.
    fn on_client_gone(&self, _subscriber_id: &SubscriberId) {}
}

/// The registered plugins, asked in registration order.
#[derive(Clone, Default)]
pub struct Hooks {
    plugins: Vec<Arc<dyn Plugin>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.plugins.iter().map(|p| p.name().to_owned()))
            .finish()
    }
}

impl Hooks {
    /// Adds a plugin at the end of every chain.
    pub fn add(&mut self, plugin: Arc<dyn Plugin>) {
        self.plugins.push(plugin);
    }

    /// Names of the registered plugins.
    pub fn names(&self) -> Vec<String> {
        self.plugins.iter().map(|p| p.name().to_owned()).collect()
    }

    fn chain<M>(
        &self,
        f: impl Fn(&dyn Plugin) -> HookResult<M>,
        refusal: ReasonCode,
    ) -> Result<M, ReasonCode> {
        for plugin in &self.plugins {
            match f(plugin.as_ref()) {
                HookResult::Ok(m) => return Ok(m),
                HookResult::Error(code) => return Err(code),
                HookResult::Next => {}
            }
        }
        Err(refusal)
    }

    /// Runs the `auth_on_register` chain.
    pub fn auth_on_register(&self, req: &RegisterRequest<'_>) -> Result<(), ReasonCode> {
        self.chain(|p| p.auth_on_register(req), ReasonCode::NotAuthorized)
    }

    /// Runs the `auth_on_publish` chain.
    pub fn auth_on_publish(&self, req: &PublishRequest<'_>) -> Result<(), ReasonCode> {
        self.chain(|p| p.auth_on_publish(req), ReasonCode::NotAuthorized)
    }

    /// Runs the `auth_on_subscribe` chain for one filter.
    pub fn auth_on_subscribe(&self, req: &SubscribeRequest<'_>) -> Result<Option<QoS>, ReasonCode> {
        self.chain(|p| p.auth_on_subscribe(req), ReasonCode::NotAuthorized)
    }

    /// Calls `on_register` on every plugin.
    pub fn on_register(&self, id: &SubscriberId, username: Option<&Utf8Str>) {
        self.plugins
            .iter()
            .for_each(|p| p.on_register(id, username));
    }

    /// Calls `on_client_offline` on every plugin.
    pub fn on_client_offline(&self, id: &SubscriberId) {
        self.plugins.iter().for_each(|p| p.on_client_offline(id));
    }

    /// Calls `on_client_gone` on every plugin.
    pub fn on_client_gone(&self, id: &SubscriberId) {
        self.plugins.iter().for_each(|p| p.on_client_gone(id));
    }
}
