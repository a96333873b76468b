//! The crate's one error type: why a topic name, a topic filter or a shared-subscription
//! filter was refused.

use thiserror::Error;

/// Why the router refused a topic name or a topic filter.
///
/// Every variant is the client's fault (it sent a malformed topic or filter); the broker maps
/// them to "Topic Name invalid" (0x90) for PUBLISH and "Topic Filter invalid" (0x8F) for
/// SUBSCRIBE / UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RouterError {
    /// The topic name or filter is the empty string.
    #[error("topic or filter is empty")]
    Empty,
    /// Longer than the 65 535 bytes an MQTT UTF-8 string can hold.
    #[error("topic or filter is longer than 65535 bytes")]
    TooLong,
    /// Contains U+0000, which MQTT forbids in topic names and filters.
    #[error("topic or filter contains a NUL character")]
    NulCharacter,
    /// A topic name (PUBLISH, retained message) contains `+` or `#`.
    #[error("topic name contains a wildcard")]
    WildcardInTopicName,
    /// A filter uses `+` or `#` in a level together with other characters, or `#` is not the
    /// last level.
    #[error("misplaced wildcard in topic filter")]
    MisplacedWildcard,
    /// More levels than the configured maximum (VerneMQ's `topic_max_depth`).
    #[error("topic has {levels} levels, more than the maximum of {max}")]
    TooDeep {
        /// Levels found.
        levels: usize,
        /// Configured maximum.
        max: usize,
    },
    /// `$share//filter`: the share name is empty.
    #[error("shared subscription has an empty share name")]
    EmptyShareName,
    /// The share name contains `+` or `#`.
    #[error("shared subscription share name contains a wildcard")]
    WildcardInShareName,
    /// `$share/name` or `$share/name/`: no topic filter after the share name.
    #[error("shared subscription has no topic filter")]
    MissingSharedFilter,
}
