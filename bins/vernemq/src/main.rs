//! `vernemq`: runs a node in the foreground (`console`) or in the background (`start`), stops
//! it (`stop`), checks it (`ping`), prints the version and validates a configuration
//! (`chkconfig`). Argument parsing and exit codes only; the broker is `vmq-broker`.

use std::{
    collections::HashMap,
    fs,
    io::Write,
    path::PathBuf,
    process::{Command, ExitCode, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use nix::{sys::signal, unistd::Pid};
use vmq_conf::Config;

#[derive(Parser, Debug)]
#[command(name = "vernemq", version, about = "A VerneMQ-compatible MQTT broker")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args, Debug, Clone)]
struct ConfigArg {
    /// vernemq.conf to use (default: ./vernemq.conf if present, else the built-in defaults).
    #[arg(long, short = 'c', value_name = "PATH")]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the node in the foreground, logging to the console.
    Console(ConfigArg),
    /// Start the node in the background.
    Start(ConfigArg),
    /// Stop the node started with `start`.
    Stop(ConfigArg),
    /// Check that the node is running (prints `pong`).
    Ping(ConfigArg),
    /// Print the version.
    Version,
    /// Check the configuration and print the problems found.
    Chkconfig(ConfigArg),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Console(c) => console(&c),
        Cmd::Start(c) => start(&c),
        Cmd::Stop(c) => stop(&c),
        Cmd::Ping(c) => ping(&c),
        Cmd::Version => {
            println!("vernemq {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Cmd::Chkconfig(c) => chkconfig(&c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn config_path(arg: &ConfigArg) -> Option<PathBuf> {
    arg.config.clone().or_else(|| {
        let local = PathBuf::from("vernemq.conf");
        local.exists().then_some(local)
    })
}

fn load(arg: &ConfigArg) -> Result<Config> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let path = config_path(arg);
    Config::load(path.as_deref(), &env).map_err(|errors| {
        anyhow::anyhow!(
            "configuration {} is invalid:\n{errors}",
            path.as_deref()
                .map_or("(built-in defaults)".to_string(), |p| p
                    .display()
                    .to_string())
        )
    })
}

fn chkconfig(arg: &ConfigArg) -> Result<()> {
    load(arg)?;
    println!("config is OK");
    Ok(())
}

fn pid_file(config: &Config) -> PathBuf {
    config.data_dir.join("vernemq.pid")
}

fn init_logging(config: &Config, foreground: bool) -> Result<vmq_broker::LogLevelSetter> {
    vmq_broker::logging::init(&config.log, foreground).context("setting up logging")
}

fn warn_low_file_limit() {
    if let Ok((soft, _hard)) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
    {
        if soft < 65_536 {
            tracing::warn!(
                limit = soft,
                "the open files limit is low: each connection needs one; raise it with `ulimit -n`"
            );
        }
    }
}

fn console(arg: &ConfigArg) -> Result<()> {
    let config = load(arg)?;
    let log_level = init_logging(&config, true)?;
    warn_low_file_limit();
    fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let pid_path = pid_file(&config);
    fs::write(&pid_path, std::process::id().to_string())
        .with_context(|| format!("writing {}", pid_path.display()))?;
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if config.schedulers > 0 {
        runtime.worker_threads(usize::from(config.schedulers));
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(async {
        let nodename = config.nodename.clone();
        let webhooks = vmq_webhooks::Webhooks::from_config(&config)?;
        let data_dir = config.data_dir.clone();
        let mut builder = vmq_broker::Broker::builder(config)
            .storage(vmq_broker::Storage::Disk(data_dir))
            .log_level_setter(log_level);
        if let Some(webhooks) = webhooks {
            builder = builder
                .admin_commands(std::sync::Arc::new(webhooks.clone()))
                .plugin(std::sync::Arc::new(webhooks));
        }
        let broker = builder.start().await?;
        tracing::info!(node = %nodename, addrs = ?broker.local_addrs(), "vernemq started");
        wait_for_signal().await;
        tracing::info!("stopping: no new connections, disconnecting clients");
        broker.shutdown().await;
        tracing::info!("vernemq stopped");
        anyhow::Ok(())
    });
    let _ = fs::remove_file(&pid_path);
    result
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn running_pid(config: &Config) -> Option<Pid> {
    let text = fs::read_to_string(pid_file(config)).ok()?;
    let pid = Pid::from_raw(text.trim().parse().ok()?);
    signal::kill(pid, None).ok().map(|()| pid)
}

fn start(arg: &ConfigArg) -> Result<()> {
    let config = load(arg)?;
    if let Some(pid) = running_pid(&config) {
        bail!("node is already running (pid {pid})");
    }
    fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let exe = std::env::current_exe().context("locating the vernemq executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("console");
    if let Some(path) = config_path(arg) {
        cmd.arg("--config")
            .arg(fs::canonicalize(&path).unwrap_or(path));
    }
    let out_log = config.data_dir.join("vernemq.out");
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out_log)
        .with_context(|| format!("opening {}", out_log.display()))?;
    let err = out
        .try_clone()
        .context("duplicating the output log handle")?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().context("starting the node")?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "the node exited during startup ({status}); see {}",
                out_log.display()
            );
        }
        if running_pid(&config).is_some() && listener_answers(&config) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "the node did not come up within 15 s; see {}",
        out_log.display()
    )
}

fn listener_answers(config: &Config) -> bool {
    config
        .listeners
        .iter()
        .filter(|l| l.kind == vmq_conf::ListenerKind::Tcp)
        .any(|l| {
            let mut addr = l.addr;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
        })
}

fn stop(arg: &ConfigArg) -> Result<()> {
    let config = load(arg)?;
    let Some(pid) = running_pid(&config) else {
        bail!("Node is not running!");
    };
    signal::kill(pid, signal::Signal::SIGTERM).context("signalling the node")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if signal::kill(pid, None).is_err() {
            println!("ok");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the node (pid {pid}) did not stop within 30 s")
}

fn ping(arg: &ConfigArg) -> Result<()> {
    let config = load(arg)?;
    if running_pid(&config).is_some() && listener_answers(&config) {
        println!("pong");
        let _ = std::io::stdout().flush();
        Ok(())
    } else {
        bail!("Node {} not responding to pings.", config.nodename)
    }
}
