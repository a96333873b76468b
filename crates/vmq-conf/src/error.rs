//! The crate's error type: every problem a configuration can have, each naming where it came
//! from (file and line, environment variable, or default), and the collection `Config::load`
//! returns so that all problems are reported at once.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// VerneMQ's built-in default (from the schema table).
    Default,
    /// The embedded default configuration used when no file is given.
    Embedded,
    /// A line of a configuration file (the name as given to the loader, 1-based line).
    File {
        /// The file name as the loader was given it (or the include path it resolved).
        file: String,
        /// 1-based line number.
        line: usize,
    },
    /// An environment variable (`DOCKER_VERNEMQ_...` or `VMQ_...`).
    Env {
        /// The variable's name.
        var: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Embedded => f.write_str("embedded default"),
            Origin::File { file, line } => write!(f, "{file}:{line}"),
            Origin::Env { var } => write!(f, "env {var}"),
        }
    }
}

/// One configuration problem. The user (who wrote the file or set the variable) is at fault for
/// every variant except [`ConfigError::Internal`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A line that is neither `key = value`, a comment, an `include` nor blank.
    #[error("{origin}: syntax error: {message}")]
    Syntax {
        /// Where.
        origin: Origin,
        /// What is wrong with the line.
        message: String,
    },
    /// A key no schema knows.
    #[error("{origin}: unknown key '{key}'")]
    UnknownKey {
        /// Where.
        origin: Origin,
        /// The key as written (lowercased for environment variables).
        key: String,
    },
    /// A known key whose value does not fit its datatype.
    #[error("{origin}: invalid value '{value}' for key '{key}': expected {expected}")]
    InvalidValue {
        /// Where.
        origin: Origin,
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// What the key accepts.
        expected: String,
    },
    /// An `include` line that could not be followed.
    #[error("{origin}: cannot include '{pattern}': {reason}")]
    Include {
        /// Where the include line is.
        origin: Origin,
        /// The included path or glob.
        pattern: String,
        /// Why it failed.
        reason: String,
    },
    /// A configuration file that could not be read.
    #[error("cannot read '{}': {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A bug in this crate (the merge layer refused data we built); please report it.
    #[error("internal configuration error: {0}")]
    Internal(String),
}

impl ConfigError {
    /// Where the problem is, when it has a place.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            ConfigError::Syntax { origin, .. }
            | ConfigError::UnknownKey { origin, .. }
            | ConfigError::InvalidValue { origin, .. }
            | ConfigError::Include { origin, .. } => Some(origin),
            ConfigError::Io { .. } | ConfigError::Internal(_) => None,
        }
    }
}

/// All problems found while loading a configuration (never empty when returned as an error).
#[derive(Debug, Default)]
pub struct ConfigErrors {
    /// The problems, in the order they were found (file order, then environment).
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.errors.len()
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }

    pub(crate) fn push(&mut self, e: ConfigError) {
        self.errors.push(e);
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors { errors: vec![e] }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}
