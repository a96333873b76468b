//! The crate's one error enum. Every error is a caller mistake or a call in the wrong state:
//! the queue itself never fails.

use crate::QueueState;

/// Why a queue call was refused. The queue is unchanged when an error is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The session id is not attached to this queue (caller bug, or the session was taken over).
    #[error("session is not attached to this queue")]
    UnknownSession,
    /// The queue is migrating its messages away (VerneMQ answers `{error, draining}`); the
    /// caller should retry the registration once the drain has finished.
    #[error("queue is draining")]
    Draining,
    /// The queue has terminated; the caller should drop it and create a new one.
    #[error("queue has terminated")]
    Terminated,
    /// The call is only valid in another state (e.g. draining an online queue).
    #[error("operation not valid in state {0:?}")]
    InvalidState(QueueState),
    /// `finish_drain` while messages are still queued or a drained batch is unacknowledged.
    #[error("queue still holds {0} messages")]
    NotEmpty(usize),
}
