//! The kill -9 test of the durability guarantee: a `vernemq` process under QoS 1 load, with a
//! persistent subscriber offline, is killed with SIGKILL at random moments and restarted on the
//! same data directory, over and over. At the end the subscriber reconnects and a checker
//! asserts that every message the broker acknowledged (PUBACK) is delivered, in order per
//! publisher, and none twice.
//!
//! `CRASH_TEST_CYCLES` sets the number of kill cycles (default 20, as CI runs it).

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use bytes::{Bytes, BytesMut};
use rand::Rng;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};
use vmq_codec::{
    check, Connect, DecodeLimits, Packet, ProtocolVersion, PubAck, Publish, QoS, Subscribe,
};

const PUBLISHERS: usize = 3;
const WINDOW: usize = 10;
const V: ProtocolVersion = ProtocolVersion::V3_1_1;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

fn start_broker(conf: &Path) -> Child {
    let log = conf.with_file_name("broker.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("broker log");
    let log2 = log.try_clone().expect("broker log handle");
    Command::new(env!("CARGO_BIN_EXE_vernemq"))
        .arg("console")
        .arg("--config")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .kill_on_drop(true)
        .spawn()
        .expect("start vernemq")
}

/// A tiny MQTT connection on vmq-codec; every error ends it (the broker may be killed).
struct Conn {
    stream: TcpStream,
    rbuf: BytesMut,
}

impl Conn {
    async fn connect(addr: SocketAddr, client_id: &str, clean: bool) -> Option<Conn> {
        let stream = TcpStream::connect(addr).await.ok()?;
        let mut c = Conn {
            stream,
            rbuf: BytesMut::with_capacity(8192),
        };
        let mut connect = Connect::new(V, client_id);
        connect.clean_start = clean;
        c.send(&Packet::Connect(Box::new(connect))).await?;
        match c.recv().await? {
            Packet::ConnAck(ack) if ack.reason_code as u8 == 0 => Some(c),
            _ => None,
        }
    }

    async fn send(&mut self, p: &Packet) -> Option<()> {
        let mut buf = BytesMut::new();
        p.encode(V, &mut buf).ok()?;
        self.stream.write_all(&buf).await.ok()
    }

    async fn recv(&mut self) -> Option<Packet> {
        loop {
            if let Ok(Some(len)) = check(&self.rbuf, &DecodeLimits::default()) {
                let frame = self.rbuf.split_to(len).freeze();
                return Packet::decode(frame, V).ok();
            }
            let n = self.stream.read_buf(&mut self.rbuf).await.ok()?;
            if n == 0 {
                return None;
            }
        }
    }
}

async fn wait_listening(addr: SocketAddr, conf: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = std::fs::read_to_string(conf.with_file_name("broker.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(30).collect();
    panic!(
        "broker did not listen on {addr}; its log ends with:\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}

fn payload(publisher: usize, seq: u64) -> Bytes {
    Bytes::from(format!("{publisher}:{seq}"))
}

/// Publishes QoS 1 messages with increasing sequence numbers until the connection dies;
/// returns the sequence numbers the broker acknowledged and the next one to use.
async fn publish_until_dead(
    addr: SocketAddr,
    publisher: usize,
    mut seq: u64,
    acked: &mut Vec<u64>,
) -> u64 {
    let Some(mut conn) = Conn::connect(addr, &format!("crash-pub-{publisher}"), true).await else {
        return seq;
    };
    let mut inflight: BTreeMap<u16, u64> = BTreeMap::new();
    let mut next_id: u16 = 0;
    loop {
        while inflight.len() < WINDOW {
            next_id = next_id.checked_add(1).unwrap_or(1);
            let mut p = Publish::new("crash/t", payload(publisher, seq));
            p.qos = QoS::AtLeastOnce;
            p.packet_id = next_id;
            p.topic = format!("crash/{publisher}").as_str().into();
            if conn.send(&Packet::Publish(Box::new(p))).await.is_none() {
                return seq + 1;
            }
            inflight.insert(next_id, seq);
            seq += 1;
        }
        match conn.recv().await {
            Some(Packet::PubAck(PubAck { packet_id, .. })) => {
                if let Some(s) = inflight.remove(&packet_id) {
                    acked.push(s);
                }
            }
            Some(_) => {}
            None => return seq,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_sigkill() {
    let cycles: usize = std::env::var("CRASH_TEST_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let conf = dir.path().join("vernemq.conf");
    std::fs::write(
        &conf,
        format!(
            "allow_anonymous = on\nlistener.tcp.default = 127.0.0.1:{port}\nsystree_enabled = off\n\
             log.console = console\nlog.console.level = warning\nmax_offline_messages = -1\nmax_online_messages = -1\nsetup.data_dir = {}\n",
            dir.path().join("data").display()
        ),
    )
    .expect("write conf");

    // The persistent subscriber subscribes once, then stays offline.
    let mut broker = start_broker(&conf);
    wait_listening(addr, &conf).await;
    {
        let mut sub = Conn::connect(addr, "crash-sub", false)
            .await
            .expect("subscriber connects");
        sub.send(&Packet::Subscribe(Subscribe::new(
            1,
            "crash/#",
            QoS::AtLeastOnce,
        )))
        .await
        .expect("subscribe");
        assert!(matches!(sub.recv().await, Some(Packet::SubAck(_))));
    }

    let mut acked: Vec<Vec<u64>> = vec![Vec::new(); PUBLISHERS];
    let mut next_seq: Vec<u64> = vec![0; PUBLISHERS];
    let mut rng = rand::thread_rng();
    for cycle in 0..cycles {
        if cycle > 0 {
            broker = start_broker(&conf);
            wait_listening(addr, &conf).await;
        }
        let kill_after = Duration::from_millis(rng.gen_range(50..400));
        let mut tasks = Vec::new();
        for (p, &seq) in next_seq.iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let next = publish_until_dead(addr, p, seq, &mut got).await;
                (p, next, got)
            }));
        }
        tokio::time::sleep(kill_after).await;
        broker.start_kill().expect("SIGKILL the broker");
        let _ = broker.wait().await;
        for t in tasks {
            let (p, next, got) = t.await.expect("publisher task");
            next_seq[p] = next;
            acked[p].extend(got);
        }
    }

    // Recovery: the subscriber gets everything that was acknowledged.
    let mut broker = start_broker(&conf);
    wait_listening(addr, &conf).await;
    let mut sub = Conn::connect(addr, "crash-sub", false)
        .await
        .expect("subscriber reconnects");
    let total_acked: usize = acked.iter().map(Vec::len).sum();
    assert!(
        total_acked > 0,
        "no message was acknowledged in {cycles} cycles"
    );
    let mut received: Vec<Vec<u64>> = vec![Vec::new(); PUBLISHERS];
    loop {
        let next = tokio::time::timeout(Duration::from_secs(3), sub.recv()).await;
        let Ok(Some(packet)) = next else { break };
        if let Packet::Publish(p) = packet {
            let text = String::from_utf8(p.payload.to_vec()).expect("utf-8 payload");
            let (publisher, seq) = text.split_once(':').expect("publisher:seq");
            let publisher: usize = publisher.parse().expect("publisher");
            received[publisher].push(seq.parse().expect("seq"));
            if p.qos != QoS::AtMostOnce {
                sub.send(&Packet::PubAck(PubAck::new(p.packet_id)))
                    .await
                    .expect("puback");
            }
        }
    }
    let _ = broker.start_kill();
    for p in 0..PUBLISHERS {
        let got = &received[p];
        assert!(
            got.windows(2).all(|w| w[0] < w[1]),
            "publisher {p}: out of order or duplicated: {got:?}"
        );
        let missing: Vec<u64> = acked[p]
            .iter()
            .filter(|s| got.binary_search(s).is_err())
            .copied()
            .collect();
        assert!(
            missing.is_empty(),
            "publisher {p}: {} acknowledged messages lost: {:?}",
            missing.len(),
            &missing[..missing.len().min(20)]
        );
    }
    eprintln!(
        "crash test: {cycles} SIGKILL cycles, {total_acked} acknowledged messages, all delivered"
    );
}
