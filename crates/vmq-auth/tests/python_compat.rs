//! Compatibility of the `vmq.passwd` format with hashes made independently of this crate:
//! a committed fixture written by Python's `hashlib`, and (when `python3` is on the PATH)
//! fresh hashes made by Python at test time plus Python checking the hashes this crate makes.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use vmq_auth::passwd::{format_line, PasswdFile, PasswordHash, Verdict};

/// The users and passwords of `fixtures/python_hashlib.passwd` (and of the live test).
fn users() -> Vec<(&'static str, String)> {
    vec![
        ("henry", "secret".into()),
        ("joe", "pässwörd ü".into()),
        ("spaces", "a b c ".into()),
        ("colon-pw", "x:y".into()),
        ("long", "L".repeat(300)),
    ]
}

fn assert_users(file: &PasswdFile) {
    let users = users();
    assert_eq!(file.len(), users.len());
    for (user, password) in &users {
        assert_eq!(
            file.check(Some(user), Some(password.as_bytes())),
            Verdict::Ok,
            "{user}"
        );
        assert_eq!(
            file.check(Some(user), Some(b"not the password")),
            Verdict::InvalidCredentials,
            "{user}"
        );
    }
}

#[test]
fn committed_python_fixture_verifies() {
    let text = include_bytes!("fixtures/python_hashlib.passwd");
    let (file, errors) = PasswdFile::parse(text);
    assert!(errors.is_empty(), "{errors:?}");
    assert_users(&file);
}

fn python3() -> Option<Command> {
    let ok = Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("python3 not found: live hashlib cross-check skipped (the fixture still ran)");
    }
    ok.then(|| Command::new("python3"))
}

/// Python's hashlib hashes; this crate verifies.
#[test]
fn python_hashes_verify_here() {
    let Some(mut py) = python3() else { return };
    let script = r#"
import base64, hashlib, os, sys
for line in sys.stdin.read().splitlines():
    user, pw = line.split("\t", 1)
    salt = os.urandom(12)
    digest = hashlib.sha512(pw.encode() + salt).digest()
    print("%s:$6$%s$%s" % (user, base64.b64encode(salt).decode(), base64.b64encode(digest).decode()))
"#;
    let input: String = users().iter().map(|(u, p)| format!("{u}\t{p}\n")).collect();
    let out = run(py.arg("-c").arg(script), &input);
    let (file, errors) = PasswdFile::parse(out.as_bytes());
    assert!(errors.is_empty(), "{errors:?}");
    assert_users(&file);
}

/// This crate hashes; Python's hashlib verifies (right and wrong passwords).
#[test]
fn hashes_made_here_verify_in_python() {
    let Some(mut py) = python3() else { return };
    let script = r#"
import base64, hashlib, sys
lines = sys.stdin.read().splitlines()
for entry, pw in zip(lines[0::2], lines[1::2]):
    user, rest = entry.split(":", 1)
    empty, kind, salt, digest = rest.split("$")
    assert empty == "" and kind == "6", entry
    salt = base64.b64decode(salt, validate=True)
    assert len(salt) == 12, len(salt)
    good = hashlib.sha512(pw.encode() + salt).digest() == base64.b64decode(digest, validate=True)
    bad = hashlib.sha512(b"x" + pw.encode() + salt).digest() == base64.b64decode(digest)
    print(user, good and not bad)
"#;
    let mut input = String::new();
    for (user, password) in &users() {
        let line = format_line(user, &PasswordHash::sha512(password.as_bytes()))
            .unwrap_or_else(|e| panic!("{e}"));
        input.push_str(&format!("{line}\n{password}\n"));
    }
    let out = run(py.arg("-c").arg(script), &input);
    let expected: String = users().iter().map(|(u, _)| format!("{u} True\n")).collect();
    assert_eq!(out, expected);
}

fn run(cmd: &mut Command, stdin: &str) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    child
        .stdin
        .take()
        .map(|mut s| s.write_all(stdin.as_bytes()))
        .transpose()
        .unwrap_or_else(|e| panic!("stdin: {e}"));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "python3 failed");
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{e}"))
}
