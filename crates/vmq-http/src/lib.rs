//! `vmq-http`: the routers of VerneMQ's HTTP listener (`listener.http.<name>`): `/metrics`
//! (Prometheus text), `/health`, `/status` (a self-refreshing page over `/status.json`) and
//! `/api/v1/<command path>?<options>` (every `vmq-admin` command, authenticated by API keys).
//!
//! It knows nothing about the broker: the broker implements [`AdminApi`], and this crate turns
//! HTTP requests into [`Command`]s and [`CommandOutput`]s into VerneMQ's JSON shapes. API keys
//! ([`ApiKeyStore`]) live here because authentication is the HTTP layer's job; they are stored
//! hashed (SHA-256) under the node's data directory.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod api;
mod apikeys;
mod error;
pub mod prometheus;
mod routes;
mod status_page;
pub mod table;

pub use api::{
    AdminApi, AdminCommands, BoxFuture, Command, CommandOutput, Health, MetricFamily, MetricKind,
    Sample, StatusSnapshot,
};
pub use apikeys::{ApiKey, ApiKeyStore, Scope, ADMIN_SECRET_FILE};
pub use error::Error;
pub use routes::{router, serve, serve_on, HttpModule, HttpOptions};
