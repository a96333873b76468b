//! `vmq-bench` run as a process over real sockets: against our broker started in this process
//! (anonymous access, a free port) and against Mosquitto, with short durations; the JSON summary
//! and the exit codes are checked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::{
    collections::HashMap,
    net::{SocketAddr, TcpListener, TcpStream},
    process::Output,
    time::{Duration, Instant},
};

use serde_json::Value;

/// Our broker on 127.0.0.1, a free port.
async fn broker() -> vmq_broker::Broker {
    let conf = "allow_anonymous = on\nlistener.tcp.default = 127.0.0.1:0\nsystree_enabled = off\n";
    let config = vmq_conf::Config::from_str(conf, "test.conf", &HashMap::new()).unwrap();
    vmq_broker::Broker::builder(config).start().await.unwrap()
}

fn port_of(b: &vmq_broker::Broker) -> u16 {
    b.local_addrs()[0].port()
}

/// Runs vmq-bench with `args` (a minute at most).
async fn bench(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_vmq-bench"))
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("vmq-bench finishes within a minute")
        .expect("vmq-bench runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The JSON summary of a run that must have exited with `code`.
fn json_of(o: &Output, code: i32) -> Value {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit code; stderr:\n{}\nstdout:\n{}",
        stderr(o),
        String::from_utf8_lossy(&o.stdout)
    );
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is JSON ({e}):\n{}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

fn n(v: &Value, key: &str) -> u64 {
    v["summary"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("summary.{key} in {v}"))
}

/// A short (1 s) run against `port` with the whitespace-separated `flags`, which must exit 0;
/// its JSON summary.
async fn short_run(port: u16, flags: &str) -> Value {
    let port = port.to_string();
    let mut args = vec!["--port", &port];
    args.extend(flags.split_whitespace());
    args.extend(["--duration", "1s", "--drain", "3s", "--json", "--quiet"]);
    json_of(&bench(&args).await, 0)
}

/// Checks that a lossless run delivered everything it should.
fn assert_lossless(v: &Value) {
    assert!(n(v, "sent") > 0, "{v}");
    assert_eq!(n(v, "received"), n(v, "expected"), "{v}");
    assert_eq!(n(v, "unique"), n(v, "expected"), "{v}");
    assert_eq!(n(v, "lost"), 0, "{v}");
    assert_eq!(n(v, "duplicates"), 0, "{v}");
    assert_eq!(n(v, "errors"), 0, "{v}: {}", v["errors_seen"]);
    assert!(
        v["summary"]["latency_us"]["p99"].as_f64().unwrap() > 0.0,
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_qos1_lose_nothing() {
    let b = broker().await;
    let flags = "--publishers 3 --subscribers 3 --qos 1 --rate 600";
    let v = short_run(port_of(&b), flags).await;
    assert_lossless(&v);
    assert_eq!(n(&v, "expected"), n(&v, "sent"), "pairs: one delivery each");
    let acked = n(&v, "acked");
    assert_eq!(acked, n(&v, "sent"), "every QoS 1 publish acknowledged");
    assert_eq!(n(&v, "connected"), 6);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_qos2_over_mqtt5() {
    let b = broker().await;
    let flags = "--publishers 2 --subscribers 2 --qos 2 --mqtt-version 5 --pub-rate 200 \
                 --warmup 300ms";
    let v = short_run(port_of(&b), flags).await;
    assert_lossless(&v);
    assert_eq!(v["scenario"]["mqtt_version"], "5");
    assert_eq!(n(&v, "expected"), n(&v, "sent"));
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_expects_publishes_times_subscribers() {
    let b = broker().await;
    let flags = "--publishers 1 --subscribers 4 --qos 1 --topic bench/all --filter bench/all \
                 --rate 200";
    let v = short_run(port_of(&b), flags).await;
    assert_eq!(n(&v, "expected"), n(&v, "sent") * 4, "{v}");
    assert_eq!(v["scenario"]["fanout"], serde_json::json!([4]));
    assert_lossless(&v);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requirements_decide_the_exit_code() {
    let b = broker().await;
    let port = port_of(&b).to_string();
    let common = [
        "--port",
        &port,
        "--qos",
        "1",
        "--rate",
        "200",
        "--duration",
        "1s",
    ];

    let mut args = common.to_vec();
    args.extend(["--require", "p99<=1us", "--require", "loss==0"]);
    let o = bench(&args).await;
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("requirement not met: p99<=1us"),
        "the unmet requirement is named:\n{err}"
    );
    assert!(
        !err.contains("requirement not met: loss==0"),
        "a met requirement is not reported as unmet:\n{err}"
    );
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("FAIL  p99<=1us"), "{table}");
    assert!(table.contains("ok    loss==0"), "{table}");

    let mut args = common.to_vec();
    args.extend(["--require", "p99<=10s", "--require", "loss==0", "--json"]);
    let v = json_of(&bench(&args).await, 0);
    assert_eq!(v["passed"], true);
    assert_eq!(v["requirements"].as_array().unwrap().len(), 2);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_file_is_loaded_and_flags_override_it() {
    let b = broker().await;
    let port = port_of(&b);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        format!(
            "port = {port}\npublishers = 1\nsubscribers = 3\nqos = 1\nduration = \"1s\"\n\
             drain = \"3s\"\npub_rate = 100\ntopic = \"file/t\"\nfilter = \"file/+\"\n\
             require = [\"loss==0\", {{ metric = \"p99\", op = \"<=\", value = \"1us\" }}]\n"
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();

    // The file's impossible requirement fails the run...
    let o = bench(&["--scenario", path, "--quiet"]).await;
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", stderr(&o));
    assert!(stderr(&o).contains("p99<=1us"), "{}", stderr(&o));

    // ...flags override it, and the rest of the file still applies.
    let flags = [
        "--subscribers",
        "2",
        "--require",
        "loss==0",
        "--json",
        "--quiet",
    ];
    let mut args = vec!["--scenario", path];
    args.extend(flags);
    let v = json_of(&bench(&args).await, 0);
    assert_eq!(v["scenario"]["subscribers"], 2, "the flag wins");
    assert_eq!(v["scenario"]["qos"], 1, "from the file");
    assert_eq!(v["scenario"]["topic"], "file/t", "from the file");
    assert_eq!(n(&v, "connected"), 3);
    assert_eq!(n(&v, "expected"), n(&v, "sent") * 2);
    assert_lossless(&v);
    b.shutdown().await;
}

#[tokio::test]
async fn usage_and_connection_errors_exit_2() {
    // A port nobody listens on.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let o = bench(&["--port", &port, "--duration", "1s", "--quiet"]).await;
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("cannot connect to 127.0.0.1:") && err.contains(&port),
        "a clear connection error:\n{err}"
    );

    let o = bench(&["--require", "speed>=1"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown metric `speed`"),
        "{}",
        stderr(&o)
    );

    let o = bench(&["--scenario", "/nonexistent/vmq-bench.toml"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such file"), "{}", stderr(&o));

    let o = bench(&["--payload-size", "8", "--dry-run"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("at least 24"), "{}", stderr(&o));
}

#[tokio::test]
async fn help_documents_the_flags_and_exit_codes() {
    let o = bench(&["--help"]).await;
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout);
    let documented = "--publishers --subscribers --qos --rate --pub-rate --payload-size --topic \
                      --filter --mqtt-version --clean-session --client-id-prefix --username \
                      --password --duration --warmup --drain --inflight --require --scenario \
                      --json Exit";
    for word in documented.split_whitespace() {
        assert!(help.contains(word), "--help mentions {word}");
    }
}

/// A Mosquitto on a free port, killed when dropped.
struct Mosquitto {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The mosquitto executable, if installed.
fn mosquitto_exe() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
}

/// Starts mosquitto (anonymous, no persistence) on a free port.
fn mosquitto(exe: &std::path::Path) -> (Mosquitto, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
    )
    .unwrap();
    let child = std::process::Command::new(exe)
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let m = Mosquitto { child, _dir: dir };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "mosquitto listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (m, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_against_mosquitto() {
    let Some(exe) = mosquitto_exe() else {
        println!("skipped works_against_mosquitto: mosquitto is not installed (apt-get install mosquitto)");
        return;
    };
    let (_mosquitto, port) = mosquitto(&exe);
    let flags = "--publishers 2 --subscribers 2 --qos 1 --rate 400 --require loss==0";
    let v = short_run(port, flags).await;
    assert_lossless(&v);
    assert_eq!(n(&v, "expected"), n(&v, "sent"));
}
