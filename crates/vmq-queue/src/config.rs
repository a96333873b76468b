//! Queue configuration: VerneMQ's `max_online_messages`, `max_offline_messages`, `queue_type`,
//! `queue_deliver_mode`, `allow_multiple_sessions` and `override_max_online_messages`, plus the
//! clean-session flag that decides whether a queue outlives its last session.

/// A queue size limit as VerneMQ configures it: `-1` means unlimited, `0` means nothing is ever
/// held (every message is dropped and counted), `n > 0` holds at most `n` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `-1` (or any negative value) in `vernemq.conf`: no limit.
    Unlimited,
    /// At most this many messages; `Max(0)` drops everything.
    Max(usize),
}

impl Limit {
    /// Reads a `vernemq.conf` value: negative means unlimited.
    pub fn from_conf(v: i64) -> Limit {
        if v < 0 {
            Limit::Unlimited
        } else {
            Limit::Max(usize::try_from(v).unwrap_or(usize::MAX))
        }
    }

    /// True when `len` messages already fill the queue (VerneMQ: `Size >= Max`).
    pub(crate) fn is_full(self, len: usize) -> bool {
        match self {
            Limit::Unlimited => false,
            Limit::Max(m) => len >= m,
        }
    }
}

/// `queue_type`: which message is delivered first and which one is dropped when full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    /// Oldest first; when full the *incoming* message is dropped (VerneMQ's tail drop).
    #[default]
    Fifo,
    /// Newest first; when full the *oldest* queued message is dropped to make room.
    Lifo,
}

/// `queue_deliver_mode`: how messages are spread over several sessions of one client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeliverMode {
    /// Every attached session gets every message (VerneMQ's default).
    #[default]
    Fanout,
    /// Each message goes to exactly one attached session.
    Balance,
}

/// Everything a [`crate::Queue`] needs to know about its policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// `max_online_messages` (default 1000): per-session limit of messages queued above the
    /// inflight window while a session is attached.
    pub max_online_messages: Limit,
    /// `max_offline_messages` (default 1000): limit of QoS 1/2 messages held while no session
    /// is attached.
    pub max_offline_messages: Limit,
    /// `queue_type` (default fifo).
    pub queue_type: QueueType,
    /// `queue_deliver_mode` (default fanout).
    pub deliver_mode: DeliverMode,
    /// `allow_multiple_sessions` (default off): when off, attaching a session takes over
    /// (detaches) the sessions already attached.
    pub allow_multiple_sessions: bool,
    /// `override_max_online_messages` (default off): when a session attaches to an offline
    /// queue, move *all* offline messages to it, ignoring `max_online_messages` for that move.
    pub override_max_online_messages: bool,
    /// True for a persistent session (MQTT 3 `clean_session = false`, MQTT 5 session expiry
    /// above 0): the queue goes offline when its last session leaves and asks the store to persist
    /// offline QoS 1/2 messages. False: the queue terminates when its last session leaves.
    pub persistent: bool,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_online_messages: Limit::Max(1000),
            max_offline_messages: Limit::Max(1000),
            queue_type: QueueType::Fifo,
            deliver_mode: DeliverMode::Fanout,
            allow_multiple_sessions: false,
            override_max_online_messages: false,
            persistent: true,
        }
    }
}
