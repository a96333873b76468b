//! `cargo xtask bench-transports`: what TLS and WebSocket cost, against Mosquitto in the same
//! run. Generates a test PKI with rcgen (a CA and an ECDSA P-256 server certificate for
//! `localhost`), starts our release `vernemq` and Debian's `mosquitto`, each with a plain TCP, a
//! TLS, a WebSocket and a secure WebSocket listener, and drives them with the small MQTT 3.1.1
//! load generator below (tokio, tokio-rustls with ring, tokio-tungstenite; frames written by
//! hand):
//!
//! - connection rate: `--clients` concurrent clients each repeating connect (+ full TLS
//!   handshake, no resumption) + CONNECT/CONNACK + DISCONNECT + close, plain and TLS;
//! - throughput: `--pairs` publisher/subscriber pairs at QoS 1, `--window` PUBLISHes in flight
//!   per publisher, over plain TCP, TLS, WS and WSS; deliveries per second at the subscribers;
//! - memory: the broker's resident set per idle WebSocket connection, 1,000 of them opened on
//!   the fresh broker before anything else (plain TCP's is `cargo xtask bench`'s `conns`).
//!
//! Every broker is measured `--runs` times (fresh process each run) and one table of medians is
//! printed, with TLS/plain, WS/plain and WSS/plain ratios per broker (medians of the per-run
//! ratios) and vernemq-rs/Mosquitto per figure. It is a benchmark, not a test: it never runs in
//! CI and never fails on a number. The load generator must be optimised, so a debug `xtask`
//! re-runs itself with `cargo run --release`.

use std::{
    fs::File,
    path::Path,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context, Result};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
    task::JoinSet,
};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message},
    WebSocketStream,
};

use crate::{
    bench::{
        build_vernemq, ensure_mosquitto, free_port, median, mosquitto_bin, target_dir, wait_port,
        Broker,
    },
    run,
};

/// How long one client operation may take before the client counts it as failed.
const OP_TIMEOUT: Duration = Duration::from_secs(5);
/// Load before the measured window, so that connection set-up is not measured.
const WARMUP: Duration = Duration::from_millis(500);
/// PUBLISH payload size in bytes.
const PAYLOAD: usize = 64;
/// Idle WebSocket connections held open to measure the broker's memory per connection.
const IDLE_CONNECTIONS: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Tcp,
    Tls,
    Ws,
    Wss,
}

impl Transport {
    const ALL: [Transport; 4] = [
        Transport::Tcp,
        Transport::Tls,
        Transport::Ws,
        Transport::Wss,
    ];

    fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "plain",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    fn secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }
}

/// Options of the benchmark.
struct Opts {
    runs: usize,
    duration: Duration,
    clients: usize,
    pairs: usize,
    window: usize,
    threads: usize,
    peer: bool,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Opts> {
        let mut o = Opts {
            runs: 3,
            duration: Duration::from_secs(3),
            clients: 8,
            pairs: 10,
            window: 10,
            threads: 2,
            peer: true,
        };
        let mut i = 0;
        while i < args.len() {
            let value = || -> Result<f64> {
                args.get(i + 1)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| anyhow!("{} needs a number", args[i]))
            };
            match args[i].as_str() {
                "--runs" => o.runs = value()?.max(1.0) as usize,
                "--duration" => o.duration = Duration::from_secs_f64(value()?.max(0.1)),
                "--clients" => o.clients = value()?.max(1.0) as usize,
                "--pairs" => o.pairs = value()?.max(1.0) as usize,
                "--window" => o.window = value()?.max(1.0) as usize,
                "--threads" => o.threads = value()?.max(1.0) as usize,
                "--no-peer" => {
                    o.peer = false;
                    i += 1;
                    continue;
                }
                other => bail!(
                    "unknown option {other}; options: --runs N --duration S --clients N \
                     --pairs N --window N --threads N --no-peer"
                ),
            }
            i += 2;
        }
        Ok(o)
    }
}

/// Runs `cargo xtask <subcommand> <args>` again from a release build: the benchmarks' own load
/// generators, built in debug, would measure themselves rather than the brokers.
fn rerun_in_release(root: &Path, subcommand: &str, args: &[String]) -> Result<()> {
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["run", "--release", "--quiet", "-p", "xtask", "--"])
            .arg(subcommand)
            .args(args)
            .current_dir(root),
    )
}

/// Runs the transport benchmark (see the module documentation).
pub fn bench_transports(root: &Path, args: &[String]) -> Result<()> {
    if cfg!(debug_assertions) {
        return rerun_in_release(root, "bench-transports", args);
    }
    let opts = Opts::parse(args)?;
    if opts.peer {
        ensure_mosquitto()?;
    }
    let vernemq = build_vernemq(root)?;
    let work = target_dir(root).join("xtask-bench-transports");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let ca = write_pki(&work)?;
    let tls = tls_connector(ca)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()?;

    let mut brokers = vec!["vernemq-rs"];
    if opts.peer {
        brokers.push("mosquitto");
    }
    // figures[metric][broker] = one value per run
    let mut figures: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); brokers.len()]; METRICS.len()];
    for run_no in 0..opts.runs {
        for (b, name) in brokers.iter().enumerate() {
            let ports = [free_port()?, free_port()?, free_port()?, free_port()?];
            let mut sorted = ports;
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                bail!("free_port returned one port twice: {ports:?}");
            }
            let broker = match *name {
                "vernemq-rs" => start_vernemq(&vernemq, &work, ports)?,
                _ => start_mosquitto(&work, ports)?,
            };
            for port in ports {
                wait_port(port).with_context(|| {
                    format!("{name} did not start; see {}", work.join("*.log").display())
                })?;
            }
            let target = Arc::new(Target {
                pid: broker.child.id(),
                ports,
                tls: tls.clone(),
                login: None,
            });
            let values = rt.block_on(measure(target, &opts, run_no))?;
            for (m, (v, cores)) in values.into_iter().enumerate() {
                let cores = match (cores.broker, cores.load) {
                    (Some(b), Some(l)) => format!(" (cores: broker {b:.2}, load generator {l:.2})"),
                    _ => String::new(),
                };
                eprintln!(
                    "run {} {} {}: {v:.0}{cores}",
                    run_no + 1,
                    broker.name,
                    METRICS[m].label
                );
                figures[m][b].push(v);
            }
            drop(broker);
        }
    }
    print_table(&brokers, &figures, &opts);
    Ok(())
}

/// One measured figure.
struct Metric {
    label: &'static str,
    /// A cost (memory) rather than a rate: the ratio column is then peer / vernemq-rs.
    lower_is_better: bool,
}

const METRICS: &[Metric] = &[
    Metric {
        label: "connects/s plain (TCP + CONNECT/CONNACK)",
        lower_is_better: false,
    },
    Metric {
        label: "connects/s TLS (full handshake + CONNECT/CONNACK)",
        lower_is_better: false,
    },
    Metric {
        label: "QoS 1 deliveries/s plain",
        lower_is_better: false,
    },
    Metric {
        label: "QoS 1 deliveries/s TLS",
        lower_is_better: false,
    },
    Metric {
        label: "QoS 1 deliveries/s WS",
        lower_is_better: false,
    },
    Metric {
        label: "QoS 1 deliveries/s WSS",
        lower_is_better: false,
    },
    Metric {
        label: "KiB per idle WS connection (1,000, fresh broker)",
        lower_is_better: true,
    },
];

/// Ratios printed below the figures: (label, numerator metric, denominator metric).
const RATIOS: &[(&str, usize, usize)] = &[
    ("TLS/plain connects", 1, 0),
    ("TLS/plain throughput", 3, 2),
    ("WS/plain throughput", 4, 2),
    ("WSS/plain throughput", 5, 2),
];

/// Every figure of one broker process, with the cores used while it was measured.
async fn measure(target: Arc<Target>, opts: &Opts, run_no: usize) -> Result<Vec<(f64, Cores)>> {
    // First, while the broker is fresh: a broker that served connections reuses freed memory.
    let memory = idle_memory(&target, Transport::Ws)
        .await
        .unwrap_or_else(|e| {
            eprintln!("idle memory over WS: {e:#}");
            (0.0, Cores::default())
        });
    settle().await;
    let mut out = Vec::new();
    for t in [Transport::Tcp, Transport::Tls] {
        out.push(connect_rate(target.clone(), t, opts).await);
        settle().await;
    }
    for t in Transport::ALL {
        let tag = format!("r{run_no}{}", t.label());
        out.push(
            throughput(target.clone(), t, opts, &tag)
                .await
                .unwrap_or_else(|e| {
                    eprintln!("throughput over {}: {e:#}", t.label());
                    (0.0, Cores::default())
                }),
        );
        settle().await;
    }
    out.push(memory);
    Ok(out)
}

/// Broker memory per idle connection in KiB: [`IDLE_CONNECTIONS`] clients connect
/// (CONNECT/CONNACK) and stay for a second; the broker's resident set grows by this much
/// per connection.
async fn idle_memory(target: &Target, transport: Transport) -> Result<(f64, Cores)> {
    let before =
        crate::bench::status_kib(target.pid, "VmRSS").context("reading the broker's VmRSS")?;
    let mut conns = Vec::with_capacity(IDLE_CONNECTIONS);
    for i in 0..IDLE_CONNECTIONS {
        let mut conn = Conn::open(target, transport).await?;
        let id = format!("tb-idle-{}-{i}", transport.label());
        tokio::time::timeout(OP_TIMEOUT, conn.connect(&id, target.login.as_ref()))
            .await
            .context("CONNACK timed out")??;
        conns.push(conn);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after =
        crate::bench::status_kib(target.pid, "VmRSS").context("reading the broker's VmRSS")?;
    for conn in conns {
        let _ = tokio::time::timeout(OP_TIMEOUT, conn.disconnect()).await;
    }
    Ok((
        (after - before).max(0.0) / IDLE_CONNECTIONS as f64,
        Cores::default(),
    ))
}

/// Gives the broker a moment to clean up the connections of the previous measurement.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

fn print_table(brokers: &[&str], figures: &[Vec<Vec<f64>>], opts: &Opts) {
    println!();
    print!("| figure |");
    for name in brokers {
        print!(" {name} |");
    }
    if brokers.len() > 1 {
        print!(" vernemq-rs/mosquitto |");
    }
    println!();
    println!(
        "|---|{}",
        "---|".repeat(brokers.len() + usize::from(brokers.len() > 1))
    );
    let cell = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "-".to_string(),
    };
    let ours_vs_peer = |row: &[Option<f64>]| match (row.first(), row.get(1)) {
        (Some(Some(o)), Some(Some(p))) if *p > 0.0 => format!(" {:.2}x |", o / p),
        (_, Some(_)) => " - |".to_string(),
        _ => String::new(),
    };
    for (m, metric) in METRICS.iter().enumerate() {
        let row: Vec<Option<f64>> = figures[m].iter().cloned().map(median).collect();
        print!("| {} |", metric.label);
        for v in &row {
            print!(
                " {} |",
                cell(*v, if metric.lower_is_better { 1 } else { 0 })
            );
        }
        if metric.lower_is_better {
            // Less is better: compare the inverses, which gives peer / ours.
            let inverse: Vec<Option<f64>> = row
                .iter()
                .map(|v| v.filter(|x| *x > 0.0).map(|x| 1.0 / x))
                .collect();
            println!("{}", ours_vs_peer(&inverse));
        } else {
            println!("{}", ours_vs_peer(&row));
        }
    }
    for (label, num, den) in RATIOS {
        // The median of the per-run ratios: both figures come from the same broker process.
        let row: Vec<Option<f64>> = (0..brokers.len())
            .map(|b| {
                median(
                    figures[*num][b]
                        .iter()
                        .zip(&figures[*den][b])
                        .filter(|(_, d)| **d > 0.0)
                        .map(|(n, d)| n / d)
                        .collect(),
                )
            })
            .collect();
        print!("| ratio {label} |");
        for v in &row {
            print!(" {} |", cell(*v, 2));
        }
        println!("{}", ours_vs_peer(&row));
    }
    println!(
        "\n(medians of {} runs of {:.1} s; {} connecting clients, {} QoS 1 pairs with window {}, \
         {PAYLOAD}-byte payloads; load generator on {} threads on the same machine; \
         vernemq-rs/mosquitto > 1 means vernemq-rs is faster, or for a ratio row, loses less, or \
         for memory, uses less)",
        opts.runs,
        opts.duration.as_secs_f64(),
        opts.clients,
        opts.pairs,
        opts.window,
        opts.threads
    );
}

// ---- brokers ----

fn start_vernemq(bin: &Path, work: &Path, [tcp, tls, ws, wss]: [u16; 4]) -> Result<Broker> {
    let data = work.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let (ca, cert, key) = pki_paths(work);
    let conf = work.join("vernemq.conf");
    std::fs::write(
        &conf,
        format!(
            "allow_anonymous = on\nsystree_enabled = off\nlog.console = console\n\
             log.console.level = warning\nsetup.data_dir = {data}\n\
             listener.max_connections = infinity\n\
             listener.tcp.default = 127.0.0.1:{tcp}\n\
             listener.ssl.default = 127.0.0.1:{tls}\n\
             listener.ssl.cafile = {ca}\nlistener.ssl.certfile = {cert}\nlistener.ssl.keyfile = {key}\n\
             listener.ws.default = 127.0.0.1:{ws}\n\
             listener.wss.default = 127.0.0.1:{wss}\n\
             listener.wss.cafile = {ca}\nlistener.wss.certfile = {cert}\nlistener.wss.keyfile = {key}\n",
            data = data.display(),
        ),
    )?;
    let child = Command::new(bin)
        .args(["console", "--config"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(File::create(work.join("vernemq.log"))?)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Broker {
        name: "vernemq-rs",
        port: tcp,
        child,
    })
}

fn start_mosquitto(work: &Path, [tcp, tls, ws, wss]: [u16; 4]) -> Result<Broker> {
    let (ca, cert, key) = pki_paths(work);
    let files = format!("cafile {ca}\ncertfile {cert}\nkeyfile {key}\n");
    let conf = work.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "per_listener_settings false\nallow_anonymous true\nlog_dest stderr\nset_tcp_nodelay true\n\
             listener {tcp} 127.0.0.1\n\
             listener {tls} 127.0.0.1\n{files}\
             listener {ws} 127.0.0.1\nprotocol websockets\n\
             listener {wss} 127.0.0.1\nprotocol websockets\n{files}"
        ),
    )?;
    let child = Command::new(mosquitto_bin())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(File::create(work.join("mosquitto.log"))?)
        .spawn()
        .context("starting mosquitto")?;
    Ok(Broker {
        name: "mosquitto",
        port: tcp,
        child,
    })
}

// ---- certificates ----

fn pki_paths(work: &Path) -> (String, String, String) {
    let p = |f: &str| work.join(f).display().to_string();
    (p("ca.pem"), p("server.pem"), p("server.key"))
}

/// Writes `ca.pem`, `server.pem` and `server.key` into `work`; returns the CA certificate.
fn write_pki(work: &Path) -> Result<CertificateDer<'static>> {
    let ca_key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "bench-transports CA");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = params.self_signed(&ca_key)?;

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, &ca, &ca_key)?;

    let (ca_path, cert_path, key_path) = pki_paths(work);
    std::fs::write(ca_path, ca.pem())?;
    std::fs::write(cert_path, cert.pem())?;
    std::fs::write(key_path, key.serialize_pem())?;
    Ok(ca.der().clone())
}

/// A client configuration trusting `ca`, with session resumption off: every TLS connection
/// is a full handshake.
fn tls_connector(ca: CertificateDer<'static>) -> Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

// ---- load generator ----

/// Where the brokers listen (indexed like [`Transport::ALL`]) and how to speak TLS to them.
struct Target {
    pid: u32,
    ports: [u16; 4],
    tls: TlsConnector,
    /// User name and password sent in CONNECT (the auth benchmark).
    login: Option<(String, String)>,
}

trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

enum Io {
    Stream(Box<dyn Duplex>),
    Ws(Box<WebSocketStream<Box<dyn Duplex>>>),
}

/// One MQTT 3.1.1 connection over any transport: packets are queued, then flushed together
/// (one WebSocket frame per packet).
struct Conn {
    io: Io,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    frames: Vec<Vec<u8>>,
}

impl Conn {
    async fn open(target: &Target, transport: Transport) -> Result<Conn> {
        let port = target.ports[transport as usize];
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.set_nodelay(true)?;
        let stream: Box<dyn Duplex> = if transport.secure() {
            let name = ServerName::try_from("localhost")?;
            Box::new(target.tls.connect(name, tcp).await?)
        } else {
            Box::new(tcp)
        };
        let io = match transport {
            Transport::Tcp | Transport::Tls => Io::Stream(stream),
            Transport::Ws | Transport::Wss => {
                let scheme = if transport.secure() { "wss" } else { "ws" };
                let mut req = format!("{scheme}://localhost:{port}/mqtt").into_client_request()?;
                req.headers_mut()
                    .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
                let (ws, _) = tokio_tungstenite::client_async(req, stream).await?;
                Io::Ws(Box::new(ws))
            }
        };
        Ok(Conn {
            io,
            rbuf: BytesMut::with_capacity(8192),
            wbuf: Vec::with_capacity(8192),
            frames: Vec::new(),
        })
    }

    fn queue(&mut self, packet: Vec<u8>) {
        match self.io {
            Io::Stream(_) => self.wbuf.extend_from_slice(&packet),
            Io::Ws(_) => self.frames.push(packet),
        }
    }

    async fn flush(&mut self) -> Result<()> {
        match &mut self.io {
            Io::Stream(s) => {
                if !self.wbuf.is_empty() {
                    s.write_all(&self.wbuf).await?;
                    s.flush().await?;
                    self.wbuf.clear();
                }
            }
            Io::Ws(ws) => {
                if !self.frames.is_empty() {
                    for f in self.frames.drain(..) {
                        ws.feed(Message::binary(f)).await?;
                    }
                    ws.flush().await?;
                }
            }
        }
        Ok(())
    }

    /// Reads more bytes from the transport.
    async fn fill(&mut self) -> Result<()> {
        match &mut self.io {
            Io::Stream(s) => {
                if s.read_buf(&mut self.rbuf).await? == 0 {
                    bail!("connection closed by the broker");
                }
            }
            Io::Ws(ws) => loop {
                match ws.next().await {
                    Some(Ok(Message::Binary(b))) => {
                        self.rbuf.extend_from_slice(&b);
                        break;
                    }
                    Some(Ok(Message::Close(_))) | None => bail!("connection closed by the broker"),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                }
            },
        }
        Ok(())
    }

    /// A complete packet from the buffer, if there is one: (first header byte, body).
    fn try_packet(&mut self) -> Result<Option<(u8, BytesMut)>> {
        let mut len = 0usize;
        let mut at = 1;
        loop {
            let Some(b) = self.rbuf.get(at) else {
                return Ok(None);
            };
            len |= usize::from(b & 0x7f) << (7 * (at - 1));
            at += 1;
            if b & 0x80 == 0 {
                break;
            }
            if at > 4 {
                bail!("malformed remaining length");
            }
        }
        if self.rbuf.len() < at + len {
            return Ok(None);
        }
        let mut packet = self.rbuf.split_to(at + len);
        let header = packet[0];
        Ok(Some((header, packet.split_off(at))))
    }

    async fn recv(&mut self) -> Result<(u8, BytesMut)> {
        loop {
            if let Some(p) = self.try_packet()? {
                return Ok(p);
            }
            self.fill().await?;
        }
    }

    /// CONNECT (clean session) and wait for a successful CONNACK.
    async fn connect(&mut self, client_id: &str, login: Option<&(String, String)>) -> Result<()> {
        self.queue(connect_packet(client_id, login));
        self.flush().await?;
        match self.recv().await? {
            (0x20, body) if body.get(1) == Some(&0) => Ok(()),
            (h, body) => bail!("expected a successful CONNACK, got {h:#x} {body:?}"),
        }
    }

    /// DISCONNECT, then close the transport (TLS close_notify, WebSocket close).
    async fn disconnect(mut self) -> Result<()> {
        self.queue(vec![0xe0, 0]);
        self.flush().await?;
        match &mut self.io {
            Io::Stream(s) => s.shutdown().await?,
            Io::Ws(ws) => WebSocketStream::close(ws, None).await?,
        }
        Ok(())
    }
}

fn packet(header: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(header);
    let mut n = body.len();
    loop {
        let byte = (n % 128) as u8;
        n /= 128;
        out.push(if n > 0 { byte | 0x80 } else { byte });
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn connect_packet(client_id: &str, login: Option<&(String, String)>) -> Vec<u8> {
    // Protocol name, level 4 (3.1.1), clean session (+ user name and password), keep alive 60 s.
    let flags = if login.is_some() { 0xC2 } else { 0x02 };
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 60];
    put_str(&mut body, client_id);
    if let Some((user, password)) = login {
        put_str(&mut body, user);
        put_str(&mut body, password);
    }
    packet(0x10, &body)
}

fn subscribe_packet(topic: &str) -> Vec<u8> {
    let mut body = vec![0, 1];
    put_str(&mut body, topic);
    body.push(1);
    packet(0x82, &body)
}

fn publish_packet(topic: &str, id: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 4);
    put_str(&mut body, topic);
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(payload);
    packet(0x32, &body)
}

fn puback_packet(id: &[u8]) -> Vec<u8> {
    vec![0x40, 2, id[0], id[1]]
}

/// The CPU time a process has used so far in clock ticks (user + system, from /proc).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`: state is field 3, utime 14 and stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Cores used by the broker and by this load generator during a measured window, when /proc
/// tells: which side was the bottleneck.
#[derive(Clone, Copy, Default)]
struct Cores {
    broker: Option<f64>,
    load: Option<f64>,
}

/// Counts events from many tasks over a measured window after a warm-up: (events per second,
/// cores used meanwhile).
async fn window_rate(count: &AtomicU64, duration: Duration, pid: u32) -> (f64, Cores) {
    let me = std::process::id();
    tokio::time::sleep(WARMUP).await;
    let (c0, t0) = (count.load(Ordering::Relaxed), Instant::now());
    let (b0, l0) = (cpu_ticks(pid), cpu_ticks(me));
    tokio::time::sleep(duration).await;
    let (c1, t1) = (count.load(Ordering::Relaxed), Instant::now());
    let (b1, l1) = (cpu_ticks(pid), cpu_ticks(me));
    let secs = (t1 - t0).as_secs_f64();
    // Linux reports CPU time in USER_HZ ticks, 100 per second on every architecture.
    let cores = |a: Option<u64>, b: Option<u64>| {
        a.zip(b)
            .map(|(a, b)| b.saturating_sub(a) as f64 / 100.0 / secs)
    };
    let used = Cores {
        broker: cores(b0, b1),
        load: cores(l0, l1),
    };
    ((c1 - c0) as f64 / secs, used)
}

/// Connections per second: `opts.clients` tasks each connecting, CONNECT/CONNACK, closing.
async fn connect_rate(target: Arc<Target>, transport: Transport, opts: &Opts) -> (f64, Cores) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    for c in 0..opts.clients {
        let (target, done, errors, stop) =
            (target.clone(), done.clone(), errors.clone(), stop.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = format!("tb-c{c}-{n}");
                let once = async {
                    let mut conn = Conn::open(&target, transport).await?;
                    conn.connect(&id, target.login.as_ref()).await?;
                    conn.disconnect().await
                };
                match tokio::time::timeout(OP_TIMEOUT, once).await {
                    Ok(Ok(())) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("{} connect: {e:#}", transport.label());
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    let rate = window_rate(&done, opts.duration, target.pid).await;
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::time::timeout(OP_TIMEOUT, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    let errors = errors.load(Ordering::Relaxed);
    if errors > 0 {
        eprintln!("{} connect: {errors} failed attempts", transport.label());
    }
    rate
}

/// QoS 1 deliveries per second over `opts.pairs` publisher/subscriber pairs.
async fn throughput(
    target: Arc<Target>,
    transport: Transport,
    opts: &Opts,
    tag: &str,
) -> Result<(f64, Cores)> {
    let delivered = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    let mut publishers = Vec::new();
    for i in 0..opts.pairs {
        let topic = format!("tb/{tag}/{i}");
        let mut sub = Conn::open(&target, transport).await?;
        sub.connect(&format!("tb-s-{tag}-{i}"), target.login.as_ref())
            .await?;
        sub.queue(subscribe_packet(&topic));
        sub.flush().await?;
        match sub.recv().await? {
            (0x90, body) if body.get(2) == Some(&1) => {}
            (h, body) => bail!("expected a QoS 1 SUBACK, got {h:#x} {body:?}"),
        }
        let mut publisher = Conn::open(&target, transport).await?;
        publisher
            .connect(&format!("tb-p-{tag}-{i}"), target.login.as_ref())
            .await?;
        publishers.push((publisher, topic));
        let delivered = delivered.clone();
        tasks.spawn(async move {
            let r: Result<()> = async {
                loop {
                    while let Some((h, body)) = sub.try_packet()? {
                        if h & 0xf0 == 0x30 {
                            delivered.fetch_add(1, Ordering::Relaxed);
                            if h & 0x06 == 0x02 {
                                let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                                sub.queue(puback_packet(&body[2 + topic_len..4 + topic_len]));
                            }
                        }
                    }
                    sub.flush().await?;
                    sub.fill().await?;
                }
            }
            .await;
            if let Err(e) = r {
                eprintln!("subscriber: {e:#}");
            }
        });
    }
    let window = opts.window;
    for (mut publisher, topic) in publishers {
        tasks.spawn(async move {
            let payload = [b'x'; PAYLOAD];
            let r: Result<()> = async {
                let (mut inflight, mut id) = (0usize, 0u16);
                loop {
                    while inflight < window {
                        id = id.checked_add(1).unwrap_or(1);
                        publisher.queue(publish_packet(&topic, id, &payload));
                        inflight += 1;
                    }
                    publisher.flush().await?;
                    publisher.fill().await?;
                    while let Some((h, _)) = publisher.try_packet()? {
                        if h == 0x40 {
                            inflight = inflight.saturating_sub(1);
                        }
                    }
                }
            }
            .await;
            if let Err(e) = r {
                eprintln!("publisher: {e:#}");
            }
        });
    }
    let rate = window_rate(&delivered, opts.duration, target.pid).await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(rate)
}

/// `cargo xtask bench-auth`: the cost of authentication and authorisation. Our broker runs twice
/// per round: with `allow_anonymous = on` (no auth hooks) and with `vmq_passwd` (a password file
/// written by `vmq-passwd`) plus `vmq_acl` (an ACL of 100 users' rules). It prints connects per
/// second and QoS 1 deliveries per second for both, and the ratios (the target: ACL
/// checks cost under 10 % of publish throughput).
pub fn bench_auth(root: &Path, args: &[String]) -> Result<()> {
    if cfg!(debug_assertions) {
        return rerun_in_release(root, "bench-auth", args);
    }
    let opts = Opts::parse(args)?;
    let vernemq = build_vernemq(root)?;
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(["build", "--release", "--quiet", "-p", "vmq-passwd"])
            .current_dir(root),
    )?;
    let passwd_bin = target_dir(root).join("release/vmq-passwd");
    let work = target_dir(root).join("xtask-bench-auth");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let passwd = work.join("vmq.passwd");
    let mut child = Command::new(&passwd_bin)
        .arg("-c")
        .arg(&passwd)
        .arg("bench")
        .stdin(Stdio::piped())
        .spawn()
        .context("running vmq-passwd")?;
    if let Some(stdin) = child.stdin.as_mut() {
        use std::io::Write as _;
        stdin.write_all(b"secret\nsecret\n")?;
    }
    if !child.wait()?.success() {
        bail!("vmq-passwd failed");
    }
    let acl = work.join("vmq.acl");
    let mut rules = String::from("topic read $SYS/#\n");
    for u in 0..99 {
        rules.push_str(&format!("user user{u}\ntopic devices/{u}/#\n"));
    }
    rules.push_str("user bench\ntopic tb/#\npattern clients/%c/#\n");
    std::fs::write(&acl, rules)?;
    let ca = write_pki(&work)?;
    let tls = tls_connector(ca)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .enable_all()
        .build()?;
    let modes = ["anonymous", "vmq_passwd + vmq_acl"];
    // figures[metric 0 connects, 1 deliveries][mode] = per run
    let mut figures = vec![vec![Vec::new(); modes.len()]; 2];
    for run_no in 0..opts.runs {
        for (m, mode) in modes.iter().enumerate() {
            let port = free_port()?;
            let data = work.join("data");
            let _ = std::fs::remove_dir_all(&data);
            let auth = if m == 0 {
                "allow_anonymous = on\nplugins.vmq_passwd = off\nplugins.vmq_acl = off\n"
                    .to_string()
            } else {
                format!(
                    "allow_anonymous = off\nplugins.vmq_passwd = on\nplugins.vmq_acl = on\n\
                     vmq_passwd.password_file = {}\nvmq_acl.acl_file = {}\n",
                    passwd.display(),
                    acl.display()
                )
            };
            let conf = work.join("vernemq.conf");
            std::fs::write(
                &conf,
                format!(
                    "{auth}systree_enabled = off\nlog.console = console\nlog.console.level = warning\n\
                     setup.data_dir = {}\nlistener.max_connections = infinity\n\
                     listener.tcp.default = 127.0.0.1:{port}\n",
                    data.display()
                ),
            )?;
            let child = Command::new(&vernemq)
                .args(["console", "--config"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(File::create(work.join("vernemq.log"))?)
                .spawn()?;
            let broker = Broker {
                name: "vernemq-rs",
                port,
                child,
            };
            wait_port(port)?;
            let target = Arc::new(Target {
                pid: broker.child.id(),
                ports: [port; 4],
                tls: tls.clone(),
                login: (m == 1).then(|| ("bench".to_string(), "secret".to_string())),
            });
            let (connects, _) = rt.block_on(connect_rate(target.clone(), Transport::Tcp, &opts));
            rt.block_on(settle());
            let (deliveries, _) = rt.block_on(throughput(
                target,
                Transport::Tcp,
                &opts,
                &format!("a{run_no}"),
            ))?;
            eprintln!(
                "run {} {mode}: {connects:.0} connects/s, {deliveries:.0} deliveries/s",
                run_no + 1
            );
            figures[0][m].push(connects);
            figures[1][m].push(deliveries);
            drop(broker);
        }
    }
    let med = |v: &Vec<f64>| median(v.clone()).unwrap_or(0.0);
    println!("\n| figure | anonymous | vmq_passwd + vmq_acl | ratio |");
    println!("|---|---|---|---|");
    for (i, label) in ["connects/s (CONNECT..CONNACK..close)", "QoS 1 deliveries/s"]
        .iter()
        .enumerate()
    {
        let (a, b) = (med(&figures[i][0]), med(&figures[i][1]));
        let ratio = if a > 0.0 { b / a } else { 0.0 };
        println!("| {label} | {a:.0} | {b:.0} | {ratio:.2} |");
    }
    println!(
        "\n(medians of {} runs of {:?}; ratio = with auth / anonymous)",
        opts.runs, opts.duration
    );
    Ok(())
}
