//! Runs the built `vmq-passwd` as a user would (scripted: password lines on standard input)
//! and checks the files it writes with `vmq-auth` and with Python's hashlib.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use vmq_auth::passwd::{PasswdFile, Verdict};

fn vmq_passwd(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vmq-passwd"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The tool may exit before reading (refusals); a closed pipe is fine then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: &str) {
    let out = vmq_passwd(args, stdin);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fails(args: &[&str], stdin: &str) -> String {
    let out = vmq_passwd(args, stdin);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn load(path: &Path) -> PasswdFile {
    let (file, errors) = PasswdFile::parse(&std::fs::read(path).unwrap());
    assert!(errors.is_empty(), "{errors:?}");
    file
}

/// Python's hashlib checks every `user password` pair against the file; returns its report.
fn python_check(path: &Path, pairs: &[(&str, &str)]) -> Option<String> {
    let script = r##"
import base64, hashlib, sys
entries = {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    user, rest = line.split(":", 1)
    entries[user] = rest
for line in sys.stdin.read().splitlines():
    user, pw = line.split("\t", 1)
    empty, kind, salt, digest = entries[user].split("$")
    salt = base64.b64decode(salt, validate=True)
    ok = kind == "6" and len(salt) == 12 and hashlib.sha512(pw.encode() + salt).digest() == base64.b64decode(digest, validate=True)
    print(user, ok)
"##;
    let mut child = match Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => {
            eprintln!("python3 not found: hashlib cross-check skipped");
            return None;
        }
    };
    let input: String = pairs.iter().map(|(u, p)| format!("{u}\t{p}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed");
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn create_add_update_delete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmq.passwd");
    let file = path.to_str().unwrap();

    ok(&["-c", file, "henry"], "secret\nsecret\n");
    assert_eq!(
        load(&path).check(Some("henry"), Some(b"secret")),
        Verdict::Ok
    );

    // -c refuses an existing file and leaves it alone; -cf overwrites it.
    let before = std::fs::read(&path).unwrap();
    let err = fails(&["-c", file, "other"], "x\nx\n");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    ok(&["-cf", file, "henry"], "secret2\nsecret2\n");
    let f = load(&path);
    assert_eq!(f.len(), 1);
    assert_eq!(f.check(Some("henry"), Some(b"secret2")), Verdict::Ok);

    // No option: add users, update one, keep the others.
    ok(&[file, "bob"], "bobs pässword\nbobs pässword\n");
    ok(&[file, "john"], "j\n"); // one line is enough when scripted
    ok(&[file, "henry"], "secret3\r\nsecret3\r\n");
    let f = load(&path);
    assert_eq!(f.len(), 3);
    assert_eq!(f.check(Some("henry"), Some(b"secret3")), Verdict::Ok);
    assert_eq!(
        f.check(Some("henry"), Some(b"secret2")),
        Verdict::InvalidCredentials
    );
    assert_eq!(
        f.check(Some("bob"), Some("bobs pässword".as_bytes())),
        Verdict::Ok
    );
    assert_eq!(f.check(Some("john"), Some(b"j")), Verdict::Ok);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("henry:$6$"), "order kept: {text}");
    assert!(!text.contains("secret"), "no plain password in the file");

    if let Some(report) = python_check(
        &path,
        &[
            ("henry", "secret3"),
            ("bob", "bobs pässword"),
            ("john", "j"),
        ],
    ) {
        assert_eq!(report, "henry True\nbob True\njohn True\n");
    }

    // -D.
    ok(&["-D", file, "bob"], "");
    let f = load(&path);
    assert!(!f.contains("bob") && f.contains("henry") && f.contains("john"));
    let out = vmq_passwd(&["-D", file, "nobody"], "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}

#[test]
fn refusals_leave_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmq.passwd");
    let file = path.to_str().unwrap();
    ok(&["-c", file, "henry"], "secret\nsecret\n");
    let before = std::fs::read(&path).unwrap();

    assert!(fails(&[file, "henry"], "a\nb\n").contains("do not match"));
    assert!(fails(&[file, "henry"], "\n").contains("Empty password"));
    assert!(fails(&[file, "henry"], "").contains("Empty password"));
    assert!(fails(&[file, "a:b"], "x\n").contains("':'"));
    assert!(fails(&[file], "x\n").contains("user name is required"));
    assert!(fails(&["-U", file, "henry"], "").contains("only the password file"));
    assert!(fails(&["-c", "-D", file, "henry"], "").contains("cannot be used with"));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let missing = dir.path().join("missing");
    let err = fails(&[missing.to_str().unwrap(), "henry"], "x\n");
    assert!(err.contains("Unable to open password file"), "{err}");
    assert!(!missing.exists());
}

#[test]
fn convert_plain_text_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmq.passwd");
    std::fs::write(&path, "# users\nalice:wonderland\nbob:builder\r\n").unwrap();
    ok(&["-U", path.to_str().unwrap()], "");
    let f = load(&path);
    assert_eq!(f.check(Some("alice"), Some(b"wonderland")), Verdict::Ok);
    assert_eq!(f.check(Some("bob"), Some(b"builder")), Verdict::Ok);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# users\nalice:$6$"));
    if let Some(report) = python_check(&path, &[("alice", "wonderland"), ("bob", "builder")]) {
        assert_eq!(report, "alice True\nbob True\n");
    }
    // Running -U again does not hash the hashes.
    let out = vmq_passwd(&["-U", path.to_str().unwrap()], "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already hashed"));
    assert_eq!(
        load(&path).check(Some("alice"), Some(b"wonderland")),
        Verdict::Ok
    );
}

#[test]
fn argon2_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmq.passwd");
    let file = path.to_str().unwrap();
    ok(&["-c", "--argon2", file, "modern"], "pw\npw\n");
    ok(&[file, "classic"], "pw\npw\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("modern:$argon2id$"), "{text}");
    assert!(text.contains("\nclassic:$6$"), "{text}");
    let f = load(&path);
    assert_eq!(f.check(Some("modern"), Some(b"pw")), Verdict::Ok);
    assert_eq!(f.check(Some("classic"), Some(b"pw")), Verdict::Ok);
}

#[cfg(unix)]
#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vmq.passwd");
    let file = path.to_str().unwrap();
    ok(&["-c", file, "a"], "pw\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    ok(&[file, "b"], "pw\n");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}
