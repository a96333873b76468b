//! The built-in plugins `vmq_passwd` and `vmq_acl`: VerneMQ's file-based authentication and
//! authorization, enabled with `plugins.vmq_passwd = on` / `plugins.vmq_acl = on` (both on by
//! default, as in VerneMQ) and asked before any plugin the embedding program registers.
//!
//! The formats and decisions live in [`vmq_auth`]; this module loads the files named by
//! `vmq_passwd.password_file` and `vmq_acl.acl_file`, keeps them fresh and maps the answers
//! onto hook results as VerneMQ's plugins do:
//!
//! - `vmq_passwd` (`auth_on_register`): `ok` when the user is known and the password matches,
//!   `error` (bad user name or password: CONNACK 4 / reason 0x86) when the password does not
//!   match, `next` for an unknown user or a CONNECT without user name or password.
//! - `vmq_acl` (`auth_on_publish`, `auth_on_subscribe`): `ok` when the ACL grants it, `next`
//!   otherwise (so that another plugin may still allow it; when none does, the broker refuses).
//!
//! Reloading: every `*_reload_interval` seconds (0 disables) the file is looked at again,
//! lazily, by the first hook call after the interval has passed, instead of by a timer task.
//! The check is a `stat`; the file is read and parsed only when its modification time or size
//! changed. A missing or unreadable file is logged once and the last loaded content stays in
//! force (VerneMQ skips the reload when the file is absent); a file missing from the start
//! means every answer is `next`. Bad lines are logged with their numbers and skipped; the
//! logs never contain passwords or hashes.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime},
};

use parking_lot::{Mutex, RwLock};
use tracing::{info, warn};
use vmq_auth::{acl::Acl, passwd::PasswdFile, passwd::Verdict, LineError};
use vmq_codec::ReasonCode;
use vmq_conf::{value, Config};

use crate::hooks::{
    Answer, HookResult, Plugin, PublishModifiers, PublishRequest, RegisterModifiers,
    RegisterRequest, SubscribeRequest, SubscribeTopic,
};

/// The default reload interval of both plugins (VerneMQ's schema: 10 seconds).
const DEFAULT_RELOAD: Duration = Duration::from_secs(10);

/// The built-in plugins `config` enables, in VerneMQ's order (`vmq_passwd`, `vmq_acl`).
pub fn enabled_builtins(config: &Config) -> Vec<Arc<dyn Plugin>> {
    let on = |name: &str| config.plugins.get(name).copied().unwrap_or(false);
    let mut plugins: Vec<Arc<dyn Plugin>> = Vec::new();
    if on("vmq_passwd") {
        plugins.push(Arc::new(VmqPasswd::from_config(config)));
    }
    if on("vmq_acl") {
        plugins.push(Arc::new(VmqAcl::from_config(config)));
    }
    plugins
}

fn path_setting(config: &Config, key: &str, default: &str) -> PathBuf {
    PathBuf::from(config.get(key).map_or(default, |v| v.value.as_str()))
}

fn interval_setting(config: &Config, key: &str) -> Option<Duration> {
    let interval = match config.get(key) {
        None => DEFAULT_RELOAD,
        Some(v) => value::parse_duration(&v.value, value::Unit::S).unwrap_or_else(|| {
            warn!(key, value = %v.value, "not a duration; using 10 seconds");
            DEFAULT_RELOAD
        }),
    };
    (!interval.is_zero()).then_some(interval)
}

/// `vmq_passwd`: checks CONNECT credentials against a `vmq.passwd` file.
#[derive(Debug)]
pub struct VmqPasswd {
    file: ReloadingFile<PasswdFile>,
}

impl VmqPasswd {
    /// Reads `vmq_passwd.password_file` and `vmq_passwd.password_reload_interval`.
    pub fn from_config(config: &Config) -> VmqPasswd {
        VmqPasswd::new(
            path_setting(config, "vmq_passwd.password_file", "./etc/vmq.passwd"),
            interval_setting(config, "vmq_passwd.password_reload_interval"),
        )
    }

    /// Loads `path` now and then every `reload_interval` (`None`: never again).
    pub fn new(path: impl Into<PathBuf>, reload_interval: Option<Duration>) -> VmqPasswd {
        VmqPasswd {
            file: ReloadingFile::new("vmq_passwd", path.into(), reload_interval, parse_passwd),
        }
    }

    /// Reads the file again now (what a changed configuration triggers in VerneMQ).
    pub fn reload_now(&self) {
        self.file.reload(true);
    }

    /// The password file.
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

fn parse_passwd(bytes: &[u8]) -> (PasswdFile, Vec<LineError>) {
    PasswdFile::parse(bytes)
}

impl Plugin for VmqPasswd {
    fn name(&self) -> &str {
        "vmq_passwd"
    }

    fn auth_on_register(&self, req: &RegisterRequest<'_>) -> Answer<HookResult<RegisterModifiers>> {
        let verdict = self.file.with(|users| {
            users.check(
                req.username.map(|u| u.as_str()),
                req.password.map(|p| p.as_ref()),
            )
        });
        Answer::Ready(match verdict {
            Some(Verdict::Ok) => HookResult::Ok(RegisterModifiers::default()),
            Some(Verdict::InvalidCredentials) => {
                HookResult::Error(ReasonCode::BadUserNameOrPassword)
            }
            Some(Verdict::Next) | None => HookResult::Next,
        })
    }
}

/// `vmq_acl`: allows publishes and subscriptions granted by a `vmq.acl` file.
#[derive(Debug)]
pub struct VmqAcl {
    file: ReloadingFile<Acl>,
}

impl VmqAcl {
    /// Reads `vmq_acl.acl_file` and `vmq_acl.acl_reload_interval`.
    pub fn from_config(config: &Config) -> VmqAcl {
        VmqAcl::new(
            path_setting(config, "vmq_acl.acl_file", "./etc/vmq.acl"),
            interval_setting(config, "vmq_acl.acl_reload_interval"),
        )
    }

    /// Loads `path` now and then every `reload_interval` (`None`: never again).
    pub fn new(path: impl Into<PathBuf>, reload_interval: Option<Duration>) -> VmqAcl {
        VmqAcl {
            file: ReloadingFile::new("vmq_acl", path.into(), reload_interval, Acl::parse),
        }
    }

    /// Reads the file again now.
    pub fn reload_now(&self) {
        self.file.reload(true);
    }

    /// The ACL file.
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

impl Plugin for VmqAcl {
    fn name(&self) -> &str {
        "vmq_acl"
    }

    fn auth_on_publish(&self, req: &PublishRequest<'_>) -> Answer<HookResult<PublishModifiers>> {
        let id = req.subscriber_id;
        let allowed = self.file.with(|acl| {
            acl.can_publish(
                req.username.map(|u| u.as_str()),
                &id.client_id,
                &id.mountpoint,
                req.topic,
            )
        });
        Answer::Ready(if allowed == Some(true) {
            HookResult::Ok(PublishModifiers::default())
        } else {
            HookResult::Next
        })
    }

    /// As VerneMQ's `vmq_acl`: `ok` when every topic is readable, `next` otherwise.
    fn auth_on_subscribe(
        &self,
        req: &SubscribeRequest<'_>,
    ) -> Answer<HookResult<Option<Vec<SubscribeTopic>>>> {
        let id = req.subscriber_id;
        let allowed = self.file.with(|acl| {
            req.topics.iter().all(|t| {
                acl.can_subscribe(
                    req.username.map(|u| u.as_str()),
                    &id.client_id,
                    &id.mountpoint,
                    &t.filter,
                )
            })
        });
        Answer::Ready(if allowed == Some(true) {
            HookResult::Ok(None)
        } else {
            HookResult::Next
        })
    }
}

/// What identifies a version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

#[derive(Debug)]
struct Loaded {
    stamp: Option<Stamp>,
    /// The last problem was logged (missing / unreadable), so it is not logged again.
    problem_logged: bool,
}

/// A parsed file that re-reads itself lazily when it changed.
struct ReloadingFile<T> {
    plugin: &'static str,
    path: PathBuf,
    interval: Option<Duration>,
    parse: fn(&[u8]) -> (T, Vec<LineError>),
    /// `None` until the file was read once.
    current: RwLock<Option<Arc<T>>>,
    /// Held by the one caller doing a check; others go on with the current content.
    loaded: Mutex<Loaded>,
    epoch: Instant,
    /// Milliseconds since `epoch` at which the next check is due.
    next_check_ms: AtomicU64,
}

impl<T> std::fmt::Debug for ReloadingFile<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingFile")
            .field("plugin", &self.plugin)
            .field("path", &self.path)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl<T> ReloadingFile<T> {
    fn new(
        plugin: &'static str,
        path: PathBuf,
        interval: Option<Duration>,
        parse: fn(&[u8]) -> (T, Vec<LineError>),
    ) -> Self {
        let file = ReloadingFile {
            plugin,
            path,
            interval,
            parse,
            current: RwLock::new(None),
            loaded: Mutex::new(Loaded {
                stamp: None,
                problem_logged: false,
            }),
            epoch: Instant::now(),
            next_check_ms: AtomicU64::new(0),
        };
        file.reload(true);
        file
    }

    /// Runs `f` on the current content (after a reload check when one is due); `None` when
    /// the file was never loaded.
    fn with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        if self.interval.is_some() {
            let now_ms = self.epoch.elapsed().as_millis() as u64;
            if now_ms >= self.next_check_ms.load(Ordering::Relaxed) {
                self.reload(false);
            }
        }
        // Not under the lock: an argon2id check takes milliseconds and must not hold up a reload.
        let current = self.current.read().clone();
        current.as_deref().map(f)
    }

    /// Checks the file and reads it when it changed (or always, with `force`).
    fn reload(&self, force: bool) {
        let Some(mut loaded) = (if force {
            Some(self.loaded.lock())
        } else {
            self.loaded.try_lock()
        }) else {
            return; // another caller is checking right now
        };
        if let Some(interval) = self.interval {
            let next = self.epoch.elapsed() + interval;
            self.next_check_ms
                .store(next.as_millis() as u64, Ordering::Relaxed);
        }
        let stamp = match std::fs::metadata(&self.path) {
            Ok(meta) => Stamp {
                modified: meta.modified().ok(),
                len: meta.len(),
            },
            Err(e) => return self.problem(&mut loaded, &e),
        };
        if !force && loaded.stamp == Some(stamp) {
            return;
        }
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) => return self.problem(&mut loaded, &e),
        };
        let (parsed, errors) = (self.parse)(&bytes);
        for e in &errors {
            warn!(
                plugin = self.plugin,
                file = %self.path.display(),
                line = e.line,
                reason = %e.reason,
                "skipped a line"
            );
        }
        *self.current.write() = Some(Arc::new(parsed));
        loaded.stamp = Some(stamp);
        loaded.problem_logged = false;
        info!(plugin = self.plugin, file = %self.path.display(), "loaded");
    }

    fn problem(&self, loaded: &mut Loaded, e: &std::io::Error) {
        if !loaded.problem_logged {
            let kept = if self.current.read().is_some() {
                "keeping the last loaded content"
            } else {
                "answering next until it can be read"
            };
            warn!(plugin = self.plugin, file = %self.path.display(), error = %e, "cannot read the file; {kept}");
            loaded.problem_logged = true;
        }
        // Whatever comes back next is read in full.
        loaded.stamp = None;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::{net::SocketAddr, sync::Arc};

    use bytes::Bytes;
    use vmq_auth::passwd::{format_line, PasswordHash};
    use vmq_codec::{QoS, Utf8Str};

    use super::*;
    use crate::SubscriberId;

    fn id(client: &str) -> SubscriberId {
        SubscriberId {
            mountpoint: Arc::from(""),
            client_id: Arc::from(client),
        }
    }

    fn register(p: &VmqPasswd, user: Option<&str>, pw: Option<&str>) -> HookResult {
        let id = id("c");
        let user = user.map(Utf8Str::from);
        let pw = pw.map(|p| Bytes::copy_from_slice(p.as_bytes()));
        unit(p.auth_on_register(&RegisterRequest {
            peer: SocketAddr::from(([127, 0, 0, 1], 1)),
            subscriber_id: &id,
            username: user.as_ref(),
            password: pw.as_ref(),
            clean_start: true,
            properties: None,
        }))
    }

    fn unit<M>(answer: Answer<HookResult<M>>) -> HookResult {
        match answer {
            Answer::Ready(HookResult::Ok(_)) => HookResult::Ok(()),
            Answer::Ready(HookResult::Next) => HookResult::Next,
            Answer::Ready(HookResult::Error(code)) => HookResult::Error(code),
            Answer::Pending(_) => panic!("built-in plugins answer at once"),
        }
    }

    fn publish(a: &VmqAcl, user: Option<&str>, topic: &str) -> HookResult {
        let id = id("c");
        let user = user.map(Utf8Str::from);
        unit(a.auth_on_publish(&PublishRequest {
            username: user.as_ref(),
            subscriber_id: &id,
            qos: QoS::AtMostOnce,
            topic,
            payload: &Bytes::new(),
            retain: false,
            properties: None,
        }))
    }

    fn write(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn passwd_answers_and_reloads() {
        let dir = std::env::temp_dir().join(format!("vmq-builtin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vmq.passwd");
        let _ = std::fs::remove_file(&path);

        // Missing file: next for everyone.
        let p = VmqPasswd::new(&path, Some(Duration::from_millis(1)));
        assert_eq!(register(&p, Some("u"), Some("pw")), HookResult::Next);

        write(
            &path,
            &format!(
                "{}\n",
                format_line("u", &PasswordHash::sha512(b"pw")).unwrap()
            ),
        );
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(register(&p, Some("u"), Some("pw")), HookResult::Ok(()));
        assert_eq!(
            register(&p, Some("u"), Some("bad")),
            HookResult::Error(ReasonCode::BadUserNameOrPassword)
        );
        assert_eq!(register(&p, Some("v"), Some("pw")), HookResult::Next);
        assert_eq!(register(&p, Some("u"), None), HookResult::Next);
        assert_eq!(register(&p, None, Some("pw")), HookResult::Next);

        // A removed file keeps the last content.
        std::fs::remove_file(&path).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(register(&p, Some("u"), Some("pw")), HookResult::Ok(()));

        // Without reloading, a change is seen only on reload_now.
        write(
            &path,
            &format!(
                "{}\n",
                format_line("u", &PasswordHash::sha512(b"new")).unwrap()
            ),
        );
        let fixed = VmqPasswd::new(&path, None);
        write(
            &path,
            &format!(
                "{}\n",
                format_line("u", &PasswordHash::sha512(b"newer")).unwrap()
            ),
        );
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(register(&fixed, Some("u"), Some("new")), HookResult::Ok(()));
        fixed.reload_now();
        assert_eq!(
            register(&fixed, Some("u"), Some("newer")),
            HookResult::Ok(())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn acl_answers_ok_or_next() {
        let dir = std::env::temp_dir().join(format!("vmq-builtin-acl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vmq.acl");
        write(&path, "topic read public/#\nuser u\ntopic write u/#\n");
        let a = VmqAcl::new(&path, None);
        assert_eq!(publish(&a, Some("u"), "u/x"), HookResult::Ok(()));
        assert_eq!(publish(&a, Some("u"), "public/x"), HookResult::Next);
        assert_eq!(publish(&a, None, "u/x"), HookResult::Next);
        assert_eq!(a.path(), path.as_path());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn enabled_by_config() {
        let config = Config::from_str(
            "plugins.vmq_passwd = on\nplugins.vmq_acl = off\n",
            "test.conf",
            &Default::default(),
        )
        .unwrap();
        let names: Vec<String> = enabled_builtins(&config)
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        assert_eq!(names, vec!["vmq_passwd"]);
        assert_eq!(
            interval_setting(&config, "vmq_passwd.password_reload_interval"),
            Some(Duration::from_secs(10))
        );
    }
}
