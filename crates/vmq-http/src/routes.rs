//! The axum router of one HTTP listener: which modules it serves (`http_modules`), which of
//! them require an API key (`http_module.<module>.auth.mode = apikey`), and the handlers.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{Path, RawQuery, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use base64::Engine;
use tracing::debug;

use crate::{
    prometheus, status_page::STATUS_HTML, AdminApi, ApiKeyStore, Command, CommandOutput, Error,
    Scope,
};

/// VerneMQ's HTTP modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpModule {
    /// `vmq_metrics_http`: `/metrics`.
    Metrics,
    /// `vmq_http_mgmt_api`: `/api/v1`.
    Mgmt,
    /// `vmq_status_http`: `/status`, `/status.json`.
    Status,
    /// `vmq_health_http`: `/health`.
    Health,
}

impl HttpModule {
    /// Every module.
    pub const ALL: [HttpModule; 4] = [
        HttpModule::Metrics,
        HttpModule::Mgmt,
        HttpModule::Status,
        HttpModule::Health,
    ];

    /// VerneMQ's module name.
    pub fn name(self) -> &'static str {
        match self {
            HttpModule::Metrics => "vmq_metrics_http",
            HttpModule::Mgmt => "vmq_http_mgmt_api",
            HttpModule::Status => "vmq_status_http",
            HttpModule::Health => "vmq_health_http",
        }
    }

    /// The module of a VerneMQ name (`vmq_mgmt_http` is accepted for the API as the docs use
    /// it); `None` for modules this build does not have (`vmq_http_pub`, `vmq_http_v2_api`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "vmq_metrics_http" => Some(HttpModule::Metrics),
            "vmq_http_mgmt_api" | "vmq_mgmt_http" => Some(HttpModule::Mgmt),
            "vmq_status_http" => Some(HttpModule::Status),
            "vmq_health_http" => Some(HttpModule::Health),
            _ => None,
        }
    }

    fn scope(self) -> Scope {
        match self {
            HttpModule::Metrics => Scope::Metrics,
            HttpModule::Mgmt => Scope::Mgmt,
            HttpModule::Status => Scope::Status,
            HttpModule::Health => Scope::Health,
        }
    }

    /// VerneMQ's default `auth.mode`: only the management API needs a key.
    pub fn default_needs_key(self) -> bool {
        self == HttpModule::Mgmt
    }
}

/// How one HTTP listener behaves.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// `prometheus_namespace` (VerneMQ's default `vernemq_`).
    pub namespace: String,
    /// The modules served.
    pub modules: Vec<HttpModule>,
    /// The modules that require an API key.
    pub need_key: Vec<HttpModule>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            namespace: "vernemq_".into(),
            modules: HttpModule::ALL.to_vec(),
            need_key: vec![HttpModule::Mgmt],
        }
    }
}

struct AppState {
    api: Arc<dyn AdminApi>,
    keys: Arc<ApiKeyStore>,
    options: HttpOptions,
}

type Shared = State<Arc<AppState>>;

/// The router of one HTTP listener.
pub fn router(api: Arc<dyn AdminApi>, keys: Arc<ApiKeyStore>, options: HttpOptions) -> Router {
    let modules = options.modules.clone();
    let state = Arc::new(AppState { api, keys, options });
    let mut router = Router::new();
    for module in modules {
        router = match module {
            HttpModule::Metrics => router.route("/metrics", get(metrics)),
            HttpModule::Health => router
                .route("/health", get(health))
                .route("/health/ping", get(health_ping))
                .route("/health/listeners", get(health))
                .route("/health/listeners_full_cluster", get(health)),
            HttpModule::Status => router
                .route("/status", get(status_page))
                .route("/status.json", get(status_json)),
            HttpModule::Mgmt => router
                .route("/api/v1", get(api_root))
                .route("/api/v1/{*path}", get(api_command)),
        };
    }
    router.with_state(state)
}

/// Serves `router` on `listener` until the task is dropped.
/// Serves `router` on any axum listener (the HTTPS listener hands over TLS streams this way).
pub async fn serve_on<L>(listener: L, router: Router) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router.into_make_service()).await
}

/// Serves `router` on a bound TCP listener.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

/// The API key of a request: the basic-auth user name, or the `x-api-key` header.
fn request_key(headers: &HeaderMap) -> Option<String> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.to_string());
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = auth
        .strip_prefix("Basic ")
        .or_else(|| auth.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
    Some(user.to_string())
}

/// `Some(401 response)` when the request needs a valid key for `module` and has none.
fn refuse(state: &AppState, module: HttpModule, headers: &HeaderMap) -> Option<Response> {
    if !state.options.need_key.contains(&module) {
        return None;
    }
    match request_key(headers) {
        Some(key) if state.keys.check(&key, module.scope()) => None,
        _ => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"type":"text","text":"Unauthorized: a valid API key is required"}"#,
            )
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"VerneMQ\""),
            );
            Some(response)
        }
    }
}

async fn metrics(State(state): Shared, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&state, HttpModule::Metrics, &headers) {
        return r;
    }
    let families = state.api.metrics();
    let body = prometheus::render(&state.options.namespace, &state.api.node_name(), &families);
    ([(header::CONTENT_TYPE, prometheus::CONTENT_TYPE)], body).into_response()
}

async fn health(State(state): Shared, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&state, HttpModule::Health, &headers) {
        return r;
    }
    let health = state.api.health();
    let (code, body) = if health.concerns.is_empty() {
        (StatusCode::OK, serde_json::json!({"status": "OK"}))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "DOWN", "reasons": health.concerns}),
        )
    };
    (code, axum::Json(body)).into_response()
}

async fn health_ping(State(state): Shared, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&state, HttpModule::Health, &headers) {
        return r;
    }
    axum::Json(serde_json::json!({"status": "OK"})).into_response()
}

async fn status_page(State(state): Shared, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&state, HttpModule::Status, &headers) {
        return r;
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        STATUS_HTML,
    )
        .into_response()
}

async fn status_json(State(state): Shared, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&state, HttpModule::Status, &headers) {
        return r;
    }
    axum::Json(state.api.status()).into_response()
}

async fn api_root(State(state): Shared, headers: HeaderMap) -> Response {
    if let Some(r) = refuse(&state, HttpModule::Mgmt, &headers) {
        return r;
    }
    error_response(&Error::Usage(
        "use /api/v1/<command path>?<options>, e.g. /api/v1/session/show".into(),
    ))
}

fn error_response(e: &Error) -> Response {
    let code = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        axum::Json(serde_json::json!({"type": "text", "text": e.to_string()})),
    )
        .into_response()
}

async fn api_command(
    State(state): Shared,
    headers: HeaderMap,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = refuse(&state, HttpModule::Mgmt, &headers) {
        return r;
    }
    let command = Command::from_http(&path, query.as_deref());
    debug!(command = %command.name(), "admin command");
    let result = match command.path.as_slice() {
        [first, sub] if first == "api-key" => state.keys.run(sub, &command),
        _ => state.api.execute(&command).await,
    };
    match result {
        Ok(CommandOutput::Stream(rx)) => {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|line| (Ok::<_, std::convert::Infallible>(format!("{line}\n")), rx))
            });
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                Body::from_stream(stream),
            )
                .into_response()
        }
        Ok(output) => (
            [(header::CONTENT_TYPE, "application/json")],
            output.to_json_string(),
        )
            .into_response(),
        Err(e) => error_response(&e),
    }
}
