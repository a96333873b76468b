//! The crate's error type.

/// Errors of the HTTP layer and of admin commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command path names no command (the caller's typo).
    #[error("unknown command: {0}")]
    UnknownCommand(String),
    /// The command exists but its arguments are wrong (the caller's mistake).
    #[error("{0}")]
    Usage(String),
    /// The command is valid but this build cannot carry it out yet.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The command ran and failed (the node's problem).
    #[error("{0}")]
    Failed(String),
    /// Reading or writing the API key file failed.
    #[error("api key store {path}: {source}")]
    Store {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Error::UnknownCommand(_) => 404,
            Error::Usage(_) => 400,
            Error::Unsupported(_) => 501,
            Error::Failed(_) | Error::Store { .. } => 500,
        }
    }
}
