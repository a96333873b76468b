//! The `vmq.passwd` file of VerneMQ's `vmq_passwd` plugin: parsing, checking a password,
//! hashing new ones and editing a file line by line (what `vmq-passwd` does).
//!
//! # Format
//!
//! One user per line, `username:hash`. The hash VerneMQ (and its `vmq-passwd` C tool) writes
//! is `$6$<salt>$<digest>` where `salt` is 12 random bytes and `digest` is
//! `SHA-512(password bytes || raw salt bytes)`, one round (not crypt(3)), both in standard
//! base64 with `=` padding (OpenSSL's base64 BIO without line breaks; Erlang's
//! `base64:encode`). VerneMQ checks a password by hashing it with the decoded salt and
//! comparing with the stored digest (`apps/vmq_passwd/src/vmq_passwd.erl`, `hash/2`,
//! `check/2`; `apps/vmq_passwd/c_src/vmq_passwd.c`, `output_new_password`). The `6` is not
//! interpreted by VerneMQ; this parser requires it (a `$7$` PBKDF2 line from mosquitto would
//! never match in VerneMQ either, and is reported instead).
//!
//! Extensions, all backwards compatible (VerneMQ's own files parse identically):
//! - `username:$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>` (PHC string) entries;
//! - lines whose first non-blank character is `#` are comments, blank lines are skipped
//!   (VerneMQ only skips empty lines and fails on anything else);
//! - a `\r` before the line break and blanks after the hash are ignored;
//! - a bad line is reported with its number and skipped; the other lines still load
//!   (VerneMQ's loader stops at the first bad line).
//!
//! User names may not contain `:`; they are compared byte for byte (no trimming), as in
//! VerneMQ. When a name appears twice the last line wins (VerneMQ's ETS insert).

use std::collections::HashMap;

use argon2::password_hash::{
    rand_core::{OsRng, RngCore},
    PasswordHash as Phc, PasswordHasher, PasswordVerifier, SaltString,
};
use base64::{
    alphabet,
    engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig},
    Engine,
};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

use crate::{AuthError, LineError};

/// Salt length VerneMQ's `vmq_passwd` and `vmq-passwd` use (`SALT_LEN`, `?SALT_LEN`).
pub const SALT_LEN: usize = 12;

/// Length of a SHA-512 digest.
const DIGEST_LEN: usize = 64;

/// Standard alphabet, `=` padding written, padding optional when reading (Erlang's
/// `base64:decode` and OpenSSL accept both).
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A stored password hash.
#[derive(Clone, PartialEq, Eq)]
pub enum PasswordHash {
    /// VerneMQ's `$6$salt$digest`: SHA-512 over the password followed by the raw salt bytes.
    Sha512 {
        /// Raw salt bytes (12 when written by VerneMQ or by this crate).
        salt: Vec<u8>,
        /// SHA-512 digest.
        digest: [u8; DIGEST_LEN],
    },
    /// An argon2id PHC string (`$argon2id$v=19$...`), an extension of this implementation.
    Argon2id(String),
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hashes are not passwords, but they are offline-attackable: keep them out of logs.
        match self {
            PasswordHash::Sha512 { .. } => f.write_str("PasswordHash::Sha512(..)"),
            PasswordHash::Argon2id(_) => f.write_str("PasswordHash::Argon2id(..)"),
        }
    }
}

impl std::fmt::Display for PasswordHash {
    /// The hash as written after `username:` in the file.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordHash::Sha512 { salt, digest } => {
                write!(f, "$6${}${}", B64.encode(salt), B64.encode(digest))
            }
            PasswordHash::Argon2id(phc) => f.write_str(phc),
        }
    }
}

impl PasswordHash {
    /// Hashes `password` the way VerneMQ does, with a fresh random 12-byte salt.
    pub fn sha512(password: &[u8]) -> PasswordHash {
        let mut salt = vec![0u8; SALT_LEN];
        OsRng.fill_bytes(&mut salt);
        PasswordHash::sha512_with_salt(password, &salt)
    }

    /// Hashes `password` the way VerneMQ does, with the given salt (for tests and fixtures).
    pub fn sha512_with_salt(password: &[u8], salt: &[u8]) -> PasswordHash {
        PasswordHash::Sha512 {
            salt: salt.to_vec(),
            digest: sha512_digest(password, salt),
        }
    }

    /// Hashes `password` with argon2id (the `argon2` crate's default parameters, a random
    /// 16-byte salt).
    pub fn argon2id(password: &[u8]) -> Result<PasswordHash, AuthError> {
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon2::Argon2::default()
            .hash_password(password, &salt)
            .map_err(|e| AuthError::Hashing(e.to_string()))?;
        Ok(PasswordHash::Argon2id(phc.to_string()))
    }

    /// Parses the part of a line after `username:`.
    pub fn parse(s: &str) -> Result<PasswordHash, String> {
        let s = s.trim_end_matches([' ', '\t']);
        if s.starts_with("$argon2id$") {
            let phc = Phc::new(s).map_err(|e| format!("invalid argon2id hash: {e}"))?;
            if phc.algorithm.as_str() != "argon2id" || phc.hash.is_none() {
                return Err("invalid argon2id hash".into());
            }
            return Ok(PasswordHash::Argon2id(s.to_owned()));
        }
        let mut parts = s.split('$');
        let (Some(""), Some(id), Some(salt), Some(digest), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err("expected user:$6$<salt>$<hash> or user:$argon2id$...".into());
        };
        if id != "6" {
            return Err(format!(
                "unsupported hash type ${id}$ (expected $6$ or $argon2id$)"
            ));
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| "salt is not valid base64".to_string())?;
        let digest = B64
            .decode(digest)
            .map_err(|_| "hash is not valid base64".to_string())?;
        let digest: [u8; DIGEST_LEN] = digest
            .try_into()
            .map_err(|_| "hash is not a 64-byte SHA-512 digest".to_string())?;
        Ok(PasswordHash::Sha512 { salt, digest })
    }

    /// Whether `password` matches. The SHA-512 comparison is constant-time; argon2's
    /// verification is constant-time too.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            PasswordHash::Sha512 { salt, digest } => {
                let computed = sha512_digest(password, salt);
                computed.ct_eq(digest).into()
            }
            PasswordHash::Argon2id(phc) => match Phc::new(phc) {
                Ok(parsed) => argon2::Argon2::default()
                    .verify_password(password, &parsed)
                    .is_ok(),
                Err(_) => false,
            },
        }
    }
}

fn sha512_digest(password: &[u8], salt: &[u8]) -> [u8; DIGEST_LEN] {
    let mut h = Sha512::new();
    h.update(password);
    h.update(salt);
    h.finalize().into()
}

/// The answer of `vmq_passwd`'s `auth_on_register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The user is known and the password matches (`ok`).
    Ok,
    /// The user is known and the password does not match (`{error, invalid_credentials}`,
    /// CONNACK 4 / reason 0x86).
    InvalidCredentials,
    /// No user name, no password, or an unknown user: ask the next plugin (`next`).
    Next,
}

/// A parsed password file.
#[derive(Debug, Clone, Default)]
pub struct PasswdFile {
    // std's RandomState is randomly seeded per map: user names are client-controlled lookups.
    users: HashMap<String, PasswordHash>,
}

impl PasswdFile {
    /// Parses a whole file. Bad lines are skipped and returned with their line numbers; the
    /// errors never quote the line (it holds a hash).
    pub fn parse(text: &[u8]) -> (PasswdFile, Vec<LineError>) {
        let mut file = PasswdFile::default();
        let mut errors = Vec::new();
        for (idx, raw) in lines(text) {
            let line = idx + 1;
            match parse_line(raw) {
                Ok(None) => {}
                Ok(Some((user, hash))) => {
                    file.users.insert(user.to_owned(), hash);
                }
                Err(reason) => errors.push(LineError { line, reason }),
            }
        }
        (file, errors)
    }

    /// `auth_on_register` as `vmq_passwd` answers it.
    pub fn check(&self, username: Option<&str>, password: Option<&[u8]>) -> Verdict {
        let (Some(user), Some(password)) = (username, password) else {
            return Verdict::Next;
        };
        match self.users.get(user) {
            None => Verdict::Next,
            Some(hash) if hash.verify(password) => Verdict::Ok,
            Some(_) => Verdict::InvalidCredentials,
        }
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file has no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `username` has an entry.
    pub fn contains(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// The stored hash of `username`.
    pub fn get(&self, username: &str) -> Option<&PasswordHash> {
        self.users.get(username)
    }
}

/// Lines of `text` without their `\n` / `\r\n`, numbered from 0.
fn lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    text.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .enumerate()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

type Entry<'a> = (&'a str, PasswordHash);

fn parse_line(raw: &[u8]) -> Result<Option<Entry<'_>>, String> {
    let line = std::str::from_utf8(raw).map_err(|_| "not valid UTF-8".to_string())?;
    if is_blank_or_comment(line) {
        return Ok(None);
    }
    let Some((user, rest)) = line.split_once(':') else {
        return Err("expected user:hash (no ':' found)".into());
    };
    if user.is_empty() {
        return Err("empty user name".into());
    }
    if rest.contains(':') {
        return Err("more than one ':' (user names may not contain ':')".into());
    }
    PasswordHash::parse(rest).map(|h| Some((user, h)))
}

/// Checks that `username` can be stored in a password file.
pub fn validate_username(username: &str) -> Result<(), AuthError> {
    if username.is_empty() {
        return Err(AuthError::InvalidUsername("empty"));
    }
    if username.contains(':') {
        return Err(AuthError::InvalidUsername("contains ':'"));
    }
    if username.contains(['\n', '\r']) {
        return Err(AuthError::InvalidUsername("contains a line break"));
    }
    if username.trim_start().starts_with('#') {
        return Err(AuthError::InvalidUsername(
            "starts with '#' (read as a comment)",
        ));
    }
    Ok(())
}

/// Checks that `password` can be hashed into a file by `vmq-passwd` (non-empty, no line
/// break: the C tool reads it with `fgets` and cannot take either).
pub fn validate_password(password: &[u8]) -> Result<(), AuthError> {
    if password.is_empty() {
        return Err(AuthError::InvalidPassword("empty"));
    }
    if password.contains(&b'\n') || password.contains(&b'\r') {
        return Err(AuthError::InvalidPassword("contains a line break"));
    }
    Ok(())
}

/// `username:hash` (without the line break), after checking the user name.
pub fn format_line(username: &str, hash: &PasswordHash) -> Result<String, AuthError> {
    validate_username(username)?;
    Ok(format!("{username}:{hash}"))
}

/// The user name a file line belongs to, if it is an entry line (not blank, not a comment).
fn line_user(line: &str) -> Option<&str> {
    let body = line.trim_end_matches(['\n', '\r']);
    if is_blank_or_comment(body) {
        return None;
    }
    body.split_once(':').map(|(u, _)| u)
}

/// Sets `username`'s entry to `entry` (a line from [`format_line`]): the first line of that
/// user is replaced, later duplicates are removed, and when there was none the entry is
/// appended. Every other line is kept byte for byte (what `vmq-passwd file user` does).
pub fn set_user(text: &str, username: &str, entry: &str) -> String {
    let mut out = String::with_capacity(text.len() + entry.len() + 1);
    let mut done = false;
    for line in text.split_inclusive('\n') {
        if line_user(line) == Some(username) {
            if !done {
                out.push_str(entry);
                out.push('\n');
                done = true;
            }
        } else {
            out.push_str(line);
        }
    }
    if !done {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(entry);
        out.push('\n');
    }
    out
}

/// Removes every line of `username` (what `vmq-passwd -D` does); `false` when there was none.
pub fn delete_user(text: &str, username: &str) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut found = false;
    for line in text.split_inclusive('\n') {
        if line_user(line) == Some(username) {
            found = true;
        } else {
            out.push_str(line);
        }
    }
    (out, found)
}

/// Converts a plain-text `user:password` file into hashed entries (what `vmq-passwd -U`
/// does), hashing each password with `hash`. The password is everything after the first
/// `:` up to the line break. Comments and blank lines are kept; a line without `:` is kept
/// and reported; a line whose password already parses as a hash is kept unchanged and
/// reported (the C tool would hash the hash and lock the user out). The reports never quote
/// a line.
pub fn convert_plaintext(
    text: &str,
    mut hash: impl FnMut(&[u8]) -> Result<PasswordHash, AuthError>,
) -> Result<(String, Vec<LineError>), AuthError> {
    let mut out = String::with_capacity(text.len() * 2);
    let mut notes = Vec::new();
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        if is_blank_or_comment(body) {
            out.push_str(line);
            continue;
        }
        let Some((user, password)) = body.split_once(':') else {
            notes.push(LineError {
                line: idx + 1,
                reason: "no ':' found; line kept unchanged".into(),
            });
            out.push_str(line);
            continue;
        };
        if PasswordHash::parse(password).is_ok() {
            notes.push(LineError {
                line: idx + 1,
                reason: "already hashed; line kept unchanged".into(),
            });
            out.push_str(line);
            continue;
        }
        validate_username(user).map_err(|e| {
            AuthError::Line(LineError {
                line: idx + 1,
                reason: e.to_string(),
            })
        })?;
        validate_password(password.as_bytes()).map_err(|e| {
            AuthError::Line(LineError {
                line: idx + 1,
                reason: e.to_string(),
            })
        })?;
        let hashed = hash(password.as_bytes())?;
        out.push_str(user);
        out.push(':');
        out.push_str(&hashed.to_string());
        out.push_str(if ending.is_empty() { "\n" } else { ending });
    }
    Ok((out, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `base64.b64encode(bytes(range(12)))` in Python.
    const SALT_B64: &str = "AAECAwQFBgcICQoL";

    #[test]
    fn format_matches_vernemq_layout() {
        let salt: Vec<u8> = (0u8..12).collect();
        let h = PasswordHash::sha512_with_salt(b"secret", &salt);
        let s = h.to_string();
        assert!(s.starts_with(&format!("$6${SALT_B64}$")), "{s}");
        // 64-byte digest in padded base64 is 88 characters ending in "==".
        let digest = s.rsplit('$').next().unwrap_or_default();
        assert_eq!(digest.len(), 88);
        assert!(digest.ends_with("=="));
        assert_eq!(PasswordHash::parse(&s), Ok(h));
    }

    #[test]
    fn random_salt_is_twelve_bytes() {
        match PasswordHash::sha512(b"x") {
            PasswordHash::Sha512 { salt, .. } => assert_eq!(salt.len(), SALT_LEN),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn check_answers_like_vmq_passwd() {
        let line = format_line("henry", &PasswordHash::sha512(b"pw")).unwrap();
        let (f, errs) = PasswdFile::parse(line.as_bytes());
        assert!(errs.is_empty());
        assert_eq!(f.check(Some("henry"), Some(b"pw")), Verdict::Ok);
        assert_eq!(
            f.check(Some("henry"), Some(b"pw2")),
            Verdict::InvalidCredentials
        );
        assert_eq!(f.check(Some("henry"), None), Verdict::Next);
        assert_eq!(f.check(None, Some(b"pw")), Verdict::Next);
        assert_eq!(f.check(Some("joe"), Some(b"pw")), Verdict::Next);
        assert_eq!(f.check(Some("Henry"), Some(b"pw")), Verdict::Next);
    }

    #[test]
    fn parser_skips_comments_and_reports_bad_lines() {
        let good = format_line("a", &PasswordHash::sha512(b"1")).unwrap();
        let text = format!(
            "# comment\n\n   \n{good}\r\nno-colon\nb:c:$6$AAAA$AAAA\n:$6$AAAA$AAAA\nd:$7$x$y\ne:$6$!!$AAAA\nf:$6$AAAA$AAAA\n"
        );
        let (f, errs) = PasswdFile::parse(text.as_bytes());
        assert_eq!(f.len(), 1);
        assert!(f.contains("a"));
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![5, 6, 7, 8, 9, 10]);
        for e in &errs {
            assert!(!e.reason.contains("AAAA"), "errors never quote the line");
        }
    }

    #[test]
    fn last_duplicate_wins() {
        let a = format_line("u", &PasswordHash::sha512(b"old")).unwrap();
        let b = format_line("u", &PasswordHash::sha512(b"new")).unwrap();
        let (f, _) = PasswdFile::parse(format!("{a}\n{b}\n").as_bytes());
        assert_eq!(f.check(Some("u"), Some(b"new")), Verdict::Ok);
    }

    #[test]
    fn argon2id_entries_verify() {
        let h = PasswordHash::argon2id(b"s3cret").unwrap();
        let line = format_line("argon", &h).unwrap();
        assert!(line.starts_with("argon:$argon2id$v=19$"));
        let (f, errs) = PasswdFile::parse(line.as_bytes());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(f.check(Some("argon"), Some(b"s3cret")), Verdict::Ok);
        assert_eq!(
            f.check(Some("argon"), Some(b"other")),
            Verdict::InvalidCredentials
        );
        let (_, errs) = PasswdFile::parse(b"x:$argon2id$garbage\n");
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn usernames_are_validated() {
        let h = PasswordHash::sha512(b"p");
        assert!(format_line("a:b", &h).is_err());
        assert!(format_line("", &h).is_err());
        assert!(format_line("a\nb", &h).is_err());
        assert!(format_line("#a", &h).is_err());
        assert!(format_line("ü ser", &h).is_ok());
    }

    #[test]
    fn set_and_delete_keep_other_lines() {
        let text = "# users\nalice:$6$AAAA$x\nbob:$6$BBBB$y\nalice:$6$CCCC$z";
        let out = set_user(text, "alice", "alice:NEW");
        assert_eq!(out, "# users\nalice:NEW\nbob:$6$BBBB$y\n");
        let out = set_user(text, "carol", "carol:NEW");
        assert_eq!(out, format!("{text}\ncarol:NEW\n"));
        assert_eq!(set_user("", "a", "a:h"), "a:h\n");
        let (out, found) = delete_user(text, "bob");
        assert!(found);
        assert_eq!(out, "# users\nalice:$6$AAAA$x\nalice:$6$CCCC$z");
        let (same, found) = delete_user(text, "nobody");
        assert!(!found);
        assert_eq!(same, text);
    }

    #[test]
    fn convert_hashes_plain_passwords() {
        let hashed = format_line("done", &PasswordHash::sha512(b"x")).unwrap();
        let text = format!("# c\nalice:pw1\r\nbob:pw:with:colons\nnocolon\n{hashed}\n");
        let (out, notes) = convert_plaintext(&text, |p| Ok(PasswordHash::sha512(p))).unwrap();
        let (f, errs) = PasswdFile::parse(out.as_bytes());
        assert_eq!(errs.len(), 1, "the no-colon line stays: {errs:?}");
        assert_eq!(f.check(Some("alice"), Some(b"pw1")), Verdict::Ok);
        assert_eq!(f.check(Some("bob"), Some(b"pw:with:colons")), Verdict::Ok);
        assert_eq!(f.check(Some("done"), Some(b"x")), Verdict::Ok);
        assert_eq!(notes.iter().map(|n| n.line).collect::<Vec<_>>(), vec![4, 5]);
        assert!(out.starts_with("# c\nalice:$6$"));
        assert!(convert_plaintext("u:\n", |p| Ok(PasswordHash::sha512(p))).is_err());
    }
}
