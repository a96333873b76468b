//! MQTT 5 topic aliases in both directions: the client's aliases (resolved on incoming PUBLISH)
//! and the broker's (assigned on outgoing PUBLISH, up to the client's Topic Alias Maximum).

use std::collections::HashMap;

use vmq_codec::{ReasonCode, Utf8Str};

/// Aliases the client set up towards the broker.
#[derive(Debug, Default)]
pub struct AliasesIn {
    max: u16,
    // Boxed and created on first use: a session that never uses aliases pays one pointer
    // instead of a 48-byte table header (memory per idle connection).
    #[allow(clippy::box_collection)]
    map: Option<Box<HashMap<u16, Utf8Str>>>,
}

impl AliasesIn {
    /// Accept aliases 1..=max (0 disables aliases).
    pub fn new(max: u16) -> Self {
        AliasesIn { max, map: None }
    }

    /// Resolves a PUBLISH that carries `alias`: a non-empty topic (re)defines the alias, an
    /// empty one uses it. Errors are the reason code for DISCONNECT.
    pub fn resolve(&mut self, alias: u16, topic: &Utf8Str) -> Result<Utf8Str, ReasonCode> {
        // MQTT-3.3.2-8 / 3.3.2-9: 0 and values above the announced maximum are invalid.
        if alias == 0 || alias > self.max {
            return Err(ReasonCode::TopicAliasInvalid);
        }
        if topic.is_empty() {
            self.map
                .as_ref()
                .and_then(|map| map.get(&alias).cloned())
                .ok_or(ReasonCode::ProtocolError)
        } else {
            self.map
                .get_or_insert_default()
                .insert(alias, topic.clone());
            Ok(topic.clone())
        }
    }
}

/// Aliases the broker uses towards the client.
#[derive(Debug, Default)]
pub struct AliasesOut {
    max: u16,
    // Boxed and created on first use, as for `AliasesIn`.
    #[allow(clippy::box_collection)]
    map: Option<Box<HashMap<Utf8Str, u16>>>,
}

impl AliasesOut {
    /// Use aliases 1..=max (0 disables aliases).
    pub fn new(max: u16) -> Self {
        AliasesOut { max, map: None }
    }

    /// The alias for `topic`: `Some((alias, true))` when the client already knows it (send an
    /// empty topic), `Some((alias, false))` when it is assigned now (send topic and alias), `None`
    /// when aliases are off or all are taken.
    pub fn lookup_or_assign(&mut self, topic: &Utf8Str) -> Option<(u16, bool)> {
        if self.max == 0 {
            return None;
        }
        let map = self.map.get_or_insert_default();
        if let Some(alias) = map.get(topic) {
            return Some((*alias, true));
        }
        let next = u16::try_from(map.len()).ok()?.checked_add(1)?;
        if next > self.max {
            return None;
        }
        map.insert(topic.clone(), next);
        Some((next, false))
    }
}
