//! Logging with VerneMQ's settings: `log.console` (off | file | console | both),
//! `log.console.level`, `log.console.file`, `log.error` / `log.error.file` (errors also go to
//! their own file) and `log.syslog` (lines to the local syslog socket). The level can be changed
//! at runtime through the returned [`LogLevelSetter`] (`vmq-admin set log.console.level=debug`).

use std::{
    fs,
    io::{self, Write},
    os::unix::net::UnixDatagram,
    path::Path,
    sync::{Arc, Mutex},
};

use tracing_subscriber::{
    filter::LevelFilter, fmt, layer::SubscriberExt, reload, util::SubscriberInitExt, EnvFilter,
    Layer, Registry,
};
use vmq_conf::{LogConfig, LogLevel, LogTarget};

use crate::runtime::LogLevelSetter;

/// The `tracing` filter of a VerneMQ level name.
pub fn filter_of(level: &str) -> &'static str {
    match level {
        "debug" => "debug",
        "info" | "notice" => "info",
        "warning" => "warn",
        _ => "error",
    }
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Notice => "notice",
        LogLevel::Warning => "warning",
        LogLevel::Error => "error",
        LogLevel::Critical => "critical",
        LogLevel::Alert => "alert",
        LogLevel::Emergency => "emergency",
    }
}

fn open_append(path: &Path) -> io::Result<fs::File> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            fs::create_dir_all(dir)?;
        }
    }
    fs::OpenOptions::new().create(true).append(true).open(path)
}

/// Writes each log line as one datagram to the local syslog socket (facility daemon).
struct Syslog {
    socket: UnixDatagram,
}

impl Write for &Syslog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        let msg = format!("<30>vernemq: {}", line.trim_end());
        // A full or absent syslog must never stop the broker.
        let _ = self.socket.send(msg.as_bytes());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

type Base = tracing_subscriber::layer::Layered<reload::Layer<EnvFilter, Registry>, Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync>;

/// Installs the global subscriber for `config`; `foreground` also logs to standard error
/// (`vernemq console`). The `RUST_LOG` environment variable, when set, overrides the level.
pub fn init(config: &LogConfig, foreground: bool) -> io::Result<LogLevelSetter> {
    let initial = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new(filter_of(level_name(config.level))));
    let (filter, handle) = reload::Layer::new(initial);
    let mut layers: Vec<BoxedLayer> = Vec::new();
    let to_file = matches!(config.console, LogTarget::File | LogTarget::Both);
    let to_console = foreground || matches!(config.console, LogTarget::Console | LogTarget::Both);
    if to_file {
        let file = open_append(&config.file)?;
        layers.push(Box::new(
            fmt::layer().with_ansi(false).with_writer(Mutex::new(file)),
        ));
    }
    if to_console {
        layers.push(Box::new(
            fmt::layer().with_ansi(false).with_writer(io::stderr),
        ));
    }
    if config.error {
        let file = open_append(&config.error_file)?;
        layers.push(Box::new(
            fmt::layer()
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .with_filter(LevelFilter::ERROR),
        ));
    }
    if config.syslog {
        let socket = UnixDatagram::unbound()?;
        match socket.connect("/dev/log") {
            Ok(()) => {
                let syslog: &'static Syslog = Box::leak(Box::new(Syslog { socket }));
                layers.push(Box::new(
                    fmt::layer()
                        .with_ansi(false)
                        .without_time()
                        .with_writer(move || syslog),
                ));
            }
            Err(e) => eprintln!("log.syslog: cannot reach /dev/log: {e}"),
        }
    }
    tracing_subscriber::registry()
        .with(filter)
        .with(layers)
        .try_init()
        .map_err(|e| io::Error::other(e.to_string()))?;
    Ok(Arc::new(move |level: &str| {
        handle
            .reload(EnvFilter::new(filter_of(level)))
            .map_err(|e| e.to_string())
    }))
}
