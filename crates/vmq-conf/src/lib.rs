//! `vmq-conf`: VerneMQ's `vernemq.conf` (cuttlefish format) for the Rust broker.
//!
//! It owns the file grammar ([`parse`]), the table of every key VerneMQ 2.1.2's schemas know
//! with its datatype and default ([`schema`]), docker-vernemq style environment overrides
//! ([`env`]), the figment merge of defaults → file → environment ([`provider`]), listener
//! resolution through VerneMQ's global → per-kind → per-name hierarchy ([`listener`]) and the
//! typed [`Config`] the broker uses. Unknown keys and bad values are errors naming file, line
//! and key; all of them are collected.
//!
//! It must not do I/O beyond reading configuration files, and never reads the process
//! environment itself: callers pass it as a map.
//!
//! ```
//! use std::collections::HashMap;
//! let env = HashMap::from([("DOCKER_VERNEMQ_ALLOW_ANONYMOUS".to_string(), "on".to_string())]);
//! let cfg = vmq_conf::Config::from_str("max_inflight_messages = 5\n", "vernemq.conf", &env)
//!     .expect("valid");
//! assert!(cfg.allow_anonymous);
//! assert_eq!(cfg.max_inflight_messages, 5);
//! assert_eq!(cfg.get("max_inflight_messages").map(|v| v.origin.to_string()).as_deref(),
//!            Some("vernemq.conf:1"));
//! ```

pub mod config;
pub mod env;
pub mod error;
pub mod listener;
pub mod parse;
pub mod provider;
pub mod schema;
mod schema_ext;
mod schema_table;
pub mod value;

pub use config::{
    Config, LogConfig, LogFormat, LogLevel, LogTarget, QueueDeliverMode, QueueType,
    SharedSubscriptionPolicy, EMBEDDED_DEFAULT_CONF,
};
pub use error::{ConfigError, ConfigErrors, Origin};
pub use listener::{ListenerConfig, ListenerKind, TlsOptions, TlsVersion};
pub use provider::RawValue;
