//! `vmq-queue`: VerneMQ's per-subscriber queue as a sans-I/O state machine. It owns the
//! queue policies (online / offline / draining, `max_online_messages`,
//! `max_offline_messages`, `queue_type` fifo / lifo, `queue_deliver_mode` fanout / balance,
//! QoS 0 while offline, MQTT 5 message expiry) and the drop accounting. It must not do I/O,
//! read a clock or spawn tasks: time is a parameter, storage is an emitted [`QueueAction`],
//! wake-ups are returned session ids. Semantics follow VerneMQ's `vmq_queue.erl`.
//!
//! # How the broker drives it
//!
//! One [`Queue`] per subscriber id, owned by whatever serialises access to it (a queue task,
//! or a mutex next to the subscriber entry). `S` identifies a session (connection), `M` is a
//! cheap-to-clone message implementing [`QueueMessage`].
//!
//! 1. Create with [`Queue::new`] (state `Offline`); for a persistent session restored from
//!    the store, [`Queue::insert_batch`] the stored messages.
//! 2. On CONNECT: [`Queue::add_session`]. Disconnect every id in `taken_over`.
//! 3. Publish path: [`Queue::enqueue`]`(msg, now)` → [`Enqueued`] with an
//!    [`EnqueueOutcome`] (online / offline / dropped and why) and `wake`: the sessions to
//!    notify (one cheap channel send each, e.g. a `Notify`).
//! 4. Connection task: whenever its inflight window has `n` free slots (and after a wake-up),
//!    [`Queue::take`]`(&id, n, now, &mut buf)`; it appends at most `n` messages to the
//!    caller's reused `Vec`. Getting fewer than asked for means the session is now waiting
//!    and will be named in a later `wake`.
//! 5. On disconnect: [`Queue::remove_session`]`(&id, unacked, now)` with the inflight messages
//!    not yet completed; the result says whether the queue is now `Offline` or `Terminated`
//!    (clean session: drop the queue and its subscriptions).
//! 6. After every call, forward [`Queue::poll_action`] items (`Persist` / `Delete`) to the
//!    message store, in order; add [`Queue::take_metrics`] into the global metrics.
//! 7. Session expiry / `persistent_client_expiration` is the caller's timer: on expiry call
//!    [`Queue::terminate`] (everything counted unhandled and deleted). Cluster migration:
//!    [`Queue::start_drain`], [`Queue::drain_batch`], [`Queue::drain_ack`] /
//!    [`Queue::drain_nack`], [`Queue::finish_drain`]; local takeover: [`Queue::take_all`] and
//!    [`Queue::insert_batch`] on the receiving queue.
//!
//! ```
//! use std::time::Instant;
//! use vmq_queue::{EnqueueOutcome, QoS, Queue, QueueAction, QueueConfig, QueueMessage};
//!
//! #[derive(Clone)]
//! struct Msg(u32);
//! impl QueueMessage for Msg {
//!     fn qos(&self) -> QoS { QoS::AtLeastOnce }
//!     fn expires_at(&self) -> Option<Instant> { None }
//! }
//!
//! let now = Instant::now();
//! let mut q: Queue<u64, Msg> = Queue::new(QueueConfig::default());
//! // Offline: QoS 1 is stored and must be persisted.
//! assert_eq!(q.enqueue(Msg(1), now).outcome, EnqueueOutcome::Offline { evicted: false });
//! assert!(matches!(q.poll_action(), Some(QueueAction::Persist(Msg(1)))));
//! // A session attaches and takes what its inflight window allows.
//! q.add_session(7).unwrap();
//! let mut buf = Vec::new();
//! assert_eq!(q.take(&7, 20, now, &mut buf), Ok(1));
//! assert!(matches!(q.poll_action(), Some(QueueAction::Delete(Msg(1)))));
//! // Its queue is empty now, so the next message names it in `wake`.
//! assert_eq!(q.enqueue(Msg(2), now).wake, &[7]);
//! ```
//!
//! # Deviations from VerneMQ (deliberate, documented)
//!
//! - Balance mode picks sessions round-robin instead of uniformly at random (deterministic,
//!   same long-run share).
//! - An already-expired message is dropped at enqueue (VerneMQ queues it and drops it at
//!   delivery; the metrics are the same: `in` then `expired`).
//! - Messages keep arrival order through online ↔ offline moves for lifo too (VerneMQ
//!   reverses a lifo queue when moving it); fifo delivers oldest first, lifo newest first.
//! - Only offline messages of persistent queues are persisted (VerneMQ also writes online
//!   QoS 1/2 messages when a message store is configured).
//! - In balance mode, the unacked messages of a session leaving while others stay are
//!   re-spread (VerneMQ discards them).
//! - A lifo queue with a limit of 0 drops the incoming message (VerneMQ crashes).

mod config;
mod error;
mod message;
mod metrics;
mod queue;

pub use config::{DeliverMode, Limit, QueueConfig, QueueType};
pub use error::QueueError;
pub use message::{QoS, QueueMessage};
pub use metrics::QueueMetrics;
pub use queue::{
    Attached, BatchInserted, Detached, DropReason, EnqueueOutcome, Enqueued, Queue, QueueAction,
    QueueState,
};
