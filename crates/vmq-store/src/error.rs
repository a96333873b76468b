//! The crate's one error type, [`Error`], and its `Result` alias.

use std::path::PathBuf;

/// What went wrong in the store. Each variant says who is likely at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store directory could not be opened: missing permissions, another process holds
    /// the lock, or the backend found its files unreadable (operator / disk at fault). Move
    /// the directory aside (`mv data/sled data/sled.broken`) to start empty, or run
    /// [`crate::Store::repair`] on a copy.
    #[error("cannot open the store at {path}: {reason}")]
    Open {
        /// The directory that was being opened.
        path: PathBuf,
        /// The backend's explanation.
        reason: String,
    },
    /// The directory holds a store written in another format version of this crate
    /// (operator at fault: the data dir of a newer or older release).
    #[error("the store at {path} has format version {found}, this build reads version {expected}")]
    Version {
        /// The store directory.
        path: PathBuf,
        /// The version found on disk.
        found: u8,
        /// The version this build reads and writes.
        expected: u8,
    },
    /// One record could not be decoded or refers to a record that is missing (disk
    /// corruption or a bug in a writer). [`crate::Store::verify`] lists all such records and
    /// [`crate::Store::repair`] drops them.
    #[error("corrupt record {key} in the store at {location}: {reason}")]
    CorruptRecord {
        /// The store's path, or `memory`.
        location: String,
        /// The record's key, rendered readably (see [`crate::key::describe`]).
        key: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A value could not be decoded (truncated, wrong version byte, invalid field). Raised by
    /// the codec functions; the store wraps it into [`Error::CorruptRecord`] with the key.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// The kind of value being decoded.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// The caller passed a value the store cannot represent, e.g. a string longer than
    /// 65535 bytes in a key (caller at fault).
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The backend failed while reading, writing or flushing (disk full, I/O error).
    #[error("storage backend error at {location}: {reason}")]
    Backend {
        /// The store's path, or `memory`.
        location: String,
        /// The backend's explanation.
        reason: String,
    },
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn decode(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Decode {
            what,
            reason: reason.into(),
        }
    }

    /// True for errors that mean "the data on disk is bad" (as opposed to I/O or caller
    /// errors): the broker should stop and tell the operator to repair or move the store.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::CorruptRecord { .. } | Error::Decode { .. } | Error::Version { .. }
        )
    }
}
