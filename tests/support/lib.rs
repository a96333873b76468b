//! Support code shared by the workspace integration tests (`tests/*.rs`): a broker started
//! in-process on `127.0.0.1:0` from `vernemq.conf` text ([`TestBroker`]), a small MQTT client
//! on `vmq-codec` + tokio where every wait has a timeout ([`Client`]), and helpers to run the
//! external clients (paho-mqtt, mosquitto_pub/sub, MQTT.js) with a deadline ([`run_tool`]).
//!
//! Nothing here sleeps for a fixed time where an event can be awaited: waits are either for a
//! packet (bounded by [`WAIT`]) or for a broker state polled until a deadline ([`eventually`]).

use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    process::Stdio,
    sync::Arc,
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use vmq_broker::{Broker, BrokerCore};
use vmq_codec::{check, DecodeLimits, Utf8Str};
pub use vmq_codec::{
    ConnAck, Connect, Disconnect, LastWill, Packet, ProtocolVersion, PubAck, PubComp, PubRec,
    PubRel, Publish, QoS, ReasonCode, Subscribe, SubscribeFilter, SubscriptionOptions,
};

/// How long a test waits for something that must happen (a packet, a state). Generous: the
/// tests run on a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a test watches for something that must not happen (no message, no will).
pub const QUIET: Duration = Duration::from_millis(700);
/// The deadline of a whole test (see [`within`]).
pub const TEST_DEADLINE: Duration = Duration::from_secs(90);

/// The configuration every test broker starts from: anonymous clients, one TCP listener on a
/// free port, `$SYS` off (tests that want it turn it on).
pub const BASE_CONF: &str = "allow_anonymous = on\n\
listener.tcp.default = 127.0.0.1:0\n\
systree_enabled = off\n";

/// Runs a test body with [`TEST_DEADLINE`]; a hang becomes a failure with a message.
pub async fn within<F: Future>(body: F) -> F::Output {
    match tokio::time::timeout(TEST_DEADLINE, body).await {
        Ok(v) => v,
        Err(_) => panic!("test did not finish within {TEST_DEADLINE:?}"),
    }
}

/// Polls `cond` until it is true, panicking with `what` after [`WAIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A broker running in this process on its own free port(s).
pub struct TestBroker {
    broker: Option<Broker>,
}

impl TestBroker {
    /// Starts a broker on [`BASE_CONF`] followed by `extra` (later keys win).
    pub async fn start(extra: &str) -> TestBroker {
        Self::start_conf(&format!("{BASE_CONF}{extra}")).await
    }

    /// Starts a broker on exactly `conf`.
    pub async fn start_conf(conf: &str) -> TestBroker {
        Self::start_with_plugins(conf, Vec::new()).await
    }

    /// Starts a broker on exactly `conf` with `plugins` registered after the built-ins.
    pub async fn start_with_plugins(
        conf: &str,
        plugins: Vec<Arc<dyn vmq_broker::Plugin>>,
    ) -> TestBroker {
        let config = vmq_conf::Config::from_str(conf, "test.conf", &HashMap::new())
            .unwrap_or_else(|e| panic!("test configuration refused: {e}\n{conf}"));
        let builder = plugins
            .into_iter()
            .fold(Broker::builder(config), |b, p| b.plugin(p));
        let broker = builder.start().await.expect("broker starts");
        assert!(
            !broker.local_addrs().is_empty(),
            "the broker reports its listener addresses"
        );
        TestBroker {
            broker: Some(broker),
        }
    }

    fn broker(&self) -> &Broker {
        self.broker.as_ref().expect("broker running")
    }

    /// The first listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.broker().local_addrs()[0]
    }

    /// The `i`-th listener's address (configuration order).
    pub fn addr_of(&self, i: usize) -> SocketAddr {
        self.broker().local_addrs()[i]
    }

    /// The first HTTP listener's address.
    pub fn http_addr(&self) -> SocketAddr {
        self.broker().http_addrs()[0]
    }

    /// The running broker.
    pub fn inner(&self) -> &Broker {
        self.broker()
    }

    /// The first listener's port.
    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// The broker's shared state (metrics, router, registry).
    pub fn core(&self) -> &Arc<BrokerCore> {
        self.broker().core()
    }

    /// Number of subscriptions in the router.
    pub fn subscriptions(&self) -> usize {
        self.core().router.len()
    }

    /// Waits until the router holds at least `n` subscriptions.
    pub async fn wait_subscriptions(&self, n: usize) {
        let core = self.core().clone();
        eventually(&format!("{n} subscription(s) in the router"), || {
            core.router.len() >= n
        })
        .await;
    }

    /// Waits until `n` clients are online.
    pub async fn wait_online(&self, n: usize) {
        let core = self.core().clone();
        eventually(&format!("{n} client(s) online"), || {
            core.online_offline().0 == n
        })
        .await;
    }

    /// Waits until `n` (persistent) sessions are offline.
    pub async fn wait_offline(&self, n: usize) {
        let core = self.core().clone();
        eventually(&format!("{n} session(s) offline"), || {
            core.online_offline().1 == n
        })
        .await;
    }

    /// Shuts the broker down.
    pub async fn stop(mut self) {
        if let Some(b) = self.broker.take() {
            let _ = tokio::time::timeout(WAIT, b.shutdown()).await;
        }
    }
}

/// Why a read ended without a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEnd {
    /// Nothing arrived in time.
    Timeout,
    /// The server closed the connection (or reset it).
    Closed,
    /// The server sent bytes the codec refused.
    Malformed(String),
}

/// A minimal MQTT client over one TCP connection. Every read is bounded by a timeout.
pub struct Client {
    stream: TcpStream,
    rbuf: BytesMut,
    /// The protocol version this connection speaks.
    pub version: ProtocolVersion,
    next_id: u16,
    stash: VecDeque<Packet>,
    /// Automatically answer QoS 1/2 PUBLISHes received by [`Client::recv_publish`].
    pub auto_ack: bool,
}

impl Client {
    /// Opens a TCP connection without sending anything.
    pub async fn tcp(addr: SocketAddr, version: ProtocolVersion) -> Client {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("TCP connect in time")
            .expect("TCP connect");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            rbuf: BytesMut::with_capacity(4096),
            version,
            next_id: 0,
            stash: VecDeque::new(),
            auto_ack: true,
        }
    }

    /// Connects with a clean session and keep alive 60 s; panics unless the CONNACK is a success.
    pub async fn connect(addr: SocketAddr, version: ProtocolVersion, client_id: &str) -> Client {
        let (c, ack) = Self::connect_with(addr, Connect::new(version, client_id)).await;
        assert_eq!(
            ack.reason_code,
            ReasonCode::Success,
            "CONNACK of {client_id}"
        );
        c
    }

    /// Sends `connect` and returns the connection with the CONNACK.
    pub async fn connect_with(addr: SocketAddr, connect: Connect) -> (Client, ConnAck) {
        let mut c = Client::tcp(addr, connect.protocol).await;
        c.send(Packet::Connect(Box::new(connect))).await;
        match c.recv().await {
            Packet::ConnAck(ack) => (c, *ack),
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// The next packet identifier (1..=65535).
    pub fn next_packet_id(&mut self) -> u16 {
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        self.next_id
    }

    /// Encodes and writes `packet`.
    pub async fn send(&mut self, packet: Packet) {
        let mut buf = BytesMut::new();
        packet
            .encode(self.version, &mut buf)
            .unwrap_or_else(|e| panic!("encode {packet:?}: {e}"));
        self.send_raw(&buf).await;
    }

    /// Writes raw bytes (for malformed input). Write errors are ignored: the server may have
    /// closed the connection already.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let _ = tokio::time::timeout(WAIT, self.stream.write_all(bytes)).await;
    }

    /// Reads the next packet within `limit` (packets kept by [`Client::wait_for`] first).
    pub async fn try_recv(&mut self, limit: Duration) -> Result<Packet, ReadEnd> {
        if let Some(p) = self.stash.pop_front() {
            return Ok(p);
        }
        self.read_socket(tokio::time::Instant::now() + limit).await
    }

    /// Reads the next packet from the socket (not from the kept packets) before `deadline`.
    async fn read_socket(&mut self, deadline: tokio::time::Instant) -> Result<Packet, ReadEnd> {
        loop {
            match check(&self.rbuf, &DecodeLimits::default()) {
                Ok(Some(n)) => {
                    let frame = self.rbuf.split_to(n).freeze();
                    return Packet::decode(frame, self.version)
                        .map_err(|e| ReadEnd::Malformed(e.to_string()));
                }
                Ok(None) => {}
                Err(e) => return Err(ReadEnd::Malformed(e.to_string())),
            }
            self.rbuf.reserve(4096);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.rbuf)).await {
                Err(_) => return Err(ReadEnd::Timeout),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(ReadEnd::Closed),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Reads the next packet; panics after [`WAIT`] or when the connection ends.
    pub async fn recv(&mut self) -> Packet {
        match self.try_recv(WAIT).await {
            Ok(p) => p,
            Err(e) => panic!("expected a packet, got {e:?}"),
        }
    }

    /// Asserts nothing arrives for [`QUIET`] (the connection may stay open).
    pub async fn expect_nothing(&mut self) {
        match self.try_recv(QUIET).await {
            Err(ReadEnd::Timeout) => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    /// Waits until the server closes the connection; returns the packets received before
    /// (e.g. a DISCONNECT). Panics if it stays open for [`WAIT`].
    pub async fn expect_closed(&mut self) -> Vec<Packet> {
        let mut got = Vec::new();
        loop {
            match self.try_recv(WAIT).await {
                Ok(p) => got.push(p),
                Err(ReadEnd::Closed) => return got,
                Err(e) => panic!("expected the server to close, got {e:?} after {got:?}"),
            }
        }
    }

    /// Waits until the server closes the connection and returns the raw bytes it sent (for
    /// answers whose protocol version is unknown). Panics if it stays open for [`WAIT`].
    pub async fn raw_until_closed(&mut self) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            self.rbuf.reserve(4096);
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.rbuf)).await {
                Err(_) => panic!(
                    "expected the server to close; got {:?} so far",
                    &self.rbuf[..]
                ),
                Ok(Ok(0)) | Ok(Err(_)) => return self.rbuf.split().to_vec(),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Waits for the server to close and returns the reason code of its DISCONNECT, if any.
    pub async fn expect_disconnect(&mut self) -> Option<ReasonCode> {
        self.expect_closed()
            .await
            .into_iter()
            .rev()
            .find_map(|p| match p {
                Packet::Disconnect(d) => Some(d.reason_code),
                _ => None,
            })
    }

    /// Subscribes to one filter with `options`; returns the SUBACK reason code.
    pub async fn subscribe_opts(
        &mut self,
        filter: &str,
        options: SubscriptionOptions,
    ) -> ReasonCode {
        let id = self.next_packet_id();
        let mut sub = Subscribe::new(id, filter, options.qos);
        sub.filters[0].options = options;
        self.subscribe_packet(sub).await[0]
    }

    /// Subscribes to one filter at `qos`; panics unless granted; returns the granted code.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS) -> ReasonCode {
        let code = self
            .subscribe_opts(filter, SubscriptionOptions::new(qos))
            .await;
        assert!(
            code.is_success(),
            "SUBSCRIBE {filter} refused with {code:?}"
        );
        code
    }

    /// Sends a whole SUBSCRIBE and waits for its SUBACK (other packets are kept for later).
    pub async fn subscribe_packet(&mut self, sub: Subscribe) -> Vec<ReasonCode> {
        let id = sub.packet_id;
        self.send(Packet::Subscribe(sub)).await;
        match self
            .wait_for(|p| matches!(p, Packet::SubAck(a) if a.packet_id == id))
            .await
        {
            Packet::SubAck(a) => a.reason_codes,
            _ => unreachable!(),
        }
    }

    /// Unsubscribes from one filter and waits for the UNSUBACK.
    pub async fn unsubscribe(&mut self, filter: &str) {
        let id = self.next_packet_id();
        self.send(Packet::Unsubscribe(vmq_codec::Unsubscribe::new(
            id,
            vec![Utf8Str::from(filter)],
        )))
        .await;
        self.wait_for(|p| matches!(p, Packet::UnsubAck(a) if a.packet_id == id))
            .await;
    }

    /// Reads until a packet matching `pred` arrives; the others are kept, in order, for the
    /// next reads. Panics after [`WAIT`].
    pub async fn wait_for(&mut self, pred: impl Fn(&Packet) -> bool) -> Packet {
        if let Some(i) = self.stash.iter().position(&pred) {
            return self.stash.remove(i).expect("index in range");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match self.read_socket(deadline).await {
                Ok(p) if pred(&p) => return p,
                Ok(p) => self.stash.push_back(p),
                Err(e) => panic!(
                    "waiting for a packet: {e:?}; received meanwhile {:?}",
                    self.stash
                ),
            }
        }
    }

    /// Publishes and completes the QoS handshake (PUBACK, or PUBREC/PUBREL/PUBCOMP). Returns
    /// the reason code of the PUBACK / PUBREC (`Success` for QoS 0).
    pub async fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> ReasonCode {
        let mut p = Publish::new(topic, Bytes::copy_from_slice(payload));
        p.qos = qos;
        p.retain = retain;
        self.publish_packet(p).await
    }

    /// Publishes `p` (a packet id is assigned for QoS > 0) and completes the handshake.
    pub async fn publish_packet(&mut self, mut p: Publish) -> ReasonCode {
        if p.qos != QoS::AtMostOnce && p.packet_id == 0 {
            p.packet_id = self.next_packet_id();
        }
        let (qos, id) = (p.qos, p.packet_id);
        self.send(Packet::Publish(Box::new(p))).await;
        match qos {
            QoS::AtMostOnce => ReasonCode::Success,
            QoS::AtLeastOnce => {
                match self
                    .wait_for(|p| matches!(p, Packet::PubAck(a) if a.packet_id == id))
                    .await
                {
                    Packet::PubAck(a) => a.reason_code,
                    _ => unreachable!(),
                }
            }
            QoS::ExactlyOnce => {
                let code = match self
                    .wait_for(|p| matches!(p, Packet::PubRec(a) if a.packet_id == id))
                    .await
                {
                    Packet::PubRec(a) => a.reason_code,
                    _ => unreachable!(),
                };
                if code.is_success() {
                    self.send(Packet::PubRel(PubRel::new(id))).await;
                    self.wait_for(|p| matches!(p, Packet::PubComp(a) if a.packet_id == id))
                        .await;
                }
                code
            }
        }
    }

    /// Waits for the next PUBLISH (other packets are kept) and, with [`Client::auto_ack`],
    /// acknowledges it (QoS 2: PUBREC, then PUBCOMP when the PUBREL comes).
    pub async fn recv_publish(&mut self) -> Publish {
        let p = match self.wait_for(|p| matches!(p, Packet::Publish(_))).await {
            Packet::Publish(p) => p,
            _ => unreachable!(),
        };
        if self.auto_ack {
            self.ack(&p).await;
        }
        *p
    }

    /// Receives exactly `n` PUBLISHes without acknowledging them (each within [`WAIT`]).
    pub async fn recv_unacked(&mut self, n: usize) -> Vec<Publish> {
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            match self.wait_for(|p| matches!(p, Packet::Publish(_))).await {
                Packet::Publish(p) => got.push(*p),
                _ => unreachable!(),
            }
        }
        got
    }

    /// Acknowledges a received PUBLISH according to its QoS.
    pub async fn ack(&mut self, p: &Publish) {
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.send(Packet::PubAck(PubAck::new(p.packet_id))).await,
            QoS::ExactlyOnce => {
                let id = p.packet_id;
                self.send(Packet::PubRec(PubRec::new(id))).await;
                self.wait_for(|q| matches!(q, Packet::PubRel(r) if r.packet_id == id))
                    .await;
                self.send(Packet::PubComp(PubComp::new(id))).await;
            }
        }
    }

    /// Asserts that no PUBLISH arrives for [`QUIET`] (nor is kept); other packets are kept.
    pub async fn expect_no_publish(&mut self) {
        if let Some(p) = self.stash.iter().find(|p| matches!(p, Packet::Publish(_))) {
            panic!("unexpected PUBLISH {p:?}");
        }
        let deadline = tokio::time::Instant::now() + QUIET;
        loop {
            match self.read_socket(deadline).await {
                Ok(Packet::Publish(p)) => panic!("unexpected PUBLISH {p:?}"),
                Ok(other) => self.stash.push_back(other),
                Err(ReadEnd::Timeout) => return,
                Err(e) => panic!("connection ended while watching for publishes: {e:?}"),
            }
        }
    }

    /// Sends DISCONNECT (normal) and closes the socket.
    pub async fn disconnect(mut self) {
        self.send(Packet::Disconnect(Box::default())).await;
        let _ = self.stream.shutdown().await;
    }

    /// Sends a DISCONNECT with `code` (MQTT 5) and closes.
    pub async fn disconnect_with(mut self, d: Disconnect) {
        self.send(Packet::Disconnect(Box::new(d))).await;
        let _ = self.stream.shutdown().await;
    }

    /// Closes the socket without DISCONNECT (an abrupt close for the server).
    pub fn drop_connection(self) {
        drop(self.stream);
    }
}

/// A CONNECT for `version` with `client_id`, clean start and keep alive 60 s.
pub fn connect_packet(version: ProtocolVersion, client_id: &str) -> Connect {
    Connect::new(version, client_id)
}

/// A will message on `topic` with `payload` at `qos`.
pub fn will(topic: &str, payload: &[u8], qos: QoS, retain: bool) -> LastWill {
    LastWill {
        topic: Utf8Str::from(topic),
        payload: Bytes::copy_from_slice(payload),
        qos,
        retain,
        properties: Default::default(),
    }
}

/// The three protocol versions, for tests that run on each.
pub const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What an external tool printed and how it ended.
#[derive(Debug)]
pub struct ToolOutput {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ToolOutput {
    /// Panics with the output unless the tool exited with 0.
    /// Asserts that a scenario script reported `PASS <check>` for every check in `expect` and
    /// finished with `ALL OK`.
    pub fn assert_passes(&self, expect: &[&str]) {
        for line in expect {
            assert!(
                self.stdout.lines().any(|l| l == format!("PASS {line}")),
                "missing `PASS {line}` in:\n{}",
                self.stdout
            );
        }
        assert!(self.stdout.contains("ALL OK"), "{}", self.stdout);
    }

    pub fn assert_success(&self, what: &str) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "{what} failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Panics with a hint to run `cargo xtask deps` if `program` is not on the PATH: external
/// client tests fail, never skip, when their tool is missing.
pub fn require_tool(program: &str) {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{program}` is not installed; run `cargo xtask deps` (it installs the test peers)"
    );
}

/// Spawns `program args` (stdout/stderr piped, killed when dropped).
pub fn spawn_tool(
    program: &str,
    args: &[&str],
    dir: Option<&std::path::Path>,
) -> tokio::process::Child {
    require_tool(program);
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"))
}

/// Waits for a spawned tool to end within `limit` and collects its output; kills it and panics
/// on timeout.
pub async fn finish_tool(child: tokio::process::Child, what: &str, limit: Duration) -> ToolOutput {
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(out)) => ToolOutput {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Ok(Err(e)) => panic!("{what}: waiting failed: {e}"),
        // The child is dropped with the future, and kill_on_drop ends it.
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Runs `program args` to completion within `limit`.
pub async fn run_tool(
    program: &str,
    args: &[&str],
    dir: Option<&std::path::Path>,
    limit: Duration,
) -> ToolOutput {
    let child = spawn_tool(program, args, dir);
    finish_tool(child, &format!("{program} {}", args.join(" ")), limit).await
}

/// The checks the external-client scenario scripts (paho-mqtt, MQTT.js) report as
/// `PASS <check>`.
pub mod scenarios {
    /// QoS 0, 1 and 2 round trips.
    pub const ROUNDTRIP: &[&str] = &["roundtrip qos=0", "roundtrip qos=1", "roundtrip qos=2"];
    /// Retained message set, delivered, cleared.
    pub const RETAINED: &[&str] = &[
        "retained delivered on subscribe",
        "retained clear forwarded",
        "retained cleared",
    ];
    /// Will on abrupt close, none after DISCONNECT.
    pub const WILL: &[&str] = &["will sent on abrupt close", "no will after DISCONNECT"];
    /// Persistent session resumed with its offline message.
    pub const PERSISTENT: &[&str] = &["session present", "offline message delivered"];
}
