//! The crate's one error type, and the per-line problem reported by the file parsers.

/// A problem on one line of a `vmq.passwd` or `vmq.acl` file. Parsers skip such a line and
/// go on; the caller logs these (they never contain a password or a password hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A line of a file could not be read; the file's author is at fault.
    #[error(transparent)]
    Line(#[from] LineError),
    /// A user name that cannot be stored in a password file (empty, or containing `:`, a line
    /// break, or starting with `#`); the caller (or its user) is at fault.
    #[error("invalid user name: {0}")]
    InvalidUsername(&'static str),
    /// A password that cannot be stored or converted (empty, or containing a line break).
    #[error("invalid password: {0}")]
    InvalidPassword(&'static str),
    /// The password hashing library failed (argon2 parameters, randomness); a bug or a broken
    /// platform, not the caller.
    #[error("password hashing failed: {0}")]
    Hashing(String),
}
