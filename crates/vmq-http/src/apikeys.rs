//! API keys of the HTTP admin interface (`vmq-admin api-key create|add|delete|show`).
//!
//! Keys are never stored in clear: the file `<data_dir>/http_api_keys` keeps one line per key
//! with its SHA-256 (hex), its scope, its expiry (Unix seconds or `never`) and the first four
//! characters of the key, so that `show` can tell keys apart. A node-local secret in
//! `<data_dir>/vmq-admin.secret` (mode 0600, created at start) lets `vmq-admin` on the same
//! machine use the API, as VerneMQ's `vmq-admin` uses the Erlang cookie.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use parking_lot::Mutex;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{CommandOutput, Error};

/// The file (under `data_dir`) holding the node-local admin secret.
pub const ADMIN_SECRET_FILE: &str = "vmq-admin.secret";
const KEYS_FILE: &str = "http_api_keys";
const GENERATED_KEY_LEN: usize = 32;

/// What an API key may be used for (VerneMQ's scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/api/v1` (the management API).
    Mgmt,
    /// `/status`.
    Status,
    /// `/metrics`.
    Metrics,
    /// `/health`.
    Health,
}

impl Scope {
    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Mgmt => "mgmt",
            Scope::Status => "status",
            Scope::Metrics => "metrics",
            Scope::Health => "health",
        }
    }

    /// Parses a scope name.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "mgmt" => Some(Scope::Mgmt),
            "status" => Some(Scope::Status),
            "metrics" => Some(Scope::Metrics),
            "health" => Some(Scope::Health),
            _ => None,
        }
    }
}

/// A stored key (its hash, never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// SHA-256 of the key, hex.
    pub hash: String,
    /// Scope.
    pub scope: Scope,
    /// Unix seconds after which the key is refused; `None`: never.
    pub expires: Option<u64>,
    /// The first characters of the key, for display.
    pub hint: String,
}

/// The API keys of a node, persisted under its data directory.
#[derive(Debug)]
pub struct ApiKeyStore {
    path: Option<PathBuf>,
    keys: Mutex<Vec<ApiKey>>,
    admin_secret_hash: Option<String>,
    min_length: usize,
    max_expiry_days: Option<u64>,
}

fn hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_key(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

impl ApiKeyStore {
    /// A store kept in memory only (tests, embedding without a data directory).
    pub fn in_memory() -> Self {
        ApiKeyStore {
            path: None,
            keys: Mutex::new(Vec::new()),
            admin_secret_hash: None,
            min_length: 0,
            max_expiry_days: None,
        }
    }

    /// Opens (or creates) the store under `data_dir`, and writes a fresh node-local admin
    /// secret there.
    pub fn open(data_dir: &Path) -> Result<Self, Error> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| Error::Store { path, source }
        };
        fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let path = data_dir.join(KEYS_FILE);
        let keys = match fs::read_to_string(&path) {
            Ok(text) => text.lines().filter_map(parse_line).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let secret = random_key(GENERATED_KEY_LEN);
        let secret_path = data_dir.join(ADMIN_SECRET_FILE);
        write_private(&secret_path, &secret).map_err(io(&secret_path))?;
        Ok(ApiKeyStore {
            path: Some(path),
            keys: Mutex::new(keys),
            admin_secret_hash: Some(hash(&secret)),
            min_length: 0,
            max_expiry_days: None,
        })
    }

    /// Applies `min_apikey_length` and `max_apikey_expiry_days`.
    pub fn with_limits(mut self, min_length: usize, max_expiry_days: Option<u64>) -> Self {
        self.min_length = min_length;
        self.max_expiry_days = max_expiry_days;
        self
    }

    /// Whether `key` is valid now for `scope` (the node-local admin secret is valid for all).
    pub fn check(&self, key: &str, scope: Scope) -> bool {
        let h = hash(key);
        if let Some(admin) = &self.admin_secret_hash {
            if bool::from(admin.as_bytes().ct_eq(h.as_bytes())) {
                return true;
            }
        }
        let now = now_unix();
        self.keys.lock().iter().any(|k| {
            bool::from(k.hash.as_bytes().ct_eq(h.as_bytes()))
                && k.scope == scope
                && k.expires.is_none_or(|e| e > now)
        })
    }

    /// Adds `key`; returns it.
    pub fn add(&self, key: &str, scope: Scope, expires: Option<u64>) -> Result<String, Error> {
        if key.len() < self.min_length {
            return Err(Error::Usage(format!(
                "API key too short: min_apikey_length is {}",
                self.min_length
            )));
        }
        if key.is_empty() || key.contains(char::is_whitespace) || key.contains(':') {
            return Err(Error::Usage(
                "an API key must be non-empty, without spaces or ':'".into(),
            ));
        }
        let now = now_unix();
        if let Some(e) = expires {
            if e <= now {
                return Err(Error::Usage("expiry date lies in the past".into()));
            }
        }
        if let (Some(days), e) = (self.max_expiry_days, expires) {
            let limit = now + days * 86_400;
            if e.is_none_or(|e| e > limit) {
                return Err(Error::Usage(format!(
                    "expiry beyond max_apikey_expiry_days ({days})"
                )));
            }
        }
        let entry = ApiKey {
            hash: hash(key),
            scope,
            expires,
            hint: key.chars().take(4).collect(),
        };
        {
            let mut keys = self.keys.lock();
            if keys
                .iter()
                .any(|k| k.hash == entry.hash && k.scope == scope)
            {
                return Err(Error::Usage("API key already exists".into()));
            }
            keys.push(entry);
        }
        self.save()?;
        Ok(key.to_string())
    }

    /// Creates a random key.
    pub fn create(&self, scope: Scope, expires: Option<u64>) -> Result<String, Error> {
        let key = random_key(GENERATED_KEY_LEN.max(self.min_length));
        self.add(&key, scope, expires)
    }

    /// Deletes `key`; false if it did not exist.
    pub fn delete(&self, key: &str) -> Result<bool, Error> {
        let h = hash(key);
        let removed = {
            let mut keys = self.keys.lock();
            let before = keys.len();
            keys.retain(|k| k.hash != h);
            before != keys.len()
        };
        if removed {
            self.save()?;
        }
        Ok(removed)
    }

    /// The stored keys.
    pub fn list(&self) -> Vec<ApiKey> {
        self.keys.lock().clone()
    }

    fn save(&self) -> Result<(), Error> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let text: String = self
            .keys
            .lock()
            .iter()
            .map(|k| {
                format!(
                    "{} {} {} {}\n",
                    k.hash,
                    k.scope.as_str(),
                    k.expires.map_or("never".to_string(), |e| e.to_string()),
                    k.hint
                )
            })
            .collect();
        write_private(path, &text).map_err(|source| Error::Store {
            path: path.display().to_string(),
            source,
        })
    }

    /// Runs `api-key create|add|delete|show` (`args` as in [`crate::Command`]).
    pub fn run(&self, sub: &str, command: &crate::Command) -> Result<CommandOutput, Error> {
        let scope = match command.value("scope") {
            None => Scope::Mgmt,
            Some(s) => Scope::parse(s).ok_or_else(|| {
                Error::Usage(format!(
                    "unknown scope {s:?}; use mgmt, status, metrics or health"
                ))
            })?,
        };
        let expires = command
            .value("expires")
            .map(|s| {
                parse_datetime(s).ok_or_else(|| {
                    Error::Usage(format!("invalid expires {s:?}; use YYYY-MM-DDTHH:MM:SS"))
                })
            })
            .transpose()?;
        match sub {
            "create" => Ok(CommandOutput::Text(self.create(scope, expires)?)),
            "add" => {
                let key = command
                    .value("key")
                    .ok_or_else(|| Error::Usage("missing key=<API key>".into()))?;
                self.add(key, scope, expires)?;
                Ok(CommandOutput::Done)
            }
            "delete" => {
                let key = command
                    .value("key")
                    .ok_or_else(|| Error::Usage("missing key=<API key>".into()))?;
                if self.delete(key)? {
                    Ok(CommandOutput::Done)
                } else {
                    Err(Error::Usage("Invalid API key".into()))
                }
            }
            "show" => {
                let now = now_unix();
                let rows = self
                    .list()
                    .into_iter()
                    .map(|k| {
                        vec![
                            format!("{}...", k.hint).into(),
                            k.scope.as_str().into(),
                            k.expires
                                .map_or("never".to_string(), format_datetime)
                                .into(),
                            k.expires.is_some_and(|e| e <= now).to_string().into(),
                        ]
                    })
                    .collect();
                Ok(CommandOutput::Table {
                    columns: vec![
                        "Key".into(),
                        "Scope".into(),
                        "Expires (UTC)".into(),
                        "has expired".into(),
                    ],
                    rows,
                })
            }
            other => Err(Error::UnknownCommand(format!("api-key {other}"))),
        }
    }
}

fn parse_line(line: &str) -> Option<ApiKey> {
    let mut parts = line.split_whitespace();
    let hash = parts.next()?.to_string();
    let scope = Scope::parse(parts.next()?)?;
    let expires = match parts.next()? {
        "never" => None,
        e => Some(e.parse().ok()?),
    };
    let hint = parts.next().unwrap_or("").to_string();
    Some(ApiKey {
        hash,
        scope,
        expires,
        hint,
    })
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DDTHH:MM:SS` (or with a space) as UTC Unix seconds.
pub(crate) fn parse_datetime(s: &str) -> Option<u64> {
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, mi) = (t.next()??, t.next()??);
    let sec = t.next().flatten().unwrap_or(0);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + sec;
    u64::try_from(secs).ok()
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn format_datetime(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let t = parse_datetime("2023-04-04T12:00:00").unwrap();
        assert_eq!(t, 1_680_609_600);
        assert_eq!(format_datetime(t), "2023-04-04 12:00:00");
    }

    #[test]
    fn keys_are_persisted_hashed_and_checked_by_scope() {
        let dir = tempfile::tempdir().unwrap();
        let store = ApiKeyStore::open(dir.path()).unwrap();
        let key = store.create(Scope::Mgmt, None).unwrap();
        store.add("mykey-1234", Scope::Metrics, None).unwrap();
        assert!(store.check(&key, Scope::Mgmt));
        assert!(!store.check(&key, Scope::Metrics));
        assert!(store.check("mykey-1234", Scope::Metrics));
        let text = std::fs::read_to_string(dir.path().join(KEYS_FILE)).unwrap();
        assert!(!text.contains(&key) && !text.contains("mykey-1234"));
        let reopened = ApiKeyStore::open(dir.path()).unwrap();
        assert!(reopened.check(&key, Scope::Mgmt));
        assert!(reopened.delete(&key).unwrap());
        assert!(!reopened.check(&key, Scope::Mgmt));
        let secret = std::fs::read_to_string(dir.path().join(ADMIN_SECRET_FILE)).unwrap();
        assert!(reopened.check(&secret, Scope::Mgmt));
    }

    #[test]
    fn expired_keys_are_refused() {
        let store = ApiKeyStore::in_memory();
        assert!(store.add("k1", Scope::Mgmt, Some(1)).is_err());
        let store = ApiKeyStore::in_memory().with_limits(10, None);
        assert!(store.add("short", Scope::Mgmt, None).is_err());
    }
}
