//! `cargo xtask`: the project's task runner. `test` installs the external test peers (Debian's
//! mosquitto and mosquitto-clients, chromium and haproxy, paho-mqtt from PyPI, MQTT.js from npm)
//! when they are missing and runs every test of the workspace; `deps` only installs; `icount`
//! prints the codec's instructions per packet under callgrind (vmq-codec next to mqttbytes);
//! `bench` and `bench-transports` are the whole-broker benchmarks against peers; `floor` measures
//! the machine's own latency floor (see `floor.rs`).

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

mod bench;
mod bench_transports;
mod floor;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => {
            deps()?;
            test(&args[1..])
        }
        Some("deps") => deps(),
        Some("bench") => bench::bench(&root(), &args[1..]),
        Some("bench-transports") => bench_transports::bench_transports(&root(), &args[1..]),
        Some("bench-auth") => bench_transports::bench_auth(&root(), &args[1..]),
        Some("icount") => icount(&args[1..]),
        Some("floor") => {
            let secs = match args.iter().position(|a| a == "--duration") {
                Some(i) => floor::parse_secs(args.get(i + 1).map_or("", String::as_str))?,
                None => 10.0,
            };
            println!(
                "bare loopback relay at 5,000 msg/s: {}",
                floor::measure(secs)?
            );
            Ok(())
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <test|deps|bench|bench-transports|bench-auth|icount|floor> [args]"
            );
            eprintln!("  test   install the test peers if missing, then run every test");
            eprintln!("  deps   install the test peers (apt, pip, npm) if missing");
            eprintln!("  bench  [--runs N] [--duration S] [--peers mosquitto,rumqttd,rmqtt] [--scenarios a,b]");
            eprintln!("         [--connections C]: yardstick vs peers");
            eprintln!(
                "  bench-transports [--runs N] [--duration S] [--clients N] [--pairs N] [--no-peer]:"
            );
            eprintln!("         TLS handshakes/s, TLS/WS/WSS vs plain throughput, vs Mosquitto");
            eprintln!("  bench-auth  connects/s and QoS 1 throughput with vmq_passwd + vmq_acl vs anonymous");
            eprintln!("  icount [case filter]  instructions per packet (codec) and per delivery (broker) under valgrind");
            eprintln!("  floor  [--duration S]  this machine's latency floor: a bare loopback relay at 5,000 msg/s");
            std::process::exit(2);
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd} >/dev/null 2>&1"))
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn deps() -> Result<()> {
    let mut apt = Vec::new();
    if !have("mosquitto_pub") || !have("mosquitto_sub") {
        apt.push("mosquitto-clients");
    }
    if !have("mosquitto") && !Path::new("/usr/sbin/mosquitto").exists() {
        apt.push("mosquitto");
    }
    // The transport tests: MQTT.js in headless Chromium, PROXY protocol through HAProxy.
    if !have("chromium") && !have("chromium-browser") {
        apt.push("chromium");
    }
    if !have("haproxy") && !Path::new("/usr/sbin/haproxy").exists() {
        apt.push("haproxy");
    }
    if !have("node") {
        apt.push("nodejs");
        apt.push("npm");
    }
    if !apt.is_empty() {
        run(Command::new("apt-get").arg("update").arg("-q"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&apt)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let python = if have("python3") { "python3" } else { "python" };
    let paho_ok = Command::new(python)
        .args([
            "-c",
            "import paho.mqtt, sys; sys.exit(0 if paho.mqtt.__version__ >= '2' else 1)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !paho_ok {
        let pip = || {
            let mut cmd = Command::new(python);
            cmd.args(["-m", "pip", "install", "-q", "paho-mqtt>=2,<3"]);
            cmd
        };
        // A Debian system Python refuses plain `pip install` (PEP 668); install for the user
        // then, since Debian only packages paho-mqtt 1.x.
        if run(&mut pip()).is_err() {
            run(pip().args(["--user", "--break-system-packages"]))?;
        }
    }
    let js_dir = root().join("tests").join("js");
    if !js_dir.join("node_modules").join("mqtt").exists() {
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&js_dir))?;
    }
    Ok(())
}

fn test(extra: &[String]) -> Result<()> {
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["test", "--workspace", "--all-targets"])
            .args(extra)
            .current_dir(root()),
    )?;
    // Doc tests are not part of `--all-targets`.
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["test", "--workspace", "--doc"])
            .current_dir(root()),
    )
}

/// Instruction counts of the codec benchmark packets (`crates/vmq-codec/benches/icount.rs`).
fn icount(extra: &[String]) -> Result<()> {
    if !have("valgrind") {
        bail!("icount needs valgrind (apt-get install valgrind)");
    }
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["bench", "-p", "vmq-codec", "--bench", "icount", "--"])
            .args(extra)
            .current_dir(root()),
    )?;
    // The broker's publish-to-deliver path, per delivery.
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["bench", "-p", "vmq-broker", "--bench", "icount_publish"])
            .current_dir(root()),
    )
}
