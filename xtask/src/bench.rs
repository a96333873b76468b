//! `cargo xtask bench`: the whole-broker benchmark. Installs the peers when missing
//! (Mosquitto from Debian, rumqttd and RMQTT's `rmqttd` with `cargo install`), builds
//! `yardstick` from `../shared/bench` and our `vernemq` in release mode, then runs each scenario
//! against every broker in turn, `--runs` times, and prints one table of medians with ratios
//! against the best peer. It is a benchmark, not a test: it never runs in CI and never fails on
//! a number.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{have, run};

/// A broker process, killed when dropped.
pub(crate) struct Broker {
    pub(crate) name: &'static str,
    pub(crate) port: u16,
    pub(crate) child: Child,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scenario: its name for `--scenarios`, yardstick arguments and the figures read from
/// its JSON (the latency scenario gives two from one run).
struct Scenario {
    name: &'static str,
    label: &'static str,
    args: &'static [&'static str],
    figures: &'static [Figure],
}

/// One row of the table: a figure of yardstick's JSON.
struct Figure {
    label: &'static str,
    key: &'static str,
    higher_is_better: bool,
}

const RECV_RATE: &[Figure] = &[Figure {
    label: "(recv/s)",
    key: "recv_rate",
    higher_is_better: true,
}];

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "pairs",
        label: "pairs qos1 500",
        args: &["pairs", "--qos", "1", "--pairs", "500"],
        figures: RECV_RATE,
    },
    Scenario {
        name: "fanout1",
        label: "fanout qos1 1->100",
        args: &["fanout", "--qos", "1", "--subscribers", "100"],
        figures: RECV_RATE,
    },
    Scenario {
        name: "fanout0",
        label: "fanout qos0 1->100",
        args: &["fanout", "--qos", "0", "--subscribers", "100"],
        figures: RECV_RATE,
    },
    Scenario {
        name: "fanin",
        label: "fanin qos1 100->1",
        args: &["fanin", "--qos", "1", "--publishers", "100"],
        figures: RECV_RATE,
    },
    Scenario {
        name: "latency",
        label: "latency qos1 5k/s",
        args: &["latency", "--qos", "1", "--rate", "5000"],
        figures: &[
            Figure {
                label: "p99 (us)",
                key: "latency_us.p99",
                higher_is_better: false,
            },
            Figure {
                label: "p99.9 (us)",
                key: "latency_us.p999",
                higher_is_better: false,
            },
        ],
    },
];

/// A command for `program` that first raises its open-files limit to the hard limit (the
/// `conns` scenario holds ~19,000 sockets in the broker and as many in yardstick).
pub(crate) fn with_fd_limit(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "ulimit -n \"$(ulimit -Hn)\" && exec \"$@\"", "sh"])
        .arg(program);
    cmd
}

pub(crate) fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

pub(crate) fn wait_port(port: u16) -> Result<()> {
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on port {port}")
}

fn start(name: &'static str, root: &Path, work: &Path) -> Result<Broker> {
    let port = free_port()?;
    let child = match name {
        "vernemq-rs" => {
            let conf = work.join("vernemq.conf");
            // `publish_backpressure`: QoS 1 fan-in without loss, as the benchmark demands (off
            // by default, as in VerneMQ, whose queues drop instead; see README).
            std::fs::write(
                &conf,
                format!(
                    "allow_anonymous = on\nlistener.tcp.default = 127.0.0.1:{port}\n\
                     listener.tcp.max_connections = infinity\nsystree_enabled = off\n\
                     publish_backpressure = on\n\
                     log.console = console\nlog.console.level = warning\nsetup.data_dir = {}\n",
                    work.join("data").display()
                ),
            )?;
            with_fd_limit(target_dir(root).join("release/vernemq"))
                .args(["console", "--config"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?
        }
        "mosquitto" => {
            let conf = work.join("mosquitto.conf");
            std::fs::write(
                &conf,
                format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
            )?;
            with_fd_limit(mosquitto_bin())
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?
        }
        "rumqttd" => {
            let conf = work.join("rumqttd.toml");
            std::fs::write(
                &conf,
                format!(
                    "id = 0\n[router]\nid = 0\nmax_connections = 20010\nmax_outgoing_packet_count = 200\n\
                     max_segment_size = 104857600\nmax_segment_count = 10\n\
                     [v4.1]\nname = \"v4-1\"\nlisten = \"127.0.0.1:{port}\"\nnext_connection_delay_ms = 0\n\
                     [v4.1.connections]\nconnection_timeout_ms = 60000\nmax_payload_size = 20480\n\
                     max_inflight_count = 100\ndynamic_filters = true\n"
                ),
            )?;
            with_fd_limit("rumqttd")
                .arg("--config")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?
        }
        "rmqtt" => {
            let conf = work.join("rmqttd.toml");
            std::fs::write(&conf, rmqtt_config(port, work)?)?;
            // Its working directory is the bench dir: rmqttd also reads `./rmqtt.*` when
            // present, and no stray file of the caller's may change the configuration.
            with_fd_limit("rmqttd")
                .arg("--config")
                .arg(&conf)
                .current_dir(work)
                .env_remove("RUST_LOG")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?
        }
        other => bail!("unknown broker {other}"),
    };
    wait_port(port)?;
    Ok(Broker { name, port, child })
}

/// RMQTT's configuration for one run: its defaults (of `rmqttd` 0.24 without a config file)
/// except for what would refuse or disturb the load generator. Writes the plugin directory as
/// well; the three plugins rmqttd starts by default (ACL, counter, HTTP API) keep their defaults.
fn rmqtt_config(port: u16, work: &Path) -> Result<String> {
    let plugins = work.join("rmqtt-plugins");
    std::fs::create_dir_all(&plugins)?;
    // The HTTP API plugin binds 0.0.0.0:6060 by default, and rmqttd exits when that port is
    // taken: a free loopback port instead.
    std::fs::write(
        plugins.join("rmqtt-http-api.toml"),
        format!("http_laddr = \"127.0.0.1:{}\"\n", free_port()?),
    )?;
    Ok(format!(
        // The only listener: the scenario's port, on loopback, anonymous clients allowed
        // (rmqttd's default is to refuse them). Its other limits are rmqttd's defaults, which
        // the scenarios stay under: 1,024,000 connections, 500 handshakes at once (more
        // wait, none is refused), 16 in flight per client each way (yardstick keeps 10). And
        // 1,000 queued messages per subscriber, Mosquitto's default too: when full, rmqttd
        // drops (the newest QoS 0, the oldest QoS 1/2, still acknowledged to the publisher),
        // which the `lost` rows show.
        "[listener.tcp.bench]\naddr = \"127.0.0.1:{port}\"\nallow_anonymous = true\n\
         [node.busy]\n\
         # On: CONNACK 'server unavailable' while the machine's CPU is over 90 %, i.e. on a\n\
         # shared 2-core box whenever yardstick or a neighbour's build is busy.\n\
         check_enable = false\n\
         [rpc]\n\
         # The cluster gRPC server: 0.0.0.0:5363 by default; unused by a single node.\n\
         server_addr = \"127.0.0.1:{rpc}\"\n\
         [plugins]\ndir = \"{plugins}\"\n",
        rpc = free_port()?,
        plugins = plugins.display(),
    ))
}

/// Debian's `mosquitto` lives in /usr/sbin, often not on a user's PATH.
pub(crate) fn mosquitto_bin() -> &'static str {
    if Path::new("/usr/sbin/mosquitto").exists() {
        "/usr/sbin/mosquitto"
    } else {
        "mosquitto"
    }
}

/// Installs Debian's mosquitto when it is missing.
pub(crate) fn ensure_mosquitto() -> Result<()> {
    if !have("mosquitto") && !Path::new("/usr/sbin/mosquitto").exists() {
        run(Command::new("apt-get").args(["install", "-y", "-q", "mosquitto"]))?;
    }
    Ok(())
}

/// Builds our `vernemq` in release mode (the binary is `<target>/release/vernemq`).
pub(crate) fn build_vernemq(root: &Path) -> Result<PathBuf> {
    run(Command::new("cargo")
        .args(["build", "--release", "--quiet", "-p", "vernemq"])
        .current_dir(root))?;
    Ok(target_dir(root).join("release/vernemq"))
}

/// The number at `path` (`key` or `key.sub`) in yardstick's JSON line.
fn figure(json: &str, path: &str) -> Option<f64> {
    let line: serde_json::Value = serde_json::from_str(json).ok()?;
    line.pointer(&format!("/{}", path.replace('.', "/")))?
        .as_f64()
}

/// yardstick's failures in one run, for the progress line: a figure from a run with refused
/// connections or protocol errors is not comparable.
fn failures(json: &str) -> String {
    let Ok(line) = serde_json::from_str::<serde_json::Value>(json) else {
        return "yardstick printed no result".to_string();
    };
    let errors = line["errors"].as_f64().unwrap_or(0.0);
    let protocol = line["protocol_errors"].as_f64().unwrap_or(0.0);
    if errors == 0.0 && protocol == 0.0 {
        return "no errors".to_string();
    }
    let first = line["first_error"].as_str().unwrap_or("?");
    format!("ERRORS {errors}, protocol errors {protocol}, first: {first}")
}

pub(crate) fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// One row of the final table: a label, each broker's figures (one per run), and whether
/// higher is better (`None`: informative, no ratio).
struct Row {
    label: String,
    higher_is_better: Option<bool>,
    figures: Vec<Vec<f64>>,
}

impl Row {
    fn new(label: impl Into<String>, higher_is_better: Option<bool>, brokers: usize) -> Row {
        Row {
            label: label.into(),
            higher_is_better,
            figures: vec![Vec::new(); brokers],
        }
    }
}

/// A memory field of a process's `/proc/PID/status` (`VmRSS`, `VmHWM`...), KiB.
pub(crate) fn status_kib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs yardstick and returns its JSON line (empty when it printed none).
fn yardstick(yardstick: &Path, args: &[&str], port: u16, pid: u32) -> Result<String> {
    let out = with_fd_limit(yardstick)
        .args(args)
        .args(["--port", &port.to_string()])
        .args(["--broker-pid", &pid.to_string(), "--quiesce", "20"])
        .stderr(Stdio::null())
        .output()
        .context("running yardstick")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .find(|l| l.starts_with('{'))
        .unwrap_or("")
        .to_string())
}

/// The peers `--peers` accepts, in table order.
const PEERS: &[&str] = &["mosquitto", "rumqttd", "rmqtt"];

/// `--peers a,b`: the named peers, in table order; an unknown name is an error.
fn parse_peers(list: &str) -> Result<Vec<&'static str>> {
    let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Some(bad) = wanted.iter().find(|w| !PEERS.contains(w)) {
        bail!(
            "unknown peer {bad:?}: --peers takes a list of {}",
            PEERS.join(",")
        );
    }
    Ok(PEERS
        .iter()
        .copied()
        .filter(|p| wanted.contains(p))
        .collect())
}

/// Runs the benchmark. Options: `--runs N` (3), `--duration S` (10), `--peers a,b`
/// (mosquitto,rumqttd,rmqtt), `--connections C` (19000, the `conns` scenario; 0 skips it),
/// `--scenarios a,b` (pairs,fanout1,fanout0,fanin,latency: all).
///
/// Each scenario runs against every broker back to back, the order rotating from run to run,
/// so that a slow minute of this shared machine weighs on every broker of a row alike.
pub fn bench(root: &Path, args: &[String]) -> Result<()> {
    let mut runs = 3usize;
    let mut duration = "10".to_string();
    let mut connections = "19000".to_string();
    let mut peers = PEERS.to_vec();
    let mut wanted: Option<Vec<String>> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--runs" => runs = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(runs),
            "--duration" => duration = args.get(i + 1).cloned().unwrap_or(duration),
            "--connections" => connections = args.get(i + 1).cloned().unwrap_or(connections),
            "--peers" => peers = parse_peers(args.get(i + 1).map_or("", String::as_str))?,
            "--scenarios" => {
                wanted = Some(parse_scenarios(args.get(i + 1).map_or("", String::as_str))?)
            }
            _ => {}
        }
        i += 2;
    }
    let floor_secs = crate::floor::parse_secs(&duration)?;
    ensure_mosquitto()?;
    if peers.contains(&"rumqttd") && !have("rumqttd") {
        // Not `--locked`: rumqttd 0.20's lock file pins a `metrics` that no longer compiles.
        run(Command::new("cargo").args(["install", "rumqttd"]))?;
    }
    if peers.contains(&"rmqtt") && !have("rmqttd") {
        // rmqttd compiles every plugin in: its build runs `protoc` (the cluster's gRPC code)
        // and `cmake` (librdkafka, for the Kafka bridges).
        for (tool, package) in [("protoc", "protobuf-compiler"), ("cmake", "cmake")] {
            if !have(tool) {
                run(Command::new("apt-get").args(["install", "-y", "-q", package]))?;
            }
        }
        // `~0.24`: `rmqtt_config` writes 0.24's keys, and a key a later version renamed
        // would be ignored, not refused. Not `--locked`: the harness was checked with a build
        // of the newest compatible dependencies; the crate's own lock file was not tried.
        run(Command::new("cargo").args(["install", "rmqttd", "--version", "~0.24"]))?;
    }
    let bench_dir = root.join("../shared/bench");
    let ys_target = target_dir(root).join("yardstick");
    run(Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .env("CARGO_TARGET_DIR", &ys_target)
        .current_dir(&bench_dir))?;
    let ys = ys_target.join("release/yardstick");
    build_vernemq(root)?;
    let work = target_dir(root).join("xtask-bench");
    std::fs::create_dir_all(&work)?;

    let mut brokers = vec!["vernemq-rs"];
    brokers.extend(peers);
    let n = brokers.len();
    let scenarios: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| {
            wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|n| n == s.name))
        })
        .collect();
    // Per scenario: its figures' rows, then its loss and CPU rows.
    let mut rows: Vec<Vec<Row>> = scenarios
        .iter()
        .map(|s| {
            s.figures
                .iter()
                .map(|f| {
                    Row::new(
                        format!("{} {}", s.label, f.label),
                        Some(f.higher_is_better),
                        n,
                    )
                })
                .collect()
        })
        .collect();
    let mut cpu: Vec<Row> = scenarios
        .iter()
        .map(|s| Row::new(format!("broker CPU % in {}", s.label), None, n))
        .collect();
    let mut lost: Vec<Row> = scenarios
        .iter()
        .map(|s| Row::new(format!("lost (%) in {}", s.label), None, n))
        .collect();
    let mut hwm = Row::new("broker peak RSS in any flow scenario (MiB)", None, n);
    let mut kib = Row::new(
        format!("idle memory, {connections} conns (KiB/conn)"),
        Some(false),
        n,
    );
    let mut rate = Row::new(
        format!("connect rate, {connections} conns (conn/s)"),
        Some(true),
        n,
    );
    let mut conn_hwm = Row::new(
        format!("broker peak RSS with {connections} conns (MiB)"),
        None,
        n,
    );
    // `--connections 0` skips the idle-connection scenario.
    let idle_scenario = connections != "0";
    let mut floors: Vec<crate::floor::Floor> = Vec::new();
    for run_no in 0..runs {
        let order: Vec<usize> = (0..n).map(|k| (k + run_no) % n).collect();
        let mut peak_mib: Vec<Option<f64>> = vec![None; n];
        for (s, scenario) in scenarios.iter().enumerate() {
            for &b in &order {
                let name = brokers[b];
                // A fresh broker per scenario: one scenario's aftermath (an overload, queues
                // still draining) must not decide the next one's figure.
                let _ = std::fs::remove_dir_all(work.join("data"));
                let broker = start(name, root, &work)?;
                let pid = broker.child.id();
                let mut args = scenario.args.to_vec();
                args.extend(["--duration", duration.as_str()]);
                let json = yardstick(&ys, &args, broker.port, pid)?;
                // A run that received nothing (a peer that stopped answering) has no
                // latency: its zeros are not figures.
                let received = figure(&json, "received").unwrap_or(0.0);
                let mut values = Vec::new();
                for (f, fig) in scenario.figures.iter().enumerate() {
                    let value =
                        figure(&json, fig.key).filter(|_| received > 0.0 || fig.higher_is_better);
                    if let Some(v) = value {
                        rows[s][f].figures[b].push(v);
                    }
                    values.push(format!("{} {value:?}", fig.label));
                }
                if let Some(v) = figure(&json, "broker_cpu_pct") {
                    cpu[s].figures[b].push(v);
                }
                if let Some(v) = figure(&json, "loss_pct") {
                    lost[s].figures[b].push(v);
                }
                eprintln!(
                    "run {} {} {}: {}, {}",
                    run_no + 1,
                    broker.name,
                    scenario.label,
                    values.join(", "),
                    failures(&json)
                );
                if let Some(v) = status_kib(pid, "VmHWM") {
                    peak_mib[b] = Some(peak_mib[b].unwrap_or(0.0).max(v / 1024.0));
                }
            }
        }
        if scenarios.iter().any(|s| s.name == "latency") {
            let floor = crate::floor::measure(floor_secs)?;
            eprintln!(
                "run {} machine floor (relay, no broker): {floor}",
                run_no + 1
            );
            floors.push(floor);
        }
        for (b, peak) in peak_mib.into_iter().enumerate() {
            if let Some(v) = peak {
                hwm.figures[b].push(v);
            }
        }
        if !idle_scenario {
            continue;
        }
        for &b in &order {
            let name = brokers[b];
            // A fresh broker: one that served connections before reuses freed memory.
            let _ = std::fs::remove_dir_all(work.join("data"));
            let broker = start(name, root, &work)?;
            let pid = broker.child.id();
            let args = [
                "conns",
                "--connections",
                connections.as_str(),
                "--duration",
                "10",
            ];
            let json = yardstick(&ys, &args, broker.port, pid)?;
            if let Some(v) = figure(&json, "kib_per_conn") {
                kib.figures[b].push(v);
            }
            if let Some(v) = figure(&json, "connect_rate") {
                rate.figures[b].push(v);
            }
            if let Some(v) = figure(&json, "rss_hwm_kib") {
                conn_hwm.figures[b].push(v / 1024.0);
            }
            eprintln!(
                "run {} {} conns: {:?} KiB/conn, {:?} conn/s, connected {:?}, alive {:?}, {}",
                run_no + 1,
                broker.name,
                figure(&json, "kib_per_conn"),
                figure(&json, "connect_rate"),
                figure(&json, "connected"),
                figure(&json, "alive"),
                failures(&json)
            );
        }
    }
    let mut rows: Vec<Row> = rows.into_iter().flatten().collect();
    if !idle_scenario {
        // The idle-connection scenario did not run: no empty rows for it.
        rows.push(hwm);
    } else {
        rows.extend([kib, rate, hwm, conn_hwm]);
    }
    rows.extend(lost);
    rows.extend(cpu);
    println!();
    print!("| scenario |");
    for name in &brokers {
        print!(" {name} |");
    }
    println!(" ratio vs best peer |");
    println!("|---|{}---|", "---|".repeat(brokers.len()));
    for row in &rows {
        let medians: Vec<Option<f64>> = row.figures.iter().cloned().map(median).collect();
        print!("| {} |", row.label);
        for m in &medians {
            match m {
                Some(v) if v.abs() < 100.0 => print!(" {v:.2} |"),
                Some(v) => print!(" {v:.0} |"),
                None => print!(" - |"),
            }
        }
        let Some(higher_is_better) = row.higher_is_better else {
            println!(" |");
            continue;
        };
        let ours = medians[0];
        let peers_best = medians[1..].iter().flatten().copied().reduce(|a, b| {
            if higher_is_better {
                a.max(b)
            } else {
                a.min(b)
            }
        });
        match (ours, peers_best) {
            (Some(o), Some(p)) if o > 0.0 && p > 0.0 => {
                let ratio = if higher_is_better { o / p } else { p / o };
                println!(" {ratio:.2}x |");
            }
            _ => println!(" - |"),
        }
    }
    println!(
        "\n(ratio > 1 means vernemq-rs is better; medians of {runs} runs of {duration} s; \
         CPU in % of one core, 200 = both)"
    );
    if !floors.is_empty() {
        println!(
            "machine floor at the latency scenario's rate, a bare relay of two loopback hops and \
             no broker (its p50 is the least a delivery costs here; its tail is no bound): {} \
             (medians of {} runs)",
            crate::floor::medians(&floors),
            floors.len()
        );
    }
    Ok(())
}

/// The scenarios named in a `--scenarios` list (comma-separated).
fn parse_scenarios(list: &str) -> Result<Vec<String>> {
    let names: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        bail!("--scenarios needs a list such as pairs,fanout1");
    }
    for name in &names {
        if !SCENARIOS.iter().any(|s| s.name == name) {
            let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
            bail!("unknown scenario {name:?} (known: {})", known.join(", "));
        }
    }
    Ok(names)
}

/// Where cargo puts build output (`CARGO_TARGET_DIR` or `<root>/target`).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_by_whole_name() {
        let me = std::process::id();
        assert!(status_kib(me, "VmRSS").is_some_and(|kib| kib > 0.0));
        assert!(status_kib(me, "VmHWM").is_some());
        assert_eq!(status_kib(me, "VmR"), None);
    }

    #[test]
    fn peers_are_a_list_in_table_order() {
        assert_eq!(parse_peers("rmqtt").unwrap(), ["rmqtt"]);
        assert_eq!(
            parse_peers("rmqtt, mosquitto").unwrap(),
            ["mosquitto", "rmqtt"]
        );
        assert!(parse_peers("rmqttd").is_err());
        assert!(parse_peers("").is_err());
    }

    #[test]
    fn scenarios_are_named_from_the_table() {
        assert_eq!(
            parse_scenarios("pairs, latency").unwrap(),
            ["pairs", "latency"]
        );
        assert!(parse_scenarios("fanout").is_err());
        assert!(parse_scenarios("").is_err());
    }

    #[test]
    fn failures_name_the_first_error() {
        assert_eq!(failures(""), "yardstick printed no result");
        assert_eq!(
            failures(r#"{"received":5,"errors":0,"protocol_errors":0,"ok":true}"#),
            "no errors"
        );
        assert_eq!(
            failures(
                r#"{"errors":2,"protocol_errors":0,"first_error":"connack refused: 3","ok":false}"#
            ),
            "ERRORS 2, protocol errors 0, first: connack refused: 3"
        );
    }
}
