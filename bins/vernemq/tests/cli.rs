//! The `vernemq` command as an operator uses it: `version`, `chkconfig` on a good and a bad
//! file (the error names file, line and key), and `start` → `ping` (pong) → a client round trip
//! → `stop` → `ping` fails, all with `--config`.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Command, Output},
    time::Duration,
};

fn vernemq(args: &[&str], cwd: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vernemq"))
        .args(args)
        .current_dir(cwd)
        .env_remove("DOCKER_VERNEMQ_ALLOW_ANONYMOUS")
        .output()
        .expect("run vernemq")
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

#[test]
fn version_prints_the_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = vernemq(&["version"], dir.path());
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("vernemq "));
}

#[test]
fn chkconfig_accepts_a_good_file_and_names_file_line_and_key_of_a_bad_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("good.conf");
    std::fs::write(&good, "allow_anonymous = on\nmax_inflight_messages = 10\n").expect("write");
    let out = vernemq(
        &["chkconfig", "--config", good.to_str().expect("utf-8")],
        dir.path(),
    );
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("config is OK"));

    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "allow_anonymous = on\n\nmax_inflight_mesages = 10\n").expect("write");
    let out = vernemq(
        &["chkconfig", "--config", bad.to_str().expect("utf-8")],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.conf:3"), "{err}");
    assert!(err.contains("max_inflight_mesages"), "{err}");
}

#[test]
fn start_ping_stop_with_a_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let conf = dir.path().join("vernemq.conf");
    std::fs::write(
        &conf,
        format!(
            "allow_anonymous = on\nlistener.tcp.default = 127.0.0.1:{port}\n\
             systree_enabled = off\nsetup.data_dir = {}\nlog.console.file = {}\n",
            dir.path().join("data").display(),
            dir.path().join("console.log").display()
        ),
    )
    .expect("write conf");
    let conf = conf.to_str().expect("utf-8");
    let out = vernemq(&["start", "--config", conf], dir.path());
    assert!(out.status.success(), "start: {out:?}");
    let out = vernemq(&["ping", "--config", conf], dir.path());
    assert!(out.status.success(), "ping: {out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "pong");

    // A raw MQTT 3.1.1 CONNECT gets a successful CONNACK.
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&[
        0x10, 14, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 60, 0, 2, b'c', b'1',
    ])
    .expect("send CONNECT");
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack).expect("CONNACK");
    assert_eq!(connack, [0x20, 2, 0, 0]);
    drop(s);

    let out = vernemq(&["stop", "--config", conf], dir.path());
    assert!(out.status.success(), "stop: {out:?}");
    let out = vernemq(&["ping", "--config", conf], dir.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not responding to pings"));
}
