//! Shared test helpers: a small message type and queue constructors.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use vmq_queue::{
    DeliverMode, Limit, QoS, Queue, QueueAction, QueueConfig, QueueMessage, QueueType,
};

/// A test message: an id, a delivery QoS and an optional expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub id: u32,
    pub qos: QoS,
    pub exp: Option<Instant>,
}

impl QueueMessage for Msg {
    fn qos(&self) -> QoS {
        self.qos
    }
    fn expires_at(&self) -> Option<Instant> {
        self.exp
    }
}

pub fn m(id: u32) -> Msg {
    Msg {
        id,
        qos: QoS::AtLeastOnce,
        exp: None,
    }
}

pub fn m0(id: u32) -> Msg {
    Msg {
        id,
        qos: QoS::AtMostOnce,
        exp: None,
    }
}

pub fn mexp(id: u32, at: Instant) -> Msg {
    Msg {
        id,
        qos: QoS::AtLeastOnce,
        exp: Some(at),
    }
}

pub fn cfg(online: i64, offline: i64, ty: QueueType, mode: DeliverMode) -> QueueConfig {
    QueueConfig {
        max_online_messages: Limit::from_conf(online),
        max_offline_messages: Limit::from_conf(offline),
        queue_type: ty,
        deliver_mode: mode,
        allow_multiple_sessions: true,
        override_max_online_messages: false,
        persistent: true,
    }
}

pub fn ids(v: &[Msg]) -> Vec<u32> {
    v.iter().map(|m| m.id).collect()
}

pub fn actions(q: &mut Queue<u32, Msg>) -> Vec<(char, u32)> {
    let mut out = Vec::new();
    while let Some(a) = q.poll_action() {
        out.push(match a {
            QueueAction::Persist(m) => ('P', m.id),
            QueueAction::Delete(m) => ('D', m.id),
        });
    }
    out
}

pub fn take_all_of(q: &mut Queue<u32, Msg>, s: u32, now: Instant) -> Vec<u32> {
    let mut out = Vec::new();
    q.take(&s, usize::MAX, now, &mut out).expect("attached");
    ids(&out)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
