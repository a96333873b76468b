//! The crate's one error type, [`BenchError`]: everything that stops a run before it can report
//! (bad flags or scenario file, a client that cannot connect or subscribe). Every variant maps to
//! exit code 2; unmet requirements are not errors but an outcome of the run (exit code 1).

use std::time::Duration;

use vmq_codec::ReasonCode;

/// Why a run could not be started or carried out.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A flag or scenario value is invalid.
    #[error("{0}")]
    Usage(String),
    /// The scenario file could not be read or has a bad key or value.
    #[error("scenario file {path}: {message}")]
    Scenario {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The TCP connection could not be made.
    #[error("{client}: cannot connect to {addr}: {source}")]
    Connect {
        /// The client id.
        client: String,
        /// The broker address as given.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The broker answered CONNECT with a refusal.
    #[error("{client}: the broker refused the connection: {code:?}")]
    Refused {
        /// The client id.
        client: String,
        /// The CONNACK reason code.
        code: ReasonCode,
    },
    /// The broker refused the subscription.
    #[error("{client}: the broker refused the subscription to `{filter}`: {code:?}")]
    SubscribeRefused {
        /// The client id.
        client: String,
        /// The topic filter.
        filter: String,
        /// The SUBACK reason code.
        code: ReasonCode,
    },
    /// No answer in time.
    #[error("{client}: no {what} within {after:?}")]
    Timeout {
        /// The client id.
        client: String,
        /// What was awaited.
        what: &'static str,
        /// How long it waited.
        after: Duration,
    },
    /// The broker sent something the client cannot accept, or the socket failed.
    #[error("{client}: {message}")]
    Protocol {
        /// The client id.
        client: String,
        /// What happened.
        message: String,
    },
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// Writing the report failed.
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

impl BenchError {
    /// A usage error with `message`.
    pub fn usage(message: impl Into<String>) -> Self {
        BenchError::Usage(message.into())
    }

    /// The process exit code for this error: always 2 (usage or connection error).
    pub fn exit_code(&self) -> u8 {
        2
    }
}
