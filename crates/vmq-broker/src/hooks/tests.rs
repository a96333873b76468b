//! Unit tests of the chain semantics: conditional chains (first ok / error decides, next goes
//! on, nobody answering refuses), pending answers, all-plugins notifications, only-one hooks,
//! and enabling / disabling at runtime.

#![allow(clippy::unwrap_used)]

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use super::*;

struct Fixed {
    name: &'static str,
    answer: HookResult<()>,
    pending: bool,
    asked: AtomicUsize,
    told: AtomicUsize,
}

fn fixed(name: &'static str, answer: HookResult<()>, pending: bool) -> Arc<Fixed> {
    Arc::new(Fixed {
        name,
        answer,
        pending,
        asked: AtomicUsize::new(0),
        told: AtomicUsize::new(0),
    })
}

impl Plugin for Fixed {
    fn name(&self) -> &str {
        self.name
    }

    fn auth_on_publish(&self, _req: &PublishRequest<'_>) -> Answer<HookResult<PublishModifiers>> {
        self.asked.fetch_add(1, Ordering::Relaxed);
        let result = match &self.answer {
            HookResult::Ok(()) => HookResult::Ok(PublishModifiers {
                topic: Some(Utf8Str::from(self.name)),
                ..PublishModifiers::default()
            }),
            HookResult::Next => HookResult::Next,
            HookResult::Error(c) => HookResult::Error(*c),
        };
        if self.pending {
            Answer::Pending(Box::pin(async move {
                tokio::task::yield_now().await;
                result
            }))
        } else {
            Answer::Ready(result)
        }
    }

    fn on_client_gone(&self, _id: &SubscriberId) {
        self.told.fetch_add(1, Ordering::Relaxed);
    }

    fn claims(&self, hook: &str) -> bool {
        hook == "msg_store_write" && self.name == "store"
    }
}

fn id() -> SubscriberId {
    SubscriberId {
        mountpoint: Arc::from(""),
        client_id: Arc::from("c"),
    }
}

/// A QoS 0 publish to `t` with an empty payload, as the publish hooks see it.
fn request<'a>(id: &'a SubscriberId, payload: &'a Bytes) -> PublishRequest<'a> {
    PublishRequest {
        username: None,
        subscriber_id: id,
        qos: QoS::AtMostOnce,
        topic: "t",
        payload,
        retain: false,
        properties: None,
    }
}

async fn publish(hooks: &Hooks) -> Result<PublishModifiers, ReasonCode> {
    let (id, payload) = (id(), Bytes::new());
    hooks.chain().auth_on_publish(&request(&id, &payload)).await
}

#[tokio::test]
async fn nobody_answering_refuses() {
    let hooks = Hooks::default();
    assert_eq!(publish(&hooks).await, Err(ReasonCode::NotAuthorized));
    hooks.add(fixed("a", HookResult::Next, false));
    assert_eq!(publish(&hooks).await, Err(ReasonCode::NotAuthorized));
}

#[tokio::test]
async fn first_ok_or_error_decides_and_next_goes_on() {
    let hooks = Hooks::default();
    let a = fixed("a", HookResult::Next, false);
    let b = fixed("b", HookResult::Ok(()), true);
    let c = fixed("c", HookResult::Error(ReasonCode::Banned), false);
    hooks.add(a.clone());
    hooks.add(b.clone());
    hooks.add(c.clone());
    let m = publish(&hooks).await.unwrap();
    assert_eq!(
        m.topic.unwrap().as_str(),
        "b",
        "b's modifiers, after its pending answer"
    );
    assert_eq!(
        c.asked.load(Ordering::Relaxed),
        0,
        "c is not asked after b decided"
    );

    assert!(hooks.disable("b").unwrap());
    assert!(!hooks.disable("b").unwrap());
    assert_eq!(publish(&hooks).await, Err(ReasonCode::Banned));
    assert_eq!(a.asked.load(Ordering::Relaxed), 2);
    assert_eq!(hooks.names(), ["a", "c"]);
    assert!(hooks.enable("b").unwrap());
    assert_eq!(hooks.names(), ["a", "b", "c"], "registration order is kept");
    assert!(matches!(
        hooks.enable("zzz"),
        Err(BrokerError::UnknownPlugin(_))
    ));
}

#[tokio::test]
async fn a_chain_runs_without_waiting_until_a_plugin_answers_later() {
    let hooks = Hooks::default();
    let a = fixed("a", HookResult::Next, false);
    let b = fixed("b", HookResult::Next, true);
    let c = fixed("c", HookResult::Ok(()), false);
    hooks.add(a.clone());
    let (id, payload) = (id(), Bytes::new());
    let req = request(&id, &payload);
    // Ready plugins only: decided at once (nobody deciding refuses).
    assert!(matches!(
        hooks.chain().auth_on_publish_now(&req),
        Now::Ready(Err(ReasonCode::NotAuthorized))
    ));
    hooks.add(b.clone());
    hooks.add(c.clone());
    let chain = hooks.chain();
    let Now::Waiting(pending) = chain.auth_on_publish_now(&req) else {
        panic!("b answers later");
    };
    assert_eq!(c.asked.load(Ordering::Relaxed), 0, "c waits for b's answer");
    // b's later answer is Next: the chain goes on with c, which decides.
    let m = chain.auth_on_publish_finish(pending, &req).await.unwrap();
    assert_eq!(m.topic.unwrap().as_str(), "c");
    assert_eq!(
        (
            a.asked.load(Ordering::Relaxed),
            b.asked.load(Ordering::Relaxed),
            c.asked.load(Ordering::Relaxed)
        ),
        (2, 1, 1),
        "each plugin asked once per run"
    );
}

#[tokio::test]
async fn notifications_reach_every_enabled_plugin() {
    let hooks = Hooks::default();
    let a = fixed("a", HookResult::Ok(()), false);
    let b = fixed("b", HookResult::Next, false);
    hooks.add(a.clone());
    hooks.add(b.clone());
    hooks.on_client_gone(&id());
    hooks.disable("a").unwrap();
    hooks.on_client_gone(&id());
    assert_eq!(a.told.load(Ordering::Relaxed), 1);
    assert_eq!(b.told.load(Ordering::Relaxed), 2);
}

#[test]
fn only_one_and_snapshots() {
    let hooks = Hooks::default();
    hooks.add(fixed("a", HookResult::Next, false));
    hooks.add(fixed("store", HookResult::Next, false));
    assert_eq!(hooks.only("msg_store_write").unwrap().name(), "store");
    assert!(hooks.only("metadata_put").is_none());

    let mut snapshot = hooks.chain();
    let generation = snapshot.generation();
    hooks.refresh(&mut snapshot);
    assert_eq!(
        snapshot.generation(),
        generation,
        "unchanged registry, same snapshot"
    );
    hooks.disable("store").unwrap();
    hooks.refresh(&mut snapshot);
    assert_ne!(snapshot.generation(), generation);
    assert!(hooks.only("msg_store_write").is_none());
    assert_eq!(
        hooks.plugins(),
        [
            PluginInfo {
                name: "a".into(),
                enabled: true
            },
            PluginInfo {
                name: "store".into(),
                enabled: false
            }
        ]
    );
}

#[test]
fn hook_names_as_vernemq_spells_them() {
    assert_eq!(
        HookName::AuthOnPublish.for_version(true),
        "auth_on_publish_m5"
    );
    assert_eq!(HookName::OnClientGone.for_version(true), "on_client_gone");
    assert_eq!(
        HookName::parse("on_deliver_m5"),
        Some((HookName::OnDeliver, true))
    );
    assert_eq!(
        HookName::parse("on_auth_m5"),
        Some((HookName::OnAuth, true))
    );
    assert_eq!(
        HookName::parse("on_session_expired"),
        Some((HookName::OnSessionExpired, false))
    );
    assert_eq!(HookName::parse("nope"), None);
}
