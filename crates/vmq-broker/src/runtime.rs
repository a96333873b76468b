//! Settings changeable at runtime (`vmq-admin set key=value`, `vmq-admin show key`): the
//! `$SYS` tree (`systree_*`), the Graphite exporter (`graphite_*`) and the console log level
//! (`log.console.level`). They start from `vernemq.conf`; like VerneMQ's, changes are lost at
//! restart. Every other key is refused by `set` and shown as configured by `show`.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use parking_lot::{Mutex, RwLock};
use vmq_conf::Config;

/// The keys `set` accepts.
pub const RUNTIME_KEYS: &[&str] = &[
    "systree_enabled",
    "systree_interval",
    "systree_mountpoint",
    "systree_qos",
    "systree_retain",
    "graphite_enabled",
    "graphite_host",
    "graphite_port",
    "graphite_interval",
    "graphite_prefix",
    "graphite_api_key",
    "graphite_include_labels",
    "graphite_connect_timeout",
    "graphite_reconnect_timeout",
    "log.console.level",
];

/// Changes the log level at runtime (installed by whoever set up logging).
pub type LogLevelSetter = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// The runtime-changeable settings of a node.
pub struct RuntimeSettings {
    values: RwLock<BTreeMap<&'static str, String>>,
    log_level: Mutex<Option<LogLevelSetter>>,
}

impl std::fmt::Debug for RuntimeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeSettings").finish_non_exhaustive()
    }
}

fn parse_flag(v: &str) -> Option<bool> {
    match v {
        "on" | "true" => Some(true),
        "off" | "false" => Some(false),
        _ => None,
    }
}

fn validate(key: &str, value: &str) -> Result<String, String> {
    let bad = || format!("invalid value {value:?} for {key}");
    match key {
        "systree_enabled" | "systree_retain" | "graphite_enabled" | "graphite_include_labels" => {
            parse_flag(value).ok_or_else(bad)?;
            Ok(value.to_string())
        }
        "systree_interval"
        | "graphite_interval"
        | "graphite_connect_timeout"
        | "graphite_reconnect_timeout" => {
            let ms = parse_ms(value).ok_or_else(bad)?;
            Ok(ms.to_string())
        }
        "systree_qos" => match value {
            "0" | "1" | "2" => Ok(value.to_string()),
            _ => Err(bad()),
        },
        "graphite_port" => value
            .parse::<u16>()
            .map(|p| p.to_string())
            .map_err(|_| bad()),
        "log.console.level" => match value {
            "debug" | "info" | "notice" | "warning" | "error" | "critical" | "alert"
            | "emergency" => Ok(value.to_string()),
            _ => Err(bad()),
        },
        _ => Ok(value.to_string()),
    }
}

/// Milliseconds from `20000`, `20s`, `500ms`, `1m`, `1h`.
fn parse_ms(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: u64 = n.parse().ok()?;
    let factor = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

impl RuntimeSettings {
    /// The settings as `config` sets them.
    pub fn from_config(config: &Config) -> Self {
        let mut values = BTreeMap::new();
        for key in RUNTIME_KEYS {
            let raw = config.get(key).map(|v| v.value.clone()).unwrap_or_default();
            let value = validate(key, &raw).unwrap_or(raw);
            values.insert(*key, value);
        }
        // The typed config is authoritative for the keys it has.
        values.insert(
            "systree_enabled",
            if config.systree_enabled { "on" } else { "off" }.into(),
        );
        values.insert(
            "systree_interval",
            config.systree_interval.as_millis().to_string(),
        );
        RuntimeSettings {
            values: RwLock::new(values),
            log_level: Mutex::new(None),
        }
    }

    /// Installs the function that changes the log level.
    pub fn set_log_level_setter(&self, setter: LogLevelSetter) {
        *self.log_level.lock() = Some(setter);
    }

    /// Changes `key` to `value`.
    pub fn set(&self, key: &str, value: &str) -> Result<(), String> {
        let Some(key) = RUNTIME_KEYS.iter().find(|k| **k == key) else {
            return Err(format!(
                "{key} cannot be changed at runtime; changeable: {}",
                RUNTIME_KEYS.join(", ")
            ));
        };
        let value = validate(key, value)?;
        if *key == "log.console.level" {
            if let Some(setter) = self.log_level.lock().clone() {
                setter(&value)?;
            }
        }
        self.values.write().insert(key, value);
        Ok(())
    }

    /// The current value of a runtime key.
    pub fn get(&self, key: &str) -> Option<String> {
        self.values.read().get(key).cloned()
    }

    fn flag(&self, key: &str) -> bool {
        self.get(key).and_then(|v| parse_flag(&v)).unwrap_or(false)
    }

    fn ms(&self, key: &str, default: u64) -> Duration {
        Duration::from_millis(self.get(key).and_then(|v| parse_ms(&v)).unwrap_or(default))
    }

    /// `systree_enabled`.
    pub fn systree_enabled(&self) -> bool {
        self.flag("systree_enabled")
    }

    /// `systree_interval` (0 disables).
    pub fn systree_interval(&self) -> Duration {
        self.ms("systree_interval", 20_000)
    }

    /// `systree_mountpoint`.
    pub fn systree_mountpoint(&self) -> String {
        self.get("systree_mountpoint").unwrap_or_default()
    }

    /// `systree_qos`.
    pub fn systree_qos(&self) -> u8 {
        self.get("systree_qos")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// `systree_retain`.
    pub fn systree_retain(&self) -> bool {
        self.flag("systree_retain")
    }

    /// `graphite_enabled`.
    pub fn graphite_enabled(&self) -> bool {
        self.flag("graphite_enabled")
    }

    /// `graphite_host:graphite_port`.
    pub fn graphite_target(&self) -> (String, u16) {
        (
            self.get("graphite_host")
                .unwrap_or_else(|| "localhost".into()),
            self.get("graphite_port")
                .and_then(|p| p.parse().ok())
                .unwrap_or(2003),
        )
    }

    /// `graphite_interval`.
    pub fn graphite_interval(&self) -> Duration {
        self.ms("graphite_interval", 20_000)
    }

    /// `graphite_connect_timeout`.
    pub fn graphite_connect_timeout(&self) -> Duration {
        self.ms("graphite_connect_timeout", 5_000)
    }

    /// `graphite_reconnect_timeout`.
    pub fn graphite_reconnect_timeout(&self) -> Duration {
        self.ms("graphite_reconnect_timeout", 15_000)
    }

    /// `graphite_prefix` and `graphite_api_key`.
    pub fn graphite_prefix_and_key(&self) -> (String, String) {
        (
            self.get("graphite_prefix").unwrap_or_default(),
            self.get("graphite_api_key").unwrap_or_default(),
        )
    }

    /// `graphite_include_labels`.
    pub fn graphite_include_labels(&self) -> bool {
        self.flag("graphite_include_labels")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn set_validates_and_refuses_other_keys() {
        let s = RuntimeSettings::from_config(&Config::default());
        assert!(s.systree_enabled());
        assert_eq!(s.systree_interval(), Duration::from_secs(20));
        s.set("systree_interval", "5s").unwrap();
        assert_eq!(s.systree_interval(), Duration::from_secs(5));
        assert!(s.set("systree_qos", "3").is_err());
        assert!(s.set("max_inflight_messages", "3").is_err());
        assert_eq!(s.graphite_target(), ("localhost".to_string(), 2003));
    }
}
