//! Per-queue counters, named after VerneMQ's metrics, with the reason of every drop.

/// Counters of one queue. The broker adds them to its global VerneMQ metrics
/// (`queue_message_in`, `queue_message_out`, `queue_message_drop`, `queue_message_expired`,
/// `queue_message_unhandled`), typically via [`crate::Queue::take_metrics`].
///
/// Invariants: `message_drop == drop_online_full + drop_offline_full` and
/// `message_unhandled == unhandled_qos0_offline + unhandled_discarded`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueMetrics {
    /// `queue_message_in`: messages offered to the queue (enqueue and batch insert).
    pub message_in: u64,
    /// `queue_message_out`: messages handed to a session or drained to another queue.
    pub message_out: u64,
    /// `queue_message_drop`: messages dropped because a queue was full.
    pub message_drop: u64,
    /// `queue_message_expired`: messages whose MQTT 5 expiry passed before delivery.
    pub message_expired: u64,
    /// `queue_message_unhandled`: QoS 0 messages arriving while offline, and messages
    /// discarded when a clean session leaves or the queue is cleaned up / expires.
    pub message_unhandled: u64,
    /// Of `message_drop`: a session's online queue was full (`max_online_messages`).
    pub drop_online_full: u64,
    /// Of `message_drop`: the offline queue was full (`max_offline_messages`).
    pub drop_offline_full: u64,
    /// Of `message_unhandled`: QoS 0 deliveries while no session was attached.
    pub unhandled_qos0_offline: u64,
    /// Of `message_unhandled`: messages thrown away by a clean disconnect or a cleanup.
    pub unhandled_discarded: u64,
    /// Enqueues refused because the queue had terminated (not a VerneMQ metric: there the
    /// queue process is gone and the message silently lost).
    pub refused_terminated: u64,
}

impl QueueMetrics {
    /// Adds `other` into `self` (for aggregating many queues).
    pub fn add(&mut self, other: &QueueMetrics) {
        self.message_in += other.message_in;
        self.message_out += other.message_out;
        self.message_drop += other.message_drop;
        self.message_expired += other.message_expired;
        self.message_unhandled += other.message_unhandled;
        self.drop_online_full += other.drop_online_full;
        self.drop_offline_full += other.drop_offline_full;
        self.unhandled_qos0_offline += other.unhandled_qos0_offline;
        self.unhandled_discarded += other.unhandled_discarded;
        self.refused_terminated += other.refused_terminated;
    }
}
