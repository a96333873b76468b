//! `vmq-auth`: VerneMQ's file-based access control as plain data and pure functions.
//!
//! It owns two formats and what they decide:
//!
//! - [`passwd`]: the `vmq.passwd` file of `apps/vmq_passwd`
//!   (`user:$6$<base64 12-byte salt>$<base64 SHA-512(password || salt)>`), checking a user's
//!   password the way VerneMQ's `auth_on_register` does, writing new entries the way the
//!   `vmq-passwd` tool does, and editing a file line by line (add, update, delete, convert
//!   plain text). Argon2id entries (`user:$argon2id$...`) are accepted as an extension.
//! - [`acl`]: the mosquitto-style `vmq.acl` file of `apps/vmq_acl` (`topic`, `user`,
//!   `pattern` with `%c`, `%u`, `%m`) and the publish / subscribe decisions made from it.
//!
//! It must not do I/O: no files, no clock, no sockets, no async runtime. Callers read the
//! files and hand over the bytes; the broker's built-in plugins (`vmq-broker`) do the loading,
//! the periodic reload and the mapping onto hook answers, and `bins/vmq-passwd` the prompting.
//!
//! ```
//! use vmq_auth::{acl::Acl, passwd::{PasswdFile, PasswordHash, Verdict}};
//!
//! let line = vmq_auth::passwd::format_line("henry", &PasswordHash::sha512(b"secret"))?;
//! let (users, problems) = PasswdFile::parse(line.as_bytes());
//! assert!(problems.is_empty());
//! assert_eq!(users.check(Some("henry"), Some(b"secret")), Verdict::Ok);
//! assert_eq!(users.check(Some("henry"), Some(b"wrong")), Verdict::InvalidCredentials);
//! assert_eq!(users.check(Some("joe"), Some(b"secret")), Verdict::Next);
//!
//! let (acl, problems) = Acl::parse(b"user henry\ntopic write sensors/#\npattern read %u/inbox\n");
//! assert!(problems.is_empty());
//! assert!(acl.can_publish(Some("henry"), "c1", "", "sensors/kitchen/temp"));
//! assert!(acl.can_subscribe(Some("henry"), "c1", "", "henry/inbox"));
//! assert!(!acl.can_subscribe(Some("henry"), "c1", "", "joe/inbox"));
//! # Ok::<(), vmq_auth::AuthError>(())
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod acl;
mod error;
pub mod passwd;
mod topic;

pub use error::{AuthError, LineError};
